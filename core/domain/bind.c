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
#include <ctype.h>
#include <math.h>
#include <stdio.h>

#include "domain_int.h"
#include "../embedded_int.h"
#include "../util/suggest.h"
#include "../util/json.h"

typedef struct binder {
    eo_domain *d;
    eo_error *err;
    int rc;              /* why a normalization step returned NULL */
    unsigned ticks;      /* steps since the deadline was last polled */
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
    eo_ftype t = eo_ftype_base(f->type);
    if (f->type == EO_FT_REFERENCE && op != EO_OP_EQ && op != EO_OP_NE && op != EO_OP_IN &&
        op != EO_OP_NOT_IN)
        return "a Reference takes =, !=, in and not in, with records or \"model,id\" text";
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
static int bind_leaf_eq(binder *b, const eo_model *m, eo_dnode *n);

/* One value compared with a property: a string, number, boolean or null. */
static int property_value(binder *b, const eo_model *m, const eo_dnode *n, const eo_field *f,
                          const eo_value *v, int ordered)
{
    const char *why = NULL;
    if (v->type == EO_VBLOB)
        why = "a property value is a string, number, boolean or null";
    else if (v->type == EO_VFLOAT && !isfinite(v->u.f))
        why = "a property value cannot be NaN or infinite";
    else if (v->type == EO_VTEXT &&
             (memchr(v->u.s.p, '\0', v->u.s.n) || eo_utf8__check(v->u.s.p, v->u.s.n, NULL)))
        why = "a property value must be valid UTF-8 text without NUL bytes";
    else if (ordered && v->type != EO_VINT && v->type != EO_VFLOAT && v->type != EO_VTEXT)
        why = "<, <=, > and >= on a property compare numbers or strings";
    return why ? leaf_error(b, EO_EINVAL, m, n, f->name, why) : EO_OK;
}

/*
 * props.color OP v: a leaf on one property of a Properties field. The
 * path stays as written (the compilers take the property name after the
 * dot); values stay as given: a property has the type its record's schema
 * says, so there is no one type to convert them to.
 */
static int bind_property(binder *b, const eo_model *m, eo_dnode *n, const eo_field *f,
                         const char *name)
{
    const char *p;
    size_t i;
    int ordered = n->op == EO_OP_GT || n->op == EO_OP_GE || n->op == EO_OP_LT ||
                  n->op == EO_OP_LE, rc;
    if (!(isalpha((unsigned char)*name) || *name == '_') || strlen(name) > 60)
        return leaf_error(b, EO_EINVAL, m, n, f->name,
                          "a property name starts with a letter or '_' (at most 60 characters)");
    for (p = name; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_'))
            return leaf_error(b, EO_EINVAL, m, n, f->name,
                              "a property name holds only letters, digits and '_' (a property "
                              "has no sub-fields)");
    if (n->op != EO_OP_EQ && n->op != EO_OP_NE && n->op != EO_OP_IN && n->op != EO_OP_NOT_IN &&
        !ordered)
        return leaf_error(b, EO_EINVAL, m, n, f->name,
                          "a property takes =, !=, in, not in, <, <=, > and >= (like and the "
                          "others are not built for properties)");
    n->field = f;
    if (n->vkind == EO_DV_DOMAIN)
        return leaf_error(b, EO_EINVAL, m, n, f->name, "a property value cannot be a domain");
    if (n->vkind == EO_DV_LIST) {
        for (i = 0; i < n->nlist; i++)
            if ((rc = property_value(b, m, n, f, &n->list[i], 0)) != EO_OK)
                return rc;
        return EO_OK;
    }
    if (n->value.type == EO_VNULL && ordered)
        return leaf_error(b, EO_EINVAL, m, n, f->name,
                          "operator cannot compare with null (use = or !=)");
    return property_value(b, m, n, f, &n->value, ordered);
}

/* ---- active_test (eo_domain_set_active_test) ---- */

/* Whether a leaf of this level (not of its sub-domains) is on field `name`,
 * as written: Odoo's `any(item[0] == active_name for item in domain)`. */
static int mentions(const eo_dnode *n, const char *name)
{
    size_t i;
    if (n->kind == EO_D_LEAF)
        return strcmp(n->path, name) == 0;
    for (i = 0; i < n->nkids; i++)
        if (mentions(n->kids[i], name))
            return 1;
    return 0;
}

/* n, or (n AND active = true) when the domain hides the archived records
 * of m and n does not name the flag; NULL when out of memory. Called
 * before n is bound: the new leaf is bound with it. */
static eo_dnode *with_active(binder *b, const eo_model *m, eo_dnode *n)
{
    const eo_field *af;
    eo_dnode *leaf, *and;
    if (!b->d->active_test || (af = eo_model_active_field(m)) == NULL || mentions(n, af->name))
        return n;
    leaf = eo_domain__node(&b->d->arena, EO_D_LEAF);
    and = eo_domain__node(&b->d->arena, EO_D_AND);
    if (leaf == NULL || and == NULL ||
        (leaf->path = eo_arena__strndup(&b->d->arena, af->name, strlen(af->name))) == NULL ||
        (and->kids = eo_arena__alloc(&b->d->arena, 2 * sizeof *and->kids)) == NULL)
        return NULL;
    leaf->op = EO_OP_EQ;
    leaf->vkind = EO_DV_VALUE;
    leaf->value = eo_bool(1);
    and->kids[0] = n;
    and->kids[1] = leaf;
    and->nkids = 2;
    return and;
}

/* Bind the sub-domain of leaf n (an `any` through field f) on f's comodel;
 * through an x2many it hides archived records when the domain does. */
static int bind_sub(binder *b, const eo_field *f, eo_dnode *n)
{
    if (is_x2many(f->type)) {
        eo_dnode *sub = with_active(b, f->comodel, n->sub);
        if (sub == NULL)
            return oom(b);
        n->sub = sub;
    }
    return bind_node(b, f->comodel, n->sub);
}

/* `f =? v` (Odoo's): TRUE when v is NULL or false, else `f = v`. The path
 * is checked either way, so a misspelt field is not hidden by an unset
 * value. */
static int bind_eq_opt(binder *b, const eo_model *m, eo_dnode *n)
{
    const eo_model *cur = m;
    const char *p = n->path;
    if (n->vkind != EO_DV_VALUE)
        return leaf_error(b, EO_EINVAL, m, n, NULL, "operator '=?' takes one value");
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        const eo_field *f = eo_model_field(cur, p, len);
        if (f == NULL) {
            char what[200];
            snprintf(what, sizeof what, "no field '%.*s'%s%s", (int)len, p,
                     p != n->path ? " on " : "", p != n->path ? cur->name : "");
            return leaf_error(b, EO_EINVAL, m, n, NULL, what);
        }
        if (dot == NULL || f->type == EO_FT_PROPERTIES || eo_embedded__is(f))
            break; /* bind_property / bind_embedded check the rest */
        if (!is_relational(f->type))
            return leaf_error(b, EO_EINVAL, m, n, f->name,
                              "a dotted path must go through a relational field");
        if (f->comodel == NULL)
            return leaf_error(b, EO_ENOTFOUND, m, n, f->name,
                              "the related model is not defined");
        cur = f->comodel;
        p = dot + 1;
    }
    if (n->value.type == EO_VNULL || (n->value.type == EO_VBOOL && !n->value.u.b)) {
        n->kind = EO_D_TRUE;
        return EO_OK;
    }
    n->op = EO_OP_EQ;
    return bind_leaf_eq(b, m, n);
}

/*
 * A leaf on an Embedded or List field f. "address.city OP v" is
 * `address any [city OP v]` on the sub-record type: for an Embedded field
 * the sub-domain is read on the one sub-record (an unset one has every
 * sub-field NULL); for a List it means "some element matches", and a
 * negative operator means "no element matches" the positive one
 * (MongoDB's semantics: items.qty != 5 is "no item has qty 5"). On the
 * field itself: = / != null (set or not), any and not any.
 */
static int bind_embedded(binder *b, const eo_model *m, eo_dnode *n, const eo_field *f,
                         const char *rest)
{
    const eo_model *t = f->embedded;
    if (t == NULL)
        return leaf_error(b, EO_ENOTFOUND, m, n, f->name, "the embedded type is not defined");
    if (rest) {
        eo_dnode *sub;
        const eo_field *sf = eo_model_field(t, rest, strlen(rest));
        int neg = 0;
        if (sf == NULL || sf->index == 0) {
            const char *names[128];
            char what[300], hint[96];
            size_t i, k = 0;
            for (i = 1; i < t->nfields && k < 128; i++)
                names[k++] = t->fields[i]->name;
            eo_suggest__hint(hint, sizeof hint, rest, names, k);
            snprintf(what, sizeof what, "embedded type %s has no field '%.64s'%s%s", t->name,
                     rest, hint, strchr(rest, '.') ? " (sub-records do not nest)" : "");
            return leaf_error(b, EO_EINVAL, m, n, f->name, what);
        }
        if (sf->type == EO_FT_JSON)
            return leaf_error(b, EO_EINVAL, m, n, f->name,
                              "a Json field inside an embedded record cannot be searched");
        sub = eo_domain__node(&b->d->arena, EO_D_LEAF);
        if (sub == NULL)
            return oom(b);
        *sub = *n;
        sub->path = rest;
        if (f->type == EO_FT_LIST) {
            switch (n->op) {
            case EO_OP_NE: sub->op = EO_OP_EQ; neg = 1; break;
            case EO_OP_NOT_IN: sub->op = EO_OP_IN; neg = 1; break;
            case EO_OP_NOT_LIKE: sub->op = EO_OP_LIKE; neg = 1; break;
            case EO_OP_NOT_ILIKE: sub->op = EO_OP_ILIKE; neg = 1; break;
            default: break;
            }
        }
        n->path = eo_arena__strndup(&b->d->arena, n->path, (size_t)(rest - 1 - n->path));
        if (n->path == NULL)
            return oom(b);
        n->op = neg ? EO_OP_NOT_ANY : EO_OP_ANY;
        n->vkind = EO_DV_DOMAIN;
        n->sub = sub;
        n->list = NULL;
        n->nlist = 0;
        n->value = eo_null();
        n->field = f;
        return bind_node(b, t, sub);
    }
    n->field = f;
    if (n->op == EO_OP_ANY || n->op == EO_OP_NOT_ANY) {
        if (n->vkind != EO_DV_DOMAIN)
            return leaf_error(b, EO_EINVAL, m, n, f->name, "'any' takes a domain");
        return bind_node(b, t, n->sub);
    }
    if ((n->op == EO_OP_EQ || n->op == EO_OP_NE) && n->vkind == EO_DV_VALUE &&
        n->value.type == EO_VNULL)
        return EO_OK;
    {
        char what[300];
        snprintf(what, sizeof what, "an %s field compares only with = / != null (set or not), "
                 "any and not any; search its sub-fields with a dotted path ('%s.%s')",
                 eo_ftype_name(f->type), f->name, t->nfields > 1 ? t->fields[1]->name : "x");
        return leaf_error(b, EO_EINVAL, m, n, f->name, what);
    }
}

static int bind_leaf(binder *b, const eo_model *m, eo_dnode *n)
{
    if (n->op == EO_OP_EQ_OPT)
        return bind_eq_opt(b, m, n);
    return bind_leaf_eq(b, m, n);
}

static int bind_leaf_eq(binder *b, const eo_model *m, eo_dnode *n)
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
    if (dot && f->type == EO_FT_PROPERTIES)
        return bind_property(b, m, n, f, dot + 1);
    if (eo_embedded__is(f))
        return bind_embedded(b, m, n, f, dot ? dot + 1 : NULL);
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
        return bind_sub(b, f, n);
    }
    n->field = f;
    if ((f->flags & EO_FF_COMPUTED) && !(f->flags & EO_FF_STORED))
        return leaf_error(b, EO_EINVAL, m, n, f->name,
                          "the field is computed and not stored, so no query can search it "
                          "(declare it with store = true, or give it a search method)");
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
        return bind_sub(b, f, n);
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
        } else if (memchr(v->u.s.p, '\0', v->u.s.n) != NULL) {
            /* SQLite would end the pattern there and match far more */
            return leaf_error(b, EO_EINVAL, m, n, f->name, "a 'like' pattern cannot hold a NUL byte");
        } else if (eo_utf8__check(v->u.s.p, v->u.s.n, NULL) != 0) {
            /* no stored text is anything else (convert.c), and BSON refuses it */
            return leaf_error(b, EO_EINVAL, m, n, f->name, "a 'like' pattern must be valid UTF-8");
        }
        return EO_OK;
    }
    {
        int rc = convert_one(b, m, n, f, &n->value, &n->value);
        if (rc != EO_OK)
            return rc;
    }
    if (f->type == EO_FT_BOOLEAN && n->op == EO_OP_EQ && n->value.type == EO_VBOOL &&
        !n->value.u.b && !m->embedded) {
        /* (inside a sub-record "= false" is a stored false: see bind_embedded) */
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
/* ------------------------------------------------------------------ */
/* normalization                                                      */
/*
 * Every step is linear (or n log n) in the size of the tree. The kids of
 * a node are grouped by hashing - value sets by field path, `any` leaves
 * by relation, duplicates by structure - and never compared pairwise; no
 * node is copied more than once per level. The passes recurse along the
 * tree's depth only, which the builder bounded (EO_DOMAIN_MAX_DEPTH).
 * Long inputs poll the calling VM's deadline (EO_ETIMEOUT).
 */

/* 1 (and b->rc set) when the call's deadline has passed. */
static int tick(binder *b)
{
    if ((++b->ticks & 4095u) != 0 || !eo_deadline__passed())
        return 0;
    b->rc = eo_error_set(b->err, EO_ETIMEOUT,
                         "domain normalization ran past the call's time limit and was stopped");
    return 1;
}

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
        case EO_DV_DOMAIN:
            if (a->sub == NULL || b->sub == NULL)
                return a->sub == b->sub;
            return node_equal(a->sub, b->sub);
        }
    }
    for (i = 0; i < a->nkids; i++)
        if (!node_equal(a->kids[i], b->kids[i]))
            return 0;
    return 1;
}

