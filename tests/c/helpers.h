/*
 * helpers.h - shared by the cmocka tests: fixtures and assertions.
 */
#ifndef EARNORM_TEST_HELPERS_H
#define EARNORM_TEST_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

/* Fail unless rc is EO_OK, printing err. */
#define assert_eo_ok(rc, err)                                                        \
    do {                                                                             \
        int rc_ = (rc);                                                              \
        if (rc_ != EO_OK)                                                            \
            fail_msg("%s: expected EO_OK, got %s: %s", #rc, eo_code_name(rc_),       \
                     (err)->msg);                                                    \
    } while (0)

/* Fail unless rc is `code` and err->msg contains `needle`. */
#define assert_eo_error(rc, err, code, needle)                                       \
    do {                                                                             \
        int rc_ = (rc);                                                              \
        if (rc_ != (code))                                                           \
            fail_msg("%s: expected %s, got %s: %s", #rc, eo_code_name(code),         \
                     eo_code_name(rc_), (err)->msg);                                 \
        if ((err)->code != (code))                                                   \
            fail_msg("err->code is %s, expected %s", eo_code_name((err)->code),      \
                     eo_code_name(code));                                            \
        if (strstr((err)->msg, (needle)) == NULL)                                    \
            fail_msg("message \"%s\" lacks \"%s\"", (err)->msg, (needle));           \
    } while (0)

#endif
