/*
 * mongo_group.c - read_group on MongoDB: on the server when it can, in C
 * when it cannot.
 *
 * The server runs $match + $group + $sort when the grouping only needs
 * accumulators it has: FerretDB's $group knows $sum alone, so counts and
 * sums go there and averages, extremes, distinct counts and date buckets
 * are computed here from the matching documents (projected to the fields
 * involved). Decimals are summed and compared exactly, as scaled integers.
 * explain says which path a server takes.
 */
#include <stdio.h>
#include <stdlib.h>

#include "mongo_int.h"

static const char *const acc[] = { "$sum", "$sum", "$avg", "$min", "$max", NULL };

int mg__group_on_server(const mg_conn *c, const eo_group_query *g)
{
    size_t i;
    for (i = 0; i < g->nkeys; i++)
        if (g->keys[i].gran != EO_GRAN_NONE)
            return 0;
    for (i = 0; i < g->naggs; i++) {
        eo_agg a = g->aggs[i].agg;
        if (a == EO_AGG_COUNT_DISTINCT)
            return 0;
        if (a == EO_AGG_COUNT && g->aggs[i].field != NULL)
            return 0; /* counting non-null values: client-side */
        /* FerretDB 1.24 fills only the first accumulator of a $group (the
         * others come back 0) and has no $avg/$min/$max: beside the count,
         * it groups client-side. */
        if (c->ferret)
            return 0;
    }
    return 1;
}

/* ---- on the server ---- */

