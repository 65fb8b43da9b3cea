/*
 * mongo_order.c - searches ordered by a Many2one path ("partner_id.name").
 *
 * MongoDB sorts a collection by its own keys; the value at the end of a
 * path lives in other collections, and FerretDB has no $lookup. So the
 * documents the filter matches are read without sort or window, the
 * values at the ends of the paths are loaded with one find per step of
 * each path (the distinct ids of that step, {_id: {$in: [...]}}), and the
 * documents are sorted and windowed here: the same order the SQL
 * backends give (NULL smallest, then _id ascending to break ties).
 */
#include <string.h>

#include "mongo_int.h"

typedef struct pdoc {
    bson_t *doc;
    eo_id id;
    eo_value *keys;            /* one per order term, in the keys arena */
} pdoc;

typedef struct pctx {
    mg_conn *c;
    const eo_query *q;
    pdoc *docs;
    size_t n;
    eo_arena keys;             /* key values */
    mg_scratch s;              /* values read to be copied */
} pctx;

int mg__order_has_paths(const eo_query *q)
{
    size_t i;
    for (i = 0; i < q->norder; i++)
        if (q->order[i].nvia > 0)
            return 1;
    return 0;
}

static eo_id doc_id(const bson_t *doc)
{
    bson_iter_t it;
    eo_id id;
    memset(&id, 0, sizeof id);
    if (bson_iter_init_find(&it, doc, "_id") && BSON_ITER_HOLDS_OID(&it))
        memcpy(id.oid, bson_iter_oid(&it)->bytes, 12);
    return id;
}

/* The value of field f in doc, copied into the keys arena (NULL when absent). */
static int read_key(pctx *p, const bson_t *doc, const eo_field *f, eo_value *out, eo_error *err)
{
    bson_iter_t it;
    eo_value v;
    int rc;
    *out = eo_null();
    if (!bson_iter_init_find(&it, doc, mg__key(f)))
        return EO_OK;
    eo_arena__reset(&p->s.arena);
    if ((rc = mg__read(p->c, &it, f, &p->s, &v, err)) != EO_OK)
        return rc;
    if (eo_arena__value(&p->keys, out, &v) != EO_OK)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    return EO_OK;
}

/* The value of sub-field sub of the Embedded field f in doc ("address.city"). */
static int read_sub_key(pctx *p, const bson_t *doc, const eo_field *f, const eo_field *sub,
                        eo_value *out, eo_error *err)
{
    bson_iter_t it, child;
    char key[256];
    eo_value v;
    int rc;
    *out = eo_null();
    snprintf(key, sizeof key, "%s.%s", mg__key(f), sub->name);
    if (!bson_iter_init(&it, doc) || !bson_iter_find_descendant(&it, key, &child) ||
        BSON_ITER_HOLDS_NULL(&child))
        return EO_OK;
    eo_arena__reset(&p->s.arena);
    if ((rc = mg__read(p->c, &child, sub, &p->s, &v, err)) != EO_OK)
        return rc;
    if (eo_arena__value(&p->keys, out, &v) != EO_OK)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    return EO_OK;
}

/*
 * Term t of the order is a path: walk it. cur[i] is the id document i has
 * reached (has[i] 0 once a step is empty); each step is one find of the
 * distinct ids on the step's comodel.
 */
