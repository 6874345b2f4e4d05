/*
 * net_slirp.c - network options and the libslirp back end (see net_slirp.h).
 */
#include "frontend/net_slirp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <slirp/libslirp.h>

/* ---------------- options ---------------- */

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int parse_mac(const char *s, uint8_t mac[6]) {
    unsigned b[6];
    char end;
    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6)
        return -1;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)b[i];
    return mac[0] & 1 ? -1 : 0; /* a card's own address is never multicast */
}

static int parse_ip(const char *s, uint32_t *out) {
    struct in_addr a;
    if (inet_pton(AF_INET, s, &a) != 1) return -1;
    *out = ntohl(a.s_addr);
    return 0;
}

/* ADDR/BITS or ADDR/MASK, or ADDR alone (/24). */
static int parse_net(const char *s, uint32_t *net, uint32_t *mask) {
    char buf[64];
    snprintf(buf, sizeof buf, "%s", s);
    char *slash = strchr(buf, '/');
    *mask = 0xFFFFFF00u;
    if (slash) {
        *slash++ = 0;
        char *end;
        long bits = strtol(slash, &end, 10);
        if (*end == 0 && end != slash) {
            if (bits < 1 || bits > 30) return -1;
            *mask = 0xFFFFFFFFu << (32 - bits);
        } else if (parse_ip(slash, mask) < 0) {
            return -1;
        }
    }
    if (parse_ip(buf, net) < 0) return -1;
    *net &= *mask;
    return 0;
}

