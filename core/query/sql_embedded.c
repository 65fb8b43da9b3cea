/*
 * sql_embedded.c - domains on Embedded and List fields in SQL.
 *
 * Both are one JSON column (TEXT on SQLite, JSONB on PostgreSQL). A
 * sub-field is read with json_extract(col, '$.name') on SQLite, which
 * gives JSON numbers, text and true/false as 1/0, the column types the
 * parameters bind as; on PostgreSQL with col->>'name' cast to the
 * sub-field's type, so comparisons and `= ANY(array)` lists are typed as
 * for a column. An Embedded field's sub-domain is that expression over
 * the column; a List field's is EXISTS over its elements (json_each,
 * jsonb_array_elements): "some element matches", and `not any` none.
 * Names come from the registry ([A-Za-z0-9_]), so the path literal needs
 * no quoting; values are parameters as everywhere.
 */
#include <stdio.h>

#include "sql.h"
#include "../embedded_int.h"

void eo_sql__sub_col(eo_sqlq *q, const eo_field *f)
{
    const char *cast = NULL;
    if (q->jbase == NULL || f->index == 0) {
        eo_buf__puts(&q->sql, "NULL");
        return;
    }
    if (!q->d->dollar_params) {
        eo_buf__printf(&q->sql, "json_extract(%s, '$.%s')", q->jbase, f->name);
        return;
    }
    switch (f->type) {
    case EO_FT_INTEGER: cast = "bigint"; break;
    case EO_FT_FLOAT: cast = "float8"; break;
    case EO_FT_BOOLEAN: cast = "boolean"; break;
    case EO_FT_DATE: cast = "date"; break;
    case EO_FT_DATETIME: cast = "timestamptz"; break;
    default: break;
    }
    if (cast)
        eo_buf__printf(&q->sql, "((%s->>'%s')::%s)", q->jbase, f->name, cast);
    else
        eo_buf__printf(&q->sql, "(%s->>'%s')", q->jbase, f->name);
}

int eo_sql__embedded_any(eo_sqlq *q, const eo_dnode *n, eo_error *err)
{
    const eo_field *f = n->field;
    const char *saved = q->jbase;
    int neg = n->op == EO_OP_NOT_ANY, rc;
    eo_buf base = EO_BUF_INIT;
    char *b;
    if (f->embedded == NULL)
        return eo_error_set(err, EO_ENOTFOUND, "%s.%s: the embedded type is not defined",
                            f->model->name, f->name);
    if (f->type == EO_FT_EMBEDDED) {
        eo_sql__ident(&base, f->column ? f->column : f->name);
    } else {
        /* one alias is enough: sub-records do not nest */
        eo_buf__puts(&base, q->d->dollar_params ? "\"e__\".\"v\"" : "\"e__\".\"value\"");
    }
    if (base.oom || (b = eo_arena__strndup(&q->arena, base.p, base.len)) == NULL) {
        eo_buf__free(&base);
        return eo_error_set(err, EO_ENOMEM, "out of memory compiling a query");
    }
    eo_buf__free(&base);
    if (f->type == EO_FT_EMBEDDED) {
        eo_buf__puts(&q->sql, neg ? "NOT COALESCE((" : "(");
    } else {
        eo_buf__puts(&q->sql, neg ? "NOT EXISTS (SELECT 1 FROM " : "EXISTS (SELECT 1 FROM ");
        eo_buf__puts(&q->sql, q->d->dollar_params ? "jsonb_array_elements(" : "json_each(");
        eo_sql__ident(&q->sql, f->column ? f->column : f->name);
        eo_buf__puts(&q->sql, q->d->dollar_params ? ") AS \"e__\"(\"v\") WHERE " : ") AS \"e__\" WHERE ");
    }
    q->jbase = b;
    rc = eo_sql__where(q, f->embedded, n->sub, err);
    q->jbase = saved;
    if (rc != EO_OK)
        return rc;
    if (f->type == EO_FT_EMBEDDED && neg)
        eo_buf__printf(&q->sql, "), %s)", q->d->lit_false);
    else
        eo_buf__putc(&q->sql, ')');
    return q->sql.oom ? eo_error_set(err, EO_ENOMEM, "out of memory compiling a query") : EO_OK;
}
