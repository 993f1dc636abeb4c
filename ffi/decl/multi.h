/* libcurl's multi-interface functions (curl/multi.h) that are not variadic. */

CURLM *curl_multi_init(void);
CURLMcode curl_multi_cleanup(CURLM *multi_handle);
CURLMcode curl_multi_add_handle(CURLM *multi_handle, CURL *curl_handle);
CURLMcode curl_multi_remove_handle(CURLM *multi_handle, CURL *curl_handle);
CURLMcode curl_multi_perform(CURLM *multi_handle, int *running_handles);
CURLMcode curl_multi_socket_action(CURLM *multi_handle, curl_socket_t s,
                                   int ev_bitmask, int *running_handles);
CURLMcode curl_multi_assign(CURLM *multi_handle, curl_socket_t sockfd, void *sockp);
CURLMcode curl_multi_timeout(CURLM *multi_handle, long *milliseconds);
CURLMcode curl_multi_poll(CURLM *multi_handle, void *extra_fds,
                          unsigned int extra_nfds, int timeout_ms, int *ret);
CURLMcode curl_multi_wakeup(CURLM *multi_handle);
CURLMsg *curl_multi_info_read(CURLM *multi_handle, int *msgs_in_queue);
