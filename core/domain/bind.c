/*
 * bind.c - binding a domain to a model, then normalizing it.
 *
 * Binding resolves each leaf's field path, checks that the operator applies
 * to the field's type and converts values to the field's canonical type
 * (without the create/write checks: a filter may ask for a value no record
 * may hold). Dotted paths become `any` leaves on the first relation.
 *
 * Normalizing pushes negation down to the leaves, flattens AND/OR, removes
 * duplicate leaves, merges `=`/`in` leaves on one field (intersection under
 * AND, union under OR) and folds what can never match to FALSE. Nothing here
 * talks to a database: child_of and parent_of stay leaves for the ORM layer
 * to resolve, because they need queries.
 */
#include <math.h>
#include <stdio.h>

#include "domain_int.h"

typedef struct binder {
    eo_domain *d;
    eo_error *err;
} binder;

static int oom(binder *b)
{
    return eo_error_set(b->err, EO_ENOMEM, "out of memory binding a domain");
}

static int leaf_error(binder *b, int code, const eo_model *m, const eo_dnode *n,
                      const char *field, const char *what)
{
    eo_buf s = EO_BUF_INIT;
    eo_domain__leaf_str(&s, n);
    eo_error_set(b->err, code, "%s: %s in domain leaf %s", m->name, what,
                 s.p ? s.p : "?");
    eo_error_where(b->err, m->name, field);
    eo_buf__free(&s);
    return code;
}

static int is_textual(eo_ftype t)
{
    return t == EO_FT_CHAR || t == EO_FT_TEXT || t == EO_FT_SELECTION ||
           t == EO_FT_DATE || t == EO_FT_DATETIME || t == EO_FT_JSON;
}

static int is_x2many(eo_ftype t) { return t == EO_FT_ONE2MANY || t == EO_FT_MANY2MANY; }
static int is_relational(eo_ftype t) { return t == EO_FT_MANY2ONE || is_x2many(t); }

static int is_like(eo_dop op)
{
    return op == EO_OP_LIKE || op == EO_OP_ILIKE || op == EO_OP_NOT_LIKE ||
           op == EO_OP_NOT_ILIKE || op == EO_OP_EQLIKE || op == EO_OP_EQILIKE;
}

static int is_order(eo_dop op)
{
    return op == EO_OP_GT || op == EO_OP_GE || op == EO_OP_LT || op == EO_OP_LE;
}

/* Which operators apply to which field types; NULL when allowed. */
static const char *op_refused(const eo_field *f, eo_dop op)
{
    eo_ftype t = f->type;
    if (op == EO_OP_ANY || op == EO_OP_NOT_ANY)
        return is_relational(t) ? NULL : "'any' applies to relational fields only";
    if (op == EO_OP_CHILD_OF || op == EO_OP_PARENT_OF)
        return t == EO_FT_ID || t == EO_FT_MANY2ONE
                   ? NULL
                   : "'child_of' and 'parent_of' apply to id and Many2one fields only";
    if (is_like(op))
        return is_textual(t) || t == EO_FT_MANY2ONE
                   ? NULL
                   : "a 'like' operator applies to text fields only";
    if (is_order(op))
        return t == EO_FT_BOOLEAN || t == EO_FT_BINARY || t == EO_FT_JSON ||
                       is_relational(t)
                   ? "this field cannot be ordered"
                   : NULL;
    return NULL;
}

static int convert_one(binder *b, const eo_model *m, const eo_dnode *n,
                       const eo_field *f, const eo_value *in, eo_value *out)
{
    eo_value_scratch sc;
    eo_value v;
    eo_error sub;
    int rc;
    if (in->type == EO_VNULL) {
        *out = *in;
        return EO_OK;
    }
    if (f->type == EO_FT_ID || f->type == EO_FT_MANY2ONE) {
        /* ids are integers or ObjectId hex text; the adapter knows which */
        if (in->type == EO_VINT || in->type == EO_VTEXT) {
            *out = *in;
            return EO_OK;
        }
        /* range first: casting a huge double to int64_t is undefined */
        if (in->type == EO_VFLOAT && in->u.f == floor(in->u.f) && fabs(in->u.f) < 9.2e18) {
            *out = eo_int((int64_t)in->u.f);
            return EO_OK;
        }
        return leaf_error(b, EO_EINVAL, m, n, f->name, "expected a record id");
    }
    memset(&sc, 0, sizeof sc);
    eo_error_clear(&sub);
    rc = eo_field__convert(f, in, &v, &sc, 0, &sub);
    if (rc != EO_OK) {
        /* keep the converter's words, say which leaf */
        const char *what = strchr(sub.msg, ':');
        return leaf_error(b, rc, m, n, f->name, what ? what + 2 : sub.msg);
    }
    if (eo_arena__value(&b->d->arena, out, &v) != EO_OK)
        return oom(b);
    return EO_OK;
}

