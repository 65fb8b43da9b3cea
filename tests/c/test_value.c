/*
 * test_value.c - eo_value and record ids.
 */
#include "helpers.h"

static void test_value__copy_owns_text(void **state)
{
    char buf[] = "hello";
    eo_value v = eo_text(buf, 5), c;
    (void)state;
    assert_int_equal(eo_value_copy(&c, &v), EO_OK);
    buf[0] = 'j';
    assert_int_equal(c.u.s.n, 5);
    assert_memory_equal(c.u.s.p, "hello", 5);
    assert_true(c.owned);
    eo_value_clear(&c);
    assert_int_equal(c.type, EO_VNULL);
}

static void test_value__id_roundtrip(void **state)
{
    eo_id id;
    char hex[25];
    eo_value v = eo_cstr("0123456789abcdef01234567"), out;
    (void)state;
    assert_int_equal(eo_id_from_value(&id, EO_IDOID, &v), EO_OK);
    out = eo_id_to_value(id, EO_IDOID, hex);
    assert_string_equal(hex, "0123456789abcdef01234567");
    assert_int_equal(out.u.s.n, 24);
    v = eo_cstr("not-an-oid");
    assert_int_equal(eo_id_from_value(&id, EO_IDOID, &v), EO_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value__copy_owns_text),
        cmocka_unit_test(test_value__id_roundtrip),
    };
    return cmocka_run_group_tests_name("value", tests, NULL, NULL);
}
