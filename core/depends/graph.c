/*
 * graph.c - the dependency graph, built from a complete registry.
 *
 * Each computed field and each constraint is a target. Each of its paths
 * ("line_ids.amount") is resolved step by step; every step is a field whose
 * change can make the target stale, so each gets a trigger carrying the
 * steps before it (the way back from the changed records to the target's
 * records). A One2many step also hangs a trigger on its inverse Many2one:
 * a line moving to another order changes both orders' lines.
 *
 * Targets are ranked (longest chain of computed fields below them) so that
 * a stored field is recomputed before the fields computed from it, with
 * constraints after every field. A cycle is refused, except a recursive
 * field depending on itself through a relation (a tree's total).
 */
#include <stdio.h>
#include <stdlib.h>

#include "../util/suggest.h"
#include "depends_int.h"

#define MAX_STEPS 32
#define CHECK_RANK_BASE (1 << 20)

typedef struct edge {
    size_t from, to; /* target indexes: `from` depends on `to` */
    int via_relation;
} edge;

typedef struct build {
    eo_registry *reg;
    eo_depgraph *g;
    eo_vec edges; /* of edge */
    eo_error *err;
} build;

static int is_rel(const eo_field *f)
{
    return f->type == EO_FT_MANY2ONE || f->type == EO_FT_ONE2MANY || f->type == EO_FT_MANY2MANY;
}

/* "res.order.total" or "res.order constraint on (a, b)": what the target is, for messages. */
static void target_name(const eo_dtarget *t, char *buf, size_t cap)
{
    if (t->field) {
        snprintf(buf, cap, "%s.%s", t->model->name, t->field->name);
    } else {
        size_t i, len;
        len = (size_t)snprintf(buf, cap, "%s: constraint on (", t->model->name);
        for (i = 0; i < t->check->ndepends && len < cap; i++)
            len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? ", " : "",
                                    t->check->depends[i]);
        if (len < cap)
            snprintf(buf + len, cap - len, ")");
    }
}

static int oom(build *b) { return eo_error_set(b->err, EO_ENOMEM, "out of memory building the dependency graph"); }

static int add_target(build *b, const eo_model *m, eo_field *f, eo_check *c)
{
    eo_dtarget *t = eo_calloc(1, sizeof *t), **grown;
    if (t == NULL)
        return oom(b);
    grown = eo_realloc(b->g->targets, (b->g->ntargets + 1) * sizeof *grown);
    if (grown == NULL) {
        eo_free(t);
        return oom(b);
    }
    b->g->targets = grown;
    t->model = m;
    t->field = f;
    t->check = c;
    t->index = b->g->ntargets;
    t->stored = f && (f->flags & EO_FF_STORED);
    b->g->targets[b->g->ntargets++] = t;
    /* a create computes the stored fields and runs the constraints */
    if (t->stored || c)
        ((eo_model *)m)->watched_ = 1;
    if (f)
        f->target_ = t;
    else
        c->target_ = t;
    return EO_OK;
}

static int same_path(const eo_trigger *x, const eo_field *const *path, size_t n)
{
    size_t i;
    if (x->npath != n)
        return 0;
    for (i = 0; i < n; i++)
        if (x->path[i] != path[i])
            return 0;
    return 1;
}

/* Hang on `on`: a change marks t through path[0..n-1]. */
static int add_trigger(build *b, eo_field *on, const eo_dtarget *t, const eo_field *const *path,
                       size_t n, int inverse_step)
{
    eo_triggers *ts = on->deps_;
    eo_trigger *tr;
    const eo_field **copy = NULL;
    size_t i;
    if (ts == NULL) {
        if ((ts = eo_calloc(1, sizeof *ts)) == NULL)
            return oom(b);
        on->deps_ = ts;
    }
    for (i = 0; i < ts->n; i++)
        if (ts->v[i].target == t && same_path(&ts->v[i], path, n)) {
            ts->v[i].inverse_step |= inverse_step;
            return EO_OK;
        }
    if (ts->n == ts->cap) {
        size_t cap = ts->cap ? ts->cap * 2 : 4;
        eo_trigger *grown = eo_realloc(ts->v, cap * sizeof *grown);
        if (grown == NULL)
            return oom(b);
        ts->v = grown;
        ts->cap = cap;
    }
    if (n) {
        if ((copy = eo_malloc(n * sizeof *copy)) == NULL)
            return oom(b);
        memcpy(copy, path, n * sizeof *copy);
        if (eo_vec__push(&b->g->paths, &copy) != EO_OK) {
            eo_free(copy);
            return oom(b);
        }
    }
    tr = &ts->v[ts->n++];
    tr->target = t;
    tr->path = copy;
    tr->npath = n;
    tr->inverse_step = inverse_step;
    /* the changed field's model now matters to every operation on it */
    ((eo_model *)on->model)->watched_ = 1;
    return EO_OK;
}

