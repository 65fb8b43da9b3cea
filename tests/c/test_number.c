/*
 * test_number.c - util/number.c: the decimal readers the PostgreSQL
 * adapter uses for its text results give what strtoll / strtod give, bit
 * for bit, on the fast path (short decimals) and on every form that falls
 * back (long mantissas, large exponents, NaN, Infinity, junk); and the
 * writer eo_buf__put_int (domain text, JSON, COPY rows) gives what
 * printf's "%lld" gives.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "internal.h"
#include "util/number.h"

static void same_float(const char *s)
{
    double want = strtod(s, NULL), got = eo_number__float(s, strlen(s));
    if (memcmp(&want, &got, sizeof want) != 0 && !(isnan(want) && isnan(got)))
        fail_msg("eo_number__float(\"%s\") = %.17g, strtod says %.17g", s, got, want);
}

static void same_int(const char *s)
{
    long long want = strtoll(s, NULL, 10), got = (long long)eo_number__int(s, strlen(s));
    if (want != got)
        fail_msg("eo_number__int(\"%s\") = %lld, strtoll says %lld", s, got, want);
}

/* the next of a xorshift64 sequence: reproducible pseudo-random inputs */
static void xorshift(unsigned long long *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
}

static void test_number__floats_as_strtod(void **state)
{
    static const char *const forms[] = {
        "0", "-0", "0.0", "1", "-1", "12.5", "0.1", "0.2", "0.3", "-0.001", "99.9", "100",
        "3.14159265358979", "2.718281828459045", "1e+20", "1e-07", "1.5e-10", "-2.5e+22",
        "123456789012345", "1234567890123456", "12345678901234567890", "0.000000000000000000001",
        "1e22", "1e23", "1e-22", "1e-23", "9007199254740993", "1.7976931348623157e+308",
        "4.9406564584124654e-324", "2.2250738585072014e-308", "1e400", "-1e400", "NaN",
        "Infinity", "-Infinity", "", "-", ".", "1.", ".5", "1e", "1e+", "abc", "12abc", " 12",
        "+5", "0x10", "1e99999", "00000000000000000000001.5", "1.000000000000000000"
    };
    size_t i;
    char buf[64];
    unsigned long long x = 88172645463325252ULL;
    (void)state;
    for (i = 0; i < sizeof forms / sizeof forms[0]; i++)
        same_float(forms[i]);
    /* every value the bench writes, (i % 1000) / 10, and PostgreSQL's
     * shortest forms of random doubles */
    for (i = 0; i < 1000; i++) {
        snprintf(buf, sizeof buf, "%.17g", (double)(i % 1000) / 10.0);
        same_float(buf);
        snprintf(buf, sizeof buf, "%g", (double)i / 7.0);
        same_float(buf);
    }
    for (i = 0; i < 200000; i++) {
        double d;
        int digits;
        xorshift(&x);
        d = (double)(x >> 11) / (double)(1ULL << (x % 40));
        if (x & 1)
            d = -d;
        digits = 1 + (int)((x >> 3) % 17);
        snprintf(buf, sizeof buf, "%.*g", digits, d);
        same_float(buf);
        snprintf(buf, sizeof buf, "%.*f", (int)((x >> 5) % 12), d / 1e6);
        same_float(buf);
    }
}

static void test_number__ints_as_strtoll(void **state)
{
    static const char *const forms[] = { "0", "-0", "1", "-1", "42", "999999999999999999",
                                         "-999999999999999999", "1000000000000000000",
                                         "9223372036854775807", "-9223372036854775808",
                                         "9223372036854775808", "99999999999999999999", "",
                                         "-", "12x", "+7", " 3", "007" };
    size_t i;
    char buf[32];
    unsigned long long x = 2463534242ULL;
    (void)state;
    for (i = 0; i < sizeof forms / sizeof forms[0]; i++)
        same_int(forms[i]);
    for (i = 0; i < 100000; i++) {
        xorshift(&x);
        snprintf(buf, sizeof buf, "%s%llu", (x & 2) ? "-" : "", x >> (x % 64));
        same_int(buf);
    }
}

static void same_text(eo_buf *b, long long v)
{
    char want[32];
    snprintf(want, sizeof want, "%lld", v);
    eo_buf__reset(b);
    if (eo_buf__put_int(b, (int64_t)v) != EO_OK)
        fail_msg("eo_buf__put_int(%lld) failed", v);
    if (b->len != strlen(want) || strcmp(b->p, want) != 0)
        fail_msg("eo_buf__put_int(%lld) wrote \"%s\", printf writes \"%s\"", v, b->p, want);
}

static void test_number__int_text_as_printf(void **state)
{
    static const long long edges[] = { 0, 1, -1, 9, 10, -10, 99, 100, 1000000007LL,
                                       9223372036854775807LL, -9223372036854775807LL - 1 };
    eo_buf b = EO_BUF_INIT;
    unsigned long long x = 88172645463325252ULL;
    size_t i;
    (void)state;
    for (i = 0; i < sizeof edges / sizeof edges[0]; i++)
        same_text(&b, edges[i]);
    for (i = 0; i < 100000; i++) {
        xorshift(&x);
        long long v = (long long)((x >> (x % 64)) >> 1); /* 0 .. 2^63 - 1 */
        same_text(&b, (x & 2) ? -v : v);
    }
    /* appends: the text goes after what the buffer holds */
    eo_buf__reset(&b);
    eo_buf__puts(&b, "id=");
    eo_buf__put_int(&b, -42);
    assert_string_equal(b.p, "id=-42");
    eo_buf__free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_number__floats_as_strtod),
        cmocka_unit_test(test_number__ints_as_strtoll),
        cmocka_unit_test(test_number__int_text_as_printf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
