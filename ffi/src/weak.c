/* libcurl functions that the 7.73.0 floor does not guarantee, referenced
 * weakly.  A wheel is built against the newest headers (8.x) and loaded on
 * any libcurl.so.4 from 7.73.0 on: CPython loads the module with RTLD_NOW, so
 * a strong reference to a function the loaded libcurl lacks would make
 * `import pycurlcb` fail.  A weak one resolves to NULL instead; every caller
 * checks pcb_has_function() (pycurlcb/_ffi.py's FUNCTIONS table) first.
 *
 * The 7.62 .. 7.73 functions are weak too, so that a libcurl older than the
 * floor (RHEL 8's 7.61.1, Debian 10's 7.64.0) gets pycurlcb's own ImportError
 * naming 7.73.0 instead of the loader's "undefined symbol".  A function the
 * headers do not declare is left out (an sdist built against older headers). */
#include <curl/curl.h>
#include <string.h>

#pragma weak curl_url
#pragma weak curl_url_cleanup
#pragma weak curl_url_dup
#pragma weak curl_url_get
#pragma weak curl_url_set
#pragma weak curl_multi_poll
#pragma weak curl_multi_wakeup
#pragma weak curl_easy_option_by_name
#pragma weak curl_easy_option_by_id
#pragma weak curl_easy_option_next
#if LIBCURL_VERSION_NUM >= 0x075000
#pragma weak curl_url_strerror
#endif
#if LIBCURL_VERSION_NUM >= 0x075600
#pragma weak curl_ws_recv
#pragma weak curl_ws_send
#pragma weak curl_ws_meta
#endif
#if LIBCURL_VERSION_NUM >= 0x081100
#pragma weak curl_multi_notify_enable
#pragma weak curl_multi_notify_disable
#endif

struct pcb_weak { const char *name; int present; };

static int pcb_has_function(const char *name)
{
    /* Addresses of weak symbols are link-time unknowns: compare at run time. */
    const struct pcb_weak table[] = {
        {"curl_url", curl_url != NULL},
        {"curl_multi_poll", curl_multi_poll != NULL},
        {"curl_multi_wakeup", curl_multi_wakeup != NULL},
        {"curl_easy_option_next", curl_easy_option_next != NULL},
#if LIBCURL_VERSION_NUM >= 0x075000
        {"curl_url_strerror", curl_url_strerror != NULL},
#endif
#if LIBCURL_VERSION_NUM >= 0x075600
        {"curl_ws_recv", curl_ws_recv != NULL && curl_ws_send != NULL && curl_ws_meta != NULL},
#endif
#if LIBCURL_VERSION_NUM >= 0x081100
        {"curl_multi_notify_enable",
         curl_multi_notify_enable != NULL && curl_multi_notify_disable != NULL},
#endif
    };
    size_t i;
    for(i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if(!strcmp(table[i].name, name))
            return table[i].present;
    return 0;  /* not declared by the headers this module was built against */
}