static int bind_node(binder *b, const eo_model *m, eo_dnode *n);

static int bind_leaf(binder *b, const eo_model *m, eo_dnode *n)
{
    const char *dot = strchr(n->path, '.');
    size_t hlen = dot ? (size_t)(dot - n->path) : strlen(n->path);
    const eo_field *f = eo_model_field(m, n->path, hlen);
    const char *why;
    char head[128];
    size_t i;

    snprintf(head, sizeof head, "%.*s", (int)hlen, n->path);
    if (f == NULL) {
        char what[200];
        snprintf(what, sizeof what, "no field '%s'", head);
        return leaf_error(b, EO_EINVAL, m, n, head, what);
    }
    if (dot) {
        /* a.b.c OP v  ->  a any [b.c OP v] */
        eo_dnode *sub;
        if (!is_relational(f->type))
            return leaf_error(b, EO_EINVAL, m, n, f->name,
                              "a dotted path must go through a relational field");
        if (f->comodel == NULL)
            return leaf_error(b, EO_ENOTFOUND, m, n, f->name,
                              "the related model is not defined");
        sub = eo_domain__node(&b->d->arena, EO_D_LEAF);
        if (sub == NULL)
            return oom(b);
        *sub = *n;
        sub->path = dot + 1;
        n->path = eo_arena__strndup(&b->d->arena, n->path, hlen);
        if (n->path == NULL)
            return oom(b);
        n->op = EO_OP_ANY;
        n->vkind = EO_DV_DOMAIN;
        n->sub = sub;
        n->list = NULL;
        n->nlist = 0;
        n->value = eo_null();
        n->field = f;
        return bind_node(b, f->comodel, sub);
    }
    n->field = f;
    if ((why = op_refused(f, n->op)) != NULL) {
        char what[200];
        snprintf(what, sizeof what, "operator '%s' does not apply to %s field '%s' (%s)",
                 eo_dop_name(n->op), eo_ftype_name(f->type), f->name, why);
        return leaf_error(b, EO_EINVAL, m, n, f->name, what);
    }
    if (n->op == EO_OP_ANY || n->op == EO_OP_NOT_ANY) {
        if (f->comodel == NULL)
            return leaf_error(b, EO_ENOTFOUND, m, n, f->name,
                              "the related model is not defined");
        return bind_node(b, f->comodel, n->sub);
    }
    if (f->type == EO_FT_MANY2ONE && is_like(n->op)) {
        /* partner_id ilike "ann" searches the related record's name */
        eo_dnode *sub;
        if (f->comodel == NULL || f->comodel->rec_name == NULL)
            return leaf_error(b, EO_EINVAL, m, n, f->name,
                              "the related model has no name field to match");
        sub = eo_domain__node(&b->d->arena, EO_D_LEAF);
        if (sub == NULL)
            return oom(b);
        *sub = *n;
        sub->path = f->comodel->rec_name;
        n->op = EO_OP_ANY;
        n->vkind = EO_DV_DOMAIN;
        n->sub = sub;
        n->value = eo_null();
        return bind_node(b, f->comodel, sub);
    }
    if (is_x2many(f->type)) {
        /* tag_ids = 5 / in [..]: "contains"; = null: "is empty" */
        eo_dnode *sub = eo_domain__node(&b->d->arena, EO_D_LEAF);
        int neg = n->op == EO_OP_NE || n->op == EO_OP_NOT_IN;
        int null = n->vkind == EO_DV_VALUE && n->value.type == EO_VNULL;
        if (n->op != EO_OP_EQ && n->op != EO_OP_NE && n->op != EO_OP_IN &&
            n->op != EO_OP_NOT_IN)
            return leaf_error(b, EO_EINVAL, m, n, f->name,
                              "x2many fields take =, !=, in, not in, any, not any");
        if (sub == NULL)
            return oom(b);
        if (null) {
            sub->kind = EO_D_TRUE;
            neg = !neg;
        } else {
            *sub = *n;
            sub->path = "id";
            sub->op = EO_OP_IN;
            if (n->vkind == EO_DV_VALUE) {
                sub->vkind = EO_DV_LIST;
                sub->list = eo_arena__alloc(&b->d->arena, sizeof(eo_value));
                if (sub->list == NULL)
                    return oom(b);
                sub->list[0] = n->value;
                sub->nlist = 1;
            }
        }
        n->op = neg ? EO_OP_NOT_ANY : EO_OP_ANY;
        n->vkind = EO_DV_DOMAIN;
        n->sub = sub;
        n->value = eo_null();
        if (f->comodel == NULL)
            return leaf_error(b, EO_ENOTFOUND, m, n, f->name,
                              "the related model is not defined");
        return bind_node(b, f->comodel, sub);
    }
    if (n->vkind == EO_DV_DOMAIN)
        return leaf_error(b, EO_EINVAL, m, n, f->name, "a sub-domain needs 'any' or 'not any'");
    if (n->vkind == EO_DV_LIST) {
        for (i = 0; i < n->nlist; i++) {
            int rc = convert_one(b, m, n, f, &n->list[i], &n->list[i]);
            if (rc != EO_OK)
                return rc;
        }
        return EO_OK;
    }
    if (n->value.type == EO_VNULL && n->op != EO_OP_EQ && n->op != EO_OP_NE) {
        char what[160];
        snprintf(what, sizeof what, "operator '%s' cannot compare with null (use = or !=)",
                 eo_dop_name(n->op));
        return leaf_error(b, EO_EINVAL, m, n, f->name, what);
    }
    if (is_like(n->op)) {
        /* the pattern is text whatever the field's type */
        eo_value *v = &n->value;
        if (v->type == EO_VINT || v->type == EO_VFLOAT) {
            char buf[64];
            if (v->type == EO_VINT)
                snprintf(buf, sizeof buf, "%lld", (long long)v->u.i);
            else
                snprintf(buf, sizeof buf, "%.17g", v->u.f);
            if (eo_arena__value(&b->d->arena, v, &(eo_value){ .type = EO_VTEXT,
                                .u.s = { buf, strlen(buf) } }) != EO_OK)
                return oom(b);
        } else if (v->type != EO_VTEXT) {
            return leaf_error(b, EO_EINVAL, m, n, f->name, "a 'like' pattern must be a string");
        }
        return EO_OK;
    }
    {
        int rc = convert_one(b, m, n, f, &n->value, &n->value);
        if (rc != EO_OK)
            return rc;
    }
    if (f->type == EO_FT_BOOLEAN && n->op == EO_OP_EQ && n->value.type == EO_VBOOL &&
        !n->value.u.b) {
        /* "= false" also matches records where the flag was never set */
        eo_value *l = eo_arena__alloc(&b->d->arena, 2 * sizeof *l);
        if (l == NULL)
            return oom(b);
        l[0] = eo_bool(0);
        l[1] = eo_null();
        n->op = EO_OP_IN;
        n->vkind = EO_DV_LIST;
        n->list = l;
        n->nlist = 2;
    }
    return EO_OK;
}

