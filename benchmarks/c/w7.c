/* W7: sequential keep-alive PUTs of a 1 MiB body read from memory (the
 * Python peers' io.BytesIO) by a READFUNCTION. */
#include "bench.h"

#include <string.h>

#define BIG_SIZE (1 << 20)

struct source { const char *data; size_t len, pos; };

static size_t from_memory(char *ptr, size_t size, size_t nitems, void *userp)
{
    struct source *s = userp;
    size_t n = size * nitems;
    if (n > s->len - s->pos)
        n = s->len - s->pos;
    memcpy(ptr, s->data + s->pos, n);
    s->pos += n;
    return n;
}

int main(int argc, char **argv)
{
    const char *url;
    long n, ok = 0;
    long long bytes = 0;
    static char body[BIG_SIZE];
    struct source src = {body, BIG_SIZE, 0};
    struct curl_slist *headers = curl_slist_append(NULL, "Expect:");
    for (size_t j = 0; j < BIG_SIZE; j++)
        body[j] = (char)(j & 255);
    parse_args(argc, argv, &url, &n);

    double t0 = now(), c0 = cpu_seconds();
    CURL *e = easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)BIG_SIZE);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, from_memory);
    curl_easy_setopt(e, CURLOPT_READDATA, &src);
    for (long i = 0; i < n; i++) {
        curl_off_t sent = 0;
        src.pos = 0;
        check_easy(e, curl_easy_perform(e), "W7");
        curl_easy_getinfo(e, CURLINFO_SIZE_UPLOAD_T, &sent);
        if (sent != BIG_SIZE)
            die("W7: %ld bytes uploaded, expected %d", (long)sent, BIG_SIZE);
        ok++;
        bytes += sent;
    }
    curl_easy_cleanup(e);
    curl_slist_free_all(headers);
    report(now() - t0, cpu_seconds() - c0, ok, bytes);
    return 0;
}
