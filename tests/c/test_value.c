/*
 * test_value.c - eo_value, record ids, error codes and eo_error filling.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>

#include "helpers.h"

static void test_value__constructors(void **state)
{
    eo_value v;
    (void)state;
    v = eo_null();
    assert_int_equal(v.type, EO_VNULL);
    assert_int_equal(v.owned, 0);
    v = eo_bool(7);
    assert_int_equal(v.type, EO_VBOOL);
    assert_int_equal(v.u.b, 1); /* normalised to 0/1 */
    v = eo_bool(0);
    assert_int_equal(v.u.b, 0);
    v = eo_int(INT64_MIN);
    assert_int_equal(v.type, EO_VINT);
    assert_true(v.u.i == INT64_MIN);
    v = eo_float(2.5);
    assert_int_equal(v.type, EO_VFLOAT);
    assert_true(v.u.f == 2.5);
    v = eo_cstr("abc");
    assert_int_equal(v.type, EO_VTEXT);
    assert_int_equal(v.u.s.n, 3);
    v = eo_text("a\0b", 3);
    assert_int_equal(v.u.s.n, 3);
    v = eo_blob("\0\1\2", 3);
    assert_int_equal(v.type, EO_VBLOB);
    assert_int_equal(v.u.s.n, 3);
    assert_int_equal(v.owned, 0);
}

static void test_value__copy_owns_text(void **state)
{
    char buf[] = "hello";
    eo_value v = eo_text(buf, 5), c;
    (void)state;
    assert_int_equal(eo_value_copy(&c, &v), EO_OK);
    buf[0] = 'j';
    assert_int_equal(c.u.s.n, 5);
    assert_memory_equal(c.u.s.p, "hello", 5);
    assert_int_equal(c.u.s.p[5], '\0'); /* owned text is NUL-terminated */
    assert_true(c.owned);
    eo_value_clear(&c);
    assert_int_equal(c.type, EO_VNULL);
    assert_int_equal(c.owned, 0);
}

static void test_value__copy_blob_with_nul_bytes(void **state)
{
    const char bytes[] = { 'a', '\0', 'b', '\0', 'c' };
    eo_value v = eo_blob(bytes, sizeof bytes), c;
    (void)state;
    assert_int_equal(eo_value_copy(&c, &v), EO_OK);
    assert_int_equal(c.type, EO_VBLOB);
    assert_int_equal(c.u.s.n, 5);
    assert_memory_equal(c.u.s.p, bytes, 5);
    assert_ptr_not_equal(c.u.s.p, bytes);
    assert_true(eo_value_equal(&c, &v));
    eo_value_clear(&c);
}

static void test_value__copy_scalars_and_empty(void **state)
{
    eo_value v, c;
    (void)state;
    v = eo_int(42);
    assert_int_equal(eo_value_copy(&c, &v), EO_OK);
    assert_int_equal(c.type, EO_VINT);
    assert_int_equal(c.u.i, 42);
    assert_int_equal(c.owned, 0);
    eo_value_clear(&c);
    v = eo_text(NULL, 0);
    assert_int_equal(eo_value_copy(&c, &v), EO_OK);
    assert_int_equal(c.type, EO_VTEXT);
    assert_int_equal(c.u.s.n, 0);
    assert_non_null(c.u.s.p);
    assert_string_equal(c.u.s.p, "");
    eo_value_clear(&c);
    /* a copy of a copy is independent */
    v = eo_cstr("xyz");
    assert_int_equal(eo_value_copy(&c, &v), EO_OK);
    {
        eo_value d;
        assert_int_equal(eo_value_copy(&d, &c), EO_OK);
        assert_ptr_not_equal(d.u.s.p, c.u.s.p);
        eo_value_clear(&c);
        assert_string_equal(d.u.s.p, "xyz");
        eo_value_clear(&d);
    }
}

static void test_value__clear_accepts_null_and_borrowed(void **state)
{
    char buf[] = "borrowed";
    eo_value v = eo_cstr(buf);
    (void)state;
    eo_value_clear(NULL);
    eo_value_clear(&v); /* not owned: must not free buf */
    assert_int_equal(v.type, EO_VNULL);
    assert_string_equal(buf, "borrowed");
}

