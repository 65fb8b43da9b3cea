/*
 * sql.c - compiling queries to SQL text with bound parameters.
 *
 * Shared by the SQL adapters; a dialect struct says where they differ
 * (placeholders, ILIKE, long lists, NULL ordering). Every value becomes a
 * parameter; identifiers come from the registry, which only admits
 * [A-Za-z0-9_] names, and are quoted anyway.
 *
 * Semantics every backend shares (MongoDB's compiler matches them):
 *   - `!=`, `not in`, `not like` match NULL (two-valued logic, as Odoo);
 *   - `like`/`ilike` are Odoo's: the value is wrapped in %...% and % and _
 *     inside it stay wildcards; `=like`/`=ilike` take the value as the
 *     whole pattern; in both a backslash makes the next character literal
 *     (orm.like_escape / eo_like_escape quote user input);
 *   - NULL sorts as the smallest value.
 *
 * AND and OR of many terms are written as balanced trees of parentheses,
 * so the expression the server parses is log2(n) deep, not n (SQLite
 * refuses expressions deeper than 1000). A statement that would bind more
 * parameters than the server takes, or a LIKE pattern longer than it
 * takes, is refused here with EO_ELIMIT naming the limit.
 */
#include <stdio.h>

#include "sql.h"

/*
 * max_params is ours, below what the servers accept (SQLite 32,766,
 * PostgreSQL 65,535): preparing a statement with many distinct parameters
 * takes super-linear time in both (measured on SQLite 3.40: 8,000 take
 * 0.6-1 s to prepare, 32,000 take 10-25 s; PostgreSQL 15: 16,000 take
 * 0.2 s, 20,000 take 5 s), and neither can be interrupted while it
 * prepares. Lists of values never count: they go as one parameter.
 */
const eo_sql_dialect eo_sql__sqlite = {
    "sqlite", 0, 0, 1, 1, 0, 0, 0, "1", "0",
    5000,  /* parameters per statement (see above) */
    50000, /* SQLITE_MAX_LIKE_PATTERN_LENGTH */
    1,     /* Decimal columns hold scaled integers */
};

const eo_sql_dialect eo_sql__postgres = {
    "postgresql", 1, 1, 0, 0, 1, 1, 1, "TRUE", "FALSE",
    10000, /* parameters per statement (see above) */
    0,     /* no pattern length limit */
    0,     /* numeric columns */
};

void eo_sqlq__init(eo_sqlq *q, const eo_sql_dialect *d)
{
    memset(q, 0, sizeof *q);
    q->params.isize = sizeof(eo_sqlparam);
    q->d = d;
}

void eo_sqlq__free(eo_sqlq *q)
{
    eo_buf__free(&q->sql);
    eo_vec__free(&q->params);
    eo_arena__free(&q->arena);
}

void eo_sqlq__reset(eo_sqlq *q)
{
    eo_buf__reset(&q->sql);
    q->params.len = 0;
    eo_arena__free(&q->arena);
}

int eo_sql__ident(eo_buf *b, const char *name)
{
    const char *p;
    eo_buf__putc(b, '"');
    for (p = name; *p; p++) {
        if (*p == '"')
            eo_buf__putc(b, '"');
        eo_buf__putc(b, *p);
    }
    return eo_buf__putc(b, '"');
}

int eo_sql__param(eo_sqlq *q, const eo_value *v, const eo_field *f, eo_sqlp_kind kind)
{
    eo_sqlparam p;
    p.v = *v;
    p.field = f;
    p.kind = kind;
    if (eo_vec__push(&q->params, &p) != EO_OK)
        return EO_ENOMEM;
    if (q->d->dollar_params)
        return eo_buf__printf(&q->sql, "$%zu", q->params.len);
    return eo_buf__putc(&q->sql, '?');
}

static int oom(eo_error *err)
{
    return eo_error_set(err, EO_ENOMEM, "out of memory compiling a query");
}

static int where_node(eo_sqlq *q, const eo_model *m, const eo_dnode *n, eo_error *err);

static void col(eo_sqlq *q, const eo_field *f)
{
    if (f->model && f->model->embedded) {
        eo_sql__sub_col(q, f);
        return;
    }
    eo_sql__ident(&q->sql, f->column ? f->column : f->name);
}

/*
 * Append one parameter holding every value: a JSON array for json_each
 * (SQLite) or an array literal for = ANY (PostgreSQL). Values are the
 * field's canonical ones (binding converted them); Decimal text becomes
 * the scaled integer where the column holds one.
 */
