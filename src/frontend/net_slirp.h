/*
 * net_slirp.h - the network options (-netdev user, -device e1000, -nic,
 * -object filter-dump) and the user-mode network back end on libslirp
 * (the TCP/IP stack QEMU's "user" networking uses): the guest's frames go
 * to slirp, which answers ARP, DHCP, TFTP and (unrestricted) DNS itself and
 * turns TCP/UDP into host sockets; host port forwards (hostfwd) go the other
 * way. The card side is a NetPort (devices/net.h).
 *
 * The back end runs on the host's clock in the front end's single thread:
 * net_poll() between CPU slices services slirp's sockets and timers without
 * blocking, and net_add_pollfds() lets the idle sleep wake for them.
 *
 * Use:
 *     NetConfig nc = {0};
 *     net_config_option(&nc, "-nic", "user,hostfwd=tcp::8080-:80", err, n);
 *     net_config_finish(&nc, deterministic, err, n);   // the default card
 *     if (nc.nic) { NetBackend *be = net_start(&nc, err, n);
 *                   cfg.nic_port = net_port(be); memcpy(cfg.nic_mac, nc.mac, 6); }
 *     ... each loop: net_poll(be);  ... net_stop(be);
 *
 * restrict=on keeps the guest to slirp's own services (DHCP, TFTP) and the
 * host as the gateway address (10.0.2.2, the host's loopback): frames to
 * any other address are dropped before slirp sees them (IPv6: only
 * neighbour and router discovery on the link), and DNS is off. (QEMU's
 * restrict=on also cuts the guest off from the host; here the host stays
 * reachable, which the tests use instead of a guestfwd.)
 */
#ifndef BT86_NET_SLIRP_H
#define BT86_NET_SLIRP_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/net.h"

#define NET_MAX_HOSTFWD 16

typedef struct NetConfig {
    /* The card: whether there is one, its MAC, the netdev it is cabled to. */
    bool nic;
    bool nic_none; /* -nic none */
    bool nic_explicit;
    bool virtio; /* the card is a virtio-net-pci (else an e1000) */
    uint8_t mac[6];
    char nic_netdev[64];
    char *romfile; /* romfile=FILE: the card's boot ROM (else iPXE's with -boot n) */
    /* The user-mode netdev (at most one). */
    bool netdev;
    char netdev_id[64];
    uint32_t net, mask, host, dhcp_start; /* host byte order; 0: derived from net */
    bool restrict_on;
    char *tftp, *bootfile;
    char *hostfwd[NET_MAX_HOSTFWD];
    int nhostfwd;
    /* -object filter-dump on the netdev. */
    char *dump_file;
    char dump_netdev[64];
} NetConfig;

typedef struct NetBackend NetBackend;

/* One command-line option (-netdev, -device, -nic, -object) and its value.
 * 0, or -1 with a message. */
int net_config_option(NetConfig *nc, const char *opt, const char *val, char *err, size_t errlen);
/* After all options: check the references, and give the default card
 * (e1000 on user networking, as QEMU does) when no option said otherwise,
 * unless `deterministic` (instruction-count time, record/replay, lockstep):
 * slirp's input follows the host's clock and sockets, so there the default
 * is no card and explicit networking under rr/lockstep is refused
 * (`refuse` says why). 0, or -1 with a message. */
int net_config_finish(NetConfig *nc, bool deterministic, const char *refuse, char *err,
                      size_t errlen);
void net_config_free(NetConfig *nc);

/* Start the back end for the card (nc->nic). NULL with a message. */
NetBackend *net_start(const NetConfig *nc, char *err, size_t errlen);
void net_stop(NetBackend *be);
/* The cable to give the card (PcConfig.nic_port). */
NetPort *net_port(NetBackend *be);
/* Service sockets and timers without blocking. */
void net_poll(NetBackend *be);
/* Add the descriptors slirp waits on to fds (room for max), and shorten
 * *ns to its next timer. Returns how many were added. */
int net_add_pollfds(NetBackend *be, struct pollfd *fds, int max, uint64_t *ns);

#endif
