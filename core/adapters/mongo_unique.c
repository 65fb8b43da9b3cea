/*
 * mongo_unique.c - composite unique constraints (_sql_constraints
 * "unique(a, b)") checked before a write on MongoDB.
 *
 * migrate makes a unique compound index for each one, so the server holds
 * them for every writer. The adapter checks them before it writes as well,
 * as it does for unique fields (mongo.c unique_check): a server without
 * transactions (FerretDB) must not be left with half a batch, FerretDB's
 * duplicate-key errors do not say which index failed, and the message must
 * name the constraint and the values. A key with an empty (NULL) field is
 * never a duplicate, as in SQL.
 *
 * It does not check single unique fields (mongo.c does) nor build indexes
 * (mg_migrate does).
 */
#include "mongo_int.h"

#define CHUNK 200 /* tuples per $or query */

/* A set of tuples (nf values each), by index into `t`. */
typedef struct tset {
    size_t *slots; /* index + 1, 0 = empty */
    size_t cap;
} tset;

static uint64_t tuple_hash(const eo_value *t, size_t nf)
{
    uint64_t h = 1469598103934665603ull;
    size_t k;
    for (k = 0; k < nf; k++)
        h = (h ^ eo_value__hash(&t[k])) * 1099511628211ull;
    return h;
}

static int tuple_equal(const eo_value *a, const eo_value *b, size_t nf)
{
    size_t k;
    for (k = 0; k < nf; k++)
        if (!eo_value_equal(&a[k], &b[k]))
            return 0;
    return 1;
}

static int has_null(const eo_value *t, size_t nf)
{
    size_t k;
    for (k = 0; k < nf; k++)
        if (t[k].type == EO_VNULL)
            return 1;
    return 0;
}

/* The first tuple of `t` (n of them) equal to an earlier one, or -1; -2
 * when out of memory. */
static long first_repeat(const eo_value *t, size_t n, size_t nf)
{
    tset s;
    size_t i;
    long found = -1;
    s.cap = 16;
    while (s.cap < n * 2)
        s.cap *= 2;
    if ((s.slots = eo_calloc(s.cap, sizeof *s.slots)) == NULL)
        return -2;
    for (i = 0; i < n && found < 0; i++) {
        const eo_value *x = &t[i * nf];
        size_t at;
        if (has_null(x, nf))
            continue;
        at = (size_t)tuple_hash(x, nf) & (s.cap - 1);
        for (;;) {
            if (s.slots[at] == 0) {
                s.slots[at] = i + 1;
                break;
            }
            if (tuple_equal(&t[(s.slots[at] - 1) * nf], x, nf)) {
                found = (long)i;
                break;
            }
            at = (at + 1) & (s.cap - 1);
        }
    }
    eo_free(s.slots);
    return found;
}

static int conflict(const eo_model *m, const eo_model_index *ix, const eo_value *tuple,
                    eo_error *err)
{
    eo_buf rec = EO_BUF_INIT;
    eo_model__describe_values(&rec, ix, (const eo_field *const *)ix->fields, tuple, ix->nfields);
    eo_model__index_conflict(err, m, ix, rec.oom ? NULL : rec.p);
    eo_buf__free(&rec);
    eo_error__native(err, EO_DOMAIN_MONGO, 11000);
    return EO_ECONFLICT;
}

