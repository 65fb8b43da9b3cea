/*
 * x2many.c - One2many and Many2many: loading, linking, invalidation.
 *
 * An x2many value is held in the record store as a BLOB of packed eo_ids,
 * in the order of the comodel. A One2many is read from the comodel's
 * inverse Many2one; a Many2many from its junction model (declared by the
 * registry: two Many2one columns, ondelete cascade), so both work through
 * the ordinary adapter operations on every backend. Loading is batched for
 * the whole prefetch set: one query for a One2many, two for a Many2many
 * (the pairs, then the targets' order).
 *
 * Caches stay exact: whenever a Many2one changes (write, create, unlink,
 * and so junction rows), the x2many values built on it are forgotten for
 * the old and the new target (dependents()).
 */
#include <stdio.h>
#include <stdlib.h>

#include "orm_int.h"

typedef struct lists {
    eo_env *env;
    eo_idmap pos;         /* owner id -> index */
    eo_vec *v;            /* per owner: eo_id list */
    size_t n;
    eo_vec targets;       /* Many2many: distinct targets */
    eo_idmap seen;
    const eo_model *cm;   /* One2many: the comodel, whose rows come along */
    const eo_field **cols;
    size_t ncols;
} lists;

static int lists_init(lists *l, eo_env *env, const eo_id *ids, size_t n)
{
    size_t i;
    memset(l, 0, sizeof *l);
    l->env = env;
    l->n = n;
    l->targets.isize = sizeof(eo_id);
    l->v = eo_calloc(n ? n : 1, sizeof *l->v);
    if (l->v == NULL)
        return EO_ENOMEM;
    for (i = 0; i < n; i++) {
        l->v[i].isize = sizeof(eo_id);
        if (eo_idmap__put(&l->pos, ids[i], i) != EO_OK)
            return EO_ENOMEM;
    }
    return EO_OK;
}

static void lists_free(lists *l)
{
    size_t i;
    for (i = 0; l->v && i < l->n; i++)
        eo_vec__free(&l->v[i]);
    eo_free(l->v);
    eo_idmap__free(&l->pos);
    eo_idmap__free(&l->seen);
    eo_vec__free(&l->targets);
}

/* row: (member, owner) for a One2many, (owner, member) for a Many2many */
static int add_pair(lists *l, const eo_value *owner, const eo_value *member, int track,
                    eo_error *err)
{
    eo_id o, t;
    size_t i;
    eo_idkind kind = l->env->adapter->idkind;
    if (eo_id_from_value(&o, kind, owner) != EO_OK || eo_id_from_value(&t, kind, member) != EO_OK)
        return eo_error_set(err, EO_ERROR, "the database returned an invalid id");
    if (!eo_idmap__get(&l->pos, o, &i))
        return EO_OK;
    if (eo_vec__push(&l->v[i], &t) != EO_OK)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    if (track && !eo_idmap__get(&l->seen, t, &(size_t){ 0 })) {
        if (eo_idmap__put(&l->seen, t, 0) != EO_OK || eo_vec__push(&l->targets, &t) != EO_OK)
            return eo_error_set(err, EO_ENOMEM, "out of memory");
    }
    return EO_OK;
}

static int o2m_row(void *payload, const eo_value *row, size_t ncols, eo_error *err)
{
    lists *l = payload;
    eo_id id;
    int rc = add_pair(l, &row[1], &row[0], 0, err);
    EO_UNUSED(ncols);
    /* the members' own fields came in the same rows: keep them (a loop over
     * the lines reads their amounts without another query) */
    if (rc == EO_OK && l->ncols > 1 &&
        eo_id_from_value(&id, l->env->adapter->idkind, &row[0]) == EO_OK &&
        eo_store__set_row(l->env->store, l->cm, id, l->cols + 1, row + 1, l->ncols - 1) != EO_OK)
        rc = eo_error_set(err, EO_ENOMEM, "out of memory filling the record store");
    return rc;
}

static int m2m_row(void *payload, const eo_value *row, size_t ncols, eo_error *err)
{
    EO_UNUSED(ncols);
    return add_pair(payload, &row[0], &row[1], 1, err);
}

typedef struct rank_ctx {
    eo_env *env;
    eo_idmap rank;
    size_t next;
} rank_ctx;

