/*
 * write.c - writing and deleting records.
 *
 * A write sets the same values on a set of records: converted and checked
 * in C, sent as one UPDATE per chunk of ids, then copied into the record
 * store so the next read needs no query. Computed values that depend on
 * the written fields are forgotten; the binding recomputes stored ones.
 *
 * Unlink applies each referencing Many2one's ondelete rule first
 * (restrict refuses, set null clears, cascade deletes), all inside the
 * same transaction, so a deep cascade is all or nothing. On a _version
 * model the records asked for are checked first (version.c).
 */
#include <stdio.h>

#include "earnorm/depends.h"
#include "orm_int.h"
#include "version.h"

#define CHUNK 10000

static int distinct(const eo_id *ids, size_t n, size_t *out)
{
    eo_idmap seen;
    size_t i, c = 0;
    memset(&seen, 0, sizeof seen);
    for (i = 0; i < n; i++) {
        if (eo_idmap__get(&seen, ids[i], &(size_t){ 0 }))
            continue;
        if (eo_idmap__put(&seen, ids[i], 0) != EO_OK) {
            eo_idmap__free(&seen);
            return EO_ENOMEM;
        }
        c++;
    }
    eo_idmap__free(&seen);
    *out = c;
    return EO_OK;
}

/*
 * Cache the Many2one values (among fields) that x2many fields are built on,
 * for the records that lack them: a change then forgets the lists of the
 * old targets only, not the lists of every record (one query per window).
 */
static int load_targets(eo_env *env, const eo_model *m, const eo_id *ids, size_t n,
                        const eo_field *const *fields, size_t nf, eo_error *err)
{
    const eo_field **deps = NULL;
    eo_ids todo = { 0 };
    size_t i, j, nd = 0, start;
    int rc = EO_OK;
    for (j = 0; j < nf; j++) {
        if (!eo_orm__has_dependents(env, fields[j]))
            continue;
        if (deps == NULL && (deps = eo_malloc(nf * sizeof *deps)) == NULL)
            return eo_error_set(err, EO_ENOMEM, "out of memory");
        deps[nd++] = fields[j];
    }
    for (i = 0; i < n && nd > 0; i++) {
        for (j = 0; j < nd; j++)
            if (!eo_store__has(env->store, m, ids[i], deps[j]))
                break;
        if (j < nd && eo_ids_push(&todo, ids[i]) != EO_OK) {
            rc = eo_error_set(err, EO_ENOMEM, "out of memory");
            goto done;
        }
    }
    for (start = 0; start < todo.n && rc == EO_OK; start += env->prefetch_max) {
        size_t k = todo.n - start < env->prefetch_max ? todo.n - start : env->prefetch_max;
        rc = eo_orm__load(env, m, todo.v + start, k, NULL, err);
    }
done:
    eo_free(deps);
    eo_ids_free(&todo);
    return rc;
}

