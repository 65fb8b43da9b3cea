/*
 * test_convert.c - eo_field_convert: accepted inputs, canonical outputs,
 * refusals (EO_EINVAL for a wrong type, EO_EVALIDATE for a rule).
 */
#include <math.h>

#include "helpers.h"

static eo_registry *reg;
static eo_model *P;

static int setup(void **state)
{
    eo_field_spec s;
    eo_error err;
    (void)state;
    reg = th_registry();
    P = th_partner(reg);
#define ADD(...)                                                                     \
    do {                                                                             \
        memset(&s, 0, sizeof s);                                                     \
        __VA_ARGS__;                                                                 \
        if (eo_model_add_field(NULL, P, &s, &err) != EO_OK)                          \
            return -1;                                                               \
    } while (0)
    ADD(s.name = "notes"; s.type = EO_FT_TEXT);
    ADD(s.name = "ratio"; s.type = EO_FT_FLOAT; s.flags = EO_FF_HAS_MIN | EO_FF_HAS_MAX;
        s.min = 0; s.max = 1);
    ADD(s.name = "units"; s.type = EO_FT_DECIMAL; s.precision = 5; s.scale = 0);
    ADD(s.name = "fee"; s.type = EO_FT_DECIMAL; s.precision = 6; s.scale = 2;
        s.flags = EO_FF_HAS_MIN; s.min = 0);
    ADD(s.name = "child_ids"; s.type = EO_FT_ONE2MANY; s.comodel = "res.partner";
        s.inverse = "parent_id");
    ADD(s.name = "tag_ids"; s.type = EO_FT_MANY2MANY; s.comodel = "res.tag");
    ADD(s.name = "body"; s.type = EO_FT_HTML);
    ADD(s.name = "code"; s.type = EO_FT_CHAR);
    ADD(s.name = "amount"; s.type = EO_FT_MONETARY; s.currency_field = "code");
    {
        static const char *const models[] = { "res.partner", "res.tag" };
        ADD(s.name = "ref"; s.type = EO_FT_REFERENCE; s.choices = models; s.nchoices = 2);
    }
    ADD(s.name = "props"; s.type = EO_FT_PROPERTIES; s.definition = "parent_id";
        s.definition_field = "data");
#undef ADD
    return eo_registry_resolve(reg, &err) == EO_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    eo_registry_free(reg);
    return 0;
}

/* Convert `in` for field `name`; the result's text lives in *sc. */
static int conv(const char *name, eo_value in, eo_value *out, eo_value_scratch *sc,
                eo_error *err)
{
    memset(sc, 0, sizeof *sc);
    eo_error_clear(err);
    return eo_field_convert(th_field(P, name), &in, out, sc, err);
}

#define assert_text(v, want)                                                         \
    do {                                                                             \
        const char *w_ = (want);                                                     \
        assert_int_equal((v).type, EO_VTEXT);                                        \
        if ((v).u.s.n != strlen(w_) || memcmp((v).u.s.p, w_, (v).u.s.n) != 0)        \
            fail_msg("got '%.*s', expected '%s'", (int)(v).u.s.n, (v).u.s.p, w_);     \
    } while (0)

/* Convert text and expect canonical text. */
static void ok_text(const char *field, const char *in, const char *want)
{
    eo_value out;
    eo_value_scratch sc;
    eo_error err;
    int rc = conv(field, eo_cstr(in), &out, &sc, &err);
    if (rc != EO_OK)
        fail_msg("%s <- '%s': %s", field, in, err.msg);
    assert_text(out, want);
}

/* Expect a refusal with code and message. */
static void refused(const char *field, eo_value in, int code, const char *needle)
{
    eo_value out;
    eo_value_scratch sc;
    eo_error err;
    assert_eo_error(conv(field, in, &out, &sc, &err), &err, code, needle);
    assert_string_equal(err.model, "res.partner");
    assert_string_equal(err.field, field);
}

static void test_convert__null_passes_every_type(void **state)
{
    static const char *const names[] = {
        "name", "notes", "age", "score", "active", "birthday", "seen_at", "kind",
        "data", "price", "blob", "parent_id", "child_ids", "tag_ids",
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        eo_value out;
        eo_value_scratch sc;
        eo_error err;
        assert_eo_ok(conv(names[i], eo_null(), &out, &sc, &err), &err);
        assert_int_equal(out.type, EO_VNULL);
    }
}

static void test_convert__char(void **state)
{
    eo_value out, in = eo_cstr("Ann");
    eo_value_scratch sc;
    eo_error err;
    (void)state;
    assert_eo_ok(conv("name", in, &out, &sc, &err), &err);
    assert_ptr_equal(out.u.s.p, in.u.s.p); /* text is Borrowed, not copied */
    assert_int_equal(out.owned, 0);
    assert_eo_ok(conv("name", eo_int(-42), &out, &sc, &err), &err);
    assert_text(out, "-42");
    assert_eo_ok(conv("name", eo_float(1.5), &out, &sc, &err), &err);
    assert_text(out, "1.5");
    assert_eo_ok(conv("notes", eo_cstr(""), &out, &sc, &err), &err);
    assert_text(out, "");
}

static void test_convert__char_refused(void **state)
{
    (void)state;
    refused("name", eo_bool(1), EO_EINVAL, "res.partner.name: expected a string, got boolean true");
    refused("name", eo_blob("ab", 2), EO_EINVAL, "expected a string, got binary <2 bytes>");
    refused("notes", eo_bool(0), EO_EINVAL, "res.partner.notes: expected a string, got boolean false");
}