static uint64_t mix(uint64_t h, uint64_t x)
{
    return h ^ (x + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2));
}

/* A hash consistent with node_equal. */
static uint64_t node_hash(const eo_dnode *n)
{
    uint64_t h = mix(0, (uint64_t)n->kind + 1);
    size_t i;
    if (n->kind != EO_D_LEAF) {
        for (i = 0; i < n->nkids; i++)
            h = mix(h, node_hash(n->kids[i]));
        return h;
    }
    h = mix(h, eo_hash__bytes(n->path, strlen(n->path)));
    h = mix(h, (uint64_t)n->op * 8u + (uint64_t)n->vkind);
    switch (n->vkind) {
    case EO_DV_VALUE: h = mix(h, eo_value__hash(&n->value)); break;
    case EO_DV_LIST:
        for (i = 0; i < n->nlist; i++)
            h = mix(h, eo_value__hash(&n->list[i]));
        break;
    case EO_DV_DOMAIN: h = mix(h, n->sub ? node_hash(n->sub) : 0); break;
    }
    return h;
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

/* A leaf's simplifications that need no context. Idempotent. */
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

/* The set of values an EQ/IN (NE/NOT IN) leaf allows (refuses). */
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

/* 1 for an EQ/IN leaf, -1 for NE/NOT IN, 0 for anything else. */
static int set_sign(const eo_dnode *n)
{
    if (n->kind != EO_D_LEAF || n->vkind == EO_DV_DOMAIN)
        return 0;
    if (n->op == EO_OP_EQ || n->op == EO_OP_IN)
        return 1;
    if (n->op == EO_OP_NE || n->op == EO_OP_NOT_IN)
        return -1;
    return 0;
}

/* A leaf like `like` allowing (positive) or refusing exactly vals[0..nv). */
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
 * A set of values being united or intersected: the values in order of
 * first appearance, and a hash of them. The hash holds pointers to the
 * leaves' own values, which live in the arena and never move.
 */
typedef struct vacc {
    eo_vec vals;       /* eo_value */
    eo_vset set;       /* the same values, hashed */
    int started;
} vacc;

static void vacc_free(vacc *a)
{
    eo_vec__free(&a->vals);
    eo_vset__free(&a->set);
}

static int vacc_unite(vacc *a, const eo_value *v, size_t n)
{
    size_t i;
    a->started = 1;
    for (i = 0; i < n; i++) {
        int added = eo_vset__add(&a->set, &v[i]);
        if (added < 0 || (added && eo_vec__push(&a->vals, &v[i]) != EO_OK))
            return EO_ENOMEM;
    }
    return EO_OK;
}

static int vacc_intersect(vacc *a, const eo_value *v, size_t n)
{
    eo_vset with = { 0 };
    size_t i, o = 0;
    if (!a->started)
        return vacc_unite(a, v, n);
    for (i = 0; i < n; i++)
        if (eo_vset__add(&with, &v[i]) < 0) {
            eo_vset__free(&with);
            return EO_ENOMEM;
        }
    /* an intersection's own hash is never asked again: let it go */
    eo_vset__free(&a->set);
    for (i = 0; i < a->vals.len; i++) {
        eo_value *x = eo_vec__at(&a->vals, i);
        if (eo_vset__has(&with, x))
            *(eo_value *)eo_vec__at(&a->vals, o++) = *x;
    }
    a->vals.len = o;
    eo_vset__free(&with);
    return EO_OK;
}

/* The values of a not in b (b's hash), into out (reset first). */
static int vacc_minus(eo_vec *out, const vacc *a, const eo_vset *bset)
{
    size_t i;
    out->len = 0;
    for (i = 0; i < a->vals.len; i++) {
        const eo_value *x = eo_vec__at(&a->vals, i);
        if (!eo_vset__has(bset, x) && eo_vec__push(out, x) != EO_OK)
            return EO_ENOMEM;
    }
    return EO_OK;
}

/* The set leaves of one field path among a node's kids. */
typedef struct sgroup {
    size_t first;      /* index of its first leaf */
    eo_dnode *res;     /* the merged leaf, NULL while the kids stay as they are */
    size_t count, npos;
    vacc pos;          /* AND: the intersection of the allowed sets; OR: their union */
    vacc neg;          /* AND: the union of the refused sets; OR: their intersection */
} sgroup;

/*
 * Merge the EQ/IN and NE/NOT IN leaves on one field, set by set, with
 * NULL counting as a value (`!=` and `not in` match NULL here):
 *   AND: x in P1 and .. and x not in N1 and ..  ->  x in (P1 & ..) - (N1 | ..)
 *        (only refusals: x not in (N1 | ..))
 *   OR:  x in P1 or .. or x not in N1 or ..     ->  x not in (N1 & ..) - (P1 | ..)
 *        (only allowances: x in (P1 | ..))
 * An empty result folds the whole node to its absorbing constant (*folded).
 */
static int merge_sets(binder *b, eo_dkind kind, eo_dnode **kids, size_t n, int *folded)
{
    eo_strmap byp = { 0 };
    eo_vec groups = EO_VEC_INIT(sgroup);
    eo_vec tmp = EO_VEC_INIT(eo_value);
    size_t *gid = eo_malloc((n ? n : 1) * sizeof *gid); /* kid -> its group + 1, 0: none */
    int is_and = kind == EO_D_AND, rc = EO_OK;
    size_t i, g;

    *folded = 0;
    if (gid == NULL)
        goto oom;
    for (i = 0; i < n; i++) {
        gid[i] = 0;
        eo_dnode *k = kids[i];
        int sign = set_sign(k);
        const eo_value *vals;
        size_t nv, gi;
        sgroup *grp;
        void *hit;
        if (sign == 0)
            continue;
        if (tick(b))
            goto fail;
        hit = eo_strmap__get(&byp, k->path, strlen(k->path));
        if (hit == NULL) {
            sgroup fresh;
            memset(&fresh, 0, sizeof fresh);
            fresh.first = i;
            fresh.pos.vals.isize = fresh.neg.vals.isize = sizeof(eo_value);
            if (eo_vec__push(&groups, &fresh) != EO_OK ||
                eo_strmap__put(&byp, k->path, strlen(k->path), (void *)(uintptr_t)groups.len) != EO_OK)
                goto oom;
            gi = groups.len - 1;
        } else {
            gi = (size_t)(uintptr_t)hit - 1;
        }
        grp = eo_vec__at(&groups, gi);
        gid[i] = gi + 1;
        grp->count++;
        leaf_set(k, &vals, &nv);
        if (sign > 0) {
            grp->npos++;
            rc = is_and ? vacc_intersect(&grp->pos, vals, nv) : vacc_unite(&grp->pos, vals, nv);
        } else {
            rc = is_and ? vacc_unite(&grp->neg, vals, nv) : vacc_intersect(&grp->neg, vals, nv);
        }
        if (rc != EO_OK)
            goto oom;
    }
    for (g = 0; g < groups.len; g++) {
        sgroup *grp = eo_vec__at(&groups, g);
        eo_dnode *like = kids[grp->first], *res;
        int positive;
        if (grp->count < 2)
            continue;
        if (is_and && grp->npos) {
            if (vacc_minus(&tmp, &grp->pos, &grp->neg.set) != EO_OK)
                goto oom;
            positive = 1;
        } else if (!is_and && grp->npos < grp->count) {
            if (vacc_minus(&tmp, &grp->neg, &grp->pos.set) != EO_OK)
                goto oom;
            positive = 0;
        } else {
            vacc *all = is_and ? &grp->neg : &grp->pos;
            tmp.len = 0;
            for (i = 0; i < all->vals.len; i++)
                if (eo_vec__push(&tmp, eo_vec__at(&all->vals, i)) != EO_OK)
                    goto oom;
            positive = !is_and;
        }
        if (tmp.len == 0) {
            /* AND allowing nothing; OR refusing nothing */
            *folded = 1;
            goto done;
        }
        if ((res = set_leaf(b, like, tmp.items, tmp.len, positive)) == NULL)
            goto oom;
        grp->res = res;
    }
    /* a merged leaf takes its group's first place; the others go */
    for (i = 0; i < n; i++) {
        sgroup *grp = gid[i] ? eo_vec__at(&groups, gid[i] - 1) : NULL;
        if (grp && grp->res)
            kids[i] = i == grp->first ? grp->res : NULL;
    }
    goto done;
oom:
    rc = b->rc = oom(b);
    goto done;
fail:
    rc = b->rc;
done:
    for (g = 0; g < groups.len; g++) {
        sgroup *grp = eo_vec__at(&groups, g);
        vacc_free(&grp->pos);
        vacc_free(&grp->neg);
    }
    eo_vec__free(&groups);
    eo_vec__free(&tmp);
    eo_strmap__free(&byp);
    eo_free(gid);
    return rc;
}

static eo_dnode *combine(binder *b, eo_dkind kind, eo_dnode *const *in, size_t nin);

/*
 * `any` leaves on one relation merge into one: under OR, any(f, A) or
 * any(f, B) is any(f, A | B) and, for a Many2one (one target at most),
 * not any(f, A) or not any(f, B) is not any(f, A & B); under AND the
 * mirror images. So a thousand "partner_id.name = x" leaves make one
 * sub-query, not a thousand.
 */
static int any_merge_kind(eo_dkind kind, const eo_dnode *k, eo_dkind *subkind)
{
    int m2o;
    if (k == NULL || k->kind != EO_D_LEAF || k->vkind != EO_DV_DOMAIN || k->field == NULL ||
        k->sub == NULL)
        return 0;
    m2o = k->field->type == EO_FT_MANY2ONE;
    if (kind == EO_D_OR) {
        if (k->op == EO_OP_ANY) { *subkind = EO_D_OR; return 1; }
        if (k->op == EO_OP_NOT_ANY && m2o) { *subkind = EO_D_AND; return 1; }
    } else {
        if (k->op == EO_OP_NOT_ANY) { *subkind = EO_D_OR; return 1; }
        if (k->op == EO_OP_ANY && m2o) { *subkind = EO_D_AND; return 1; }
    }
    return 0;
}

typedef struct agroup {
    size_t first;
    eo_vec subs;       /* eo_dnode * */
    eo_dnode *res;     /* the merged leaf */
} agroup;

static int merge_any(binder *b, eo_dkind kind, eo_dnode **kids, size_t n)
{
    eo_strmap by = { 0 };
    eo_vec groups = EO_VEC_INIT(agroup);
    size_t i, g, *gid = eo_malloc((n ? n : 1) * sizeof *gid);
    int rc = EO_OK;

    if (gid == NULL)
        goto oom;
    for (i = 0; i < n; i++) {
        struct { const eo_field *f; int op; } key;
        gid[i] = 0;
        eo_dkind sk;
        agroup *grp;
        void *hit;
        if (!any_merge_kind(kind, kids[i], &sk))
            continue;
        memset(&key, 0, sizeof key);
        key.f = kids[i]->field;
        key.op = (int)kids[i]->op;
        hit = eo_strmap__get(&by, (const char *)&key, sizeof key);
        if (hit == NULL) {
            agroup fresh = { i, EO_VEC_INIT(eo_dnode *), NULL };
            if (eo_vec__push(&groups, &fresh) != EO_OK ||
                eo_strmap__put(&by, (const char *)&key, sizeof key, (void *)(uintptr_t)groups.len) != EO_OK)
                goto oom;
            hit = (void *)(uintptr_t)groups.len;
        }
        gid[i] = (size_t)(uintptr_t)hit;
        grp = eo_vec__at(&groups, gid[i] - 1);
        if (eo_vec__push(&grp->subs, &kids[i]->sub) != EO_OK)
            goto oom;
    }
    for (g = 0; g < groups.len && rc == EO_OK; g++) {
        agroup *grp = eo_vec__at(&groups, g);
        eo_dnode *first = kids[grp->first], *res, *sub;
        eo_dkind sk;
        if (grp->subs.len < 2)
            continue;
        any_merge_kind(kind, first, &sk);
        if ((sub = combine(b, sk, grp->subs.items, grp->subs.len)) == NULL) {
            rc = b->rc;
            goto done;
        }
        if ((res = leaf_copy(b, first)) == NULL)
            goto oom;
        res->sub = sub;
        grp->res = res;
    }
    for (i = 0; i < n; i++) {
        agroup *grp = gid[i] ? eo_vec__at(&groups, gid[i] - 1) : NULL;
        if (grp && grp->res)
            kids[i] = i == grp->first ? grp->res : NULL;
    }
    goto done;
oom:
    rc = b->rc = oom(b);
done:
    for (g = 0; g < groups.len; g++)
        eo_vec__free(&((agroup *)eo_vec__at(&groups, g))->subs);
    eo_vec__free(&groups);
    eo_strmap__free(&by);
    eo_free(gid);
    return rc;
}

/* Drop later duplicates of kids (structurally equal), keeping the first. */
static size_t dedupe(binder *b, eo_dnode **kids, size_t n)
{
    size_t cap = 16, i, o = 0, *tab;
    uint64_t *hash;
    while (cap < 2 * n)
        cap *= 2;
    tab = eo_calloc(cap, sizeof *tab);
    hash = eo_malloc((n ? n : 1) * sizeof *hash);
    if (tab == NULL || hash == NULL) {
        eo_free(tab);
        eo_free(hash);
        b->rc = oom(b);
        return (size_t)-1;
    }
    for (i = 0; i < n; i++) {
        uint64_t h = node_hash(kids[i]);
        size_t j;
        for (j = h & (cap - 1); tab[j]; j = (j + 1) & (cap - 1))
            if (hash[tab[j] - 1] == h && node_equal(kids[tab[j] - 1], kids[i]))
                break;
        if (tab[j])
            continue; /* seen */
        kids[o] = kids[i];
        hash[o] = h;
        tab[j] = ++o;
    }
    eo_free(tab);
    eo_free(hash);
    return o;
}

/*
 * The node `kind` over normalized kids: flattened (kids of the same kind
 * give their kids), constants folded, value sets and `any` leaves merged,
 * duplicates dropped. Returns NULL with b->rc set on failure.
 */
static eo_dnode *combine(binder *b, eo_dkind kind, eo_dnode *const *in, size_t nin)
{
    eo_dkind absorbing = kind == EO_D_AND ? EO_D_FALSE : EO_D_TRUE;
    eo_dkind neutral = kind == EO_D_AND ? EO_D_TRUE : EO_D_FALSE;
    eo_vec kids = EO_VEC_INIT(eo_dnode *);
    eo_dnode *out = NULL, **k;
    size_t i, j, n, o;
    int folded;

    for (i = 0; i < nin; i++) {
        eo_dnode *x = in[i];
        if (x->kind == absorbing) {
            out = x;
            goto done;
        }
        if (x->kind == neutral)
            continue;
        if (x->kind == kind) {
            for (j = 0; j < x->nkids; j++)
                if (eo_vec__push(&kids, &x->kids[j]) != EO_OK)
                    goto oom;
        } else if (eo_vec__push(&kids, &x) != EO_OK) {
            goto oom;
        }
    }
    k = kids.items;
    n = kids.len;
    if (merge_sets(b, kind, k, n, &folded) != EO_OK)
        goto fail;
    if (folded) {
        out = mk(b, absorbing);
        goto checked;
    }
    if (merge_any(b, kind, k, n) != EO_OK)
        goto fail;
    /* simplify what the merges left, fold the constants that makes */
    for (i = 0, o = 0; i < n; i++) {
        eo_dnode *x = k[i];
        if (x == NULL)
            continue;
        if (tick(b))
            goto fail;
        if (x->kind == EO_D_LEAF && (x = simplify_leaf(b, x)) == NULL)
            goto oom;
        if (x->kind == absorbing) {
            out = x;
            goto done;
        }
        if (x->kind != neutral)
            k[o++] = x;
    }
    if ((n = dedupe(b, k, o)) == (size_t)-1)
        goto fail;
    if (n == 0) {
        out = mk(b, neutral);
    } else if (n == 1) {
        out = k[0];
    } else if ((out = mk(b, kind)) != NULL) {
        if ((out->kids = eo_arena__alloc(&b->d->arena, n * sizeof *out->kids)) == NULL) {
            out = NULL;
        } else {
            memcpy(out->kids, k, n * sizeof *out->kids);
            out->nkids = n;
        }
    }
checked:
    if (out == NULL)
        goto oom;
    goto done;
oom:
    b->rc = oom(b);
fail:
    out = NULL;
done:
    eo_vec__free(&kids);
    return out;
}

static eo_dnode *norm(binder *b, eo_dnode *n, int neg);

static eo_dnode *norm_nary(binder *b, eo_dnode *n, int neg)
{
    eo_dkind kind = n->kind == EO_D_AND ? (neg ? EO_D_OR : EO_D_AND)
                                        : (neg ? EO_D_AND : EO_D_OR);
    eo_dkind absorbing = kind == EO_D_AND ? EO_D_FALSE : EO_D_TRUE;
    eo_vec kids = EO_VEC_INIT(eo_dnode *);
    eo_dnode *out = NULL;
    size_t i;

    if (eo_vec__reserve(&kids, n->nkids) != EO_OK) {
        b->rc = oom(b);
        return NULL;
    }
    for (i = 0; i < n->nkids; i++) {
        eo_dnode *k = norm(b, n->kids[i], neg);
        if (k == NULL)
            goto done;
        if (k->kind == absorbing) {
            out = k;
            goto done;
        }
        eo_vec__push(&kids, &k); /* reserved */
    }
    out = combine(b, kind, kids.items, kids.len);
done:
    eo_vec__free(&kids);
    return out;
}

static eo_dnode *norm(binder *b, eo_dnode *n, int neg)
{
    if (tick(b))
        return NULL;
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
                return combine(b, EO_D_OR, x->kids, x->nkids);
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
    EO_ENTER();
    EO_REQUIRE(d);
    if (model == NULL)
        return eo_error__null(err, __func__, "model");
    memset(&b, 0, sizeof b);
    b.d = d;
    b.err = err;
    if (d->model != NULL) {
        if (d->model == model)
            return EO_OK;
        return eo_error_set(err, EO_EINVAL, "domain is already bound to %s, not %s",
                            d->model->name, model->name);
    }
    if ((root = with_active(&b, model, d->root)) == NULL)
        return oom(&b);
    if ((rc = bind_node(&b, model, root)) != EO_OK)
        return rc;
    root = norm(&b, root, 0);
    if (root == NULL)
        return b.rc ? b.rc : oom(&b);
    d->root = root;
    d->model = model;
    return EO_OK;
}

int eo_domain_set_active_test(eo_domain *d, int on, eo_error *err)
{
    EO_ENTER();
    EO_REQUIRE(d);
    d->active_test = on != 0;
    return EO_OK;
}