static int server_group(mg_conn *c, const eo_group_query *g, eo_row_fn fn, void *payload,
                        eo_error *err)
{
    mongoc_collection_t *coll = NULL;
    mongoc_cursor_t *cur = NULL;
    const bson_t *doc;
    bson_t pipeline = BSON_INITIALIZER, stage, body, id, sort, opts = BSON_INITIALIZER, filter;
    bson_error_t be;
    eo_value *row = NULL;
    mg_scratch s;
    size_t i, ncols = g->nkeys + 1 + g->naggs;
    int64_t nrows = 0;
    uint64_t t0 = eo_clock__ns();
    int rc = EO_OK, k = 0;
    char key[16];
    const char *kp;

    memset(&s, 0, sizeof s);
    bson_init(&filter);
    if ((rc = mg__filter(c, g->model, g->domain, &filter, err)) != EO_OK)
        goto done;
    /* [{$match}, {$group}, {$sort}, {$skip}, {$limit}] */
    bson_uint32_to_string((uint32_t)k++, &kp, key, sizeof key);
    bson_append_document_begin(&pipeline, kp, -1, &stage);
    bson_append_document(&stage, "$match", -1, &filter);
    bson_append_document_end(&pipeline, &stage);
    bson_uint32_to_string((uint32_t)k++, &kp, key, sizeof key);
    bson_append_document_begin(&pipeline, kp, -1, &stage);
    bson_append_document_begin(&stage, "$group", -1, &body);
    if (g->nkeys) {
        bson_append_document_begin(&body, "_id", -1, &id);
        for (i = 0; i < g->nkeys; i++) {
            char ref[200], k2[32];
            snprintf(k2, sizeof k2, "k%zu", i);
            snprintf(ref, sizeof ref, "$%s", mg__key(g->keys[i].field));
            bson_append_utf8(&id, k2, -1, ref, -1);
        }
        bson_append_document_end(&body, &id);
    } else {
        bson_append_null(&body, "_id", -1);
    }
    {
        bson_t cnt;
        bson_append_document_begin(&body, "__count", -1, &cnt);
        bson_append_int32(&cnt, "$sum", -1, 1);
        bson_append_document_end(&body, &cnt);
    }
    for (i = 0; i < g->naggs; i++) {
        bson_t a;
        char k2[32], ref[200];
        snprintf(k2, sizeof k2, "a%zu", i);
        bson_append_document_begin(&body, k2, -1, &a);
        if (g->aggs[i].field == NULL) {
            bson_append_int32(&a, "$sum", -1, 1);
        } else {
            snprintf(ref, sizeof ref, "$%s", mg__key(g->aggs[i].field));
            bson_append_utf8(&a, acc[g->aggs[i].agg], -1, ref, -1);
        }
        bson_append_document_end(&body, &a);
    }
    bson_append_document_end(&stage, &body);
    bson_append_document_end(&pipeline, &stage);
    bson_uint32_to_string((uint32_t)k++, &kp, key, sizeof key);
    bson_append_document_begin(&pipeline, kp, -1, &stage);
    bson_append_document_begin(&stage, "$sort", -1, &sort);
    if (g->order_by_count_desc)
        bson_append_int32(&sort, "__count", -1, -1);
    /* the terms asked for (null is lowest in BSON order, as in SQL here),
     * then the keys; a column named twice counts once */
    for (i = 0; i < g->norder + g->nkeys; i++) {
        char k2[32];
        size_t col = i < g->norder ? g->order[i].column : i - g->norder;
        if (col < g->nkeys)
            snprintf(k2, sizeof k2, "_id.k%zu", col);
        else if (col == g->nkeys)
            snprintf(k2, sizeof k2, "__count");
        else
            snprintf(k2, sizeof k2, "a%zu", col - g->nkeys - 1);
        if (bson_has_field(&sort, k2))
            continue;
        bson_append_int32(&sort, k2, -1, i < g->norder && g->order[i].desc ? -1 : 1);
    }
    if (g->nkeys == 0 && !g->order_by_count_desc)
        bson_append_int32(&sort, "_id", -1, 1);
    bson_append_document_end(&stage, &sort);
    bson_append_document_end(&pipeline, &stage);
    if (g->offset > 0) {
        bson_uint32_to_string((uint32_t)k++, &kp, key, sizeof key);
        bson_append_document_begin(&pipeline, kp, -1, &stage);
        bson_append_int64(&stage, "$skip", -1, g->offset);
        bson_append_document_end(&pipeline, &stage);
    }
    if (g->limit >= 0) {
        bson_uint32_to_string((uint32_t)k++, &kp, key, sizeof key);
        bson_append_document_begin(&pipeline, kp, -1, &stage);
        bson_append_int64(&stage, "$limit", -1, g->limit);
        bson_append_document_end(&pipeline, &stage);
    }
    if ((rc = mg__session_opts(c, &opts, err)) != EO_OK)
        goto done;
    row = eo_malloc(ncols * sizeof *row);
    coll = mg__collection(c, g->model);
    if (row == NULL || coll == NULL) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    cur = mongoc_collection_aggregate(coll, MONGOC_QUERY_NONE, &pipeline, &opts, NULL);
    while (rc == EO_OK && mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it, sub;
        nrows++;
        eo_arena__reset(&s.arena);
        for (i = 0; i < ncols; i++)
            row[i] = eo_null();
        for (i = 0; i < g->nkeys && rc == EO_OK; i++) {
            char k2[32];
            snprintf(k2, sizeof k2, "k%zu", i);
            if (bson_iter_init_find(&it, doc, "_id") && bson_iter_recurse(&it, &sub) &&
                bson_iter_find(&sub, k2))
                rc = mg__read(c, &sub, g->keys[i].field, &s, &row[i], err);
        }
        if (bson_iter_init_find(&it, doc, "__count"))
            row[g->nkeys] = eo_int(bson_iter_as_int64(&it));
        for (i = 0; i < g->naggs && rc == EO_OK; i++) {
            const eo_group_agg *a = &g->aggs[i];
            char k2[32];
            eo_value *v = &row[g->nkeys + 1 + i];
            snprintf(k2, sizeof k2, "a%zu", i);
            if (!bson_iter_init_find(&it, doc, k2))
                continue;
            if (a->field == NULL || a->agg == EO_AGG_COUNT) {
                *v = eo_int(bson_iter_as_int64(&it));
            } else if (a->agg == EO_AGG_AVG) {
                if (BSON_ITER_HOLDS_DOUBLE(&it) || BSON_ITER_HOLDS_INT(&it)) {
                    double d = BSON_ITER_HOLDS_DOUBLE(&it) ? bson_iter_double(&it)
                                                           : (double)bson_iter_as_int64(&it);
                    int sc;
                    if (eo_ftype_base(a->field->type) == EO_FT_DECIMAL && !c->decimal128)
                        for (sc = 0; sc < a->field->scale; sc++)
                            d /= 10;
                    *v = eo_float(d);
                }
            } else if (a->agg == EO_AGG_SUM && a->field->type == EO_FT_BOOLEAN) {
                *v = eo_int(bson_iter_as_int64(&it));
            } else {
                rc = mg__read(c, &it, a->field, &s, v, err);
            }
        }
        if (rc == EO_OK)
            rc = fn(payload, row, ncols, err);
    }
    if (rc == EO_OK && mongoc_cursor_error(cur, &be))
        rc = mg__error(c, &be, g->model, "aggregate", err);
done:
    if (c->base.trace) {
        char *j = bson_as_relaxed_extended_json(&pipeline, NULL);
        char line[1024];
        snprintf(line, sizeof line, "aggregate %s %s  -- on the server", g->model->table, j ? j : "");
        bson_free(j);
        eo_conn_trace(&c->base, EO_Q_SELECT, line, NULL, 0, eo_clock__ns() - t0, nrows);
    }
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(coll);
    bson_destroy(&pipeline);
    bson_destroy(&filter);
    bson_destroy(&opts);
    eo_arena__free(&s.arena);
    eo_free(row);
    return rc;
}

