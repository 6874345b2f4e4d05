/*
 * net.h - the link between a network card and a network back end.
 *
 * A NetPort is one Ethernet cable. The card (devices/e1000.c) fills in
 * `receive`/`nic` and calls `transmit`; the back end (the front end's
 * user-mode network, frontend/net_slirp.c, or a test's fake) fills in
 * `transmit`/`backend` and calls `receive`. Neither side knows the other:
 * the card never sees slirp, the back end never sees descriptor rings.
 * Frames are whole Ethernet frames without the FCS (CRC), 14..NET_MAX_FRAME
 * bytes.
 *
 * Use:
 *     NetPort port = {.transmit = my_send, .backend = me};
 *     E1000 *nic = e1000_new(pm, mac, irq, &port);   // sets port.receive/port.nic
 *     net_port_receive(&port, frame, len);           // back end -> card
 */
#ifndef BT86_NET_H
#define BT86_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest frame either side passes (a jumbo frame's worth, no FCS). */
#define NET_MAX_FRAME 16384

typedef struct NetPort {
    /* Back end: the card sends one frame. */
    void (*transmit)(void *backend, const uint8_t *frame, size_t len);
    void *backend;
    /* Card: a frame arrives; false when the card dropped it (disabled, no
     * room in its receive ring, filtered out). */
    bool (*receive)(void *nic, const uint8_t *frame, size_t len);
    void *nic;
} NetPort;

static inline void net_port_transmit(const NetPort *p, const uint8_t *frame, size_t len) {
    if (p && p->transmit) p->transmit(p->backend, frame, len);
}

static inline bool net_port_receive(const NetPort *p, const uint8_t *frame, size_t len) {
    return p && p->receive ? p->receive(p->nic, frame, len) : false;
}

#endif