static void test_value__equal(void **state)
{
    eo_value a, b;
    (void)state;
    a = eo_int(1);
    b = eo_float(1.0);
    assert_false(eo_value_equal(&a, &b)); /* INT 1 and FLOAT 1.0 differ */
    b = eo_int(1);
    assert_true(eo_value_equal(&a, &b));
    b = eo_int(2);
    assert_false(eo_value_equal(&a, &b));
    a = eo_null();
    b = eo_null();
    assert_true(eo_value_equal(&a, &b));
    a = eo_cstr("abc");
    b = eo_text("abcd", 3);
    assert_true(eo_value_equal(&a, &b));
    b = eo_cstr("abd");
    assert_false(eo_value_equal(&a, &b));
    b = eo_blob("abc", 3);
    assert_false(eo_value_equal(&a, &b)); /* text and blob differ */
    a = eo_text("", 0);
    b = eo_text(NULL, 0);
    assert_true(eo_value_equal(&a, &b));
    a = eo_bool(1);
    b = eo_bool(0);
    assert_false(eo_value_equal(&a, &b));
    a = eo_text("a\0b", 3);
    b = eo_text("a\0c", 3);
    assert_false(eo_value_equal(&a, &b)); /* bytes past a NUL count */
}

static void test_value__compare(void **state)
{
    eo_value a, b;
    (void)state;
    a = eo_null();
    b = eo_int(-1000);
    assert_int_equal(eo_value_compare(&a, &b), -1); /* NULL first */
    assert_int_equal(eo_value_compare(&b, &a), 1);
    assert_int_equal(eo_value_compare(&a, &a), 0);
    a = eo_int(1);
    b = eo_float(1.5);
    assert_int_equal(eo_value_compare(&a, &b), -1); /* numbers across types */
    assert_int_equal(eo_value_compare(&b, &a), 1);
    b = eo_float(1.0);
    assert_int_equal(eo_value_compare(&a, &b), 0);
    a = eo_int(INT64_MAX);
    b = eo_int(INT64_MAX - 1);
    assert_int_equal(eo_value_compare(&a, &b), 1);
    a = eo_cstr("ab");
    b = eo_cstr("abc");
    assert_int_equal(eo_value_compare(&a, &b), -1); /* prefix first */
    b = eo_cstr("b");
    assert_int_equal(eo_value_compare(&a, &b), -1);
    assert_int_equal(eo_value_compare(&b, &a), 1);
    a = eo_bool(0);
    b = eo_bool(1);
    assert_true(eo_value_compare(&a, &b) < 0);
    a = eo_bool(1);
    b = eo_cstr("x");
    assert_int_equal(eo_value_compare(&a, &b), -1); /* then by type */
    a = eo_cstr("\xff");
    b = eo_cstr("a");
    assert_int_equal(eo_value_compare(&a, &b), 1); /* bytes compare unsigned */
}

static void test_value__vtype_name(void **state)
{
    (void)state;
    assert_string_equal(eo_vtype_name(EO_VNULL), "null");
    assert_string_equal(eo_vtype_name(EO_VBOOL), "boolean");
    assert_string_equal(eo_vtype_name(EO_VINT), "integer");
    assert_string_equal(eo_vtype_name(EO_VFLOAT), "float");
    assert_string_equal(eo_vtype_name(EO_VTEXT), "text");
    assert_string_equal(eo_vtype_name(EO_VBLOB), "binary");
    assert_string_equal(eo_vtype_name((eo_vtype)99), "?");
}

static void test_value__id_num(void **state)
{
    eo_id a = eo_id_num(42), b = eo_id_num(42), c = eo_id_num(43);
    char hex[25];
    eo_value v;
    (void)state;
    assert_true(eo_id_equal(a, b));
    assert_false(eo_id_equal(a, c));
    assert_true(eo_id_hash(a) == eo_id_hash(b));
    assert_true(eo_id_hash(a) != eo_id_hash(c));
    assert_true(a.w[1] == 0); /* unused bytes are zero */
    v = eo_id_to_value(a, EO_IDNUM, hex);
    assert_int_equal(v.type, EO_VINT);
    assert_int_equal(v.u.i, 42);
}