static void test_convert__char_size_counts_utf8_characters(void **state)
{
    char buf[200];
    size_t i;
    eo_value out;
    eo_value_scratch sc;
    eo_error err;
    (void)state;
    /* 32 two-byte characters (64 bytes): within size 32 */
    buf[0] = '\0';
    for (i = 0; i < 32; i++)
        strcat(buf, "\xc3\xa9");
    assert_eo_ok(conv("name", eo_cstr(buf), &out, &sc, &err), &err);
    assert_int_equal(out.u.s.n, 64);
    /* 32 four-byte characters */
    buf[0] = '\0';
    for (i = 0; i < 32; i++)
        strcat(buf, "\xf0\x9f\x98\x80");
    assert_eo_ok(conv("name", eo_cstr(buf), &out, &sc, &err), &err);
    /* 33 characters: refused with the count */
    strcat(buf, "x");
    refused("name", eo_cstr(buf), EO_EVALIDATE,
            "res.partner.name: value is 33 characters long, more than size 32");
    /* a Text field has no size */
    memset(buf, 'a', 150);
    buf[150] = '\0';
    assert_eo_ok(conv("notes", eo_cstr(buf), &out, &sc, &err), &err);
    /* an integer turned to text is checked too */
    {
        eo_field_spec s;
        eo_field *f = NULL;
        memset(&s, 0, sizeof s);
        s.name = "code3";
        s.type = EO_FT_CHAR;
        s.size = 3;
        assert_eo_ok(eo_model_add_field(&f, P, &s, &err), &err);
        refused("code3", eo_int(12345), EO_EVALIDATE, "value is 5 characters long, more than size 3");
        assert_eo_ok(conv("code3", eo_int(123), &out, &sc, &err), &err);
        assert_text(out, "123");
    }
}

static void test_convert__integer(void **state)
{
    eo_value out;
    eo_value_scratch sc;
    eo_error err;
    (void)state;
    assert_eo_ok(conv("age", eo_int(31), &out, &sc, &err), &err);
    assert_int_equal(out.type, EO_VINT);
    assert_int_equal(out.u.i, 31);
    assert_eo_ok(conv("age", eo_cstr("42"), &out, &sc, &err), &err);
    assert_int_equal(out.type, EO_VINT);
    assert_int_equal(out.u.i, 42);
    assert_eo_ok(conv("age", eo_cstr("0"), &out, &sc, &err), &err);
    assert_int_equal(out.u.i, 0);
    assert_eo_ok(conv("age", eo_float(7.0), &out, &sc, &err), &err);
    assert_int_equal(out.type, EO_VINT);
    assert_int_equal(out.u.i, 7);
    assert_eo_ok(conv("age", eo_int(150), &out, &sc, &err), &err); /* max is inclusive */
}

static void test_convert__integer_refused(void **state)
{
    (void)state;
    refused("age", eo_cstr("abc"), EO_EINVAL, "res.partner.age: expected an integer, got text 'abc'");
    refused("age", eo_cstr("42abc"), EO_EINVAL, "expected an integer");
    refused("age", eo_cstr(""), EO_EINVAL, "expected an integer");
    refused("age", eo_cstr("4.5"), EO_EINVAL, "expected an integer");
    refused("age", eo_cstr("99999999999999999999"), EO_EINVAL, "expected an integer");
    refused("age", eo_text("4\0" "2", 3), EO_EINVAL, "expected an integer");
    refused("age", eo_float(4.5), EO_EINVAL, "expected an integer, got float 4.5");
    refused("age", eo_float(NAN), EO_EINVAL, "expected an integer");
    refused("age", eo_float(1e19), EO_EINVAL, "expected an integer");
    refused("age", eo_bool(1), EO_EINVAL, "expected an integer, got boolean true");
    refused("age", eo_blob("1", 1), EO_EINVAL, "expected an integer, got binary");
}

static void test_convert__integer_range(void **state)
{
    (void)state;
    refused("age", eo_int(-1), EO_EVALIDATE, "res.partner.age: -1 is less than the minimum 0");
    refused("age", eo_int(151), EO_EVALIDATE, "res.partner.age: 151 is more than the maximum 150");
    refused("age", eo_cstr("200"), EO_EVALIDATE, "200 is more than the maximum 150");
}

static void test_convert__float(void **state)
{
    eo_value out;
    eo_value_scratch sc;
    eo_error err;
    (void)state;
    assert_eo_ok(conv("score", eo_int(3), &out, &sc, &err), &err);
    assert_int_equal(out.type, EO_VFLOAT);
    assert_true(out.u.f == 3.0);
    assert_eo_ok(conv("score", eo_cstr("2.5e2"), &out, &sc, &err), &err);
    assert_true(out.u.f == 250.0);
    assert_eo_ok(conv("score", eo_float(-0.125), &out, &sc, &err), &err);
    assert_true(out.u.f == -0.125);
    assert_eo_ok(conv("ratio", eo_float(1.0), &out, &sc, &err), &err);
    refused("score", eo_cstr("abc"), EO_EINVAL, "res.partner.score: expected a number, got text 'abc'");
    refused("score", eo_cstr("inf"), EO_EINVAL, "expected a number");
    refused("score", eo_cstr("nan"), EO_EINVAL, "expected a number");
    /* non-finite numbers: SQLite would store NULL, PostgreSQL 'NaN' and
     * FerretDB drop the connection; refused before any backend */
    refused("score", eo_float(INFINITY), EO_EINVAL,
            "res.partner.score: Infinity cannot be stored: a Float holds finite numbers only");
    refused("score", eo_float(-INFINITY), EO_EINVAL, "-Infinity cannot be stored");
    refused("score", eo_float(NAN), EO_EINVAL, "res.partner.score: NaN cannot be stored");
    refused("score", eo_bool(1), EO_EINVAL, "expected a number, got boolean");
    refused("ratio", eo_float(1.5), EO_EVALIDATE, "res.partner.ratio: 1.5 is more than the maximum 1");
    refused("ratio", eo_float(-0.5), EO_EVALIDATE, "-0.5 is less than the minimum 0");
}

