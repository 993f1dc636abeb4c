/* libcurl's easy-interface functions (curl/curl.h, curl/easy.h,
 * curl/options.h) that are not variadic; the variadic ones go through the
 * typed shims in shim.h. */

CURLcode curl_global_init(long flags);
void curl_global_cleanup(void);
char *curl_version(void);
curl_version_info_data *curl_version_info(CURLversion);
const char *curl_easy_strerror(CURLcode);
const char *curl_multi_strerror(CURLMcode);

CURL *curl_easy_init(void);
void curl_easy_cleanup(CURL *curl);
CURLcode curl_easy_perform(CURL *curl);
CURL *curl_easy_duphandle(CURL *curl);
CURLcode curl_easy_send(CURL *curl, const void *buffer, size_t buflen, size_t *n);
CURLcode curl_easy_recv(CURL *curl, void *buffer, size_t buflen, size_t *n);
void curl_easy_reset(CURL *curl);
CURLcode curl_easy_pause(CURL *handle, int bitmask);

const struct curl_easyoption *curl_easy_option_by_name(const char *name);
const struct curl_easyoption *curl_easy_option_by_id(CURLoption id);
const struct curl_easyoption *curl_easy_option_next(const struct curl_easyoption *prev);

struct curl_slist *curl_slist_append(struct curl_slist *, const char *);
void curl_slist_free_all(struct curl_slist *);
