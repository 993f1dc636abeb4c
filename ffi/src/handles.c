/* Lifetimes of the libcurl handles (declarations and rationale: handles.h). */
#include <curl/curl.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <dlfcn.h>

/* The manylinux wheel (tools/build_wheel.py defines PCB_GLIBC_COMPAT): glibc
 * 2.34 moved dladdr/dlopen/dlsym/dlclose from libdl into libc under the new
 * version GLIBC_2.34, so a module linked on Debian 12 would need glibc 2.34.
 * Bind to the x86_64 base version, GLIBC_2.2.5, that every glibc has: libc
 * keeps it for compatibility from 2.34 on, libdl.so.2 (linked with -ldl)
 * defines it before. */
#if defined(PCB_GLIBC_COMPAT) && defined(__GLIBC__) && defined(__x86_64__)
__asm__(".symver dladdr,dladdr@GLIBC_2.2.5");
__asm__(".symver dlopen,dlopen@GLIBC_2.2.5");
__asm__(".symver dlsym,dlsym@GLIBC_2.2.5");
__asm__(".symver dlclose,dlclose@GLIBC_2.2.5");
#endif

struct pcb_easy;

struct pcb_multi {
    CURLM *m;
    long refs;
    struct pcb_easy *bulk_queue;  /* handles with body bytes buffered (bulk.c) */
};

/* A share is used from several threads at once, and cffi releases the GIL
 * around every call into this file: `api` guards `sh` and `refs` (attach,
 * detach, setopt, close), so a thread closing the share never frees it under
 * another that is attaching an easy handle to it.  `locks` are libcurl's: one
 * per curl_lock_data, the last one for kinds newer than these headers.  The
 * order is always api, then a lock of libcurl's (curl_easy_setopt(SHARE) and
 * curl_share_setopt take CURL_LOCK_DATA_SHARE); libcurl never calls back into
 * anything that takes api. */
#define PCB_SHARE_LOCKS (CURL_LOCK_DATA_LAST + 1)
struct pcb_share {
    void *sh;
    long refs;
    long easies;
    int pinned;
    pthread_mutex_t api;
    pthread_mutex_t locks[PCB_SHARE_LOCKS];
};

struct pcb_easy {
    CURL *h;
    CURLM *perform;
    struct pcb_multi *multi;
    struct pcb_share *share;
    int stop;
    int state;
    CURLcode info_rc;
    CURLcode result;
    char errbuf[CURL_ERROR_SIZE];
    char *cacerts;              /* PEM text for set_ca_certs(), or NULL */
    size_t cacerts_len;
    char *bulk;                 /* perform()'s body buffer (bulk.c), malloc'd, or NULL */
    size_t bulk_len;
    size_t bulk_cap;
    void *bulk_clientp;         /* the Curl's clientp, for pcb_bulk_flush */
    int bulk_pass;
    int bulk_failed;
    int bulk_on;                /* pcb_bulk_start ran, pcb_bulk_stop has not */
    int bulk_queued;            /* on multi->bulk_queue */
    struct pcb_easy *bulk_next; /* the next on that queue */
};

static void pcb_bulk_unqueue(struct pcb_multi *m, struct pcb_easy *e);
static void pcb_bulk_stop(struct pcb_easy *e);

static CURLcode pcb_easy_set_ca_certs(struct pcb_easy *e, const char *pem, size_t len);

/* perform() leaves a finished handle added to its private multi (for
 * CONNECT_ONLY): take it out before anything that must not happen to a
 * handle in a multi, such as changing its share (libcurl keeps a pointer to
 * the share's connection cache while the handle is added). */
/* curl_easy_getinfo(3) of a scalar info, its value returned and its CURLcode
 * left in e->info_rc: getinfo()'s fast path, no out-parameter to allocate. */
#define PCB_INFO(name, type)                                                  \
    static type pcb_info_##name(struct pcb_easy *e, CURLINFO info)            \
    {                                                                         \
        type value = 0;                                                       \
        e->info_rc = e->h ? curl_easy_getinfo(e->h, info, &value)             \
                          : CURLE_BAD_FUNCTION_ARGUMENT;                      \
        return value;                                                         \
    }
