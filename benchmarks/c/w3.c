/* W3 and W4: GETs, CONCURRENCY at a time, through curl_multi_socket_action
 * driven by epoll, with CURLMOPT_SOCKETFUNCTION (epoll_ctl) and
 * CURLMOPT_TIMERFUNCTION (a deadline). Easy handles are reused: when a
 * transfer is done it is removed and the same handle added again. */
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/epoll.h>

#define CONCURRENCY 50

struct loop {
    int epfd;
    double deadline; /* < 0: no timer */
};

static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct loop *lp = userp;
    struct epoll_event ev = {0};
    (void)e;
    (void)socketp;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(lp->epfd, EPOLL_CTL_DEL, fd, NULL); /* may be closed already */
        return 0;
    }
    ev.data.fd = fd;
    ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
    if (epoll_ctl(lp->epfd, EPOLL_CTL_MOD, fd, &ev) != 0) {
        if (errno != ENOENT || epoll_ctl(lp->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
            die("epoll_ctl(%d): %s", fd, strerror(errno));
    }
    return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct loop *lp = userp;
    (void)multi;
    lp->deadline = timeout_ms < 0 ? -1.0 : now() + timeout_ms / 1000.0;
    return 0;
}

int main(int argc, char **argv)
{
    const char *url;
    long n, ok = 0, started = 0;
    long long bytes = 0;
    int running = 0;
    struct loop lp = {-1, -1.0};
    parse_args(argc, argv, &url, &n);

    double t0 = now(), c0 = cpu_seconds();
    lp.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (lp.epfd < 0)
        die("epoll_create1: %s", strerror(errno));
    CURLM *multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, &lp);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, &lp);

    CURL *handles[CONCURRENCY];
    int nhandles = n < CONCURRENCY ? (int)n : CONCURRENCY;
    for (int i = 0; i < nhandles; i++) {
        handles[i] = easy_init();
        curl_easy_setopt(handles[i], CURLOPT_URL, url);
        curl_easy_setopt(handles[i], CURLOPT_WRITEFUNCTION, count_bytes);
        curl_easy_setopt(handles[i], CURLOPT_WRITEDATA, &bytes);
        curl_multi_add_handle(multi, handles[i]);
        started++;
    }

    struct epoll_event events[64];
    while (ok < n) {
        int wait_ms = 10000; /* nothing should take this long on loopback */
        if (lp.deadline >= 0) {
            double left = lp.deadline - now();
            wait_ms = left <= 0 ? 0 : (int)ceil(left * 1000);
        }
        int nev = epoll_wait(lp.epfd, events, 64, wait_ms);
        if (nev < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait: %s", strerror(errno));
        }
        for (int i = 0; i < nev; i++) {
            int flags = 0;
            if (events[i].events & (EPOLLIN | EPOLLHUP))
                flags |= CURL_CSELECT_IN;
            if (events[i].events & EPOLLOUT)
                flags |= CURL_CSELECT_OUT;
            if (events[i].events & EPOLLERR)
                flags |= CURL_CSELECT_ERR;
            curl_multi_socket_action(multi, events[i].data.fd, flags, &running);
        }
        if (lp.deadline >= 0 && now() >= lp.deadline) {
            lp.deadline = -1.0;
            curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
        } else if (nev == 0 && lp.deadline < 0) {
            die("W3: stalled after %ld transfers", ok);
        }
        CURLMsg *msg;
        int queued;
        while ((msg = curl_multi_info_read(multi, &queued))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *e = msg->easy_handle;
            check_easy(e, msg->data.result, "W3");
            ok++;
            curl_multi_remove_handle(multi, e);
            if (started < n) {
                curl_multi_add_handle(multi, e);
                started++;
            }
        }
    }
    for (int i = 0; i < nhandles; i++)
        curl_easy_cleanup(handles[i]);
    curl_multi_cleanup(multi);
    report(now() - t0, cpu_seconds() - c0, ok, bytes);
    return 0;
}