static int rank_row(void *payload, const eo_value *row, size_t ncols, eo_error *err)
{
    rank_ctx *r = payload;
    eo_id id;
    EO_UNUSED(ncols);
    if (eo_id_from_value(&id, r->env->adapter->idkind, &row[0]) != EO_OK)
        return eo_error_set(err, EO_ERROR, "the database returned an invalid id");
    return eo_idmap__put(&r->rank, id, r->next++) ? eo_error_set(err, EO_ENOMEM, "out of memory")
                                                   : EO_OK;
}

typedef struct ranked {
    size_t rank;
    eo_id id;
} ranked;

static int by_rank(const void *a, const void *b)
{
    size_t x = ((const ranked *)a)->rank, y = ((const ranked *)b)->rank;
    return x < y ? -1 : x > y;
}

/* Order each Many2many list like the comodel, dropping ids that are gone. */
static int order_targets(eo_env *env, const eo_model *cm, lists *l, eo_error *err)
{
    rank_ctx r;
    eo_value *vals = NULL;
    char (*hex)[25] = NULL;
    ranked *tmp = NULL;
    const eo_field *idf = cm->fields[0];
    size_t i, j, k, most = 0;
    int rc;
    memset(&r, 0, sizeof r);
    r.env = env;
    if (l->targets.len == 0)
        return EO_OK;
    if (eo_orm__id_values(env, l->targets.items, l->targets.len, &vals, &hex) != EO_OK)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    rc = eo_orm__select_in(env, cm, idf, vals, l->targets.len, &idf, 1, 1, rank_row, &r, err);
    eo_free(vals);
    eo_free(hex);
    if (rc != EO_OK)
        goto done;
    for (i = 0; i < l->n; i++)
        if (l->v[i].len > most)
            most = l->v[i].len;
    tmp = eo_malloc((most ? most : 1) * sizeof *tmp);
    if (tmp == NULL) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    for (i = 0; i < l->n; i++) {
        eo_id *ids = l->v[i].items;
        for (j = 0, k = 0; j < l->v[i].len; j++) {
            if (eo_idmap__get(&r.rank, ids[j], &tmp[k].rank)) {
                tmp[k].id = ids[j];
                k++;
            }
        }
        qsort(tmp, k, sizeof *tmp, by_rank);
        for (j = 0; j < k; j++)
            ids[j] = tmp[j].id;
        l->v[i].len = k;
    }
done:
    eo_free(tmp);
    eo_idmap__free(&r.rank);
    return rc;
}

int eo_orm__load_x2many(eo_env *env, const eo_model *m, const eo_id *ids, size_t n,
                        const eo_field *f, eo_error *err)
{
    const eo_model *cm = f->comodel;
    eo_value *vals = NULL;
    char (*hex)[25] = NULL;
    lists l;
    size_t i;
    int rc;

    if (n == 0)
        return EO_OK;
    if (cm == NULL)
        return eo_error_set(err, EO_ENOTFOUND, "%s.%s: model %s is not defined", m->name, f->name,
                            f->comodel_name);
    if (lists_init(&l, env, ids, n) != EO_OK ||
        eo_orm__id_values(env, ids, n, &vals, &hex) != EO_OK) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    if (f->type == EO_FT_ONE2MANY) {
        const eo_field *inv = eo_model_field(cm, f->inverse, strlen(f->inverse));
        size_t k, nc = 0;
        /* id, the inverse, then the comodel's other prefetchable fields */
        const eo_field **cols = eo_malloc((cm->nfields + 2) * sizeof *cols);
        if (cols == NULL) {
            rc = eo_error_set(err, EO_ENOMEM, "out of memory");
            goto done;
        }
        cols[nc++] = cm->fields[0];
        cols[nc++] = inv;
        for (k = 1; k < cm->nfields; k++) {
            const eo_field *c = cm->fields[k];
            if (c != inv && (c->flags & EO_FF_STORED) && !(c->flags & EO_FF_NOPREFETCH))
                cols[nc++] = c;
        }
        l.cm = cm;
        l.cols = cols;
        l.ncols = nc;
        rc = eo_orm__select_in(env, cm, inv, vals, n, cols, nc, 1, o2m_row, &l, err);
        l.cols = NULL;
        eo_free(cols);
    } else {
        const eo_model *j = f->junction;
        const eo_field *cols[2];
        if (j == NULL) {
            rc = eo_error_set(err, EO_ERROR, "%s.%s: junction not resolved", m->name, f->name);
            goto done;
        }
        cols[0] = eo_model_field(j, f->column1, strlen(f->column1));
        cols[1] = eo_model_field(j, f->column2, strlen(f->column2));
        rc = eo_orm__select_in(env, j, cols[0], vals, n, cols, 2, 0, m2m_row, &l, err);
        if (rc == EO_OK)
            rc = order_targets(env, cm, &l, err);
    }
    if (rc != EO_OK)
        goto done;
    for (i = 0; i < n; i++) {
        eo_value blob = eo_blob(l.v[i].items ? l.v[i].items : "", l.v[i].len * sizeof(eo_id));
        if (eo_store__set(env->store, m, ids[i], f, &blob) != EO_OK) {
            rc = eo_error_set(err, EO_ENOMEM, "out of memory filling the record store");
            goto done;
        }
    }
done:
    lists_free(&l);
    eo_free(vals);
    eo_free(hex);
    return rc;
}