/* How many documents other than `except` hold one of the tuples t[from, to). */
static int count_holding(mg_conn *c, const eo_model *m, const eo_model_index *ix,
                         const eo_value *t, size_t from, size_t to, const eo_id *except,
                         size_t nexcept, int64_t *found, eo_error *err)
{
    mongoc_collection_t *coll;
    bson_t filter = BSON_INITIALIZER, arr, opts = BSON_INITIALIZER;
    bson_error_t be;
    size_t i, k, n = 0;
    int rc = EO_OK;
    *found = 0;
    bson_append_array_begin(&filter, "$or", -1, &arr);
    for (i = from; i < to && rc == EO_OK; i++) {
        char key[16];
        const char *kp;
        bson_t one;
        if (has_null(&t[i * ix->nfields], ix->nfields))
            continue;
        bson_uint32_to_string((uint32_t)n++, &kp, key, sizeof key);
        bson_append_document_begin(&arr, kp, -1, &one);
        for (k = 0; k < ix->nfields && rc == EO_OK; k++)
            rc = mg__append(c, &one, mg__key(ix->fields[k]), ix->fields[k],
                            &t[i * ix->nfields + k], err);
        bson_append_document_end(&arr, &one);
    }
    bson_append_array_end(&filter, &arr);
    if (nexcept) {
        bson_t idc;
        bson_append_document_begin(&filter, "_id", -1, &idc);
        mg__append_oids(&idc, "$nin", except, nexcept);
        bson_append_document_end(&filter, &idc);
    }
    if (rc == EO_OK && n > 0 && (rc = mg__session_opts(c, &opts, err)) == EO_OK) {
        uint64_t t0 = eo_clock__ns();
        if ((coll = mg__collection(c, m)) == NULL) {
            rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        } else {
            bson_append_int64(&opts, "limit", -1, 1);
            *found = mongoc_collection_count_documents(coll, &filter, &opts, NULL, NULL, &be);
            mg__trace_doc(c, EO_Q_SELECT, "count", m, &filter, t0, *found);
            mongoc_collection_destroy(coll);
            if (*found < 0)
                rc = mg__error(c, &be, m, "count", err);
        }
    }
    bson_destroy(&filter);
    bson_destroy(&opts);
    return rc;
}

/* The tuples t (n of them) against each other and the other documents. */
static int check_tuples(mg_conn *c, const eo_model *m, const eo_model_index *ix,
                        const eo_value *t, size_t n, const eo_id *except, size_t nexcept,
                        eo_error *err)
{
    long dup = first_repeat(t, n, ix->nfields);
    size_t from;
    if (dup == -2)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    if (dup >= 0)
        return conflict(m, ix, &t[(size_t)dup * ix->nfields], err);
    for (from = 0; from < n; from += CHUNK) {
        size_t to = from + CHUNK < n ? from + CHUNK : n, i;
        int64_t found;
        int rc = count_holding(c, m, ix, t, from, to, except, nexcept, &found, err);
        if (rc != EO_OK)
            return rc;
        if (found == 0)
            continue;
        /* which one: ask again one by one (on the error path only) */
        for (i = from; i < to; i++) {
            if ((rc = count_holding(c, m, ix, t, i, i + 1, except, nexcept, &found, err)) != EO_OK)
                return rc;
            if (found > 0)
                return conflict(m, ix, &t[i * ix->nfields], err);
        }
        return conflict(m, ix, &t[from * ix->nfields], err);
    }
    return EO_OK;
}

static long col_of(const eo_field *const *cols, size_t ncols, const eo_field *f)
{
    size_t i;
    for (i = 0; i < ncols; i++)
        if (cols[i] == f)
            return (long)i;
    return -1;
}

int mg__compound_insert_check(mg_conn *c, const eo_model *m, const eo_field *const *cols,
                              size_t ncols, const eo_value *vals, size_t nrows, eo_error *err)
{
    size_t x, r, k;
    int rc = EO_OK;
    for (x = 0; x < m->nindexes && rc == EO_OK; x++) {
        const eo_model_index *ix = &m->indexes[x];
        eo_value *t;
        if (!ix->unique || nrows == 0)
            continue;
        if ((t = eo_calloc(nrows * ix->nfields, sizeof *t)) == NULL)
            return eo_error_set(err, EO_ENOMEM, "out of memory");
        for (r = 0; r < nrows; r++)
            for (k = 0; k < ix->nfields; k++) {
                long i = col_of(cols, ncols, ix->fields[k]);
                if (i >= 0)
                    t[r * ix->nfields + k] = vals[r * ncols + (size_t)i];
            }
        rc = check_tuples(c, m, ix, t, nrows, NULL, 0, err);
        eo_free(t);
    }
    return rc;
}

/* The values the records ids hold now for the fields of ix not in cols,
 * into t (nids tuples, in the order the server returns them; ids of the
 * ones found into got). */