static void test_convert__boolean(void **state)
{
    eo_value out;
    eo_value_scratch sc;
    eo_error err;
    (void)state;
    assert_eo_ok(conv("active", eo_bool(1), &out, &sc, &err), &err);
    assert_int_equal(out.type, EO_VBOOL);
    assert_int_equal(out.u.b, 1);
    assert_eo_ok(conv("active", eo_int(0), &out, &sc, &err), &err);
    assert_int_equal(out.type, EO_VBOOL);
    assert_int_equal(out.u.b, 0);
    assert_eo_ok(conv("active", eo_int(1), &out, &sc, &err), &err);
    assert_int_equal(out.type, EO_VBOOL);
    assert_int_equal(out.u.b, 1);
    refused("active", eo_int(2), EO_EINVAL, "res.partner.active: expected a boolean, got integer 2");
    refused("active", eo_cstr("true"), EO_EINVAL, "expected a boolean, got text 'true'");
    refused("active", eo_float(1.0), EO_EINVAL, "expected a boolean, got float");
}

static void test_convert__date(void **state)
{
    eo_value out, in = eo_cstr("2024-02-29");
    eo_value_scratch sc;
    eo_error err;
    (void)state;
    assert_eo_ok(conv("birthday", in, &out, &sc, &err), &err);
    assert_text(out, "2024-02-29");
    ok_text("birthday", "2000-02-29", "2000-02-29"); /* divisible by 400: leap */
    ok_text("birthday", "1996-02-29", "1996-02-29");
    ok_text("birthday", "0001-01-01", "0001-01-01");
    ok_text("birthday", "9999-12-31", "9999-12-31");
    ok_text("birthday", "2023-04-30", "2023-04-30");
}

static void test_convert__date_refused(void **state)
{
    (void)state;
    refused("birthday", eo_cstr("2023-02-29"), EO_EINVAL,
            "res.partner.birthday: expected a date 'YYYY-MM-DD', got '2023-02-29'");
    refused("birthday", eo_cstr("1900-02-29"), EO_EINVAL, "got '1900-02-29'"); /* century: not leap */
    refused("birthday", eo_cstr("2024-02-30"), EO_EINVAL, "expected a date");
    refused("birthday", eo_cstr("2024-04-31"), EO_EINVAL, "expected a date");
    refused("birthday", eo_cstr("2024-13-01"), EO_EINVAL, "expected a date");
    refused("birthday", eo_cstr("2024-00-10"), EO_EINVAL, "expected a date");
    refused("birthday", eo_cstr("2024-01-00"), EO_EINVAL, "expected a date");
    refused("birthday", eo_cstr("0000-01-01"), EO_EINVAL, "expected a date");
    refused("birthday", eo_cstr("2024-1-01"), EO_EINVAL, "expected a date");
    refused("birthday", eo_cstr("2024/01/01"), EO_EINVAL, "expected a date");
    refused("birthday", eo_cstr("2024-01-01 10:00:00"), EO_EINVAL, "expected a date");
    refused("birthday", eo_cstr("yesterday"), EO_EINVAL, "expected a date");
    refused("birthday", eo_int(20240101), EO_EINVAL, "expected a date 'YYYY-MM-DD', got 20240101");
}

static void test_convert__datetime_text(void **state)
{
    (void)state;
    ok_text("seen_at", "2024-01-02 03:04:05", "2024-01-02 03:04:05");
    ok_text("seen_at", "2024-01-02T03:04:05", "2024-01-02 03:04:05");
    ok_text("seen_at", "2024-01-02T03:04:05Z", "2024-01-02 03:04:05");
    ok_text("seen_at", "2024-01-02T03:04:05z", "2024-01-02 03:04:05");
    ok_text("seen_at", "2024-01-02", "2024-01-02 00:00:00");
    ok_text("seen_at", "2024-01-02 03:04", "2024-01-02 03:04:00");
    ok_text("seen_at", "2024-01-02 03:04:05.5", "2024-01-02 03:04:05.500000");
    ok_text("seen_at", "2024-01-02 03:04:05.123456789", "2024-01-02 03:04:05.123456");
    ok_text("seen_at", "2024-01-02 03:04:05.000", "2024-01-02 03:04:05");
    /* microseconds survive at both ends of the range */
    ok_text("seen_at", "2024-01-02 03:04:05.000001", "2024-01-02 03:04:05.000001");
    ok_text("seen_at", "9999-12-31 23:59:59.999999", "9999-12-31 23:59:59.999999");
    ok_text("seen_at", "0001-01-01 00:00:00.000001", "0001-01-01 00:00:00.000001");
}

static void test_convert__datetime_offsets_to_utc(void **state)
{
    (void)state;
    ok_text("seen_at", "2024-01-02T03:04:05+02:00", "2024-01-02 01:04:05");
    ok_text("seen_at", "2024-01-02T03:04:05-05:30", "2024-01-02 08:34:05");
    /* across a day, a month, a year and a leap day */
    ok_text("seen_at", "2024-01-01T01:00:00+02:00", "2023-12-31 23:00:00");
    ok_text("seen_at", "2023-12-31T23:30:00-01:00", "2024-01-01 00:30:00");
    ok_text("seen_at", "2024-03-01T00:15:00+00:30", "2024-02-29 23:45:00");
    ok_text("seen_at", "2024-01-02 03:04+02:00", "2024-01-02 01:04:00");
    ok_text("seen_at", "2024-01-02T03:04:05.25+01:00", "2024-01-02 02:04:05.250000");
}