static int path_keys(pctx *p, size_t t, eo_error *err)
{
    const eo_order_item *o = &p->q->order[t];
    eo_id *cur = NULL, *ids = NULL;
    unsigned char *has = NULL;
    eo_value *vals = NULL;
    eo_idmap map = { 0 };
    size_t i, k;
    int rc = EO_OK;

    cur = eo_calloc(p->n ? p->n : 1, sizeof *cur);
    has = eo_calloc(p->n ? p->n : 1, 1);
    ids = eo_calloc(p->n ? p->n : 1, sizeof *ids);
    vals = eo_calloc(p->n ? p->n : 1, sizeof *vals);
    if (!cur || !has || !ids || !vals) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    for (i = 0; i < p->n && rc == EO_OK; i++) {
        eo_value v;
        if ((rc = read_key(p, p->docs[i].doc, o->via[0], &v, err)) != EO_OK)
            break;
        has[i] = v.type != EO_VNULL && eo_id_from_value(&cur[i], EO_IDOID, &v) == EO_OK;
    }
    for (k = 0; k < o->nvia && rc == EO_OK; k++) {
        const eo_model *cm = o->via[k]->comodel;
        const eo_field *want = k + 1 < o->nvia ? o->via[k + 1] : o->field;
        size_t nids = 0;
        mongoc_collection_t *coll;
        mongoc_cursor_t *cursor;
        bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, proj, cond;
        const bson_t *doc;
        bson_error_t be;
        uint64_t t0 = eo_clock__ns();
        int64_t rows = 0;

        eo_idmap__free(&map);
        memset(&map, 0, sizeof map);
        for (i = 0; i < p->n; i++) {
            size_t slot;
            int r;
            if (!has[i])
                continue;
            r = eo_idmap__upsert(&map, cur[i], nids, &slot);
            if (r < 0) {
                rc = eo_error_set(err, EO_ENOMEM, "out of memory");
                goto done;
            }
            if (r == 1)
                ids[nids++] = cur[i];
        }
        if (nids == 0)
            break;
        for (i = 0; i < nids; i++)
            vals[i] = eo_null();
        bson_append_document_begin(&filter, "_id", -1, &cond);
        mg__append_oids(&cond, "$in", ids, nids);
        bson_append_document_end(&filter, &cond);
        bson_append_document_begin(&opts, "projection", -1, &proj);
        bson_append_int32(&proj, mg__key(want), -1, 1);
        bson_append_document_end(&opts, &proj);
        if ((rc = mg__session_opts(p->c, &opts, err)) != EO_OK) {
            bson_destroy(&filter);
            bson_destroy(&opts);
            break;
        }
        coll = mg__collection(p->c, cm);
        if (coll == NULL) {
            bson_destroy(&filter);
            bson_destroy(&opts);
            rc = eo_error_set(err, EO_ENOMEM, "out of memory");
            break;
        }
        cursor = mongoc_collection_find_with_opts(coll, &filter, &opts, NULL);
        while (rc == EO_OK && mongoc_cursor_next(cursor, &doc)) {
            size_t slot;
            rows++;
            if (!eo_idmap__get(&map, doc_id(doc), &slot))
                continue;
            rc = read_key(p, doc, want, &vals[slot], err);
        }
        if (rc == EO_OK && mongoc_cursor_error(cursor, &be))
            rc = mg__error(p->c, &be, cm, "find", err);
        mg__trace_doc(p->c, EO_Q_SELECT, "find (order path)", cm, &filter, t0, rows);
        mongoc_cursor_destroy(cursor);
        mongoc_collection_destroy(coll);
        bson_destroy(&filter);
        bson_destroy(&opts);
        for (i = 0; i < p->n && rc == EO_OK; i++) {
            size_t slot;
            if (!has[i] || !eo_idmap__get(&map, cur[i], &slot)) {
                has[i] = 0;
                continue;
            }
            if (k + 1 < o->nvia)
                has[i] = vals[slot].type != EO_VNULL &&
                         eo_id_from_value(&cur[i], EO_IDOID, &vals[slot]) == EO_OK;
            else
                p->docs[i].keys[t] = vals[slot];
        }
    }
done:
    eo_idmap__free(&map);
    eo_free(cur);
    eo_free(has);
    eo_free(ids);
    eo_free(vals);
    return rc;
}

static int pdoc_cmp(const eo_query *q, const pdoc *a, const pdoc *b)
{
    size_t i;
    for (i = 0; i < q->norder; i++) {
        int c = eo_value_compare(&a->keys[i], &b->keys[i]);
        if (c)
            return q->order[i].desc ? -c : c;
    }
    return memcmp(a->id.oid, b->id.oid, 12);
}