/* ---- in C ---- */

typedef struct aggst {
    int64_t isum;           /* integers, booleans, scaled decimals */
    double fsum;
    int64_t n;              /* non-null values */
    eo_value min, max;      /* owned; decimals as scaled integers */
    eo_vset *distinct;      /* count_distinct: values owned by `owned` */
    eo_vec owned;           /* of eo_value */
} aggst;

typedef struct group {
    eo_value *keys;         /* owned */
    int64_t count;
    aggst *a;
    eo_value *row;          /* the result row once computed (owned), for ordering */
} group;

typedef struct gctx {
    mg_conn *c;
    const eo_group_query *g;
    eo_strmap index;        /* serialized key -> group index + 1 */
    eo_vec groups;          /* of group */
    const eo_field **fields;
    size_t nfields;
} gctx;

/* "2024-05-17 ..." -> the bucket's text */
static eo_value bucket(const eo_value *v, eo_granularity gr, char *buf, size_t cap)
{
    int y, m;
    if (v->type != EO_VTEXT || v->u.s.n < 10)
        return eo_null();
    switch (gr) {
    case EO_GRAN_DAY: snprintf(buf, cap, "%.10s", v->u.s.p); break;
    case EO_GRAN_MONTH: snprintf(buf, cap, "%.7s", v->u.s.p); break;
    case EO_GRAN_YEAR: snprintf(buf, cap, "%.4s", v->u.s.p); break;
    case EO_GRAN_QUARTER:
        y = atoi(v->u.s.p);
        m = atoi(v->u.s.p + 5);
        snprintf(buf, cap, "%04d-Q%d", y, (m + 2) / 3);
        break;
    default: return *v;
    }
    return eo_cstr(buf);
}

static void put_key(eo_buf *b, const eo_value *v)
{
    eo_buf__putc(b, (char)('0' + v->type));
    switch (v->type) {
    case EO_VNULL: break;
    case EO_VBOOL: eo_buf__putc(b, v->u.b ? '1' : '0'); break;
    case EO_VINT: eo_buf__put(b, (const char *)&v->u.i, sizeof v->u.i); break;
    case EO_VFLOAT: eo_buf__put(b, (const char *)&v->u.f, sizeof v->u.f); break;
    case EO_VTEXT:
    case EO_VBLOB:
        eo_buf__put(b, (const char *)&v->u.s.n, sizeof v->u.s.n);
        eo_buf__put(b, v->u.s.p, v->u.s.n);
        break;
    }
}