static int bind_node(binder *b, const eo_model *m, eo_dnode *n)
{
    size_t i;
    int rc;
    switch (n->kind) {
    case EO_D_TRUE:
    case EO_D_FALSE:
        return EO_OK;
    case EO_D_LEAF:
        return bind_leaf(b, m, n);
    default:
        for (i = 0; i < n->nkids; i++)
            if ((rc = bind_node(b, m, n->kids[i])) != EO_OK)
                return rc;
        return EO_OK;
    }
}

/* ------------------------------------------------------------------ */
/* normalization                                                      */

static int node_equal(const eo_dnode *a, const eo_dnode *b)
{
    size_t i;
    if (a->kind != b->kind || a->nkids != b->nkids)
        return 0;
    if (a->kind == EO_D_LEAF) {
        if (a->op != b->op || a->vkind != b->vkind || strcmp(a->path, b->path) != 0)
            return 0;
        switch (a->vkind) {
        case EO_DV_VALUE: return eo_value_equal(&a->value, &b->value);
        case EO_DV_LIST:
            if (a->nlist != b->nlist)
                return 0;
            for (i = 0; i < a->nlist; i++)
                if (!eo_value_equal(&a->list[i], &b->list[i]))
                    return 0;
            return 1;
        case EO_DV_DOMAIN: return node_equal(a->sub, b->sub);
        }
    }
    for (i = 0; i < a->nkids; i++)
        if (!node_equal(a->kids[i], b->kids[i]))
            return 0;
    return 1;
}

