/* Shared by the C peers: argument parsing, timing and the JSON result line.
 * Each program: PROG URL N, prints {"wall": s, "cpu": s, "ok": n, "bytes": n}
 * with wall and CPU (RUSAGE_SELF user+sys) measured around the transfers only,
 * after curl_global_init, like the Python peers. Exits 1 on any wrong answer. */
#ifndef BENCH_H
#define BENCH_H

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
         + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* PROG URL N: the full URL to fetch and the number of transfers. */
static void parse_args(int argc, char **argv, const char **url, long *n)
{
    if (argc != 3)
        die("usage: %s URL N", argv[0]);
    *url = argv[1];
    *n = strtol(argv[2], NULL, 10);
    if (*n <= 0)
        die("N must be positive");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        die("curl_global_init failed");
}

/* curl_easy_init, and CURLOPT_USERAGENT from $BENCH_USERAGENT if it is set.
 * make bench leaves it unset: libcurl then sends no User-Agent line.  Set to
 * pycurlcb.version, the C peer sends the line pycurl and pycurlcb send by
 * default, which measures what libcurl spends on it (docs/performance.md). */
static CURL *easy_init(void)
{
    CURL *e = curl_easy_init();
    const char *agent = getenv("BENCH_USERAGENT");
    if (e == NULL)
        die("curl_easy_init failed");
    if (agent != NULL && curl_easy_setopt(e, CURLOPT_USERAGENT, agent) != CURLE_OK)
        die("CURLOPT_USERAGENT failed");
    return e;
}

static void check_easy(CURL *e, CURLcode rc, const char *what)
{
    long code = 0;
    if (rc != CURLE_OK)
        die("%s: %s", what, curl_easy_strerror(rc));
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    if (code != 200)
        die("%s: response code %ld, expected 200", what, code);
}

static void report(double wall, double cpu, long ok, long long bytes)
{
    printf("{\"wall\": %.6f, \"cpu\": %.6f, \"ok\": %ld, \"bytes\": %lld}\n",
           wall, cpu, ok, bytes);
}

/* The WRITEFUNCTION of W1-W4: count the bytes. */
static inline size_t count_bytes(char *ptr, size_t size, size_t nmemb, void *userp)
{
    (void)ptr;
    *(long long *)userp += (long long)(size * nmemb);
    return size * nmemb;
}

#endif