static int add_edge(build *b, const eo_dtarget *from, const eo_field *on, int via_relation)
{
    edge e;
    const eo_dtarget *to = on->target_;
    if (to == NULL)
        return EO_OK;
    e.from = from->index;
    e.to = to->index;
    e.via_relation = via_relation;
    return eo_vec__push(&b->edges, &e) == EO_OK ? EO_OK : oom(b);
}

static int path_error(build *b, const eo_dtarget *t, const char *path, const char *fmt,
                      const char *a, const char *c, const char *hint)
{
    char who[400], what[400];
    target_name(t, who, sizeof who);
    snprintf(what, sizeof what, fmt, a, c);
    eo_error_set(b->err, EO_EINVAL, "%s: depends on \"%s\": %s%s", who, path, what, hint);
    eo_error_where(b->err, t->model->name, t->field ? t->field->name : NULL);
    return EO_EINVAL;
}

/* The rest of a path below an Embedded or List field f: a sub-field of its
 * type (sub-records do not nest). */
static int sub_path(build *b, const eo_dtarget *t, const char *path, const eo_field *f,
                    const char *rest)
{
    const eo_model *e = f->embedded;
    const eo_field *sf;
    char hint[160];
    size_t j;
    if (e == NULL)
        return path_error(b, t, path, "the embedded type of '%s' is not defined%s", f->name, "", "");
    if (strchr(rest, '.') != NULL)
        return path_error(b, t, path, "'%s' is a sub-field of %s: sub-records do not nest", rest,
                          e->name, "");
    sf = eo_model_field(e, rest, strlen(rest));
    if (sf != NULL && sf->index > 0)
        return EO_OK;
    hint[0] = '\0';
    {
        const char **names = eo_malloc((e->nfields + 1) * sizeof *names);
        size_t n = 0;
        if (names) {
            for (j = 1; j < e->nfields; j++)
                names[n++] = e->fields[j]->name;
            eo_suggest__hint(hint, sizeof hint, rest, names, n);
            eo_free(names);
        }
    }
    return path_error(b, t, path, "embedded type %s has no sub-field '%s'", e->name, rest, hint);
}

/* Resolve one path of target t and hang its triggers. */
static int add_path(build *b, const eo_dtarget *t, const char *path)
{
    const eo_field *steps[MAX_STEPS];
    const eo_model *cur = t->model;
    const char *p = path;
    size_t k = 0, i;
    int rc;
    if (*path == '\0')
        return path_error(b, t, path, "an empty field name%s%s", "", "", "");
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        char seg[128], hint[160];
        const eo_field *f;
        if (len == 0 || len >= sizeof seg)
            return path_error(b, t, path, "an empty or overlong field name%s%s", "", "", "");
        memcpy(seg, p, len);
        seg[len] = '\0';
        f = eo_model_field(cur, seg, len);
        if (f == NULL) {
            const char **names = eo_malloc((cur->nfields + 1) * sizeof *names);
            size_t j;
            hint[0] = '\0';
            if (names) {
                for (j = 0; j < cur->nfields; j++)
                    names[j] = cur->fields[j]->name;
                eo_suggest__hint(hint, sizeof hint, seg, names, cur->nfields);
                eo_free(names);
            }
            return path_error(b, t, path, "%s has no field '%s'", cur->name, seg, hint);
        }
        if (k == MAX_STEPS)
            return path_error(b, t, path, "more than 32 steps%s%s", "", "", "");
        steps[k++] = f;
        if (dot == NULL)
            break;
        if (f->type == EO_FT_EMBEDDED || f->type == EO_FT_LIST) {
            /* "address.city": the value is one field, so any write of it
             * marks the dependents; the sub-field name must exist */
            if ((rc = sub_path(b, t, path, f, dot + 1)) != EO_OK)
                return rc;
            break;
        }
        if (!is_rel(f) || f->comodel == NULL)
            return path_error(b, t, path, "'%s' is a %s field, not a relation: it has no fields to follow",
                              f->name, eo_ftype_name(f->type), "");
        if ((f->flags & EO_FF_COMPUTED) && !(f->flags & EO_FF_STORED) && f->type == EO_FT_MANY2ONE)
            return path_error(b, t, path,
                              "'%s' is a computed Many2one that is not stored: a path cannot go through it yet (store it)",
                              f->name, "", "");
        cur = f->comodel;
        p = dot + 1;
    }
    for (i = 0; i < k; i++) {
        eo_field *f = (eo_field *)steps[i];
        if ((rc = add_trigger(b, f, t, steps, i, 0)) != EO_OK)
            return rc;
        if (f->type == EO_FT_ONE2MANY && f->comodel) {
            eo_field *inv = eo_model_field(f->comodel, f->inverse, strlen(f->inverse));
            if (inv && (rc = add_trigger(b, inv, t, steps, i + 1, 1)) != EO_OK)
                return rc;
        }
        if (f->type == EO_FT_MANY2MANY && f->junction)
            f->junction->watched_ = 1;
        if ((rc = add_edge(b, t, f, i > 0)) != EO_OK)
            return rc;
    }
    return EO_OK;
}

