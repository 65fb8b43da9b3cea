/*
 * embedded_int.h - what the core's other files call in embedded.c and
 * query/sql_embedded.c (private).
 */
#ifndef EARNORM_EMBEDDED_INT_H
#define EARNORM_EMBEDDED_INT_H

#include "earnorm/embedded.h"

/* model.c: the registry's slot for its sub-record types. */
eo_registry **eo_registry__embedded(eo_registry *reg);

/* Why spec cannot be a field of m, or NULL: a sub-record type takes plain
 * fields only; an Embedded or List field needs its type's name. */
const char *eo_embedded__refused(const eo_model *m, const eo_field_spec *spec);

/* Resolve f->embedded from f->comodel_name (EO_ENOTFOUND naming it). */
int eo_embedded__resolve(eo_registry *reg, const eo_model *m, eo_field *f, eo_error *err);

/* convert.c: accept @p in when it is canonical text for f (what
 * eo_embedded_normalize gives), else the error normalizing gives, or
 * EO_EINVAL saying it is not canonical. */
int eo_embedded__check(const eo_field *f, const eo_value *in, eo_value *out, eo_error *err);

/* 1 when f is a field of a sub-record type. */
static inline int eo_embedded__is_sub(const eo_field *f)
{
    return f && f->model && f->model->embedded;
}

static inline int eo_embedded__is(const eo_field *f)
{
    return f && (f->type == EO_FT_EMBEDDED || f->type == EO_FT_LIST);
}

#endif