int eo_orm_get_ids(eo_env *env, const eo_model *m, eo_id id, const eo_field *f,
                   const eo_id *prefetch, size_t nprefetch, size_t hint, const eo_id **out,
                   size_t *n, eo_error *err)
{
    const eo_value *v;
    eo_ids todo = { 0 };
    int rc;
    EO_ENTER();
    EO_REQUIRE(out);
    *out = NULL;
    EO_REQUIRE(n);
    *n = 0;
    EO_REQUIRE(env);
    EO_REQUIRE(m);
    EO_REQUIRE(f);
    EO_REQUIRE_N(prefetch, nprefetch);
    if (f->type != EO_FT_ONE2MANY && f->type != EO_FT_MANY2MANY)
        return eo_error_set(err, EO_EINVAL, "%s.%s is not an x2many field", m->name, f->name);
    if ((rc = eo_env__ready(env, err)) != EO_OK)
        return rc;
    v = eo_store__get(env->store, m, id, f);
    if (v == NULL) {
        env->stats.store_misses++;
        if (eo_orm__missing(env, m, f, prefetch, nprefetch, hint, id, &todo) != EO_OK) {
            eo_ids_free(&todo);
            return eo_error_set(err, EO_ENOMEM, "out of memory");
        }
        env->stats.prefetches++;
        rc = eo_orm__load_x2many(env, m, todo.v, todo.n, f, err);
        eo_ids_free(&todo);
        if (rc != EO_OK)
            return rc;
        v = eo_store__get(env->store, m, id, f);
        if (v == NULL)
            return eo_error_set(err, EO_ERROR, "%s.%s: not loaded", m->name, f->name);
    } else {
        env->stats.store_hits++;
    }
    *out = (const eo_id *)(const void *)v->u.s.p;
    *n = v->u.s.n / sizeof(eo_id);
    return EO_OK;
}

/* ---- invalidation ---- */

/* Is x2many field F built on Many2one f? */
static int built_on(const eo_field *F, const eo_field *f)
{
    if (F->type == EO_FT_ONE2MANY)
        return F->comodel == f->model && F->inverse && strcmp(F->inverse, f->name) == 0;
    if (F->type == EO_FT_MANY2MANY)
        return F->junction == f->model && F->column1 && strcmp(F->column1, f->name) == 0;
    return 0;
}

void eo_orm__relation_changed(eo_env *env, const eo_field *f, const eo_value *oldv,
                              const eo_value *newv)
{
    size_t mi, fi, nm = eo_registry_count(env->reg);
    eo_idkind kind = env->adapter->idkind;
    for (mi = 0; mi < nm; mi++) {
        const eo_model *om = eo_registry_at(env->reg, mi);
        for (fi = 0; fi < om->nfields; fi++) {
            const eo_field *F = om->fields[fi];
            eo_id id;
            if (!built_on(F, f))
                continue;
            if (oldv == NULL) {
                /* the old target is unknown: forget the field everywhere */
                eo_store__forget_model(env->store, om, F);
            } else if (oldv->type != EO_VNULL && eo_id_from_value(&id, kind, oldv) == EO_OK) {
                eo_store__forget(env->store, om, id, F);
            }
            if (newv && newv->type != EO_VNULL && eo_id_from_value(&id, kind, newv) == EO_OK)
                eo_store__forget(env->store, om, id, F);
        }
    }
}

