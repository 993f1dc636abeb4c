/* AsyncCurlMulti's C driver: declarations and rationale in driver.h.
 * Uses struct pcb_multi and pcb_multi_decref() from handles.c (the same
 * translation unit). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef __linux__
#include <stdint.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#define PCB_HAS_EPOLL 1
#else
#define PCB_HAS_EPOLL 0
#endif

/* What the driver knows of an fd, in watch[fd]. */
#define PCB_W_KNOWN 1   /* libcurl reported it and has not said CURL_POLL_REMOVE */
#define PCB_W_IN 2      /* watched for reading */
#define PCB_W_OUT 4     /* watched for writing */
#define PCB_W_ADDED 8   /* in the epoll set */
#define PCB_AIO_BATCH 64
#define PCB_AIO_TIMEOUT_RUNS 4  /* socket_action(TIMEOUT) per drive while libcurl says "now" */
#define PCB_AIO_DONE 64         /* finished transfers taken per drive (driver.h) */
#define PCB_AIO_DUE 1           /* pcb_aio_settle(): libcurl's timeout is due now */
#define PCB_AIO_FAILED 2        /* pcb_aio_settle(): callback failures wait */

static int pcb_bulk_drain(struct pcb_easy *e);  /* bulk.c, later in this translation unit */

struct pcb_aio_failure {
    CURL *easy;
    int err;
};

struct pcb_aio {
    int epfd;
    int fail_next;
    void *fail_easy;
    int nfailures;
    int defer;
    int timer_pending;
    int tfd;
    long long deadline;             /* CLOCK_MONOTONIC ns of libcurl's timeout, -1: none */
    long long armed;                /* what the timerfd is armed for, -1: not armed */
    struct pcb_multi *multi;        /* a reference, NULL once detached */
    unsigned char *watch;           /* fd -> PCB_W_* */
    int nwatch;
    struct pcb_aio_failure *failures;
    int capfailures;
    int ndone;
    int done_more;
    CURL *done_easy[PCB_AIO_DONE];
    int done_code[PCB_AIO_DONE];
    int done_removed[PCB_AIO_DONE];
};

static void pcb_aio_fail(struct pcb_aio *d, CURL *easy, int err)
{
    if(d->nfailures == d->capfailures) {
        int cap = d->capfailures ? 2 * d->capfailures : 8;
        struct pcb_aio_failure *f = realloc(d->failures, cap * sizeof(*f));
        if(!f)
            return;  /* the transfer then waits for its own timeout */
        d->failures = f;
        d->capfailures = cap;
    }
    d->failures[d->nfailures].easy = easy;
    d->failures[d->nfailures].err = err;
    d->nfailures++;
}

static int pcb_aio_take_failure(struct pcb_aio *d, CURL **easy)
{
    int err;
    if(!d->nfailures)
        return 0;
    *easy = d->failures[0].easy;
    err = d->failures[0].err;
    d->nfailures--;
    memmove(d->failures, d->failures + 1, d->nfailures * sizeof(*d->failures));
    return err ? err : EIO;
}

static int pcb_aio_fds(struct pcb_aio *d, int *out, int cap)
{
    int fd, n = 0;
    for(fd = 0; fd < d->nwatch; fd++) {
        if(d->watch[fd] & PCB_W_KNOWN) {
            if(n < cap)
                out[n] = fd;
            n++;
        }
    }
    return n;
}

#if PCB_HAS_EPOLL

/* Make watch[fd] exist. */
static int pcb_aio_grow(struct pcb_aio *d, int fd)
{
    int size;
    unsigned char *w;
    if(fd < d->nwatch)
        return 1;
    size = d->nwatch ? d->nwatch : 64;
    while(size <= fd)
        size *= 2;
    w = realloc(d->watch, size);
    if(!w)
        return 0;
    memset(w + d->nwatch, 0, size - d->nwatch);
    d->watch = w;
    d->nwatch = size;
    return 1;
}