static void test_value__id_from_value_num(void **state)
{
    eo_id id;
    eo_value v;
    (void)state;
    v = eo_int(7);
    assert_int_equal(eo_id_from_value(&id, EO_IDNUM, &v), EO_OK);
    assert_int_equal(id.num, 7);
    v = eo_float(8.0);
    assert_int_equal(eo_id_from_value(&id, EO_IDNUM, &v), EO_OK);
    assert_int_equal(id.num, 8);
    v = eo_cstr("123");
    assert_int_equal(eo_id_from_value(&id, EO_IDNUM, &v), EO_OK);
    assert_int_equal(id.num, 123);
    v = eo_cstr("-5");
    assert_int_equal(eo_id_from_value(&id, EO_IDNUM, &v), EO_OK);
    assert_int_equal(id.num, -5);
    v = eo_cstr("9223372036854775807");
    assert_int_equal(eo_id_from_value(&id, EO_IDNUM, &v), EO_OK);
    assert_true(id.num == INT64_MAX);
}

static void test_value__id_from_value_num_refused(void **state)
{
    eo_id id;
    eo_value v;
    (void)state;
    v = eo_float(8.5);
    assert_int_equal(eo_id_from_value(&id, EO_IDNUM, &v), EO_EINVAL);
    v = eo_float(NAN);
    assert_int_equal(eo_id_from_value(&id, EO_IDNUM, &v), EO_EINVAL);
    v = eo_float(1e300);
    assert_int_equal(eo_id_from_value(&id, EO_IDNUM, &v), EO_EINVAL);
    v = eo_cstr("12abc");
    assert_int_equal(eo_id_from_value(&id, EO_IDNUM, &v), EO_EINVAL);
    v = eo_cstr("");
    assert_int_equal(eo_id_from_value(&id, EO_IDNUM, &v), EO_EINVAL);
    v = eo_cstr("-");
    assert_int_equal(eo_id_from_value(&id, EO_IDNUM, &v), EO_EINVAL);
    v = eo_cstr("123456789012345678901234"); /* too long */
    assert_int_equal(eo_id_from_value(&id, EO_IDNUM, &v), EO_EINVAL);
    /* fits the length limit but not in 64 bits: not silently clamped */
    v = eo_cstr("99999999999999999999");
    assert_int_equal(eo_id_from_value(&id, EO_IDNUM, &v), EO_EINVAL);
    v = eo_bool(1);
    assert_int_equal(eo_id_from_value(&id, EO_IDNUM, &v), EO_EINVAL);
    v = eo_null();
    assert_int_equal(eo_id_from_value(&id, EO_IDNUM, &v), EO_EINVAL);
    v = eo_text("1\0", 2); /* embedded NUL */
    assert_int_equal(eo_id_from_value(&id, EO_IDNUM, &v), EO_EINVAL);
}

static void test_value__id_roundtrip(void **state)
{
    eo_id id;
    char hex[25];
    eo_value v = eo_cstr("0123456789abcdef01234567"), out;
    (void)state;
    assert_int_equal(eo_id_from_value(&id, EO_IDOID, &v), EO_OK);
    assert_int_equal(id.oid[0], 0x01);
    assert_int_equal(id.oid[11], 0x67);
    out = eo_id_to_value(id, EO_IDOID, hex);
    assert_string_equal(hex, "0123456789abcdef01234567");
    assert_int_equal(out.type, EO_VTEXT);
    assert_int_equal(out.u.s.n, 24);
    assert_ptr_equal(out.u.s.p, hex);
    v = eo_cstr("not-an-oid");
    assert_int_equal(eo_id_from_value(&id, EO_IDOID, &v), EO_EINVAL);
}

