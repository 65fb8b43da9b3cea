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

/* ---- values (mongo_bson.c) ---- */

/* The document key of a field: "_id" for the id. */
const char *mg__key(const eo_field *f);
/* Append v as field f stores it. */
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

/* ---- grouping (mongo_group.c) ---- */
int mg__group(mg_conn *c, const eo_group_query *g, eo_row_fn fn, void *payload, eo_error *err);
/* Can the server run this grouping ($group with $sum only on FerretDB)? */
int mg__group_on_server(const mg_conn *c, const eo_group_query *g);

#endif