PCB_INFO(long, long)
PCB_INFO(double, double)
PCB_INFO(off_t, curl_off_t)
PCB_INFO(socket, curl_socket_t)
#undef PCB_INFO

static void pcb_easy_leave_perform(struct pcb_easy *e)
{
    if(e->state != 0 && e->perform && e->h)
        curl_multi_remove_handle(e->perform, e->h);
    e->state = 0;
}

static void pcb_multi_decref(struct pcb_multi *m)
{
    if(--m->refs == 0) {
        if(m->m)
            curl_multi_cleanup(m->m);
        free(m);
    }
}

static void pcb_share_decref(struct pcb_share *s)
{
    int i;
    long left;
    pthread_mutex_lock(&s->api);
    left = --s->refs;
    pthread_mutex_unlock(&s->api);
    if(left == 0) {  /* the last reference: nobody else can reach s */
        if(s->sh)
            curl_share_cleanup((CURLSH *)s->sh);
        for(i = 0; i < PCB_SHARE_LOCKS; i++)
            pthread_mutex_destroy(&s->locks[i]);
        pthread_mutex_destroy(&s->api);
        free(s);
    }
}

/* Attach an easy handle to s (CURLOPT_SHARE) and count it; the caller has
 * detached it from any other share.  CURLE_BAD_FUNCTION_ARGUMENT once s is
 * closed. */
static CURLcode pcb_share_attach(struct pcb_share *s, CURL *h)
{
    CURLcode rc;
    pthread_mutex_lock(&s->api);
    if(!s->sh)
        rc = CURLE_BAD_FUNCTION_ARGUMENT;
    else
        rc = curl_easy_setopt(h, CURLOPT_SHARE, (CURLSH *)s->sh);
    if(rc == CURLE_OK) {
        s->refs++;
        s->easies++;
    }
    pthread_mutex_unlock(&s->api);
    return rc;
}

/* An easy handle has left s (curl_easy_setopt(CURLOPT_SHARE, NULL) done). */
static void pcb_share_left(struct pcb_share *s)
{
    pthread_mutex_lock(&s->api);
    s->easies--;
    pthread_mutex_unlock(&s->api);
    pcb_share_decref(s);
}

/* e is zeroed memory owned by its Curl (ffi.new): freed by Python once the
 * Curl is really gone, never while a resurrected Curl can still read it. */
static int pcb_easy_init(struct pcb_easy *e, struct pcb_easy *src)
{
    e->h = src ? curl_easy_duphandle(src->h) : curl_easy_init();
    if(!e->h)
        return -1;
    /* a duplicate would write into the source's buffer */
    curl_easy_setopt(e->h, CURLOPT_ERRORBUFFER, e->errbuf);
    if(src && src->cacerts &&
       pcb_easy_set_ca_certs(e, src->cacerts, src->cacerts_len) != CURLE_OK) {
        curl_easy_cleanup(e->h);
        e->h = NULL;
        return -1;
    }
    if(src && src->share) {
        /* curl_easy_duphandle does not copy CURLOPT_SHARE (libcurl makes the
         * copy "as if CURLOPT_SHARE was set to NULL"): attach it here, so the
         * copy uses the share its Curl.share() reports. */
        if(pcb_share_attach(src->share, e->h) != CURLE_OK) {
            curl_easy_cleanup(e->h);
            e->h = NULL;
            free(e->cacerts);
            e->cacerts = NULL;
            return -1;
        }
        e->share = src->share;
    }
    return 0;
}

static void pcb_easy_close(struct pcb_easy *e)
{
    if(!e->h)
        return;
    /* Out of perform()'s multi first: a CONNECT_ONLY handle still added to
     * it keeps its connection attached, and curl_multi_cleanup would leave
     * that connection (its socket) open. */
    pcb_easy_leave_perform(e);
    if(e->multi) {
        struct pcb_multi *m = e->multi;
        e->multi = NULL;
        pcb_bulk_unqueue(m, e);
        if(m->m)
            curl_multi_remove_handle(m->m, e->h);
        pcb_multi_decref(m);
    }
    if(e->perform) {  /* closes perform()'s cached connections */
        curl_multi_cleanup(e->perform);
        e->perform = NULL;
    }
    if(e->share) {
        struct pcb_share *s = e->share;
        e->share = NULL;
        curl_easy_setopt(e->h, CURLOPT_SHARE, NULL);
        pcb_share_left(s);
    }
    curl_easy_cleanup(e->h);
    e->h = NULL;
    free(e->cacerts);
    e->cacerts = NULL;
    free(e->bulk);
    e->bulk = NULL;
    e->bulk_len = e->bulk_cap = 0;
}

