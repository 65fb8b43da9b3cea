/*
 * version.c - the fields the engine maintains in create and write:
 * create_date and write_date (one clock reading per operation), and the
 * optimistic-locking version.
 *
 * A versioned write compares, for every record, the version this env read
 * with the one stored, in the statement that writes it: UPDATE ... SET
 * ..., version = v + 1 WHERE id IN (...) AND version = v (on MongoDB the
 * same filter in update_many), one statement per distinct v. Fewer rows
 * updated than asked means another writer got there first: the operation
 * fails with EO_ECONFLICT naming the record and both versions, and since
 * every write runs in an atomic scope (a transaction, a savepoint, or the
 * undo journal on servers without transactions) nothing of the batch is
 * left written.
 *
 * "The version read" is the one in the env's record store, loaded with
 * the record's other fields by any read through records and updated by
 * this env's own writes. A record whose version the store does not hold
 * (never read, or forgotten by a rollback or env:invalidate()) has it
 * loaded first, in the same atomic scope, as SQLAlchemy does for an
 * expired version_id_col: such a blind write checks nothing older than
 * itself. Writes the engine makes on its own (ondelete = "set null",
 * EO_W_COMPUTE) always load the current version: they bump it without
 * failing on what this env happened to read before.
 *
 * Unlink checks the same way (eo_version__update with no column but the
 * version, EO_VERSION_UNLINK): the records asked for get their version
 * bumped under the check, in the unlink's atomic scope, before anything
 * is deleted, so deleting a record another env wrote since this one read
 * it fails with EO_ECONFLICT and deletes nothing of the batch. Records
 * deleted through a cascade are the engine's own deletes: unchecked, as
 * ondelete = "set null" writes are. Ids the database does not hold
 * are skipped (a blind unlink of them deletes nothing, as without
 * _version), but a record this env read that another deleted since is
 * EO_ENOTFOUND naming it.
 *
 * What it does not do: count writes of stored computed values
 * (eo_orm_write_each: they follow from other fields) and of Many2many
 * links (they live in the junction table).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "version.h"

#define CHUNK 10000

void eo_auto__of(const eo_model *m, eo_auto *out)
{
    size_t i;
    memset(out, 0, sizeof *out);
    for (i = 1; i < m->nfields; i++) {
        const eo_field *f = m->fields[i];
        if (f->flags & EO_FF_VERSION)
            out->version = f;
        else if (f->flags & EO_FF_CREATE_DATE)
            out->create_date = f;
        else if (f->flags & EO_FF_WRITE_DATE)
            out->write_date = f;
        if (f->flags & EO_FF_TRACKED)
            out->tracked = 1;
    }
}

eo_value eo_auto__now(char buf[40])
{
    struct timespec ts;
    int64_t us;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* milliseconds: what every backend keeps (MongoDB dates hold no more) */
    us = (int64_t)ts.tv_sec * 1000000 + (ts.tv_nsec / 1000000) * 1000;
    if (eo_datetime__format_us(us, 0, buf, 40) != 0)
        snprintf(buf, 40, "1970-01-01 00:00:00");
    return eo_cstr(buf);
}

void eo_auto__stamp_create(const eo_auto *a, const int *colof, eo_value *row,
                           const eo_value *now)
{
    if (a->create_date && colof[a->create_date->index] >= 0)
        row[colof[a->create_date->index]] = *now;
    if (a->write_date && colof[a->write_date->index] >= 0)
        row[colof[a->write_date->index]] = *now;
    if (a->version && colof[a->version->index] >= 0)
        row[colof[a->version->index]] = eo_int(1);
}

/* "res.partner(7)" or "res.partner(65f0...)" into buf. */
static const char *record_name(eo_env *env, const eo_model *m, eo_id id, char *buf, size_t cap)
{
    char hex[25];
    eo_value v = eo_id_to_value(id, env->adapter->idkind, hex);
    if (v.type == EO_VINT)
        snprintf(buf, cap, "%s(%lld)", m->name, (long long)v.u.i);
    else
        snprintf(buf, cap, "%s(%s)", m->name, hex);
    return buf;
}