static void test_value__oid_forms(void **state)
{
    eo_id a, b;
    char hex[25];
    eo_value v;
    const unsigned char raw[12] = { 0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3, 4, 5, 6, 7 };
    (void)state;
    /* uppercase hex is accepted and written back lowercase */
    v = eo_cstr("DEADBEEF0001020304050607");
    assert_int_equal(eo_id_from_value(&a, EO_IDOID, &v), EO_OK);
    eo_id_to_value(a, EO_IDOID, hex);
    assert_string_equal(hex, "deadbeef0001020304050607");
    /* 12 raw bytes give the same id */
    v = eo_blob(raw, 12);
    assert_int_equal(eo_id_from_value(&b, EO_IDOID, &v), EO_OK);
    assert_true(eo_id_equal(a, b));
    assert_true(eo_id_hash(a) == eo_id_hash(b));
    assert_true(a.w[1] >> 32 == 0); /* bytes 12..15 unused and zero */
    /* refused: wrong length, bad digit, integer */
    v = eo_cstr("deadbeef000102030405060");
    assert_int_equal(eo_id_from_value(&a, EO_IDOID, &v), EO_EINVAL);
    v = eo_cstr("deadbeef00010203040506070");
    assert_int_equal(eo_id_from_value(&a, EO_IDOID, &v), EO_EINVAL);
    v = eo_cstr("deadbeef000102030405060g");
    assert_int_equal(eo_id_from_value(&a, EO_IDOID, &v), EO_EINVAL);
    v = eo_int(5);
    assert_int_equal(eo_id_from_value(&a, EO_IDOID, &v), EO_EINVAL);
    v = eo_blob(raw, 11);
    assert_int_equal(eo_id_from_value(&a, EO_IDOID, &v), EO_EINVAL);
}

static void test_value__strerror(void **state)
{
    (void)state;
    assert_string_equal(eo_strerror(EO_OK), "success");
    assert_string_equal(eo_strerror(EO_ERROR), "error");
    assert_string_equal(eo_strerror(EO_ENOMEM), "out of memory");
    assert_string_equal(eo_strerror(EO_EINVAL), "invalid input");
    assert_string_equal(eo_strerror(EO_ENOTFOUND), "not found");
    assert_string_equal(eo_strerror(EO_ECONFLICT), "conflict");
    assert_string_equal(eo_strerror(EO_EVALIDATE), "validation failed");
    assert_string_equal(eo_strerror(EO_ETIMEOUT), "timed out");
    assert_string_equal(eo_strerror(EO_EBUSY), "resource busy");
    assert_string_equal(eo_strerror(EO_ECONN), "connection failed");
    assert_string_equal(eo_strerror(EO_ETXNSTATE), "invalid transaction state");
    assert_string_equal(eo_strerror(EO_ENOTSUP), "not supported");
    assert_string_equal(eo_strerror(-999), "unknown error");
    assert_string_equal(eo_strerror(5), "unknown error");
}

static void test_value__code_name(void **state)
{
    (void)state;
    assert_string_equal(eo_code_name(EO_OK), "OK");
    assert_string_equal(eo_code_name(EO_ERROR), "ERROR");
    assert_string_equal(eo_code_name(EO_ENOMEM), "ENOMEM");
    assert_string_equal(eo_code_name(EO_EINVAL), "EINVAL");
    assert_string_equal(eo_code_name(EO_ENOTFOUND), "ENOTFOUND");
    assert_string_equal(eo_code_name(EO_ECONFLICT), "ECONFLICT");
    assert_string_equal(eo_code_name(EO_EVALIDATE), "EVALIDATE");
    assert_string_equal(eo_code_name(EO_ETIMEOUT), "ETIMEOUT");
    assert_string_equal(eo_code_name(EO_EBUSY), "EBUSY");
    assert_string_equal(eo_code_name(EO_ECONN), "ECONN");
    assert_string_equal(eo_code_name(EO_ETXNSTATE), "ETXNSTATE");
    assert_string_equal(eo_code_name(EO_ENOTSUP), "ENOTSUP");
    assert_string_equal(eo_code_name(-999), "ERROR");
}