static struct pcb_multi *pcb_multi_new(void)
{
    struct pcb_multi *m = calloc(1, sizeof(*m));
    if(!m)
        return NULL;
    m->m = curl_multi_init();
    if(!m->m) {
        free(m);
        return NULL;
    }
    m->refs = 1;
    return m;
}

static CURLMcode pcb_multi_close(struct pcb_multi *m)
{
    CURLMcode rc = CURLM_OK;
    if(m->m) {
        rc = curl_multi_cleanup(m->m);
        m->m = NULL;
    }
    return rc;
}

/* What a released CurlMulti's cell points at: a multi that is closed for
 * good, so that a CurlMulti resurrected by a finaliser reads "closed" instead
 * of freed memory. */
static struct pcb_multi pcb_multi_gone = {NULL, 1, NULL};

static struct pcb_multi *pcb_multi_released(void)
{
    return &pcb_multi_gone;
}

static void pcb_multi_free(struct pcb_multi *m)
{
    if(m == &pcb_multi_gone)
        return;
    pcb_multi_close(m);
    pcb_multi_decref(m);
}

static CURLMcode pcb_multi_add(struct pcb_multi *m, struct pcb_easy *e)
{
    CURLMcode rc;
    if(e->multi && !e->multi->m) {  /* its multi was cleaned up: forget it */
        pcb_multi_decref(e->multi);
        e->multi = NULL;
    }
    if(!m->m || !e->h || e->multi)
        return CURLM_BAD_HANDLE;
    pcb_easy_leave_perform(e);  /* a finished CONNECT_ONLY transfer of perform() */
    e->errbuf[0] = 0;
    e->bulk_failed = 0;  /* info_read() reads it for every transfer of a CurlMulti */
    /* How pcb_aio_drive finds e from a finished CURL* (driver.h); Python keeps
     * PRIVATE's object itself (Curl.setopt(PRIVATE)), so libcurl's is free. */
    curl_easy_setopt(e->h, CURLOPT_PRIVATE, (void *)e);
    rc = curl_multi_add_handle(m->m, e->h);
    if(rc == CURLM_OK) {
        e->multi = m;
        m->refs++;
    }
    return rc;
}

static CURLMcode pcb_multi_remove(struct pcb_multi *m, struct pcb_easy *e)
{
    CURLMcode rc = CURLM_OK;
    if(e->multi != m)
        return CURLM_BAD_EASY_HANDLE;
    if(m->m && e->h)
        rc = curl_multi_remove_handle(m->m, e->h);
    if(rc == CURLM_OK) {
        e->multi = NULL;
        pcb_bulk_unqueue(m, e);
        pcb_bulk_stop(e);  /* its write trampoline back for the next transfer */
        pcb_multi_decref(m);
    }
    return rc;
}

/* libcurl's lock callbacks: C only, no Python, no GIL.  `access` is ignored
 * on purpose: libcurl asks for CURL_LOCK_ACCESS_SINGLE everywhere (7.81 ..
 * 8.x never pass SHARED), and where older ones passed SHARED they also wrote
 * (the DNS cache prunes stale entries while it looks one up), so a
 * reader/writer lock honouring SHARED would let two writers in.  `handle` may
 * be NULL (curl_share_cleanup).  A kind these headers do not know shares one
 * extra mutex instead of going unlocked. */
static pthread_mutex_t *pcb_share_mutex(struct pcb_share *s, curl_lock_data data)
{
    int i = (int)data;
    return &s->locks[(i >= 0 && i < CURL_LOCK_DATA_LAST) ? i : CURL_LOCK_DATA_LAST];
}

static void pcb_share_lock(CURL *handle, curl_lock_data data, curl_lock_access access, void *userptr)
{
    (void)handle;
    (void)access;
    pthread_mutex_lock(pcb_share_mutex(userptr, data));
}