static int json_list(eo_sqlq *q, const eo_value *vals, size_t n, const eo_field *f)
{
    eo_buf b = EO_BUF_INIT;
    size_t i, k;
    char *p;
    eo_value v;
    int64_t scaled;
    eo_buf__putc(&b, q->d->any_array ? '{' : '[');
    for (i = 0; i < n; i++) {
        const eo_value *x = &vals[i];
        if (i)
            eo_buf__putc(&b, ',');
        if (eo_ftype_base(f->type) == EO_FT_DECIMAL && q->d->decimal_scaled &&
            x->type == EO_VTEXT &&
            eo_decimal__to_scaled(x->u.s.p, x->u.s.n, f->scale, &scaled) == 0) {
            eo_buf__put_int(&b, scaled);
            continue;
        }
        switch (x->type) {
        case EO_VINT: eo_buf__put_int(&b, x->u.i); break;
        case EO_VFLOAT: eo_buf__printf(&b, "%.17g", x->u.f); break;
        case EO_VBOOL:
            if (q->d->any_array)
                eo_buf__puts(&b, x->u.b ? "t" : "f");
            else
                eo_buf__puts(&b, x->u.b ? "1" : "0");
            break;
        case EO_VTEXT:
            eo_buf__putc(&b, '"');
            for (k = 0; k < x->u.s.n; k++) {
                unsigned char c = (unsigned char)x->u.s.p[k];
                if (c == '"' || c == '\\')
                    eo_buf__printf(&b, "\\%c", c);
                else if (c < 0x20 && !q->d->any_array)
                    eo_buf__printf(&b, "\\u%04x", c);
                else
                    eo_buf__putc(&b, (char)c);
            }
            eo_buf__putc(&b, '"');
            break;
        default: eo_buf__puts(&b, q->d->any_array ? "NULL" : "null"); break;
        }
    }
    eo_buf__putc(&b, q->d->any_array ? '}' : ']');
    if (b.oom) {
        eo_buf__free(&b);
        return EO_ENOMEM;
    }
    p = eo_arena__strndup(&q->arena, b.p, b.len);
    v = eo_text(p, b.len);
    eo_buf__free(&b);
    if (p == NULL)
        return EO_ENOMEM;
    return eo_sql__param(q, &v, f, EO_SQLP_LIST);
}

/*
 * The array type a long list of f's values binds as on PostgreSQL (and,
 * not NULL, that the list can go as one parameter at all). Json and
 * Binary values compare as wholes: they keep one parameter each.
 */
static const char *list_type(const eo_field *f)
{
    switch (eo_ftype_base(f->type)) {
    case EO_FT_ID:
    case EO_FT_MANY2ONE:
    case EO_FT_INTEGER: return "::bigint[]";
    case EO_FT_CHAR:
    case EO_FT_TEXT:
    case EO_FT_SELECTION: return "::text[]";
    case EO_FT_FLOAT: return "::float8[]";
    case EO_FT_DECIMAL: return "::numeric[]";
    case EO_FT_DATE: return "::date[]";
    case EO_FT_DATETIME: return "::timestamptz[]";
    case EO_FT_BOOLEAN: return "::boolean[]";
    default: return NULL;
    }
}

/* col IN (...) over non-NULL values; long lists through one parameter */
static int in_list(eo_sqlq *q, const eo_field *f, const eo_value *vals, size_t n, int neg)
{
    size_t i;
    const char *type = list_type(f);
    int big = n > 32 && type != NULL;
    if (big && q->d->any_array) {
        /* PostgreSQL: [NOT] (col = ANY($n::bigint[])) */
        eo_buf__puts(&q->sql, neg ? "NOT (" : "(");
        col(q, f);
        eo_buf__puts(&q->sql, " = ANY(");
        if (json_list(q, vals, n, f) != EO_OK)
            return EO_ENOMEM;
        eo_buf__puts(&q->sql, type);
        return eo_buf__puts(&q->sql, "))");
    }
    col(q, f);
    eo_buf__puts(&q->sql, neg ? " NOT IN (" : " IN (");
    if (big && q->d->json_each) {
        eo_buf__puts(&q->sql, "SELECT value FROM json_each(");
        if (json_list(q, vals, n, f) != EO_OK)
            return EO_ENOMEM;
        eo_buf__putc(&q->sql, ')');
    } else {
        for (i = 0; i < n; i++) {
            if (i)
                eo_buf__puts(&q->sql, ", ");
            if (eo_sql__param(q, &vals[i], f, EO_SQLP_FIELD) != EO_OK)
                return EO_ENOMEM;
        }
    }
    return eo_buf__putc(&q->sql, ')');
}

int eo_sql__ids_in(eo_sqlq *q, const eo_model *m, const eo_id *ids, size_t n,
                   eo_idkind kind, eo_error *err)
{
    eo_value *vals;
    char (*hex)[25] = NULL;
    size_t i;
    vals = eo_arena__alloc(&q->arena, (n ? n : 1) * sizeof *vals);
    if (kind == EO_IDOID)
        hex = eo_arena__alloc(&q->arena, (n ? n : 1) * sizeof *hex);
    if (vals == NULL || (kind == EO_IDOID && hex == NULL))
        return oom(err);
    for (i = 0; i < n; i++)
        vals[i] = eo_id_to_value(ids[i], kind, hex ? hex[i] : NULL);
    if (n == 0)
        return eo_buf__puts(&q->sql, "1=0") ? oom(err) : EO_OK;
    if (in_list(q, m->fields[0], vals, n, 0) != EO_OK)
        return oom(err);
    return q->sql.oom ? oom(err) : EO_OK;
}

