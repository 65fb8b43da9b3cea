/*
 * domain.c - building domains from prefix-notation tokens.
 *
 * The builder collects tokens ('&', '|', '!' and leaves) and turns them into
 * a tree by reading them right to left with a stack, the usual way to parse
 * prefix notation. It checks shape only: operators, arity, balance. Field
 * names and values are checked by eo_domain_bind (bind.c) once the model is
 * known.
 *
 * Nothing here recurses on the input. Prefix notation writes an OR of n
 * leaves as n-1 '|' tokens, a binary tree n levels deep; the builder
 * flattens every chain of one operator into one n-ary node and drops
 * double negations, with explicit stacks, so what is left nests only where
 * operators alternate. That depth (counting `any` sub-domains and the
 * dots of a field path) is checked against EO_DOMAIN_MAX_DEPTH, so the
 * recursive passes downstream (binding, normalizing, compiling) use a
 * bounded amount of C stack whatever the input.
 */
#include <stdio.h>

#include "earnorm/domain.h"
#include "domain_int.h"

static const char *const op_names[EO_OP__COUNT] = {
    "=", "!=", ">", ">=", "<", "<=", "in", "not in", "like", "ilike",
    "not like", "not ilike", "=like", "=ilike", "child_of", "parent_of",
    "any", "not any", "=?",
};

const char *eo_dop_name(eo_dop op)
{
    return (unsigned)op < EO_OP__COUNT ? op_names[op] : "?";
}

int eo_dop_parse(eo_dop *out, const char *s, size_t n)
{
    size_t i;
    if (out == NULL || s == NULL)
        return EO_EINVAL;
    for (i = 0; i < EO_OP__COUNT; i++) {
        if (strlen(op_names[i]) == n && memcmp(op_names[i], s, n) == 0) {
            *out = (eo_dop)i;
            return EO_OK;
        }
    }
    /* "<>" and "==" are common spellings of the same thing */
    if (n == 2 && memcmp(s, "<>", 2) == 0) {
        *out = EO_OP_NE;
        return EO_OK;
    }
    if (n == 2 && memcmp(s, "==", 2) == 0) {
        *out = EO_OP_EQ;
        return EO_OK;
    }
    return EO_EINVAL;
}

typedef struct token {
    char op;          /* '&', '|', '!' or 0 for a leaf */
    eo_dnode *leaf;
} token;

struct eo_dbuilder {
    eo_arena arena;
    eo_vec tokens;    /* of token */
    size_t nleaves;
};

