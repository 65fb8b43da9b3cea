/*
 * test_suggest.c - "did you mean" (util/suggest.c), and the two URL
 * helpers built on the registry (adapters/registry.c): every URL option
 * checked against what the pool and the adapter read, and URLs masked for
 * display. No server is needed: pools for sqlite::memory: only, and the
 * option check runs before any connection is opened.
 */
#include "helpers.h"
#include "internal.h"
#include "util/suggest.h"

static const char *const OPTS[] = { "order", "limit", "offset", "prefetch", "fields", NULL };

static void test_suggest__closest_misspellings(void **state)
{
    static const char *const words[] = { "database", "url", "log_queries", "prefetch", "pool", NULL };
    static const char *const pool[] = { "min", "max", "timeout", "idle_timeout", "max_lifetime", "retries", NULL };
    static const char *const kinds[] = { "kind", "__count", "age", NULL };
    (void)state;
    assert_string_equal(eo_suggest__closest("databse", words, 5), "database");
    assert_string_equal(eo_suggest__closest("maxx", pool, 6), "max");
    assert_string_equal(eo_suggest__closest("timeoutt", pool, 6), "timeout");
    assert_string_equal(eo_suggest__closest("limt", OPTS, 5), "limit");
    assert_string_equal(eo_suggest__closest("ofset", OPTS, 5), "offset");
    /* a swap of two neighbours is one edit */
    assert_string_equal(eo_suggest__closest("knid", kinds, 3), "kind");
    assert_string_equal(eo_suggest__closest("lmiit", OPTS, 5), "limit");
    /* case does not matter */
    assert_string_equal(eo_suggest__closest("LIMIT", OPTS, 5), "limit");
    /* a prefix of at least 3 characters */
    assert_string_equal(eo_suggest__closest("pref", OPTS, 5), "prefetch");
    assert_string_equal(eo_suggest__closest("log", words, 5), "log_queries");
}

static void test_suggest__nothing_close(void **state)
{
    static const char *const one[] = { "a", NULL };
    (void)state;
    assert_null(eo_suggest__closest("zzzz", OPTS, 5));
    assert_null(eo_suggest__closest("bogus", OPTS, 5));
    /* three edits are too many for a 5-letter name (two are not) */
    assert_null(eo_suggest__closest("lxmxz", OPTS, 5));
    assert_string_equal(eo_suggest__closest("lxmxt", OPTS, 5), "limit");
    /* nothing in common is no suggestion, however short */
    assert_null(eo_suggest__closest("x", one, 1));
    assert_null(eo_suggest__closest(NULL, OPTS, 5));
    assert_null(eo_suggest__closest("limit", NULL, 0));
    assert_null(eo_suggest__closest("limit", OPTS, 0));
    /* the NULL entry ends the list whatever n says */
    assert_ptr_equal(eo_suggest__closest("fieldz", OPTS, 100), OPTS[4]);
}

