/*
 * fuzz.h - shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c).
 *
 * The fixture registry every domain harness binds to, the checks each
 * harness applies to a result (an error is well formed, SQL carries every
 * value as a parameter and prepares on SQLite), and the pipeline a parsed
 * domain goes through: render, bind, normalize, compile to SQL for both
 * dialects and to a MongoDB filter.
 *
 * A harness that finds a broken invariant calls fz_die, which aborts: the
 * fuzzer reports it as a crash and keeps the input.
 */
#ifndef EARNORM_FUZZ_H
#define EARNORM_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "earnorm/earnorm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Print a message and abort (a finding). */
void fz_die(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;

/*
 * The fixture: fz.item with a field of every type (name Char(32) required,
 * code Char unique, notes Text, qty Integer 0..1000, ratio Float, active
 * Boolean, day Date, at Datetime, state Selection draft/done, data Json,
 * price Decimal(12,2), blob Binary, label computed and not stored,
 * parent_id Many2one fz.item, child_ids One2many fz.item.parent_id,
 * tag_id Many2one fz.tag, tag_ids Many2many fz.tag), and fz.tag (name
 * Char, parent_id Many2one fz.tag). Built once; Borrowed.
 * tests/fuzz/models/ declares the same models in Lua for the engine harness.
 */
eo_registry *fz_registry(void);
const eo_model *fz_item(void);

/* A failed call must say why: rc negative, err->code == rc, a message. */
void fz_check_error(int rc, const eo_error *err, const char *what);

/*
 * EARNORM_FUZZ_EXPECT=ok: every input must go through the whole pipeline
 * without an error; =error: every input must be refused. Unset: either.
 * The seed pass runs ok-* and err-* corpus files this way, so a harness
 * that stops reaching the code under test fails instead of passing.
 */
void fz_outcome(int ok, const char *what, const eo_error *err);

/*
 * Run `fn(payload)` on a thread whose stack is EARNORM_FUZZ_STACK_KB
 * kilobytes when that is set (the deep-input pass uses 512, ASan's size
 * of a 256 KiB release stack: no domain may exhaust one), else directly.
 */
void fz_run(void (*fn)(void *), void *payload);

/*
 * The pipeline for a parsed, unbound domain: render it, bind it to
 * fz.item (normalizing), render again, compile a SELECT and a COUNT for
 * SQLite and PostgreSQL (SQLite's text is prepared on a database with the
 * fixture's tables), and compile the MongoDB filter with and without
 * FerretDB's restrictions (skipped when an `any` is left, which needs a
 * server). An input over 64 KiB (`size`, the deep ones) gets the SELECT
 * and one filter only. Frees nothing: the caller frees d. Returns 1 when it bound
 * and both SQL dialects compiled (the MongoDB filter refuses numeric ids,
 * so its errors are only checked for their form).
 */
int fz_domain_pipeline(eo_domain *d, size_t size);
/* Everything the pipeline builds once (the registry, the SQLite tables):
 * call from LLVMFuzzerInitialize, so no input pays for it (a first input
 * that allocates for good would set off libFuzzer's leak check). */
void fz_domain_init(void);

#endif
