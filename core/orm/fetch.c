/*
 * fetch.c - search_fetch: a search that loads the records it finds.
 *
 * One query selects the ids and the asked fields of the matching records
 * (Odoo's search_fetch); each row goes into the record store, so reading
 * those fields afterwards costs nothing. Values the store holds already
 * are kept (the store may hold a computed value not written yet), as
 * Odoo's cache.insert_missing does. x2many and non-stored computed fields
 * are not columns: the caller loads or computes them (the binding does).
 */
#include "orm_int.h"
#include "../store.h"

typedef struct fetch_ctx {
    eo_env *env;
    const eo_model *m;
    const eo_field *const *fields;  /* fields[0] is id */
    eo_ids *out;
} fetch_ctx;

static int fetch_row(void *payload, const eo_value *row, size_t ncols, eo_error *err)
{
    fetch_ctx *c = payload;
    eo_id id;
    size_t i;
    if (eo_id_from_value(&id, c->env->adapter->idkind, &row[0]) != EO_OK)
        return eo_error_set(err, EO_ERROR, "the database returned an invalid id");
    if (eo_ids_push(c->out, id) != EO_OK)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    for (i = 1; i < ncols; i++) {
        if (eo_store__has(c->env->store, c->m, id, c->fields[i]))
            continue;
        if (eo_store__set(c->env->store, c->m, id, c->fields[i], &row[i]) != EO_OK)
            return eo_error_set(err, EO_ENOMEM, "out of memory filling the record store");
    }
    return EO_OK;
}

int eo_orm_search_fetch(eo_env *env, const eo_model *m, eo_domain *d,
                        const eo_field *const *fields, size_t nfields, const char *order,
                        int64_t limit, int64_t offset, eo_ids *out, eo_error *err)
{
    const eo_field **fl = NULL;
    fetch_ctx c;
    size_t i, n = 0;
    int rc;
    EO_ENTER();
    EO_REQUIRE(env);
    EO_REQUIRE(m);
    EO_REQUIRE_N(fields, nfields);
    EO_REQUIRE(out);
    fl = eo_malloc((fields ? nfields + 1 : m->nfields) * sizeof *fl);
    if (fl == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    fl[n++] = m->fields[0];
    if (fields == NULL) {
        for (i = 1; i < m->nfields; i++)
            if ((m->fields[i]->flags & EO_FF_STORED) && !(m->fields[i]->flags & EO_FF_NOPREFETCH))
                fl[n++] = m->fields[i];
    } else {
        for (i = 0; i < nfields; i++) {
            size_t k;
            int dup = 0;
            if (fields[i] == NULL) {
                rc = eo_error_set(err, EO_EINVAL, "eo_orm_search_fetch: fields[%zu] is NULL", i);
                goto done;
            }
            if (fields[i]->model != m) {
                rc = eo_error_set(err, EO_EINVAL, "eo_orm_search_fetch: fields[%zu] (%s) is not a field of %s",
                                  i, fields[i]->name, m->name);
                goto done;
            }
            for (k = 0; k < n; k++)
                dup |= fl[k] == fields[i];
            if (!dup)
                fl[n++] = fields[i];
        }
    }
    c.env = env;
    c.m = m;
    c.fields = fl;
    c.out = out;
    /* search_rows refuses fields that are not stored, naming them */
    rc = eo_orm_search_rows(env, m, d, fl, n, order, limit, offset, fetch_row, &c, err);
done:
    eo_free(fl);
    return rc;
}
