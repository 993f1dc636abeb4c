"""The callback table: one row per libcurl callback that pycurlcb binds.

This module is plain data, read twice:

* by ``build_ffi.py`` (executed as a file, before the package exists), which
  declares each row's ``extern "Python"`` trampoline from ``decl`` when the
  installed <curl/curl.h> is at least ``since``;
* by ``_callbacks/`` at import, which attaches each trampoline, gives the
  per-handle state objects one slot per ``attr``, and installs a row with
  ``setopt(option, trampoline)`` and ``setopt(data, clientp)``.

Adding a callback is one row here and one body in its family in ``_callbacks/``.

Columns:
  attr     the attribute of the owner's state holding the user's callable
  owner    "easy" (a Curl), "multi" (a CurlMulti) or "mime" (a CurlMimePart)
  option   the CURLOPT_/CURLMOPT_ name without prefix (None: installed by
           another call, e.g. curl_mime_data_cb)
  data     the option carrying the clientp (None: the trampoline gets no
           clientp through an option)
  decl     the trampoline, as a C declaration with libcurl's callback type
  clientp  the position of the clientp argument in ``decl``
  abort    what the trampoline returns when the user's callable raised: a
           name in the compiled module, or an int
  since    the first libcurl version (LIBCURL_VERSION_NUM) that has it
  after_failure  the trampoline still calls Python after a callback of the
           same transfer raised (closesocket must still close; the multi
           callbacks must still see POLL_REMOVE)
  default  the data option's value when the callback is removed: "stdout"
           or "stdin" where libcurl's default function uses it, else None
  halts    libcurl ignores what this callback returns: when it raised,
           perform() stops stepping libcurl at once (the transfer fails with
           E_ABORTED_BY_CALLBACK) instead of letting libcurl act on the abort
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Union


class Row(NamedTuple):
    attr: str
    owner: str
    option: Optional[str]
    data: Optional[str]
    decl: str
    clientp: int
    abort: Union[str, int]
    since: int = 0
    after_failure: bool = False
    default: Optional[str] = None
    halts: bool = False

    @property
    def trampoline(self) -> str:
        """The C name of the trampoline: the identifier before the '(' in decl."""
        return self.decl.split("(", 1)[0].split()[-1].lstrip("*")


ROWS = (
    # --- the easy interface (CURLOPT_*FUNCTION, curl_easy_setopt(3)) ------------
    Row("write", "easy", "WRITEFUNCTION", "WRITEDATA",
        "size_t pcb_write(char *ptr, size_t size, size_t nmemb, void *userdata)",
        3, "PCB_WRITEFUNC_ERROR", default="stdout"),
    Row("header", "easy", "HEADERFUNCTION", "HEADERDATA",
        "size_t pcb_header(char *ptr, size_t size, size_t nmemb, void *userdata)",
        3, "PCB_WRITEFUNC_ERROR"),
    Row("read", "easy", "READFUNCTION", "READDATA",
        "size_t pcb_read(char *buffer, size_t size, size_t nitems, void *userdata)",
        3, "CURL_READFUNC_ABORT", default="stdin"),
    Row("seek", "easy", "SEEKFUNCTION", "SEEKDATA",
        "int pcb_seek(void *userp, curl_off_t offset, int origin)",
        0, "CURL_SEEKFUNC_FAIL"),
    Row("ioctl", "easy", "IOCTLFUNCTION", "IOCTLDATA",
        "int pcb_ioctl(CURL *handle, int cmd, void *clientp)",
        2, "CURLIOE_FAILRESTART"),
    Row("progress", "easy", "PROGRESSFUNCTION", "PROGRESSDATA",
        "int pcb_progress(void *clientp, double dltotal, double dlnow, double ultotal, double ulnow)",
        0, 1),
    Row("xferinfo", "easy", "XFERINFOFUNCTION", "XFERINFODATA",
        "int pcb_xferinfo(void *clientp, curl_off_t dltotal, curl_off_t dlnow, "
        "curl_off_t ultotal, curl_off_t ulnow)",
        0, 1),
    Row("debug", "easy", "DEBUGFUNCTION", "DEBUGDATA",
        "int pcb_debug(CURL *handle, curl_infotype type, char *data, size_t size, void *userptr)",
        4, 0, halts=True),
    Row("opensocket", "easy", "OPENSOCKETFUNCTION", "OPENSOCKETDATA",
        "curl_socket_t pcb_opensocket(void *clientp, curlsocktype purpose, "
        "struct curl_sockaddr *address)",
        0, "CURL_SOCKET_BAD"),
    Row("sockopt", "easy", "SOCKOPTFUNCTION", "SOCKOPTDATA",
        "int pcb_sockopt(void *clientp, curl_socket_t curlfd, curlsocktype purpose)",
        0, "CURL_SOCKOPT_ERROR"),
    Row("closesocket", "easy", "CLOSESOCKETFUNCTION", "CLOSESOCKETDATA",
        "int pcb_closesocket(void *clientp, curl_socket_t item)",
        0, 1, after_failure=True),
    Row("ssh_key", "easy", "SSH_KEYFUNCTION", "SSH_KEYDATA",
        "int pcb_ssh_key(CURL *easy, const struct curl_khkey *knownkey, "
        "const struct curl_khkey *foundkey, int match, void *clientp)",
        4, "CURLKHSTAT_REJECT"),
    Row("ssh_hostkey", "easy", "SSH_HOSTKEYFUNCTION", "SSH_HOSTKEYDATA",
        "int pcb_ssh_hostkey(void *clientp, int keytype, const char *key, size_t keylen)",
        0, "CURLKHMATCH_MISMATCH", since=0x075400),
    Row("prereq", "easy", "PREREQFUNCTION", "PREREQDATA",
        "int pcb_prereq(void *clientp, char *conn_primary_ip, char *conn_local_ip, "
        "int conn_primary_port, int conn_local_port)",
        0, "CURL_PREREQFUNC_ABORT", since=0x075000),
    Row("fnmatch", "easy", "FNMATCH_FUNCTION", "FNMATCH_DATA",
        "int pcb_fnmatch(void *ptr, const char *pattern, const char *string)",
        0, "CURL_FNMATCHFUNC_FAIL"),
    Row("chunk_bgn", "easy", "CHUNK_BGN_FUNCTION", "CHUNK_DATA",
        "long pcb_chunk_bgn(const void *transfer_info, void *ptr, int remains)",
        1, "CURL_CHUNK_BGN_FUNC_FAIL"),
    Row("chunk_end", "easy", "CHUNK_END_FUNCTION", "CHUNK_DATA",
        "long pcb_chunk_end(void *ptr)",
        0, "CURL_CHUNK_END_FUNC_FAIL"),
    Row("resolver_start", "easy", "RESOLVER_START_FUNCTION", "RESOLVER_START_DATA",
        "int pcb_resolver_start(void *resolver_state, void *reserved, void *userdata)",
        2, 1),
    Row("trailer", "easy", "TRAILERFUNCTION", "TRAILERDATA",
        "int pcb_trailer(struct curl_slist **list, void *userdata)",
        1, "CURL_TRAILERFUNC_ABORT"),
    Row("hstsread", "easy", "HSTSREADFUNCTION", "HSTSREADDATA",
        "int pcb_hstsread(CURL *easy, struct curl_hstsentry *e, void *userp)",
        2, "CURLSTS_FAIL", since=0x074A00),
    Row("hstswrite", "easy", "HSTSWRITEFUNCTION", "HSTSWRITEDATA",
        "int pcb_hstswrite(CURL *easy, struct curl_hstsentry *e, struct curl_index *i, void *userp)",
        3, "CURLSTS_FAIL", since=0x074A00, after_failure=True),
    # --- the multi interface (CURLMOPT_*, curl_multi_setopt(3)) ---------------------
    Row("socket", "multi", "SOCKETFUNCTION", "SOCKETDATA",
        "int pcb_multi_socket(CURL *easy, curl_socket_t s, int what, void *clientp, void *socketp)",
        3, 0, after_failure=True),
    Row("timer", "multi", "TIMERFUNCTION", "TIMERDATA",
        "int pcb_multi_timer(CURLM *multi, long timeout_ms, void *clientp)",
        2, 0, after_failure=True),
    Row("notify", "multi", "NOTIFYFUNCTION", "NOTIFYDATA",
        "void pcb_multi_notify(CURLM *multi, unsigned int notification, CURL *easy, void *user_data)",
        3, 0, since=0x081100, after_failure=True),
    # --- MIME parts (curl_mime_data_cb(3)) ------------------------------------------
    Row("read", "mime", None, None,
        "size_t pcb_mime_read(char *buffer, size_t size, size_t nitems, void *arg)",
        3, "CURL_READFUNC_ABORT"),
    Row("seek", "mime", None, None,
        "int pcb_mime_seek(void *arg, curl_off_t offset, int origin)",
        0, "CURL_SEEKFUNC_FAIL"),
    Row("free", "mime", None, None,
        "void pcb_mime_free(void *arg)",
        0, 0, after_failure=True),
)


def rows_for(version: int) -> tuple[Row, ...]:
    """The rows a libcurl of ``version`` (LIBCURL_VERSION_NUM) has."""
    return tuple(r for r in ROWS if r.since <= version)
