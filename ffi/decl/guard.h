/* The SSRF guard's checks in C (guard.c): the connect-time verdict of an
 * attached ssrf.Policy, without a crossing into Python for an allowed
 * address.  Python compiles each Policy into a pcb_guard_policy (the
 * same table, the same order of rules as ssrf.Policy._verdict) and installs
 * pcb_guard_opensocket / pcb_guard_prereq with a struct pcb_guard as their
 * clientp, owned by the Curl.  A refused (or unparsable) address goes on to
 * the Python trampoline (pcb_opensocket / pcb_prereq with the Curl's
 * clientp), which refuses it again, records the reason and fails closed. */

struct pcb_guard_rule {
    unsigned char v6;        /* 0: IPv4 (addr[0..3]), 1: IPv6 */
    unsigned char plen;      /* prefix length in bits */
    unsigned char kind;      /* 0: the policy's deny, 1: its allow, 2: the default table */
    unsigned char addr[16];  /* the network, network byte order */
};

struct pcb_guard_policy {
    int nrules;
    struct pcb_guard_rule *rules;
    int deny4;               /* the policy's deny has IPv4 rules (matched inside IPv6 forms) */
    int nports;              /* -1: any destination port */
    unsigned short *ports;
};

struct pcb_guard {
    void *clientp;           /* the Curl's clientp, for the Python trampolines */
    int blocked;             /* a route the policies forbid is set: refuse every address */
    int npolicies;
    struct pcb_guard_policy *policies;
};

/* 1 if the guard refuses connecting to ``addr`` (4 or 16 bytes of ``family``)
 * at ``port`` (-1: no port rule), else 0; any other family is refused. */
int pcb_guard_refuses(struct pcb_guard *g, int family, const unsigned char *addr, int port);
/* CURLOPT_OPENSOCKETFUNCTION / CURLOPT_PREREQFUNCTION (libcurl >= 7.80.0) with
 * a struct pcb_guard * as clientp. */
curl_socket_t pcb_guard_opensocket(void *clientp, curlsocktype purpose, struct curl_sockaddr *address);
int pcb_guard_prereq(void *clientp, char *conn_primary_ip, char *conn_local_ip,
                     int conn_primary_port, int conn_local_port);
