/*
 * mark.c - marks on an env: what a change makes stale, and what waits to
 * be recomputed or checked.
 *
 * A change of records R walks each trigger's path backwards from R, one
 * query per step at most (a Many2one step searches the records pointing
 * at R; a One2many step reads R's inverse, from the store when it holds
 * it; a Many2many step reads the junction), and marks the target on the
 * records it reaches. A newly marked computed field is itself a change:
 * its dependents are marked in turn (chains, and recursive fields, whose
 * marks stop at records already marked).
 *
 * Each pending mark carries a sequence number. A scope (transaction,
 * savepoint, journal scope) remembers the number it began at: rolling it
 * back drops the marks made after, and puts back those it took
 * (eo_deps_done) that were made before it.
 */
#include <stdlib.h>

#include "../orm/orm_int.h"
#include "depends_int.h"

typedef struct pslot {
    eo_idmap seq; /* id -> sequence number of its mark */
    size_t count;
} pslot;

typedef struct taken {
    size_t target;
    eo_id id;
    size_t seq;
} taken;

typedef struct scope {
    size_t seq0;
    eo_vec taken; /* of taken: marks made before the scope, removed inside it */
} scope;

typedef struct eo_depstate {
    const eo_depgraph *g;
    pslot *slots;
    size_t nslots;
    size_t seq, total;
    scope *scopes;
    size_t depth, cap;
    size_t lost;        /* scopes begun without room to record them */
    int in_modified;    /* nesting of eo_deps_modified */
} eo_depstate;

static void slots_free(eo_depstate *st)
{
    size_t i;
    for (i = 0; i < st->nslots; i++)
        eo_idmap__free(&st->slots[i].seq);
    eo_free(st->slots);
    st->slots = NULL;
    st->nslots = 0;
    st->total = 0;
}

/* The env's state for the registry's current graph, made when `make`. */
static eo_depstate *state(eo_env *env, int make)
{
    eo_depstate *st = env->deps;
    const eo_depgraph *g = eo_registry__deps(env->reg);
    size_t i;
    if (st == NULL) {
        if (!make || (st = eo_calloc(1, sizeof *st)) == NULL)
            return NULL;
        env->deps = st;
    }
    if (st->g != g) {
        /* the models changed: marks for the old graph mean nothing now */
        slots_free(st);
        for (i = 0; i < st->depth; i++)
            eo_vec__free(&st->scopes[i].taken);
        st->g = g;
    }
    if (g && st->nslots < g->ntargets) {
        pslot *grown = eo_realloc(st->slots, g->ntargets * sizeof *grown);
        if (grown == NULL)
            return NULL;
        memset(grown + st->nslots, 0, (g->ntargets - st->nslots) * sizeof *grown);
        st->slots = grown;
        st->nslots = g->ntargets;
    }
    return g ? st : NULL;
}

void eo_deps__free(eo_env *env)
{
    eo_depstate *st = env->deps;
    size_t i;
    if (st == NULL)
        return;
    slots_free(st);
    for (i = 0; i < st->depth; i++)
        eo_vec__free(&st->scopes[i].taken);
    eo_free(st->scopes);
    eo_free(st);
    env->deps = NULL;
}

/* ---- scopes ---- */

void eo_deps__scope_begin(eo_env *env)
{
    eo_depstate *st = env->deps;
    if (st == NULL) {
        /* nothing marked yet: a state is made so the scope is known */
        if ((st = eo_calloc(1, sizeof *st)) == NULL)
            return;
        st->g = eo_registry__deps(env->reg);
        env->deps = st;
    }
    if (st->depth == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 8;
        scope *grown = eo_realloc(st->scopes, cap * sizeof *grown);
        if (grown == NULL) {
            st->lost++;
            return;
        }
        st->scopes = grown;
        st->cap = cap;
    }
    memset(&st->scopes[st->depth], 0, sizeof st->scopes[st->depth]);
    st->scopes[st->depth].seq0 = st->seq;
    st->scopes[st->depth].taken.isize = sizeof(taken);
    st->depth++;
}

