/*
 * test_checksum.c - the built-in stream's checksum (src/scenario/checksum.c): CRC-32C.
 *
 * Reference values: RFC 3720 (iSCSI) appendix B.4 gives CRC-32C test vectors; the check value of
 * "123456789" is 0xE3069283 (the CRC catalogue's CRC-32/ISCSI).
 */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "scenario/checksum.h"

START_TEST(check_value)
{
    ck_assert_uint_eq(scen_crc32c(0, "123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(scen_crc32c_soft(0, "123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(scen_crc32c(0, "", 0), 0u);
}
END_TEST

START_TEST(rfc3720_vectors)
{
    /* RFC 3720 B.4: 32 bytes of zeros, of ones, ascending and descending. */
    unsigned char b[32];
    memset(b, 0, sizeof b);
    ck_assert_uint_eq(scen_crc32c(0, b, 32), 0x8A9136AAu);
    memset(b, 0xFF, sizeof b);
    ck_assert_uint_eq(scen_crc32c(0, b, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        b[i] = (unsigned char)i;
    ck_assert_uint_eq(scen_crc32c(0, b, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        b[i] = (unsigned char)(31 - i);
    ck_assert_uint_eq(scen_crc32c(0, b, 32), 0x113FDB5Cu);
}
END_TEST

/* A body arrives in pieces of any size: the sum over pieces equals the sum over the whole, and
 * the CPU instruction agrees with the table method at every length and alignment. */
START_TEST(pieces_and_methods_agree)
{
    static unsigned char buf[4099];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 131u + 7u);
    uint32_t whole = scen_crc32c(0, buf, sizeof buf);
    ck_assert_uint_eq(scen_crc32c_soft(0, buf, sizeof buf), whole);
    for (size_t cut = 0; cut <= 17; cut++) {
        for (size_t step = 1; step <= 13; step += 3) {
            uint32_t c = scen_crc32c(0, buf, cut);
            for (size_t off = cut; off < sizeof buf; off += step) {
                size_t n = sizeof buf - off < step ? sizeof buf - off : step;
                c = scen_crc32c(c, buf + off, n);
            }
            ck_assert_uint_eq(c, whole);
        }
        ck_assert_uint_eq(scen_crc32c(0, buf + cut, 1000), scen_crc32c_soft(0, buf + cut, 1000));
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("checksum");
    TCase *tc = tcase_create("crc32c");
    tcase_add_test(tc, check_value);
    tcase_add_test(tc, rfc3720_vectors);
    tcase_add_test(tc, pieces_and_methods_agree);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