int eo_orm_write(eo_env *env, const eo_model *m, const eo_id *ids, size_t n,
                 const eo_kv *kvs, size_t nkv, unsigned flags, eo_error *err)
{
    const eo_field **cols = NULL;
    eo_value *vals = NULL;
    eo_value_scratch *sc = NULL;
    size_t i, ncols = 0, start, want;
    int64_t affected, total = 0;
    int rc, began = 0, solo = 0, deferred = 0, updating = 0;
    eo_auto au;
    eo_hsnap hs = { 0 };
    eo_vcheck vc = { NULL };
    char nowbuf[40];
    eo_value now;

    EO_ENTER();
    EO_REQUIRE(env);
    EO_REQUIRE(m);
    EO_REQUIRE_N(ids, n);
    EO_REQUIRE_N(kvs, nkv);
    for (i = 0; i < nkv; i++)
        if (kvs[i].field == NULL)
            return eo_error_set(err, EO_EINVAL, "eo_orm_write: kvs[%zu].field is NULL", i);
    if ((rc = eo_env__ready(env, err)) != EO_OK)
        return rc;
    if ((rc = eo_history__guard(m, "write", err)) != EO_OK)
        return rc;
    if (n == 0 || nkv == 0)
        return EO_OK;
    eo_auto__of(m, &au);
    now = eo_auto__now(nowbuf);
    /* room for write_date and the version (version.c) */
    cols = eo_malloc((nkv + 2) * sizeof *cols);
    vals = eo_malloc((nkv + 2) * sizeof *vals);
    sc = eo_malloc(nkv * sizeof *sc);
    if (cols == NULL || vals == NULL || sc == NULL)
        goto oom;
    for (i = 0; i < nkv; i++) {
        const eo_field *f = kvs[i].field;
        if ((rc = eo_orm__settable(f, flags, err)) != EO_OK)
            goto done;
        if (!(f->flags & EO_FF_STORED))
            continue;
        if ((rc = eo_field_convert(f, &kvs[i].value, &vals[ncols], &sc[ncols], err)) != EO_OK)
            goto done;
        if (vals[ncols].type == EO_VNULL && (f->flags & EO_FF_REQUIRED) &&
            !(flags & EO_W_COMPUTE)) {
            rc = eo_error_set(err, EO_EVALIDATE, "%s.%s: required field cannot be emptied",
                              m->name, f->name);
            eo_error_where(err, m->name, f->name);
            goto done;
        }
        if (f->type == EO_FT_MANY2ONE &&
            (rc = eo_orm__precheck_refs(env, f, &vals[ncols], 1, 1, &deferred, err)) != EO_OK)
            goto done;
        if (f->type == EO_FT_REFERENCE &&
            (rc = eo_orm__check_references(env, f, &vals[ncols], 1, 1, err)) != EO_OK)
            goto done;
        cols[ncols++] = f;
    }
    if (ncols && au.write_date) {
        cols[ncols] = au.write_date;
        vals[ncols++] = now;
    }
    if ((rc = distinct(ids, n, &want)) != EO_OK)
        goto oom;
    if ((rc = load_targets(env, m, ids, n, cols, ncols, err)) != EO_OK)
        goto done;
    if (ncols) {
        /* one record, nothing written beside its row: its UPDATE alone is atomic */
        if (n == 1 && !m->watched_ && !au.tracked && !au.version)
            rc = eo_env__atomic_begin_one(env, &solo, err);
        else
            rc = eo_env__atomic_begin(env, err);
        if (rc != EO_OK)
            goto done;
        began = 1;
        /* what the old values lead to (a line leaving its order) */
        if (m->watched_ &&
            (rc = eo_deps_modified(env, m, ids, n, cols, ncols, EO_DEPS_BEFORE, err)) != EO_OK)
            goto done;
        if (au.tracked &&
            (rc = eo_history__before_write(env, m, ids, n, cols, ncols, &hs, err)) != EO_OK)
            goto done;
        updating = 1;
        if (au.version) {
            if ((rc = eo_version__update(env, m, au.version, ids, n, cols, vals, ncols, flags,
                                         &vc, err)) != EO_OK)
                goto done;
            total = (int64_t)want;
        }
        for (start = 0; start < n && !au.version; start += CHUNK) {
            size_t k = n - start < CHUNK ? n - start : CHUNK;
            if ((rc = eo_env__update(env, m, ids + start, k, cols, vals, ncols,
                                           &affected, err)) != EO_OK)
                goto done;
            total += affected;
        }
        updating = 0;
        /* chunks never share ids unless the caller repeated some */
        if (total < (int64_t)want && n <= CHUNK) {
            rc = eo_error_set(err, EO_ENOTFOUND,
                              "%s: %lld of %zu records to write do not exist (deleted?)",
                              m->name, (long long)((int64_t)want - total), want);
            eo_error_where(err, m->name, NULL);
            goto done;
        }
        if (au.tracked && (rc = eo_history__after_write(env, &hs, vals, &now, err)) != EO_OK)
            goto done;
    }
    /* x2many values built on a written Many2one change for the old and new targets */
    for (i = 0; i < ncols; i++) {
        size_t k;
        if (!eo_orm__has_dependents(env, cols[i]))
            continue;
        for (k = 0; k < n; k++)
            eo_orm__relation_changed(env, cols[i], eo_store__get(env->store, m, ids[k], cols[i]),
                                     &vals[i]);
    }
    /* the store now holds what the database holds */
    for (i = 0; i < n; i++) {
        size_t j;
        for (j = 0; j < ncols; j++)
            if (eo_store__set(env->store, m, ids[i], cols[j], &vals[j]) != EO_OK)
                eo_store__forget(env->store, m, ids[i], cols[j]);
    }
    if (ncols && m->watched_)
        rc = eo_deps_modified(env, m, ids, n, cols, ncols, 0, err);
    goto done;
oom:
    rc = eo_error_set(err, EO_ENOMEM, "out of memory writing %s", m->name);
done:
    if (began)
        rc = eo_env__atomic_end_one(env, solo, rc, err);
    /* a foreign key refused the write without naming the field: say which */
    if (updating && deferred)
        rc = eo_orm__name_ref_failure(env, cols, ncols, vals, 1, ncols, rc, err);
    rc = eo_version__explain(env, m, &vc, rc, err);
    eo_history__free(&hs);
    eo_free(cols);
    eo_free(vals);
    eo_free(sc);
    return rc;
}