static void test_convert__datetime_epoch(void **state)
{
    eo_value out;
    eo_value_scratch sc;
    eo_error err;
    (void)state;
    assert_eo_ok(conv("seen_at", eo_int(0), &out, &sc, &err), &err);
    assert_text(out, "1970-01-01 00:00:00");
    assert_ptr_equal(out.u.s.p, sc.buf); /* new text lives in the scratch */
    assert_eo_ok(conv("seen_at", eo_int(1700000000), &out, &sc, &err), &err);
    assert_text(out, "2023-11-14 22:13:20");
    assert_eo_ok(conv("seen_at", eo_int(951782400), &out, &sc, &err), &err);
    assert_text(out, "2000-02-29 00:00:00");
    assert_eo_ok(conv("seen_at", eo_int(-1), &out, &sc, &err), &err);
    assert_text(out, "1969-12-31 23:59:59");
    assert_eo_ok(conv("seen_at", eo_float(1.25), &out, &sc, &err), &err);
    assert_text(out, "1970-01-01 00:00:01.250000");
    assert_eo_ok(conv("seen_at", eo_float(-0.5), &out, &sc, &err), &err);
    assert_text(out, "1969-12-31 23:59:59.500000");
    /* microseconds that round up carry into the next second, day and year */
    assert_eo_ok(conv("seen_at", eo_float(59.9999999), &out, &sc, &err), &err);
    assert_text(out, "1970-01-01 00:01:00");
    assert_eo_ok(conv("seen_at", eo_float(86399.9999999), &out, &sc, &err), &err);
    assert_text(out, "1970-01-02 00:00:00");
}

static void test_convert__datetime_refused(void **state)
{
    (void)state;
    refused("seen_at", eo_cstr("2024-01-02 25:00:00"), EO_EINVAL,
            "res.partner.seen_at: expected a datetime 'YYYY-MM-DD HH:MM:SS' (UTC), got '2024-01-02 25:00:00'");
    refused("seen_at", eo_cstr("2024-01-02 10:60:00"), EO_EINVAL, "expected a datetime");
    refused("seen_at", eo_cstr("2024-01-02 10:00:61"), EO_EINVAL, "expected a datetime");
    refused("seen_at", eo_cstr("2024-01-02X03:04:05"), EO_EINVAL, "expected a datetime");
    refused("seen_at", eo_cstr("2024-01-02T03:04:05+2"), EO_EINVAL, "expected a datetime");
    refused("seen_at", eo_cstr("2024-01-02T03:04:05+24:00"), EO_EINVAL, "expected a datetime");
    refused("seen_at", eo_cstr("2024-01-02T03:04:05Zjunk"), EO_EINVAL, "expected a datetime");
    refused("seen_at", eo_cstr("2024-01-02 03:04:05."), EO_EINVAL, "expected a datetime");
    refused("seen_at", eo_cstr("2024-01-02 3:04:05"), EO_EINVAL, "expected a datetime");
    refused("seen_at", eo_cstr("2023-02-29 00:00:00"), EO_EINVAL, "expected a datetime");
    refused("seen_at", eo_cstr("now"), EO_EINVAL, "got 'now'");
    refused("seen_at", eo_bool(1), EO_EINVAL, "expected a datetime");
    /* epochs outside years 1..9999 */
    refused("seen_at", eo_int(253402300800LL), EO_EINVAL, "res.partner.seen_at: timestamp 253402300800 is out of range");
    refused("seen_at", eo_int(-62135596801LL), EO_EINVAL, "is out of range");
    refused("seen_at", eo_float(1e20), EO_EINVAL, "is out of range");
    refused("seen_at", eo_float(-1e300), EO_EINVAL, "is out of range");
    refused("seen_at", eo_int(INT64_MAX), EO_EINVAL, "is out of range");
    refused("seen_at", eo_float(NAN), EO_EINVAL, "res.partner.seen_at: timestamp");
    refused("seen_at", eo_float(INFINITY), EO_EINVAL, "res.partner.seen_at: timestamp");
}

static void test_convert__selection(void **state)
{
    eo_value out;
    eo_value_scratch sc;
    eo_error err;
    (void)state;
    assert_eo_ok(conv("kind", eo_cstr("company"), &out, &sc, &err), &err);
    assert_text(out, "company");
    refused("kind", eo_cstr("alien"), EO_EVALIDATE,
            "res.partner.kind: 'alien' is not one of: person, company");
    refused("kind", eo_cstr("Person"), EO_EVALIDATE, "'Person' is not one of"); /* exact */
    refused("kind", eo_cstr("pers"), EO_EVALIDATE, "'pers' is not one of");
    refused("kind", eo_cstr("personx"), EO_EVALIDATE, "'personx' is not one of");
    refused("kind", eo_int(1), EO_EVALIDATE, "'1' is not one of");
    refused("kind", eo_bool(1), EO_EINVAL, "res.partner.kind: expected a string, got boolean");
}

static void test_convert__json(void **state)
{
    eo_value out;
    eo_value_scratch sc;
    eo_error err;
    (void)state;
    ok_text("data", "{\"k\":[1,2]}", "{\"k\":[1,2]}");
    assert_eo_ok(conv("data", eo_int(42), &out, &sc, &err), &err);
    assert_text(out, "42");
    assert_eo_ok(conv("data", eo_float(1.5), &out, &sc, &err), &err);
    assert_text(out, "1.5");
    assert_eo_ok(conv("data", eo_bool(1), &out, &sc, &err), &err);
    assert_text(out, "true");
    assert_eo_ok(conv("data", eo_bool(0), &out, &sc, &err), &err);
    assert_text(out, "false");
    refused("data", eo_blob("x", 1), EO_EINVAL, "res.partner.data: expected JSON text, got binary");
}

