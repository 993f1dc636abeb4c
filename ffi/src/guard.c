/* The SSRF guard's connect-time checks (guard.h). */
#include <curl/curl.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* As declared in guard.h (the cdef), which this source does not include. */
struct pcb_guard_rule {
    unsigned char v6;
    unsigned char plen;
    unsigned char kind;
    unsigned char addr[16];
};

struct pcb_guard_policy {
    int nrules;
    struct pcb_guard_rule *rules;
    int deny4;
    int nports;
    unsigned short *ports;
};

struct pcb_guard {
    void *clientp;
    int blocked;
    int npolicies;
    struct pcb_guard_policy *policies;
};

/* extern "Python" (the callback table): cffi defines them after this source. */
static curl_socket_t pcb_opensocket(void *clientp, curlsocktype purpose, struct curl_sockaddr *address);
#if LIBCURL_VERSION_NUM >= 0x075000
static int pcb_prereq(void *clientp, char *conn_primary_ip, char *conn_local_ip,
                      int conn_primary_port, int conn_local_port);
#endif

static int pcb_guard_prefix(const unsigned char *a, const unsigned char *net, int plen)
{
    int full = plen / 8, rest = plen % 8;
    if(memcmp(a, net, (size_t)full))
        return 0;
    if(rest) {
        unsigned char mask = (unsigned char)(0xFF << (8 - rest));
        if((a[full] & mask) != (net[full] & mask))
            return 0;
    }
    return 1;
}

static int pcb_guard_match(const struct pcb_guard_policy *p, int kind, int v6, const unsigned char *a)
{
    int i;
    for(i = 0; i < p->nrules; i++) {
        const struct pcb_guard_rule *r = &p->rules[i];
        if(r->kind == kind && r->v6 == v6 && pcb_guard_prefix(a, r->addr, r->plen))
            return 1;
    }
    return 0;
}

/* The IPv4 addresses an IPv6 address carries (ssrf._embedded_ipv4): their count. */
static int pcb_guard_embedded(const unsigned char *a, unsigned char out[2][4])
{
    static const unsigned char zero[12] = {0};
    static const unsigned char nat64[12] = {0x00, 0x64, 0xff, 0x9b};
    static const unsigned char nat64l[6] = {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01};
    int i;
    if((!memcmp(a, zero, 10) && a[10] == 0xff && a[11] == 0xff)       /* ::ffff:0:0/96 */
       || !memcmp(a, zero, 12)                                        /* ::/96 */
       || (!memcmp(a, zero, 8) && a[8] == 0xff && a[9] == 0xff && !a[10] && !a[11])
       || !memcmp(a, nat64, 12)) {                                    /* 64:ff9b::/96 */
        memcpy(out[0], a + 12, 4);
        return 1;
    }
    if(!memcmp(a, nat64l, 6)) {                                       /* 64:ff9b:1::/48 */
        out[0][0] = a[6]; out[0][1] = a[7]; out[0][2] = a[9]; out[0][3] = a[10];
        return 1;
    }
    if(a[0] == 0x20 && a[1] == 0x02) {                                /* 6to4 */
        memcpy(out[0], a + 2, 4);
        return 1;
    }
    if(a[0] == 0x20 && a[1] == 0x01 && !a[2] && !a[3]) {              /* Teredo */
        memcpy(out[0], a + 4, 4);
        for(i = 0; i < 4; i++)
            out[1][i] = (unsigned char)~a[12 + i];
        return 2;
    }
    return 0;
}

/* ssrf.Policy._verdict: 1 refused, 0 allowed. */
static int pcb_guard_policy_refuses(const struct pcb_guard_policy *p, int v6, const unsigned char *a,
                                    int port)
{
    int i, n;
    unsigned char inner[2][4];
    if(pcb_guard_match(p, 0, v6, a))
        return 1;
    if(v6 && p->deny4) {
        n = pcb_guard_embedded(a, inner);
        for(i = 0; i < n; i++)
            if(pcb_guard_match(p, 0, 0, inner[i]))
                return 1;
    }
    if(!pcb_guard_match(p, 1, v6, a)) {
        if(pcb_guard_match(p, 2, v6, a))
            return 1;
        if(v6 && (a[0] >> 5) != 1)   /* outside 2000::/3 */
            return 1;
    }
    if(port >= 0 && p->nports >= 0) {
        for(i = 0; i < p->nports; i++)
            if(p->ports[i] == port)
                return 0;
        return 1;
    }
    return 0;
}

int pcb_guard_refuses(struct pcb_guard *g, int family, const unsigned char *addr, int port)
{
    int i, v6;
    if(g->blocked || (family != AF_INET && family != AF_INET6))
        return 1;
    v6 = family == AF_INET6;
    for(i = 0; i < g->npolicies; i++)
        if(pcb_guard_policy_refuses(&g->policies[i], v6, addr, port))
            return 1;
    return 0;
}

curl_socket_t pcb_guard_opensocket(void *clientp, curlsocktype purpose, struct curl_sockaddr *address)
{
    struct pcb_guard *g = (struct pcb_guard *)clientp;
    const unsigned char *a = NULL;
    int port = -1;
    if(address->family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(void *)&address->addr;
        a = (const unsigned char *)&sin->sin_addr;
        port = ntohs(sin->sin_port);
    }
    else if(address->family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(void *)&address->addr;
        a = (const unsigned char *)&sin6->sin6_addr;
        port = ntohs(sin6->sin6_port);
    }
    /* Port 0 is a socket libcurl binds and listens on (FTP active mode), not a
     * connection: allowed unless a route is blocked (ssrf.Guard.refuse). */
    if(a && !g->blocked && (port == 0 || !pcb_guard_refuses(g, address->family, a, port)))
        return socket(address->family, address->socktype, address->protocol);
    return pcb_opensocket(g->clientp, purpose, address);  /* records the refusal */
}

int pcb_guard_prereq(void *clientp, char *conn_primary_ip, char *conn_local_ip,
                     int conn_primary_port, int conn_local_port)
{
#if LIBCURL_VERSION_NUM >= 0x075000
    struct pcb_guard *g = (struct pcb_guard *)clientp;
    unsigned char a[16];
    if(conn_primary_ip && !g->blocked) {
        if(inet_pton(AF_INET, conn_primary_ip, a) == 1) {
            if(!pcb_guard_refuses(g, AF_INET, a, conn_primary_port))
                return CURL_PREREQFUNC_OK;
        }
        else if(inet_pton(AF_INET6, conn_primary_ip, a) == 1) {
            if(!pcb_guard_refuses(g, AF_INET6, a, conn_primary_port))
                return CURL_PREREQFUNC_OK;
        }
    }
    return pcb_prereq(g->clientp, conn_primary_ip, conn_local_ip, conn_primary_port,
                      conn_local_port);  /* records the refusal */
#else
    (void)clientp; (void)conn_primary_ip; (void)conn_local_ip;
    (void)conn_primary_port; (void)conn_local_port;
    return 0;  /* never installed: this header has no PREREQFUNCTION */
#endif
}
