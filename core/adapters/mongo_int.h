/*
 * mongo_int.h - shared by the MongoDB adapter's files (mongo*.c).
 */
#ifndef EARNORM_MONGO_INT_H
#define EARNORM_MONGO_INT_H

#include <mongoc/mongoc.h>

#include "earnorm/domain.h"
#include "earnorm/sys/adapter.h"
#include "../internal.h"

typedef struct mg_conn {
    eo_conn base;
    struct mg_pool *shared;      /* the process-wide mongoc pool for this URI */
    mongoc_client_t *client;     /* popped from it */
    char *dbname;
    char addr[160];              /* host:port, for errors */
    mongoc_client_session_t *session; /* inside a transaction */
    unsigned txn_serial;         /* transactions begun on it (cursors tell theirs apart) */
    int ferret;                  /* FerretDB: no Decimal128, $group has $sum only */
    int decimal128;              /* the server stores Decimal128 */
    const struct eo_dnode *id_range; /* this `id in [...]` leaf compiles to
                                        {_id: {$gte: min, $lte: max}} (mg_select) */
    const char *kprefix;       /* compiling an Embedded sub-domain: "address." */
} mg_conn;

/* The collection of a model (Owned: mongoc_collection_destroy). */
mongoc_collection_t *mg__collection(mg_conn *c, const eo_model *m);
/* Append the session to an options document when a transaction is open. */
int mg__session_opts(mg_conn *c, bson_t *opts, eo_error *err);
/* Map a driver error; marks the connection broken when the server is gone. */
int mg__error(mg_conn *c, const bson_error_t *e, const eo_model *m, const char *what,
              eo_error *err);

/* Trace a command or query document through eo_conn_trace. */
void mg__trace_doc(mg_conn *c, eo_qkind kind, const char *verb, const eo_model *m,
                   const bson_t *doc, uint64_t t0, int64_t rows);
/* Append { op: [ObjectId...] } of the ids to cond. */
void mg__append_oids(bson_t *cond, const char *op, const eo_id *ids, size_t n);

/* ---- composite unique constraints (mongo_unique.c) ---- */

/* Would these rows (insert) break one of m's unique constraints? */
int mg__compound_insert_check(mg_conn *c, const eo_model *m, const eo_field *const *cols,
                              size_t ncols, const eo_value *vals, size_t nrows, eo_error *err);
/* Would writing vals on the records ids break one of them? */
int mg__compound_update_check(mg_conn *c, const eo_model *m, const eo_id *ids, size_t nids,
                              const eo_field *const *cols, const eo_value *vals, size_t ncols,
                              eo_error *err);

/* ---- values (mongo_bson.c) ---- */

/* The document key of a field: "_id" for the id. */
const char *mg__key(const eo_field *f);
/* Append v as field f stores it. */
/* mongo_props.c: a leaf on one property of a Properties field, as the
 * dotted key "props.color" (what sql_props.c matches on SQL). */
int mg__property_leaf(mg_conn *c, const eo_dnode *n, bson_t *out, eo_error *err);
int mg__append(mg_conn *c, bson_t *doc, const char *key, const eo_field *f, const eo_value *v,
               eo_error *err);
/* Per-row scratch for values read back (formatted dates, JSON text...). */
typedef struct mg_scratch {
    eo_arena arena;
} mg_scratch;
/* The canonical value of field f from the element at it (arena-backed). */
int mg__read(mg_conn *c, bson_iter_t *it, const eo_field *f, mg_scratch *s, eo_value *out,
             eo_error *err);

/*
 * Compile a bound domain into a filter document. `any` over relations is
 * resolved with id queries on this connection (FerretDB has no $lookup).
 */
int mg__filter(mg_conn *c, const eo_model *m, const eo_domain *d, bson_t *out, eo_error *err);

/* ---- what earlier migrations declared (mongo_schema.c) ---- */

/* A field as a migration recorded it. */
typedef struct mg_known {
    char name[64];
    char type[16];          /* eo_ftype_name() */
    int precision, scale;   /* of a Decimal */
} mg_known;

/* The fields recorded for m's collection (mg_known items); *found is 0
 * when nothing was recorded (a collection from before the record). */
int mg__schema_load(mg_conn *c, const eo_model *m, eo_vec *known, int *found, eo_error *err);
/* Record m's stored fields (and keep the known ones it no longer has). */
int mg__schema_save(mg_conn *c, const eo_model *m, const eo_vec *known, int found, eo_error *err);
/* Forget the record of m's collection (it does not exist any more). */
int mg__schema_forget(mg_conn *c, const eo_model *m, eo_error *err);
const mg_known *mg__schema_find(const eo_vec *known, const char *name);
/* Decimal f was recorded with other digits: rescale the stored values
 * when every one fits the new digits exactly, else refuse (EO_EINVAL). */
int mg__digits_change(mg_conn *c, const eo_field *f, const mg_known *k, int dry,
                      eo_migrate_note_fn note, void *payload, eo_error *err);

/* ---- searches ordered by a Many2one path (mongo_order.c) ---- */
/* Does q order by a path ("partner_id.name")? */
int mg__order_has_paths(const eo_query *q);
/* Run q (filter: its compiled domain; want: the ids to keep of a ranged
 * find, or NULL), sorting and windowing here. */
int mg__select_paths(mg_conn *c, const eo_query *q, const bson_t *filter,
                     const eo_idmap *want, eo_row_fn fn, void *payload, eo_error *err);

/* ---- grouping (mongo_group.c) ---- */
int mg__group(mg_conn *c, const eo_group_query *g, eo_row_fn fn, void *payload, eo_error *err);
/* Can the server run this grouping ($group with $sum only on FerretDB)? */
int mg__group_on_server(const mg_conn *c, const eo_group_query *g);

#endif
