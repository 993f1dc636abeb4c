/* Types from <curl/curl.h>, <curl/multi.h>, <curl/options.h> and the socket
 * headers.  Sizes and field offsets come from the compiler (cffi API mode):
 * "int..." is "some integer type", "...;" is "more fields may follow". */

typedef int... curl_off_t;
typedef int... curl_socket_t;
typedef int... CURLcode;
typedef int... CURLoption;
typedef int... CURLINFO;
typedef int... curl_easytype;
typedef int... curlsocktype;
typedef int... curl_infotype;
typedef int... CURLMcode;
typedef int... CURLMoption;
typedef int... CURLMSG;
typedef int... CURLversion;
typedef int... CURLSHcode;
typedef int... CURLSHoption;
typedef int... curlfiletype;
typedef int... sa_family_t;

typedef void CURL;
typedef void CURLM;

struct sockaddr { sa_family_t sa_family; ...; };
struct in_addr { ...; };
struct in6_addr { ...; };
struct sockaddr_in {
    sa_family_t sin_family;
    uint16_t sin_port;
    struct in_addr sin_addr;
    ...;
};
struct sockaddr_in6 {
    sa_family_t sin6_family;
    uint16_t sin6_port;
    uint32_t sin6_flowinfo;
    struct in6_addr sin6_addr;
    uint32_t sin6_scope_id;
    ...;
};
struct sockaddr_un { sa_family_t sun_family; char sun_path[...]; ...; };

struct curl_sockaddr {
    int family;
    int socktype;
    int protocol;
    unsigned int addrlen;
    struct sockaddr addr;
    ...;
};

struct curl_slist { char *data; struct curl_slist *next; };

struct curl_blob { void *data; size_t len; unsigned int flags; };

struct curl_easyoption {
    const char *name;
    CURLoption id;
    curl_easytype type;
    unsigned int flags;
};

/* SSH_KEYFUNCTION's keys; keytype (an enum) is read through pcb_khkey_type(). */
struct curl_khkey { const char *key; size_t len; ...; };

/* CHUNK_BGN_FUNCTION's transfer_info (FTP wildcard matching). */
struct curl_fileinfo {
    char *filename;
    curlfiletype filetype;
    unsigned int perm;
    int uid;
    int gid;
    curl_off_t size;
    long int hardlinks;
    unsigned int flags;
    ...;
};

struct curl_certinfo { int num_of_certs; struct curl_slist **certinfo; };

typedef struct {
    CURLversion age;
    const char *version;
    unsigned int version_num;
    const char *host;
    int features;
    const char *ssl_version;
    long ssl_version_num;
    const char *libz_version;
    const char * const *protocols;
    const char *ares;
    int ares_num;
    const char *libidn;
    int iconv_ver_num;
    const char *libssh_version;
    unsigned int brotli_ver_num;
    const char *brotli_version;
    ...;
} curl_version_info_data;

typedef struct {
    CURLMSG msg;
    CURL *easy_handle;
    union { void *whatever; CURLcode result; } data;
} CURLMsg;

/* The size of CURLOPT_ERRORBUFFER. */
#define CURL_ERROR_SIZE ...