/* Remove every mark made after `seq0`. */
static void drop_after(eo_depstate *st, size_t seq0)
{
    size_t i, k;
    for (i = 0; i < st->nslots; i++) {
        pslot *s = &st->slots[i];
        if (s->count == 0)
            continue;
        for (k = 0; k < s->seq.cap; k++) {
            eo_idmap_ent *e = &s->seq.ents[k];
            if (e->val == 0 || e->val == SIZE_MAX || e->val - 1 <= seq0)
                continue;
            /* deleting leaves a tombstone in place: the scan goes on */
            eo_idmap__del(&s->seq, e->key);
            s->count--;
            st->total--;
        }
    }
}

void eo_deps__scope_end(eo_env *env, int ok)
{
    eo_depstate *st = env->deps;
    scope sc;
    size_t i;
    if (st == NULL)
        return;
    if (st->lost) {
        /* a scope not recorded: keeping every mark is the safe side */
        st->lost--;
        return;
    }
    if (st->depth == 0)
        return;
    sc = st->scopes[--st->depth];
    if (ok) {
        scope *parent = st->depth ? &st->scopes[st->depth - 1] : NULL;
        for (i = 0; parent && i < sc.taken.len; i++) {
            taken *t = eo_vec__at(&sc.taken, i);
            if (t->seq <= parent->seq0 && eo_vec__push(&parent->taken, t) != EO_OK)
                break;
        }
    } else {
        drop_after(st, sc.seq0);
        for (i = 0; i < sc.taken.len; i++) {
            taken *t = eo_vec__at(&sc.taken, i);
            size_t slot;
            if (t->target >= st->nslots)
                continue;
            if (eo_idmap__upsert(&st->slots[t->target].seq, t->id, t->seq, &slot) == 1) {
                st->slots[t->target].count++;
                st->total++;
            }
        }
    }
    eo_vec__free(&sc.taken);
}

/* ---- marks ---- */

static int unmark(eo_depstate *st, size_t target, eo_id id)
{
    pslot *s = &st->slots[target];
    size_t seq;
    if (s->count == 0 || !eo_idmap__get(&s->seq, id, &seq))
        return 0;
    eo_idmap__del(&s->seq, id);
    s->count--;
    st->total--;
    if (st->depth) {
        scope *top = &st->scopes[st->depth - 1];
        taken t;
        t.target = target;
        t.id = id;
        t.seq = seq;
        if (seq <= top->seq0)
            eo_vec__push(&top->taken, &t); /* lost on OOM: the mark stays done */
    }
    return 1;
}

static int modified(eo_env *env, eo_depstate *st, const eo_model *m, const eo_id *ids, size_t n,
                    const eo_field *const *fields, size_t nf, unsigned flags, eo_error *err);

/* `created`: ids are records just made (EO_DEPS_CREATED), so what the
 * mark reaches through them skips the walks back along Many2one fields
 * (nothing points at them yet) as a direct change of theirs does. */
static int mark(eo_env *env, eo_depstate *st, const eo_dtarget *t, const eo_id *ids, size_t n,
                unsigned created, eo_error *err)
{
    pslot *s = &st->slots[t->index];
    eo_ids fresh = { 0 };
    size_t i, slot;
    int rc = EO_OK;
    for (i = 0; i < n; i++) {
        int r = eo_idmap__upsert(&s->seq, ids[i], st->seq + 1, &slot);
        if (r < 0 || (r == 1 && eo_ids_push(&fresh, ids[i]) != EO_OK)) {
            rc = eo_error_set(err, EO_ENOMEM, "out of memory marking %s records", t->model->name);
            goto done;
        }
        if (r == 1) {
            st->seq++;
            s->count++;
            st->total++;
        }
        /* stale now, even if a load put the database's value back since */
        if (t->field)
            eo_store__forget(env->store, t->model, ids[i], t->field);
    }
    if (t->field && fresh.n)
        rc = modified(env, st, t->model, fresh.v, fresh.n, &t->field, 1, created, err);
done:
    eo_ids_free(&fresh);
    return rc;
}

static int push_distinct(eo_ids *out, eo_idmap *seen, eo_id id)
{
    size_t slot;
    int r = eo_idmap__upsert(seen, id, 0, &slot);
    if (r < 0)
        return EO_ENOMEM;
    return r == 1 ? eo_ids_push(out, id) : EO_OK;
}