/* ---- cycles and ranks ---- */

typedef struct ranker {
    build *b;
    int *state; /* 0 new, 1 on the stack, 2 done */
    size_t *stack;
    size_t depth;
    size_t *first; /* edges sorted by `from`: first[i] .. first[i+1] */
    edge *sorted;
} ranker;

static int by_from(const void *x, const void *y)
{
    const edge *a = x, *c = y;
    return a->from < c->from ? -1 : a->from > c->from;
}

static int cycle_error(ranker *r, size_t from, size_t to)
{
    char msg[1024], name[300];
    size_t i, len = 0, start = 0;
    const eo_dtarget *t = r->b->g->targets[to];
    for (i = 0; i < r->depth; i++)
        if (r->stack[i] == to)
            start = i;
    for (i = start; i < r->depth && len < sizeof msg; i++) {
        target_name(r->b->g->targets[r->stack[i]], name, sizeof name);
        len += (size_t)snprintf(msg + len, sizeof msg - len, "%s -> ", name);
    }
    target_name(t, name, sizeof name);
    if (len < sizeof msg)
        snprintf(msg + len, sizeof msg - len, "%s", name);
    (void)from;
    if (r->stack[start] == from && from == to)
        eo_error_set(r->b->err, EO_EINVAL,
                     "%s depends on itself (declare it recursive = true when it goes through a relation, like a tree's total over child_ids)",
                     name);
    else
        eo_error_set(r->b->err, EO_EINVAL, "computed fields depend on each other in a cycle: %s", msg);
    eo_error_where(r->b->err, t->model->name, t->field ? t->field->name : NULL);
    return EO_EINVAL;
}

static int visit(ranker *r, size_t i)
{
    eo_dtarget *t = r->b->g->targets[i];
    size_t e;
    int rank = 0, rc;
    r->state[i] = 1;
    r->stack[r->depth++] = i;
    for (e = r->first[i]; e < r->first[i + 1]; e++) {
        const edge *ed = &r->sorted[e];
        eo_dtarget *to = r->b->g->targets[ed->to];
        if (ed->to == i && ed->via_relation && t->field && (t->field->flags & EO_FF_RECURSIVE))
            continue;
        if (r->state[ed->to] == 1)
            return cycle_error(r, i, ed->to);
        if (r->state[ed->to] == 0 && (rc = visit(r, ed->to)) != EO_OK)
            return rc;
        if (to->rank + 1 > rank)
            rank = to->rank + 1;
    }
    t->rank = t->check ? CHECK_RANK_BASE + rank : rank;
    r->state[i] = 2;
    r->depth--;
    return EO_OK;
}