int eo_sql__update_each(eo_sqlq *q, const eo_model *m, const eo_id *ids, size_t n,
                        const eo_field *f, const eo_value *vals, const char *cast,
                        eo_error *err)
{
    const eo_field *idf = m->fields[0];
    size_t i;
    if (f->column == NULL)
        return eo_error_set(err, EO_EINVAL, "%s.%s: not a column", m->name, f->name);
    eo_buf__puts(&q->sql, "UPDATE ");
    eo_sql__ident(&q->sql, m->table);
    eo_buf__puts(&q->sql, " SET ");
    eo_sql__ident(&q->sql, f->column);
    eo_buf__puts(&q->sql, " = v.column2 FROM (VALUES ");
    for (i = 0; i < n; i++) {
        eo_value idv = eo_int(ids[i].num);
        eo_buf__puts(&q->sql, i ? ", (" : "(");
        if (eo_sql__param(q, &idv, idf, EO_SQLP_FIELD) != EO_OK)
            return oom(err);
        if (i == 0 && cast)
            eo_buf__puts(&q->sql, "::bigint");
        eo_buf__puts(&q->sql, ", ");
        if (eo_sql__param(q, &vals[i], f, EO_SQLP_FIELD) != EO_OK)
            return oom(err);
        if (i == 0 && cast)
            eo_buf__printf(&q->sql, "::%s", cast);
        eo_buf__putc(&q->sql, ')');
    }
    eo_buf__puts(&q->sql, ") AS v WHERE ");
    eo_sql__ident(&q->sql, m->table);
    eo_buf__putc(&q->sql, '.');
    eo_sql__ident(&q->sql, idf->column);
    eo_buf__puts(&q->sql, " = v.column1");
    return q->sql.oom ? oom(err) : EO_OK;
}

int eo_sql__and_equal(eo_sqlq *q, const eo_field *f, const eo_value *v, eo_error *err)
{
    eo_buf__puts(&q->sql, " AND ");
    col(q, f);
    if (v == NULL || v->type == EO_VNULL) {
        eo_buf__puts(&q->sql, " IS NULL");
    } else {
        eo_buf__puts(&q->sql, " = ");
        if (eo_sql__param(q, v, f, EO_SQLP_FIELD) != EO_OK)
            return oom(err);
    }
    return q->sql.oom ? oom(err) : EO_OK;
}

/*
 * The parameter of a like leaf: Odoo's semantics (see the file comment),
 * in the server's syntax. For LIKE the user's pattern goes as it is, with
 * ESCAPE '\\' (a lone backslash at the end is literal); for GLOB (SQLite's
 * case-sensitive match) % and _ become * and ?, and GLOB's own *, ? and [
 * are bracketed. EO_ELIMIT past the dialect's pattern length.
 */
static int like_pattern(eo_sqlq *q, const eo_dnode *n, int glob, int exact, eo_error *err)
{
    const eo_value *v = &n->value;
    eo_buf b = EO_BUF_INIT;
    size_t i;
    char *p;
    eo_value pv;
    if (!exact)
        eo_buf__putc(&b, glob ? '*' : '%');
    for (i = 0; i < v->u.s.n; i++) {
        char c = v->u.s.p[i];
        if (c == '\\') {
            /* the next character is literal; a lone one at the end is itself */
            char x = i + 1 < v->u.s.n ? v->u.s.p[++i] : '\\';
            if (!glob)
                eo_buf__putc(&b, '\\');
            if (glob && (x == '*' || x == '?' || x == '['))
                eo_buf__printf(&b, "[%c]", x);
            else
                eo_buf__putc(&b, x);
        } else if (glob && c == '%') {
            eo_buf__putc(&b, '*');
        } else if (glob && c == '_') {
            eo_buf__putc(&b, '?');
        } else if (glob && (c == '*' || c == '?' || c == '[')) {
            eo_buf__printf(&b, "[%c]", c);
        } else {
            eo_buf__putc(&b, c);
        }
    }
    if (!exact)
        eo_buf__putc(&b, glob ? '*' : '%');
    if (b.oom) {
        eo_buf__free(&b);
        return oom(err);
    }
    if (q->d->max_like && b.len > q->d->max_like) {
        size_t len = b.len;
        eo_buf__free(&b);
        eo_error_set(err, EO_ELIMIT,
                     "%s: the '%s' pattern on '%s' is %zu bytes; %s takes patterns up to %zu bytes",
                     n->field->model->name, eo_dop_name(n->op), n->field->name, len, q->d->name,
                     q->d->max_like);
        eo_error_where(err, n->field->model->name, n->field->name);
        return EO_ELIMIT;
    }
    p = eo_arena__strndup(&q->arena, b.p ? b.p : "", b.len);
    pv = eo_text(p, b.len);
    eo_buf__free(&b);
    if (p == NULL || eo_sql__param(q, &pv, NULL, EO_SQLP_RAW) != EO_OK)
        return oom(err);
    return EO_OK;
}

static void like_col(eo_sqlq *q, const eo_field *f, int lower)
{
    if (lower)
        eo_buf__puts(&q->sql, "lower(");
    col(q, f);
    if (q->d->cast_like && eo_ftype_base(f->type) != EO_FT_CHAR &&
        eo_ftype_base(f->type) != EO_FT_TEXT && f->type != EO_FT_SELECTION)
        eo_buf__puts(&q->sql, "::text");
    if (lower)
        eo_buf__putc(&q->sql, ')');
}

