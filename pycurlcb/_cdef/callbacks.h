/* The trampolines: each is implemented in Python (pycurlcb/_callbacks.py,
 * @ffi.def_extern) and installed into libcurl by the shims in shim.c.
 * Signatures are libcurl's callback typedefs. */

extern "Python" {
    curl_socket_t pcb_opensocket(void *clientp, curlsocktype purpose,
                                 struct curl_sockaddr *address);
    int pcb_sockopt(void *clientp, curl_socket_t curlfd, curlsocktype purpose);
    int pcb_closesocket(void *clientp, curl_socket_t item);
    size_t pcb_write(char *ptr, size_t size, size_t nmemb, void *userdata);
    size_t pcb_header(char *ptr, size_t size, size_t nmemb, void *userdata);
    size_t pcb_read(char *buffer, size_t size, size_t nitems, void *userdata);
    int pcb_seek(void *userp, curl_off_t offset, int origin);
    int pcb_xferinfo(void *clientp, curl_off_t dltotal, curl_off_t dlnow,
                     curl_off_t ultotal, curl_off_t ulnow);
    int pcb_progress(void *clientp, double dltotal, double dlnow,
                     double ultotal, double ulnow);
    int pcb_debug(CURL *handle, curl_infotype type, char *data, size_t size,
                  void *userptr);
    int pcb_multi_socket(CURL *easy, curl_socket_t s, int what,
                         void *clientp, void *socketp);
    int pcb_multi_timer(CURLM *multi, long timeout_ms, void *clientp);
}