typedef struct expect {
    eo_id id;
    int null;          /* no version stored (a row written before _version) */
    int64_t v;
} expect;

static int cmp_expect(const void *pa, const void *pb)
{
    const expect *a = pa, *b = pb;
    if (a->null != b->null)
        return b->null - a->null;
    return a->v < b->v ? -1 : a->v > b->v;
}

typedef struct found_ctx {
    eo_env *env;
    eo_idmap *map;     /* id -> index in vals */
    eo_vec vals;       /* of eo_value (integers or NULL) */
} found_ctx;

static int found_row(void *payload, const eo_value *row, size_t ncols, eo_error *err)
{
    found_ctx *c = payload;
    eo_id id;
    eo_value v = ncols > 1 && row[1].type == EO_VINT ? row[1] : eo_null();
    if (eo_id_from_value(&id, c->env->adapter->idkind, &row[0]) != EO_OK)
        return eo_error_set(err, EO_ERROR, "the database returned an invalid id");
    if (eo_idmap__put(c->map, id, c->vals.len) != EO_OK || eo_vec__push(&c->vals, &v) != EO_OK)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    return EO_OK;
}

typedef struct pending {
    const eo_field *vf;
    expect *e;         /* the group whose update matched fewer records */
    size_t n;
    int64_t affected;
} pending;

/* A group's update matched fewer records than it holds: say which one
 * changed (or vanished) since it was read. Run once the atomic scope has
 * rolled back, so the group's own update is undone and a version found
 * is another writer's. */
static int conflict(eo_env *env, const eo_model *m, const eo_field *vf, const expect *e,
                    size_t n, int64_t affected, eo_error *err)
{
    const eo_field *sel[2];
    eo_value *idv = NULL;
    char (*hex)[25] = NULL;
    eo_idmap map;
    found_ctx c;
    size_t i, at;
    char who[96];
    int rc;

    memset(&map, 0, sizeof map);
    memset(&c, 0, sizeof c);
    c.env = env;
    c.map = &map;
    c.vals.isize = sizeof(eo_value);
    sel[0] = m->fields[0];
    sel[1] = vf;
    if ((idv = eo_malloc(n * sizeof *idv)) == NULL) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    if (env->adapter->idkind == EO_IDOID && (hex = eo_malloc(n * sizeof *hex)) == NULL) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    for (i = 0; i < n; i++)
        idv[i] = eo_id_to_value(e[i].id, env->adapter->idkind, hex ? hex[i] : NULL);
    if ((rc = eo_orm__select_in(env, m, m->fields[0], idv, n, sel, 2, 0, found_row, &c, err)) !=
        EO_OK)
        goto done;
    for (i = 0; i < n; i++) {
        const eo_value *now;
        char read[32], held[32];
        if (!eo_idmap__get(&map, e[i].id, &at)) {
            rc = eo_error_set(err, EO_ENOTFOUND,
                              "%s was deleted by another transaction since this env read it "
                              "(at version %lld)",
                              record_name(env, m, e[i].id, who, sizeof who),
                              (long long)(e[i].null ? 0 : e[i].v));
            eo_error_where(err, m->name, vf->name);
            goto done;
        }
        now = eo_vec__at(&c.vals, at);
        if ((now->type == EO_VNULL) == (e[i].null != 0) &&
            (now->type == EO_VNULL || now->u.i == e[i].v))
            continue;
        if (e[i].null)
            snprintf(read, sizeof read, "none");
        else
            snprintf(read, sizeof read, "%lld", (long long)e[i].v);
        if (now->type == EO_VNULL)
            snprintf(held, sizeof held, "none");
        else
            snprintf(held, sizeof held, "%lld", (long long)now->u.i);
        rc = eo_error_set(err, EO_ECONFLICT,
                          "%s: version conflict: this env read version %s, the database holds "
                          "version %s (another transaction wrote the record since; read it "
                          "again and retry)",
                          record_name(env, m, e[i].id, who, sizeof who), read, held);
        eo_error_where(err, m->name, vf->name);
        goto done;
    }
    /* as read again now: the other writer's transaction rolled back since */
    rc = eo_error_set(err, EO_ECONFLICT,
                      "%s: version conflict: %lld of %zu records were being changed by another "
                      "transaction; retry",
                      m->name, (long long)((int64_t)n - affected), n);
    eo_error_where(err, m->name, vf->name);
done:
    eo_idmap__free(&map);
    eo_vec__free(&c.vals);
    eo_free(idv);
    eo_free(hex);
    return rc;
}