static void test_value__error_set(void **state)
{
    eo_error err;
    char big[1000];
    (void)state;
    memset(&err, 0x5a, sizeof err);
    assert_int_equal(eo_error_set(&err, EO_EINVAL, "bad %s %d", "thing", 3), EO_EINVAL);
    assert_int_equal(err.code, EO_EINVAL);
    assert_int_equal(err.domain, EO_DOMAIN_CORE);
    assert_int_equal(err.native, 0);
    assert_string_equal(err.msg, "bad thing 3");
    assert_string_equal(err.model, "");
    assert_string_equal(err.field, "");
    /* one line: newlines become spaces */
    eo_error_set(&err, EO_ERROR, "line1\nline2\n");
    assert_string_equal(err.msg, "line1 line2 ");
    /* long messages are truncated, still NUL-terminated */
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    eo_error_set(&err, EO_ERROR, "%s", big);
    assert_int_equal(strlen(err.msg), sizeof err.msg - 1);
    /* NULL err: the code is still returned */
    assert_int_equal(eo_error_set(NULL, EO_ENOTFOUND, "x"), EO_ENOTFOUND);
}

static void test_value__error_where_and_clear(void **state)
{
    eo_error err;
    char longname[200];
    (void)state;
    eo_error_set(&err, EO_EVALIDATE, "nope");
    eo_error_where(&err, "res.partner", "age");
    assert_string_equal(err.model, "res.partner");
    assert_string_equal(err.field, "age");
    eo_error_where(&err, NULL, "name"); /* NULL leaves one unchanged */
    assert_string_equal(err.model, "res.partner");
    assert_string_equal(err.field, "name");
    memset(longname, 'm', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    eo_error_where(&err, longname, NULL);
    assert_int_equal(strlen(err.model), sizeof err.model - 1);
    eo_error_where(NULL, "a", "b");
    eo_error_clear(&err);
    assert_int_equal(err.code, EO_OK);
    assert_int_equal(err.domain, EO_DOMAIN_NONE);
    assert_string_equal(err.msg, "");
    assert_string_equal(err.model, "");
    assert_string_equal(err.field, "");
    eo_error_clear(NULL);
}

static void test_value__version(void **state)
{
    (void)state;
    assert_string_equal(eo_version(), EO_VERSION_STRING);
    assert_string_equal(eo_version(), "0.1.0");
}

static void test_value__allocator_helpers(void **state)
{
    char *s;
    int *z;
    size_t i;
    (void)state;
    s = eo_strdup("hello");
    assert_string_equal(s, "hello");
    eo_free(s);
    s = eo_strndup("hello world", 5);
    assert_string_equal(s, "hello");
    eo_free(s);
    assert_null(eo_strdup(NULL));
    assert_null(eo_strndup(NULL, 3));
    z = eo_calloc(16, sizeof *z);
    assert_non_null(z);
    for (i = 0; i < 16; i++)
        assert_int_equal(z[i], 0);
    eo_free(z);
    /* count * size overflowing size_t is refused, not wrapped */
    assert_null(eo_calloc(SIZE_MAX / 2, 4));
    eo_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value__constructors),
        cmocka_unit_test(test_value__copy_owns_text),
        cmocka_unit_test(test_value__copy_blob_with_nul_bytes),
        cmocka_unit_test(test_value__copy_scalars_and_empty),
        cmocka_unit_test(test_value__clear_accepts_null_and_borrowed),
        cmocka_unit_test(test_value__equal),
        cmocka_unit_test(test_value__compare),
        cmocka_unit_test(test_value__vtype_name),
        cmocka_unit_test(test_value__id_num),
        cmocka_unit_test(test_value__id_from_value_num),
        cmocka_unit_test(test_value__id_from_value_num_refused),
        cmocka_unit_test(test_value__id_roundtrip),
        cmocka_unit_test(test_value__oid_forms),
        cmocka_unit_test(test_value__strerror),
        cmocka_unit_test(test_value__code_name),
        cmocka_unit_test(test_value__error_set),
        cmocka_unit_test(test_value__error_where_and_clear),
        cmocka_unit_test(test_value__version),
        cmocka_unit_test(test_value__allocator_helpers),
    };
    return cmocka_run_group_tests_name("value", tests, NULL, NULL);
}
