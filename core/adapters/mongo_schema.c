/*
 * mongo_schema.c - what earlier migrations declared, for a schemaless
 * server.
 *
 * A collection has no columns: nothing on the server says whether a field
 * is new (its old documents should get the default, as a new SQL column's
 * rows do) or which digits a Decimal was stored with (on FerretDB a
 * Decimal is an integer scaled by 10^scale). migrate keeps both in the
 * collection "earnorm-schema" (a name no model's collection can have:
 * model names hold no '-'), one document per collection:
 *
 *   { _id: "res_partner", fields: { price: { type: "Decimal", precision: 12, scale: 2 },
 *                                   name: { type: "Char" }, ... } }
 *
 * Fields removed from a model stay listed, as SQL keeps their columns, so
 * a field declared again is not new. It does not migrate anything itself:
 * mg_migrate (mongo.c) asks it and tells it what changed.
 */
#include <stdio.h>
#include <stdlib.h>

#include "mongo_int.h"

#define SCHEMA_COLL "earnorm-schema"

static mongoc_collection_t *schema_coll(mg_conn *c)
{
    return mongoc_client_get_collection(c->client, c->dbname, SCHEMA_COLL);
}

const mg_known *mg__schema_find(const eo_vec *known, const char *name)
{
    size_t i;
    for (i = 0; i < known->len; i++) {
        const mg_known *k = eo_vec__at(known, i);
        if (strcmp(k->name, name) == 0)
            return k;
    }
    return NULL;
}