int eo_version__explain(eo_env *env, const eo_model *m, eo_vcheck *vc, int rc, eo_error *err)
{
    pending *p = vc->pending;
    if (p == NULL)
        return rc;
    vc->pending = NULL;
    if (rc == EO_ECONFLICT) {
        eo_error again;
        int r = conflict(env, m, p->vf, p->e, p->n, p->affected, &again);
        if (err)
            *err = again;
        rc = r;
    }
    eo_free(p->e);
    eo_free(p);
    return rc;
}

int eo_version__update(eo_env *env, const eo_model *m, const eo_field *vf, const eo_id *ids,
                       size_t n, const eo_field **cols, eo_value *vals, size_t ncols,
                       unsigned flags, eo_vcheck *vc, eo_error *err)
{
    expect *e = NULL;
    eo_ids todo = { 0 }, grp = { 0 };
    eo_idmap seen;
    size_t i, ne = 0, missing = 0, start, k;
    int rc = EO_OK;

    memset(&seen, 0, sizeof seen);
    if ((e = eo_malloc((n ? n : 1) * sizeof *e)) == NULL)
        goto oom;
    for (i = 0; i < n; i++) {
        if (eo_idmap__get(&seen, ids[i], &(size_t){ 0 }))
            continue;
        if (eo_idmap__put(&seen, ids[i], 0) != EO_OK)
            goto oom;
        e[ne++].id = ids[i];
        if (((flags & EO_W_COMPUTE) || !eo_store__has(env->store, m, ids[i], vf)) &&
            eo_ids_push(&todo, ids[i]) != EO_OK)
            goto oom;
    }
    /* the versions the store lacks, loaded in this atomic scope */
    for (start = 0; start < todo.n; start += env->prefetch_max) {
        k = todo.n - start < env->prefetch_max ? todo.n - start : env->prefetch_max;
        for (i = 0; i < k; i++)
            eo_store__forget(env->store, m, todo.v[start + i], vf);
        if ((rc = eo_orm__load(env, m, todo.v + start, k, NULL, err)) != EO_OK)
            goto done;
    }
    for (i = 0; i < ne; i++) {
        const eo_value *v = eo_store__get(env->store, m, e[i].id, vf);
        if (v == NULL) {
            missing++;
            continue;
        }
        e[i].null = v->type != EO_VINT;
        e[i].v = v->type == EO_VINT ? v->u.i : 0;
    }
    if (missing && (flags & EO_VERSION_UNLINK)) {
        /* nothing to delete there: as an unlink of records that are gone */
        size_t k2 = 0;
        for (i = 0; i < ne; i++)
            if (eo_store__get(env->store, m, e[i].id, vf) != NULL)
                e[k2++] = e[i];
        ne = k2;
        missing = 0;
    }
    if (missing) {
        rc = eo_error_set(err, EO_ENOTFOUND,
                          "%s: %zu of %zu records to write do not exist (deleted?)", m->name,
                          missing, ne);
        eo_error_where(err, m->name, NULL);
        goto done;
    }
    qsort(e, ne, sizeof *e, cmp_expect);
    cols[ncols] = vf;
    for (start = 0; start < ne; start = k) {
        eo_value want;
        int64_t affected;
        for (k = start; k < ne && k - start < CHUNK && e[k].null == e[start].null &&
                        e[k].v == e[start].v;
             k++)
            ;
        grp.n = 0;
        for (i = start; i < k; i++)
            if (eo_ids_push(&grp, e[i].id) != EO_OK)
                goto oom;
        want = e[start].null ? eo_null() : eo_int(e[start].v);
        vals[ncols] = eo_int(e[start].null ? 1 : e[start].v + 1);
        if ((rc = eo_env__update_if(env, m, grp.v, grp.n, cols, vals, ncols + 1, vf, &want,
                                    &affected, err)) != EO_OK)
            goto done;
        if (affected < (int64_t)grp.n) {
            /* named by eo_version__explain once this scope is undone */
            pending *p = eo_calloc(1, sizeof *p);
            if (p == NULL || (p->e = eo_malloc((k - start) * sizeof *p->e)) == NULL) {
                eo_free(p);
                goto oom;
            }
            memcpy(p->e, e + start, (k - start) * sizeof *p->e);
            p->n = k - start;
            p->vf = vf;
            p->affected = affected;
            vc->pending = p;
            rc = eo_error_set(err, EO_ECONFLICT, "%s: version conflict: %lld of %zu records "
                              "changed since this env read them", m->name,
                              (long long)((int64_t)p->n - affected), p->n);
            eo_error_where(err, m->name, vf->name);
            goto done;
        }
    }
    for (i = 0; i < ne; i++) {
        eo_value nv = eo_int(e[i].null ? 1 : e[i].v + 1);
        if (eo_store__set(env->store, m, e[i].id, vf, &nv) != EO_OK)
            eo_store__forget(env->store, m, e[i].id, vf);
    }
    goto done;
oom:
    rc = eo_error_set(err, EO_ENOMEM, "out of memory writing %s", m->name);
done:
    eo_idmap__free(&seen);
    eo_ids_free(&todo);
    eo_ids_free(&grp);
    eo_free(e);
    return rc;
}