int eo_orm__has_dependents(eo_env *env, const eo_field *f)
{
    size_t mi, fi, nm = eo_registry_count(env->reg);
    if (f->type != EO_FT_MANY2ONE)
        return 0;
    for (mi = 0; mi < nm; mi++) {
        const eo_model *om = eo_registry_at(env->reg, mi);
        for (fi = 0; fi < om->nfields; fi++)
            if (built_on(om->fields[fi], f))
                return 1;
    }
    return 0;
}

/* ---- linking ---- */

typedef struct pair_src {
    const eo_model *j;
    const eo_field *c1, *c2;
    eo_value owner;
    const eo_value *targets;
} pair_src;

static int pair_row(void *payload, size_t i, eo_kv *out, size_t cap, size_t *n, eo_error *err)
{
    pair_src *p = payload;
    EO_UNUSED(cap);
    EO_UNUSED(err);
    out[0].field = p->c1;
    out[0].value = p->owner;
    out[1].field = p->c2;
    out[1].value = p->targets[i];
    *n = 2;
    return EO_OK;
}

/* The subset of targets (deduplicated) that is / is not in the current list. */
static int split(const eo_id *cur, size_t ncur, const eo_id *targets, size_t n, int want_in,
                 eo_ids *out)
{
    eo_idmap have, seen;
    size_t i;
    int rc = EO_OK;
    memset(&have, 0, sizeof have);
    memset(&seen, 0, sizeof seen);
    for (i = 0; i < ncur && rc == EO_OK; i++)
        rc = eo_idmap__put(&have, cur[i], 0);
    for (i = 0; i < n && rc == EO_OK; i++) {
        if (eo_idmap__get(&seen, targets[i], &(size_t){ 0 }))
            continue;
        rc = eo_idmap__put(&seen, targets[i], 0);
        if (rc == EO_OK && eo_idmap__get(&have, targets[i], &(size_t){ 0 }) == want_in)
            rc = eo_ids_push(out, targets[i]);
    }
    eo_idmap__free(&have);
    eo_idmap__free(&seen);
    return rc;
}

static int current(eo_env *env, const eo_model *m, eo_id id, const eo_field *f, eo_ids *out,
                   eo_error *err)
{
    const eo_id *cur;
    size_t n, i;
    int rc = eo_orm_get_ids(env, m, id, f, &id, 1, 0, &cur, &n, err);
    for (i = 0; rc == EO_OK && i < n; i++)
        if (eo_ids_push(out, cur[i]) != EO_OK)
            rc = eo_error_set(err, EO_ENOMEM, "out of memory");
    return rc;
}

int eo_orm_link(eo_env *env, const eo_model *m, eo_id id, const eo_field *f, const eo_id *targets,
                size_t n, eo_ids *added, eo_error *err)
{
    eo_ids cur = { 0 }, add = { 0 };
    eo_value *vals = NULL;
    char (*hex)[25] = NULL, idhex[25];
    int rc, began = 0;

    EO_ENTER();
    EO_REQUIRE(env);
    EO_REQUIRE(m);
    EO_REQUIRE(f);
    EO_REQUIRE_N(targets, n);
    if (f->type != EO_FT_ONE2MANY && f->type != EO_FT_MANY2MANY)
        return eo_error_set(err, EO_EINVAL, "%s.%s is not an x2many field", m->name, f->name);
    if ((rc = current(env, m, id, f, &cur, err)) != EO_OK)
        goto done;
    if (split(cur.v, cur.n, targets, n, 0, &add) != EO_OK) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    if (add.n == 0)
        goto done;
    if (eo_orm__id_values(env, add.v, add.n, &vals, &hex) != EO_OK) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    /* refuse a missing target naming this field, not the junction's column */
    if ((rc = eo_orm__check_refs(env, f, vals, add.n, 1, err)) != EO_OK)
        goto done;
    if ((rc = eo_env__atomic_begin(env, err)) != EO_OK)
        goto done;
    began = 1;
    if (f->type == EO_FT_ONE2MANY) {
        eo_kv kv;
        kv.field = eo_model_field(f->comodel, f->inverse, strlen(f->inverse));
        kv.value = eo_id_to_value(id, env->adapter->idkind, idhex);
        rc = eo_orm_write(env, f->comodel, add.v, add.n, &kv, 1, 0, err);
    } else {
        pair_src p;
        eo_id *jids = eo_malloc(add.n * sizeof *jids);
        if (jids == NULL) {
            rc = eo_error_set(err, EO_ENOMEM, "out of memory");
            goto done;
        }
        p.j = f->junction;
        p.c1 = eo_model_field(p.j, f->column1, strlen(f->column1));
        p.c2 = eo_model_field(p.j, f->column2, strlen(f->column2));
        p.owner = eo_id_to_value(id, env->adapter->idkind, idhex);
        p.targets = vals;
        rc = eo_orm_create(env, p.j, add.n, pair_row, &p, 0, jids, err);
        eo_free(jids);
        if (rc == EO_OK)
            rc = eo_deps__m2m_linked(env, f, id, add.v, add.n, err);
    }
done:
    if (began)
        rc = eo_env__atomic_end(env, rc, err);
    if (rc == EO_OK && added) {
        size_t i;
        for (i = 0; i < add.n && rc == EO_OK; i++)
            if (eo_ids_push(added, add.v[i]) != EO_OK)
                rc = eo_error_set(err, EO_ENOMEM, "out of memory");
    }
    eo_ids_free(&cur);
    eo_ids_free(&add);
    eo_free(vals);
    eo_free(hex);
    return rc;
}

