/*
 * read.c - reading through the record store, with prefetch.
 *
 * A miss on one record loads the field for the records it was fetched with
 * (its recordset), up to prefetch_max of them around it, in one query:
 * reading a field across N records costs N / prefetch_max queries, not N.
 * A small window loads every prefetchable field (as Odoo does); a large one
 * (NARROW_MIN records) brings the field asked for and the fields of the
 * model read before in this env (the store's hot set), so a loop over
 * several fields costs one query per window once each was read, and the
 * store holds only what is read.
 * Loading skips records that already hold the field.
 */
#include <stdio.h>

#include "orm_int.h"

typedef struct load_ctx {
    eo_env *env;
    const eo_model *m;
    const eo_field **fields;
    size_t nfields;
    /* a range load: the ids asked for, as bits from lo (rows between them
     * that were not asked for are skipped) */
    const uint64_t *want;
    int64_t lo;
} load_ctx;

/* A window of integer ids this dense (span <= 2n) loads by its range: one
 * range scan instead of n index probes of an IN list. */
#define RANGE_MIN 64
/* A window this large loads the field asked for and the hot set only; a
 * smaller one every prefetchable field (Odoo's prefetch: one query for a
 * loop over any fields, at a cost that does not matter at this size). */
#define NARROW_MIN 1024

static int load_row(void *payload, const eo_value *row, size_t ncols, eo_error *err)
{
    load_ctx *c = payload;
    eo_id id;
    size_t i;
    EO_UNUSED(ncols);
    if (eo_id_from_value(&id, c->env->adapter->idkind, &row[0]) != EO_OK)
        return eo_error_set(err, EO_ERROR, "the database returned an invalid id");
    if (c->want) {
        uint64_t k = (uint64_t)id.num - (uint64_t)c->lo;
        if (!((c->want[k / 64] >> (k % 64)) & 1))
            return EO_OK;
    }
    if (eo_store__set_row(c->env->store, c->m, id, c->fields + 1, row + 1, c->nfields - 1) !=
        EO_OK)
        return eo_error_set(err, EO_ENOMEM, "out of memory filling the record store");
    (void)i;
    return EO_OK;
}