typedef struct collect {
    eo_env *env;
    eo_ids *out;
    eo_idmap *seen;
} collect;

static int collect_row(void *payload, const eo_value *row, size_t ncols, eo_error *err)
{
    collect *c = payload;
    eo_id id;
    (void)ncols;
    if (row[0].type == EO_VNULL)
        return EO_OK;
    if (eo_id_from_value(&id, c->env->adapter->idkind, &row[0]) != EO_OK)
        return EO_OK;
    if (push_distinct(c->out, c->seen, id) != EO_OK)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    return EO_OK;
}

/* Load field f (with the other prefetchable fields) of the records of ids
 * the store lacks it for, a prefetch window per query. */
static int load_missing(eo_env *env, const eo_model *m, const eo_id *ids, size_t n,
                        const eo_field *f, eo_error *err)
{
    eo_ids missing = { 0 };
    size_t i;
    int rc = EO_OK;
    for (i = 0; i < n; i++)
        if (!eo_store__has(env->store, m, ids[i], f) && eo_ids_push(&missing, ids[i]) != EO_OK) {
            eo_ids_free(&missing);
            return eo_error_set(err, EO_ENOMEM, "out of memory");
        }
    for (i = 0; i < missing.n && rc == EO_OK; i += env->prefetch_max) {
        size_t k = missing.n - i < env->prefetch_max ? missing.n - i : env->prefetch_max;
        rc = eo_orm__load(env, m, missing.v + i, k, f, err);
    }
    eo_ids_free(&missing);
    return rc;
}

/* The records of s->model that reach `cur` (records of s's comodel) through s. */
static int step_back(eo_env *env, const eo_field *s, const eo_ids *cur, eo_ids *next,
                     eo_error *err)
{
    eo_value *vals = NULL;
    char (*hex)[25] = NULL;
    eo_idmap seen;
    size_t i;
    int rc = EO_OK;
    memset(&seen, 0, sizeof seen);
    if (s->type == EO_FT_ONE2MANY) {
        const eo_model *cm = s->comodel;
        const eo_field *inv = eo_model_field(cm, s->inverse, strlen(s->inverse));
        if ((rc = load_missing(env, cm, cur->v, cur->n, inv, err)) != EO_OK)
            return rc;
        for (i = 0; i < cur->n && rc == EO_OK; i++) {
            const eo_value *v = eo_store__get(env->store, cm, cur->v[i], inv);
            eo_id id;
            if (v == NULL || v->type == EO_VNULL ||
                eo_id_from_value(&id, env->adapter->idkind, v) != EO_OK)
                continue;
            if (push_distinct(next, &seen, id) != EO_OK)
                rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        }
        goto done;
    }
    if (eo_orm__id_values(env, cur->v, cur->n, &vals, &hex) != EO_OK) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    if (s->type == EO_FT_MANY2ONE) {
        rc = eo_orm__ids_where_in(env, s->model, s, vals, cur->n, next, err);
    } else if (s->type == EO_FT_MANY2MANY && s->junction) {
        const eo_model *j = s->junction;
        const eo_field *c1 = eo_model_field(j, s->column1, strlen(s->column1));
        const eo_field *c2 = eo_model_field(j, s->column2, strlen(s->column2));
        collect c;
        c.env = env;
        c.out = next;
        c.seen = &seen;
        rc = eo_orm__select_in(env, j, c2, vals, cur->n, &c1, 1, 0, collect_row, &c, err);
    }
done:
    eo_idmap__free(&seen);
    eo_free(vals);
    eo_free(hex);
    return rc;
}

static int walk(eo_env *env, const eo_trigger *tr, const eo_id *ids, size_t n, eo_ids *out,
                eo_error *err)
{
    eo_ids cur = { 0 };
    size_t i;
    int rc = EO_OK;
    for (i = 0; i < n; i++)
        if (eo_ids_push(&cur, ids[i]) != EO_OK) {
            eo_ids_free(&cur);
            return eo_error_set(err, EO_ENOMEM, "out of memory");
        }
    for (i = tr->npath; i-- > 0 && cur.n > 0;) {
        eo_ids next = { 0 };
        rc = step_back(env, tr->path[i], &cur, &next, err);
        eo_ids_free(&cur);
        cur = next;
        if (rc != EO_OK)
            break;
    }
    if (rc != EO_OK) {
        eo_ids_free(&cur);
        return rc;
    }
    *out = cur;
    return EO_OK;
}