static eo_dnode *mk(binder *b, eo_dkind kind)
{
    return eo_domain__node(&b->d->arena, kind);
}

static eo_dnode *leaf_copy(binder *b, const eo_dnode *src)
{
    eo_dnode *n = mk(b, EO_D_LEAF);
    if (n)
        *n = *src;
    return n;
}

static eo_dnode *norm(binder *b, eo_dnode *n, int neg);

static eo_dnode *null_leaf(binder *b, const eo_dnode *like)
{
    eo_dnode *n = leaf_copy(b, like);
    if (n) {
        n->op = EO_OP_EQ;
        n->vkind = EO_DV_VALUE;
        n->value = eo_null();
        n->list = NULL;
        n->nlist = 0;
    }
    return n;
}

static eo_dnode *pair(binder *b, eo_dkind kind, eo_dnode *x, eo_dnode *y)
{
    eo_dnode *n = mk(b, kind);
    if (n == NULL || x == NULL || y == NULL)
        return NULL;
    if ((n->kids = eo_arena__alloc(&b->d->arena, 2 * sizeof *n->kids)) == NULL)
        return NULL;
    n->kids[0] = x;
    n->kids[1] = y;
    n->nkids = 2;
    return n;
}

/* A leaf's simplifications that need no context. */
static eo_dnode *simplify_leaf(binder *b, eo_dnode *n)
{
    if (n->vkind == EO_DV_LIST && (n->op == EO_OP_IN || n->op == EO_OP_NOT_IN)) {
        /* drop duplicate values, keeping first occurrences (hashed: lists of
         * prefetched ids hold thousands) */
        eo_vset seen = { 0 };
        size_t i, k = 0;
        for (i = 0; i < n->nlist; i++) {
            int added;
            n->list[k] = n->list[i];
            added = eo_vset__add(&seen, &n->list[k]);
            if (added < 0) {
                eo_vset__free(&seen);
                oom(b);
                return NULL;
            }
            if (added)
                k++;
        }
        eo_vset__free(&seen);
        n->nlist = k;
        if (k == 0)
            return mk(b, n->op == EO_OP_IN ? EO_D_FALSE : EO_D_TRUE);
        if (k == 1) {
            n->value = n->list[0];
            n->vkind = EO_DV_VALUE;
            n->op = n->op == EO_OP_IN ? EO_OP_EQ : EO_OP_NE;
            n->list = NULL;
            n->nlist = 0;
        }
    }
    if (n->vkind == EO_DV_DOMAIN && n->field && n->field->type == EO_FT_MANY2ONE) {
        /* any [] on a Many2one is "is set"; any [FALSE] never matches */
        if (n->sub->kind == EO_D_FALSE)
            return mk(b, n->op == EO_OP_ANY ? EO_D_FALSE : EO_D_TRUE);
        if (n->sub->kind == EO_D_TRUE) {
            eo_dnode *x = null_leaf(b, n);
            if (x)
                x->op = n->op == EO_OP_ANY ? EO_OP_NE : EO_OP_EQ;
            return x;
        }
    } else if (n->vkind == EO_DV_DOMAIN && n->sub->kind == EO_D_FALSE) {
        return mk(b, n->op == EO_OP_ANY ? EO_D_FALSE : EO_D_TRUE);
    }
    return n;
}