int eo_orm__load(eo_env *env, const eo_model *m, const eo_id *ids, size_t n,
                 const eo_field *extra, eo_error *err)
{
    eo_domain *d = NULL;
    eo_value *vals = NULL;
    uint64_t *want = NULL;
    char (*hex)[25] = NULL;
    const eo_field **fields = NULL;
    eo_query q;
    load_ctx c;
    size_t i, nf = 0;
    int rc, narrow;

    if (n == 0)
        return EO_OK;
    fields = eo_malloc((m->nfields + 1) * sizeof *fields);
    vals = eo_malloc(n * sizeof *vals);
    if (env->adapter->idkind == EO_IDOID)
        hex = eo_malloc(n * sizeof *hex);
    if (fields == NULL || vals == NULL || (env->adapter->idkind == EO_IDOID && hex == NULL)) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    fields[nf++] = m->fields[0];
    /* a miss on extra over a large window brings extra and the fields read
     * before it (the hot set); a small window, or no extra: every
     * prefetchable field */
    if (extra)
        eo_store__heat(env->store, m, extra);
    narrow = extra != NULL && n >= NARROW_MIN;
    for (i = 1; i < m->nfields; i++) {
        const eo_field *f = m->fields[i];
        if (!(f->flags & EO_FF_STORED))
            continue;
        if (f == extra ||
            (!(f->flags & EO_FF_NOPREFETCH) && (!narrow || eo_store__hot(env->store, m, f))))
            fields[nf++] = f;
    }
    memset(&c, 0, sizeof c);
    if (env->adapter->idkind == EO_IDNUM && n >= RANGE_MIN) {
        int64_t lo = ids[0].num, hi = ids[0].num;
        for (i = 1; i < n; i++) {
            lo = ids[i].num < lo ? ids[i].num : lo;
            hi = ids[i].num > hi ? ids[i].num : hi;
        }
        if ((uint64_t)hi - (uint64_t)lo < 2 * (uint64_t)n) {
            size_t span = (size_t)((uint64_t)hi - (uint64_t)lo) + 1;
            want = eo_calloc((span + 63) / 64, sizeof *want);
            if (want == NULL) {
                rc = eo_error_set(err, EO_ENOMEM, "out of memory");
                goto done;
            }
            for (i = 0; i < n; i++) {
                uint64_t k = (uint64_t)ids[i].num - (uint64_t)lo;
                want[k / 64] |= (uint64_t)1 << (k % 64);
            }
            c.want = want;
            c.lo = lo;
            vals[0] = eo_int(lo);
            vals[1] = eo_int(hi);
            if (eo_domain__range(&d, m, m->fields[0], vals[0], vals[1]) != EO_OK) {
                rc = eo_error_set(err, EO_ENOMEM, "out of memory");
                goto done;
            }
        }
    }
    if (d == NULL) {
        for (i = 0; i < n; i++)
            vals[i] = eo_id_to_value(ids[i], env->adapter->idkind, hex ? hex[i] : NULL);
        if (eo_domain__in_list(&d, m, m->fields[0], vals, n) != EO_OK) {
            rc = eo_error_set(err, EO_ENOMEM, "out of memory");
            goto done;
        }
    }
    memset(&q, 0, sizeof q);
    q.model = m;
    q.domain = d;
    q.fields = fields;
    q.nfields = nf;
    q.limit = -1;
    c.env = env;
    c.m = m;
    c.fields = fields;
    c.nfields = nf;
    env->stats.prefetches++;
    rc = eo_env__select(env, &q, load_row, &c, err);
done:
    eo_free(want);
    eo_domain_free(d);
    eo_free(fields);
    eo_free(vals);
    eo_free(hex);
    return rc;
}

int eo_orm__missing(eo_env *env, const eo_model *m, const eo_field *f, const eo_id *pre,
                    size_t npre, size_t hint, eo_id id, eo_ids *out)
{
    size_t i, lo, hi, max = env->prefetch_max;
    int have_id = 0;
    if (pre == NULL || npre == 0) {
        pre = &id;
        npre = 1;
        hint = 0;
    }
    if (hint >= npre || !eo_id_equal(pre[hint], id)) {
        /* find the record in its prefetch set; fall back to the start */
        for (hint = 0; hint < npre && !eo_id_equal(pre[hint], id); hint++)
            ;
        if (hint == npre)
            hint = 0;
    }
    lo = hint;
    hi = npre - lo > max ? lo + max : npre;
    for (i = lo; i < hi; i++) {
        if (eo_store__has(env->store, m, pre[i], f))
            continue;
        if (eo_id_equal(pre[i], id))
            have_id = 1;
        if (eo_ids_push(out, pre[i]) != EO_OK)
            return EO_ENOMEM;
    }
    if (!have_id && eo_ids_push(out, id) != EO_OK)
        return EO_ENOMEM;
    return EO_OK;
}

