/* The C side of each handle's lifetime (implemented in handles.c).
 *
 * A Curl owns a struct pcb_easy (memory from ffi.new), a CurlMulti a cell
 * pointing at a struct pcb_multi, a CurlShare a cell pointing at a struct
 * pcb_share; each has an ffi.gc release: when the Python object is collected
 * without having been closed (a subclass __del__ that does not call super(),
 * a garbage cycle), the release frees the libcurl handle in an order that is
 * safe whatever order the garbage collector picks, because an easy handle
 * holds a reference on the multi and share it is attached to.  A release may
 * run before its object's finaliser (at interpreter exit) or while a
 * finaliser resurrects its object: it then leaves behind memory that reads
 * "closed" (the Curl's struct stays until Python frees it, the cells point at
 * a multi or share closed for good; a share pinned by its __del__ stays).
 * Normally close() or __del__ runs first, with the Python callbacks enabled,
 * and the release only frees memory: also in a garbage cycle, where the
 * collector's call of a release waits for the end of the collection
 * (_lifetime.after_finalisers). */

struct pcb_multi {
    CURLM *m;               /* NULL once closed */
    long refs;              /* its CurlMulti, plus one per easy handle added */
    struct pcb_easy *bulk_queue;  /* handles with body bytes buffered (bulk.h), or NULL */
    ...;
};

struct pcb_share {
    void *sh;               /* the CURLSH *, NULL once cleaned up */
    long refs;              /* owners of the memory: its CurlShare, a pin of a
                               finalised CurlShare, and each easy handle using it */
    long easies;            /* the easy handles using it: close() waits for 0 */
    ...;
};

struct pcb_easy {
    CURL *h;                /* NULL once closed */
    CURLM *perform;         /* perform()'s private multi handle, or NULL */
    struct pcb_multi *multi;    /* the multi it is added to, or NULL */
    struct pcb_share *share;    /* the share it uses, or NULL */
    int state;              /* pcb_perform_step's progress */
    int stop;               /* set by a failed callback libcurl does not listen
                               to (DEBUGFUNCTION): pcb_perform_step returns */
    CURLcode info_rc;       /* what the last pcb_info_* call's curl_easy_getinfo returned */
    CURLcode result;        /* the transfer's CURLcode once state is 2 */
    char errbuf[...];       /* CURLOPT_ERRORBUFFER */
    char *bulk;             /* perform()'s body buffer (bulk.h), or NULL */
    size_t bulk_len;        /* the bytes in it not handed to Python yet */
    int bulk_pass;          /* pause() ran: hand each chunk over as it comes */
    int bulk_failed;        /* a flush of the body failed (bulk.h) */
    int bulk_on;            /* the C write callback is installed (bulk.h) */
    ...;
};

/* In zeroed memory the Curl owns (ffi.new): curl_easy_init() (or
 * curl_easy_duphandle(src)) with ERRORBUFFER set; -1 if libcurl fails. */
int pcb_easy_init(struct pcb_easy *e, struct pcb_easy *src);
/* Leave the multi and the share, clean up the private multi and the handle;
 * callbacks may run.  Idempotent; also the ffi.gc release (the memory is
 * Python's, freed once the Curl is really gone). */
void pcb_easy_close(struct pcb_easy *e);

struct pcb_multi *pcb_multi_new(void);
/* curl_multi_cleanup(); the easy handles still added are left detached. */
CURLMcode pcb_multi_close(struct pcb_multi *m);
/* The ffi.gc release of a CurlMulti's cell: close, then drop its reference. */
void pcb_multi_free(struct pcb_multi *m);
/* A multi closed for good, which a released cell points at instead of NULL. */
struct pcb_multi *pcb_multi_released(void);
CURLMcode pcb_multi_add(struct pcb_multi *m, struct pcb_easy *e);
CURLMcode pcb_multi_remove(struct pcb_multi *m, struct pcb_easy *e);

/* set_ca_certs(): trust PEM certificates besides the default CAs, added to
 * OpenSSL's store from a C CURLOPT_SSL_CTX_FUNCTION (CURLE_NOT_BUILT_IN if
 * libcurl does not use OpenSSL).  The text is copied. */
CURLcode pcb_easy_set_ca_certs(struct pcb_easy *e, const char *pem, size_t len);

/* A share handle whose lock callbacks are C: one mutex per curl_lock_data,
 * so easy handles in different threads share safely without the GIL.  The
 * functions below are safe to call from several threads at once on one share
 * (a mutex of its own guards its CURLSH * and its count of references). */
struct pcb_share *pcb_share_new(void);
/* curl_share_setopt(); CURLSHE_INVALID once closed. */
CURLSHcode pcb_share_setopt_long(struct pcb_share *s, CURLSHoption option, long value);
/* curl_share_cleanup(); CURLSHE_IN_USE while an easy handle uses it (the
 * handle is then kept for a later close).  Closes the shared connections:
 * closesocket callbacks may run.  Idempotent. */
CURLSHcode pcb_share_close(struct pcb_share *s);
/* The ffi.gc release of a CurlShare's cell: drop the CurlShare's reference;
 * the last reference (this one, a pin's, or the last easy handle's) cleans
 * up and frees.  Unless the share is pinned, the cell is left pointing at a
 * share closed for good (so it never points at freed memory). */
void pcb_share_release(struct pcb_share **cell);
/* A finalised CurlShare, which its finaliser may have resurrected, holds a
 * reference until the object is really freed (pcb_share_unpin); the cell
 * then keeps pointing at the share after the release. */
void pcb_share_pin(struct pcb_share *s);
void pcb_share_unpin(struct pcb_share *s);
/* CURLOPT_SHARE: attach e to s (NULL: detach), moving the reference;
 * CURLE_BAD_FUNCTION_ARGUMENT if s is closed.  pcb_easy_new(src) attaches
 * the copy to src's share (curl_easy_duphandle itself does not copy it). */
CURLcode pcb_easy_set_share(struct pcb_easy *e, struct pcb_share *s);
