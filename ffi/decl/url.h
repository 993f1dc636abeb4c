/* libcurl's URL API (curl/urlapi.h, 7.62.0; CURLUPART_ZONEID 7.65.0):
 * parse, change and build URLs with libcurl's own parser.  None of these is
 * variadic.  curl_url_strerror (7.80.0) goes through pcb_url_strerror in
 * shim.h.  The CURLUE_*, CURLUPART_* and CURLU_* values come from the
 * header (build_ffi.py). */

typedef int... CURLUcode;
typedef int... CURLUPart;
typedef struct Curl_URL CURLU;

CURLU *curl_url(void);
void curl_url_cleanup(CURLU *handle);
/* Declared without the const newer headers put on the source handle. */
CURLU *curl_url_dup(CURLU *in);
/* *part is allocated by libcurl: release it with curl_free(). */
CURLUcode curl_url_get(CURLU *handle, CURLUPart what, char **part, unsigned int flags);
/* part NULL removes the part. */
CURLUcode curl_url_set(CURLU *handle, CURLUPart what, const char *part, unsigned int flags);
void curl_free(void *p);