static eo_dnode *negate_leaf(binder *b, eo_dnode *n)
{
    eo_dnode *c = leaf_copy(b, n);
    if (c == NULL)
        return NULL;
    switch (n->op) {
    case EO_OP_EQ: c->op = EO_OP_NE; return c;
    case EO_OP_NE: c->op = EO_OP_EQ; return c;
    case EO_OP_IN: c->op = EO_OP_NOT_IN; return c;
    case EO_OP_NOT_IN: c->op = EO_OP_IN; return c;
    case EO_OP_LIKE: c->op = EO_OP_NOT_LIKE; return c;
    case EO_OP_NOT_LIKE: c->op = EO_OP_LIKE; return c;
    case EO_OP_ILIKE: c->op = EO_OP_NOT_ILIKE; return c;
    case EO_OP_NOT_ILIKE: c->op = EO_OP_ILIKE; return c;
    case EO_OP_ANY: c->op = EO_OP_NOT_ANY; return c;
    case EO_OP_NOT_ANY: c->op = EO_OP_ANY; return c;
    /* not (a > v) is (a <= v or a is null): a negation matches NULL */
    case EO_OP_GT: c->op = EO_OP_LE; return pair(b, EO_D_OR, c, null_leaf(b, n));
    case EO_OP_GE: c->op = EO_OP_LT; return pair(b, EO_D_OR, c, null_leaf(b, n));
    case EO_OP_LT: c->op = EO_OP_GE; return pair(b, EO_D_OR, c, null_leaf(b, n));
    case EO_OP_LE: c->op = EO_OP_GT; return pair(b, EO_D_OR, c, null_leaf(b, n));
    default: {
        /* =like, =ilike, child_of, parent_of have no negated operator */
        eo_dnode *x = mk(b, EO_D_NOT);
        if (x == NULL || (x->kids = eo_arena__alloc(&b->d->arena, sizeof *x->kids)) == NULL)
            return NULL;
        x->kids[0] = n;
        x->nkids = 1;
        return x;
    }
    }
}

/* The set of values an EQ/IN leaf allows. */
static void leaf_set(const eo_dnode *n, const eo_value **vals, size_t *nv)
{
    if (n->vkind == EO_DV_VALUE) {
        *vals = &n->value;
        *nv = 1;
    } else {
        *vals = n->list;
        *nv = n->nlist;
    }
}

/*
 * Keep the values of acc that are (keep = 1) or are not (keep = 0) in set;
 * writes them to out (may be acc). Hashed: id lists hold thousands.
 * Returns the count kept, or -1 when out of memory.
 */
static long filter_set(eo_value *out, const eo_value *acc, size_t nacc, const eo_value *set,
                       size_t nset, int keep)
{
    eo_vset hs = { 0 };
    size_t k, o = 0;
    for (k = 0; k < nset; k++)
        if (eo_vset__add(&hs, &set[k]) < 0) {
            eo_vset__free(&hs);
            return -1;
        }
    for (k = 0; k < nacc; k++)
        if (eo_vset__has(&hs, &acc[k]) == keep)
            out[o++] = acc[k];
    eo_vset__free(&hs);
    return (long)o;
}

/* Append to acc the values of add it lacks; acc has room. -1 on OOM. */
static int unite_set(eo_value *acc, size_t *nacc, const eo_value *add, size_t nadd)
{
    eo_vset hs = { 0 };
    size_t k;
    int rc = 0;
    for (k = 0; k < *nacc && rc >= 0; k++)
        rc = eo_vset__add(&hs, &acc[k]);
    for (k = 0; k < nadd && rc >= 0; k++) {
        rc = eo_vset__add(&hs, &add[k]);
        if (rc == 1) {
            acc[*nacc] = add[k];
            (*nacc)++;
        }
    }
    eo_vset__free(&hs);
    return rc < 0 ? -1 : 0;
}

static int is_set_leaf(const eo_dnode *n, int positive)
{
    if (n->kind != EO_D_LEAF || n->vkind == EO_DV_DOMAIN)
        return 0;
    return positive ? n->op == EO_OP_EQ || n->op == EO_OP_IN
                    : n->op == EO_OP_NE || n->op == EO_OP_NOT_IN;
}

/* Replace kid i with a leaf allowing exactly vals[0..nv). */
static eo_dnode *set_leaf(binder *b, const eo_dnode *like, const eo_value *vals, size_t nv,
                          int positive)
{
    eo_dnode *n = leaf_copy(b, like);
    if (n == NULL)
        return NULL;
    if (nv == 1) {
        n->vkind = EO_DV_VALUE;
        n->value = vals[0];
        n->op = positive ? EO_OP_EQ : EO_OP_NE;
        n->list = NULL;
        n->nlist = 0;
    } else {
        eo_value *l = eo_arena__alloc(&b->d->arena, nv * sizeof *l);
        if (l == NULL)
            return NULL;
        memcpy(l, vals, nv * sizeof *l);
        n->vkind = EO_DV_LIST;
        n->list = l;
        n->nlist = nv;
        n->op = positive ? EO_OP_IN : EO_OP_NOT_IN;
    }
    return n;
}