static void pcb_share_unlock(CURL *handle, curl_lock_data data, void *userptr)
{
    (void)handle;
    pthread_mutex_unlock(pcb_share_mutex(userptr, data));
}

static struct pcb_share *pcb_share_new(void)
{
    int i;
    struct pcb_share *s = calloc(1, sizeof(*s));
    if(!s)
        return NULL;
    s->sh = curl_share_init();
    if(!s->sh) {
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->api, NULL);
    for(i = 0; i < PCB_SHARE_LOCKS; i++)
        pthread_mutex_init(&s->locks[i], NULL);
    curl_share_setopt((CURLSH *)s->sh, CURLSHOPT_LOCKFUNC, pcb_share_lock);
    curl_share_setopt((CURLSH *)s->sh, CURLSHOPT_UNLOCKFUNC, pcb_share_unlock);
    curl_share_setopt((CURLSH *)s->sh, CURLSHOPT_USERDATA, s);
    s->refs = 1;
    return s;
}

/* curl_share_setopt(3) is not thread-safe (it allocates the caches): under api. */
static CURLSHcode pcb_share_setopt_long(struct pcb_share *s, CURLSHoption option, long value)
{
    CURLSHcode rc;
    pthread_mutex_lock(&s->api);
    rc = s->sh ? curl_share_setopt((CURLSH *)s->sh, option, value) : CURLSHE_INVALID;
    pthread_mutex_unlock(&s->api);
    return rc;
}

static CURLSHcode pcb_share_close(struct pcb_share *s)
{
    CURLSHcode rc;
    void *sh;
    pthread_mutex_lock(&s->api);
    sh = s->sh;
    if(sh && s->easies > 0) {
        pthread_mutex_unlock(&s->api);
        return CURLSHE_IN_USE;
    }
    /* Closed from here on: no easy handle can attach while the cleanup runs
     * outside api (it closes the shared connections, whose closesocket
     * callbacks may call into pycurlcb again). */
    s->sh = NULL;
    pthread_mutex_unlock(&s->api);
    if(!sh)
        return CURLSHE_OK;
    rc = curl_share_cleanup((CURLSH *)sh);
    if(rc != CURLSHE_OK) {  /* libcurl kept it: so do we, for a later close */
        pthread_mutex_lock(&s->api);
        s->sh = sh;
        pthread_mutex_unlock(&s->api);
    }
    return rc;
}

/* What a released CurlShare's cell points at: a share that is closed for
 * good, so that a CurlShare finalised after its release (a garbage cycle at
 * interpreter exit) reads "closed" instead of freed memory.  Its references
 * are never counted. */
static struct pcb_share pcb_share_gone = {NULL, 1, 0, 1, PTHREAD_MUTEX_INITIALIZER};

static void pcb_share_release(struct pcb_share **cell)
{
    struct pcb_share *s = *cell;
    if(s == &pcb_share_gone)
        return;
    if(!s->pinned)  /* nothing keeps s for the CurlShare: it must not read it */
        *cell = &pcb_share_gone;
    pcb_share_decref(s);
}

static void pcb_share_pin(struct pcb_share *s)
{
    if(s == &pcb_share_gone)
        return;
    pthread_mutex_lock(&s->api);
    s->refs++;
    s->pinned = 1;
    pthread_mutex_unlock(&s->api);
}

static void pcb_share_unpin(struct pcb_share *s)
{
    if(s != &pcb_share_gone)
        pcb_share_decref(s);
}

static CURLcode pcb_easy_set_share(struct pcb_easy *e, struct pcb_share *s)
{
    CURLcode rc;
    struct pcb_share *old = e->share;
    if(!e->h)
        return CURLE_BAD_FUNCTION_ARGUMENT;
    if(s == old)
        return CURLE_OK;
    pcb_easy_leave_perform(e);
    /* s is checked (open?) and counted under its api lock: a close() in
     * another thread either sees this reference or makes this fail. */
    rc = s ? pcb_share_attach(s, e->h) : curl_easy_setopt(e->h, CURLOPT_SHARE, NULL);
    if(rc != CURLE_OK)
        return rc;
    e->share = s;
    if(old)  /* curl_easy_setopt has left it */
        pcb_share_left(old);
    return CURLE_OK;
}

