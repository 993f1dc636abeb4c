/* Typed shims (implemented in shim.c): no variadic libcurl function is ever
 * called from Python, so every value reaches libcurl with its real C type. */

CURLcode pcb_easy_setopt_long(CURL *h, CURLoption option, long value);
CURLcode pcb_easy_setopt_off_t(CURL *h, CURLoption option, curl_off_t value);
CURLcode pcb_easy_setopt_ptr(CURL *h, CURLoption option, const void *value);
/* A callback option: `fn` is a trampoline (lib.pcb_*) cast to pcb_fn, or NULL. */
typedef void (*pcb_fn)(void);
CURLcode pcb_easy_setopt_fn(CURL *h, CURLoption option, pcb_fn fn);
/* libcurl's defaults for WRITEDATA and READDATA, used by its fwrite/fread. */
void *pcb_stdout(void);
void *pcb_stdin(void);

CURLcode pcb_easy_getinfo_long(CURL *h, CURLINFO info, long *out);
CURLcode pcb_easy_getinfo_double(CURL *h, CURLINFO info, double *out);
CURLcode pcb_easy_getinfo_off_t(CURL *h, CURLINFO info, curl_off_t *out);
CURLcode pcb_easy_getinfo_ptr(CURL *h, CURLINFO info, void **out);
CURLcode pcb_easy_getinfo_socket(CURL *h, CURLINFO info, curl_socket_t *out);

/* A scalar info's value; its CURLcode is left in e->info_rc (handles.c). */
long pcb_info_long(struct pcb_easy *e, CURLINFO info);
double pcb_info_double(struct pcb_easy *e, CURLINFO info);
curl_off_t pcb_info_off_t(struct pcb_easy *e, CURLINFO info);
curl_socket_t pcb_info_socket(struct pcb_easy *e, CURLINFO info);

CURLMcode pcb_multi_setopt_long(CURLM *m, CURLMoption option, long value);
CURLMcode pcb_multi_setopt_off_t(CURLM *m, CURLMoption option, curl_off_t value);
CURLMcode pcb_multi_setopt_ptr(CURLM *m, CURLMoption option, const void *value);
CURLMcode pcb_multi_setopt_fn(CURLM *m, CURLMoption option, pcb_fn fn);

/* The default socket behaviour, for the trampolines when no Python callable
 * is set: socket(2) and close(2), without a Python socket object. */
int pcb_socket(int family, int socktype, int protocol);
int pcb_close(int fd);

/* struct curl_khkey's keytype (an enum curl_khtype), as an int. */
int pcb_khkey_type(const struct curl_khkey *key);

/* 1 if the loaded libcurl has the function `name` (one of weak.c's table:
 * "curl_url_strerror", "curl_ws_recv" for the three curl_ws_* functions,
 * "curl_multi_notify_enable" for both notify functions ...); 0 if it lacks it
 * or the headers this module was built against do not declare it. */
int pcb_has_function(const char *name);

/* curl_url_strerror(3) where libcurl has it (7.80.0), else NULL. */
const char *pcb_url_strerror(int code);

/* The value a write/header callback returns to make libcurl fail the
 * transfer: CURL_WRITEFUNC_ERROR where the header has it, else 0xFFFFFFFF,
 * which is never equal to the size handed over. */
#define PCB_WRITEFUNC_ERROR ...

/* curl_multi_fdset(3) flattened: the fds set in each fd_set are written to
 * rfds/wfds/efds (each `cap` ints long) and counted in *nr, *nw, *ne. */
CURLMcode pcb_multi_fdset(CURLM *m, int *rfds, int *wfds, int *efds, int cap,
                          int *nr, int *nw, int *ne);
#define PCB_FD_SETSIZE ...

/* One step of a blocking transfer of e on its private multi handle
 * (pcb_easy_perform_multi), as libcurl's own curl_easy_perform() loops
 * (lib/easy.c easy_transfer).  e->state: 0 = not added yet (the step adds
 * it), 1 = running, 2 = done (the step has read its CURLcode into e->result;
 * the handle stays added until pcb_easy_leave_perform()).  A step waits in curl_multi_poll() for at most timeout_ms,
 * then calls curl_multi_perform(); returning to Python between steps lets
 * signal handlers (Ctrl-C) run. */
CURLMcode pcb_perform_step(struct pcb_easy *e, int timeout_ms);
/* Take e out of its private multi after a transfer (state back to 0). */
void pcb_easy_leave_perform(struct pcb_easy *e);
/* e's private multi handle for perform(), made on first use; NULL on failure. */
CURLM *pcb_easy_perform_multi(struct pcb_easy *e);