/*
 * Under AND: intersect the allowed sets of EQ/IN leaves on one path and
 * subtract NE/NOT IN leaves on that path. Under OR: unite EQ/IN leaves.
 * Returns FALSE/TRUE nodes through *folded when the whole node folds.
 */
static int merge_sets(binder *b, eo_dnode *n, int *folded)
{
    size_t i, j;
    int is_and = n->kind == EO_D_AND;
    *folded = 0;
    for (i = 0; i < n->nkids; i++) {
        eo_dnode *a = n->kids[i];
        eo_value *acc;
        size_t nacc;
        const eo_value *vals;
        size_t nv;
        int changed = 0;
        if (a == NULL || !is_set_leaf(a, 1))
            continue;
        leaf_set(a, &vals, &nv);
        /* room for a union of everything */
        {
            size_t cap = nv;
            for (j = i + 1; j < n->nkids; j++)
                if (n->kids[j] && is_set_leaf(n->kids[j], 1) &&
                    strcmp(n->kids[j]->path, a->path) == 0)
                    cap += n->kids[j]->vkind == EO_DV_LIST ? n->kids[j]->nlist : 1;
            acc = eo_arena__alloc(&b->d->arena, (cap ? cap : 1) * sizeof *acc);
            if (acc == NULL)
                return oom(b);
        }
        memcpy(acc, vals, nv * sizeof *acc);
        nacc = nv;
        for (j = i + 1; j < n->nkids; j++) {
            eo_dnode *c = n->kids[j];
            const eo_value *cv;
            size_t ncv;
            if (c == NULL || c->kind != EO_D_LEAF || strcmp(c->path, a->path) != 0)
                continue;
            if (is_set_leaf(c, 1)) {
                leaf_set(c, &cv, &ncv);
                if (is_and) {
                    long o = filter_set(acc, acc, nacc, cv, ncv, 1);
                    if (o < 0)
                        return oom(b);
                    nacc = (size_t)o;
                } else if (unite_set(acc, &nacc, cv, ncv) < 0) {
                    return oom(b);
                }
                n->kids[j] = NULL;
                changed = 1;
            } else if (is_and && is_set_leaf(c, 0)) {
                long o;
                leaf_set(c, &cv, &ncv);
                if ((o = filter_set(acc, acc, nacc, cv, ncv, 0)) < 0)
                    return oom(b);
                nacc = (size_t)o;
                n->kids[j] = NULL;
                changed = 1;
            }
        }
        if (!changed)
            continue;
        if (nacc == 0) {
            /* only AND can empty a set */
            *folded = 1;
            return EO_OK;
        }
        if ((n->kids[i] = set_leaf(b, a, acc, nacc, 1)) == NULL)
            return oom(b);
    }
    /* NE/NOT IN before the EQ they contradict: handled by a second pass */
    if (is_and) {
        for (i = 0; i < n->nkids; i++) {
            eo_dnode *c = n->kids[i];
            if (c == NULL || !is_set_leaf(c, 0))
                continue;
            for (j = i + 1; j < n->nkids; j++) {
                eo_dnode *a = n->kids[j];
                const eo_value *av, *cv;
                size_t na, nc;
                long o;
                eo_value *acc;
                if (a == NULL || !is_set_leaf(a, 1) || strcmp(a->path, c->path) != 0)
                    continue;
                leaf_set(a, &av, &na);
                leaf_set(c, &cv, &nc);
                acc = eo_arena__alloc(&b->d->arena, na * sizeof *acc);
                if (acc == NULL)
                    return oom(b);
                if ((o = filter_set(acc, av, na, cv, nc, 0)) < 0)
                    return oom(b);
                if (o == 0) {
                    *folded = 1;
                    return EO_OK;
                }
                if ((n->kids[j] = set_leaf(b, a, acc, (size_t)o, 1)) == NULL)
                    return oom(b);
                n->kids[i] = NULL;
                break;
            }
        }
    }
    return EO_OK;
}

