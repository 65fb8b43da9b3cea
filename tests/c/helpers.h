/*
 * helpers.h - shared by the cmocka tests: fixtures and assertions.
 */
#ifndef EARNORM_TEST_HELPERS_H
#define EARNORM_TEST_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "earnorm/earnorm.h"

/* A registry with res.partner (name Char required size 32 index, email Char
 * unique, age Integer 0..150, score Float, active Boolean default true,
 * birthday Date, seen_at Datetime, kind Selection person/company default
 * person, data Json, price Decimal(12,2), blob Binary, parent_id
 * Many2one res.partner) and res.tag (name Char). Owned by the caller. */
eo_registry *th_registry(void);
eo_model *th_partner(eo_registry *reg);
/* The same registry, reporting failures instead of failing the test (for
 * out-of-memory loops). */
int th_registry_build(eo_registry **out, eo_error *err);

/* The field `name` of m; fails the test when missing. */
const eo_field *th_field(const eo_model *m, const char *name);

/* Parse `json` as a domain, bind it to m and render the normalized tree.
 * Fails the test on any error. Owned: eo_free. */
char *th_norm(const eo_model *m, const char *json);

/* A fresh temporary directory (mkdtemp) written into buf; th_rmtree removes
 * it with everything in it. */
void th_tmpdir(char *buf, size_t cap);
void th_rmtree(const char *path);
/* Write `text` into dir/name; the full path goes into out. */
void th_write_file(char *out, size_t cap, const char *dir, const char *name, const char *text);

/* ---- servers, time, processes (pool, txn and fault tests) ---------- */

/* $EARNORM_TEST_PG_URL; fails the test (never skips) when it is unset. */
const char *th_pg_url(void);
/* Run `sql` on a fresh libpq connection to `url`; fails the test on an
 * error. With `out` non-NULL, the first column of the first row is copied
 * there (empty when there is no row). */
void th_pg_exec(const char *url, const char *sql, char *out, size_t cap);

/* A registry with one model `name`: tag Char (size 32, index), seq
 * Integer, val Integer. Owned by the caller. */
eo_registry *th_registry_simple(const char *name);
/* Rows for eo_orm_create on such a model: row i is { tag, seq = base + i,
 * val = 1 }. Pass a th_simple_src as the payload of th_simple_row. */
typedef struct th_simple_src {
    const eo_model *m;
    const char *tag;
    int64_t base;
} th_simple_src;
int th_simple_row(void *payload, size_t i, eo_kv *out, size_t cap, size_t *n, eo_error *err);

/* Monotonic milliseconds, and a sleep. */
double th_now_ms(void);
void th_sleep_ms(unsigned ms);
/* A TCP port on 127.0.0.1 nothing listens on (bound, then closed). */
int th_closed_port(void);
/* Run a shell command; its exit status, or -1 when it did not exit. */
int th_system(const char *fmt, ...);

/* Fail unless rc is EO_OK, printing err. */
#define assert_eo_ok(rc, err)                                                        \
    do {                                                                             \
        int rc_ = (rc);                                                              \
        if (rc_ != EO_OK)                                                            \
            fail_msg("%s: expected EO_OK, got %s: %s", #rc, eo_code_name(rc_),       \
                     (err)->msg);                                                    \
    } while (0)

/* Fail unless rc is `code` and err->msg contains `needle`. (The macro's
 * parameter is not called `code`: that would rewrite `(err)->code`.) */
#define assert_eo_error(rc, err, want, needle)                                       \
    do {                                                                             \
        int rc_ = (rc);                                                              \
        if (rc_ != (want))                                                           \
            fail_msg("%s: expected %s, got %s: %s", #rc, eo_code_name(want),         \
                     eo_code_name(rc_), (err)->msg);                                 \
        if ((err)->code != (want))                                                   \
            fail_msg("err->code is %s, expected %s", eo_code_name((err)->code),      \
                     eo_code_name(want));                                            \
        if (strstr((err)->msg, (needle)) == NULL)                                    \
            fail_msg("message \"%s\" lacks \"%s\"", (err)->msg, (needle));           \
    } while (0)

#endif
