/* W2: sequential keep-alive GETs on one handle, counting bytes in a WRITEFUNCTION. */
#include "bench.h"

int main(int argc, char **argv)
{
    const char *url;
    long n, ok = 0;
    long long bytes = 0;
    parse_args(argc, argv, &url, &n);

    double t0 = now(), c0 = cpu_seconds();
    CURL *e = easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, count_bytes);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &bytes);
    for (long i = 0; i < n; i++) {
        check_easy(e, curl_easy_perform(e), "W2");
        ok++;
    }
    curl_easy_cleanup(e);
    report(now() - t0, cpu_seconds() - c0, ok, bytes);
    return 0;
}