/* CURLMOPT_SOCKETFUNCTION: keep the epoll set as libcurl asks; never calls libcurl. */
static int pcb_aio_socket(CURL *easy, curl_socket_t s, int what, void *clientp, void *socketp)
{
    struct pcb_aio *d = clientp;
    struct epoll_event ev;
    unsigned char was, want;
    int rc, op;
    (void)socketp;
    if(s < 0 || d->epfd < 0)
        return 0;
    if(what == CURL_POLL_REMOVE) {
        if(s < d->nwatch) {
            if(d->watch[s] & PCB_W_ADDED)
                epoll_ctl(d->epfd, EPOLL_CTL_DEL, s, NULL);  /* ENOENT/EBADF: gone already */
            d->watch[s] = 0;
        }
        return 0;
    }
    if(!pcb_aio_grow(d, s)) {
        pcb_aio_fail(d, easy, ENOMEM);
        return 0;
    }
    was = d->watch[s];
    want = (what & CURL_POLL_IN ? PCB_W_IN : 0) | (what & CURL_POLL_OUT ? PCB_W_OUT : 0);
    if(d->fail_next && (!d->fail_easy || d->fail_easy == easy)) {
        pcb_aio_fail(d, easy, d->fail_next);
        d->fail_next = 0;
        d->fail_easy = NULL;
        d->watch[s] = (unsigned char)(PCB_W_KNOWN | (was & PCB_W_ADDED));
        return 0;
    }
    if(!want) {  /* CURL_POLL_NONE: keep the socket known, watch nothing */
        if(was & PCB_W_ADDED)
            epoll_ctl(d->epfd, EPOLL_CTL_DEL, s, NULL);
        d->watch[s] = PCB_W_KNOWN;
        return 0;
    }
    memset(&ev, 0, sizeof(ev));
    ev.events = (want & PCB_W_IN ? EPOLLIN : 0) | (want & PCB_W_OUT ? EPOLLOUT : 0);
    ev.data.fd = s;
    op = (was & PCB_W_ADDED) ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    rc = epoll_ctl(d->epfd, op, s, &ev);
    if(rc < 0 && op == EPOLL_CTL_MOD && errno == ENOENT)  /* closed and the number reused */
        rc = epoll_ctl(d->epfd, EPOLL_CTL_ADD, s, &ev);
    else if(rc < 0 && op == EPOLL_CTL_ADD && errno == EEXIST)
        rc = epoll_ctl(d->epfd, EPOLL_CTL_MOD, s, &ev);
    if(rc < 0) {
        pcb_aio_fail(d, easy, errno);
        d->watch[s] = (unsigned char)(PCB_W_KNOWN | (was & PCB_W_ADDED));
        return 0;
    }
    d->watch[s] = (unsigned char)(PCB_W_KNOWN | PCB_W_ADDED | want);
    return 0;
}

static long long pcb_aio_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Make the timerfd expire no later than the deadline.  Lazy, because
 * timerfd_settime(2) is a costly system call (a VM exit in a VM) and libcurl
 * moves its timeout many times per transfer: an armed expiry that is earlier
 * than the deadline is left alone (it wakes the loop early once; the drive
 * then finds nothing due and arms again), and a removed timeout disarms
 * nothing. */
