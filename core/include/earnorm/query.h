/*
 * query.h - what the ORM asks of an adapter: a search, a count or a
 * grouping over one model, with a bound domain, an order and a window.
 */
#ifndef EARNORM_QUERY_H
#define EARNORM_QUERY_H

#include "common.h"
#include "domain.h"
#include "error.h"
#include "model.h"

EO_BEGIN_DECL

/** Steps an order term may take through Many2one fields ("a_id.b_id.name"). */
#define EO_ORDER_MAX_VIA 4

/**
 * One ORDER BY term. NULL sorts as the smallest value on every backend.
 * A term on a path ("partner_id.name") goes through the Many2one fields
 * via[0..nvia-1], the first one of the query's model, each next one of the
 * previous one's comodel; `field` is then a field of the last comodel. A
 * record whose path stops at an empty Many2one sorts as NULL.
 */
typedef struct eo_order_item {
    const eo_field *field;
    int desc;                  /* 1 for descending */
    const eo_field *via[EO_ORDER_MAX_VIA];
    size_t nvia;               /* 0: field is a field of the model */
    const eo_field *sub;       /* a sub-field of the Embedded field `field`
                                  ("address.city"), NULL otherwise */
} eo_order_item;

/**
 * Parse an order text ("age desc, name, partner_id.name") against @p m.
 * A NULL or empty @p text is no order. A dotted name goes through stored
 * Many2one fields (at most EO_ORDER_MAX_VIA) to a stored field, or names a
 * scalar sub-field of an Embedded field ("address.city": item.sub); a
 * List sub-field is refused (a record holds many elements). Clears @p err on success; NULL @p out, @p n or
 * @p m are EO_EINVAL naming them (error.h).
 * @param[out] out Owned array (eo_free); *n set to its length.
 * @return 0 or EO_EINVAL naming the unknown or unsortable field.
 */
EO_API int eo_order_parse(eo_order_item **out, size_t *n, const eo_model *m,
                          const char *text, eo_error *err);

/** A search. All members Borrowed for the call. */
typedef struct eo_query {
    const eo_model *model;
    const eo_domain *domain;        /* bound; NULL = everything */
    const eo_field *const *fields;  /* columns to return, in order */
    size_t nfields;
    const eo_order_item *order;
    size_t norder;
    int64_t limit;                  /* < 0: none */
    int64_t offset;
} eo_query;

typedef enum eo_agg {
    EO_AGG_COUNT = 0, EO_AGG_SUM, EO_AGG_AVG, EO_AGG_MIN, EO_AGG_MAX,
    EO_AGG_COUNT_DISTINCT
} eo_agg;

typedef enum eo_granularity {
    EO_GRAN_NONE = 0, EO_GRAN_DAY, EO_GRAN_WEEK, EO_GRAN_MONTH,
    EO_GRAN_QUARTER, EO_GRAN_YEAR
} eo_granularity;

typedef struct eo_group_key {
    const eo_field *field;
    eo_granularity gran;        /* dates: bucket size */
    const char *name;           /* result key: "kind", "birthday:month" */
} eo_group_key;

typedef struct eo_group_agg {
    const eo_field *field;      /* NULL for COUNT(*) */
    eo_agg agg;
    const char *name;           /* result key */
} eo_group_agg;

/**
 * One term of the order of groups: a column of the result rows (a key,
 * the count or an aggregate), ascending or descending. NULL sorts first
 * ascending and last descending, on every backend.
 */
typedef struct eo_group_order {
    size_t column;              /* < nkeys: key; == nkeys: the count; nkeys + 1 + i: aggregate i */
    int desc;                   /* 1: descending */
} eo_group_order;

/**
 * A grouping. The adapter returns one row per group: the keys in order,
 * then the record count, then each aggregate. Groups come ordered by the
 * terms of `order`, then by the keys (ascending) to break ties; with no
 * terms, by the keys.
 */
typedef struct eo_group_query {
    const eo_model *model;
    const eo_domain *domain;
    const eo_group_key *keys;
    size_t nkeys;
    const eo_group_agg *aggs;
    size_t naggs;
    int64_t limit, offset;
    int order_by_count_desc;    /* 1: biggest groups first (before `order`) */
    const eo_group_order *order; /* NULL when norder is 0 */
    size_t norder;
} eo_group_query;

/** Row callback: @p row holds one value per requested column, Borrowed until return. */
typedef int (*eo_row_fn)(void *payload, const eo_value *row, size_t ncols,
                         eo_error *err);

EO_END_DECL

#endif /* EARNORM_QUERY_H */
