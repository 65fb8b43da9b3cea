/*
 * create.c - creating records in batches.
 *
 * Rows are converted and checked in C (types, size, range, choices,
 * required, Many2one targets) a chunk at a time, then handed to the adapter
 * as one row-major block; the whole batch runs in one transaction or
 * savepoint, so a failure anywhere leaves nothing written. Text values
 * point into the caller's memory where they can, and into a per-chunk arena
 * where conversion produced new text (dates, decimals).
 */
#include <stdio.h>

#include "earnorm/depends.h"
#include "orm_int.h"
#include "version.h"

#define CHUNK 2000

typedef struct plan {
    const eo_field **cols;     /* stored fields but id */
    size_t ncols;
    int *colof;                /* field index -> column, -1 if none */
} plan;

static void plan_free(plan *p)
{
    eo_free(p->cols);
    eo_free(p->colof);
}

static int plan_make(plan *p, const eo_model *m)
{
    size_t i;
    p->cols = eo_malloc(m->nfields * sizeof *p->cols);
    p->colof = eo_malloc(m->nfields * sizeof *p->colof);
    p->ncols = 0;
    if (p->cols == NULL || p->colof == NULL)
        return EO_ENOMEM;
    for (i = 0; i < m->nfields; i++) {
        const eo_field *f = m->fields[i];
        p->colof[i] = -1;
        if (f->type == EO_FT_ID || !(f->flags & EO_FF_STORED))
            continue;
        p->colof[i] = (int)p->ncols;
        p->cols[p->ncols++] = f;
    }
    return EO_OK;
}

/* The rows of the chunk that starts at start. */
static size_t nchunk_of(size_t nrows, size_t start)
{
    return nrows - start < CHUNK ? nrows - start : CHUNK;
}

static int row_error(eo_error *err, size_t row, size_t nrows)
{
    /* say which record of a batch failed, after the field's own message */
    if (err && nrows > 1) {
        size_t len = strlen(err->msg);
        snprintf(err->msg + len, sizeof err->msg - len, " (record %zu of %zu)", row + 1, nrows);
    }
    return err ? err->code : EO_ERROR;
}