int eo_orm_unlink_rel(eo_env *env, const eo_model *m, eo_id id, const eo_field *f,
                      const eo_id *targets, size_t n, eo_ids *removed, eo_error *err)
{
    eo_ids cur = { 0 }, del = { 0 }, jrows = { 0 };
    eo_value *vals = NULL;
    char (*hex)[25] = NULL, idhex[25];
    int rc, began = 0;

    EO_ENTER();
    EO_REQUIRE(env);
    EO_REQUIRE(m);
    EO_REQUIRE(f);
    EO_REQUIRE_N(targets, n);
    if (f->type != EO_FT_ONE2MANY && f->type != EO_FT_MANY2MANY)
        return eo_error_set(err, EO_EINVAL, "%s.%s is not an x2many field", m->name, f->name);
    if ((rc = current(env, m, id, f, &cur, err)) != EO_OK)
        goto done;
    if (split(cur.v, cur.n, targets, n, 1, &del) != EO_OK) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    if (del.n == 0)
        goto done;
    if ((rc = eo_env__atomic_begin(env, err)) != EO_OK)
        goto done;
    began = 1;
    if (f->type == EO_FT_ONE2MANY) {
        const eo_field *inv = eo_model_field(f->comodel, f->inverse, strlen(f->inverse));
        if (inv->flags & EO_FF_REQUIRED) {
            /* a child cannot live without its parent: removing it deletes it */
            rc = eo_orm_unlink(env, f->comodel, del.v, del.n, err);
        } else {
            eo_kv kv;
            kv.field = inv;
            kv.value = eo_null();
            rc = eo_orm_write(env, f->comodel, del.v, del.n, &kv, 1, 0, err);
        }
    } else {
        /* the junction rows (id, target) */
        eo_dbuilder *b = NULL;
        eo_domain *d = NULL;
        eo_value owner = eo_id_to_value(id, env->adapter->idkind, idhex);
        if (eo_orm__id_values(env, del.v, del.n, &vals, &hex) != EO_OK) {
            rc = eo_error_set(err, EO_ENOMEM, "out of memory");
            goto done;
        }
        if ((rc = eo_dbuilder_new(&b, err)) == EO_OK &&
            (rc = eo_dbuilder_leaf(b, f->column1, "=", &owner, err)) == EO_OK &&
            (rc = eo_dbuilder_leaf_list(b, f->column2, "in", vals, del.n, err)) == EO_OK) {
            rc = eo_dbuilder_finish(&d, b, err);
            b = NULL;
        }
        eo_dbuilder_free(b);
        if (rc == EO_OK)
            rc = eo_orm_search(env, f->junction, d, "id", -1, 0, &jrows, err);
        eo_domain_free(d);
        if (rc == EO_OK)
            rc = eo_orm_unlink(env, f->junction, jrows.v, jrows.n, err);
    }
done:
    if (began)
        rc = eo_env__atomic_end(env, rc, err);
    if (rc == EO_OK && removed) {
        size_t i;
        for (i = 0; i < del.n && rc == EO_OK; i++)
            if (eo_ids_push(removed, del.v[i]) != EO_OK)
                rc = eo_error_set(err, EO_ENOMEM, "out of memory");
    }
    eo_ids_free(&cur);
    eo_ids_free(&del);
    eo_ids_free(&jrows);
    eo_free(vals);
    eo_free(hex);
    return rc;
}