static void pcb_aio_arm(struct pcb_aio *d)
{
    struct itimerspec its;
    if(d->deadline < 0 || d->tfd < 0)
        return;
    if(d->armed >= 0 && d->armed <= d->deadline)
        return;
    memset(&its, 0, sizeof(its));
    its.it_value.tv_sec = d->deadline / 1000000000LL;
    its.it_value.tv_nsec = d->deadline % 1000000000LL;
    if(!its.it_value.tv_sec && !its.it_value.tv_nsec)
        its.it_value.tv_nsec = 1;  /* an all-zero it_value would disarm */
    if(timerfd_settime(d->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
        pcb_aio_fail(d, NULL, errno);
        return;
    }
    d->armed = d->deadline;
}

/* CURLMOPT_TIMERFUNCTION: remember the deadline (-1: none, 0: now).  Inside
 * a call that Python or pcb_aio_drive() makes (defer), the timerfd is armed
 * afterwards, by pcb_aio_settle(); otherwise (curl_easy_pause() from
 * anywhere ...) at once, so that no change of the timeout is missed. */
static int pcb_aio_timer(CURLM *multi, long timeout_ms, void *clientp)
{
    struct pcb_aio *d = clientp;
    (void)multi;
    d->deadline = timeout_ms < 0 ? -1 : pcb_aio_now() + (long long)timeout_ms * 1000000LL;
    if(d->defer)
        d->timer_pending = 1;
    else
        pcb_aio_arm(d);
    return 0;
}

static int pcb_aio_settle(struct pcb_aio *d)
{
    int due = 0;
    d->defer = 0;
    if(d->timer_pending) {
        d->timer_pending = 0;
        if(d->deadline >= 0 && d->deadline <= pcb_aio_now())
            due = PCB_AIO_DUE;
        else
            pcb_aio_arm(d);  /* may record a failure: read nfailures after it */
    }
    return due | (d->nfailures ? PCB_AIO_FAILED : 0);
}

static void pcb_aio_close_fds(struct pcb_aio *d)
{
    if(d->epfd >= 0)
        close(d->epfd);
    if(d->tfd >= 0)
        close(d->tfd);
    d->epfd = d->tfd = -1;
}

static struct pcb_aio *pcb_aio_new(struct pcb_multi *m)
{
    struct epoll_event ev;
    struct pcb_aio *d;
    int err;
    if(!m->m) {
        errno = EBADF;
        return NULL;
    }
    d = calloc(1, sizeof(*d));
    if(!d) {
        errno = ENOMEM;
        return NULL;
    }
    d->deadline = d->armed = -1;
    d->epfd = epoll_create1(EPOLL_CLOEXEC);
    d->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if(d->epfd < 0 || d->tfd < 0)
        goto fail;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.fd = d->tfd;
    if(epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->tfd, &ev) < 0)
        goto fail;
    d->multi = m;
    m->refs++;
    curl_multi_setopt(m->m, CURLMOPT_SOCKETFUNCTION, pcb_aio_socket);
    curl_multi_setopt(m->m, CURLMOPT_SOCKETDATA, d);
    curl_multi_setopt(m->m, CURLMOPT_TIMERFUNCTION, pcb_aio_timer);
    curl_multi_setopt(m->m, CURLMOPT_TIMERDATA, d);
    return d;
fail:
    err = errno;
    pcb_aio_close_fds(d);
    free(d);
    errno = err;
    return NULL;
}

/* pcb_aio_drive's last step (driver.h).  The message is copied before the
 * removal, which frees it (curl_multi_info_read(3)).  An easy handle whose
 * CURLINFO_PRIVATE is not its struct pcb_easy in this multi (pcb_multi_add
 * sets it) is left for Python to remove. */
static void pcb_aio_take_done(struct pcb_aio *d)
{
    struct pcb_multi *mu = d->multi;
    CURLMsg *msg;
    int queued;
    while(d->ndone < PCB_AIO_DONE && mu->m && (msg = curl_multi_info_read(mu->m, &queued))) {
        struct pcb_easy *e = NULL;
        int i;
        if(msg->msg != CURLMSG_DONE)
            continue;
        i = d->ndone++;
        d->done_easy[i] = msg->easy_handle;
        d->done_code[i] = (int)msg->data.result;
        d->done_removed[i] = 0;
        if(curl_easy_getinfo(d->done_easy[i], CURLINFO_PRIVATE, (char **)&e) != CURLE_OK ||
           !e || e->h != d->done_easy[i] || e->multi != mu)
            continue;
        if(e->bulk_queued) {  /* the rest of its body, before it leaves (bulk.h) */
            pcb_bulk_unqueue(mu, e);
            pcb_bulk_drain(e);  /* a failure is in e->bulk_failed */
        }
        d->done_removed[i] = pcb_multi_remove(mu, e) == CURLM_OK;
    }
    d->done_more = d->ndone == PCB_AIO_DONE;
}

