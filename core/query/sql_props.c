/*
 * sql_props.c - domain leaves on one property of a Properties field.
 *
 * {"props.color", "=", "red"} compares the value of key "color" in the
 * JSON object the column holds. Both SQL backends compare as MongoDB does
 * on {"props.color": "red"}: a string equals only that string, a number
 * only an equal number (5 = 5.0), a boolean only that boolean, and null
 * (orm.null) matches a missing key. SQLite's json_extract gives JSON
 * true as 1, so numbers and booleans are told apart with json_type;
 * PostgreSQL compares jsonb values, which carry their type. Ordering
 * (<, <=, >, >=) applies to numbers and strings and matches only values
 * of the same kind (MongoDB's type bracketing); strings order by bytes
 * (COLLATE "C" on PostgreSQL). `!=` and `not in` match a missing key, as
 * on every other field.
 *
 * The property name and every value are bound parameters; bind.c admitted
 * only names of letters, digits and '_' and scalar values.
 */
#include <stdio.h>

#include "sql.h"

typedef struct pctx {
    eo_sqlq *q;
    const eo_field *f;
    eo_value key;           /* SQLite: '$.name'; PostgreSQL: 'name' */
    int pg;
} pctx;

static int p_oom(eo_error *err)
{
    return eo_error_set(err, EO_ENOMEM, "out of memory compiling a query");
}

static void col(pctx *c) { eo_sql__ident(&c->q->sql, c->f->column); }

static int key(pctx *c)
{
    return eo_sql__param(c->q, &c->key, NULL, EO_SQLP_RAW);
}

/* SQLite json_extract(col, '$.k') / PostgreSQL (col -> 'k') */
static int value_of(pctx *c)
{
    if (c->pg) {
        eo_buf__puts(&c->q->sql, "(");
        col(c);
        eo_buf__puts(&c->q->sql, " -> ");
        if (key(c))
            return EO_ENOMEM;
        return eo_buf__puts(&c->q->sql, "::text)");
    }
    eo_buf__puts(&c->q->sql, "json_extract(");
    col(c);
    eo_buf__puts(&c->q->sql, ", ");
    if (key(c))
        return EO_ENOMEM;
    return eo_buf__putc(&c->q->sql, ')');
}

/* the JSON type name of the property: json_type / jsonb_typeof */
static int type_of(pctx *c)
{
    eo_buf__puts(&c->q->sql, c->pg ? "jsonb_typeof" : "json_type(");
    if (c->pg)
        return value_of(c);
    col(c);
    eo_buf__puts(&c->q->sql, ", ");
    if (key(c))
        return EO_ENOMEM;
    return eo_buf__putc(&c->q->sql, ')');
}

/* the property is missing (or JSON null) */
static int is_null(pctx *c, int neg)
{
    if (c->pg) {
        eo_buf__puts(&c->q->sql, "COALESCE(");
        if (type_of(c))
            return EO_ENOMEM;
        return eo_buf__puts(&c->q->sql, neg ? ", 'null') <> 'null'" : ", 'null') = 'null'");
    }
    if (value_of(c))
        return EO_ENOMEM;
    return eo_buf__puts(&c->q->sql, neg ? " IS NOT NULL" : " IS NULL");
}

/* A value as JSON text (PostgreSQL compares jsonb). */
static int json_param(pctx *c, const eo_value *v)
{
    char buf[64];
    eo_buf b = EO_BUF_INIT;
    eo_value t;
    char *p;
    size_t i;
    switch (v->type) {
    case EO_VBOOL: snprintf(buf, sizeof buf, "%s", v->u.b ? "true" : "false"); break;
    case EO_VINT: snprintf(buf, sizeof buf, "%lld", (long long)v->u.i); break;
    case EO_VFLOAT: snprintf(buf, sizeof buf, "%.17g", v->u.f); break;
    default:
        eo_buf__putc(&b, '"');
        for (i = 0; i < v->u.s.n; i++) {
            unsigned char ch = (unsigned char)v->u.s.p[i];
            if (ch == '"' || ch == '\\')
                eo_buf__printf(&b, "\\%c", ch);
            else if (ch < 0x20)
                eo_buf__printf(&b, "\\u%04x", ch);
            else
                eo_buf__putc(&b, (char)ch);
        }
        eo_buf__putc(&b, '"');
        if (b.oom) {
            eo_buf__free(&b);
            return EO_ENOMEM;
        }
        p = eo_arena__strndup(&c->q->arena, b.p, b.len);
        t = eo_text(p, b.len);
        eo_buf__free(&b);
        if (p == NULL)
            return EO_ENOMEM;
        if (eo_sql__param(c->q, &t, NULL, EO_SQLP_RAW))
            return EO_ENOMEM;
        return eo_buf__puts(&c->q->sql, "::jsonb");
    }
    p = eo_arena__strndup(&c->q->arena, buf, strlen(buf));
    if (p == NULL)
        return EO_ENOMEM;
    t = eo_text(p, strlen(p));
    if (eo_sql__param(c->q, &t, NULL, EO_SQLP_RAW))
        return EO_ENOMEM;
    return eo_buf__puts(&c->q->sql, "::jsonb");
}