int eo_orm_get(eo_env *env, const eo_model *m, eo_id id, const eo_field *f,
               const eo_id *prefetch, size_t nprefetch, size_t hint,
               const eo_value **out, eo_error *err)
{
    const eo_value *v;
    eo_ids todo = { 0 };
    int rc;
    /* the per-record path: the clear and the checks are a few stores and
     * compares before the store lookup */
    EO_ENTER();
    EO_REQUIRE(out);
    *out = NULL;
    EO_REQUIRE(env);
    EO_REQUIRE(m);
    EO_REQUIRE(f);
    EO_REQUIRE_N(prefetch, nprefetch);
    v = eo_store__get(env->store, m, id, f);
    if (v != NULL) {
        env->stats.store_hits++;
        *out = v;
        return EO_OK;
    }
    env->stats.store_misses++;
    if (!(f->flags & EO_FF_STORED))
        return eo_error_set(err, EO_ENOTFOUND, "%s.%s is not stored and not computed yet",
                            m->name, f->name);
    if ((rc = eo_env__ready(env, err)) != EO_OK)
        return rc;
    if (eo_orm__missing(env, m, f, prefetch, nprefetch, hint, id, &todo) != EO_OK) {
        eo_ids_free(&todo);
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    }
    rc = eo_orm__load(env, m, todo.v, todo.n, f, err);
    eo_ids_free(&todo);
    if (rc != EO_OK)
        return rc;
    v = eo_store__get(env->store, m, id, f);
    if (v == NULL) {
        char hx[25];
        eo_value iv = eo_id_to_value(id, env->adapter->idkind, hx);
        if (iv.type == EO_VINT)
            rc = eo_error_set(err, EO_ENOTFOUND, "%s(%lld) does not exist (deleted?)", m->name,
                              (long long)iv.u.i);
        else
            rc = eo_error_set(err, EO_ENOTFOUND, "%s(%s) does not exist (deleted?)", m->name, hx);
        eo_error_where(err, m->name, f->name);
        return rc;
    }
    *out = v;
    return EO_OK;
}