static CURLMcode pcb_aio_drive(struct pcb_aio *d, int *running)
{
    struct epoll_event ev[PCB_AIO_BATCH];
    CURLMcode rc = CURLM_OK;
    CURLM *m = d->multi ? d->multi->m : NULL;
    int i, n, runs;
    *running = 0;
    d->ndone = d->done_more = 0;
    if(!m || d->epfd < 0)
        return CURLM_BAD_HANDLE;
    n = epoll_wait(d->epfd, ev, PCB_AIO_BATCH, 0);
    for(i = 0; i < n && rc == CURLM_OK; i++) {
        int fd = ev[i].data.fd, mask = 0;
        uint32_t ready = ev[i].events;
        unsigned char w;
        if(fd == d->tfd) {
            uint64_t expirations;
            if(read(d->tfd, &expirations, sizeof(expirations)) < 0) {
                /* EAGAIN: re-armed since it expired */
            }
            d->armed = -1;
            /* It may have expired early: armed for an earlier deadline that
             * libcurl then moved later (pcb_aio_arm is lazy).  If no timer
             * callback comes in this drive, nothing else would arm it again
             * for the deadline: pcb_aio_settle does. */
            d->timer_pending = 1;
            continue;
        }
        w = fd < d->nwatch ? d->watch[fd] : 0;
        if(!(w & PCB_W_ADDED))
            continue;  /* removed by an action earlier in this batch */
        if(ready & (EPOLLERR | EPOLLHUP))  /* as selectors: both directions */
            ready |= EPOLLIN | EPOLLOUT;
        if((ready & EPOLLIN) && (w & PCB_W_IN))
            mask |= CURL_CSELECT_IN;
        if((ready & EPOLLOUT) && (w & PCB_W_OUT))
            mask |= CURL_CSELECT_OUT;
        if(mask)
            rc = curl_multi_socket_action(m, fd, mask, running);
    }
    for(runs = 0; rc == CURLM_OK && runs < PCB_AIO_TIMEOUT_RUNS; runs++) {
        if(d->deadline < 0 || d->deadline > pcb_aio_now())
            break;
        d->deadline = -1;  /* libcurl sets the next one */
        rc = curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, running);
    }
    if(rc == CURLM_OK)
        pcb_aio_take_done(d);
    return rc;
}

#else  /* no epoll: the Python driver is used */

static struct pcb_aio *pcb_aio_new(struct pcb_multi *m)
{
    (void)m;
    errno = ENOSYS;
    return NULL;
}

static void pcb_aio_close_fds(struct pcb_aio *d)
{
    d->epfd = d->tfd = -1;
}

static CURLMcode pcb_aio_drive(struct pcb_aio *d, int *running)
{
    d->ndone = d->done_more = 0;
    *running = 0;
    return CURLM_BAD_HANDLE;
}

static int pcb_aio_settle(struct pcb_aio *d)
{
    d->defer = d->timer_pending = 0;
    return d->nfailures ? PCB_AIO_FAILED : 0;
}

#endif

static void pcb_aio_detach(struct pcb_aio *d)
{
    if(d->multi) {
        struct pcb_multi *m = d->multi;
        d->multi = NULL;
        if(m->m) {  /* still open: libcurl must not call this driver again */
            curl_multi_setopt(m->m, CURLMOPT_SOCKETFUNCTION, (curl_socket_callback)NULL);
            curl_multi_setopt(m->m, CURLMOPT_SOCKETDATA, (void *)NULL);
            curl_multi_setopt(m->m, CURLMOPT_TIMERFUNCTION, (curl_multi_timer_callback)NULL);
            curl_multi_setopt(m->m, CURLMOPT_TIMERDATA, (void *)NULL);
        }
        pcb_multi_decref(m);
    }
    pcb_aio_close_fds(d);
    free(d->watch);
    d->watch = NULL;
    d->nwatch = 0;
}

static void pcb_aio_free(struct pcb_aio *d)
{
    pcb_aio_detach(d);
    free(d->failures);
    free(d);
}
