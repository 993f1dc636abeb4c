/* AsyncCurlMulti's C driver (implemented in driver.c): libcurl's socket and
 * timer callbacks as C functions that keep every socket libcurl wants watched
 * in one epoll set, and the next timeout in a timerfd inside the same set.
 * The event loop watches only that epoll fd; when it is readable, one call to
 * pcb_aio_drive() runs curl_multi_socket_action() for every ready socket (and
 * the timeout when due).  No Python runs in the driver's callbacks.
 *
 * Lifetime: the driver holds a reference on the struct pcb_multi (handles.h),
 * so the multi's memory outlives the driver; pcb_aio_free (the ffi.gc
 * release) first removes the driver's callbacks from a multi that is still
 * open, so libcurl never calls into a freed driver whatever order the garbage
 * collector picks.  Linux only: elsewhere PCB_HAS_EPOLL is 0 and
 * pcb_aio_new() fails with ENOSYS. */

#define PCB_HAS_EPOLL ...

struct pcb_aio {
    int epfd;           /* the epoll fd the event loop watches; -1 once detached */
    int fail_next;      /* tests: the next socket registration fails with this errno */
    int nfailures;      /* callback failures not yet taken (pcb_aio_take_failure) */
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
 * for CURL_SOCKET_TIMEOUT if the timer expired; the first CURLMcode other than
 * CURLM_OK stops it.  *running: libcurl's running_handles. */
CURLMcode pcb_aio_drive(struct pcb_aio *d, int *running);
/* A failure of the socket or timer callback (epoll_ctl, timerfd_settime):
 * its errno, and in *easy the transfer it was for (NULL for the timer);
 * 0 when there is none left.  Each failure is returned once. */
int pcb_aio_take_failure(struct pcb_aio *d, CURL **easy);
/* The sockets libcurl asked to watch, in fd order: up to `cap` of them are
 * written to `out`; returns how many there are. */
int pcb_aio_fds(struct pcb_aio *d, int *out, int cap);