static int add_doc(gctx *x, const bson_t *doc, mg_scratch *s, eo_error *err)
{
    const eo_group_query *g = x->g;
    eo_buf kb = EO_BUF_INIT;
    eo_value keys[16];
    char bufs[16][32];
    group *gr;
    size_t i, gi;
    void *found;
    int rc = EO_OK;
    if (g->nkeys > 16)
        return eo_error_set(err, EO_EINVAL, "read_group: at most 16 group keys");
    for (i = 0; i < g->nkeys && rc == EO_OK; i++) {
        bson_iter_t it;
        eo_value v = eo_null();
        if (bson_iter_init_find(&it, doc, mg__key(g->keys[i].field)))
            rc = mg__read(x->c, &it, g->keys[i].field, s, &v, err);
        keys[i] = g->keys[i].gran != EO_GRAN_NONE ? bucket(&v, g->keys[i].gran, bufs[i], sizeof bufs[i])
                                                  : v;
        put_key(&kb, &keys[i]);
    }
    if (rc != EO_OK || kb.oom) {
        eo_buf__free(&kb);
        return rc != EO_OK ? rc : eo_error_set(err, EO_ENOMEM, "out of memory");
    }
    found = eo_strmap__get(&x->index, kb.p ? kb.p : "", kb.len);
    if (found) {
        gi = (size_t)(uintptr_t)found - 1;
    } else {
        group ng;
        memset(&ng, 0, sizeof ng);
        ng.keys = eo_calloc(g->nkeys ? g->nkeys : 1, sizeof *ng.keys);
        ng.a = eo_calloc(g->naggs ? g->naggs : 1, sizeof *ng.a);
        if (ng.keys == NULL || ng.a == NULL) {
            eo_free(ng.keys);
            eo_free(ng.a);
            eo_buf__free(&kb);
            return eo_error_set(err, EO_ENOMEM, "out of memory");
        }
        for (i = 0; i < g->nkeys; i++)
            eo_value_copy(&ng.keys[i], &keys[i]);
        for (i = 0; i < g->naggs; i++)
            ng.a[i].owned.isize = sizeof(eo_value);
        gi = x->groups.len;
        if (eo_vec__push(&x->groups, &ng) != EO_OK ||
            eo_strmap__put(&x->index, kb.p ? kb.p : "", kb.len, (void *)(uintptr_t)(gi + 1)) != EO_OK) {
            eo_buf__free(&kb);
            return eo_error_set(err, EO_ENOMEM, "out of memory");
        }
    }
    eo_buf__free(&kb);
    gr = eo_vec__at(&x->groups, gi);
    gr->count++;
    for (i = 0; i < g->naggs && rc == EO_OK; i++) {
        const eo_group_agg *a = &g->aggs[i];
        aggst *st = &gr->a[i];
        bson_iter_t it;
        eo_value v = eo_null(), cmpv;
        int64_t sc = 0;
        if (a->field == NULL)
            continue;
        if (bson_iter_init_find(&it, doc, mg__key(a->field)))
            rc = mg__read(x->c, &it, a->field, s, &v, err);
        if (rc != EO_OK || v.type == EO_VNULL)
            continue;
        st->n++;
        cmpv = v;
        if (eo_ftype_base(a->field->type) == EO_FT_DECIMAL && v.type == EO_VTEXT &&
            eo_decimal__to_scaled(v.u.s.p, v.u.s.n, a->field->scale, &sc) == 0)
            cmpv = eo_int(sc);
        switch (a->agg) {
        case EO_AGG_SUM:
        case EO_AGG_AVG:
            if (cmpv.type == EO_VINT)
                st->isum += cmpv.u.i;
            else if (cmpv.type == EO_VBOOL)
                st->isum += cmpv.u.b;
            else if (cmpv.type == EO_VFLOAT)
                st->fsum += cmpv.u.f;
            break;
        case EO_AGG_MIN:
        case EO_AGG_MAX: {
            eo_value *cur = a->agg == EO_AGG_MIN ? &st->min : &st->max;
            int c = cur->type == EO_VNULL ? 0 : eo_value_compare(&cmpv, cur);
            if (cur->type == EO_VNULL || (a->agg == EO_AGG_MIN ? c < 0 : c > 0)) {
                eo_value_clear(cur);
                if (eo_value_copy(cur, &cmpv) != EO_OK)
                    rc = eo_error_set(err, EO_ENOMEM, "out of memory");
            }
            break;
        }
        case EO_AGG_COUNT_DISTINCT: {
            eo_value own;
            if (st->distinct == NULL && (st->distinct = eo_calloc(1, sizeof *st->distinct)) == NULL) {
                rc = eo_error_set(err, EO_ENOMEM, "out of memory");
                break;
            }
            if (eo_vset__has(st->distinct, &cmpv))
                break;
            /* the set points into `owned`: grow it first, then add */
            if (eo_value_copy(&own, &cmpv) != EO_OK || eo_vec__push(&st->owned, &own) != EO_OK) {
                rc = eo_error_set(err, EO_ENOMEM, "out of memory");
                break;
            }
            /* rebuild the set when the vector moved */
            eo_vset__free(st->distinct);
            {
                size_t k;
                for (k = 0; k < st->owned.len; k++)
                    eo_vset__add(st->distinct, eo_vec__at(&st->owned, k));
            }
            break;
        }
        default:
            break;
        }
    }
    return rc;
}