int eo_dbuilder_new(eo_dbuilder **out, eo_error *err)
{
    eo_dbuilder *b;
    EO_ENTER();
    EO_REQUIRE(out);
    *out = NULL;
    if ((b = eo_calloc(1, sizeof *b)) == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory building a domain");
    b->tokens.isize = sizeof(token);
    *out = b;
    return EO_OK;
}

void eo_dbuilder_free(eo_dbuilder *b)
{
    if (b == NULL)
        return;
    eo_arena__free(&b->arena);
    eo_vec__free(&b->tokens);
    eo_free(b);
}

int eo_dbuilder_op(eo_dbuilder *b, char op, eo_error *err)
{
    token t;
    EO_ENTER();
    EO_REQUIRE(b);
    if (op != '&' && op != '|' && op != '!')
        return eo_error_set(err, EO_EINVAL,
                            "domain: unknown logical operator '%c' (use '&', '|' or '!')", op);
    t.op = op;
    t.leaf = NULL;
    if (eo_vec__push(&b->tokens, &t) != EO_OK)
        return eo_error_set(err, EO_ENOMEM, "out of memory building a domain");
    return EO_OK;
}

eo_dnode *eo_domain__node(eo_arena *a, eo_dkind kind)
{
    eo_dnode *n = eo_arena__alloc(a, sizeof *n);
    if (n) {
        memset(n, 0, sizeof *n);
        n->kind = kind;
    }
    return n;
}

static int new_leaf(eo_dbuilder *b, eo_dnode **out, const char *path,
                    const char *op, eo_error *err)
{
    eo_dnode *n;
    eo_dop dop;
    token t;
    if (path == NULL || *path == '\0')
        return eo_error_set(err, EO_EINVAL, "domain leaf %zu: the field name is empty",
                            b->nleaves + 1);
    if (eo_dop_parse(&dop, op, strlen(op)) != EO_OK)
        return eo_error_set(err, EO_EINVAL,
                            "domain leaf {%s, %s, ...}: unknown operator '%s'", path, op, op);
    n = eo_domain__node(&b->arena, EO_D_LEAF);
    if (n == NULL || (n->path = eo_arena__strndup(&b->arena, path, strlen(path))) == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory building a domain");
    n->op = dop;
    t.op = 0;
    t.leaf = n;
    if (eo_vec__push(&b->tokens, &t) != EO_OK)
        return eo_error_set(err, EO_ENOMEM, "out of memory building a domain");
    b->nleaves++;
    *out = n;
    return EO_OK;
}

static int is_list_op(eo_dop op)
{
    return op == EO_OP_IN || op == EO_OP_NOT_IN || op == EO_OP_CHILD_OF ||
           op == EO_OP_PARENT_OF;
}

int eo_dbuilder_leaf(eo_dbuilder *b, const char *path, const char *op,
                     const eo_value *value, eo_error *err)
{
    eo_dnode *n;
    int rc;
    EO_ENTER();
    EO_REQUIRE(b);
    EO_REQUIRE(path);
    EO_REQUIRE(op);
    EO_REQUIRE(value);
    if ((rc = new_leaf(b, &n, path, op, err)) != EO_OK)
        return rc;
    if (n->op == EO_OP_ANY || n->op == EO_OP_NOT_ANY)
        return eo_error_set(err, EO_EINVAL,
                            "domain leaf {%s, %s, ...}: the value must be a domain (a list of leaves)",
                            path, op);
    if (is_list_op(n->op)) {
        /* a scalar given to "in" is a list of one */
        n->vkind = EO_DV_LIST;
        n->list = eo_arena__alloc(&b->arena, sizeof(eo_value));
        if (n->list == NULL || eo_arena__value(&b->arena, &n->list[0], value) != EO_OK)
            return eo_error_set(err, EO_ENOMEM, "out of memory building a domain");
        n->nlist = 1;
        return EO_OK;
    }
    n->vkind = EO_DV_VALUE;
    if (eo_arena__value(&b->arena, &n->value, value) != EO_OK)
        return eo_error_set(err, EO_ENOMEM, "out of memory building a domain");
    return EO_OK;
}

int eo_dbuilder_leaf_list(eo_dbuilder *b, const char *path, const char *op,
                          const eo_value *values, size_t nv, eo_error *err)
{
    eo_dnode *n;
    size_t i;
    int rc;
    EO_ENTER();
    EO_REQUIRE(b);
    EO_REQUIRE(path);
    EO_REQUIRE(op);
    EO_REQUIRE_N(values, nv);
    if ((rc = new_leaf(b, &n, path, op, err)) != EO_OK)
        return rc;
    if (!is_list_op(n->op))
        return eo_error_set(err, EO_EINVAL,
                            "domain leaf {%s, %s, ...}: operator '%s' takes one value, not a list",
                            path, op, op);
    n->vkind = EO_DV_LIST;
    n->nlist = nv;
    n->list = eo_arena__alloc(&b->arena, (nv ? nv : 1) * sizeof(eo_value));
    if (n->list == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory building a domain");
    for (i = 0; i < nv; i++)
        if (eo_arena__value(&b->arena, &n->list[i], &values[i]) != EO_OK)
            return eo_error_set(err, EO_ENOMEM, "out of memory building a domain");
    return EO_OK;
}

int eo_dbuilder_leaf_sub(eo_dbuilder *b, const char *path, const char *op,
                         eo_domain *sub, eo_error *err)
{
    eo_dnode *n;
    int rc;
    EO_ENTER();
    if (b == NULL || path == NULL || op == NULL || sub == NULL) {
        eo_domain_free(sub); /* consumed whatever the result */
        return eo_error__null(err, __func__, b == NULL ? "b" : path == NULL ? "path"
                                             : op == NULL ? "op" : "sub");
    }
    if ((rc = new_leaf(b, &n, path, op, err)) != EO_OK) {
        eo_domain_free(sub);
        return rc;
    }
    if (n->op != EO_OP_ANY && n->op != EO_OP_NOT_ANY) {
        eo_domain_free(sub);
        return eo_error_set(err, EO_EINVAL,
                            "domain leaf {%s, %s, ...}: only 'any' and 'not any' take a domain as value",
                            path, op);
    }
    n->vkind = EO_DV_DOMAIN;
    n->sub = sub->root;
    eo_arena__adopt(&b->arena, &sub->arena);
    eo_domain_free(sub);
    return EO_OK;
}

static eo_domain *domain_alloc(void)
{
    return eo_calloc(1, sizeof(eo_domain));
}

int eo_domain_new_true(eo_domain **out, eo_error *err)
{
    eo_domain *d;
    EO_ENTER();
    EO_REQUIRE(out);
    *out = NULL;
    if ((d = domain_alloc()) == NULL || (d->root = eo_domain__node(&d->arena, EO_D_TRUE)) == NULL) {
        eo_domain_free(d);
        return eo_error_set(err, EO_ENOMEM, "out of memory building a domain");
    }
    *out = d;
    return EO_OK;
}

void eo_domain_free(eo_domain *d)
{
    if (d == NULL)
        return;
    eo_arena__free(&d->arena);
    eo_free(d);
}

/* NOT NOT x is x: negation is two-valued here (see bind.c). */
static eo_dnode *skip_double_not(eo_dnode *n)
{
    while (n->kind == EO_D_NOT && n->kids[0]->kind == EO_D_NOT)
        n = n->kids[0]->kids[0];
    return n;
}

/*
 * Make every AND/OR n-ary: a node's kids of its own kind are replaced by
 * their kids, in order. `work` holds slots whose node still needs doing;
 * each node is gathered into exactly one n-ary node, so this is linear.
 */
static int flatten(eo_arena *a, eo_dnode **rootp, eo_error *err)
{
    eo_vec work = EO_VEC_INIT(eo_dnode **);
    eo_vec gather = EO_VEC_INIT(eo_dnode *);
    eo_vec kids = EO_VEC_INIT(eo_dnode *);
    int rc = EO_OK;

    if (eo_vec__push(&work, &rootp) != EO_OK)
        goto oom;
    while (work.len) {
        eo_dnode **slot = *(eo_dnode ***)eo_vec__at(&work, --work.len);
        eo_dnode *n = skip_double_not(*slot);
        size_t i;
        *slot = n;
        if (n->kind == EO_D_NOT) {
            eo_dnode **k = &n->kids[0];
            if (eo_vec__push(&work, &k) != EO_OK)
                goto oom;
            continue;
        }
        if (n->kind != EO_D_AND && n->kind != EO_D_OR)
            continue; /* leaves: a sub-domain was flattened when it was built */
        /* depth-first, left to right, through the kids of n's own kind */
        gather.len = kids.len = 0;
        for (i = n->nkids; i-- > 0;)
            if (eo_vec__push(&gather, &n->kids[i]) != EO_OK)
                goto oom;
        while (gather.len) {
            eo_dnode *x = skip_double_not(*(eo_dnode **)eo_vec__at(&gather, --gather.len));
            if (x->kind == n->kind) {
                for (i = x->nkids; i-- > 0;)
                    if (eo_vec__push(&gather, &x->kids[i]) != EO_OK)
                        goto oom;
            } else if (eo_vec__push(&kids, &x) != EO_OK) {
                goto oom;
            }
        }
        if (kids.len != n->nkids) {
            n->kids = eo_arena__alloc(a, kids.len * sizeof *n->kids);
            if (n->kids == NULL)
                goto oom;
        }
        memcpy(n->kids, kids.items, kids.len * sizeof *n->kids);
        n->nkids = kids.len;
        for (i = 0; i < n->nkids; i++) {
            eo_dnode **k = &n->kids[i];
            if (eo_vec__push(&work, &k) != EO_OK)
                goto oom;
        }
    }
    goto done;
oom:
    rc = eo_error_set(err, EO_ENOMEM, "out of memory building a domain");
done:
    eo_vec__free(&work);
    eo_vec__free(&gather);
    eo_vec__free(&kids);
    return rc;
}

typedef struct depth_item {
    const eo_dnode *n;
    size_t depth;      /* levels above n, n included */
} depth_item;

/* Levels a field path adds: "a.b.c" goes through two `any`. */
static size_t path_levels(const char *path)
{
    size_t k = 0;
    for (; path && *path; path++)
        k += *path == '.';
    return k;
}

int eo_domain__check_depth(const eo_dnode *root, eo_error *err)
{
    eo_vec st = EO_VEC_INIT(depth_item);
    depth_item it = { root, 1 };
    size_t max = 0;
    int rc = EO_OK;

    if (eo_vec__push(&st, &it) != EO_OK)
        goto oom;
    while (st.len) {
        depth_item cur = *(depth_item *)eo_vec__at(&st, --st.len);
        size_t i;
        if (cur.n->kind == EO_D_LEAF)
            cur.depth += path_levels(cur.n->path);
        if (cur.depth > max)
            max = cur.depth;
        if (max > EO_DOMAIN_MAX_DEPTH)
            break;
        if (cur.n->kind == EO_D_LEAF) {
            if (cur.n->vkind == EO_DV_DOMAIN && cur.n->sub) {
                it.n = cur.n->sub;
                it.depth = cur.depth + 1;
                if (eo_vec__push(&st, &it) != EO_OK)
                    goto oom;
            }
            continue;
        }
        for (i = 0; i < cur.n->nkids; i++) {
            it.n = cur.n->kids[i];
            it.depth = cur.depth + 1;
            if (eo_vec__push(&st, &it) != EO_OK)
                goto oom;
        }
    }
    if (max > EO_DOMAIN_MAX_DEPTH)
        rc = eo_error_set(err, EO_ELIMIT,
                          "domain nests more than %d levels deep (operators that alternate, "
                          "'any' sub-domains and dotted paths count; chains of one operator "
                          "do not): simplify it",
                          EO_DOMAIN_MAX_DEPTH);
    goto done;
oom:
    rc = eo_error_set(err, EO_ENOMEM, "out of memory building a domain");
done:
    eo_vec__free(&st);
    return rc;
}

int eo_dbuilder_finish(eo_domain **out, eo_dbuilder *b, eo_error *err)
{
    eo_domain *d = NULL;
    eo_dnode **stack = NULL;
    size_t sp = 0, i, ntok;
    int rc = EO_OK;

    EO_ENTER();
    if (out)
        *out = NULL;
    if (out == NULL || b == NULL) {
        eo_dbuilder_free(b); /* freed whatever the result */
        return eo_error__null(err, __func__, out == NULL ? "out" : "b");
    }
    ntok = b->tokens.len;
    d = domain_alloc();
    stack = eo_malloc((ntok ? ntok : 1) * sizeof *stack);
    if (d == NULL || stack == NULL) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory building a domain");
        goto done;
    }
    for (i = ntok; i-- > 0;) {
        token *t = eo_vec__at(&b->tokens, i);
        if (t->op == 0) {
            stack[sp++] = t->leaf;
            continue;
        }
        {
            size_t need = t->op == '!' ? 1 : 2;
            eo_dnode *n;
            if (sp < need) {
                rc = eo_error_set(err, EO_EINVAL,
                                  "unbalanced domain: '%c' at position %zu needs %zu operand%s, found %zu",
                                  t->op, i + 1, need, need > 1 ? "s" : "", sp);
                goto done;
            }
            n = eo_domain__node(&b->arena, t->op == '!' ? EO_D_NOT
                                           : t->op == '&' ? EO_D_AND : EO_D_OR);
            if (n == NULL || (n->kids = eo_arena__alloc(&b->arena, need * sizeof *n->kids)) == NULL) {
                rc = eo_error_set(err, EO_ENOMEM, "out of memory building a domain");
                goto done;
            }
            n->nkids = need;
            /* the operand nearest the operator is on top of the stack */
            n->kids[0] = stack[--sp];
            if (need == 2)
                n->kids[1] = stack[--sp];
            stack[sp++] = n;
        }
    }
    if (sp == 0) {
        d->root = eo_domain__node(&b->arena, EO_D_TRUE);
    } else if (sp == 1) {
        d->root = stack[0];
    } else {
        /* several top-level terms: implicit AND, in written order */
        eo_dnode *n = eo_domain__node(&b->arena, EO_D_AND);
        if (n && (n->kids = eo_arena__alloc(&b->arena, sp * sizeof *n->kids)) != NULL) {
            for (i = 0; i < sp; i++)
                n->kids[i] = stack[sp - 1 - i];
            n->nkids = sp;
        }
        d->root = n && n->kids ? n : NULL;
    }
    if (d->root == NULL) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory building a domain");
        goto done;
    }
    if ((rc = flatten(&b->arena, &d->root, err)) != EO_OK ||
        (rc = eo_domain__check_depth(d->root, err)) != EO_OK)
        goto done;
    eo_arena__adopt(&d->arena, &b->arena);
    *out = d;
    d = NULL;
done:
    eo_free(stack);
    eo_domain_free(d);
    eo_dbuilder_free(b);
    return rc;
}

/* A NULL domain reads as the ORM takes it: no filter, matching everything. */
const eo_dnode *eo_domain_root(const eo_domain *d) { return d ? d->root : NULL; }
int eo_domain_is_false(const eo_domain *d) { return d && d->root->kind == EO_D_FALSE; }
int eo_domain_is_true(const eo_domain *d) { return d == NULL || d->root->kind == EO_D_TRUE; }
const eo_model *eo_domain_model(const eo_domain *d) { return d ? d->model : NULL; }

/* Replace a leaf's values with a list copied into the domain's arena. */
int eo_domain__set_list(eo_domain *d, eo_dnode *n, const eo_value *v, size_t nv)
{
    size_t i;
    eo_value *l = eo_arena__alloc(&d->arena, (nv ? nv : 1) * sizeof *l);
    if (l == NULL)
        return EO_ENOMEM;
    for (i = 0; i < nv; i++)
        if (eo_arena__value(&d->arena, &l[i], &v[i]) != EO_OK)
            return EO_ENOMEM;
    n->vkind = EO_DV_LIST;
    n->list = l;
    n->nlist = nv;
    return EO_OK;
}

/*
 * A bound domain `f in vals` built directly, for the ORM's own lookups of
 * ids it already holds (prefetch, relations): no copy, no normalization.
 * The values are Borrowed and must outlive the domain.
 */
int eo_domain__in_list(eo_domain **out, const eo_model *m, const eo_field *f,
                       const eo_value *vals, size_t n)
{
    eo_domain *d = domain_alloc();
    eo_dnode *leaf;
    *out = NULL;
    if (d == NULL)
        return EO_ENOMEM;
    d->model = m;
    if (n == 0) {
        d->root = eo_domain__node(&d->arena, EO_D_FALSE);
    } else {
        leaf = eo_domain__node(&d->arena, EO_D_LEAF);
        if (leaf) {
            leaf->path = f->name;
            leaf->field = f;
            if (n == 1) {
                leaf->op = EO_OP_EQ;
                leaf->vkind = EO_DV_VALUE;
                leaf->value = vals[0];
            } else {
                leaf->op = EO_OP_IN;
                leaf->vkind = EO_DV_LIST;
                leaf->list = (eo_value *)vals;
                leaf->nlist = n;
            }
        }
        d->root = leaf;
    }
    if (d->root == NULL) {
        eo_domain_free(d);
        return EO_ENOMEM;
    }
    *out = d;
    return EO_OK;
}

int eo_domain__range(eo_domain **out, const eo_model *m, const eo_field *f, eo_value lo,
                     eo_value hi)
{
    eo_domain *d = domain_alloc();
    eo_dnode *and_, *a, *b;
    *out = NULL;
    if (d == NULL)
        return EO_ENOMEM;
    d->model = m;
    and_ = eo_domain__node(&d->arena, EO_D_AND);
    a = eo_domain__node(&d->arena, EO_D_LEAF);
    b = eo_domain__node(&d->arena, EO_D_LEAF);
    if (and_ == NULL || a == NULL || b == NULL ||
        (and_->kids = eo_arena__alloc(&d->arena, 2 * sizeof *and_->kids)) == NULL) {
        eo_domain_free(d);
        return EO_ENOMEM;
    }
    a->path = b->path = f->name;
    a->field = b->field = f;
    a->vkind = b->vkind = EO_DV_VALUE;
    a->op = EO_OP_GE;
    a->value = lo;
    b->op = EO_OP_LE;
    b->value = hi;
    and_->kids[0] = a;
    and_->kids[1] = b;
    and_->nkids = 2;
    d->root = and_;
    *out = d;
    return EO_OK;
}

size_t eo_domain__like_escape_into(char *dst, const char *s, size_t n)
{
    size_t i, o = 0;
    for (i = 0; i < n; i++) {
        if (s[i] == '%' || s[i] == '_' || s[i] == '\\')
            dst[o++] = '\\';
        dst[o++] = s[i];
    }
    return o;
}

int eo_like_escape(char **out, size_t *outlen, const char *s, size_t n, eo_error *err)
{
    char *p;
    size_t len;
    EO_ENTER();
    EO_REQUIRE(out);
    *out = NULL;
    if (outlen)
        *outlen = 0;
    EO_REQUIRE_N(s, n);
    if (n > (SIZE_MAX - 1) / 2 || (p = eo_malloc(2 * n + 1)) == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    len = eo_domain__like_escape_into(p, s, n);
    p[len] = '\0';
    if (outlen)
        *outlen = len;
    *out = p;
    eo_error_clear(err);
    return EO_OK;
}