static int like(eo_sqlq *q, const eo_dnode *n, eo_error *err)
{
    const eo_field *f = n->field;
    int ci = n->op == EO_OP_ILIKE || n->op == EO_OP_NOT_ILIKE || n->op == EO_OP_EQILIKE;
    int neg = n->op == EO_OP_NOT_LIKE || n->op == EO_OP_NOT_ILIKE;
    int exact = n->op == EO_OP_EQLIKE || n->op == EO_OP_EQILIKE;
    int glob = !ci && q->d->glob;
    int lower = ci && !q->d->ilike;
    int rc;
    if (neg)
        eo_buf__putc(&q->sql, '(');
    like_col(q, f, lower);
    if (neg)
        eo_buf__puts(&q->sql, " NOT");
    if (glob)
        eo_buf__puts(&q->sql, " GLOB ");
    else if (ci && q->d->ilike)
        eo_buf__puts(&q->sql, " ILIKE ");
    else
        eo_buf__puts(&q->sql, " LIKE ");
    if (lower)
        eo_buf__puts(&q->sql, "lower(");
    if ((rc = like_pattern(q, n, glob, exact, err)) != EO_OK)
        return rc;
    if (lower)
        eo_buf__putc(&q->sql, ')');
    if (!glob)
        eo_buf__puts(&q->sql, " ESCAPE '\\'");
    if (neg) {
        eo_buf__puts(&q->sql, " OR ");
        col(q, f);
        eo_buf__puts(&q->sql, " IS NULL)");
    }
    return EO_OK;
}

static int leaf_set(eo_sqlq *q, const eo_dnode *n, int neg)
{
    /* in / not in with a possible NULL among the values */
    const eo_field *f = n->field;
    eo_value *vals = n->list;
    size_t nv = n->nlist, i, k = 0;
    int has_null = 0;
    eo_value *nn;
    if (nv == 0) /* an empty list was resolved late (child_of): constant */
        return eo_buf__puts(&q->sql, neg ? "1=1" : "1=0");
    nn = eo_arena__alloc(&q->arena, nv * sizeof *nn);
    if (nn == NULL)
        return EO_ENOMEM;
    for (i = 0; i < nv; i++) {
        if (vals[i].type == EO_VNULL)
            has_null = 1;
        else
            nn[k++] = vals[i];
    }
    if (!neg) {
        if (k == 0)
            goto isnull;
        if (has_null)
            eo_buf__putc(&q->sql, '(');
        if (in_list(q, f, nn, k, 0) != EO_OK)
            return EO_ENOMEM;
        if (has_null) {
            eo_buf__puts(&q->sql, " OR ");
            goto isnull_close;
        }
        return EO_OK;
    }
    /* not in: NULL passes unless NULL is listed */
    if (k == 0) {
        col(q, f);
        return eo_buf__puts(&q->sql, " IS NOT NULL");
    }
    eo_buf__putc(&q->sql, '(');
    if (in_list(q, f, nn, k, 1) != EO_OK)
        return EO_ENOMEM;
    if (has_null) {
        eo_buf__puts(&q->sql, " AND ");
        col(q, f);
        return eo_buf__puts(&q->sql, " IS NOT NULL)");
    }
    eo_buf__puts(&q->sql, " OR ");
    col(q, f);
    return eo_buf__puts(&q->sql, " IS NULL)");
isnull:
    col(q, f);
    return eo_buf__puts(&q->sql, " IS NULL");
isnull_close:
    col(q, f);
    return eo_buf__puts(&q->sql, " IS NULL)");
}

static int any_sub(eo_sqlq *q, const eo_dnode *n, eo_error *err)
{
    const eo_field *f = n->field;
    const eo_model *cm = f->comodel;
    int neg = n->op == EO_OP_NOT_ANY;
    int rc;
    switch (f->type) {
    case EO_FT_MANY2ONE:
        if (neg) {
            eo_buf__putc(&q->sql, '(');
            col(q, f);
            eo_buf__puts(&q->sql, " IS NULL OR ");
        }
        col(q, f);
        eo_buf__puts(&q->sql, neg ? " NOT IN (SELECT " : " IN (SELECT ");
        eo_sql__ident(&q->sql, "id");
        eo_buf__puts(&q->sql, " FROM ");
        eo_sql__ident(&q->sql, cm->table);
        eo_buf__puts(&q->sql, " WHERE ");
        if ((rc = where_node(q, cm, n->sub, err)) != EO_OK)
            return rc;
        eo_buf__puts(&q->sql, neg ? "))" : ")");
        return EO_OK;
    case EO_FT_ONE2MANY: {
        const eo_field *inv = eo_model_field(cm, f->inverse, strlen(f->inverse));
        eo_sql__ident(&q->sql, "id");
        eo_buf__puts(&q->sql, neg ? " NOT IN (SELECT " : " IN (SELECT ");
        col(q, inv);
        eo_buf__puts(&q->sql, " FROM ");
        eo_sql__ident(&q->sql, cm->table);
        eo_buf__puts(&q->sql, " WHERE ");
        col(q, inv);
        eo_buf__puts(&q->sql, " IS NOT NULL AND (");
        if ((rc = where_node(q, cm, n->sub, err)) != EO_OK)
            return rc;
        eo_buf__puts(&q->sql, "))");
        return EO_OK;
    }
    case EO_FT_MANY2MANY:
        eo_sql__ident(&q->sql, "id");
        eo_buf__puts(&q->sql, neg ? " NOT IN (SELECT " : " IN (SELECT ");
        eo_sql__ident(&q->sql, f->column1);
        eo_buf__puts(&q->sql, " FROM ");
        eo_sql__ident(&q->sql, f->relation);
        eo_buf__puts(&q->sql, " WHERE ");
        eo_sql__ident(&q->sql, f->column2);
        eo_buf__puts(&q->sql, " IN (SELECT ");
        eo_sql__ident(&q->sql, "id");
        eo_buf__puts(&q->sql, " FROM ");
        eo_sql__ident(&q->sql, cm->table);
        eo_buf__puts(&q->sql, " WHERE ");
        if ((rc = where_node(q, cm, n->sub, err)) != EO_OK)
            return rc;
        eo_buf__puts(&q->sql, "))");
        return EO_OK;
    case EO_FT_EMBEDDED:
    case EO_FT_LIST:
        return eo_sql__embedded_any(q, n, err);
    default:
        return eo_error_set(err, EO_EINVAL, "'any' on a non-relational field");
    }
}