/* Junction rows about to be deleted: their owners' Many2many fields change. */
static int junction_before(eo_env *env, eo_depstate *st, const eo_model *j, const eo_id *ids,
                           size_t n, eo_error *err)
{
    size_t mi, fi, i;
    int rc = load_missing(env, j, ids, n, j->fields[1], err);
    for (mi = 0; mi < eo_registry_count(env->reg) && rc == EO_OK; mi++) {
        const eo_model *om = eo_registry_at(env->reg, mi);
        for (fi = 0; fi < om->nfields && rc == EO_OK; fi++) {
            const eo_field *f = om->fields[fi];
            const eo_field *c1;
            eo_ids owners = { 0 };
            eo_idmap seen;
            if (f->type != EO_FT_MANY2MANY || f->junction != j || f->deps_ == NULL)
                continue;
            c1 = eo_model_field(j, f->column1, strlen(f->column1));
            memset(&seen, 0, sizeof seen);
            for (i = 0; i < n && rc == EO_OK; i++) {
                const eo_value *v = eo_store__get(env->store, j, ids[i], c1);
                eo_id id;
                if (v == NULL || v->type == EO_VNULL ||
                    eo_id_from_value(&id, env->adapter->idkind, v) != EO_OK)
                    continue;
                if (push_distinct(&owners, &seen, id) != EO_OK)
                    rc = eo_error_set(err, EO_ENOMEM, "out of memory");
            }
            if (rc == EO_OK && owners.n)
                rc = modified(env, st, om, owners.v, owners.n, &f, 1, 0, err);
            eo_idmap__free(&seen);
            eo_ids_free(&owners);
        }
    }
    return rc;
}

static int run_trigger(eo_env *env, eo_depstate *st, const eo_trigger *tr, const eo_id *ids,
                       size_t n, unsigned flags, eo_error *err)
{
    eo_ids reached = { 0 };
    int rc;
    if ((flags & EO_DEPS_BEFORE) && !(flags & EO_DEPS_ALL) && !tr->inverse_step)
        return EO_OK; /* the change keeps the way back: the mark after it will do */
    if ((flags & EO_DEPS_BEFORE) && (flags & EO_DEPS_ALL) && tr->npath == 0)
        return EO_OK; /* the records themselves are going away */
    if ((flags & EO_DEPS_CREATED) && tr->npath > 0 &&
        tr->path[tr->npath - 1]->type != EO_FT_ONE2MANY)
        return EO_OK; /* nothing points at records just made */
    if (tr->npath == 0)
        return mark(env, st, tr->target, ids, n, flags & EO_DEPS_CREATED, err);
    if ((rc = walk(env, tr, ids, n, &reached, err)) == EO_OK && reached.n)
        rc = mark(env, st, tr->target, reached.v, reached.n, 0, err);
    eo_ids_free(&reached);
    return rc;
}

static int modified(eo_env *env, eo_depstate *st, const eo_model *m, const eo_id *ids, size_t n,
                    const eo_field *const *fields, size_t nf, unsigned flags, eo_error *err)
{
    size_t i, k;
    int rc = EO_OK;
    if (m->junction)
        return (flags & EO_DEPS_BEFORE) ? junction_before(env, st, m, ids, n, err) : EO_OK;
    if (flags & EO_DEPS_CREATED) {
        /* new records: every stored computed field and constraint of theirs */
        for (i = 0; i < st->g->ntargets && rc == EO_OK; i++) {
            const eo_dtarget *t = st->g->targets[i];
            if (t->model == m && (t->stored || t->check))
                rc = mark(env, st, t, ids, n, 0, err);
        }
    }
    if (flags & EO_DEPS_ALL) {
        fields = (const eo_field *const *)m->fields;
        nf = m->nfields;
    }
    for (i = 0; i < nf && rc == EO_OK; i++) {
        const eo_triggers *ts = fields[i]->deps_;
        for (k = 0; ts && k < ts->n && rc == EO_OK; k++)
            rc = run_trigger(env, st, &ts->v[k], ids, n, flags, err);
    }
    return rc;
}