/* qsort has no payload: the query being sorted, per thread */
static _Thread_local const eo_group_query *sort_g;

/* The field behind result column col (NULL for the count). */
static const eo_field *col_field(const eo_group_query *g, size_t col)
{
    if (col < g->nkeys)
        return g->keys[col].field;
    if (col == g->nkeys)
        return NULL;
    return g->aggs[col - g->nkeys - 1].agg == EO_AGG_COUNT ||
                   g->aggs[col - g->nkeys - 1].agg == EO_AGG_COUNT_DISTINCT
               ? NULL
               : g->aggs[col - g->nkeys - 1].field;
}

/* Compare two values of one column: decimals (text) by their amount. */
static int cmp_col(const eo_field *f, const eo_value *a, const eo_value *b)
{
    if (f && eo_ftype_base(f->type) == EO_FT_DECIMAL && a->type == EO_VTEXT && b->type == EO_VTEXT) {
        int64_t x, y;
        if (eo_decimal__to_scaled(a->u.s.p, a->u.s.n, f->scale, &x) == 0 &&
            eo_decimal__to_scaled(b->u.s.p, b->u.s.n, f->scale, &y) == 0)
            return x < y ? -1 : x > y;
    }
    if (a->type == EO_VINT && b->type == EO_VFLOAT)
        return (double)a->u.i < b->u.f ? -1 : (double)a->u.i > b->u.f;
    if (a->type == EO_VFLOAT && b->type == EO_VINT)
        return a->u.f < (double)b->u.i ? -1 : a->u.f > (double)b->u.i;
    return eo_value_compare(a, b);
}

static int cmp_groups(const void *pa, const void *pb)
{
    const group *a = pa, *b = pb;
    size_t i;
    if (sort_g->order_by_count_desc && a->count != b->count)
        return a->count > b->count ? -1 : 1;
    for (i = 0; i < sort_g->norder; i++) {
        size_t col = sort_g->order[i].column;
        /* NULL lowest: first ascending, last descending */
        int c = cmp_col(col_field(sort_g, col), &a->row[col], &b->row[col]);
        if (c)
            return sort_g->order[i].desc ? -c : c;
    }
    for (i = 0; i < sort_g->nkeys; i++) {
        int c = cmp_col(sort_g->keys[i].field, &a->keys[i], &b->keys[i]);
        if (c)
            return c;
    }
    return 0;
}

