/* HSTS (libcurl 7.74.0): CURLOPT_HSTSREADFUNCTION(3) and CURLOPT_HSTSWRITEFUNCTION(3). */

struct curl_hstsentry {
    char *name;
    size_t namelen;
    unsigned int includeSubDomains:1;
    char expire[18];
};

struct curl_index { size_t index; size_t total; };
