/*
 * search.c - search, count, search_rows (search_read), group and explain.
 *
 * Each prepares the domain (bind, normalize, resolve hierarchies) and asks
 * the adapter once. A domain that normalized to FALSE is answered here
 * without a query.
 */
#include <stdio.h>

#include "orm_int.h"

int eo_orm__push_id(void *payload, const eo_value *row, size_t ncols, eo_error *err)
{
    eo_orm__ids_ctx *c = payload;
    eo_id id;
    EO_UNUSED(ncols);
    if (eo_id_from_value(&id, c->kind, &row[0]) != EO_OK)
        return eo_error_set(err, EO_ERROR, "the database returned an invalid id");
    return eo_ids_push(c->out, id) ? eo_error_set(err, EO_ENOMEM, "out of memory") : EO_OK;
}

static int order_of(const eo_model *m, const char *order, eo_order_item **items, size_t *n,
                    eo_error *err)
{
    return eo_order_parse(items, n, m, order && *order ? order : m->order, err);
}

int eo_orm__query_init(eo_env *env, eo_query *q, const eo_model *m, eo_domain *d,
                       const char *order, int64_t limit, int64_t offset,
                       eo_order_item **items, eo_error *err)
{
    int rc;
    size_t norder = 0;
    memset(q, 0, sizeof q[0]);
    *items = NULL;
    if ((rc = eo_orm__prepare(env, m, d, err)) != EO_OK)
        return rc;
    if (m->abstract)
        return eo_error_set(err, EO_EINVAL, "%s is abstract: it has no records", m->name);
    if ((rc = order_of(m, order, items, &norder, err)) != EO_OK)
        return rc;
    q->model = m;
    q->domain = d;
    q->order = *items;
    q->norder = norder;
    q->limit = limit;
    q->offset = offset;
    if (limit < -1 || offset < 0)
        return eo_error_set(err, EO_EINVAL, "%s: limit and offset must not be negative", m->name);
    return EO_OK;
}

int eo_orm_search(eo_env *env, const eo_model *m, eo_domain *d, const char *order,
                  int64_t limit, int64_t offset, eo_ids *out, eo_error *err)
{
    eo_query q;
    eo_order_item *items = NULL;
    const eo_field *idf;
    eo_orm__ids_ctx c;
    int rc;
    EO_ENTER();
    EO_REQUIRE(env);
    EO_REQUIRE(m);
    EO_REQUIRE(out);
    idf = m->fields[0];
    rc = eo_orm__query_init(env, &q, m, d, order, limit, offset, &items, err);
    if (rc == EO_OK && !(d && eo_domain_is_false(d)) && limit != 0) {
        q.fields = &idf;
        q.nfields = 1;
        c.out = out;
        c.kind = env->adapter->idkind;
        rc = eo_env__select(env, &q, eo_orm__push_id, &c, err);
    }
    eo_free(items);
    return rc;
}

int eo_orm_search_count(eo_env *env, const eo_model *m, eo_domain *d, int64_t *out,
                        eo_error *err)
{
    eo_query q;
    eo_order_item *items = NULL;
    int rc;
    EO_ENTER();
    EO_REQUIRE(out);
    *out = 0;
    EO_REQUIRE(env);
    EO_REQUIRE(m);
    rc = eo_orm__query_init(env, &q, m, d, "id", -1, 0, &items, err);
    eo_free(items);
    if (rc != EO_OK || (d && eo_domain_is_false(d)))
        return rc;
    q.order = NULL;
    q.norder = 0;
    return eo_env__count(env, &q, out, err);
}

int eo_orm_search_rows(eo_env *env, const eo_model *m, eo_domain *d,
                       const eo_field *const *fields, size_t nfields, const char *order,
                       int64_t limit, int64_t offset, eo_row_fn fn, void *payload,
                       eo_error *err)
{
    eo_query q;
    eo_order_item *items = NULL;
    const eo_field **all = NULL;
    size_t i;
    int rc;
    EO_ENTER();
    EO_REQUIRE(env);
    EO_REQUIRE(m);
    EO_REQUIRE(fn);
    for (i = 0; fields && i < nfields; i++)
        if (fields[i] == NULL)
            return eo_error_set(err, EO_EINVAL, "eo_orm_search_rows: fields[%zu] is NULL", i);
    rc = eo_orm__query_init(env, &q, m, d, order, limit, offset, &items, err);
    if (rc != EO_OK || (d && eo_domain_is_false(d)) || limit == 0)
        goto done;
    if (fields == NULL) {
        all = eo_malloc(m->nfields * sizeof *all);
        if (all == NULL) {
            rc = eo_error_set(err, EO_ENOMEM, "out of memory");
            goto done;
        }
        nfields = 0;
        for (i = 0; i < m->nfields; i++)
            if ((m->fields[i]->flags & EO_FF_STORED) && !(m->fields[i]->flags & EO_FF_NOPREFETCH))
                all[nfields++] = m->fields[i];
        fields = all;
    }
    for (i = 0; i < nfields; i++) {
        if (!(fields[i]->flags & EO_FF_STORED)) {
            rc = eo_error_set(err, EO_EINVAL, "%s.%s is not stored: read it from records",
                              m->name, fields[i]->name);
            eo_error_where(err, m->name, fields[i]->name);
            goto done;
        }
    }
    q.fields = fields;
    q.nfields = nfields;
    rc = eo_env__select(env, &q, fn, payload, err);
done:
    eo_free(all);
    eo_free(items);
    return rc;
}