int mg__schema_load(mg_conn *c, const eo_model *m, eo_vec *known, int *found, eo_error *err)
{
    mongoc_collection_t *coll = schema_coll(c);
    mongoc_cursor_t *cur;
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER;
    const bson_t *doc;
    bson_error_t be;
    int rc = EO_OK;
    uint64_t t0 = eo_clock__ns();
    *found = 0;
    if (coll == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    bson_append_utf8(&filter, "_id", 3, m->table, -1);
    if ((rc = mg__session_opts(c, &opts, err)) != EO_OK)
        goto done;
    cur = mongoc_collection_find_with_opts(coll, &filter, &opts, NULL);
    while (rc == EO_OK && mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it, fields;
        *found = 1;
        if (!bson_iter_init_find(&it, doc, "fields") || !BSON_ITER_HOLDS_DOCUMENT(&it) ||
            !bson_iter_recurse(&it, &fields))
            continue;
        while (rc == EO_OK && bson_iter_next(&fields)) {
            mg_known k;
            bson_iter_t one;
            memset(&k, 0, sizeof k);
            snprintf(k.name, sizeof k.name, "%s", bson_iter_key(&fields));
            if (BSON_ITER_HOLDS_DOCUMENT(&fields) && bson_iter_recurse(&fields, &one)) {
                while (bson_iter_next(&one)) {
                    const char *key = bson_iter_key(&one);
                    if (strcmp(key, "type") == 0 && BSON_ITER_HOLDS_UTF8(&one))
                        snprintf(k.type, sizeof k.type, "%s", bson_iter_utf8(&one, NULL));
                    else if (strcmp(key, "precision") == 0 && BSON_ITER_HOLDS_NUMBER(&one))
                        k.precision = (int)bson_iter_as_int64(&one);
                    else if (strcmp(key, "scale") == 0 && BSON_ITER_HOLDS_NUMBER(&one))
                        k.scale = (int)bson_iter_as_int64(&one);
                }
            }
            if (eo_vec__push(known, &k) != EO_OK)
                rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        }
    }
    if (rc == EO_OK && mongoc_cursor_error(cur, &be))
        rc = mg__error(c, &be, m, "find " SCHEMA_COLL, err);
    mongoc_cursor_destroy(cur);
    eo_conn_trace(&c->base, EO_Q_OTHER, "find " SCHEMA_COLL, NULL, 0, eo_clock__ns() - t0,
                  *found);
done:
    bson_destroy(&filter);
    bson_destroy(&opts);
    mongoc_collection_destroy(coll);
    return rc;
}

/* Does `known` already say what m declares now? */
static int up_to_date(const eo_model *m, const eo_vec *known, int found)
{
    size_t i;
    if (!found)
        return 0;
    for (i = 1; i < m->nfields; i++) {
        const eo_field *f = m->fields[i];
        const mg_known *k;
        if (!(f->flags & EO_FF_STORED))
            continue;
        k = mg__schema_find(known, f->name);
        if (k == NULL || strcmp(k->type, eo_ftype_name(eo_ftype_base(f->type))) != 0 ||
            (eo_ftype_base(f->type) == EO_FT_DECIMAL && (k->precision != f->precision || k->scale != f->scale)))
            return 0;
    }
    return 1;
}

static void append_known(bson_t *fields, const char *name, const char *type, int decimal,
                         int precision, int scale)
{
    bson_t one;
    bson_append_document_begin(fields, name, -1, &one);
    bson_append_utf8(&one, "type", -1, type, -1);
    if (decimal) {
        bson_append_int32(&one, "precision", -1, precision);
        bson_append_int32(&one, "scale", -1, scale);
    }
    bson_append_document_end(fields, &one);
}

int mg__schema_save(mg_conn *c, const eo_model *m, const eo_vec *known, int found, eo_error *err)
{
    mongoc_collection_t *coll;
    bson_t filter = BSON_INITIALIZER, doc = BSON_INITIALIZER, fields, opts = BSON_INITIALIZER;
    bson_error_t be;
    size_t i;
    int rc = EO_OK;
    uint64_t t0;
    if (up_to_date(m, known, found))
        return EO_OK;
    if ((coll = schema_coll(c)) == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    bson_append_utf8(&filter, "_id", 3, m->table, -1);
    bson_append_utf8(&doc, "_id", 3, m->table, -1);
    bson_append_document_begin(&doc, "fields", -1, &fields);
    for (i = 1; i < m->nfields; i++) {
        const eo_field *f = m->fields[i];
        if (f->flags & EO_FF_STORED)
            /* the storage type: a Decimal that became a Monetary holds the same */
            append_known(&fields, f->name, eo_ftype_name(eo_ftype_base(f->type)),
                         eo_ftype_base(f->type) == EO_FT_DECIMAL,
                         f->precision, f->scale);
    }
    /* fields no longer declared stay known, as SQL keeps their columns */
    for (i = 0; i < known->len; i++) {
        const mg_known *k = eo_vec__at(known, i);
        const eo_field *f = eo_model_field(m, k->name, strlen(k->name));
        if (f == NULL || !(f->flags & EO_FF_STORED))
            append_known(&fields, k->name, k->type, strcmp(k->type, "Decimal") == 0,
                         k->precision, k->scale);
    }
    bson_append_document_end(&doc, &fields);
    bson_append_bool(&opts, "upsert", -1, true);
    if ((rc = mg__session_opts(c, &opts, err)) == EO_OK) {
        t0 = eo_clock__ns();
        if (!mongoc_collection_replace_one(coll, &filter, &doc, &opts, NULL, &be))
            rc = mg__error(c, &be, m, "update " SCHEMA_COLL, err);
        eo_conn_trace(&c->base, EO_Q_OTHER, "replace " SCHEMA_COLL, NULL, 0, eo_clock__ns() - t0,
                      1);
    }
    bson_destroy(&filter);
    bson_destroy(&doc);
    bson_destroy(&opts);
    mongoc_collection_destroy(coll);
    return rc;
}

int mg__schema_forget(mg_conn *c, const eo_model *m, eo_error *err)
{
    mongoc_collection_t *coll = schema_coll(c);
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER;
    bson_error_t be;
    int rc;
    if (coll == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    bson_append_utf8(&filter, "_id", 3, m->table, -1);
    if ((rc = mg__session_opts(c, &opts, err)) == EO_OK &&
        !mongoc_collection_delete_one(coll, &filter, &opts, NULL, &be))
        rc = mg__error(c, &be, m, "delete " SCHEMA_COLL, err);
    bson_destroy(&filter);
    bson_destroy(&opts);
    mongoc_collection_destroy(coll);
    return rc;
}

/* Does the decimal text fit (p, s) exactly, without rounding? Text may be
 * in exponent form ("1.23E+5", as Decimal128 prints). */
static int fits_exactly(const char *s, int p, int sc)
{
    char digs[80];
    size_t nd = 0, i, n = strlen(s), lead = 0;
    long point = -1, exp10 = 0, intd, frac;
    if (n && (s[0] == '-' || s[0] == '+'))
        s++, n--;
    for (i = 0; i < n; i++) {
        char ch = s[i];
        if (ch >= '0' && ch <= '9') {
            if (nd >= sizeof digs)
                return 0;
            digs[nd++] = ch;
        } else if (ch == '.' && point < 0) {
            point = (long)nd;
        } else if (ch == 'E' || ch == 'e') {
            exp10 = strtol(s + i + 1, NULL, 10);
            break;
        } else {
            return 0; /* NaN, Infinity, garbage */
        }
    }
    if (nd == 0)
        return 0;
    if (point < 0)
        point = (long)nd;
    point += exp10; /* digits before the decimal point */
    while (lead < nd && digs[lead] == '0')
        lead++;
    while (nd > lead && digs[nd - 1] == '0' && (long)nd > point)
        nd--;
    if (lead == nd)
        return 1; /* zero */
    intd = point - (long)lead;
    frac = (long)nd - point;
    return frac <= sc && intd <= p - sc;
}

typedef struct rescale {
    bson_oid_t id;
    int64_t scaled;
} rescale;

int mg__digits_change(mg_conn *c, const eo_field *f, const mg_known *k, int dry,
                      eo_migrate_note_fn note, void *payload, eo_error *err)
{
    const eo_model *m = f->model;
    const char *key = mg__key(f);
    mongoc_collection_t *coll = mg__collection(c, m);
    mongoc_cursor_t *cur = NULL;
    mongoc_bulk_operation_t *bulk = NULL;
    bson_t filter = BSON_INITIALIZER, cond, opts = BSON_INITIALIZER, proj;
    const bson_t *doc;
    bson_error_t be;
    eo_vec todo = EO_VEC_INIT(rescale);
    int64_t bad = 0;
    char example[64] = "", line[300];
    int rewrite = !c->decimal128 && k->scale != f->scale, rc = EO_OK;
    size_t i;
    uint64_t t0 = eo_clock__ns();
    if (coll == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    bson_append_document_begin(&filter, key, -1, &cond);
    bson_append_null(&cond, "$ne", 3);
    bson_append_document_end(&filter, &cond);
    bson_append_document_begin(&opts, "projection", -1, &proj);
    bson_append_int32(&proj, key, -1, 1);
    bson_append_document_end(&opts, &proj);
    if ((rc = mg__session_opts(c, &opts, err)) != EO_OK)
        goto done;
    cur = mongoc_collection_find_with_opts(coll, &filter, &opts, NULL);
    while (rc == EO_OK && mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it, id;
        char text[64];
        text[0] = '\0';
        if (!bson_iter_init_find(&it, doc, key))
            continue;
        switch (bson_iter_type(&it)) {
        case BSON_TYPE_INT32:
        case BSON_TYPE_INT64:
            eo_decimal__format_scaled(bson_iter_as_int64(&it), k->scale, text, sizeof text);
            break;
        case BSON_TYPE_DECIMAL128: {
            bson_decimal128_t d;
            bson_iter_decimal128(&it, &d);
            bson_decimal128_to_string(&d, text);
            break;
        }
        case BSON_TYPE_DOUBLE: snprintf(text, sizeof text, "%.17g", bson_iter_double(&it)); break;
        case BSON_TYPE_UTF8: snprintf(text, sizeof text, "%s", bson_iter_utf8(&it, NULL)); break;
        default: snprintf(text, sizeof text, "(a BSON %s)", "value of another type"); break;
        }
        if (!fits_exactly(text, f->precision, f->scale)) {
            if (bad++ == 0)
                snprintf(example, sizeof example, "%s", text);
            continue;
        }
        if (rewrite && bson_iter_init_find(&id, doc, "_id") && BSON_ITER_HOLDS_OID(&id)) {
            rescale r;
            bson_oid_copy(bson_iter_oid(&id), &r.id);
            if (eo_decimal__to_scaled(text, strlen(text), f->scale, &r.scaled) != 0)
                continue; /* exponent form: only Decimal128 prints it, and then no rewrite */
            if (eo_vec__push(&todo, &r) != EO_OK)
                rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        }
    }
    if (rc == EO_OK && mongoc_cursor_error(cur, &be))
        rc = mg__error(c, &be, m, "find", err);
    eo_conn_trace(&c->base, EO_Q_SELECT, "find (digits check)", NULL, 0, eo_clock__ns() - t0, -1);
    if (rc != EO_OK)
        goto done;
    if (bad > 0) {
        rc = eo_error_set(err, EO_EINVAL,
                          "%s.%s: digits change from (%d, %d) to (%d, %d), but %lld stored "
                          "value%s would not fit without rounding (e.g. %s); migrate never rounds "
                          "data: change those values first, or keep the digits",
                          m->name, f->name, k->precision, k->scale, f->precision, f->scale,
                          (long long)bad, bad == 1 ? "" : "s", example);
        eo_error_where(err, m->name, f->name);
        goto done;
    }
    snprintf(line, sizeof line, "-- %s.%s: digits (%d, %d) -> (%d, %d): %s", m->name, f->name,
             k->precision, k->scale, f->precision, f->scale,
             rewrite ? "stored values rescaled" : "every stored value fits");
    if (note)
        note(payload, line);
    if (dry || todo.len == 0)
        goto done;
    /* one bulk write; on a server without transactions it is not atomic,
     * and the recorded digits change only after it succeeded */
    {
        bson_t bopts = BSON_INITIALIZER;
        if ((rc = mg__session_opts(c, &bopts, err)) == EO_OK)
            bulk = mongoc_collection_create_bulk_operation_with_opts(coll, &bopts);
        bson_destroy(&bopts);
        if (rc != EO_OK)
            goto done;
    }
    t0 = eo_clock__ns();
    for (i = 0; i < todo.len; i++) {
        const rescale *r = eo_vec__at(&todo, i);
        bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, set;
        bson_append_oid(&sel, "_id", 3, &r->id);
        bson_append_document_begin(&upd, "$set", 4, &set);
        bson_append_int64(&set, key, -1, r->scaled);
        bson_append_document_end(&upd, &set);
        if (!mongoc_bulk_operation_update_one_with_opts(bulk, &sel, &upd, NULL, &be))
            rc = mg__error(c, &be, m, "update", err);
        bson_destroy(&sel);
        bson_destroy(&upd);
        if (rc != EO_OK)
            goto done;
    }
    {
        bson_t reply;
        if (!mongoc_bulk_operation_execute(bulk, &reply, &be))
            rc = mg__error(c, &be, m, "update", err);
        bson_destroy(&reply);
    }
    eo_conn_trace(&c->base, EO_Q_UPDATE, "update (rescale)", NULL, 0, eo_clock__ns() - t0,
                  (int64_t)todo.len);
done:
    mongoc_bulk_operation_destroy(bulk);
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(coll);
    bson_destroy(&filter);
    bson_destroy(&opts);
    eo_vec__free(&todo);
    return rc;
}