int eo_orm_create(eo_env *env, const eo_model *m, size_t nrows, eo_create_row_fn rowfn,
                  void *payload, unsigned flags, eo_id *out_ids, eo_error *err)
{
    plan p = { 0 };
    eo_auto au;
    char nowbuf[40];
    eo_value now;
    eo_kv *kvs = NULL;
    eo_value *block = NULL;
    unsigned char *given = NULL;
    eo_arena arena = { 0 };
    size_t start = 0, i, j;
    int rc, began = 0, solo = 0, deferred = 0, inserting = 0;

    EO_ENTER();
    EO_REQUIRE(env);
    EO_REQUIRE(m);
    if (nrows && rowfn == NULL)
        return eo_error__null(err, __func__, "row");
    EO_REQUIRE_N(out_ids, nrows);
    if ((rc = eo_env__ready(env, err)) != EO_OK)
        return rc;
    if (m->abstract)
        return eo_error_set(err, EO_EINVAL, "%s is abstract: it has no records", m->name);
    if ((rc = eo_history__guard(m, "create", err)) != EO_OK)
        return rc;
    if (nrows == 0)
        return EO_OK;
    eo_auto__of(m, &au);
    now = eo_auto__now(nowbuf);
    if (plan_make(&p, m) != EO_OK)
        goto oom;
    kvs = eo_malloc(m->nfields * sizeof *kvs);
    block = eo_malloc((nrows < CHUNK ? nrows : CHUNK) * (p.ncols ? p.ncols : 1) * sizeof *block);
    given = eo_malloc(m->nfields);
    if (kvs == NULL || block == NULL || given == NULL)
        goto oom;
    /* one record, nothing written beside its row: its INSERT alone is atomic */
    if (nrows == 1 && !au.tracked && !m->watched_)
        rc = eo_env__atomic_begin_one(env, &solo, err);
    else
        rc = eo_env__atomic_begin(env, err);
    if (rc != EO_OK)
        goto done;
    began = 1;
    for (start = 0; start < nrows; start += CHUNK) {
        size_t nchunk = nrows - start < CHUNK ? nrows - start : CHUNK;
        eo_arena__free(&arena);
        for (i = 0; i < nchunk; i++) {
            size_t row = start + i, nkv = 0;
            eo_value *vals = block + i * p.ncols;
            for (j = 0; j < p.ncols; j++)
                vals[j] = eo_null();
            memset(given, 0, m->nfields);
            if ((rc = rowfn(payload, row, kvs, m->nfields, &nkv, err)) != EO_OK) {
                row_error(err, row, nrows);
                goto done;
            }
            for (j = 0; j < nkv; j++) {
                const eo_field *f = kvs[j].field;
                eo_value_scratch sc;
                eo_value v;
                if (f == NULL) {
                    rc = eo_error_set(err, EO_EINVAL, "eo_orm_create: row %zu: a field is NULL", row);
                    goto done;
                }
                if ((rc = eo_orm__settable(f, flags, err)) != EO_OK) {
                    row_error(err, row, nrows);
                    goto done;
                }
                if (p.colof[f->index] < 0)
                    continue;
                sc.buf[0] = '\0';
                if ((rc = eo_field_convert(f, &kvs[j].value, &v, &sc, err)) != EO_OK) {
                    row_error(err, row, nrows);
                    goto done;
                }
                if (v.type == EO_VTEXT && v.u.s.p == sc.buf &&
                    eo_arena__value(&arena, &v, &v) != EO_OK)
                    goto oom;
                vals[p.colof[f->index]] = v;
                given[f->index] = 1;
            }
            eo_auto__stamp_create(&au, p.colof, vals, &now);
            for (j = 0; j < p.ncols; j++) {
                const eo_field *f = p.cols[j];
                if (!given[f->index] && (f->flags & EO_FF_DEFAULT))
                    vals[j] = f->def;
                if (vals[j].type == EO_VNULL && (f->flags & EO_FF_REQUIRED) &&
                    !(f->flags & EO_FF_COMPUTED)) {
                    rc = eo_error_set(err, EO_EVALIDATE, "%s.%s: required field missing",
                                      m->name, f->name);
                    eo_error_where(err, m->name, f->name);
                    row_error(err, row, nrows);
                    goto done;
                }
            }
        }
        /* the targets exist: asked here, or the database's foreign key checks them */
        for (j = 0; j < p.ncols; j++)
            if (p.cols[j]->type == EO_FT_MANY2ONE &&
                (rc = eo_orm__precheck_refs(env, p.cols[j], block + j, nchunk, p.ncols, &deferred,
                                            err)) != EO_OK)
                goto done;
        for (j = 0; j < p.ncols; j++)
            if (p.cols[j]->type == EO_FT_REFERENCE &&
                (rc = eo_orm__check_references(env, p.cols[j], block + j, nchunk, p.ncols,
                                               err)) != EO_OK)
                goto done;
        inserting = 1;
        if ((rc = eo_env__insert_more(env, m, p.cols, p.ncols, block, nchunk,
                                      nrows - start - nchunk, out_ids + start, err)) != EO_OK)
            goto done;
        inserting = 0;
        if (au.tracked && (rc = eo_history__created(env, m, p.cols, p.ncols, block, nchunk,
                                                    out_ids + start, &now, err)) != EO_OK)
            goto done;
        /* new records join the x2many values of what they point to */
        for (j = 0; j < p.ncols; j++) {
            eo_value none = eo_null();
            if (!eo_orm__has_dependents(env, p.cols[j]))
                continue;
            for (i = 0; i < nchunk; i++)
                eo_orm__relation_changed(env, p.cols[j], &none, &block[i * p.ncols + j]);
        }
        /* the Many2one values computed fields follow back (a new line's
         * order) are kept: marking reads them without a query */
        for (j = 0; m->watched_ && j < p.ncols; j++) {
            if (p.cols[j]->type != EO_FT_MANY2ONE || p.cols[j]->deps_ == NULL)
                continue;
            for (i = 0; i < nchunk; i++)
                if (eo_store__set(env->store, m, out_ids[start + i], p.cols[j],
                                  &block[i * p.ncols + j]) != EO_OK)
                    goto oom;
        }
    }
    if (m->watched_)
        rc = eo_deps_modified(env, m, out_ids, nrows, NULL, 0, EO_DEPS_ALL | EO_DEPS_CREATED, err);
    goto done;
oom:
    rc = eo_error_set(err, EO_ENOMEM, "out of memory creating %s records", m->name);
done:
    if (began)
        rc = eo_env__atomic_end_one(env, solo, rc, err);
    /* a foreign key refused the chunk without naming the field: say which */
    if (inserting && deferred)
        rc = eo_orm__name_ref_failure(env, p.cols, p.ncols, block, nchunk_of(nrows, start),
                                      p.ncols, rc, err);
    eo_arena__free(&arena);
    plan_free(&p);
    eo_free(kvs);
    eo_free(block);
    eo_free(given);
    return rc;
}