int eo_orm_write_each(eo_env *env, const eo_model *m, const eo_id *ids, size_t n,
                      const eo_field *f, const eo_value *vals, unsigned flags, eo_error *err)
{
    eo_value *cv = NULL;
    eo_value_scratch *sc = NULL;
    size_t i, want, start;
    int64_t affected, total = 0;
    int rc, began = 0, deferred = 0, updating = 0;

    EO_ENTER();
    EO_REQUIRE(env);
    EO_REQUIRE(m);
    EO_REQUIRE_N(ids, n);
    EO_REQUIRE(f);
    EO_REQUIRE_N(vals, n);
    if ((rc = eo_env__ready(env, err)) != EO_OK)
        return rc;
    if (n == 0)
        return EO_OK;
    if ((rc = eo_orm__settable(f, flags, err)) != EO_OK)
        return rc;
    if (!(f->flags & EO_FF_STORED)) {
        rc = eo_error_set(err, EO_EINVAL, "%s.%s: not a stored field; nothing to write",
                          m->name, f->name);
        eo_error_where(err, m->name, f->name);
        return rc;
    }
    cv = eo_malloc(n * sizeof *cv);
    sc = eo_calloc(n, sizeof *sc);
    if (cv == NULL || sc == NULL)
        goto oom;
    for (i = 0; i < n; i++) {
        if ((rc = eo_field_convert(f, &vals[i], &cv[i], &sc[i], err)) != EO_OK)
            goto done;
        if (cv[i].type == EO_VNULL && (f->flags & EO_FF_REQUIRED)) {
            /* a compute's (or an inverse's) final value: empty is refused too */
            if (flags & EO_W_COMPUTE) {
                char hex[25];
                eo_value iv = eo_id_to_value(ids[i], env->adapter->idkind, hex);
                if (iv.type == EO_VINT)
                    rc = eo_error_set(err, EO_EVALIDATE, "%s.%s: required field missing: the "
                                      "compute left it empty for %s(%lld)", m->name, f->name,
                                      m->name, (long long)iv.u.i);
                else
                    rc = eo_error_set(err, EO_EVALIDATE, "%s.%s: required field missing: the "
                                      "compute left it empty for %s(%s)", m->name, f->name,
                                      m->name, hex);
            } else {
                rc = eo_error_set(err, EO_EVALIDATE, "%s.%s: required field cannot be emptied",
                                  m->name, f->name);
            }
            eo_error_where(err, m->name, f->name);
            goto done;
        }
    }
    if (f->type == EO_FT_MANY2ONE &&
        (rc = eo_orm__precheck_refs(env, f, cv, n, 1, &deferred, err)) != EO_OK)
        goto done;
    if (f->type == EO_FT_REFERENCE &&
        (rc = eo_orm__check_references(env, f, cv, n, 1, err)) != EO_OK)
        goto done;
    if ((rc = distinct(ids, n, &want)) != EO_OK)
        goto oom;
    if ((rc = load_targets(env, m, ids, n, &f, 1, err)) != EO_OK)
        goto done;
    if ((rc = eo_env__atomic_begin(env, err)) != EO_OK)
        goto done;
    began = 1;
    if (m->watched_ &&
        (rc = eo_deps_modified(env, m, ids, n, &f, 1, EO_DEPS_BEFORE, err)) != EO_OK)
        goto done;
    updating = 1;
    for (start = 0; start < n; start += CHUNK) {
        size_t k = n - start < CHUNK ? n - start : CHUNK;
        if ((rc = eo_env__update_each(env, m, ids + start, k, f, cv + start, &affected, err)) !=
            EO_OK)
            goto done;
        total += affected;
    }
    updating = 0;
    if (total < (int64_t)want && want == n) {
        rc = eo_error_set(err, EO_ENOTFOUND,
                          "%s: %lld of %zu records to write do not exist (deleted?)", m->name,
                          (long long)((int64_t)want - total), want);
        eo_error_where(err, m->name, NULL);
        goto done;
    }
    for (i = 0; i < n; i++) {
        if (eo_orm__has_dependents(env, f))
            eo_orm__relation_changed(env, f, eo_store__get(env->store, m, ids[i], f), &cv[i]);
        if (eo_store__set(env->store, m, ids[i], f, &cv[i]) != EO_OK)
            eo_store__forget(env->store, m, ids[i], f);
    }
    if (m->watched_)
        rc = eo_deps_modified(env, m, ids, n, &f, 1, 0, err);
    goto done;
oom:
    rc = eo_error_set(err, EO_ENOMEM, "out of memory writing %s", m->name);
done:
    if (began)
        rc = eo_env__atomic_end(env, rc, err);
    if (updating && deferred)
        rc = eo_orm__name_ref_failure(env, &f, 1, cv, n, 1, rc, err);
    eo_free(cv);
    eo_free(sc);
    return rc;
}

