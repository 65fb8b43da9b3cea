/*
 * journal.h - the undo journal for servers without transactions (journal.c).
 */
#ifndef EARNORM_JOURNAL_H
#define EARNORM_JOURNAL_H

#include "earnorm/env.h"
#include "internal.h"

typedef struct eo_journal eo_journal;

void eo_journal__free(eo_journal *j);
/* An atomic scope is open and statements are being recorded. */
int eo_journal__active(const eo_journal *j);
/* Open a scope (creating the journal on first use). */
int eo_journal__begin(eo_journal **jp, eo_error *err);
/* Close the innermost scope; when !ok, undo what it recorded. */
int eo_journal__end(eo_env *env, eo_journal *j, int ok, eo_error *err);
/* Record before (or, for inserts, after) each statement. */
int eo_journal__inserted(eo_journal *j, const eo_model *m, const eo_id *ids, size_t n,
                         eo_error *err);
int eo_journal__updating(eo_env *env, eo_journal *j, const eo_model *m, const eo_id *ids,
                         size_t n, const eo_field *const *cols, size_t ncols, eo_error *err);
int eo_journal__deleting(eo_env *env, eo_journal *j, const eo_model *m, const eo_id *ids,
                         size_t n, eo_error *err);

#endif
