/*
 * png.c - minimal PNG writer (see png.h).
 */
#include "frontend/png.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Append one chunk (length, type, data, CRC over type and data) at *pos. */
static void put_chunk(uint8_t *buf, size_t *pos, const char type[4], const uint8_t *data,
                      uint32_t len) {
    uint8_t *p = buf + *pos;
    put_be32(p, len);
    memcpy(p + 4, type, 4);
    if (len) memcpy(p + 8, data, len);
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, p + 4, 4 + len);
    put_be32(p + 8 + len, (uint32_t)crc);
    *pos += 12 + (size_t)len;
}

int png_encode_rgb32(const uint32_t *pixels, unsigned width, unsigned height, uint8_t **out,
                     size_t *out_len) {
    *out = NULL;
    *out_len = 0;
    if (width == 0 || height == 0 || width > 65535 || height > 65535) return -1;
    size_t row = 1 + (size_t)width * 3, raw_len = row * height;
    uint8_t *raw = malloc(raw_len);
    uLong zcap = compressBound((uLong)raw_len);
    uint8_t *z = malloc(zcap);
    if (!raw || !z) goto fail;
    for (unsigned y = 0; y < height; y++) {
        uint8_t *r = raw + (size_t)y * row;
        r[0] = 0; /* filter: none */
        for (unsigned x = 0; x < width; x++) {
            uint32_t c = pixels[(size_t)y * width + x];
            r[1 + 3 * x] = (uint8_t)(c >> 16);
            r[2 + 3 * x] = (uint8_t)(c >> 8);
            r[3 + 3 * x] = (uint8_t)c;
        }
    }
    uLongf zlen = zcap;
    if (compress2(z, &zlen, raw, (uLong)raw_len, 6) != Z_OK || zlen > 0x7FFFFFFFu) goto fail;
    size_t total = 8 + (12 + 13) + (12 + zlen) + 12;
    uint8_t *png = malloc(total);
    if (!png) goto fail;
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    memcpy(png, sig, 8);
    size_t pos = 8;
    uint8_t ihdr[13];
    put_be32(ihdr, width);
    put_be32(ihdr + 4, height);
    ihdr[8] = 8;  /* bit depth */
    ihdr[9] = 2;  /* colour type: RGB */
    ihdr[10] = 0; /* deflate */
    ihdr[11] = 0; /* adaptive filtering */
    ihdr[12] = 0; /* no interlace */
    put_chunk(png, &pos, "IHDR", ihdr, 13);
    put_chunk(png, &pos, "IDAT", z, (uint32_t)zlen);
    put_chunk(png, &pos, "IEND", NULL, 0);
    free(raw);
    free(z);
    *out = png;
    *out_len = pos;
    return 0;
fail:
    free(raw);
    free(z);
    return -1;
}

int png_write_rgb32(const char *path, const uint32_t *pixels, unsigned width, unsigned height,
                    char *err, size_t errlen) {
    uint8_t *png;
    size_t len;
    if (png_encode_rgb32(pixels, width, height, &png, &len) < 0) {
        snprintf(err, errlen, "cannot encode a %ux%u image", width, height);
        return -1;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        free(png);
        return -1;
    }
    int ok = fwrite(png, 1, len, f) == len;
    if (fclose(f) != 0) ok = 0;
    free(png);
    if (!ok) {
        snprintf(err, errlen, "cannot write %s", path);
        return -1;
    }
    return 0;
}
