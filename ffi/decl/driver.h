/* AsyncCurlMulti's C driver (implemented in driver.c): libcurl's socket and
 * timer callbacks as C functions that keep every socket libcurl wants watched
 * in one epoll set, and its next timeout as a deadline, with a timerfd in the
 * same set armed for it.  The event loop watches only that epoll fd; when it
 * is readable, one call to pcb_aio_drive() runs curl_multi_socket_action()
 * for every ready socket (and the timeout when due).  No Python runs in the
 * driver's callbacks.
 *
 * Lifetime: the driver holds a reference on the struct pcb_multi (handles.h),
 * so the multi's memory outlives the driver; pcb_aio_free (the ffi.gc
 * release) first removes the driver's callbacks from a multi that is still
 * open, so libcurl never calls into a freed driver whatever order the garbage
 * collector picks.  Linux only: elsewhere PCB_HAS_EPOLL is 0 and
 * pcb_aio_new() fails with ENOSYS. */

#define PCB_HAS_EPOLL ...
/* How many finished transfers one pcb_aio_drive() takes (done_* below). */
#define PCB_AIO_DONE ...

struct pcb_aio {
    int epfd;           /* the epoll fd the event loop watches; -1 once detached */
    int fail_next;      /* tests: the next socket registration fails with this errno, */
    void *fail_easy;    /* ... the next one for this CURL* (NULL: for any) */
    int nfailures;      /* callback failures not yet taken (pcb_aio_take_failure) */
    int defer;          /* set around Python's calls into libcurl: timer changes wait for pcb_aio_settle */
    int timer_pending;  /* the timer callback ran while defer was set */
    /* The transfers the last pcb_aio_drive() finished (curl_multi_info_read's
     * CURLMSG_DONE), in libcurl's order: the easy handle, its CURLcode, and 1
     * if it was also removed from the multi (pcb_multi_remove).  done_more: it
     * stopped at the arrays' size, more may be queued. */
    int ndone;
    int done_more;
    CURL *done_easy[...];
    int done_code[...];
    int done_removed[...];
    ...;
};

/* A driver for `m` (its socket and timer callbacks are installed); NULL with
 * errno set if epoll/timerfd/memory fail or `m` is closed. */
struct pcb_aio *pcb_aio_new(struct pcb_multi *m);
/* Remove the callbacks from the multi (if still open), close the fds, drop
 * the reference on the multi.  Idempotent. */
void pcb_aio_detach(struct pcb_aio *d);
/* The ffi.gc release: pcb_aio_detach, then free. */
void pcb_aio_free(struct pcb_aio *d);
/* epoll_wait(0) and curl_multi_socket_action() for every ready socket, then
 * for CURL_SOCKET_TIMEOUT while the deadline has passed (a few times at
 * most); the first CURLMcode other than CURLM_OK stops it.  *running:
 * libcurl's running_handles.  Then, unless it failed, the finished transfers
 * (ndone, done_*): each one's buffered body is handed to Python first
 * (pcb_bulk_drain), then it is removed from the multi, so Python makes no
 * call per finished transfer.  Call it with defer set, then pcb_aio_settle. */
CURLMcode pcb_aio_drive(struct pcb_aio *d, int *running);
/* After a call made with defer set: clear defer; if the timer callback ran
 * meanwhile, arm the timerfd for libcurl's timeout, or return PCB_AIO_DUE if
 * it is due now (the caller runs socket_action(CURL_SOCKET_TIMEOUT) soon);
 * PCB_AIO_FAILED too while callback failures wait (pcb_aio_take_failure).
 * One call, so that Python's side of every add/remove is one crossing. */
#define PCB_AIO_DUE ...
#define PCB_AIO_FAILED ...
int pcb_aio_settle(struct pcb_aio *d);
/* A failure of the socket or timer callback (epoll_ctl, timerfd_settime):
 * its errno, and in *easy the transfer it was for (NULL for the timer);
 * 0 when there is none left.  Each failure is returned once. */
int pcb_aio_take_failure(struct pcb_aio *d, CURL **easy);
/* The sockets libcurl asked to watch, in fd order: up to `cap` of them are
 * written to `out`; returns how many there are. */
int pcb_aio_fds(struct pcb_aio *d, int *out, int cap);
