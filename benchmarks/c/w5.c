/* W5: sequential keep-alive GETs of a 1 MiB body into a realloc'd buffer
 * (a fresh buffer per transfer, like the Python peers' bytes). */
#include "bench.h"

#include <string.h>

#define BIG_SIZE (1 << 20)

struct buffer { char *data; size_t len, cap; };

static size_t append(char *ptr, size_t size, size_t nmemb, void *userp)
{
    struct buffer *b = userp;
    size_t len = size * nmemb;
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 16384;
        while (cap < b->len + len)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p)
            return CURL_WRITEFUNC_ERROR;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, len);
    b->len += len;
    return len;
}

int main(int argc, char **argv)
{
    const char *url;
    long n, ok = 0;
    long long bytes = 0;
    struct buffer buf = {NULL, 0, 0};
    parse_args(argc, argv, &url, &n);

    double t0 = now(), c0 = cpu_seconds();
    CURL *e = easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, append);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &buf);
    for (long i = 0; i < n; i++) {
        check_easy(e, curl_easy_perform(e), "W5");
        if (buf.len != BIG_SIZE)
            die("W5: body is %zu bytes, expected %d", buf.len, BIG_SIZE);
        for (int j = 0; j < 256; j++)
            if ((unsigned char)buf.data[j] != j)
                die("W5: body content is wrong");
        if ((unsigned char)buf.data[BIG_SIZE - 1] != 255)
            die("W5: body content is wrong");
        ok++;
        bytes += buf.len;
        free(buf.data);
        buf = (struct buffer){NULL, 0, 0};
    }
    curl_easy_cleanup(e);
    report(now() - t0, cpu_seconds() - c0, ok, bytes);
    return 0;
}