static int rank_targets(build *b)
{
    ranker r;
    size_t n = b->g->ntargets, i, ne = b->edges.len;
    int rc = EO_OK;
    memset(&r, 0, sizeof r);
    r.b = b;
    r.state = eo_calloc(n + 1, sizeof *r.state);
    r.stack = eo_calloc(n + 1, sizeof *r.stack);
    r.first = eo_calloc(n + 2, sizeof *r.first);
    r.sorted = eo_malloc((ne + 1) * sizeof *r.sorted);
    if (!r.state || !r.stack || !r.first || !r.sorted) {
        rc = oom(b);
        goto done;
    }
    if (ne)
        memcpy(r.sorted, b->edges.items, ne * sizeof *r.sorted);
    qsort(r.sorted, ne, sizeof *r.sorted, by_from);
    for (i = 0; i < ne; i++)
        r.first[r.sorted[i].from + 1]++;
    for (i = 0; i < n; i++)
        r.first[i + 1] += r.first[i];
    /* the depth of the recursion is the longest chain of computed fields
     * (each a declaration in a model file), not the size of any data */
    for (i = 0; i < n && rc == EO_OK; i++)
        if (r.state[i] == 0)
            rc = visit(&r, i);
done:
    eo_free(r.state);
    eo_free(r.stack);
    eo_free(r.first);
    eo_free(r.sorted);
    return rc;
}

int eo_depgraph__build(eo_registry *reg, eo_depgraph **out, eo_error *err)
{
    build b;
    size_t mi, fi, i;
    int rc = EO_OK;
    memset(&b, 0, sizeof b);
    b.reg = reg;
    b.err = err;
    b.edges.isize = sizeof(edge);
    *out = NULL;
    if ((b.g = eo_calloc(1, sizeof *b.g)) == NULL)
        return oom(&b);
    b.g->paths.isize = sizeof(const eo_field **);
    /* a graph built before left marks on the fields: start clean */
    for (mi = 0; mi < eo_registry_count(reg); mi++) {
        eo_model *m = eo_registry_at(reg, mi);
        m->watched_ = 0;
        for (fi = 0; fi < m->nfields; fi++)
            if (m->fields[fi]->flags & EO_FF_COMPUTED)
                if ((rc = add_target(&b, m, m->fields[fi], NULL)) != EO_OK)
                    goto fail;
        for (i = 0; i < m->nchecks; i++)
            if ((rc = add_target(&b, m, NULL, m->checks[i])) != EO_OK)
                goto fail;
    }
    for (i = 0; i < b.g->ntargets; i++) {
        const eo_dtarget *t = b.g->targets[i];
        size_t k, nd = t->field ? t->field->ndepends : t->check->ndepends;
        char **deps = t->field ? t->field->depends : t->check->depends;
        for (k = 0; k < nd; k++)
            if ((rc = add_path(&b, t, deps[k])) != EO_OK)
                goto fail;
    }
    if ((rc = rank_targets(&b)) != EO_OK)
        goto fail;
    eo_vec__free(&b.edges);
    *out = b.g;
    return EO_OK;
fail:
    eo_vec__free(&b.edges);
    eo_depgraph__free(reg, b.g);
    return rc;
}

void eo_depgraph__free(eo_registry *reg, eo_depgraph *g)
{
    size_t mi, fi, i;
    for (mi = 0; reg && mi < eo_registry_count(reg); mi++) {
        eo_model *m = eo_registry_at(reg, mi);
        m->watched_ = 0;
        for (fi = 0; fi < m->nfields; fi++) {
            eo_field *f = m->fields[fi];
            eo_triggers *ts = f->deps_;
            if (ts) {
                eo_free(ts->v);
                eo_free(ts);
            }
            f->deps_ = NULL;
            f->target_ = NULL;
        }
        for (i = 0; i < m->nchecks; i++)
            m->checks[i]->target_ = NULL;
    }
    if (g == NULL)
        return;
    for (i = 0; i < g->paths.len; i++)
        eo_free(*(const eo_field ***)eo_vec__at(&g->paths, i));
    eo_vec__free(&g->paths);
    for (i = 0; i < g->ntargets; i++)
        eo_free(g->targets[i]);
    eo_free(g->targets);
    eo_free(g);
}

int eo_deps_watched(const eo_model *m, const eo_field *f)
{
    if (m == NULL)
        return 0;
    if (f == NULL)
        return m->watched_;
    if (f->deps_ != NULL)
        return 1;
    /* an x2many value changes the comodel's inverse, or junction rows */
    if (f->type == EO_FT_MANY2MANY && f->junction)
        return f->junction->watched_;
    if (f->type == EO_FT_ONE2MANY && f->comodel) {
        const eo_field *inv = eo_model_field(f->comodel, f->inverse, strlen(f->inverse));
        return inv && inv->deps_ != NULL;
    }
    return 0;
}
