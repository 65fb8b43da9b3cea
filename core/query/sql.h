/*
 * sql.h - SQL text and parameters from queries, shared by SQL adapters.
 */
#ifndef EARNORM_QUERY_SQL_H
#define EARNORM_QUERY_SQL_H

#include "earnorm/query.h"
#include "earnorm/sys/adapter.h"
#include "../internal.h"

typedef struct eo_sql_dialect {
    const char *name;
    int dollar_params;      /* 1: $1, $2 (PostgreSQL); 0: ? (SQLite) */
    int ilike;              /* 1: ILIKE exists; 0: lower(x) LIKE lower(?) */
    int glob;               /* 1: case-sensitive like through GLOB (SQLite) */
    int json_each;          /* 1: long lists as IN (SELECT value FROM json_each(?)) */
    int any_array;          /* 1: long lists as = ANY(?) */
    int nulls_first_kw;     /* 1: say NULLS FIRST/LAST to sort NULL lowest */
    int cast_like;          /* 1: cast non-text columns to text for LIKE */
    const char *lit_true, *lit_false;
    size_t max_params;      /* parameters one statement may bind; more is EO_ELIMIT (sql.c) */
    size_t max_like;        /* bytes of a LIKE pattern (0: no limit); more is EO_ELIMIT */
    int decimal_scaled;     /* 1: Decimal columns hold integers scaled by 10^scale */
} eo_sql_dialect;

/* The dialects of the SQL adapters (sql.c). */
extern const eo_sql_dialect eo_sql__sqlite;    /* ?-params, GLOB, json_each, scaled decimals */
extern const eo_sql_dialect eo_sql__postgres;  /* $n params, ILIKE, = ANY(array), NULLS FIRST */

typedef enum eo_sqlp_kind {
    EO_SQLP_FIELD = 0,      /* a value of `field`: the adapter converts it */
    EO_SQLP_RAW,            /* bind as it is (patterns, limits) */
    EO_SQLP_LIST            /* text: a JSON array (json_each) or an array literal (ANY) of field values */
} eo_sqlp_kind;

typedef struct eo_sqlparam {
    eo_value v;
    const eo_field *field;
    eo_sqlp_kind kind;
} eo_sqlparam;

typedef struct eo_sqlq {
    eo_buf sql;
    eo_vec params;          /* of eo_sqlparam */
    eo_arena arena;         /* bytes of generated parameter values */
    const eo_sql_dialect *d;
    const char *jbase;      /* compiling an Embedded/List sub-domain: the SQL of the
                               JSON object its sub-fields are read from (sql_embedded.c) */
} eo_sqlq;

void eo_sqlq__init(eo_sqlq *q, const eo_sql_dialect *d);
void eo_sqlq__free(eo_sqlq *q);
void eo_sqlq__reset(eo_sqlq *q);

int eo_sql__ident(eo_buf *b, const char *name);
/* Appends a placeholder and records its parameter. */
int eo_sql__param(eo_sqlq *q, const eo_value *v, const eo_field *f, eo_sqlp_kind kind);
/* sql_props.c: a leaf on one property of a Properties field ("props.color"):
 * json_extract on SQLite, jsonb -> on PostgreSQL, with the type of the
 * value compared as MongoDB compares it (no "5" = 5, no true = 1). */
int eo_sql__property_leaf(eo_sqlq *q, const eo_dnode *n, eo_error *err);

/* SELECT cols FROM t WHERE ... ORDER BY ... LIMIT ... OFFSET ... */
int eo_sql__select(eo_sqlq *q, const eo_query *qr, eo_error *err);
int eo_sql__count(eo_sqlq *q, const eo_query *qr, eo_error *err);
int eo_sql__group(eo_sqlq *q, const eo_group_query *g, eo_error *err);
/* WHERE body for a bound domain on m ("1=1" for TRUE). */
int eo_sql__where(eo_sqlq *q, const eo_model *m, const eo_dnode *n, eo_error *err);
/* "id" IN (...) for an id array, lists past 32 through json_each or ANY. */
int eo_sql__ids_in(eo_sqlq *q, const eo_model *m, const eo_id *ids, size_t n,
                   eo_idkind kind, eo_error *err);

/*
 * One value per record in one statement: UPDATE t SET c = v.column2 FROM
 * (VALUES (id, x), ...) AS v WHERE t.id = v.column1 for n records (both
 * dialects name VALUES columns column1, column2). `cast`, when given, is the
 * column's SQL type written on the first row (PostgreSQL types the VALUES
 * list from it; the id gets ::bigint).
 */
int eo_sql__update_each(eo_sqlq *q, const eo_model *m, const eo_id *ids, size_t n,
                        const eo_field *f, const eo_value *vals, const char *cast,
                        eo_error *err);

/* " AND f = v" (" AND f IS NULL" for a NULL v): the version check of update_if. */
int eo_sql__and_equal(eo_sqlq *q, const eo_field *f, const eo_value *v, eo_error *err);

/* " REFERENCES comodel ("id") ON DELETE ..." for a Many2one (nothing otherwise). */
void eo_sql__references(eo_buf *b, const eo_field *f);
/* CREATE UNIQUE INDEX <table>__pair_uniq ON junction (column1, column2) */
/* CREATE [UNIQUE] INDEX for a composite index or unique constraint. */
void eo_sql__model_index(eo_buf *b, const eo_model *m, const eo_model_index *ix);
void eo_sql__pair_index(eo_buf *b, const eo_model *m);

/* sql_embedded.c: a sub-field of an Embedded/List field as an SQL
 * expression of its type (read from q->jbase), and the `any` / `not any`
 * leaf of such a field. */
void eo_sql__sub_col(eo_sqlq *q, const eo_field *f);
int eo_sql__embedded_any(eo_sqlq *q, const eo_dnode *n, eo_error *err);

/* The column type a field gets in this dialect, NULL when not stored. */
const char *eo_sql__coltype(const eo_sql_dialect *d, const eo_field *f);

#endif