static char *dupstr(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* A user netdev's own suboption; 1 if it was one, 0 if not, -1 if bad. */
static int user_option(NetConfig *nc, const char *key, const char *v, char *err, size_t errlen) {
    if (strcmp(key, "net") == 0) {
        if (parse_net(v, &nc->net, &nc->mask) < 0)
            return fail(err, errlen, "net=%s: expected ADDR/BITS or ADDR/MASK", v);
    } else if (strcmp(key, "host") == 0 || strcmp(key, "dhcpstart") == 0) {
        uint32_t a;
        if (parse_ip(v, &a) < 0) return fail(err, errlen, "%s=%s: not an IPv4 address", key, v);
        *(key[0] == 'h' ? &nc->host : &nc->dhcp_start) = a;
    } else if (strcmp(key, "restrict") == 0) {
        if (strcmp(v, "on") == 0 || strcmp(v, "yes") == 0)
            nc->restrict_on = true;
        else if (strcmp(v, "off") == 0 || strcmp(v, "no") == 0)
            nc->restrict_on = false;
        else
            return fail(err, errlen, "restrict=%s: expected on or off", v);
    } else if (strcmp(key, "tftp") == 0) {
        free(nc->tftp);
        nc->tftp = dupstr(v);
    } else if (strcmp(key, "bootfile") == 0) {
        free(nc->bootfile);
        nc->bootfile = dupstr(v);
    } else if (strcmp(key, "hostfwd") == 0) {
        if (nc->nhostfwd >= NET_MAX_HOSTFWD)
            return fail(err, errlen, "more than %d hostfwd rules", NET_MAX_HOSTFWD);
        nc->hostfwd[nc->nhostfwd++] = dupstr(v);
    } else {
        return 0;
    }
    return 1;
}

/* Walk "a=b,c=d" after the first item; each key=value goes to fn. */
typedef int (*ItemFn)(NetConfig *nc, const char *key, const char *val, char *err, size_t errlen);

static int for_items(NetConfig *nc, const char *what, const char *spec, ItemFn fn, char *err,
                     size_t errlen) {
    const char *p = spec;
    while (*p) {
        size_t len = strcspn(p, ",");
        char item[512];
        if (len >= sizeof item) return fail(err, errlen, "%s: option too long", what);
        memcpy(item, p, len);
        item[len] = 0;
        char *eq = strchr(item, '=');
        if (!eq) return fail(err, errlen, "%s: '%s' is not KEY=VALUE", what, item);
        *eq = 0;
        char sub[256];
        if (fn(nc, item, eq + 1, sub, sizeof sub) < 0)
            return fail(err, errlen, "%s: %s", what, sub);
        p += len;
        if (*p == ',') p++;
    }
    return 0;
}

static int netdev_item(NetConfig *nc, const char *key, const char *v, char *err, size_t errlen) {
    if (strcmp(key, "id") == 0) {
        snprintf(nc->netdev_id, sizeof nc->netdev_id, "%s", v);
        return 0;
    }
    int r = user_option(nc, key, v, err, errlen);
    if (r == 0)
        return fail(err, errlen,
                    "unknown option '%s' (id, net, host, dhcpstart, hostfwd, tftp, bootfile, "
                    "restrict)",
                    key);
    return r < 0 ? -1 : 0;
}

static int device_item(NetConfig *nc, const char *key, const char *v, char *err, size_t errlen) {
    if (strcmp(key, "netdev") == 0) {
        snprintf(nc->nic_netdev, sizeof nc->nic_netdev, "%s", v);
    } else if (strcmp(key, "mac") == 0) {
        if (parse_mac(v, nc->mac) < 0)
            return fail(err, errlen, "mac=%s: expected a unicast address like 52:54:00:12:34:56",
                        v);
    } else if (strcmp(key, "romfile") == 0) {
        free(nc->romfile);
        nc->romfile = dupstr(v);
    } else if (strcmp(key, "id") != 0) {
        return fail(err, errlen, "unknown option '%s' (netdev, mac, romfile, id)", key);
    }
    return 0;
}

static int nic_item(NetConfig *nc, const char *key, const char *v, char *err, size_t errlen) {
    if (strcmp(key, "model") == 0) {
        if (strcmp(v, "e1000") != 0 && strcmp(v, "virtio-net-pci") != 0)
            return fail(err, errlen, "model=%s: bt86 has e1000 and virtio-net-pci", v);
        nc->virtio = strcmp(v, "virtio-net-pci") == 0;
        return 0;
    }
    if (strcmp(key, "mac") == 0 || strcmp(key, "romfile") == 0)
        return device_item(nc, key, v, err, errlen);
    if (strcmp(key, "id") == 0) { /* names the netdev (for -object filter-dump) */
        snprintf(nc->netdev_id, sizeof nc->netdev_id, "%s", v);
        snprintf(nc->nic_netdev, sizeof nc->nic_netdev, "%s", v);
        return 0;
    }
    int r = user_option(nc, key, v, err, errlen);
    if (r == 0)
        return fail(err, errlen,
                    "unknown option '%s' (model, mac, romfile, net, host, dhcpstart, hostfwd, "
                    "tftp, bootfile, restrict)",
                    key);
    return r < 0 ? -1 : 0;
}

static int dump_item(NetConfig *nc, const char *key, const char *v, char *err, size_t errlen) {
    if (strcmp(key, "netdev") == 0) {
        snprintf(nc->dump_netdev, sizeof nc->dump_netdev, "%s", v);
    } else if (strcmp(key, "file") == 0) {
        free(nc->dump_file);
        nc->dump_file = dupstr(v);
    } else if (strcmp(key, "id") != 0) {
        return fail(err, errlen, "unknown option '%s' (id, netdev, file)", key);
    }
    return 0;
}

/* The first comma-separated item of spec, and the rest. */
static const char *first_item(const char *spec, char *out, size_t outlen) {
    size_t len = strcspn(spec, ",");
    snprintf(out, outlen, "%.*s", (int)len, spec);
    return spec[len] == ',' ? spec + len + 1 : spec + len;
}

int net_config_option(NetConfig *nc, const char *opt, const char *val, char *err, size_t errlen) {
    char kind[64];
    const char *rest = first_item(val, kind, sizeof kind);
    if (strcmp(opt, "-netdev") == 0) {
        if (strcmp(kind, "user") != 0)
            return fail(err, errlen, "-netdev: unknown type '%s' (bt86 has user)", kind);
        if (nc->netdev) return fail(err, errlen, "-netdev: bt86 has one network back end");
        nc->netdev = true;
        if (for_items(nc, "-netdev user", rest, netdev_item, err, errlen) < 0) return -1;
        if (!nc->netdev_id[0]) return fail(err, errlen, "-netdev user: needs id=ID");
        return 0;
    }
    if (strcmp(opt, "-device") == 0) {
        bool virtio = strcmp(kind, "virtio-net-pci") == 0;
        if (strcmp(kind, "e1000") != 0 && !virtio)
            return fail(err, errlen,
                        "-device: unknown device '%s' (bt86 has e1000, virtio-net-pci, "
                        "virtio-blk-pci, virtio-rng-pci, virtio-serial-pci, virtconsole)",
                        kind);
        if (nc->nic_explicit)
            return fail(err, errlen, "-device %s: bt86 has one network card", kind);
        nc->nic = nc->nic_explicit = true;
        nc->virtio = virtio;
        return for_items(nc, virtio ? "-device virtio-net-pci" : "-device e1000", rest, device_item,
                         err, errlen);
    }
    if (strcmp(opt, "-nic") == 0) {
        if (strcmp(kind, "none") == 0) {
            if (*rest) return fail(err, errlen, "-nic none takes no options");
            nc->nic_none = true;
            return 0;
        }
        if (strcmp(kind, "user") != 0)
            return fail(err, errlen, "-nic: unknown type '%s' (user, none)", kind);
        if (nc->nic_explicit || nc->netdev)
            return fail(err, errlen, "-nic: bt86 has one network card and back end");
        nc->nic = nc->nic_explicit = nc->netdev = true;
        snprintf(nc->netdev_id, sizeof nc->netdev_id, "%s", "nic0");
        snprintf(nc->nic_netdev, sizeof nc->nic_netdev, "%s", "nic0");
        return for_items(nc, "-nic user", rest, nic_item, err, errlen);
    }
    if (strcmp(opt, "-object") == 0) {
        if (strcmp(kind, "filter-dump") != 0)
            return fail(err, errlen, "-object: unknown type '%s' (bt86 has filter-dump)", kind);
        if (nc->dump_file) return fail(err, errlen, "-object filter-dump: only one");
        if (for_items(nc, "-object filter-dump", rest, dump_item, err, errlen) < 0) return -1;
        if (!nc->dump_file || !nc->dump_netdev[0])
            return fail(err, errlen, "-object filter-dump: needs netdev=ID and file=FILE");
        return 0;
    }
    return fail(err, errlen, "%s: not a network option", opt);
}

int net_config_finish(NetConfig *nc, bool deterministic, const char *refuse, char *err,
                      size_t errlen) {
    static const uint8_t default_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    bool any = nc->nic_explicit || nc->netdev || nc->dump_file;
    if (nc->nic_none && any) return fail(err, errlen, "-nic none with other network options");
    if (any && refuse) return fail(err, errlen, "networking %s", refuse);
    if (!any && !nc->nic_none && !deterministic) {
        /* QEMU's default: an e1000 on user networking. */
        nc->nic = nc->netdev = true;
        snprintf(nc->netdev_id, sizeof nc->netdev_id, "%s", "nic0");
        snprintf(nc->nic_netdev, sizeof nc->nic_netdev, "%s", "nic0");
    }
    if (nc->nic) {
        static const uint8_t zero[6];
        if (memcmp(nc->mac, zero, 6) == 0) memcpy(nc->mac, default_mac, 6);
    }
    if (nc->nic_netdev[0] && (!nc->netdev || strcmp(nc->nic_netdev, nc->netdev_id) != 0))
        return fail(err, errlen, "-device e1000: no -netdev with id=%s", nc->nic_netdev);
    if (nc->dump_file && (!nc->netdev || strcmp(nc->dump_netdev, nc->netdev_id) != 0))
        return fail(err, errlen, "-object filter-dump: no -netdev with id=%s", nc->dump_netdev);
    if (nc->netdev && !nc->nic)
        return fail(err, errlen,
                    "-netdev %s: no network card uses it (add -device e1000,netdev=%s)",
                    nc->netdev_id, nc->netdev_id);
    return 0;
}

void net_config_free(NetConfig *nc) {
    free(nc->tftp);
    free(nc->bootfile);
    free(nc->dump_file);
    free(nc->romfile);
    for (int i = 0; i < nc->nhostfwd; i++)
        free(nc->hostfwd[i]);
    memset(nc, 0, sizeof *nc);
}

/* ---------------- the back end ---------------- */

typedef struct NetTimer {
    SlirpTimerCb cb;
    void *cb_opaque;
    int64_t expire_ms; /* -1: not armed */
    struct NetTimer *next;
} NetTimer;

#define MAX_POLLFDS 256

struct NetBackend {
    Slirp *slirp;
    NetPort port;
    bool connected; /* a netdev is on the cable (else frames are dropped) */
    bool restrict_on;
    uint32_t host, net, mask; /* host byte order */
    FILE *dump;
    NetTimer *timers;
    struct pollfd fds[MAX_POLLFDS];
    int nfds;
};

static int64_t host_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void dump_frame(NetBackend *be, const uint8_t *frame, size_t len) {
    if (!be->dump) return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    uint32_t rec[4] = {(uint32_t)tv.tv_sec, (uint32_t)tv.tv_usec, (uint32_t)len, (uint32_t)len};
    fwrite(rec, sizeof rec, 1, be->dump);
    fwrite(frame, 1, len, be->dump);
    fflush(be->dump);
}

/* slirp -> the card. */
static ssize_t slirp_send_packet(const void *buf, size_t len, void *opaque) {
    NetBackend *be = opaque;
    dump_frame(be, buf, len);
    net_port_receive(&be->port, buf, len);
    return (ssize_t)len;
}

/* restrict=on: only ARP, IPv4 to the host address or broadcast, and
 * ICMPv6 to link-local and link-local multicast addresses (neighbour and
 * router discovery, which slirp answers itself). */
static bool restrict_allows(const NetBackend *be, const uint8_t *f, size_t len) {
    if (len < 14) return false;
    unsigned type = (unsigned)f[12] << 8 | f[13];
    if (type == 0x0806) return true; /* ARP */
    if (type == 0x86DD)
        return len >= 54 && f[20] == 58 &&
               ((f[38] == 0xFF && f[39] == 0x02) || (f[38] == 0xFE && (f[39] & 0xC0) == 0x80));
    if (type != 0x0800 || len < 34) return false;
    uint32_t dst = (uint32_t)f[30] << 24 | (uint32_t)f[31] << 16 | (uint32_t)f[32] << 8 | f[33];
    return dst == be->host || dst == 0xFFFFFFFFu || dst == (be->net | ~be->mask);
}

/* The card -> slirp. */
static void card_transmit(void *opaque, const uint8_t *frame, size_t len) {
    NetBackend *be = opaque;
    dump_frame(be, frame, len);
    if (!be->connected) return;
    if (be->restrict_on && !restrict_allows(be, frame, len)) return;
    slirp_input(be->slirp, frame, (int)len);
}

static void cb_guest_error(const char *msg, void *opaque) {
    (void)opaque;
    fprintf(stderr, "bt86: user network: %s\n", msg);
}

static int64_t cb_clock_ns(void *opaque) {
    (void)opaque;
    return host_ns();
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque) {
    NetBackend *be = opaque;
    NetTimer *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->cb = cb;
    t->cb_opaque = cb_opaque;
    t->expire_ms = -1;
    t->next = be->timers;
    be->timers = t;
    return t;
}

static void cb_timer_free(void *timer, void *opaque) {
    NetBackend *be = opaque;
    for (NetTimer **p = &be->timers; *p; p = &(*p)->next)
        if (*p == timer) {
            *p = ((NetTimer *)timer)->next;
            free(timer);
            return;
        }
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque) {
    (void)opaque;
    ((NetTimer *)timer)->expire_ms = expire_ms;
}

static void cb_register_fd(int fd, void *opaque) {
    (void)fd;
    (void)opaque;
}

static void cb_notify(void *opaque) {
    (void)opaque;
}

static const SlirpCb slirp_callbacks = {
    .send_packet = slirp_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_ns,
    .timer_new = cb_timer_new,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_fd,
    .unregister_poll_fd = cb_register_fd,
    .notify = cb_notify,
};

/* hostfwd=tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT */
static int add_hostfwd(NetBackend *be, const char *rule, uint32_t guest_default, char *err,
                       size_t errlen) {
    char buf[256], haddr[64] = "", gaddr[64] = "";
    snprintf(buf, sizeof buf, "%s", rule);
    int udp;
    char *p = buf;
    if (strncmp(p, "tcp:", 4) == 0)
        udp = 0, p += 4;
    else if (strncmp(p, "udp:", 4) == 0)
        udp = 1, p += 4;
    else if (*p == ':')
        udp = 0, p += 1; /* QEMU: the protocol may be left out (tcp) */
    else
        return fail(err, errlen, "hostfwd=%s: expected tcp: or udp:", rule);
    char *dash = strchr(p, '-');
    if (!dash) return fail(err, errlen, "hostfwd=%s: expected HOST-GUEST", rule);
    *dash = 0;
    char *hcolon = strrchr(p, ':'), *g = dash + 1, *gcolon = strrchr(g, ':');
    if (!hcolon || !gcolon) return fail(err, errlen, "hostfwd=%s: expected ADDR:PORT", rule);
    snprintf(haddr, sizeof haddr, "%.*s", (int)(hcolon - p), p);
    snprintf(gaddr, sizeof gaddr, "%.*s", (int)(gcolon - g), g);
    char *e1, *e2;
    long hport = strtol(hcolon + 1, &e1, 10), gport = strtol(gcolon + 1, &e2, 10);
    if (*e1 || *e2 || e1 == hcolon + 1 || e2 == gcolon + 1 || hport < 0 || hport > 65535 ||
        gport < 1 || gport > 65535)
        return fail(err, errlen, "hostfwd=%s: bad port", rule);
    uint32_t h = INADDR_ANY, gst = guest_default;
    if (haddr[0] && parse_ip(haddr, &h) < 0)
        return fail(err, errlen, "hostfwd=%s: bad host address '%s'", rule, haddr);
    if (gaddr[0] && parse_ip(gaddr, &gst) < 0)
        return fail(err, errlen, "hostfwd=%s: bad guest address '%s'", rule, gaddr);
    struct in_addr ha = {htonl(h)}, ga = {htonl(gst)};
    if (slirp_add_hostfwd(be->slirp, udp, ha, (int)hport, ga, (int)gport) < 0)
        return fail(err, errlen, "hostfwd=%s: cannot listen on the host port (%s)", rule,
                    strerror(errno));
    return 0;
}

NetBackend *net_start(const NetConfig *nc, char *err, size_t errlen) {
    NetBackend *be = calloc(1, sizeof *be);
    if (!be) {
        fail(err, errlen, "out of memory");
        return NULL;
    }
    be->port.transmit = card_transmit;
    be->port.backend = be;
    be->connected = nc->netdev;
    if (nc->dump_file) {
        be->dump = fopen(nc->dump_file, "wb");
        if (!be->dump) {
            fail(err, errlen, "filter-dump: cannot create %s: %s", nc->dump_file, strerror(errno));
            free(be);
            return NULL;
        }
        /* pcap: magic, version 2.4, GMT offset, accuracy, snap length, Ethernet. */
        uint32_t hdr[6] = {0xA1B2C3D4u, 0x00040002u, 0, 0, 65535, 1};
        fwrite(hdr, sizeof hdr, 1, be->dump);
        fflush(be->dump);
    }
    if (!nc->netdev) return be;
    uint32_t net = nc->net ? nc->net : 0x0A000200u, mask = nc->net ? nc->mask : 0xFFFFFF00u;
    uint32_t host = nc->host ? nc->host : net | 2, dns = net | 3;
    uint32_t dhcp = nc->dhcp_start ? nc->dhcp_start : net | 15;
    if ((host & mask) != net || (dhcp & mask) != net) {
        fail(err, errlen, "-netdev user: host= and dhcpstart= must be inside net=");
        net_stop(be);
        return NULL;
    }
    be->host = host;
    be->net = net;
    be->mask = mask;
    be->restrict_on = nc->restrict_on;
    SlirpConfig cfg = {0};
    cfg.version = 3;
    cfg.restricted = 0; /* restrict=on is enforced by restrict_allows (see net_slirp.h) */
    cfg.in_enabled = true;
    cfg.vnetwork.s_addr = htonl(net);
    cfg.vnetmask.s_addr = htonl(mask);
    cfg.vhost.s_addr = htonl(host);
    cfg.vdhcp_start.s_addr = htonl(dhcp);
    cfg.vnameserver.s_addr = htonl(dns);
    cfg.in6_enabled = true;
    inet_pton(AF_INET6, "fec0::", &cfg.vprefix_addr6);
    cfg.vprefix_len = 64;
    inet_pton(AF_INET6, "fec0::2", &cfg.vhost6);
    inet_pton(AF_INET6, "fec0::3", &cfg.vnameserver6);
    cfg.tftp_path = nc->tftp;
    cfg.bootfile = nc->bootfile;
    cfg.disable_dns = nc->restrict_on;
    cfg.disable_host_loopback = false;
    be->slirp = slirp_new(&cfg, &slirp_callbacks, be);
    if (!be->slirp) {
        fail(err, errlen, "-netdev user: cannot start slirp");
        net_stop(be);
        return NULL;
    }
    for (int i = 0; i < nc->nhostfwd; i++)
        if (add_hostfwd(be, nc->hostfwd[i], dhcp, err, errlen) < 0) {
            net_stop(be);
            return NULL;
        }
    return be;
}

void net_stop(NetBackend *be) {
    if (!be) return;
    if (be->slirp) slirp_cleanup(be->slirp);
    while (be->timers)
        cb_timer_free(be->timers, be);
    if (be->dump) fclose(be->dump);
    free(be);
}

NetPort *net_port(NetBackend *be) {
    return &be->port;
}

static int add_poll(int fd, int events, void *opaque) {
    NetBackend *be = opaque;
    if (be->nfds >= MAX_POLLFDS) return -1;
    short ev = 0;
    if (events & SLIRP_POLL_IN) ev |= POLLIN;
    if (events & SLIRP_POLL_OUT) ev |= POLLOUT;
    if (events & SLIRP_POLL_PRI) ev |= POLLPRI;
    be->fds[be->nfds] = (struct pollfd){.fd = fd, .events = ev};
    return be->nfds++;
}

static int get_revents(int idx, void *opaque) {
    NetBackend *be = opaque;
    if (idx < 0 || idx >= be->nfds) return 0;
    short r = be->fds[idx].revents;
    int ev = 0;
    if (r & POLLIN) ev |= SLIRP_POLL_IN;
    if (r & POLLOUT) ev |= SLIRP_POLL_OUT;
    if (r & POLLPRI) ev |= SLIRP_POLL_PRI;
    if (r & POLLERR) ev |= SLIRP_POLL_ERR;
    if (r & POLLHUP) ev |= SLIRP_POLL_HUP;
    return ev;
}

static void run_timers(NetBackend *be) {
    int64_t now_ms = host_ns() / 1000000;
    /* A callback may arm, free or create timers: start over after each. */
    for (bool again = true; again;) {
        again = false;
        for (NetTimer *t = be->timers; t; t = t->next)
            if (t->expire_ms >= 0 && t->expire_ms <= now_ms) {
                t->expire_ms = -1;
                t->cb(t->cb_opaque);
                again = true;
                break;
            }
    }
}

void net_poll(NetBackend *be) {
    if (!be || !be->slirp) return;
    uint32_t timeout = 0;
    be->nfds = 0;
    slirp_pollfds_fill(be->slirp, &timeout, add_poll, be);
    int r = be->nfds ? poll(be->fds, (nfds_t)be->nfds, 0) : 0;
    slirp_pollfds_poll(be->slirp, r < 0, get_revents, be);
    run_timers(be);
}

int net_add_pollfds(NetBackend *be, struct pollfd *fds, int max, uint64_t *ns) {
    if (!be || !be->slirp) return 0;
    uint32_t timeout_ms = UINT32_MAX;
    be->nfds = 0;
    slirp_pollfds_fill(be->slirp, &timeout_ms, add_poll, be);
    int n = 0;
    for (int i = 0; i < be->nfds && n < max; i++)
        fds[n++] = be->fds[i];
    uint64_t limit = timeout_ms == UINT32_MAX ? UINT64_MAX : (uint64_t)timeout_ms * 1000000u;
    int64_t now_ms = host_ns() / 1000000;
    for (NetTimer *t = be->timers; t; t = t->next)
        if (t->expire_ms >= 0) {
            uint64_t in = t->expire_ms > now_ms ? (uint64_t)(t->expire_ms - now_ms) * 1000000u : 0;
            if (in < limit) limit = in;
        }
    if (limit < *ns) *ns = limit;
    return n;
}
