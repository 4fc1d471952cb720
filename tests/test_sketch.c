/* Tests for the serialized header every sketch shares (src/sketch/sketch.c): the layout
 * written, and each rejection with the message that names what was wrong. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "assay/sketch.h"

static void test_write_layout(void **state)
{
    (void)state;
    uint8_t h[ASSAY_SKETCH_HEADER];
    memset(h, 0xee, sizeof(h));
    assay_sketch_header_write(h, ASSAY_SKETCH_TDIGEST, 7, 0x0102030405060708ull);
    static const uint8_t want[16] = { 'A', 'S', 'K', '1', 2, 7, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1 };
    assert_memory_equal(h, want, 16);
}

static void test_check_ok(void **state)
{
    (void)state;
    static const assay_sketch_kind kinds[] = { ASSAY_SKETCH_HLL, ASSAY_SKETCH_TDIGEST,
                                               ASSAY_SKETCH_MOMENTS, ASSAY_SKETCH_TOPK };
    for (size_t k = 0; k < ASSAY_ARRAY_LEN(kinds); k++) {
        for (size_t plen = 0; plen < 40; plen += 13) {
            uint8_t *buf = malloc(ASSAY_SKETCH_HEADER + plen);
            assay_sketch_header_write(buf, kinds[k], 1, plen);
            for (size_t i = 0; i < plen; i++)
                buf[ASSAY_SKETCH_HEADER + i] = (uint8_t)i;
            const uint8_t *payload = NULL;
            uint64_t got = 99;
            assay_error err = { 0 };
            assert_int_equal(assay_sketch_header_check(buf, ASSAY_SKETCH_HEADER + plen, kinds[k], 1,
                                                       &payload, &got, &err),
                             0);
            assert_ptr_equal(payload, buf + ASSAY_SKETCH_HEADER);
            assert_int_equal(got, plen);
            assert_int_equal(err.code, 0);
            free(buf);
        }
    }
}

/* Check buf[0..len) and expect -EINVAL with a message containing `expect`. */
static void expect_reject(const char *name, const uint8_t *buf, size_t len, const char *expect)
{
    uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan sees any overread */
    if (len)
        memcpy(copy, buf, len);
    const uint8_t *payload = NULL;
    uint64_t plen = 12345;
    assay_error err = { 0 };
    int rc = assay_sketch_header_check(buf ? copy : NULL, len, ASSAY_SKETCH_MOMENTS, 1, &payload,
                                       &plen, &err);
    if (rc != -EINVAL || err.code != -EINVAL || !strstr(err.msg, expect)) {
        print_error("%s: rc %d, code %d, message \"%s\", expected \"%s\"\n", name, rc, err.code,
                    err.msg, expect);
        fail();
    }
    assert_null(payload); /* outputs untouched on failure */
    assert_int_equal(plen, 12345);
    free(copy);
}

static void test_rejections(void **state)
{
    (void)state;
    uint8_t good[ASSAY_SKETCH_HEADER + 8];
    assay_sketch_header_write(good, ASSAY_SKETCH_MOMENTS, 1, 8);
    memset(good + ASSAY_SKETCH_HEADER, 0x5a, 8);
    uint8_t b[sizeof(good) + 1];

    expect_reject("NULL buffer", NULL, 0, "0 bytes, shorter than the 16-byte header");
    for (size_t l = 0; l < ASSAY_SKETCH_HEADER; l++)
        expect_reject("short", good, l, "shorter than the 16-byte header");

    for (int i = 0; i < 4; i++) {
        memcpy(b, good, sizeof(good));
        b[i] ^= 0x20;
        expect_reject("magic", b, sizeof(good), "bad magic");
    }
    memcpy(b, good, sizeof(good));
    b[4] = ASSAY_SKETCH_HLL;
    expect_reject("kind", b, sizeof(good), "kind 1, expected 3");
    memcpy(b, good, sizeof(good));
    b[5] = 2;
    expect_reject("version", b, sizeof(good), "version 2, this build reads 1");
    memcpy(b, good, sizeof(good));
    b[6] = 1;
    expect_reject("reserved 6", b, sizeof(good), "reserved header bytes");
    memcpy(b, good, sizeof(good));
    b[7] = 0x80;
    expect_reject("reserved 7", b, sizeof(good), "reserved header bytes");

    /* Length field disagreeing with the input, both ways, and in the high bytes. */
    memcpy(b, good, sizeof(good));
    b[8] = 9;
    expect_reject("length long", b, sizeof(good), "header says 9 payload bytes, input has 8");
    b[8] = 7;
    expect_reject("length short", b, sizeof(good), "header says 7 payload bytes, input has 8");
    memcpy(b, good, sizeof(good));
    b[15] = 0x80; /* 2^63 + 8: no wrap-around */
    expect_reject("length huge", b, sizeof(good), "input has 8");
    memcpy(b, good, sizeof(good));
    b[sizeof(good)] = 0;
    expect_reject("trailing byte", b, sizeof(good) + 1, "header says 8 payload bytes, input has 9");
    for (size_t l = ASSAY_SKETCH_HEADER; l < sizeof(good); l++)
        expect_reject("truncated payload", good, l, "header says 8 payload bytes");

    /* NULL err is allowed: the code still comes back. */
    const uint8_t *payload;
    uint64_t plen;
    assert_int_equal(
        assay_sketch_header_check(good, 3, ASSAY_SKETCH_MOMENTS, 1, &payload, &plen, NULL),
        -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_layout),
        cmocka_unit_test(test_check_ok),
        cmocka_unit_test(test_rejections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
