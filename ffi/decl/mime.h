/* The MIME API (curl_mime_init(3) and the functions it links to), libcurl
 * 7.56.0.  curl_mime and curl_mimepart are opaque.  A CurlMime owns its
 * curl_mime through ffi.gc until it is attached to a part with
 * curl_mime_subparts(), which hands the ownership to that part (mime.py).
 *
 * curl_mime_data_cb's callbacks are pycurlcb's trampolines pcb_mime_read,
 * pcb_mime_seek and pcb_mime_free (rows of _cbtable.py, owner "mime"); the
 * function pointer types are spelled out so that no typedef name is declared
 * here. */

typedef struct curl_mime curl_mime;
typedef struct curl_mimepart curl_mimepart;

curl_mime *curl_mime_init(CURL *easy);
void curl_mime_free(curl_mime *mime);
curl_mimepart *curl_mime_addpart(curl_mime *mime);
CURLcode curl_mime_name(curl_mimepart *part, const char *name);
CURLcode curl_mime_filename(curl_mimepart *part, const char *filename);
CURLcode curl_mime_type(curl_mimepart *part, const char *mimetype);
CURLcode curl_mime_encoder(curl_mimepart *part, const char *encoding);
CURLcode curl_mime_data(curl_mimepart *part, const char *data, size_t datasize);
CURLcode curl_mime_filedata(curl_mimepart *part, const char *filename);
CURLcode curl_mime_data_cb(curl_mimepart *part, curl_off_t datasize,
                           size_t (*readfunc)(char *, size_t, size_t, void *),
                           int (*seekfunc)(void *, curl_off_t, int),
                           void (*freefunc)(void *), void *arg);
CURLcode curl_mime_subparts(curl_mimepart *part, curl_mime *subparts);
CURLcode curl_mime_headers(curl_mimepart *part, struct curl_slist *headers, int take_ownership);