/*
 * The records one unlink deletes, cascades included, per model: a record
 * already on its way out is neither restricted, set to null, nor deleted
 * twice (so cycles end, and a parent deleted with its children is not
 * refused by their restrict).
 */
typedef struct doomed {
    const eo_model *m;
    eo_idmap ids;
} doomed;

typedef struct unlink_ctx {
    eo_vec sets; /* of doomed */
    eo_value now; /* the operation's date, for history rows */
} unlink_ctx;

static eo_idmap *doomed_of(unlink_ctx *u, const eo_model *m)
{
    size_t i;
    doomed d;
    for (i = 0; i < u->sets.len; i++) {
        doomed *x = eo_vec__at(&u->sets, i);
        if (x->m == m)
            return &x->ids;
    }
    memset(&d, 0, sizeof d);
    d.m = m;
    if (eo_vec__push(&u->sets, &d) != EO_OK)
        return NULL;
    return &((doomed *)eo_vec__at(&u->sets, u->sets.len - 1))->ids;
}

static int unlink_rec(eo_env *env, unlink_ctx *u, const eo_model *m, const eo_id *ids, size_t n,
                      eo_error *err);

/* Apply ondelete of every Many2one pointing at m to the records ids. */
static int ondelete(eo_env *env, unlink_ctx *u, const eo_model *m, const eo_id *ids, size_t n,
                    eo_error *err)
{
    size_t mi, fi, i, nm = eo_registry_count(env->reg);
    eo_value *vals = NULL;
    char (*hex)[25] = NULL;
    int rc = EO_OK;

    vals = eo_malloc(n * sizeof *vals);
    if (env->adapter->idkind == EO_IDOID)
        hex = eo_malloc(n * sizeof *hex);
    if (vals == NULL || (env->adapter->idkind == EO_IDOID && hex == NULL)) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    for (i = 0; i < n; i++)
        vals[i] = eo_id_to_value(ids[i], env->adapter->idkind, hex ? hex[i] : NULL);
    for (mi = 0; mi < nm && rc == EO_OK; mi++) {
        const eo_model *om = eo_registry_at(env->reg, mi);
        if (om->abstract)
            continue;
        for (fi = 0; fi < om->nfields && rc == EO_OK; fi++) {
            const eo_field *f = om->fields[fi];
            eo_ids refs = { 0 };
            eo_idmap *gone;
            size_t k = 0;
            /* a computed Many2one that is not stored (a related or delegated
             * one) has no column: the stored field it follows has the rule */
            if (f->type != EO_FT_MANY2ONE || f->comodel != m || !(f->flags & EO_FF_STORED))
                continue;
            rc = eo_orm__ids_where_in(env, om, f, vals, n, &refs, err);
            if (rc != EO_OK)
                goto next;
            if ((gone = doomed_of(u, om)) == NULL) {
                rc = eo_error_set(err, EO_ENOMEM, "out of memory");
                goto next;
            }
            for (i = 0; i < refs.n; i++)
                if (!eo_idmap__get(gone, refs.v[i], &(size_t){ 0 }))
                    refs.v[k++] = refs.v[i];
            refs.n = k;
            if (refs.n == 0)
                goto next;
            if (f->ondelete == EO_ONDELETE_RESTRICT) {
                char idbuf[32];
                eo_value first;
                char hx[25];
                first = eo_id_to_value(refs.v[0], env->adapter->idkind, hx);
                if (first.type == EO_VINT)
                    snprintf(idbuf, sizeof idbuf, "%lld", (long long)first.u.i);
                else
                    snprintf(idbuf, sizeof idbuf, "%s", hx);
                rc = eo_error_set(err, EO_ECONFLICT,
                                  "cannot delete %s records: %zu %s record%s refer to them through %s (ondelete=restrict), e.g. %s(%s)",
                                  m->name, refs.n, om->name, refs.n == 1 ? "" : "s", f->name,
                                  om->name, idbuf);
                eo_error_where(err, om->name, f->name);
            } else if (f->ondelete == EO_ONDELETE_CASCADE) {
                rc = unlink_rec(env, u, om, refs.v, refs.n, err);
            } else {
                eo_kv kv;
                kv.field = f;
                kv.value = eo_null();
                rc = eo_orm_write(env, om, refs.v, refs.n, &kv, 1, EO_W_COMPUTE, err);
            }
        next:
            eo_ids_free(&refs);
        }
    }
done:
    eo_free(vals);
    eo_free(hex);
    return rc;
}