/* Marks of non-stored fields only stop a walk from going round: the
 * values were forgotten, nothing waits. */
static void clear_unstored(eo_depstate *st)
{
    size_t i;
    for (i = 0; i < st->g->ntargets; i++) {
        const eo_dtarget *t = st->g->targets[i];
        pslot *s = &st->slots[i];
        if (t->field == NULL || t->stored || s->count == 0)
            continue;
        st->total -= s->count;
        s->count = 0;
        eo_idmap__free(&s->seq);
    }
}

int eo_deps_modified(eo_env *env, const eo_model *m, const eo_id *ids, size_t n,
                     const eo_field *const *fields, size_t nfields, unsigned flags,
                     eo_error *err)
{
    eo_depstate *st;
    size_t i;
    int rc;
    EO_ENTER();
    EO_REQUIRE(env);
    EO_REQUIRE(m);
    EO_REQUIRE_N(ids, n);
    if (!(flags & EO_DEPS_ALL))
        EO_REQUIRE_N(fields, nfields);
    for (i = 0; !(flags & EO_DEPS_ALL) && i < nfields; i++)
        if (fields[i] == NULL || fields[i]->model != m)
            return eo_error_set(err, EO_EINVAL, "eo_deps_modified: fields[%zu] is not a field of %s",
                                i, m->name);
    if (n == 0 || !m->watched_)
        return EO_OK;
    if ((st = state(env, 1)) == NULL)
        return eo_registry__deps(env->reg) ? eo_error_set(err, EO_ENOMEM, "out of memory") : EO_OK;
    st->in_modified++;
    rc = modified(env, st, m, ids, n, fields, nfields, flags, err);
    if (--st->in_modified == 0)
        clear_unstored(st);
    return rc;
}

/* ---- handing out the work ---- */

typedef struct seqid {
    size_t seq;
    eo_id id;
} seqid;

