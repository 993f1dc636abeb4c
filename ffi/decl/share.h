/* libcurl's share interface (curl/curl.h: curl_share_*). */

const char *curl_share_strerror(CURLSHcode);