static int unlink_rec(eo_env *env, unlink_ctx *u, const eo_model *m, const eo_id *ids, size_t n,
                      eo_error *err)
{
    eo_idmap *gone = doomed_of(u, m);
    size_t i, start;
    int64_t affected;
    int rc;
    if (gone == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    for (i = 0; i < n; i++)
        if (eo_idmap__put(gone, ids[i], 0) != EO_OK)
            return eo_error_set(err, EO_ENOMEM, "out of memory");
    /* what depends on these records, found while they are still there */
    if (m->watched_ &&
        (rc = eo_deps_modified(env, m, ids, n, NULL, 0, EO_DEPS_BEFORE | EO_DEPS_ALL, err)) != EO_OK)
        return rc;
    /* what points here goes first: children before parents */
    if ((rc = ondelete(env, u, m, ids, n, err)) != EO_OK)
        return rc;
    if ((rc = load_targets(env, m, ids, n, (const eo_field *const *)m->fields + 1,
                           m->nfields - 1, err)) != EO_OK)
        return rc;
    /* x2many values that listed these records */
    for (i = 1; i < m->nfields; i++) {
        size_t k;
        if (!eo_orm__has_dependents(env, m->fields[i]))
            continue;
        for (k = 0; k < n; k++)
            eo_orm__relation_changed(env, m->fields[i],
                                     eo_store__get(env->store, m, ids[k], m->fields[i]), NULL);
    }
    if ((rc = eo_history__deleting(env, m, ids, n, &u->now, err)) != EO_OK)
        return rc;
    for (start = 0; start < n; start += CHUNK) {
        size_t k = n - start < CHUNK ? n - start : CHUNK;
        if ((rc = eo_env__remove(env, m, ids + start, k, &affected, err)) != EO_OK)
            return rc;
    }
    for (i = 0; i < n; i++)
        eo_store__forget(env->store, m, ids[i], NULL);
    eo_deps__forget_records(env, m, ids, n);
    return EO_OK;
}

int eo_orm_unlink(eo_env *env, const eo_model *m, const eo_id *ids, size_t n, eo_error *err)
{
    unlink_ctx u;
    size_t i;
    char nowbuf[40];
    eo_auto au;
    eo_vcheck vc = { NULL };
    const eo_field *vcol = NULL;
    eo_value vval;
    int rc;
    EO_ENTER();
    EO_REQUIRE(env);
    EO_REQUIRE(m);
    EO_REQUIRE_N(ids, n);
    if ((rc = eo_env__ready(env, err)) != EO_OK)
        return rc;
    if (n == 0)
        return EO_OK;
    if ((rc = eo_env__atomic_begin(env, err)) != EO_OK)
        return rc;
    memset(&u, 0, sizeof u);
    u.sets.isize = sizeof(doomed);
    u.now = eo_auto__now(nowbuf);
    eo_auto__of(m, &au);
    /* the records asked for, checked before anything goes (version.c) */
    rc = EO_OK;
    if (au.version)
        rc = eo_version__update(env, m, au.version, ids, n, &vcol, &vval, 0, EO_VERSION_UNLINK,
                                &vc, err);
    if (rc == EO_OK)
        rc = unlink_rec(env, &u, m, ids, n, err);
    for (i = 0; i < u.sets.len; i++)
        eo_idmap__free(&((doomed *)eo_vec__at(&u.sets, i))->ids);
    eo_vec__free(&u.sets);
    rc = eo_env__atomic_end(env, rc, err);
    return eo_version__explain(env, m, &vc, rc, err);
}