int eo_orm_group(eo_env *env, eo_group_query *g, eo_domain *d, eo_row_fn fn, void *payload,
                 eo_error *err)
{
    int rc;
    size_t i;
    EO_ENTER();
    EO_REQUIRE(env);
    if (g == NULL)
        return eo_error__null(err, __func__, "q");
    if (g->model == NULL)
        return eo_error__null(err, __func__, "q->model");
    EO_REQUIRE(fn);
    if ((g->nkeys && g->keys == NULL) || (g->naggs && g->aggs == NULL))
        return eo_error__null(err, __func__, g->keys == NULL && g->nkeys ? "q->keys" : "q->aggs");
    for (i = 0; i < g->nkeys; i++)
        if (g->keys[i].field == NULL)
            return eo_error_set(err, EO_EINVAL, "eo_orm_group: q->keys[%zu].field is NULL", i);
    if ((rc = eo_orm__prepare(env, g->model, d, err)) != EO_OK)
        return rc;
    for (i = 0; i < g->nkeys; i++) {
        const eo_field *f = g->keys[i].field;
        if (!(f->flags & EO_FF_STORED) || f->type == EO_FT_BINARY ||
            eo_ftype_base(f->type) == EO_FT_JSON || eo_ftype_base(f->type) == EO_FT_TEXT ||
            f->type == EO_FT_EMBEDDED || f->type == EO_FT_LIST) {
            rc = eo_error_set(err, EO_EINVAL, "%s: cannot group by %s field '%s'",
                              g->model->name, eo_ftype_name(f->type), f->name);
            eo_error_where(err, g->model->name, f->name);
            return rc;
        }
        if (g->keys[i].gran != EO_GRAN_NONE && f->type != EO_FT_DATE && f->type != EO_FT_DATETIME) {
            rc = eo_error_set(err, EO_EINVAL, "%s: '%s' is not a date: it has no day/month/year",
                              g->model->name, f->name);
            eo_error_where(err, g->model->name, f->name);
            return rc;
        }
    }
    for (i = 0; i < g->naggs; i++) {
        const eo_field *f = g->aggs[i].field;
        eo_agg a = g->aggs[i].agg;
        if (f == NULL)
            continue;
        if (!(f->flags & EO_FF_STORED)) {
            rc = eo_error_set(err, EO_EINVAL, "%s: cannot aggregate '%s': it is not stored",
                              g->model->name, f->name);
            eo_error_where(err, g->model->name, f->name);
            return rc;
        }
        if ((a == EO_AGG_SUM || a == EO_AGG_AVG) && f->type != EO_FT_INTEGER &&
            f->type != EO_FT_FLOAT && eo_ftype_base(f->type) != EO_FT_DECIMAL &&
            f->type != EO_FT_BOOLEAN) {
            rc = eo_error_set(err, EO_EINVAL, "%s: cannot %s %s field '%s'", g->model->name,
                              a == EO_AGG_SUM ? "sum" : "average", eo_ftype_name(f->type), f->name);
            eo_error_where(err, g->model->name, f->name);
            return rc;
        }
    }
    g->domain = d;
    if (d && eo_domain_is_false(d))
        return EO_OK;
    return eo_env__group(env, g, fn, payload, err);
}

int eo_orm_explain(eo_env *env, const eo_model *m, eo_domain *d, const char *order,
                   int64_t limit, int64_t offset, char **out, eo_error *err)
{
    eo_query q;
    eo_order_item *items = NULL;
    const eo_field *idf;
    char *dom = NULL, *plan = NULL;
    eo_buf b = EO_BUF_INIT;
    int rc;
    EO_ENTER();
    EO_REQUIRE(out);
    *out = NULL;
    EO_REQUIRE(env);
    EO_REQUIRE(m);
    idf = m->fields[0];
    rc = eo_orm__query_init(env, &q, m, d, order, limit, offset, &items, err);
    if (rc != EO_OK)
        goto done;
    q.fields = &idf;
    q.nfields = 1;
    if (d && (rc = eo_domain_to_string(&dom, d, err)) != EO_OK)
        goto done;
    eo_buf__printf(&b, "model: %s\nbackend: %s\ndomain: %s\n", m->name, env->adapter->name,
                   dom ? dom : "[]");
    if (d && eo_domain_is_false(d)) {
        eo_buf__puts(&b, "plan: the domain can match nothing; no query is sent\n");
    } else {
        if ((rc = eo_env__explain(env, &q, &plan, err)) != EO_OK)
            goto done;
        eo_buf__puts(&b, plan);
    }
    if (b.oom) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    *out = eo_buf__detach(&b);
done:
    eo_buf__free(&b);
    eo_free(dom);
    eo_free(plan);
    eo_free(items);
    return rc;
}
