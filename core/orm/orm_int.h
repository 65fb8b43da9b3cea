/*
 * orm_int.h - helpers shared by the orm/ files.
 */
#ifndef EARNORM_ORM_INT_H
#define EARNORM_ORM_INT_H

#include "../env_int.h"

/* domain.c: replace a leaf's values with a list copied into d's arena. */
int eo_domain__set_list(eo_domain *d, eo_dnode *n, const eo_value *v, size_t nv);
/* Bind d to m when not bound yet and resolve child_of / parent_of leaves. */
int eo_orm__prepare(eo_env *env, const eo_model *m, eo_domain *d, eo_error *err);
/* Ids of m's records whose field f has one of the values (a one-leaf search). */
int eo_orm__ids_where_in(eo_env *env, const eo_model *m, const eo_field *f,
                         const eo_value *vals, size_t n, eo_ids *out, eo_error *err);
/* Load the prefetchable fields (and `extra`, if not NULL) of ids into the store. */
int eo_orm__load(eo_env *env, const eo_model *m, const eo_id *ids, size_t n,
                 const eo_field *extra, eo_error *err);
/* Check that the Many2one values in vals (n values of f) name existing records. */
int eo_orm__check_refs(eo_env *env, const eo_field *f, const eo_value *vals,
                       size_t n, size_t stride, eo_error *err);
/* Forget computed values depending on the written fields. */
void eo_orm__invalidate_dependents(eo_env *env, const eo_model *m, const eo_id *ids,
                                   size_t n, const eo_kv *kvs, size_t nkv);
/* Refuse to set a field that cannot be set directly. */
int eo_orm__settable(const eo_field *f, unsigned flags, eo_error *err);

#endif
