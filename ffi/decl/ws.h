/* WebSockets (libcurl 7.86.0): curl_ws_recv(3), curl_ws_send(3), curl_ws_meta(3).
 * Declared by every header from 7.86.0 on; a libcurl built without websockets
 * ("ws" not among its protocols) answers them with CURLE_NOT_BUILT_IN. */

struct curl_ws_frame {
    int age;              /* zero */
    int flags;            /* CURLWS_* bits */
    curl_off_t offset;    /* offset of this data in the frame */
    curl_off_t bytesleft; /* payload bytes of the frame still to come */
    size_t len;           /* size of this chunk */
};

/* metap is "struct curl_ws_frame **" up to 8.1 and "const struct curl_ws_frame **"
 * from 8.2 on: declared void * so that one declaration compiles against both. */
CURLcode curl_ws_recv(CURL *curl, void *buffer, size_t buflen, size_t *recv, void *metap);
CURLcode curl_ws_send(CURL *curl, const void *buffer, size_t buflen, size_t *sent,
                      curl_off_t fragsize, unsigned int flags);
const struct curl_ws_frame *curl_ws_meta(CURL *curl);
