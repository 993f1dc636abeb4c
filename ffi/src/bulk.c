/* Bulk bodies: see bulk.h.  Comes after shim.c (PCB_WRITEFUNC_ERROR). */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#define PCB_BULK_MIN (64 * 1024)
#define PCB_BULK_MAX (1024 * 1024)

/* extern "Python" (bulk.h): cffi defines it after this source; declared
 * here so that C can call it. */
static int pcb_bulk_flush(void *clientp, char *data, size_t len);
/* The write row's trampoline (_cbtable.py), put back by pcb_bulk_stop. */
static size_t pcb_write(char *ptr, size_t size, size_t nmemb, void *userdata);

static int pcb_bulk_drain(struct pcb_easy *e)
{
    size_t n = e->bulk_len;
    if(n == 0)
        return 0;
    e->bulk_len = 0;  /* empty even if Python fails: nothing is handed over twice */
    if(pcb_bulk_flush(e->bulk_clientp, e->bulk, n) == 0)
        return 0;
    e->bulk_failed = 1;
    return -1;
}

/* Grow the buffer (x4, up to PCB_BULK_MAX) so that `need` bytes fit: 1 if
 * they fit now, 0 if they cannot (it is full size, or realloc failed). */
static int pcb_bulk_grow(struct pcb_easy *e, size_t need)
{
    size_t cap = e->bulk_cap;
    char *bigger;
    while(cap < PCB_BULK_MAX && need > cap)
        cap *= 4;
    if(cap > PCB_BULK_MAX)
        cap = PCB_BULK_MAX;
    if(need > cap)
        return 0;
    bigger = realloc(e->bulk, cap);
    if(!bigger)
        return 0;
    e->bulk = bigger;
    e->bulk_cap = cap;
    return 1;
}

/* Append n bytes (they fit); in a CurlMulti (not one closed under it), e
 * joins its bulk_queue, drained when the driving call ends. */
static void pcb_bulk_keep(struct pcb_easy *e, const char *ptr, size_t n)
{
    memcpy(e->bulk + e->bulk_len, ptr, n);
    e->bulk_len += n;
    if(e->multi && e->multi->m && !e->bulk_queued) {
        e->bulk_queued = 1;
        e->bulk_next = e->multi->bulk_queue;
        e->multi->bulk_queue = e;
    }
}

/* CURLOPT_WRITEFUNCTION while bulk is on (WRITEDATA is e). */
static size_t pcb_bulk_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct pcb_easy *e = userdata;
    size_t n = size * nmemb;
    if(e->bulk_failed)  /* a drain after a CurlMulti's driving call failed */
        return PCB_WRITEFUNC_ERROR;
    if(!e->bulk_pass &&
       (n <= e->bulk_cap - e->bulk_len || pcb_bulk_grow(e, e->bulk_len + n))) {
        pcb_bulk_keep(e, ptr, n);
        return n;
    }
    /* It does not fit (or pause() ran): what is buffered goes first, in order. */
    if(pcb_bulk_drain(e) != 0)
        return PCB_WRITEFUNC_ERROR;
    if(e->bulk_pass || n > e->bulk_cap) {
        if(pcb_bulk_flush(e->bulk_clientp, ptr, n) == 0)
            return n;
        e->bulk_failed = 1;
        return PCB_WRITEFUNC_ERROR;
    }
    pcb_bulk_keep(e, ptr, n);
    return n;
}

static void pcb_bulk_stop(struct pcb_easy *e);

static CURLcode pcb_bulk_start(struct pcb_easy *e, void *clientp)
{
    CURLcode rc;
    if(!e->h)
        return CURLE_BAD_FUNCTION_ARGUMENT;
    if(!e->bulk) {
        e->bulk = malloc(PCB_BULK_MIN);
        if(!e->bulk)
            return CURLE_OUT_OF_MEMORY;
        e->bulk_cap = PCB_BULK_MIN;
    }
    e->bulk_len = 0;
    e->bulk_pass = 0;
    e->bulk_failed = 0;
    e->bulk_clientp = clientp;
    e->bulk_on = 1;
    rc = curl_easy_setopt(e->h, CURLOPT_WRITEFUNCTION, pcb_bulk_write);
    if(rc == CURLE_OK)
        rc = curl_easy_setopt(e->h, CURLOPT_WRITEDATA, (void *)e);
    if(rc != CURLE_OK)
        pcb_bulk_stop(e);
    return rc;
}

static void pcb_bulk_stop(struct pcb_easy *e)
{
    if(!e->bulk_on)
        return;
    e->bulk_on = 0;
    if(e->h) {
        curl_easy_setopt(e->h, CURLOPT_WRITEFUNCTION, pcb_write);
        curl_easy_setopt(e->h, CURLOPT_WRITEDATA, e->bulk_clientp);
    }
}

static void pcb_bulk_unqueue(struct pcb_multi *m, struct pcb_easy *e)
{
    struct pcb_easy **link = &m->bulk_queue;
    if(!e->bulk_queued)
        return;
    while(*link && *link != e)
        link = &(*link)->bulk_next;
    if(*link)
        *link = e->bulk_next;
    e->bulk_queued = 0;
    e->bulk_next = NULL;
}

static void pcb_multi_bulk_drain(struct pcb_multi *m)
{
    while(m->bulk_queue) {
        struct pcb_easy *e = m->bulk_queue;
        m->bulk_queue = e->bulk_next;
        e->bulk_queued = 0;
        e->bulk_next = NULL;
        pcb_bulk_drain(e);  /* a failure is in e->bulk_failed */
    }
}

static void pcb_bulk_free(struct pcb_easy *e)
{
    free(e->bulk);
    e->bulk = NULL;
    e->bulk_len = e->bulk_cap = 0;
    e->bulk_on = 0;  /* curl_easy_reset() took bulk.c's write callback out */
}
