/* C side of pycurlcb: typed wrappers for libcurl's variadic functions, and
 * the few things Python cannot do itself (read an enum field, a stdio
 * stream, a version-gated libcurl function).  The extern "Python"
 * trampolines are declared by build_ffi.py from pycurlcb/_cbtable.py and
 * installed from Python through pcb_easy_setopt_fn / pcb_multi_setopt_fn. */
#include <curl/curl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <unistd.h>
#include <stdio.h>
#include <sys/select.h>
#include <time.h>

#if LIBCURL_VERSION_NUM < 0x074900
#error "pycurlcb needs libcurl 7.73.0 or newer (curl_easy_option_next)"
#endif

#ifdef CURL_WRITEFUNC_ERROR
#define PCB_WRITEFUNC_ERROR CURL_WRITEFUNC_ERROR
#else
#define PCB_WRITEFUNC_ERROR 0xFFFFFFFF
#endif

static CURLcode pcb_easy_setopt_long(CURL *h, CURLoption option, long value)
{ return curl_easy_setopt(h, option, value); }

static CURLcode pcb_easy_setopt_off_t(CURL *h, CURLoption option, curl_off_t value)
{ return curl_easy_setopt(h, option, value); }

static CURLcode pcb_easy_setopt_ptr(CURL *h, CURLoption option, const void *value)
{ return curl_easy_setopt(h, option, value); }

/* Callback options take a function pointer; every trampoline is passed as
 * pcb_fn and libcurl reads it back as its own callback type (all function
 * pointers share one representation on the platforms libcurl supports). */
typedef void (*pcb_fn)(void);

static CURLcode pcb_easy_setopt_fn(CURL *h, CURLoption option, pcb_fn fn)
{ return curl_easy_setopt(h, option, fn); }

static void *pcb_stdout(void) { return stdout; }
static void *pcb_stdin(void) { return stdin; }

static CURLcode pcb_easy_getinfo_long(CURL *h, CURLINFO info, long *out)
{ return curl_easy_getinfo(h, info, out); }

static CURLcode pcb_easy_getinfo_double(CURL *h, CURLINFO info, double *out)
{ return curl_easy_getinfo(h, info, out); }

static CURLcode pcb_easy_getinfo_off_t(CURL *h, CURLINFO info, curl_off_t *out)
{ return curl_easy_getinfo(h, info, out); }

static CURLcode pcb_easy_getinfo_ptr(CURL *h, CURLINFO info, void **out)
{ return curl_easy_getinfo(h, info, out); }

static CURLcode pcb_easy_getinfo_socket(CURL *h, CURLINFO info, curl_socket_t *out)
{ return curl_easy_getinfo(h, info, out); }

static CURLMcode pcb_multi_setopt_long(CURLM *m, CURLMoption option, long value)
{ return curl_multi_setopt(m, option, value); }

static CURLMcode pcb_multi_setopt_off_t(CURLM *m, CURLMoption option, curl_off_t value)
{ return curl_multi_setopt(m, option, value); }

static CURLMcode pcb_multi_setopt_ptr(CURLM *m, CURLMoption option, const void *value)
{ return curl_multi_setopt(m, option, value); }

static CURLMcode pcb_multi_setopt_fn(CURLM *m, CURLMoption option, pcb_fn fn)
{ return curl_multi_setopt(m, option, fn); }

static int pcb_socket(int family, int socktype, int protocol)
{ return socket(family, socktype, protocol); }

static int pcb_close(int fd)
{ return close(fd); }

static int pcb_khkey_type(const struct curl_khkey *key)
{ return (int)key->keytype; }

static const char *pcb_url_strerror(int code)
{
#if LIBCURL_VERSION_NUM >= 0x075000
    if(curl_url_strerror)  /* weak (weak.c): NULL on a libcurl older than 7.80.0 */
        return curl_url_strerror((CURLUcode)code);
    return NULL;
#else
    (void)code;
    return NULL;
#endif
}

#if LIBCURL_VERSION_NUM >= 0x081100
static CURLMcode pcb_multi_notify_set(CURLM *m, unsigned int notification, int on)
{
    if(!curl_multi_notify_enable || !curl_multi_notify_disable)  /* weak (weak.c) */
        return CURLM_UNKNOWN_OPTION;
    return on ? curl_multi_notify_enable(m, notification)
              : curl_multi_notify_disable(m, notification);
}
#endif

#define PCB_FD_SETSIZE FD_SETSIZE

static CURLMcode pcb_multi_fdset(CURLM *m, int *rfds, int *wfds, int *efds, int cap,
                                 int *nr, int *nw, int *ne)
{
    fd_set r, w, e;
    int maxfd = -1, fd;
    CURLMcode rc;
    FD_ZERO(&r); FD_ZERO(&w); FD_ZERO(&e);
    *nr = *nw = *ne = 0;
    rc = curl_multi_fdset(m, &r, &w, &e, &maxfd);
    if(rc != CURLM_OK)
        return rc;
    for(fd = 0; fd <= maxfd && fd < FD_SETSIZE; fd++) {
        if(FD_ISSET(fd, &r) && *nr < cap) rfds[(*nr)++] = fd;
        if(FD_ISSET(fd, &w) && *nw < cap) wfds[(*nw)++] = fd;
        if(FD_ISSET(fd, &e) && *ne < cap) efds[(*ne)++] = fd;
    }
    return CURLM_OK;
}

static long pcb_elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

static CURLMcode pcb_perform_step(struct pcb_easy *e, int timeout_ms)
{
    int running = 0, queued = 0;
    long left;
    CURLMsg *msg;
    CURLMcode rc;
    struct timespec start;
    if(!e->perform)
        return CURLM_BAD_HANDLE;
    clock_gettime(CLOCK_MONOTONIC, &start);
    if(e->state == 0) {
        rc = curl_multi_add_handle(e->perform, e->h);
        if(rc != CURLM_OK)
            return rc;
        e->state = 1;
    }
    for(;;) {
        rc = curl_multi_perform(e->perform, &running);
        if(rc != CURLM_OK)
            return rc;
        if(e->stop)
            return CURLM_OK;  /* a callback libcurl ignores failed: Python stops */
        msg = curl_multi_info_read(e->perform, &queued);
        if(msg && msg->msg == CURLMSG_DONE) {
            /* Left added: a CONNECT_ONLY connection is found through the
             * easy handle's multi (curl_easy_send, ACTIVESOCKET) until the
             * next transfer; pcb_easy_leave_perform() removes it. */
            e->result = msg->data.result;
            e->state = 2;
            return CURLM_OK;
        }
        left = timeout_ms - pcb_elapsed_ms(&start);
        if(left <= 0)
            return CURLM_OK;  /* back to Python: signal handlers run */
        rc = curl_multi_poll(e->perform, NULL, 0, (int)left, NULL);
        if(rc != CURLM_OK)
            return rc;
    }
}

static CURLM *pcb_easy_perform_multi(struct pcb_easy *e)
{
    if(!e->perform)
        e->perform = curl_multi_init();
    return e->perform;
}