static void test_convert__json_must_be_plain_json(void **state)
{
    char deep[2 * 300 + 1];
    size_t i;
    (void)state;
    /* any JSON value, extended-JSON lookalikes included: they are data */
    ok_text("data", " [1, -0.5e3, \"\\u00e9\\ud83d\\ude00\", {\"$date\": 0}, null] ",
            " [1, -0.5e3, \"\\u00e9\\ud83d\\ude00\", {\"$date\": 0}, null] ");
    ok_text("data", "{\"__json__\": \"x\", \"a.b\": {\"$undefined\": true}}",
            "{\"__json__\": \"x\", \"a.b\": {\"$undefined\": true}}");
    ok_text("data", "12345678901234567890", "12345678901234567890"); /* a double */
    /* what no backend stores as the same value */
    refused("data", eo_cstr("NaN"), EO_EINVAL,
            "res.partner.data: not valid JSON: NaN and Infinity are not JSON numbers (at byte 0)");
    refused("data", eo_cstr("[1, Infinity]"), EO_EINVAL, "NaN and Infinity are not JSON numbers (at byte 4)");
    refused("data", eo_cstr("{\"x\": -Infinity}"), EO_EINVAL, "NaN and Infinity");
    refused("data", eo_cstr("1e400"), EO_EINVAL, "number out of range (JSON numbers must fit a double)");
    refused("data", eo_cstr("\"a\\u0000b\""), EO_EINVAL, "\\u0000 in a string");
    refused("data", eo_cstr("\"\\ud800\""), EO_EINVAL, "lone high surrogate");
    refused("data", eo_cstr("\"\\udc00\""), EO_EINVAL, "lone low surrogate");
    refused("data", eo_text("\"a\0b\"", 5), EO_EINVAL, "NUL byte in JSON text (at byte 2)");
    refused("data", eo_cstr("\"\xff\""), EO_EINVAL, "invalid UTF-8 (at byte 1)");
    refused("data", eo_cstr("{\"a\": 1,}"), EO_EINVAL, "a key (a string) expected");
    refused("data", eo_cstr("[1 2]"), EO_EINVAL, "',' or ']' expected");
    refused("data", eo_cstr("{'a': 1}"), EO_EINVAL, "a key (a string) expected");
    refused("data", eo_cstr("[1] x"), EO_EINVAL, "text after the value");
    refused("data", eo_cstr(""), EO_EINVAL, "empty text");
    refused("data", eo_cstr("{\"a\": {\"$undefined\": true"), EO_EINVAL, "unexpected end");
    refused("data", eo_cstr("\"tab\there\""), EO_EINVAL, "control character in a string");
    refused("data", eo_cstr("01"), EO_EINVAL, "text after the value");
    refused("data", eo_float(NAN), EO_EINVAL, "NaN is not a JSON number");
    refused("data", eo_float(INFINITY), EO_EINVAL, "Infinity is not a JSON number");
    /* nesting: 256 levels pass, 257 are over the documented limit */
    for (i = 0; i < 256; i++)
        deep[i] = '[';
    for (i = 0; i < 256; i++)
        deep[256 + i] = ']';
    deep[512] = '\0';
    ok_text("data", deep, deep);
    for (i = 0; i < 257; i++)
        deep[i] = '[';
    for (i = 0; i < 257; i++)
        deep[257 + i] = ']';
    deep[514] = '\0';
    refused("data", eo_cstr(deep), EO_ELIMIT, "res.partner.data: the value is nested more than 256 levels");
}

/* Text fields hold UTF-8 text: a NUL byte or invalid UTF-8 would be cut
 * (PostgreSQL), replaced (MongoDB) or kept (SQLite) by the backends. */
static void test_convert__text_must_be_utf8_without_nul(void **state)
{
    static const char *const fields[] = { "name", "notes" };
    size_t i;
    (void)state;
    for (i = 0; i < 2; i++) {
        const char *f = fields[i];
        refused(f, eo_text("a\0b", 3), EO_EINVAL,
                "text holds a NUL byte (at byte 1); use a Binary field for bytes");
        refused(f, eo_cstr("a\xff"), EO_EINVAL, "text is not valid UTF-8 (byte 0xff at 1)");
        refused(f, eo_cstr("\xc0\xaf"), EO_EINVAL, "byte 0xc0 at 0");       /* overlong '/' */
        refused(f, eo_cstr("x\xed\xa0\x80"), EO_EINVAL, "byte 0xed at 1"); /* a surrogate */
        refused(f, eo_cstr("\xf4\x90\x80\x80"), EO_EINVAL, "byte 0xf4 at 0"); /* > U+10FFFF */
        refused(f, eo_cstr("ab\xe2\x82"), EO_EINVAL, "byte 0xe2 at 2");     /* cut short */
        refused(f, eo_cstr("\x80"), EO_EINVAL, "byte 0x80 at 0");
        ok_text(f, "\xe2\x82\xac \xf0\x9f\x98\x80 \xc3\xa9", "\xe2\x82\xac \xf0\x9f\x98\x80 \xc3\xa9");
    }
    refused("kind", eo_text("person\0", 7), EO_EINVAL, "res.partner.kind: text holds a NUL byte");
    refused("kind", eo_cstr("\xff"), EO_EINVAL, "res.partner.kind: text is not valid UTF-8");
}