/* set_ca_certs(): add PEM certificates to OpenSSL's store from
 * CURLOPT_SSL_CTX_FUNCTION, as pycurl does.  OpenSSL is reached through the
 * symbols libcurl already loaded (dlsym), so pycurlcb needs no OpenSSL headers;
 * with another TLS backend the symbols are missing and set_ca_certs refuses. */
struct pcb_openssl {
    void *(*BIO_new_mem_buf)(const void *, int);
    int (*BIO_free)(void *);
    void *(*PEM_read_bio_X509)(void *, void **, void *, void *);
    void *(*SSL_CTX_get_cert_store)(const void *);
    int (*X509_STORE_add_cert)(void *, void *);
    void (*X509_free)(void *);
    void (*ERR_clear_error)(void);
};

static int pcb_openssl_load(struct pcb_openssl *o)
{
    /* The loaded libcurl's own handle: dlsym() on it searches its
     * dependencies, which is where its TLS library is. */
    Dl_info info;
    void *self;
    if(!dladdr((void *)curl_easy_init, &info) || !info.dli_fname)
        return 0;
    self = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
    if(!self)
        return 0;
    *(void **)&o->BIO_new_mem_buf = dlsym(self, "BIO_new_mem_buf");
    *(void **)&o->BIO_free = dlsym(self, "BIO_free");
    *(void **)&o->PEM_read_bio_X509 = dlsym(self, "PEM_read_bio_X509");
    *(void **)&o->SSL_CTX_get_cert_store = dlsym(self, "SSL_CTX_get_cert_store");
    *(void **)&o->X509_STORE_add_cert = dlsym(self, "X509_STORE_add_cert");
    *(void **)&o->X509_free = dlsym(self, "X509_free");
    *(void **)&o->ERR_clear_error = dlsym(self, "ERR_clear_error");
    dlclose(self);  /* RTLD_NOLOAD took a reference; libcurl stays loaded */
    return o->BIO_new_mem_buf && o->BIO_free && o->PEM_read_bio_X509 &&
           o->SSL_CTX_get_cert_store && o->X509_STORE_add_cert && o->X509_free &&
           o->ERR_clear_error;
}

static CURLcode pcb_ssl_ctx_add_certs(CURL *curl, void *sslctx, void *userptr)
{
    struct pcb_easy *e = userptr;
    struct pcb_openssl o;
    void *bio, *store, *cert;
    int loaded = 0;
    (void)curl;
    if(!e->cacerts || e->cacerts_len > 0x7FFFFFFF || !pcb_openssl_load(&o))
        return CURLE_FAILED_INIT;
    bio = o.BIO_new_mem_buf(e->cacerts, (int)e->cacerts_len);
    if(!bio)
        return CURLE_OUT_OF_MEMORY;
    store = o.SSL_CTX_get_cert_store(sslctx);
    while(store && (cert = o.PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        o.X509_STORE_add_cert(store, cert);  /* "already in the store" is no error */
        o.X509_free(cert);
        loaded++;
    }
    o.BIO_free(bio);
    o.ERR_clear_error();
    return loaded ? CURLE_OK : CURLE_FAILED_INIT;
}

static CURLcode pcb_easy_set_ca_certs(struct pcb_easy *e, const char *pem, size_t len)
{
    struct pcb_openssl o;
    char *copy;
    CURLcode rc;
    if(!e->h)
        return CURLE_BAD_FUNCTION_ARGUMENT;
    if(!pcb_openssl_load(&o))
        return CURLE_NOT_BUILT_IN;
    copy = malloc(len ? len : 1);
    if(!copy)
        return CURLE_OUT_OF_MEMORY;
    memcpy(copy, pem, len);
    rc = curl_easy_setopt(e->h, CURLOPT_SSL_CTX_FUNCTION, pcb_ssl_ctx_add_certs);
    if(rc == CURLE_OK)
        rc = curl_easy_setopt(e->h, CURLOPT_SSL_CTX_DATA, e);
    if(rc != CURLE_OK) {
        free(copy);
        return rc;
    }
    free(e->cacerts);
    e->cacerts = copy;
    e->cacerts_len = len;
    return CURLE_OK;
}
