/* C side of pycurlcb: typed wrappers for libcurl's variadic functions and the
 * installation of the extern "Python" trampolines (declared in callbacks.h,
 * implemented in pycurlcb/_callbacks.py). */
#include <curl/curl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <unistd.h>
#include <stdio.h>
#include <sys/select.h>

#if LIBCURL_VERSION_NUM < 0x074900
#error "pycurlcb needs libcurl 7.73.0 or newer (curl_easy_option_next)"
#endif

#ifdef CURL_WRITEFUNC_ERROR
#define PCB_WRITEFUNC_ERROR CURL_WRITEFUNC_ERROR
#else
#define PCB_WRITEFUNC_ERROR 0xFFFFFFFF
#endif

/* Forward declarations of the trampolines cffi generates below. */
static curl_socket_t pcb_opensocket(void *, curlsocktype, struct curl_sockaddr *);
static int pcb_sockopt(void *, curl_socket_t, curlsocktype);
static int pcb_closesocket(void *, curl_socket_t);
static size_t pcb_write(char *, size_t, size_t, void *);
static size_t pcb_header(char *, size_t, size_t, void *);
static size_t pcb_read(char *, size_t, size_t, void *);
static int pcb_seek(void *, curl_off_t, int);
static int pcb_xferinfo(void *, curl_off_t, curl_off_t, curl_off_t, curl_off_t);
static int pcb_progress(void *, double, double, double, double);
static int pcb_debug(CURL *, curl_infotype, char *, size_t, void *);
static int pcb_multi_socket(CURL *, curl_socket_t, int, void *, void *);
static int pcb_multi_timer(CURLM *, long, void *);

static CURLcode pcb_easy_setopt_long(CURL *h, CURLoption option, long value)
{ return curl_easy_setopt(h, option, value); }

static CURLcode pcb_easy_setopt_off_t(CURL *h, CURLoption option, curl_off_t value)
{ return curl_easy_setopt(h, option, value); }

static CURLcode pcb_easy_setopt_ptr(CURL *h, CURLoption option, const void *value)
{ return curl_easy_setopt(h, option, value); }

/* Removing a callback (clientp == NULL) restores libcurl's defaults for the
 * function and its data: WRITEDATA stdout and READDATA stdin (libcurl's
 * default fwrite/fread use them), NULL for the others. */
#define PCB_SET(fnopt, fn, dataopt, dflt)                                    \
    case fnopt:                                                              \
        rc = curl_easy_setopt(h, fnopt, clientp ? fn : NULL);                \
        if(rc == CURLE_OK)                                                   \
            rc = curl_easy_setopt(h, dataopt, clientp ? clientp : (void *)(dflt)); \
        return rc;

static CURLcode pcb_easy_set_callback(CURL *h, CURLoption fnoption, void *clientp)
{
    CURLcode rc;
    switch(fnoption) {
    PCB_SET(CURLOPT_OPENSOCKETFUNCTION, pcb_opensocket, CURLOPT_OPENSOCKETDATA, NULL)
    PCB_SET(CURLOPT_SOCKOPTFUNCTION, pcb_sockopt, CURLOPT_SOCKOPTDATA, NULL)
    PCB_SET(CURLOPT_CLOSESOCKETFUNCTION, pcb_closesocket, CURLOPT_CLOSESOCKETDATA, NULL)
    PCB_SET(CURLOPT_WRITEFUNCTION, pcb_write, CURLOPT_WRITEDATA, stdout)
    PCB_SET(CURLOPT_HEADERFUNCTION, pcb_header, CURLOPT_HEADERDATA, NULL)
    PCB_SET(CURLOPT_READFUNCTION, pcb_read, CURLOPT_READDATA, stdin)
    PCB_SET(CURLOPT_SEEKFUNCTION, pcb_seek, CURLOPT_SEEKDATA, NULL)
    PCB_SET(CURLOPT_XFERINFOFUNCTION, pcb_xferinfo, CURLOPT_XFERINFODATA, NULL)
    PCB_SET(CURLOPT_PROGRESSFUNCTION, pcb_progress, CURLOPT_PROGRESSDATA, NULL)
    PCB_SET(CURLOPT_DEBUGFUNCTION, pcb_debug, CURLOPT_DEBUGDATA, NULL)
    default:
        return CURLE_UNKNOWN_OPTION;
    }
}
#undef PCB_SET

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

static CURLMcode pcb_multi_set_callbacks(CURLM *m, void *clientp)
{
    CURLMcode rc;
    rc = curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, clientp ? pcb_multi_socket : NULL);
    if(rc == CURLM_OK)
        rc = curl_multi_setopt(m, CURLMOPT_SOCKETDATA, clientp);
    if(rc == CURLM_OK)
        rc = curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, clientp ? pcb_multi_timer : NULL);
    if(rc == CURLM_OK)
        rc = curl_multi_setopt(m, CURLMOPT_TIMERDATA, clientp);
    return rc;
}

static int pcb_socket(int family, int socktype, int protocol)
{ return socket(family, socktype, protocol); }

static int pcb_close(int fd)
{ return close(fd); }

static int pcb_sockopt_already_connected_broken(void)
{
    unsigned int v = curl_version_info(CURLVERSION_NOW)->version_num;
    return v == 0x075800 || v == 0x075801;
}

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

static CURLMcode pcb_perform_step(CURLM *m, CURL *e, int timeout_ms, int *state, CURLcode *result)
{
    int running = 0, queued = 0;
    CURLMsg *msg;
    CURLMcode rc;
    if(*state == 0) {
        rc = curl_multi_add_handle(m, e);
        if(rc != CURLM_OK)
            return rc;
        *state = 1;
    }
    rc = curl_multi_poll(m, NULL, 0, timeout_ms, NULL);
    if(rc == CURLM_OK)
        rc = curl_multi_perform(m, &running);
    if(rc == CURLM_OK) {
        msg = curl_multi_info_read(m, &queued);
        if(msg && msg->msg == CURLMSG_DONE) {
            *result = msg->data.result;
            *state = 2;
            rc = curl_multi_remove_handle(m, e);
        }
    }
    return rc;
}