static void test_convert__decimal(void **state)
{
    eo_value out;
    eo_value_scratch sc;
    eo_error err;
    (void)state;
    ok_text("price", "10", "10.00");
    ok_text("price", "10.5", "10.50");
    ok_text("price", "1.005", "1.01"); /* half away from zero, exactly */
    ok_text("price", "1.004999", "1.00");
    ok_text("price", "-1.005", "-1.01");
    ok_text("price", "-0.001", "0.00"); /* no negative zero */
    ok_text("price", "0.999", "1.00");
    ok_text("price", "+5", "5.00");
    ok_text("price", "007.5", "7.50");
    ok_text("price", ".25", "0.25");
    ok_text("price", "9999999999.99", "9999999999.99"); /* 10 integer digits fit (12, 2) */
    ok_text("price", "9999999999.994", "9999999999.99");
    assert_eo_ok(conv("price", eo_int(3), &out, &sc, &err), &err);
    assert_text(out, "3.00");
    assert_eo_ok(conv("price", eo_int(-3), &out, &sc, &err), &err);
    assert_text(out, "-3.00");
    /* a float reads back as the literal the user wrote: 2.675 is 2.67499999... */
    assert_eo_ok(conv("price", eo_float(2.675), &out, &sc, &err), &err);
    assert_text(out, "2.68");
    assert_eo_ok(conv("price", eo_float(0.1 + 0.2), &out, &sc, &err), &err);
    assert_text(out, "0.30");
    assert_eo_ok(conv("price", eo_float(1e-7), &out, &sc, &err), &err);
    assert_text(out, "0.00");
    /* scale 0 */
    ok_text("units", "2.5", "3");
    ok_text("units", "2.49", "2");
    ok_text("units", "99999", "99999");
}

static void test_convert__decimal_refused(void **state)
{
    (void)state;
    refused("price", eo_cstr("10000000000"), EO_EVALIDATE,
            "res.partner.price: '10000000000' does not fit digits (12, 2)");
    /* rounding up can overflow the digits */
    refused("price", eo_cstr("9999999999.995"), EO_EVALIDATE, "does not fit digits (12, 2)");
    refused("units", eo_cstr("99999.5"), EO_EVALIDATE, "does not fit digits (5, 0)");
    refused("price", eo_float(1e11), EO_EVALIDATE, "does not fit digits (12, 2)");
    refused("price", eo_float(1e30), EO_EVALIDATE, "does not fit digits (12, 2)");
    refused("price", eo_int(INT64_MAX), EO_EVALIDATE, "does not fit digits");
    /* 62 or more integer digits once wrote past a 64-byte buffer (fuzz) */
    refused("price", eo_cstr("44444444444444444444444444444444444444444444444444444444444444"),
            EO_EVALIDATE, "does not fit digits (12, 2)");
    refused("price", eo_cstr("4444444444444444444444444444444444444444444444444444444444444444444444444444.5"),
            EO_EVALIDATE, "does not fit digits (12, 2)");
    refused("price", eo_cstr("abc"), EO_EINVAL, "res.partner.price: expected a decimal number, got 'abc'");
    refused("price", eo_cstr("1.2.3"), EO_EINVAL, "expected a decimal number");
    refused("price", eo_cstr("1e5"), EO_EINVAL, "expected a decimal number");
    refused("price", eo_cstr(""), EO_EINVAL, "expected a decimal number");
    refused("price", eo_cstr("."), EO_EINVAL, "expected a decimal number");
    refused("price", eo_cstr("-"), EO_EINVAL, "expected a decimal number");
    refused("price", eo_cstr(" 1"), EO_EINVAL, "expected a decimal number");
    refused("price", eo_float(NAN), EO_EINVAL, "expected a decimal number, got float");
    refused("price", eo_bool(1), EO_EINVAL, "expected a decimal number, got boolean");
    refused("fee", eo_cstr("-0.01"), EO_EVALIDATE, "res.partner.fee: -0.01 is less than the minimum 0");
}

static void test_convert__binary(void **state)
{
    const char bytes[] = { 'a', '\0', 'b' };
    eo_value out;
    eo_value_scratch sc;
    eo_error err;
    (void)state;
    assert_eo_ok(conv("blob", eo_blob(bytes, 3), &out, &sc, &err), &err);
    assert_int_equal(out.type, EO_VBLOB);
    assert_int_equal(out.u.s.n, 3);
    assert_ptr_equal(out.u.s.p, bytes);
    assert_eo_ok(conv("blob", eo_text(bytes, 3), &out, &sc, &err), &err);
    assert_int_equal(out.type, EO_VBLOB); /* a (Lua) string becomes bytes */
    assert_int_equal(out.u.s.n, 3);
    refused("blob", eo_int(1), EO_EINVAL, "res.partner.blob: expected binary data (a string), got integer");
    /* any bytes: NUL and invalid UTF-8 are what Binary is for */
    assert_eo_ok(conv("blob", eo_text("\0\xff\xc0", 3), &out, &sc, &err), &err);
    assert_int_equal(out.type, EO_VBLOB);
    assert_int_equal(out.u.s.n, 3);
}

static void test_convert__many2one(void **state)
{
    eo_value out;
    eo_value_scratch sc;
    eo_error err;
    (void)state;
    assert_eo_ok(conv("parent_id", eo_int(5), &out, &sc, &err), &err);
    assert_int_equal(out.type, EO_VINT);
    assert_int_equal(out.u.i, 5);
    assert_eo_ok(conv("parent_id", eo_float(6.0), &out, &sc, &err), &err);
    assert_int_equal(out.type, EO_VINT);
    assert_int_equal(out.u.i, 6);
    assert_eo_ok(conv("parent_id", eo_cstr("0123456789abcdef01234567"), &out, &sc, &err), &err);
    assert_int_equal(out.type, EO_VTEXT); /* ObjectId text: the adapter decides */
    refused("parent_id", eo_float(6.5), EO_EINVAL,
            "res.partner.parent_id: expected a record or an id of res.partner, got float 6.5");
    refused("parent_id", eo_float(1e30), EO_EINVAL, "expected a record or an id of res.partner");
    refused("parent_id", eo_float(NAN), EO_EINVAL, "expected a record or an id");
    refused("parent_id", eo_bool(1), EO_EINVAL, "got boolean true");
}

