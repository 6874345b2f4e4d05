/*
 * png.h - a minimal PNG writer for screendumps: 8-bit RGB, one IDAT chunk
 * compressed with zlib, filter type 0 on every row, CRCs from zlib.
 *
 * Use:
 *     char err[128];
 *     if (png_write_rgb32("out.png", pixels, width, height, err, sizeof err) < 0) ...
 * pixels are width * height 0x00RRGGBB values, row by row.
 */
#ifndef BT86_PNG_H
#define BT86_PNG_H

#include <stddef.h>
#include <stdint.h>

/* Encode into a malloc'ed buffer (*out, *out_len). Returns 0 or -1. */
int png_encode_rgb32(const uint32_t *pixels, unsigned width, unsigned height, uint8_t **out,
                     size_t *out_len);
/* Write a file. Returns 0, or -1 with a message in err. */
int png_write_rgb32(const char *path, const uint32_t *pixels, unsigned width, unsigned height,
                    char *err, size_t errlen);

#endif
