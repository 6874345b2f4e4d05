/*
 * irq.h - interrupt request lines between devices and interrupt controllers.
 *
 * An IrqLine is a tiny value {set, opaque, n}: the device that raises it
 * holds the line, the controller that receives it provides `set` (its input
 * pin handler), its own state as `opaque`, and the pin number `n`. Devices
 * never know which controller they are wired to.
 *
 * Use:
 *     IrqLine line = pic_irq_line(pic, 4);   // controller side hands out lines
 *     irq_set(&line, 1);                     // device raises its line
 *     irq_set(&line, 0);                     // ... and lowers it
 * A line whose `set` is NULL is unconnected: irq_set does nothing.
 */
#ifndef BT86_IRQ_H
#define BT86_IRQ_H

typedef void (*IrqSetFn)(void *opaque, int n, int level);

typedef struct IrqLine {
    IrqSetFn set;
    void *opaque;
    int n;
} IrqLine;

static inline void irq_set(const IrqLine *line, int level) {
    if (line->set) line->set(line->opaque, line->n, level);
}

#endif