static void test_convert__x2many_not_plain(void **state)
{
    (void)state;
    refused("child_ids", eo_int(1), EO_ENOTSUP, "res.partner.child_ids: x2many values are not plain values");
    refused("tag_ids", eo_cstr("[1]"), EO_ENOTSUP, "res.partner.tag_ids: x2many values are not plain values");
}

static void test_convert__err_may_be_null(void **state)
{
    eo_value in = eo_cstr("abc"), out;
    eo_value_scratch sc;
    (void)state;
    memset(&sc, 0, sizeof sc);
    assert_int_equal(eo_field_convert(th_field(P, "age"), &in, &out, &sc, NULL), EO_EINVAL);
    in = eo_int(500);
    assert_int_equal(eo_field_convert(th_field(P, "age"), &in, &out, &sc, NULL), EO_EVALIDATE);
}

static void test_convert__html_is_text(void **state)
{
    eo_value out;
    eo_value_scratch sc;
    eo_error err;
    (void)state;
    assert_int_equal(eo_ftype_base(EO_FT_HTML), EO_FT_TEXT);
    assert_string_equal(eo_ftype_name(EO_FT_HTML), "Html");
    assert_int_equal(eo_ftype_from_name("Html"), EO_FT_HTML);
    assert_eo_ok(conv("body", eo_cstr("<b onclick=\"x\">hi</b>"), &out, &sc, &err), &err);
    assert_text(out, "<b onclick=\"x\">hi</b>"); /* as given: no sanitizing yet */
    assert_eo_ok(conv("body", eo_int(7), &out, &sc, &err), &err);
    assert_text(out, "7");
    assert_eo_error(conv("body", eo_text("a\0b", 3), &out, &sc, &err), &err, EO_EINVAL,
                    "res.partner.body: text holds a NUL byte");
}

static void test_convert__monetary_is_decimal(void **state)
{
    eo_value out;
    eo_value_scratch sc;
    eo_error err;
    const eo_field *f = th_field(P, "amount");
    (void)state;
    assert_int_equal(eo_ftype_base(EO_FT_MONETARY), EO_FT_DECIMAL);
    assert_int_equal(f->precision, 18); /* Decimal's default digits */
    assert_int_equal(f->scale, 2);
    assert_string_equal(f->currency_field, "code");
    assert_eo_ok(conv("amount", eo_cstr("12.345"), &out, &sc, &err), &err);
    assert_text(out, "12.35");
    assert_eo_ok(conv("amount", eo_float(0.1), &out, &sc, &err), &err);
    assert_text(out, "0.10");
    assert_eo_ok(conv("amount", eo_int(-3), &out, &sc, &err), &err);
    assert_text(out, "-3.00");
    assert_eo_error(conv("amount", eo_cstr("1234567890123456789"), &out, &sc, &err), &err,
                    EO_EVALIDATE, "does not fit digits (18, 2)");
    assert_eo_error(conv("amount", eo_cstr("12,5"), &out, &sc, &err), &err, EO_EINVAL,
                    "res.partner.amount: expected a decimal number");
}

static void test_convert__reference(void **state)
{
    eo_value out;
    eo_value_scratch sc;
    eo_error err;
    (void)state;
    assert_int_equal(eo_ftype_base(EO_FT_REFERENCE), EO_FT_CHAR);
    assert_eo_ok(conv("ref", eo_cstr("res.partner,5"), &out, &sc, &err), &err);
    assert_text(out, "res.partner,5");
    assert_eo_ok(conv("ref", eo_cstr("res.tag,0123456789abcdef01234567"), &out, &sc, &err), &err);
    assert_text(out, "res.tag,0123456789abcdef01234567");
    assert_eo_error(conv("ref", eo_cstr("res.other,5"), &out, &sc, &err), &err, EO_EINVAL,
                    "res.partner.ref: model res.other is not one this Reference may point to "
                    "(res.partner, res.tag)");
    assert_string_equal(err.field, "ref");
    assert_eo_error(conv("ref", eo_cstr("res.partner"), &out, &sc, &err), &err, EO_EINVAL,
                    "expected \"model,id\"");
    assert_eo_error(conv("ref", eo_cstr("res.partner,05"), &out, &sc, &err), &err, EO_EINVAL,
                    "expected \"model,id\"");
    assert_eo_error(conv("ref", eo_cstr("res.partner,0123456789ABCDEF01234567"), &out, &sc, &err),
                    &err, EO_EINVAL, "expected \"model,id\"");
    assert_eo_error(conv("ref", eo_cstr(",5"), &out, &sc, &err), &err, EO_EINVAL,
                    "expected \"model,id\"");
    assert_eo_error(conv("ref", eo_int(5), &out, &sc, &err), &err, EO_EINVAL,
                    "expected a record or \"model,id\", got integer");
}

static void test_convert__properties_are_an_object_of_scalars(void **state)
{
    eo_value out;
    eo_value_scratch sc;
    eo_error err;
    (void)state;
    assert_int_equal(eo_ftype_base(EO_FT_PROPERTIES), EO_FT_JSON);
    assert_eo_ok(conv("props", eo_cstr("{\"a\": 1, \"b\": \"x\", \"c\": null, \"d\": true, "
                                       "\"e\": 2.5}"), &out, &sc, &err), &err);
    assert_eo_ok(conv("props", eo_cstr("{}"), &out, &sc, &err), &err);
    assert_eo_error(conv("props", eo_cstr("[1]"), &out, &sc, &err), &err, EO_EINVAL,
                    "an object of property values, got an array");
    assert_eo_error(conv("props", eo_cstr("{\"a\": {\"b\": 1}}"), &out, &sc, &err), &err,
                    EO_EINVAL, "a property value is a string, number, boolean or null");
    assert_eo_error(conv("props", eo_cstr("{\"a\": [1]}"), &out, &sc, &err), &err, EO_EINVAL,
                    "not a list or an object");
    assert_eo_error(conv("props", eo_cstr("5"), &out, &sc, &err), &err, EO_EINVAL,
                    "res.partner.props: a Properties value is an object of property values");
    assert_eo_error(conv("props", eo_cstr("{\"a\": NaN}"), &out, &sc, &err), &err, EO_EINVAL,
                    "not valid JSON");
    assert_eo_error(conv("props", eo_int(1), &out, &sc, &err), &err, EO_EINVAL,
                    "expected an object of property values, got integer");
}

