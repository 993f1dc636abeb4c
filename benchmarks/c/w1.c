/* W1: sequential GETs, a fresh connection each (FORBID_REUSE), with
 * opensocket (socket()), sockopt (TCP_NODELAY) and closesocket (close()). */
#include "bench.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

struct calls { long open, sockopt, close; };

static curl_socket_t opensocket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
    (void)purpose;
    ((struct calls *)clientp)->open++;
    return socket(a->family, a->socktype, a->protocol);
}

static int sockopt(void *clientp, curl_socket_t fd, curlsocktype purpose)
{
    int one = 1;
    (void)purpose;
    ((struct calls *)clientp)->sockopt++;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
        return CURL_SOCKOPT_ERROR;
    return CURL_SOCKOPT_OK;
}

static int closesocket(void *clientp, curl_socket_t fd)
{
    ((struct calls *)clientp)->close++;
    return close(fd);
}

int main(int argc, char **argv)
{
    const char *url;
    long n, ok = 0;
    long long bytes = 0;
    struct calls calls = {0, 0, 0};
    parse_args(argc, argv, &url, &n);

    double t0 = now(), c0 = cpu_seconds();
    CURL *e = easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, opensocket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, &calls);
    curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, sockopt);
    curl_easy_setopt(e, CURLOPT_SOCKOPTDATA, &calls);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, closesocket);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, &calls);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, count_bytes);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &bytes);
    for (long i = 0; i < n; i++) {
        check_easy(e, curl_easy_perform(e), "W1");
        ok++;
    }
    curl_easy_cleanup(e);
    double wall = now() - t0, cpu = cpu_seconds() - c0;

    if (calls.open != n || calls.sockopt != n || calls.close != n)
        die("W1: socket callbacks ran open=%ld sockopt=%ld close=%ld, expected %ld each",
            calls.open, calls.sockopt, calls.close, n);
    report(wall, cpu, ok, bytes);
    return 0;
}