static int leaf(eo_sqlq *q, const eo_dnode *n, eo_error *err)
{
    const eo_field *f = n->field;
    static const char *const cmp[] = { " = ", " != ", " > ", " >= ", " < ", " <= " };
    if (f == NULL)
        return eo_error_set(err, EO_EINVAL, "domain leaf on '%s' is not bound", n->path);
    if (f->type == EO_FT_PROPERTIES && strchr(n->path, '.'))
        return eo_sql__property_leaf(q, n, err);
    switch (n->op) {
    case EO_OP_EQ:
    case EO_OP_NE:
        if (n->value.type == EO_VNULL) {
            col(q, f);
            return eo_buf__puts(&q->sql, n->op == EO_OP_EQ ? " IS NULL" : " IS NOT NULL")
                       ? oom(err) : EO_OK;
        }
        if (n->op == EO_OP_NE)
            eo_buf__putc(&q->sql, '(');
        col(q, f);
        eo_buf__puts(&q->sql, cmp[n->op]);
        if (eo_sql__param(q, &n->value, f, EO_SQLP_FIELD) != EO_OK)
            return oom(err);
        if (n->op == EO_OP_NE) {
            eo_buf__puts(&q->sql, " OR ");
            col(q, f);
            eo_buf__puts(&q->sql, " IS NULL)");
        }
        return EO_OK;
    case EO_OP_GT:
    case EO_OP_GE:
    case EO_OP_LT:
    case EO_OP_LE:
        col(q, f);
        eo_buf__puts(&q->sql, cmp[n->op]);
        return eo_sql__param(q, &n->value, f, EO_SQLP_FIELD) ? oom(err) : EO_OK;
    case EO_OP_IN:
    case EO_OP_NOT_IN:
        return leaf_set(q, n, n->op == EO_OP_NOT_IN) ? oom(err) : EO_OK;
    case EO_OP_LIKE:
    case EO_OP_ILIKE:
    case EO_OP_NOT_LIKE:
    case EO_OP_NOT_ILIKE:
    case EO_OP_EQLIKE:
    case EO_OP_EQILIKE:
        return like(q, n, err);
    case EO_OP_ANY:
    case EO_OP_NOT_ANY:
        return any_sub(q, n, err);
    default:
        return eo_error_set(err, EO_EINVAL,
                            "operator '%s' must be resolved before compiling", eo_dop_name(n->op));
    }
}

/*
 * kids[lo..hi) joined by AND/OR, in parentheses: up to four in a row,
 * more as a balanced tree of such groups ((a OR b OR c) OR (d OR e OR f)),
 * so a node of n kids adds about log2(n) levels to the expression.
 */
static int join(eo_sqlq *q, const eo_model *m, const eo_dnode *n, size_t lo, size_t hi,
                eo_error *err)
{
    size_t mid, i;
    int rc;
    if (hi - lo <= 4) {
        eo_buf__putc(&q->sql, '(');
        for (i = lo; i < hi; i++) {
            if (i > lo)
                eo_buf__puts(&q->sql, n->kind == EO_D_AND ? " AND " : " OR ");
            if ((rc = where_node(q, m, n->kids[i], err)) != EO_OK)
                return rc;
        }
        return eo_buf__putc(&q->sql, ')') ? oom(err) : EO_OK;
    }
    mid = lo + (hi - lo) / 2;
    eo_buf__putc(&q->sql, '(');
    if ((rc = join(q, m, n, lo, mid, err)) != EO_OK)
        return rc;
    eo_buf__puts(&q->sql, n->kind == EO_D_AND ? " AND " : " OR ");
    if ((rc = join(q, m, n, mid, hi, err)) != EO_OK)
        return rc;
    return eo_buf__putc(&q->sql, ')') ? oom(err) : EO_OK;
}