int eo_version__backfill(eo_env *env, const eo_model *m, eo_migrate_note_fn note, void *payload,
                         eo_error *err)
{
    eo_auto a;
    eo_dbuilder *b = NULL;
    eo_domain *d = NULL;
    eo_ids ids = { 0 };
    eo_value null = eo_null(), one = eo_int(1);
    size_t start;
    int rc;

    eo_auto__of(m, &a);
    if (a.version == NULL || m->abstract)
        return EO_OK;
    if ((rc = eo_dbuilder_new(&b, err)) != EO_OK)
        return rc;
    if ((rc = eo_dbuilder_leaf(b, a.version->name, "=", &null, err)) != EO_OK) {
        eo_dbuilder_free(b);
        return rc;
    }
    if ((rc = eo_dbuilder_finish(&d, b, err)) != EO_OK)
        return rc;
    if ((rc = eo_orm_search(env, m, d, "id", -1, 0, &ids, err)) != EO_OK)
        goto done;
    for (start = 0; start < ids.n; start += CHUNK) {
        size_t k = ids.n - start < CHUNK ? ids.n - start : CHUNK;
        int64_t affected;
        if ((rc = eo_env__update(env, m, ids.v + start, k, &a.version, &one, 1, &affected,
                                 err)) != EO_OK)
            goto done;
    }
    if (ids.n && note) {
        char line[256];
        snprintf(line, sizeof line, "backfill %s.%s = 1 on %zu existing record%s", m->table,
                 a.version->name, ids.n, ids.n == 1 ? "" : "s");
        note(payload, line);
    }
done:
    eo_domain_free(d);
    eo_ids_free(&ids);
    return rc;
}