static int by_seq(const void *a, const void *b)
{
    const seqid *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The marked ids of slot i (among `among`, when not NULL), in marking order. */
static int fill(eo_depstate *st, size_t i, const eo_id *among, size_t n, eo_dep_work *w,
                eo_error *err)
{
    pslot *s = &st->slots[i];
    seqid *tmp;
    size_t k, c = 0;
    tmp = eo_malloc((among ? n : s->count) * sizeof *tmp + 1);
    if (tmp == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    if (among) {
        for (k = 0; k < n; k++) {
            size_t seq;
            if (eo_idmap__get(&s->seq, among[k], &seq)) {
                tmp[c].seq = seq;
                tmp[c++].id = among[k];
            }
        }
    } else {
        for (k = 0; k < s->seq.cap; k++) {
            const eo_idmap_ent *e = &s->seq.ents[k];
            if (e->val == 0 || e->val == SIZE_MAX)
                continue;
            tmp[c].seq = e->val - 1;
            tmp[c++].id = e->key;
        }
    }
    qsort(tmp, c, sizeof *tmp, by_seq);
    w->ids = eo_malloc(c * sizeof *w->ids + 1);
    if (w->ids == NULL) {
        eo_free(tmp);
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    }
    for (k = 0; k < c; k++) {
        /* the same id twice in `among` is handed out once */
        if (k && tmp[k].seq == tmp[k - 1].seq)
            continue;
        w->ids[w->n++] = tmp[k].id;
    }
    eo_free(tmp);
    w->model = st->g->targets[i]->model;
    w->field = st->g->targets[i]->field;
    w->check = st->g->targets[i]->check;
    return EO_OK;
}

int eo_deps_next(eo_env *env, eo_dep_work *w, eo_error *err)
{
    eo_depstate *st;
    size_t i, best = SIZE_MAX;
    EO_ENTER();
    EO_REQUIRE(env);
    EO_REQUIRE(w);
    memset(w, 0, sizeof *w);
    if ((st = state(env, 0)) == NULL || st->total == 0)
        return EO_OK;
    for (i = 0; i < st->nslots; i++)
        if (st->slots[i].count &&
            (best == SIZE_MAX || st->g->targets[i]->rank < st->g->targets[best]->rank))
            best = i;
    if (best == SIZE_MAX)
        return EO_OK;
    return fill(st, best, NULL, 0, w, err);
}

int eo_deps_take(eo_env *env, const eo_model *m, const eo_field *f, const eo_id *ids, size_t n,
                 eo_dep_work *w, eo_error *err)
{
    eo_depstate *st;
    const eo_dtarget *t;
    EO_ENTER();
    EO_REQUIRE(env);
    EO_REQUIRE(m);
    EO_REQUIRE(f);
    EO_REQUIRE(w);
    memset(w, 0, sizeof *w);
    if (ids == NULL && n)
        return eo_error__null(err, __func__, "ids");
    t = f->target_;
    if (t == NULL || (st = state(env, 0)) == NULL || t->index >= st->nslots ||
        st->slots[t->index].count == 0)
        return EO_OK;
    return fill(st, t->index, ids, n, w, err);
}

void eo_deps_done(eo_env *env, const eo_model *m, const eo_field *f, const eo_check *check,
                  const eo_id *ids, size_t n)
{
    eo_depstate *st;
    const eo_dtarget *t;
    size_t i;
    if (env == NULL || m == NULL || ids == NULL)
        return;
    t = f ? f->target_ : check ? check->target_ : NULL;
    if (t == NULL || (st = state(env, 0)) == NULL || t->index >= st->nslots)
        return;
    for (i = 0; i < n; i++)
        unmark(st, t->index, ids[i]);
}

int eo_deps_is_marked(eo_env *env, const eo_model *m, eo_id id, const eo_field *f)
{
    eo_depstate *st;
    const eo_dtarget *t;
    size_t seq;
    if (env == NULL || m == NULL || f == NULL || (t = f->target_) == NULL)
        return 0;
    st = env->deps;
    if (st == NULL || st->g != eo_registry__deps(env->reg) || t->index >= st->nslots ||
        st->slots[t->index].count == 0)
        return 0;
    return eo_idmap__get(&st->slots[t->index].seq, id, &seq);
}

size_t eo_deps_pending(eo_env *env)
{
    eo_depstate *st = env ? env->deps : NULL;
    if (st == NULL || st->g != eo_registry__deps(env->reg))
        return 0;
    return st->total;
}

void eo_deps__forget_records(eo_env *env, const eo_model *m, const eo_id *ids, size_t n)
{
    eo_depstate *st = env->deps;
    size_t i, k;
    if (st == NULL || st->total == 0 || st->g != eo_registry__deps(env->reg))
        return;
    for (i = 0; i < st->nslots; i++) {
        if (st->g->targets[i]->model != m || st->slots[i].count == 0)
            continue;
        for (k = 0; k < n; k++)
            unmark(st, i, ids[k]);
    }
}

int eo_deps__m2m_linked(eo_env *env, const eo_field *f, eo_id id, const eo_id *targets,
                        size_t n, eo_error *err)
{
    eo_depstate *st;
    size_t mi, fi;
    int rc = EO_OK;
    if (f->junction == NULL || !f->junction->watched_ || n == 0)
        return EO_OK;
    if ((st = state(env, 1)) == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    st->in_modified++;
    if (f->deps_)
        rc = modified(env, st, f->model, &id, 1, &f, 1, 0, err);
    /* the other side's Many2many over the same junction changed too */
    for (mi = 0; mi < eo_registry_count(env->reg) && rc == EO_OK; mi++) {
        const eo_model *om = eo_registry_at(env->reg, mi);
        for (fi = 0; fi < om->nfields && rc == EO_OK; fi++) {
            const eo_field *g = om->fields[fi];
            if (g != f && g->type == EO_FT_MANY2MANY && g->junction == f->junction && g->deps_)
                rc = modified(env, st, om, targets, n, &g, 1, 0, err);
        }
    }
    if (--st->in_modified == 0)
        clear_unstored(st);
    return rc;
}