static int where_node(eo_sqlq *q, const eo_model *m, const eo_dnode *n, eo_error *err)
{
    int rc;
    switch (n->kind) {
    case EO_D_TRUE: eo_buf__puts(&q->sql, "1=1"); break;
    case EO_D_FALSE: eo_buf__puts(&q->sql, "1=0"); break;
    case EO_D_LEAF:
        if ((rc = leaf(q, n, err)) != EO_OK)
            return rc;
        break;
    case EO_D_NOT:
        /* NOT over a leaf that could be NULL: NULL counts as "not matching" */
        eo_buf__puts(&q->sql, "NOT COALESCE((");
        if ((rc = where_node(q, m, n->kids[0], err)) != EO_OK)
            return rc;
        eo_buf__printf(&q->sql, "), %s)", q->d->lit_false);
        break;
    case EO_D_AND:
    case EO_D_OR:
        if (n->nkids == 0) {
            eo_buf__puts(&q->sql, n->kind == EO_D_AND ? "1=1" : "1=0");
            break;
        }
        if ((rc = join(q, m, n, 0, n->nkids, err)) != EO_OK)
            return rc;
        break;
    }
    return q->sql.oom ? oom(err) : EO_OK;
}

/* EO_ELIMIT when the statement binds more parameters than we send (see the dialects). */
static int check_params(const eo_sqlq *q, const eo_model *m, eo_error *err)
{
    if (q->d->max_params == 0 || q->params.len <= q->d->max_params)
        return EO_OK;
    eo_error_set(err, EO_ELIMIT,
                 "%s: the query needs %zu parameters; at most %zu go to %s in one statement "
                 "(lists of values count as one: merge '=' leaves on one field into an 'in' "
                 "list, or split the domain)",
                 m ? m->name : "query", q->params.len, q->d->max_params, q->d->name);
    eo_error_where(err, m ? m->name : NULL, NULL);
    return EO_ELIMIT;
}

int eo_sql__where(eo_sqlq *q, const eo_model *m, const eo_dnode *n, eo_error *err)
{
    int rc = where_node(q, m, n, err);
    return rc != EO_OK ? rc : check_params(q, m, err);
}

static int where_clause(eo_sqlq *q, const eo_model *m, const eo_domain *d, eo_error *err)
{
    if (d == NULL || eo_domain_is_true(d))
        return EO_OK;
    eo_buf__puts(&q->sql, " WHERE ");
    return eo_sql__where(q, m, eo_domain_root(d), err);
}

/* "eo_o<term>_<step>"."<column>" */
static void alias_col(eo_sqlq *q, size_t term, size_t step, const eo_field *f)
{
    eo_buf__printf(&q->sql, "\"eo_o%zu_%zu\".", term, step);
    col(q, f);
}

/*
 * An order term on a Many2one path ("partner_id.name") as a correlated
 * subquery: the value at the end of the path, NULL where a step is empty.
 *   (SELECT "eo_o0_1"."name" FROM "res_partner" AS "eo_o0_0"
 *      JOIN "res_country" AS "eo_o0_1" ON "eo_o0_1"."id" = "eo_o0_0"."country_id"
 *    WHERE "eo_o0_0"."id" = "res_users"."partner_id")
 * The aliases keep the model's own table (self-references) apart.
 */
static void path_term(eo_sqlq *q, const eo_model *m, size_t term, const eo_order_item *o)
{
    size_t k;
    eo_buf__puts(&q->sql, "(SELECT ");
    alias_col(q, term, o->nvia - 1, o->field);
    eo_buf__puts(&q->sql, " FROM ");
    for (k = 0; k < o->nvia; k++) {
        const eo_model *cm = o->via[k]->comodel;
        if (k)
            eo_buf__puts(&q->sql, " JOIN ");
        eo_sql__ident(&q->sql, cm->table);
        eo_buf__printf(&q->sql, " AS \"eo_o%zu_%zu\"", term, k);
        if (k) {
            eo_buf__puts(&q->sql, " ON ");
            alias_col(q, term, k, cm->fields[0]);
            eo_buf__puts(&q->sql, " = ");
            alias_col(q, term, k - 1, o->via[k]);
        }
    }
    eo_buf__puts(&q->sql, " WHERE ");
    alias_col(q, term, 0, o->via[0]->comodel->fields[0]);
    eo_buf__puts(&q->sql, " = ");
    eo_sql__ident(&q->sql, m->table);
    eo_buf__putc(&q->sql, '.');
    col(q, o->via[0]);
    eo_buf__putc(&q->sql, ')');
}

/* An order term on a sub-field of an Embedded field ("address.city"): the
 * JSON extraction a domain on it uses, over the field's column. */
static void sub_term(eo_sqlq *q, const eo_order_item *o)
{
    const char *saved = q->jbase;
    eo_buf base = EO_BUF_INIT;
    eo_sql__ident(&base, o->field->column ? o->field->column : o->field->name);
    if (base.oom || (q->jbase = eo_arena__strndup(&q->arena, base.p, base.len)) == NULL) {
        q->sql.oom = 1;
        q->jbase = saved;
        eo_buf__free(&base);
        return;
    }
    eo_buf__free(&base);
    eo_sql__sub_col(q, o->sub);
    q->jbase = saved;
}