/* What the types built on others need is checked when they are declared
 * (their options) and when the registry resolves (what they name). */
static void test_convert__built_types_declared(void **state)
{
    eo_registry *r = th_registry();
    eo_model *m = th_partner(r);
    eo_field_spec s;
    eo_error err;
    static const char *const bad_models[] = { "Not A Model" };
    static const char *const missing[] = { "res.missing" };
    (void)state;
    memset(&s, 0, sizeof s);
    s.name = "ref";
    s.type = EO_FT_REFERENCE;
    assert_eo_error(eo_model_add_field(NULL, m, &s, &err), &err, EO_EINVAL,
                    "res.partner.ref: a Reference needs selection");
    s.choices = bad_models;
    s.nchoices = 1;
    assert_eo_error(eo_model_add_field(NULL, m, &s, &err), &err, EO_EINVAL,
                    "selection: 'Not A Model' is not a model name");
    memset(&s, 0, sizeof s);
    s.name = "props";
    s.type = EO_FT_PROPERTIES;
    assert_eo_error(eo_model_add_field(NULL, m, &s, &err), &err, EO_EINVAL,
                    "a Properties field needs definition");
    memset(&s, 0, sizeof s);
    s.name = "amount";
    s.type = EO_FT_FLOAT;
    s.currency_field = "name";
    assert_eo_error(eo_model_add_field(NULL, m, &s, &err), &err, EO_EINVAL,
                    "currency_field applies to Monetary fields only");
    /* what they name is looked for when the registry is complete */
    memset(&s, 0, sizeof s);
    s.name = "amount";
    s.type = EO_FT_MONETARY;
    assert_eo_ok(eo_model_add_field(NULL, m, &s, &err), &err);
    assert_eo_error(eo_registry_resolve(r, &err), &err, EO_ENOTFOUND,
                    "res.partner.amount: currency_field 'currency_id' is not a field of res.partner");
    assert_string_equal(err.field, "amount");
    memset(&s, 0, sizeof s);
    s.name = "currency_id";
    s.type = EO_FT_MANY2ONE;
    s.comodel = "res.partner";
    assert_eo_ok(eo_model_add_field(NULL, m, &s, &err), &err);
    memset(&s, 0, sizeof s);
    s.name = "ref";
    s.type = EO_FT_REFERENCE;
    s.choices = missing;
    s.nchoices = 1;
    assert_eo_ok(eo_model_add_field(NULL, m, &s, &err), &err);
    assert_eo_error(eo_registry_resolve(r, &err), &err, EO_ENOTFOUND,
                    "res.partner.ref: selection names model res.missing, which is not defined");
    eo_registry_free(r);

    r = th_registry();
    m = th_partner(r);
    memset(&s, 0, sizeof s);
    s.name = "props";
    s.type = EO_FT_PROPERTIES;
    s.definition = "parent_id"; /* res.partner has no properties_definition */
    assert_eo_ok(eo_model_add_field(NULL, m, &s, &err), &err);
    assert_string_equal(th_field(m, "props")->definition_field, "properties_definition");
    assert_eo_error(eo_registry_resolve(r, &err), &err, EO_ENOTFOUND,
                    "the definition model res.partner needs a stored Json field "
                    "'properties_definition'");
    eo_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_convert__null_passes_every_type),
        cmocka_unit_test(test_convert__char),
        cmocka_unit_test(test_convert__char_refused),
        cmocka_unit_test(test_convert__char_size_counts_utf8_characters),
        cmocka_unit_test(test_convert__integer),
        cmocka_unit_test(test_convert__integer_refused),
        cmocka_unit_test(test_convert__integer_range),
        cmocka_unit_test(test_convert__float),
        cmocka_unit_test(test_convert__boolean),
        cmocka_unit_test(test_convert__date),
        cmocka_unit_test(test_convert__date_refused),
        cmocka_unit_test(test_convert__datetime_text),
        cmocka_unit_test(test_convert__datetime_offsets_to_utc),
        cmocka_unit_test(test_convert__datetime_epoch),
        cmocka_unit_test(test_convert__datetime_refused),
        cmocka_unit_test(test_convert__selection),
        cmocka_unit_test(test_convert__json),
        cmocka_unit_test(test_convert__json_must_be_plain_json),
        cmocka_unit_test(test_convert__text_must_be_utf8_without_nul),
        cmocka_unit_test(test_convert__decimal),
        cmocka_unit_test(test_convert__decimal_refused),
        cmocka_unit_test(test_convert__binary),
        cmocka_unit_test(test_convert__many2one),
        cmocka_unit_test(test_convert__x2many_not_plain),
        cmocka_unit_test(test_convert__err_may_be_null),
        cmocka_unit_test(test_convert__html_is_text),
        cmocka_unit_test(test_convert__monetary_is_decimal),
        cmocka_unit_test(test_convert__reference),
        cmocka_unit_test(test_convert__properties_are_an_object_of_scalars),
        cmocka_unit_test(test_convert__built_types_declared),
    };
    return cmocka_run_group_tests_name("convert", tests, setup, teardown);
}