/* The result row of a group (keys, count, aggregates), values owned. */
static int group_row(const eo_group_query *g, group *gr, eo_error *err)
{
    size_t j, ncols = g->nkeys + 1 + g->naggs;
    char buf[64];
    gr->row = eo_calloc(ncols, sizeof *gr->row);
    if (gr->row == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    for (j = 0; j < g->nkeys; j++)
        if (eo_value_copy(&gr->row[j], &gr->keys[j]) != EO_OK)
            return eo_error_set(err, EO_ENOMEM, "out of memory");
    gr->row[g->nkeys] = eo_int(gr->count);
    for (j = 0; j < g->naggs; j++) {
        const eo_group_agg *a = &g->aggs[j];
        aggst *st = &gr->a[j];
        eo_value v = eo_null();
        int dec = a->field && eo_ftype_base(a->field->type) == EO_FT_DECIMAL;
        if (a->field == NULL) {
            v = eo_int(gr->count);
        } else if (a->agg == EO_AGG_COUNT) {
            v = eo_int(st->n);
        } else if (a->agg == EO_AGG_COUNT_DISTINCT) {
            v = eo_int((int64_t)st->owned.len);
        } else if (st->n == 0) {
            v = eo_null(); /* sum, avg, min, max of nothing: SQL says NULL */
        } else if (a->agg == EO_AGG_SUM) {
            if (dec) {
                eo_decimal__format_scaled(st->isum, a->field->scale, buf, sizeof buf);
                v = eo_cstr(buf);
            } else if (a->field->type == EO_FT_FLOAT) {
                v = eo_float(st->fsum);
            } else {
                v = eo_int(st->isum);
            }
        } else if (a->agg == EO_AGG_AVG) {
            double total = a->field->type == EO_FT_FLOAT ? st->fsum : (double)st->isum;
            int k;
            if (dec)
                for (k = 0; k < a->field->scale; k++)
                    total /= 10;
            v = eo_float(total / (double)st->n);
        } else {
            const eo_value *m = a->agg == EO_AGG_MIN ? &st->min : &st->max;
            if (dec && m->type == EO_VINT) {
                eo_decimal__format_scaled(m->u.i, a->field->scale, buf, sizeof buf);
                v = eo_cstr(buf);
            } else {
                v = *m;
            }
        }
        if (eo_value_copy(&gr->row[g->nkeys + 1 + j], &v) != EO_OK)
            return eo_error_set(err, EO_ENOMEM, "out of memory");
    }
    return EO_OK;
}

static int client_group(mg_conn *c, const eo_group_query *g, eo_row_fn fn, void *payload,
                        eo_error *err)
{
    mongoc_collection_t *coll = NULL;
    mongoc_cursor_t *cur = NULL;
    const bson_t *doc;
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, proj;
    bson_error_t be;
    gctx x;
    mg_scratch s;
    size_t i, j, ncols = g->nkeys + 1 + g->naggs;
    int64_t ndocs = 0, start, end;
    uint64_t t0 = eo_clock__ns();
    int rc;

    memset(&x, 0, sizeof x);
    memset(&s, 0, sizeof s);
    x.c = c;
    x.g = g;
    x.groups.isize = sizeof(group);
    if ((rc = mg__filter(c, g->model, g->domain, &filter, err)) != EO_OK)
        goto done;
    bson_append_document_begin(&opts, "projection", -1, &proj);
    for (i = 0; i < g->nkeys; i++)
        bson_append_int32(&proj, mg__key(g->keys[i].field), -1, 1);
    for (i = 0; i < g->naggs; i++)
        if (g->aggs[i].field)
            bson_append_int32(&proj, mg__key(g->aggs[i].field), -1, 1);
    bson_append_document_end(&opts, &proj);
    if ((rc = mg__session_opts(c, &opts, err)) != EO_OK)
        goto done;
    if ((coll = mg__collection(c, g->model)) == NULL) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    cur = mongoc_collection_find_with_opts(coll, &filter, &opts, NULL);
    while (rc == EO_OK && mongoc_cursor_next(cur, &doc)) {
        ndocs++;
        eo_arena__reset(&s.arena);
        rc = add_doc(&x, doc, &s, err);
    }
    if (rc == EO_OK && mongoc_cursor_error(cur, &be))
        rc = mg__error(c, &be, g->model, "find", err);
    if (rc != EO_OK)
        goto done;
    if (g->nkeys == 0 && x.groups.len == 0) {
        /* no key: one group, even over nothing */
        group ng;
        memset(&ng, 0, sizeof ng);
        ng.a = eo_calloc(g->naggs ? g->naggs : 1, sizeof *ng.a);
        if (ng.a == NULL || eo_vec__push(&x.groups, &ng) != EO_OK) {
            eo_free(ng.a);
            rc = eo_error_set(err, EO_ENOMEM, "out of memory");
            goto done;
        }
    }
    /* rows first, so that groups can be ordered by their aggregates */
    for (i = 0; rc == EO_OK && i < x.groups.len; i++)
        rc = group_row(g, eo_vec__at(&x.groups, i), err);
    if (rc != EO_OK)
        goto done;
    sort_g = g;
    if (x.groups.len)
        qsort(x.groups.items, x.groups.len, sizeof(group), cmp_groups);
    start = g->offset > 0 ? g->offset : 0;
    end = g->limit >= 0 && start + g->limit < (int64_t)x.groups.len ? start + g->limit
                                                                    : (int64_t)x.groups.len;
    for (i = (size_t)start; rc == EO_OK && (int64_t)i < end; i++) {
        group *gr = eo_vec__at(&x.groups, i);
        rc = fn(payload, gr->row, ncols, err);
    }
done:
    if (c->base.trace) {
        char *j2 = bson_as_relaxed_extended_json(&filter, NULL);
        char line[1024];
        snprintf(line, sizeof line, "find %s %s  -- grouped client-side (%zu groups)",
                 g->model->table, j2 ? j2 : "", x.groups.len);
        bson_free(j2);
        eo_conn_trace(&c->base, EO_Q_SELECT, line, NULL, 0, eo_clock__ns() - t0, ndocs);
    }
    for (i = 0; i < x.groups.len; i++) {
        group *gr = eo_vec__at(&x.groups, i);
        for (j = 0; j < g->nkeys; j++)
            eo_value_clear(&gr->keys[j]);
        if (gr->row) {
            for (j = 0; j < ncols; j++)
                eo_value_clear(&gr->row[j]);
            eo_free(gr->row);
        }
        for (j = 0; j < g->naggs; j++) {
            aggst *st = &gr->a[j];
            size_t k;
            eo_value_clear(&st->min);
            eo_value_clear(&st->max);
            for (k = 0; k < st->owned.len; k++)
                eo_value_clear(eo_vec__at(&st->owned, k));
            eo_vec__free(&st->owned);
            if (st->distinct) {
                eo_vset__free(st->distinct);
                eo_free(st->distinct);
            }
        }
        eo_free(gr->keys);
        eo_free(gr->a);
    }
    eo_vec__free(&x.groups);
    eo_strmap__free(&x.index);
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(coll);
    bson_destroy(&filter);
    bson_destroy(&opts);
    eo_arena__free(&s.arena);
    return rc;
}

int mg__group(mg_conn *c, const eo_group_query *g, eo_row_fn fn, void *payload, eo_error *err)
{
    if (mg__group_on_server(c, g))
        return server_group(c, g, fn, payload, err);
    return client_group(c, g, fn, payload, err);
}