static void order_by(eo_sqlq *q, const eo_model *m, const eo_order_item *o, size_t n)
{
    size_t i;
    if (n == 0)
        return;
    eo_buf__puts(&q->sql, " ORDER BY ");
    for (i = 0; i < n; i++) {
        if (i)
            eo_buf__puts(&q->sql, ", ");
        if (o[i].nvia > 0)
            path_term(q, m, i, &o[i]);
        else if (o[i].sub != NULL)
            sub_term(q, &o[i]);
        else
            col(q, o[i].field);
        eo_buf__puts(&q->sql, o[i].desc ? " DESC" : " ASC");
        if (q->d->nulls_first_kw)
            eo_buf__puts(&q->sql, o[i].desc ? " NULLS LAST" : " NULLS FIRST");
    }
}

static int window(eo_sqlq *q, int64_t limit, int64_t offset)
{
    eo_value v;
    if (limit >= 0) {
        eo_buf__puts(&q->sql, " LIMIT ");
        v = eo_int(limit);
        if (eo_sql__param(q, &v, NULL, EO_SQLP_RAW) != EO_OK)
            return EO_ENOMEM;
    } else if (offset > 0 && !q->d->dollar_params) {
        eo_buf__puts(&q->sql, " LIMIT -1"); /* SQLite needs LIMIT before OFFSET */
    }
    if (offset > 0) {
        eo_buf__puts(&q->sql, " OFFSET ");
        v = eo_int(offset);
        if (eo_sql__param(q, &v, NULL, EO_SQLP_RAW) != EO_OK)
            return EO_ENOMEM;
    }
    return EO_OK;
}

int eo_sql__select(eo_sqlq *q, const eo_query *qr, eo_error *err)
{
    size_t i;
    int rc;
    eo_buf__puts(&q->sql, "SELECT ");
    for (i = 0; i < qr->nfields; i++) {
        if (i)
            eo_buf__puts(&q->sql, ", ");
        col(q, qr->fields[i]);
    }
    eo_buf__puts(&q->sql, " FROM ");
    eo_sql__ident(&q->sql, qr->model->table);
    if ((rc = where_clause(q, qr->model, qr->domain, err)) != EO_OK)
        return rc;
    order_by(q, qr->model, qr->order, qr->norder);
    if (window(q, qr->limit, qr->offset) != EO_OK || q->sql.oom)
        return oom(err);
    return check_params(q, qr->model, err);
}

int eo_sql__count(eo_sqlq *q, const eo_query *qr, eo_error *err)
{
    int rc;
    eo_buf__puts(&q->sql, "SELECT count(*) FROM ");
    eo_sql__ident(&q->sql, qr->model->table);
    if ((rc = where_clause(q, qr->model, qr->domain, err)) != EO_OK)
        return rc;
    return q->sql.oom ? oom(err) : EO_OK;
}

static void group_key(eo_sqlq *q, const eo_group_key *k)
{
    const char *fmt = NULL;
    int pg = q->d->dollar_params;
    switch (k->gran) {
    case EO_GRAN_NONE: col(q, k->field); return;
    case EO_GRAN_DAY: fmt = pg ? "to_char(%s, 'YYYY-MM-DD')" : "strftime('%%Y-%%m-%%d', %s)"; break;
    case EO_GRAN_WEEK: fmt = pg ? "to_char(%s, 'IYYY-\"W\"IW')" : "strftime('%%Y-W%%W', %s)"; break;
    case EO_GRAN_MONTH: fmt = pg ? "to_char(%s, 'YYYY-MM')" : "strftime('%%Y-%%m', %s)"; break;
    case EO_GRAN_QUARTER:
        fmt = pg ? "to_char(%s, 'YYYY-\"Q\"Q')"
                 : "(strftime('%%Y', %s) || '-Q' || ((CAST(strftime('%%m', %s) AS INTEGER) + 2) / 3))";
        break;
    case EO_GRAN_YEAR: fmt = pg ? "to_char(%s, 'YYYY')" : "strftime('%%Y', %s)"; break;
    }
    {
        eo_buf c = EO_BUF_INIT;
        eo_sql__ident(&c, k->field->column);
        if (c.oom)
            q->sql.oom = 1; /* no "(null)" in the SQL: the caller reports ENOMEM */
        else
            eo_buf__printf(&q->sql, fmt, c.p, c.p);
        eo_buf__free(&c);
    }
}