int eo_orm_read_rows(eo_env *env, const eo_model *m, const eo_id *ids, size_t n,
                     const eo_field *const *fields, size_t nfields, eo_row_fn fn,
                     void *payload, eo_error *err)
{
    eo_value *row = NULL;
    eo_ids todo = { 0 };
    char hx[25];
    size_t i, j, start;
    int rc;
    EO_ENTER();
    EO_REQUIRE(env);
    EO_REQUIRE(m);
    EO_REQUIRE_N(ids, n);
    EO_REQUIRE_N(fields, nfields);
    EO_REQUIRE(fn);
    for (j = 0; j < nfields; j++)
        if (fields[j] == NULL)
            return eo_error_set(err, EO_EINVAL, "eo_orm_read_rows: fields[%zu] is NULL", j);
    if ((rc = eo_env__ready(env, err)) != EO_OK)
        return rc;
    row = eo_malloc((nfields + 1) * sizeof *row);
    if (row == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    for (start = 0; start < n; start += env->prefetch_max) {
        size_t end = n - start > env->prefetch_max ? start + env->prefetch_max : n;
        todo.n = 0;
        for (i = start; i < end; i++) {
            for (j = 0; j < nfields; j++) {
                if ((fields[j]->flags & EO_FF_STORED) &&
                    !eo_store__has(env->store, m, ids[i], fields[j])) {
                    if (eo_ids_push(&todo, ids[i]) != EO_OK) {
                        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
                        goto done;
                    }
                    break;
                }
            }
        }
        for (j = 0; j < nfields && todo.n; j++) {
            if (fields[j]->flags & EO_FF_NOPREFETCH) {
                if ((rc = eo_orm__load(env, m, todo.v, todo.n, fields[j], err)) != EO_OK)
                    goto done;
            }
        }
        for (j = 0; j < nfields; j++) {
            const eo_field *f = fields[j];
            eo_ids lack = { 0 };
            if (f->type != EO_FT_ONE2MANY && f->type != EO_FT_MANY2MANY)
                continue;
            for (i = start; i < end; i++)
                if (!eo_store__has(env->store, m, ids[i], f) && eo_ids_push(&lack, ids[i]) != EO_OK) {
                    eo_ids_free(&lack);
                    rc = eo_error_set(err, EO_ENOMEM, "out of memory");
                    goto done;
                }
            rc = eo_orm__load_x2many(env, m, lack.v, lack.n, f, err);
            eo_ids_free(&lack);
            if (rc != EO_OK)
                goto done;
        }
        if (todo.n && (rc = eo_orm__load(env, m, todo.v, todo.n, NULL, err)) != EO_OK)
            goto done;
        for (i = start; i < end; i++) {
            int gone = 0;
            for (j = 0; j < nfields; j++) {
                const eo_value *v;
                if (fields[j]->type == EO_FT_ID) {
                    row[j] = eo_id_to_value(ids[i], env->adapter->idkind, hx);
                    continue;
                }
                v = eo_store__get(env->store, m, ids[i], fields[j]);
                if (v == NULL) {
                    if (fields[j]->flags & EO_FF_STORED) {
                        gone = 1;
                        break;
                    }
                    row[j] = eo_null();
                } else {
                    row[j] = *v;
                }
            }
            if (gone)
                continue; /* deleted records are skipped */
            if ((rc = fn(payload, row, nfields, err)) != EO_OK)
                goto done;
        }
    }
done:
    eo_free(row);
    eo_ids_free(&todo);
    return rc;
}

int eo_orm_cache_set(eo_env *env, const eo_model *m, eo_id id, const eo_field *f,
                     const eo_value *v, eo_error *err)
{
    EO_ENTER();
    EO_REQUIRE(env);
    EO_REQUIRE(m);
    EO_REQUIRE(f);
    EO_REQUIRE(v);
    if (eo_store__set(env->store, m, id, f, v) != EO_OK)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    return EO_OK;
}

const eo_value *eo_orm_peek(eo_env *env, const eo_model *m, eo_id id, const eo_field *f)
{
    if (env == NULL || m == NULL || f == NULL)
        return NULL;
    return eo_store__get(env->store, m, id, f);
}

int eo_orm_cached(eo_env *env, const eo_model *m, eo_id id, const eo_field *f)
{
    if (env == NULL || m == NULL || f == NULL)
        return 0;
    return eo_store__has(env->store, m, id, f);
}

void eo_orm_invalidate(eo_env *env, const eo_model *m, const eo_id *ids, size_t n,
                       const eo_field *f)
{
    size_t i;
    if (env == NULL || m == NULL)
        return;
    if (ids == NULL) {
        eo_store__forget_model(env->store, m, f);
        return;
    }
    for (i = 0; i < n; i++)
        eo_store__forget(env->store, m, ids[i], f);
}

int eo_orm_exists(eo_env *env, const eo_model *m, const eo_id *ids, size_t n, eo_ids *out,
                  eo_error *err)
{
    eo_ids found = { 0 };
    eo_idmap map;
    eo_value *vals = NULL;
    char (*hex)[25] = NULL;
    size_t i;
    int rc;
    memset(&map, 0, sizeof map);
    EO_ENTER();
    EO_REQUIRE(env);
    EO_REQUIRE(m);
    EO_REQUIRE_N(ids, n);
    EO_REQUIRE(out);
    if ((rc = eo_env__ready(env, err)) != EO_OK)
        return rc;
    if (n == 0)
        return EO_OK;
    vals = eo_malloc(n * sizeof *vals);
    if (env->adapter->idkind == EO_IDOID)
        hex = eo_malloc(n * sizeof *hex);
    if (vals == NULL || (env->adapter->idkind == EO_IDOID && hex == NULL)) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    for (i = 0; i < n; i++)
        vals[i] = eo_id_to_value(ids[i], env->adapter->idkind, hex ? hex[i] : NULL);
    if ((rc = eo_orm__ids_where_in(env, m, m->fields[0], vals, n, &found, err)) != EO_OK)
        goto done;
    for (i = 0; i < found.n; i++)
        if (eo_idmap__put(&map, found.v[i], 0) != EO_OK)
            goto oom;
    for (i = 0; i < n; i++)
        if (eo_idmap__get(&map, ids[i], &(size_t){ 0 }) && eo_ids_push(out, ids[i]) != EO_OK)
            goto oom;
    goto done;
oom:
    rc = eo_error_set(err, EO_ENOMEM, "out of memory");
done:
    eo_idmap__free(&map);
    eo_ids_free(&found);
    eo_free(vals);
    eo_free(hex);
    return rc;
}