/* A stable merge sort (no qsort_r in C11). */
static void msort(const eo_query *q, pdoc *v, pdoc *tmp, size_t n)
{
    size_t mid, i, j, k;
    if (n < 2)
        return;
    mid = n / 2;
    msort(q, v, tmp, mid);
    msort(q, v + mid, tmp, n - mid);
    for (i = 0, j = mid, k = 0; i < mid && j < n;)
        tmp[k++] = pdoc_cmp(q, &v[j], &v[i]) < 0 ? v[j++] : v[i++];
    while (i < mid)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

int mg__select_paths(mg_conn *c, const eo_query *q, const bson_t *filter,
                     const eo_idmap *want, eo_row_fn fn, void *payload, eo_error *err)
{
    pctx p;
    eo_vec docs = EO_VEC_INIT(pdoc);
    mongoc_collection_t *coll = NULL;
    mongoc_cursor_t *cur = NULL;
    bson_t opts = BSON_INITIALIZER, proj;
    const bson_t *doc;
    bson_error_t be;
    eo_value *row = NULL, *keys = NULL;
    pdoc *tmp = NULL;
    uint64_t t0 = eo_clock__ns();
    size_t i, j, end;
    int64_t nrows = 0;
    int rc = EO_OK;

    memset(&p, 0, sizeof p);
    p.c = c;
    p.q = q;
    bson_append_document_begin(&opts, "projection", -1, &proj);
    for (i = 0; i < q->nfields + q->norder; i++) {
        const eo_field *f = i < q->nfields ? q->fields[i]
                          : q->order[i - q->nfields].nvia ? q->order[i - q->nfields].via[0]
                                                          : q->order[i - q->nfields].field;
        if (!bson_has_field(&proj, mg__key(f)))
            bson_append_int32(&proj, mg__key(f), -1, 1);
    }
    bson_append_document_end(&opts, &proj);
    if ((rc = mg__session_opts(c, &opts, err)) != EO_OK)
        goto done;
    coll = mg__collection(c, q->model);
    if (coll == NULL) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    cur = mongoc_collection_find_with_opts(coll, filter, &opts, NULL);
    while (mongoc_cursor_next(cur, &doc)) {
        pdoc d;
        size_t slot;
        if (want && !eo_idmap__get(want, doc_id(doc), &slot))
            continue;
        nrows++;
        memset(&d, 0, sizeof d);
        d.doc = bson_copy(doc);
        d.id = doc_id(doc);
        if (d.doc == NULL || eo_vec__push(&docs, &d) != EO_OK) {
            if (d.doc)
                bson_destroy(d.doc);
            rc = eo_error_set(err, EO_ENOMEM, "out of memory");
            goto done;
        }
    }
    if (mongoc_cursor_error(cur, &be)) {
        rc = mg__error(c, &be, q->model, "find", err);
        goto done;
    }
    p.docs = docs.items;
    p.n = docs.len;
    keys = eo_calloc((p.n ? p.n : 1) * (q->norder ? q->norder : 1), sizeof *keys);
    tmp = eo_calloc(p.n ? p.n : 1, sizeof *tmp);
    row = eo_malloc((q->nfields ? q->nfields : 1) * sizeof *row);
    if (!keys || !tmp || !row) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    for (i = 0; i < p.n; i++) {
        p.docs[i].keys = keys + i * q->norder;
        for (j = 0; j < q->norder; j++)
            p.docs[i].keys[j] = eo_null();
    }
    for (j = 0; j < q->norder && rc == EO_OK; j++) {
        if (q->order[j].nvia)
            rc = path_keys(&p, j, err);
        else if (q->order[j].sub)
            for (i = 0; i < p.n && rc == EO_OK; i++)
                rc = read_sub_key(&p, p.docs[i].doc, q->order[j].field, q->order[j].sub,
                                  &p.docs[i].keys[j], err);
        else
            for (i = 0; i < p.n && rc == EO_OK; i++)
                rc = read_key(&p, p.docs[i].doc, q->order[j].field, &p.docs[i].keys[j], err);
    }
    if (rc != EO_OK)
        goto done;
    msort(q, p.docs, tmp, p.n);
    i = q->offset > 0 && (uint64_t)q->offset < p.n ? (size_t)q->offset : q->offset > 0 ? p.n : 0;
    end = q->limit >= 0 && (uint64_t)q->limit < p.n - i ? i + (size_t)q->limit : p.n;
    for (; i < end && rc == EO_OK; i++) {
        eo_arena__reset(&p.s.arena);
        for (j = 0; j < q->nfields && rc == EO_OK; j++) {
            bson_iter_t it;
            if (bson_iter_init_find(&it, p.docs[i].doc, mg__key(q->fields[j])))
                rc = mg__read(c, &it, q->fields[j], &p.s, &row[j], err);
            else
                row[j] = eo_null();
        }
        if (rc == EO_OK)
            rc = fn(payload, row, q->nfields, err);
    }
done:
    if (c->base.trace) {
        char *f = bson_as_relaxed_extended_json(filter, NULL);
        char line[1024];
        snprintf(line, sizeof line, "find %s %s (ordered by a path here: %lld documents)",
                 q->model->table, f ? f : "", (long long)nrows);
        bson_free(f);
        eo_conn_trace(&c->base, EO_Q_SELECT, line, NULL, 0, eo_clock__ns() - t0, nrows);
    }
    for (i = 0; i < docs.len; i++)
        bson_destroy(((pdoc *)docs.items)[i].doc);
    eo_vec__free(&docs);
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(coll);
    bson_destroy(&opts);
    eo_arena__free(&p.keys);
    eo_arena__free(&p.s.arena);
    eo_free(keys);
    eo_free(tmp);
    eo_free(row);
    return rc;
}