int eo_sql__group(eo_sqlq *q, const eo_group_query *g, eo_error *err)
{
    static const char *const fn[] = { "count", "sum", "avg", "min", "max", "count" };
    size_t i;
    int rc;
    eo_buf__puts(&q->sql, "SELECT ");
    for (i = 0; i < g->nkeys; i++) {
        group_key(q, &g->keys[i]);
        eo_buf__puts(&q->sql, ", ");
    }
    eo_buf__puts(&q->sql, "count(*)");
    for (i = 0; i < g->naggs; i++) {
        const eo_group_agg *a = &g->aggs[i];
        eo_buf__printf(&q->sql, ", %s(", fn[a->agg]);
        if (a->agg == EO_AGG_COUNT_DISTINCT)
            eo_buf__puts(&q->sql, "DISTINCT ");
        if (a->field) {
            /* booleans sum as integers everywhere */
            if (a->field->type == EO_FT_BOOLEAN && q->d->dollar_params)
                eo_buf__puts(&q->sql, "CAST(");
            col(q, a->field);
            if (a->field->type == EO_FT_BOOLEAN && q->d->dollar_params)
                eo_buf__puts(&q->sql, " AS INTEGER)");
        } else {
            eo_buf__putc(&q->sql, '*');
        }
        eo_buf__putc(&q->sql, ')');
    }
    eo_buf__puts(&q->sql, " FROM ");
    eo_sql__ident(&q->sql, g->model->table);
    if ((rc = where_clause(q, g->model, g->domain, err)) != EO_OK)
        return rc;
    if (g->nkeys) {
        eo_buf__puts(&q->sql, " GROUP BY ");
        for (i = 0; i < g->nkeys; i++)
            eo_buf__printf(&q->sql, "%s%zu", i ? ", " : "", i + 1);
        eo_buf__puts(&q->sql, " ORDER BY ");
        if (g->order_by_count_desc)
            eo_buf__printf(&q->sql, "%zu DESC, ", g->nkeys + 1);
        /* by result column: NULL first ascending, last descending (SQLite's
         * own order; PostgreSQL is told) */
        for (i = 0; i < g->norder; i++)
            eo_buf__printf(&q->sql, "%zu %s%s, ", g->order[i].column + 1,
                           g->order[i].desc ? "DESC" : "ASC",
                           !q->d->nulls_first_kw ? "" : g->order[i].desc ? " NULLS LAST" : " NULLS FIRST");
        for (i = 0; i < g->nkeys; i++)
            eo_buf__printf(&q->sql, "%s%zu%s", i ? ", " : "", i + 1,
                           q->d->nulls_first_kw ? " NULLS FIRST" : "");
    }
    if (window(q, g->limit, g->offset) != EO_OK || q->sql.oom)
        return oom(err);
    return EO_OK;
}

const char *eo_sql__coltype(const eo_sql_dialect *d, const eo_field *f)
{
    int pg = d->dollar_params;
    if (!(f->flags & EO_FF_STORED))
        return NULL;
    switch (eo_ftype_base(f->type)) {
    case EO_FT_ID: return pg ? "BIGSERIAL" : "INTEGER";
    case EO_FT_CHAR:
    case EO_FT_SELECTION: return pg ? "VARCHAR" : "TEXT";
    case EO_FT_TEXT: return "TEXT";
    case EO_FT_INTEGER: return pg ? "BIGINT" : "INTEGER";
    case EO_FT_FLOAT: return pg ? "DOUBLE PRECISION" : "REAL";
    case EO_FT_BOOLEAN: return pg ? "BOOLEAN" : "INTEGER";
    case EO_FT_DATE: return pg ? "DATE" : "TEXT";
    case EO_FT_DATETIME: return pg ? "TIMESTAMPTZ" : "TEXT";
    case EO_FT_JSON:
    case EO_FT_EMBEDDED:
    case EO_FT_LIST: return pg ? "JSONB" : "TEXT";
    case EO_FT_DECIMAL: return pg ? "NUMERIC" : "INTEGER"; /* SQLite: scaled integer */
    case EO_FT_BINARY: return pg ? "BYTEA" : "BLOB";
    case EO_FT_MANY2ONE: return pg ? "BIGINT" : "INTEGER";
    default: return NULL;
    }
}

void eo_sql__references(eo_buf *b, const eo_field *f)
{
    /* restrict is NO ACTION: checked at the end of the statement, so a
     * parent deleted together with its children passes (the engine applies
     * ondelete itself first; the key is a second line of defence) */
    static const char *const actions[] = { "SET NULL", "CASCADE", "NO ACTION" };
    if (f->type != EO_FT_MANY2ONE || f->comodel == NULL)
        return;
    eo_buf__puts(b, " REFERENCES ");
    eo_sql__ident(b, f->comodel->table);
    eo_buf__puts(b, " (\"id\") ON DELETE ");
    eo_buf__puts(b, actions[f->ondelete >= 0 && f->ondelete <= 2 ? f->ondelete : 0]);
}

void eo_sql__model_index(eo_buf *b, const eo_model *m, const eo_model_index *ix)
{
    size_t k;
    eo_buf__puts(b, ix->unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ");
    eo_sql__ident(b, ix->name);
    eo_buf__puts(b, " ON ");
    eo_sql__ident(b, m->table);
    eo_buf__puts(b, " (");
    for (k = 0; k < ix->nfields; k++) {
        if (k)
            eo_buf__puts(b, ", ");
        eo_sql__ident(b, ix->fields[k]->column);
    }
    eo_buf__putc(b, ')');
}

void eo_sql__pair_index(eo_buf *b, const eo_model *m)
{
    char name[200];
    snprintf(name, sizeof name, "%s__pair_uniq", m->table);
    eo_buf__puts(b, "CREATE UNIQUE INDEX ");
    eo_sql__ident(b, name);
    eo_buf__puts(b, " ON ");
    eo_sql__ident(b, m->table);
    eo_buf__puts(b, " (");
    eo_sql__ident(b, m->fields[1]->column);
    eo_buf__puts(b, ", ");
    eo_sql__ident(b, m->fields[2]->column);
    eo_buf__putc(b, ')');
}