static void test_suggest__hint_and_long_names(void **state)
{
    char buf[64], longname[300];
    static const char *const longs[] = { "a_very_long_option_name_that_goes_on_and_on_and_on_for_more_than_64_bytes_x",
                                         NULL };
    (void)state;
    assert_string_equal(eo_suggest__hint(buf, sizeof buf, "limt", OPTS, 5), " (did you mean 'limit'?)");
    assert_string_equal(eo_suggest__hint(buf, sizeof buf, "zzzz", OPTS, 5), "");
    /* past 64 bytes names are compared on their start: bounded work */
    memset(longname, 'q', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_null(eo_suggest__closest(longname, OPTS, 5));
    assert_string_equal(eo_suggest__closest("a_very_long_option_name_that_goes_on_and_on_and_on_for_more_than_64_bytes_y",
                                            longs, 1),
                        longs[0]);
}

/* ---- URLs ---------------------------------------------------------- */

static void test_suggest__url_mask(void **state)
{
    char buf[256];
    (void)state;
    assert_string_equal(eo_url__mask("postgresql://ann:hunter2@db:5432/app", buf, sizeof buf),
                        "postgresql://ann:***@db:5432/app");
    assert_string_equal(eo_url__mask("postgresql://ann@db/app?password=hunter2&sslmode=require", buf, sizeof buf),
                        "postgresql://ann@db/app?password=***&sslmode=require");
    assert_string_equal(eo_url__mask("postgresql://db/app?sslmode=require&PassWord=x&sslpassword=y", buf, sizeof buf),
                        "postgresql://db/app?sslmode=require&PassWord=***&sslpassword=***");
    assert_string_equal(eo_url__mask("mongodb://u:p@h/db?tlsCertificateKeyFilePassword=z&appname=a", buf, sizeof buf),
                        "mongodb://u:***@h/db?tlsCertificateKeyFilePassword=***&appname=a");
    /* both forms at once; an empty value; nothing to hide */
    assert_string_equal(eo_url__mask("postgresql://a:b@h/d?pwd=&x=1", buf, sizeof buf),
                        "postgresql://a:***@h/d?pwd=***&x=1");
    assert_string_equal(eo_url__mask("sqlite://demo.db?timeout=5", buf, sizeof buf), "sqlite://demo.db?timeout=5");
    assert_string_equal(eo_url__mask("sqlite::memory:", buf, sizeof buf), "sqlite::memory:");
    /* an @ in the path is not a password */
    assert_string_equal(eo_url__mask("sqlite://dir:x/a@b.db", buf, sizeof buf), "sqlite://dir:x/a@b.db");
    /* truncation stays NUL-terminated */
    assert_string_equal(eo_url__mask("postgresql://a:b@h/d", buf, 12), "postgresql:");
}

static void test_suggest__url_parse_errors_are_masked(void **state)
{
    eo_url u;
    eo_error err;
    (void)state;
    assert_eo_error(eo_url_parse(&u, "postgresql://a:hunter2@h:99999/d?password=hunter2", &err), &err, EO_EINVAL,
                    "bad port");
    assert_null(strstr(err.msg, "hunter2"));
    assert_non_null(strstr(err.msg, "password=***"));
    assert_eo_error(eo_url_parse(&u, "nocolon?password=hunter2", &err), &err, EO_EINVAL, "expected scheme://");
    assert_null(strstr(err.msg, "hunter2"));
}

static void test_suggest__url_options_checked(void **state)
{
    eo_pool *p = NULL;
    eo_error err;
    (void)state;
    assert_eo_error(eo_pool_new(&p, "sqlite::memory:?timeoutt=5", NULL, &err), &err, EO_EINVAL,
                    "unknown option 'timeoutt' for sqlite (did you mean 'timeout'?)");
    assert_null(p);
    assert_eo_error(eo_pool_new(&p, "sqlite::memory:?timeout=5&pool_maxx=2", NULL, &err), &err, EO_EINVAL,
                    "unknown option 'pool_maxx' for sqlite (did you mean 'pool_max'?)");
    assert_eo_error(eo_pool_new(&p, "sqlite::memory:?zzzz=1", NULL, &err), &err, EO_EINVAL,
                    "unknown option 'zzzz' for sqlite (it reads timeout, mode, and pool_min");
    /* the server adapters are checked before any connection is tried */
    assert_eo_error(eo_pool_new(&p, "postgresql://127.0.0.1:1/x?connect_timout=3", NULL, &err), &err, EO_EINVAL,
                    "unknown option 'connect_timout' for postgresql (did you mean 'connect_timeout'?)");
    assert_eo_error(eo_pool_new(&p, "mongodb://127.0.0.1:1/x?appnam=a", NULL, &err), &err, EO_EINVAL,
                    "unknown option 'appnam' for mongodb (did you mean 'appname'?)");
    /* MongoDB options are case-insensitive, as the driver reads them */
    assert_eo_error(eo_pool_new(&p, "mongodb://127.0.0.1:1/x?SERVERSELECTIONTIMEOUTMS=5&bogus=1", NULL, &err), &err,
                    EO_EINVAL, "unknown option 'bogus' for mongodb");
    /* known options pass */
    assert_eo_ok(eo_pool_new(&p, "sqlite::memory:?timeout=50&pool_max=3&idle_timeout=10", NULL, &err), &err);
    eo_pool_unref(p);
}

static void test_suggest__unknown_scheme_lists_the_registry(void **state)
{
    eo_pool *p = NULL;
    eo_error err;
    char buf[128];
    (void)state;
    assert_eo_error(eo_pool_new(&p, "mysql://h/d", NULL, &err), &err, EO_EINVAL,
                    "no database adapter for 'mysql://' (known: sqlite, postgresql, mongodb)");
    assert_eo_error(eo_pool_new(&p, "mongdb://h/d", NULL, &err), &err, EO_EINVAL,
                    "(did you mean 'mongodb'? known: sqlite, postgresql, mongodb)");
    assert_string_equal(eo_adapter__schemes(buf, sizeof buf), "sqlite, postgresql, mongodb");
    assert_string_equal(eo_adapter__closest_scheme("sqlit"), "sqlite");
    assert_null(eo_adapter__closest_scheme("oracle"));
}

static void test_suggest__pool_url_is_masked(void **state)
{
    eo_pool *p = NULL;
    eo_error err;
    (void)state;
    /* sqlite does not read a password: but the URL shown never holds one */
    assert_eo_ok(eo_pool_new(&p, "sqlite::memory:?timeout=5", NULL, &err), &err);
    assert_string_equal(eo_pool_url(p), "sqlite::memory:?timeout=5");
    eo_pool_unref(p);
    assert_eo_error(eo_pool_new(&p, "postgresql://u:hunter2@127.0.0.1:1/x?password=hunter2&sslmod=x", NULL, &err),
                    &err, EO_EINVAL, "sslmod");
    assert_null(strstr(err.msg, "hunter2"));
}

static void test_suggest__pool_clears_error_and_checks_nulls(void **state)
{
    eo_pool *p = NULL;
    eo_conn *c = NULL;
    eo_error err;
    (void)state;
    memset(&err, 0x5a, sizeof err);
    assert_eo_ok(eo_pool_new(&p, "sqlite::memory:", NULL, &err), &err);
    assert_int_equal(err.code, EO_OK);
    assert_string_equal(err.msg, "");
    memset(&err, 0x5a, sizeof err);
    assert_eo_ok(eo_pool_acquire(p, &c, &err), &err);
    assert_int_equal(err.code, EO_OK);
    assert_string_equal(err.msg, "");
    eo_pool_release(p, c);
    assert_eo_error(eo_pool_acquire(p, NULL, &err), &err, EO_EINVAL, "eo_pool_acquire: out is NULL");
    assert_eo_error(eo_pool_acquire(NULL, &c, &err), &err, EO_EINVAL, "eo_pool_acquire: p is NULL");
    eo_pool_unref(p);
    assert_eo_error(eo_pool_new(&p, NULL, NULL, &err), &err, EO_EINVAL, "eo_pool_new: url is NULL");
    assert_eo_error(eo_pool_new(NULL, "sqlite::memory:", NULL, &err), &err, EO_EINVAL, "eo_pool_new: out is NULL");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suggest__closest_misspellings),
        cmocka_unit_test(test_suggest__nothing_close),
        cmocka_unit_test(test_suggest__hint_and_long_names),
        cmocka_unit_test(test_suggest__url_mask),
        cmocka_unit_test(test_suggest__url_parse_errors_are_masked),
        cmocka_unit_test(test_suggest__url_options_checked),
        cmocka_unit_test(test_suggest__unknown_scheme_lists_the_registry),
        cmocka_unit_test(test_suggest__pool_url_is_masked),
        cmocka_unit_test(test_suggest__pool_clears_error_and_checks_nulls),
    };
    return cmocka_run_group_tests_name("suggest", tests, NULL, NULL);
}