/* the property compared with the non-NULL value v by cmp (" = ", " > ", ...) */
static int term(pctx *c, const char *cmp, const eo_value *v)
{
    eo_sqlq *q = c->q;
    int num = v->type == EO_VINT || v->type == EO_VFLOAT;
    if (v->type == EO_VBOOL && !c->pg) {
        if (type_of(c))
            return EO_ENOMEM;
        return eo_buf__puts(&q->sql, v->u.b ? " = 'true'" : " = 'false'");
    }
    if (c->pg && strcmp(cmp, " = ") == 0) {
        if (value_of(c))
            return EO_ENOMEM;
        eo_buf__puts(&q->sql, " = ");
        return json_param(c, v);
    }
    /* SQLite numbers (json true reads as 1), and ordering on both */
    eo_buf__putc(&q->sql, '(');
    if (type_of(c))
        return EO_ENOMEM;
    if (c->pg)
        eo_buf__puts(&q->sql, num ? " = 'number' AND " : " = 'string' AND ");
    else
        eo_buf__puts(&q->sql, num ? " IN ('integer', 'real') AND " : " = 'text' AND ");
    if (c->pg && num) {
        if (value_of(c))
            return EO_ENOMEM;
        eo_buf__puts(&q->sql, cmp);
        if (json_param(c, v))
            return EO_ENOMEM;
    } else if (c->pg) {
        eo_buf__puts(&q->sql, "(");
        col(c);
        eo_buf__puts(&q->sql, " ->> ");
        if (key(c))
            return EO_ENOMEM;
        eo_buf__puts(&q->sql, "::text) COLLATE \"C\"");
        eo_buf__puts(&q->sql, cmp);
        if (eo_sql__param(q, v, NULL, EO_SQLP_RAW))
            return EO_ENOMEM;
        eo_buf__puts(&q->sql, "::text COLLATE \"C\"");
    } else {
        if (value_of(c))
            return EO_ENOMEM;
        eo_buf__puts(&q->sql, cmp);
        if (eo_sql__param(q, v, NULL, EO_SQLP_RAW))
            return EO_ENOMEM;
    }
    return eo_buf__putc(&q->sql, ')');
}

/* the property equal to one of vals (NULL: missing); neg: to none of them */
static int set(pctx *c, const eo_value *vals, size_t n, int neg)
{
    eo_sqlq *q = c->q;
    size_t i, k = 0;
    int has_null = 0;
    for (i = 0; i < n; i++)
        has_null |= vals[i].type == EO_VNULL;
    if (n == 0)
        return eo_buf__puts(&q->sql, neg ? "1=1" : "1=0");
    eo_buf__puts(&q->sql, neg ? "(NOT (" : "(");
    for (i = 0; i < n; i++) {
        if (vals[i].type == EO_VNULL)
            continue;
        if (k++)
            eo_buf__puts(&q->sql, " OR ");
        if (term(c, " = ", &vals[i]))
            return EO_ENOMEM;
    }
    if (k == 0)
        eo_buf__puts(&q->sql, "1=0");
    if (!neg) {
        if (has_null) {
            eo_buf__puts(&q->sql, " OR ");
            if (is_null(c, 0))
                return EO_ENOMEM;
        }
        return eo_buf__putc(&q->sql, ')');
    }
    /* a missing property is "none of them" unless null is listed */
    eo_buf__puts(&q->sql, has_null ? ") AND " : ") OR ");
    if (is_null(c, has_null))
        return EO_ENOMEM;
    return eo_buf__putc(&q->sql, ')');
}

int eo_sql__property_leaf(eo_sqlq *q, const eo_dnode *n, eo_error *err)
{
    static const char *const cmp[] = { " = ", " != ", " > ", " >= ", " < ", " <= " };
    const char *name = strchr(n->path, '.') + 1;
    char path[80];
    pctx c;
    int rc;
    c.q = q;
    c.f = n->field;
    c.pg = q->d->dollar_params;
    snprintf(path, sizeof path, "%s%s", c.pg ? "" : "$.", name);
    c.key = eo_text(eo_arena__strndup(&q->arena, path, strlen(path)), strlen(path));
    if (c.key.u.s.p == NULL)
        return p_oom(err);
    switch (n->op) {
    case EO_OP_EQ:
    case EO_OP_NE:
        rc = n->value.type == EO_VNULL ? is_null(&c, n->op == EO_OP_NE)
                                       : set(&c, &n->value, 1, n->op == EO_OP_NE);
        break;
    case EO_OP_IN:
    case EO_OP_NOT_IN: rc = set(&c, n->list, n->nlist, n->op == EO_OP_NOT_IN); break;
    case EO_OP_GT:
    case EO_OP_GE:
    case EO_OP_LT:
    case EO_OP_LE: rc = term(&c, cmp[n->op], &n->value); break;
    default:
        return eo_error_set(err, EO_EINVAL, "operator '%s' does not apply to a property",
                            eo_dop_name(n->op));
    }
    return rc || q->sql.oom ? p_oom(err) : EO_OK;
}
