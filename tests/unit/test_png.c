/*
 * test_png.c - the screendump PNG writer: encode an image, then parse the
 * file independently (signature, chunk order and lengths, CRCs, IHDR
 * fields), inflate IDAT with zlib and compare every pixel.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "frontend/png.h"

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Decode what png.c writes (RGB8, filter 0); returns pixels or NULL. */
static uint32_t *decode(const uint8_t *png, size_t len, unsigned *w, unsigned *h) {
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    ck_assert(len > 8 && memcmp(png, sig, 8) == 0);
    size_t pos = 8;
    uint8_t *idat = NULL;
    size_t idat_len = 0;
    int n = 0;
    bool ended = false;
    while (pos + 12 <= len && !ended) {
        uint32_t clen = be32(png + pos);
        ck_assert(pos + 12 + clen <= len);
        const uint8_t *type = png + pos + 4, *data = png + pos + 8;
        uLong crc = crc32(crc32(0L, Z_NULL, 0), type, 4 + clen);
        ck_assert_uint_eq(crc, be32(data + clen));
        if (memcmp(type, "IHDR", 4) == 0) {
            ck_assert_int_eq(n, 0);
            ck_assert_uint_eq(clen, 13);
            *w = be32(data);
            *h = be32(data + 4);
            ck_assert_uint_eq(data[8], 8);
            ck_assert_uint_eq(data[9], 2);
            ck_assert_uint_eq(data[12], 0);
        } else if (memcmp(type, "IDAT", 4) == 0) {
            idat = realloc(idat, idat_len + clen);
            memcpy(idat + idat_len, data, clen);
            idat_len += clen;
        } else if (memcmp(type, "IEND", 4) == 0) {
            ck_assert_uint_eq(clen, 0);
            ended = true;
        }
        pos += 12 + clen;
        n++;
    }
    ck_assert(ended);
    ck_assert_uint_eq(pos, len);
    uLongf raw_len = (uLongf)(1 + *w * 3) * *h;
    uint8_t *raw = malloc(raw_len);
    ck_assert_int_eq(uncompress(raw, &raw_len, idat, idat_len), Z_OK);
    ck_assert_uint_eq(raw_len, (1 + *w * 3) * *h);
    uint32_t *px = malloc(sizeof *px * *w * *h);
    for (unsigned y = 0; y < *h; y++) {
        const uint8_t *r = raw + (size_t)y * (1 + *w * 3);
        ck_assert_uint_eq(r[0], 0);
        for (unsigned x = 0; x < *w; x++)
            px[y * *w + x] =
                (uint32_t)r[1 + 3 * x] << 16 | (uint32_t)r[2 + 3 * x] << 8 | r[3 + 3 * x];
    }
    free(raw);
    free(idat);
    return px;
}

START_TEST(round_trip) {
    unsigned w = 37, h = 23;
    uint32_t *img = malloc(sizeof *img * w * h);
    for (unsigned i = 0; i < w * h; i++)
        img[i] = (i * 2654435761u) & 0xFFFFFF;
    uint8_t *png;
    size_t len;
    ck_assert_int_eq(png_encode_rgb32(img, w, h, &png, &len), 0);
    unsigned dw = 0, dh = 0;
    uint32_t *px = decode(png, len, &dw, &dh);
    ck_assert_uint_eq(dw, w);
    ck_assert_uint_eq(dh, h);
    for (unsigned i = 0; i < w * h; i++)
        ck_assert_uint_eq(px[i], img[i]);
    free(px);
    free(png);
    free(img);
}
END_TEST

START_TEST(file_and_errors) {
    uint32_t img[4] = {0xFF0000, 0x00FF00, 0x0000FF, 0xFFFFFF};
    char path[] = "/tmp/bt86-png-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    char err[256];
    ck_assert_int_eq(png_write_rgb32(path, img, 2, 2, err, sizeof err), 0);
    FILE *f = fopen(path, "rb");
    uint8_t buf[4096];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    unlink(path);
    unsigned w, h;
    uint32_t *px = decode(buf, len, &w, &h);
    ck_assert_uint_eq(w, 2);
    ck_assert_uint_eq(px[2], 0x0000FF);
    free(px);
    /* Bad inputs: a clear error, no file. */
    ck_assert_int_eq(png_write_rgb32("/nonexistent-dir/x.png", img, 2, 2, err, sizeof err), -1);
    ck_assert(strstr(err, "/nonexistent-dir/x.png") != NULL);
    uint8_t *png;
    ck_assert_int_eq(png_encode_rgb32(img, 0, 2, &png, &len), -1);
}
END_TEST

int main(void) {
    Suite *s = suite_create("png");
    TCase *tc = tcase_create("png");
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, file_and_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