static int read_current(mg_conn *c, const eo_model *m, const eo_model_index *ix,
                        const eo_id *ids, size_t nids, const eo_field *const *cols, size_t ncols,
                        const eo_value *vals, eo_value *t, size_t *ntuples, mg_scratch *sc,
                        eo_error *err)
{
    mongoc_collection_t *coll;
    mongoc_cursor_t *cur;
    bson_t filter = BSON_INITIALIZER, idc, opts = BSON_INITIALIZER, proj;
    const bson_t *doc;
    bson_error_t be;
    uint64_t t0 = eo_clock__ns();
    size_t k, n = 0;
    int rc = EO_OK;
    bson_append_document_begin(&filter, "_id", -1, &idc);
    mg__append_oids(&idc, "$in", ids, nids);
    bson_append_document_end(&filter, &idc);
    bson_append_document_begin(&opts, "projection", -1, &proj);
    for (k = 0; k < ix->nfields; k++)
        bson_append_int32(&proj, mg__key(ix->fields[k]), -1, 1);
    bson_append_document_end(&opts, &proj);
    if ((rc = mg__session_opts(c, &opts, err)) != EO_OK)
        goto done;
    if ((coll = mg__collection(c, m)) == NULL) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    cur = mongoc_collection_find_with_opts(coll, &filter, &opts, NULL);
    while (rc == EO_OK && n < nids && mongoc_cursor_next(cur, &doc)) {
        for (k = 0; k < ix->nfields && rc == EO_OK; k++) {
            long i = col_of(cols, ncols, ix->fields[k]);
            eo_value *v = &t[n * ix->nfields + k];
            bson_iter_t it;
            v->type = EO_VNULL;
            if (i >= 0)
                *v = vals[i];
            else if (bson_iter_init_find(&it, doc, mg__key(ix->fields[k]))) {
                /* text may point into the document: copy it, the cursor reuses it */
                eo_value tmp;
                if ((rc = mg__read(c, &it, ix->fields[k], sc, &tmp, err)) == EO_OK &&
                    eo_arena__value(&sc->arena, v, &tmp) != EO_OK)
                    rc = eo_error_set(err, EO_ENOMEM, "out of memory");
            }
        }
        n++;
    }
    if (rc == EO_OK && mongoc_cursor_error(cur, &be))
        rc = mg__error(c, &be, m, "find", err);
    mg__trace_doc(c, EO_Q_SELECT, "find", m, &filter, t0, (int64_t)n);
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(coll);
done:
    *ntuples = n;
    bson_destroy(&filter);
    bson_destroy(&opts);
    return rc;
}

int mg__compound_update_check(mg_conn *c, const eo_model *m, const eo_id *ids, size_t nids,
                              const eo_field *const *cols, const eo_value *vals, size_t ncols,
                              eo_error *err)
{
    size_t x, k;
    int rc = EO_OK;
    for (x = 0; x < m->nindexes && rc == EO_OK; x++) {
        const eo_model_index *ix = &m->indexes[x];
        size_t touched = 0, n = 0;
        eo_value *t;
        mg_scratch sc;
        if (!ix->unique || nids == 0)
            continue;
        for (k = 0; k < ix->nfields; k++)
            if (col_of(cols, ncols, ix->fields[k]) >= 0)
                touched++;
        if (touched == 0)
            continue;
        if ((t = eo_calloc(nids * ix->nfields, sizeof *t)) == NULL)
            return eo_error_set(err, EO_ENOMEM, "out of memory");
        memset(&sc, 0, sizeof sc);
        if (touched == ix->nfields) {
            /* every field written: one tuple, on each record */
            for (n = 0; n < nids; n++)
                for (k = 0; k < ix->nfields; k++)
                    t[n * ix->nfields + k] = vals[col_of(cols, ncols, ix->fields[k])];
        } else {
            rc = read_current(c, m, ix, ids, nids, cols, ncols, vals, t, &n, &sc, err);
        }
        if (rc == EO_OK)
            rc = check_tuples(c, m, ix, t, n, ids, nids, err);
        eo_arena__free(&sc.arena);
        eo_free(t);
    }
    return rc;
}