static eo_dnode *norm_nary(binder *b, eo_dnode *n, int neg)
{
    eo_dkind kind = n->kind == EO_D_AND ? (neg ? EO_D_OR : EO_D_AND)
                                        : (neg ? EO_D_AND : EO_D_OR);
    eo_dkind absorbing = kind == EO_D_AND ? EO_D_FALSE : EO_D_TRUE;
    eo_dkind neutral = kind == EO_D_AND ? EO_D_TRUE : EO_D_FALSE;
    eo_vec kids = EO_VEC_INIT(eo_dnode *);
    eo_dnode *out = NULL;
    size_t i, j;
    int folded;

    for (i = 0; i < n->nkids; i++) {
        eo_dnode *k = norm(b, n->kids[i], neg);
        if (k == NULL)
            goto done;
        if (k->kind == absorbing) {
            out = k;
            goto done;
        }
        if (k->kind == neutral)
            continue;
        if (k->kind == kind) {
            for (j = 0; j < k->nkids; j++)
                if (eo_vec__push(&kids, &k->kids[j]) != EO_OK)
                    goto done;
        } else if (eo_vec__push(&kids, &k) != EO_OK) {
            goto done;
        }
    }
    out = mk(b, kind);
    if (out == NULL)
        goto done;
    out->nkids = kids.len;
    out->kids = eo_arena__alloc(&b->d->arena, (kids.len ? kids.len : 1) * sizeof(eo_dnode *));
    if (out->kids == NULL) {
        out = NULL;
        goto done;
    }
    if (kids.len)
        memcpy(out->kids, kids.items, kids.len * sizeof(eo_dnode *));
    if (merge_sets(b, out, &folded) != EO_OK) {
        out = NULL;
        goto done;
    }
    if (folded) {
        out = mk(b, EO_D_FALSE);
        goto done;
    }
    /* drop merged-away kids and duplicates, keeping first occurrences */
    {
        size_t o = 0;
        for (i = 0; i < out->nkids; i++) {
            eo_dnode *k = out->kids[i];
            if (k == NULL)
                continue;
            for (j = 0; j < o; j++)
                if (node_equal(out->kids[j], k))
                    break;
            if (j == o)
                out->kids[o++] = k->kind == EO_D_LEAF ? simplify_leaf(b, k) : k;
            if (o && out->kids[o - 1] == NULL) {
                out = NULL;
                goto done;
            }
        }
        out->nkids = o;
        /* simplification may have produced constants */
        for (i = 0, o = 0; i < out->nkids; i++) {
            eo_dnode *k = out->kids[i];
            if (k->kind == absorbing) {
                out = k;
                goto done;
            }
            if (k->kind != neutral)
                out->kids[o++] = k;
        }
        out->nkids = o;
    }
    if (out->nkids == 0)
        out = mk(b, neutral);
    else if (out->nkids == 1)
        out = out->kids[0];
done:
    eo_vec__free(&kids);
    return out;
}

static eo_dnode *norm(binder *b, eo_dnode *n, int neg)
{
    switch (n->kind) {
    case EO_D_TRUE: return neg ? mk(b, EO_D_FALSE) : n;
    case EO_D_FALSE: return neg ? mk(b, EO_D_TRUE) : n;
    case EO_D_NOT: return norm(b, n->kids[0], !neg);
    case EO_D_AND:
    case EO_D_OR: return norm_nary(b, n, neg);
    case EO_D_LEAF:
        if (n->vkind == EO_DV_DOMAIN) {
            eo_dnode *c = leaf_copy(b, n);
            if (c == NULL || (c->sub = norm(b, n->sub, 0)) == NULL)
                return NULL;
            n = c;
        }
        if (neg) {
            eo_dnode *x = negate_leaf(b, n);
            if (x == NULL)
                return NULL;
            /* a negated order comparison is an OR: normalize it too */
            if (x->kind == EO_D_OR)
                return norm_nary(b, x, 0);
            return x->kind == EO_D_LEAF ? simplify_leaf(b, x) : x;
        }
        return simplify_leaf(b, n);
    }
    return NULL;
}

int eo_domain_bind(eo_domain *d, const eo_model *model, eo_error *err)
{
    binder b;
    eo_dnode *root;
    int rc;
    b.d = d;
    b.err = err;
    if (d->model != NULL) {
        if (d->model == model)
            return EO_OK;
        return eo_error_set(err, EO_EINVAL, "domain is already bound to %s, not %s",
                            d->model->name, model->name);
    }
    if ((rc = bind_node(&b, model, d->root)) != EO_OK)
        return rc;
    root = norm(&b, d->root, 0);
    if (root == NULL)
        return oom(&b);
    d->root = root;
    d->model = model;
    return EO_OK;
}
