/*
 * version.h - the fields the engine maintains (version.c) and the history
 * of tracked fields (history.c), private to the orm/ files.
 */
#ifndef EARNORM_ORM_VERSION_H
#define EARNORM_ORM_VERSION_H

#include "orm_int.h"

/* The engine's fields of a model (NULL when it has none). */
typedef struct eo_auto {
    const eo_field *version, *create_date, *write_date;
    int tracked;               /* some field has EO_FF_TRACKED */
} eo_auto;

void eo_auto__of(const eo_model *m, eo_auto *out);
/* The operation's clock reading: now, UTC, to the millisecond, as
 * canonical Datetime text written into buf (the value points there). */
eo_value eo_auto__now(char buf[40]);
/* create: set create_date, write_date (now) and version (1) in one row;
 * colof maps a field's index to its column in row, -1 when none. */
void eo_auto__stamp_create(const eo_auto *a, const int *colof, eo_value *row,
                           const eo_value *now);

/*
 * The update of a versioned write (see version.c): cols/vals as for
 * eo_env__update, with room for one more column (the version). Checks
 * and increments vf on every record of ids; EO_ECONFLICT naming the
 * record and both versions when one changed since it was read,
 * EO_ENOTFOUND when records do not exist. Run it in an atomic scope.
 */
/* flags of eo_version__update besides EO_W_*: the check of an unlink
 * (no columns but the version; ids the database lacks are skipped) */
#define EO_VERSION_UNLINK 0x100u
typedef struct eo_vcheck {
    void *pending;             /* version.c: a conflict to name after the rollback */
} eo_vcheck;
int eo_version__update(eo_env *env, const eo_model *m, const eo_field *vf, const eo_id *ids,
                       size_t n, const eo_field **cols, eo_value *vals, size_t ncols,
                       unsigned flags, eo_vcheck *vc, eo_error *err);
/* After the atomic scope ended with rc: an EO_ECONFLICT of a versioned
 * write gets its message naming the record and both versions (read now
 * that the write is undone); frees what vc holds. Returns the code. */
int eo_version__explain(eo_env *env, const eo_model *m, eo_vcheck *vc, int rc, eo_error *err);
/* migrate: version = 1 on the records of m that have none (rows older
 * than the _version declaration); notes what it did. */
int eo_version__backfill(eo_env *env, const eo_model *m, eo_migrate_note_fn note, void *payload,
                         eo_error *err);

/*
 * History (history.c). A write snapshots the old values of the tracked
 * fields it sets (one query), then adds one history row per record whose
 * tracked values changed; create and unlink add one row per record. The
 * rows go to EO_HISTORY_MODEL in the operation's atomic scope.
 */
typedef struct eo_hsnap {
    const eo_model *m;
    const eo_field **tf;       /* the tracked fields among the written columns */
    size_t *tcol;              /* tf[k] is cols[tcol[k]] */
    size_t ntf;
    eo_ids ids;                /* records found, in the order read */
    eo_value *old;             /* ids.n * ntf owned copies (nold of them made) */
    size_t nold;
} eo_hsnap;

/* Refuse create and write of history records by callers (the engine
 * writes them; unlink, which prunes, is allowed). */
int eo_history__guard(const eo_model *m, const char *op, eo_error *err);
int eo_history__before_write(eo_env *env, const eo_model *m, const eo_id *ids, size_t n,
                             const eo_field *const *cols, size_t ncols, eo_hsnap *s,
                             eo_error *err);
int eo_history__after_write(eo_env *env, eo_hsnap *s, const eo_value *vals,
                            const eo_value *now, eo_error *err);
void eo_history__free(eo_hsnap *s);
int eo_history__created(eo_env *env, const eo_model *m, const eo_field *const *cols,
                        size_t ncols, const eo_value *rows, size_t nrows, const eo_id *ids,
                        const eo_value *now, eo_error *err);
int eo_history__deleting(eo_env *env, const eo_model *m, const eo_id *ids, size_t n,
                         const eo_value *now, eo_error *err);

#endif
