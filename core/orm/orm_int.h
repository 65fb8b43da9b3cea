/*
 * orm_int.h - helpers shared by the orm/ files.
 */
#ifndef EARNORM_ORM_INT_H
#define EARNORM_ORM_INT_H

#include "../env_int.h"

/* domain.c: a bound `f in vals` (vals Borrowed), no normalization. */
int eo_domain__in_list(eo_domain **out, const eo_model *m, const eo_field *f,
                       const eo_value *vals, size_t n);
/* search.c: a row callback appending row[0] as an id to out (search, cursors). */
typedef struct eo_orm__ids_ctx {
    eo_ids *out;
    eo_idkind kind;
} eo_orm__ids_ctx;
int eo_orm__push_id(void *payload, const eo_value *row, size_t ncols, eo_error *err);
int eo_domain__range(eo_domain **out, const eo_model *m, const eo_field *f, eo_value lo,
                     eo_value hi);
/* domain.c: replace a leaf's values with a list copied into d's arena. */
int eo_domain__set_list(eo_domain *d, eo_dnode *n, const eo_value *v, size_t nv);
/* Bind d to m when not bound yet and resolve child_of / parent_of leaves. */
int eo_orm__prepare(eo_env *env, const eo_model *m, eo_domain *d, eo_error *err);
/* search.c: q for a search of m (domain prepared, order parsed into *items:
 * Owned, eo_free it even on failure; window checked). */
int eo_orm__query_init(eo_env *env, eo_query *q, const eo_model *m, eo_domain *d,
                       const char *order, int64_t limit, int64_t offset,
                       eo_order_item **items, eo_error *err);
/* Stream `fields` of m's records whose field f has one of vals (ordered:
 * by m's order), in one query. */
int eo_orm__select_in(eo_env *env, const eo_model *m, const eo_field *f, const eo_value *vals,
                      size_t n, const eo_field *const *fields, size_t nfields, int ordered,
                      eo_row_fn fn, void *payload, eo_error *err);
/* ids as values (hex is the text of ObjectIds); both Owned, eo_free them. */
int eo_orm__id_values(eo_env *env, const eo_id *ids, size_t n, eo_value **vals,
                      char (**hex)[25]);
/* read.c: the ids of the prefetch window around id (from hint) lacking f, id included. */
int eo_orm__missing(eo_env *env, const eo_model *m, const eo_field *f, const eo_id *pre,
                    size_t npre, size_t hint, eo_id id, eo_ids *out);
/* x2many.c: does any One2many or Many2many hang on Many2one f? */
int eo_orm__has_dependents(eo_env *env, const eo_field *f);
/* x2many.c: load f (One2many / Many2many) of ids into the store */
int eo_orm__load_x2many(eo_env *env, const eo_model *m, const eo_id *ids, size_t n,
                        const eo_field *f, eo_error *err);
/* x2many.c: forget cached x2many values that a change of Many2one field f
 * (on records of f's model) affects: the One2many fields it is the inverse
 * of, and the Many2many fields whose junction column it is, on the old and
 * new targets. oldv NULL: the old target is unknown (forget everywhere);
 * a NULL value: there was none. */
void eo_orm__relation_changed(eo_env *env, const eo_field *f, const eo_value *oldv,
                              const eo_value *newv);
/* Ids of m's records whose field f has one of the values (a one-leaf search). */
int eo_orm__ids_where_in(eo_env *env, const eo_model *m, const eo_field *f,
                         const eo_value *vals, size_t n, eo_ids *out, eo_error *err);
/* Load the prefetchable fields (and `extra`, if not NULL) of ids into the store. */
int eo_orm__load(eo_env *env, const eo_model *m, const eo_id *ids, size_t n,
                 const eo_field *extra, eo_error *err);
/* Check that the Many2one values in vals (n values of f) name existing records. */
int eo_orm__check_refs(eo_env *env, const eo_field *f, const eo_value *vals,
                       size_t n, size_t stride, eo_error *err);
/*
 * The same before a create or write of f's column: the values must be ids
 * of f's comodel; whether those records exist is asked of the database
 * only when its foreign key does not check it with the write itself
 * (EO_CAP_FOREIGN_KEYS: no query here; *deferred set to 1 then, and a
 * failed write is named by eo_orm__name_ref_failure).
 */
int eo_orm__precheck_refs(eo_env *env, const eo_field *f, const eo_value *vals, size_t n,
                          size_t stride, int *deferred, eo_error *err);
/*
 * A write whose existence check was left to the database failed with rc:
 * when the database named no field (SQLite says only "FOREIGN KEY
 * constraint failed"), the Many2one values of cols (n rows of vals,
 * stride apart) are checked now, after the rollback, and a missing record
 * found replaces err with the message the check gives before writing.
 */
int eo_orm__name_ref_failure(eo_env *env, const eo_field *const *cols, size_t ncols,
                             const eo_value *vals, size_t n, size_t stride, int rc,
                             eo_error *err);
/* reference.c: check that the records the Reference values in vals name exist. */
int eo_orm__check_references(eo_env *env, const eo_field *f, const eo_value *vals,
                             size_t n, size_t stride, eo_error *err);
/* Refuse to set a field that cannot be set directly. */
int eo_orm__settable(const eo_field *f, unsigned flags, eo_error *err);

#endif
