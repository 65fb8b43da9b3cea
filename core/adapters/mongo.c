/*
 * mongo.c - the MongoDB adapter (mongo-c-driver and libbson).
 *
 * Connections take a client from one mongoc_client_pool_t per URI, shared
 * by the whole process (thread-safe), and give it back on close. At open
 * the server is asked what it is (hello, buildInfo): a replica set or a
 * sharded cluster gets sessions and transactions; a standalone server or
 * FerretDB gets none, and then env:transaction says so (EO_ENOTSUP) while
 * the ORM's own operations stay atomic through the undo journal
 * (journal.c). Nothing here pretends: what the server cannot do is done
 * client-side and said (read_group in explain) or refused.
 *
 * Documents: `_id` is an ObjectId generated here, so ids are known before
 * the insert; NULL values are not stored (a missing field reads as NULL
 * and `= null` matches it). Writes check unique fields before they send
 * anything, so a duplicate does not leave half a batch behind on servers
 * without transactions; a duplicate that slips through (a race) is undone.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "mongo_int.h"

extern const eo_adapter eo_mongo_adapter;

/* ---- process-wide client pools, one per URI ---- */

typedef struct mg_pool {
    struct mg_pool *next;
    char *uri;
    mongoc_client_pool_t *pool;
    int refs;
} mg_pool;

static pthread_mutex_t pools_mu = PTHREAD_MUTEX_INITIALIZER;
static mg_pool *pools;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void quiet_log(mongoc_log_level_t level, const char *domain, const char *message,
                      void *data)
{
    (void)level;
    (void)domain;
    (void)message;
    (void)data; /* errors reach callers as eo_error; the driver's own chatter is not ours */
}

static void cleanup(void) { mongoc_cleanup(); }

static void init_driver(void)
{
    mongoc_init();
    mongoc_log_set_handler(quiet_log, NULL);
    atexit(cleanup);
}

static mg_pool *pool_get(const char *uri, eo_error *err)
{
    mg_pool *p;
    mongoc_uri_t *u;
    bson_error_t be;
    pthread_mutex_lock(&pools_mu);
    for (p = pools; p; p = p->next) {
        if (strcmp(p->uri, uri) == 0) {
            p->refs++;
            pthread_mutex_unlock(&pools_mu);
            return p;
        }
    }
    u = mongoc_uri_new_with_error(uri, &be);
    if (u == NULL) {
        pthread_mutex_unlock(&pools_mu);
        eo_error_set(err, EO_EINVAL, "mongodb: bad URL: %s", be.message);
        return NULL;
    }
    p = eo_calloc(1, sizeof *p);
    if (p == NULL || (p->uri = eo_strdup(uri)) == NULL ||
        (p->pool = mongoc_client_pool_new_with_error(u, &be)) == NULL) {
        if (p)
            eo_free(p->uri);
        eo_free(p);
        mongoc_uri_destroy(u);
        pthread_mutex_unlock(&pools_mu);
        eo_error_set(err, EO_EINVAL, "mongodb: cannot use %s: %s", uri, be.message);
        return NULL;
    }
    mongoc_uri_destroy(u);
    mongoc_client_pool_set_error_api(p->pool, MONGOC_ERROR_API_VERSION_2);
    mongoc_client_pool_set_appname(p->pool, "earnorm");
    p->refs = 1;
    p->next = pools;
    pools = p;
    pthread_mutex_unlock(&pools_mu);
    return p;
}

static void pool_put(mg_pool *p)
{
    mg_pool **link;
    int last;
    if (p == NULL)
        return;
    pthread_mutex_lock(&pools_mu);
    last = --p->refs == 0;
    if (last)
        for (link = &pools; *link; link = &(*link)->next)
            if (*link == p) {
                *link = p->next;
                break;
            }
    pthread_mutex_unlock(&pools_mu);
    if (last) {
        mongoc_client_pool_destroy(p->pool);
        eo_free(p->uri);
        eo_free(p);
    }
}

/* ---- errors ---- */

int mg__error(mg_conn *c, const bson_error_t *e, const eo_model *m, const char *what,
              eo_error *err)
{
    int server = e->domain == MONGOC_ERROR_SERVER || e->domain == MONGOC_ERROR_QUERY ||
                 e->domain == MONGOC_ERROR_WRITE_CONCERN || e->domain == MONGOC_ERROR_COLLECTION;
    const char *hint = "";
    int code = EO_ERROR;
    if (e->domain == MONGOC_ERROR_SERVER_SELECTION || e->domain == MONGOC_ERROR_STREAM ||
        (e->domain == MONGOC_ERROR_CLIENT && e->code == MONGOC_ERROR_CLIENT_AUTHENTICATE)) {
        c->base.broken = 1;
        eo_error_set(err, EO_ECONN, "mongodb: cannot reach %s: %s: %s",
                     c->addr[0] ? c->addr : "the server", what, e->message);
        eo_error__native(err, EO_DOMAIN_MONGO, (int)e->code);
        if (m)
            eo_error_where(err, m->name, NULL);
        return EO_ECONN;
    } else if (e->code == 11000 || e->code == 11001 ||
               (m && m->nindexes && strstr(e->message, "UNIQUE constraint failed"))) {
        code = EO_ECONFLICT;
        if (m) {
            /* a composite unique constraint the server names */
            size_t x;
            for (x = 0; x < m->nindexes; x++)
                if (m->indexes[x].unique && strstr(e->message, m->indexes[x].name)) {
                    eo_model__index_conflict(err, m, &m->indexes[x], NULL);
                    eo_error__native(err, EO_DOMAIN_MONGO, (int)e->code);
                    return EO_ECONFLICT;
                }
        }
        if (m) {
            /* the server may not say which index: name the only unique field */
            const eo_field *only = NULL;
            size_t i, n = 0;
            for (i = 1; i < m->nfields; i++)
                if (m->fields[i]->flags & EO_FF_UNIQUE) {
                    only = m->fields[i];
                    n++;
                }
            if (n == 1 && !m->junction) {
                eo_error_set(err, EO_ECONFLICT, "%s.%s: duplicate value: it must be unique",
                             m->name, only->name);
                eo_error_where(err, m->name, only->name);
                eo_error__native(err, EO_DOMAIN_MONGO, (int)e->code);
                return EO_ECONFLICT;
            }
        }
    } else if (e->code == 112 || e->code == 251 || e->code == 24) {
        code = EO_EBUSY; /* WriteConflict, NoSuchTransaction, LockTimeout: try again */
    } else if (e->code == 50) {
        code = EO_ETIMEOUT;
    } else if (e->code == 238 || e->code == 115) {
        code = EO_ENOTSUP; /* NotImplemented, CommandNotSupported */
    } else if (e->code == 2 || e->code == 9 || e->code == 14) {
        code = EO_EINVAL;
    } else if ((e->domain == MONGOC_ERROR_BSON && e->code == MONGOC_ERROR_BSON_INVALID &&
                strstr(e->message, "too large")) ||
               (e->domain == MONGOC_ERROR_CLIENT && e->code == MONGOC_ERROR_CLIENT_TOO_BIG) ||
               (server && (e->code == 10334 || e->code == 17419 || e->code == 17280))) {
        /* BSONObjectTooLarge, an update's result too large, KeyTooLong */
        code = EO_ELIMIT;
        hint = " (a document is limited to the server's maximum, 16 MB on MongoDB)";
    } else if (server && e->code == 14031) {
        code = EO_ELIMIT; /* OutOfDiskSpace */
        hint = ": the database server's disk is full; free space there, then try again";
    } else if (server && e->code == 26) {
        code = EO_ENOTFOUND; /* NamespaceNotFound */
        hint = " (the database is older than the models: run migrate)";
    } else if (server && e->code == 13) {
        code = EO_ENOTSUP; /* Unauthorized */
        hint = ": the server's user may not do this";
    } else if (server && (e->code == 91 || e->code == 189 || e->code == 10107 ||
                          e->code == 11600 || e->code == 11602 || e->code == 13435)) {
        /* shutting down, stepped down, not the primary: reach the server again */
        c->base.broken = 1;
        code = EO_ECONN;
    }
    eo_error_set(err, code, "mongodb: %s: %s%s", what, e->message, hint);
    eo_error__native(err, EO_DOMAIN_MONGO, (int)e->code);
    if (m)
        eo_error_where(err, m->name, NULL);
    return code;
}

mongoc_collection_t *mg__collection(mg_conn *c, const eo_model *m)
{
    return mongoc_client_get_collection(c->client, c->dbname, m->table);
}

int mg__session_opts(mg_conn *c, bson_t *opts, eo_error *err)
{
    bson_error_t be;
    if (c->session && !mongoc_client_session_append(c->session, opts, &be))
        return mg__error(c, &be, NULL, "session", err);
    return EO_OK;
}

void mg__trace_doc(mg_conn *c, eo_qkind kind, const char *verb, const eo_model *m,
                   const bson_t *doc, uint64_t t0, int64_t rows)
{
    char *j = doc ? bson_as_relaxed_extended_json(doc, NULL) : NULL;
    char line[1024];
    if (c->base.trace == NULL) {
        bson_free(j);
        return;
    }
    snprintf(line, sizeof line, "%s %s %s", verb, m ? m->table : "", j ? j : "");
    bson_free(j);
    eo_conn_trace(&c->base, kind, line, NULL, 0, eo_clock__ns() - t0, rows);
}

/* ---- open / close ---- */

static int opt_ours(const char *k)
{
    static const char *const ours[] = { "pool_min", "pool_max", "pool_timeout", "idle_timeout",
                                        "max_lifetime", NULL };
    int i;
    for (i = 0; ours[i]; i++)
        if (strcmp(ours[i], k) == 0)
            return 1;
    return 0;
}

static void put_escaped(eo_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '.' || ch == '_' || ch == '~')
            eo_buf__putc(b, (char)ch);
        else
            eo_buf__printf(b, "%%%02X", ch);
    }
}

/* The URI the driver sees: ours without the pool options, with short
 * timeouts so an unreachable server fails an operation in seconds. */
static char *driver_uri(const eo_url *url)
{
    eo_buf b = EO_BUF_INIT;
    size_t i;
    int q = 0, sst = 0, ct = 0;
    eo_buf__puts(&b, "mongodb://");
    if (url->user) {
        put_escaped(&b, url->user);
        if (url->password) {
            eo_buf__putc(&b, ':');
            put_escaped(&b, url->password);
        }
        eo_buf__putc(&b, '@');
    }
    eo_buf__puts(&b, url->host && *url->host ? url->host : "127.0.0.1");
    if (url->port)
        eo_buf__printf(&b, ":%d", url->port);
    eo_buf__puts(&b, "/");
    for (i = 0; i < url->nopts; i++) {
        if (opt_ours(url->keys[i]))
            continue;
        if (strcasecmp(url->keys[i], "serverSelectionTimeoutMS") == 0)
            sst = 1;
        if (strcasecmp(url->keys[i], "connectTimeoutMS") == 0)
            ct = 1;
        eo_buf__putc(&b, q++ ? '&' : '?');
        put_escaped(&b, url->keys[i]);
        eo_buf__putc(&b, '=');
        put_escaped(&b, url->vals[i]);
    }
    if (!sst) {
        eo_buf__puts(&b, q++ ? "&" : "?");
        eo_buf__puts(&b, "serverSelectionTimeoutMS=2000");
    }
    if (!ct) {
        eo_buf__puts(&b, q++ ? "&" : "?");
        eo_buf__puts(&b, "connectTimeoutMS=3000");
    }
    if (b.oom) {
        eo_buf__free(&b);
        return NULL;
    }
    return eo_buf__detach(&b);
}

static int command(mg_conn *c, const char *db, const bson_t *cmd, bson_t *reply, eo_error *err)
{
    bson_error_t be;
    uint64_t t0 = eo_clock__ns();
    int ok = mongoc_client_command_simple(c->client, db, cmd, NULL, reply, &be);
    mg__trace_doc(c, EO_Q_OTHER, "command", NULL, cmd, t0, -1);
    if (!ok)
        return mg__error(c, &be, NULL, "command", err);
    return EO_OK;
}

static int mg_open(eo_conn **out, const eo_url *url, eo_error *err)
{
    mg_conn *c;
    char *uri = NULL;
    bson_t reply;
    bson_iter_t it;
    int rc, replset = 0, wire = 0;
    char version[64] = "", ferret[64] = "";

    *out = NULL;
    pthread_once(&init_once, init_driver);
    c = eo_calloc(1, sizeof *c);
    uri = driver_uri(url);
    if (c == NULL || uri == NULL) {
        eo_free(c);
        eo_free(uri);
        return eo_error_set(err, EO_ENOMEM, "out of memory opening %s", url->text);
    }
    c->base.adapter = &eo_mongo_adapter;
    c->shared = pool_get(uri, err);
    eo_free(uri);
    if (c->shared == NULL) {
        eo_free(c);
        return EO_EINVAL;
    }
    snprintf(c->addr, sizeof c->addr, "%s:%d", url->host && *url->host ? url->host : "127.0.0.1",
             url->port ? url->port : 27017);
    /* never block here: EarnORM's own pool bounds and waits */
    c->client = mongoc_client_pool_try_pop(c->shared->pool);
    if (c->client == NULL) {
        rc = eo_error_set(err, EO_EBUSY,
                          "mongodb: every client of the driver's pool for %s is in use "
                          "(raise maxPoolSize in the URL, or lower the pools' max)", c->addr);
        goto fail;
    }
    c->dbname = eo_strdup(url->path && *url->path ? url->path : "earnorm");
    if (c->dbname == NULL) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory opening %s", url->text);
        goto fail;
    }
    /* what is this server? */
    {
        bson_t cmd = BSON_INITIALIZER;
        BSON_APPEND_INT32(&cmd, "hello", 1);
        rc = command(c, "admin", &cmd, &reply, err);
        bson_destroy(&cmd);
        if (rc != EO_OK) {
            bson_destroy(&reply);
            rc = EO_ECONN; /* mg__error named the server */
            goto fail;
        }
        if (bson_iter_init_find(&it, &reply, "setName") ||
            (bson_iter_init_find(&it, &reply, "msg") && BSON_ITER_HOLDS_UTF8(&it) &&
             strcmp(bson_iter_utf8(&it, NULL), "isdbgrid") == 0))
            replset = 1;
        if (bson_iter_init_find(&it, &reply, "maxWireVersion"))
            wire = (int)bson_iter_as_int64(&it);
        bson_destroy(&reply);
    }
    {
        bson_t cmd = BSON_INITIALIZER;
        BSON_APPEND_INT32(&cmd, "buildInfo", 1);
        rc = command(c, "admin", &cmd, &reply, err);
        bson_destroy(&cmd);
        if (rc == EO_OK) {
            if (bson_iter_init_find(&it, &reply, "version") && BSON_ITER_HOLDS_UTF8(&it))
                snprintf(version, sizeof version, "%s", bson_iter_utf8(&it, NULL));
            if (bson_iter_init_find(&it, &reply, "ferretdbVersion") && BSON_ITER_HOLDS_UTF8(&it))
                snprintf(ferret, sizeof ferret, "%s", bson_iter_utf8(&it, NULL));
        }
        bson_destroy(&reply);
        rc = EO_OK;
    }
    c->ferret = ferret[0] != '\0';
    c->decimal128 = !c->ferret;
    c->base.caps = EO_CAP_GROUP | (c->ferret ? EO_CAP_SCANS : 0);
    if (replset && wire >= 7 && !c->ferret)
        c->base.caps |= EO_CAP_TRANSACTIONS;
    if (c->ferret)
        snprintf(c->base.server, sizeof c->base.server, "FerretDB %s, %s", ferret,
                 replset ? "replica set" : "standalone, no transactions");
    else
        snprintf(c->base.server, sizeof c->base.server, "MongoDB %s, %s", version,
                 replset ? "replica set" : "standalone, no transactions");
    *out = &c->base;
    return EO_OK;
fail:
    if (c->client)
        mongoc_client_pool_push(c->shared->pool, c->client);
    pool_put(c->shared);
    eo_free(c->dbname);
    eo_free(c);
    return rc;
}

static void mg_close(eo_conn *base)
{
    mg_conn *c = (mg_conn *)base;
    if (c == NULL)
        return;
    if (c->session) {
        mongoc_client_session_abort_transaction(c->session, NULL);
        mongoc_client_session_destroy(c->session);
    }
    if (c->client)
        mongoc_client_pool_push(c->shared->pool, c->client);
    pool_put(c->shared);
    eo_free(c->dbname);
    eo_free(c);
}

static int mg_ping(eo_conn *base, eo_error *err)
{
    mg_conn *c = (mg_conn *)base;
    bson_t cmd = BSON_INITIALIZER, reply;
    int rc;
    BSON_APPEND_INT32(&cmd, "ping", 1);
    rc = command(c, "admin", &cmd, &reply, err);
    bson_destroy(&cmd);
    bson_destroy(&reply);
    return rc;
}

/* ---- transactions (replica sets) ---- */

static int mg_begin(eo_conn *base, eo_isolation iso, eo_error *err)
{
    mg_conn *c = (mg_conn *)base;
    bson_error_t be;
    if (!(c->base.caps & EO_CAP_TRANSACTIONS))
        return eo_error_set(err, EO_ENOTSUP, "mongodb: %s has no transactions", c->base.server);
    if (iso == EO_ISO_READ_COMMITTED || iso == EO_ISO_REPEATABLE_READ)
        return eo_error_set(err, EO_ENOTSUP,
                            "mongodb: transactions read a snapshot; ask for \"serializable\" or nothing");
    c->txn_serial++;
    c->session = mongoc_client_start_session(c->client, NULL, &be);
    if (c->session == NULL)
        return mg__error(c, &be, NULL, "start session", err);
    if (!mongoc_client_session_start_transaction(c->session, NULL, &be)) {
        mongoc_client_session_destroy(c->session);
        c->session = NULL;
        return mg__error(c, &be, NULL, "start transaction", err);
    }
    eo_conn_trace(&c->base, EO_Q_TXN, "startTransaction", NULL, 0, 0, -1);
    return EO_OK;
}

static int end_txn(mg_conn *c, int commit, eo_error *err)
{
    bson_error_t be;
    bson_t reply;
    int ok;
    if (c->session == NULL)
        return EO_OK;
    if (commit) {
        ok = mongoc_client_session_commit_transaction(c->session, &reply, &be);
        bson_destroy(&reply);
    } else {
        ok = mongoc_client_session_abort_transaction(c->session, &be);
    }
    mongoc_client_session_destroy(c->session);
    c->session = NULL;
    eo_conn_trace(&c->base, EO_Q_TXN, commit ? "commitTransaction" : "abortTransaction", NULL, 0,
                  0, -1);
    if (!ok)
        return mg__error(c, &be, NULL, commit ? "commit" : "abort", err);
    return EO_OK;
}

static int mg_commit(eo_conn *base, eo_error *err) { return end_txn((mg_conn *)base, 1, err); }
static int mg_rollback(eo_conn *base, eo_error *err) { return end_txn((mg_conn *)base, 0, err); }

static int mg_savepoint(eo_conn *base, eo_savepoint_op op, int depth, eo_error *err)
{
    (void)base;
    (void)op;
    (void)depth;
    return eo_error_set(err, EO_ENOTSUP, "mongodb: no savepoints");
}

/* ---- reads ---- */

static void sort_doc(bson_t *opts, const eo_query *q)
{
    bson_t sort;
    size_t i;
    int has_id = 0;
    bson_append_document_begin(opts, "sort", -1, &sort);
    for (i = 0; i < q->norder; i++) {
        const char *k = mg__key(q->order[i].field);
        if (q->order[i].nvia > 0)
            continue; /* a path: sorted by mg__select_paths (explain shows the rest) */
        if (q->order[i].sub != NULL) {
            /* a sub-field of an Embedded field: the dotted key */
            char dk[256];
            snprintf(dk, sizeof dk, "%s.%s", k, q->order[i].sub->name);
            bson_append_int32(&sort, dk, -1, q->order[i].desc ? -1 : 1);
            continue;
        }
        if (strcmp(k, "_id") == 0)
            has_id = 1;
        bson_append_int32(&sort, k, -1, q->order[i].desc ? -1 : 1);
    }
    if (!has_id)
        bson_append_int32(&sort, "_id", -1, 1); /* a stable order */
    bson_append_document_end(opts, &sort);
}

static int find_opts(mg_conn *c, const eo_query *q, bson_t *opts, eo_error *err)
{
    bson_t proj;
    size_t i;
    bson_append_document_begin(opts, "projection", -1, &proj);
    for (i = 0; i < q->nfields; i++)
        bson_append_int32(&proj, mg__key(q->fields[i]), -1, 1);
    bson_append_document_end(opts, &proj);
    sort_doc(opts, q);
    if (q->offset > 0)
        bson_append_int64(opts, "skip", -1, q->offset);
    if (q->limit >= 0)
        bson_append_int64(opts, "limit", -1, q->limit);
    return mg__session_opts(c, opts, err);
}

/*
 * FerretDB checks {_id: {$in: [...]}} by comparing each document of the
 * collection with each listed id: loading 100k records by id from 100k
 * documents is 10^10 comparisons (minutes). From FERRET_IN_RANGE ids on, a
 * find whose domain is `id in [...]` (alone or in the top-level AND, no
 * skip or limit) sends the range {_id: {$gte: min, $lte: max}} instead (two
 * comparisons per document, which FerretDB reads all of either way) and
 * drops the documents of the range that were not asked for here.
 * Measured on FerretDB 1.24 (SQLite): reading a document costs ~17 us,
 * sending one back ~14 us more, an $in comparison ~17 ns. From 1000 ids
 * on, the comparisons cost each document more than sending it would, so
 * the range is never slower, even when the ids are spread over the whole
 * collection; below that, a sparse list could pay for the gaps.
 */
#define FERRET_IN_RANGE 1000

static int ranged_leaf_ok(const eo_dnode *n)
{
    return n->kind == EO_D_LEAF && n->op == EO_OP_IN && n->vkind == EO_DV_LIST &&
           n->field != NULL && n->field->type == EO_FT_ID && n->nlist >= FERRET_IN_RANGE &&
           strchr(n->path, '.') == NULL;
}

static const eo_dnode *ferret_id_range(const mg_conn *c, const eo_query *q)
{
    const eo_dnode *root;
    size_t i;
    if (!c->ferret || q->domain == NULL || q->offset > 0 || q->limit >= 0)
        return NULL;
    root = eo_domain_root(q->domain);
    if (ranged_leaf_ok(root))
        return root;
    if (root->kind == EO_D_AND)
        for (i = 0; i < root->nkids; i++)
            if (ranged_leaf_ok(root->kids[i]))
                return root->kids[i];
    return NULL;
}

/* The listed ids of a ranged leaf; a malformed one is left to the filter. */
static int wanted_ids(const eo_dnode *n, eo_idmap *want, eo_error *err)
{
    size_t i;
    for (i = 0; i < n->nlist; i++) {
        eo_id id;
        if (eo_id_from_value(&id, EO_IDOID, &n->list[i]) != EO_OK)
            continue;
        if (eo_idmap__put(want, id, i) != EO_OK)
            return eo_error_set(err, EO_ENOMEM, "out of memory");
    }
    return EO_OK;
}

/* Is this document's _id one of the wanted ones? */
static int wanted_doc(const eo_idmap *want, const bson_t *doc)
{
    bson_iter_t it;
    eo_id id;
    size_t slot;
    if (!bson_iter_init_find(&it, doc, "_id") || !BSON_ITER_HOLDS_OID(&it))
        return 0;
    memset(&id, 0, sizeof id);
    memcpy(id.oid, bson_iter_oid(&it)->bytes, 12);
    return eo_idmap__get(want, id, &slot);
}

/* The filter of q. On FerretDB a long `id in` becomes its range: then
 * *ranged is that leaf and `want` holds the ids to keep of what it finds. */
static int query_filter(mg_conn *c, const eo_query *q, bson_t *filter, const eo_dnode **ranged,
                        eo_idmap *want, eo_error *err)
{
    int rc;
    *ranged = ferret_id_range(c, q);
    if (*ranged && (rc = wanted_ids(*ranged, want, err)) != EO_OK)
        return rc;
    c->id_range = *ranged;
    rc = mg__filter(c, q->model, q->domain, filter, err);
    c->id_range = NULL;
    return rc;
}

static int mg_select(eo_conn *base, const eo_query *q, eo_row_fn fn, void *payload, eo_error *err)
{
    mg_conn *c = (mg_conn *)base;
    mongoc_collection_t *coll = NULL;
    mongoc_cursor_t *cur = NULL;
    const bson_t *doc;
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER;
    bson_error_t be;
    eo_value *row = NULL;
    mg_scratch s;
    eo_idmap want = { 0 };
    const eo_dnode *ranged;
    uint64_t t0 = eo_clock__ns();
    int64_t nrows = 0;
    size_t i;
    int rc;

    memset(&s, 0, sizeof s);
    if (mg__order_has_paths(q)) {
        if ((rc = query_filter(c, q, &filter, &ranged, &want, err)) == EO_OK)
            rc = mg__select_paths(c, q, &filter, ranged ? &want : NULL, fn, payload, err);
        bson_destroy(&filter);
        eo_idmap__free(&want);
        return rc;
    }
    if ((rc = query_filter(c, q, &filter, &ranged, &want, err)) != EO_OK ||
        (rc = find_opts(c, q, &opts, err)) != EO_OK)
        goto done;
    row = eo_malloc((q->nfields ? q->nfields : 1) * sizeof *row);
    coll = mg__collection(c, q->model);
    if (row == NULL || coll == NULL) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    cur = mongoc_collection_find_with_opts(coll, &filter, &opts, NULL);
    while (mongoc_cursor_next(cur, &doc)) {
        if (ranged && !wanted_doc(&want, doc))
            continue;
        nrows++;
        eo_arena__reset(&s.arena);
        for (i = 0; i < q->nfields && rc == EO_OK; i++) {
            bson_iter_t it;
            if (bson_iter_init_find(&it, doc, mg__key(q->fields[i])))
                rc = mg__read(c, &it, q->fields[i], &s, &row[i], err);
            else
                row[i] = eo_null();
        }
        if (rc == EO_OK)
            rc = fn(payload, row, q->nfields, err);
        if (rc != EO_OK)
            goto done;
    }
    if (mongoc_cursor_error(cur, &be))
        rc = mg__error(c, &be, q->model, "find", err);
done:
    if (c->base.trace) {
        char *f = bson_as_relaxed_extended_json(&filter, NULL);
        char *o = bson_as_relaxed_extended_json(&opts, NULL);
        char line[1024];
        if (ranged)
            snprintf(line, sizeof line, "find %s %s %s (the range of %zu ids, narrowed here)",
                     q->model->table, f ? f : "", o ? o : "", ranged->nlist);
        else
            snprintf(line, sizeof line, "find %s %s %s", q->model->table, f ? f : "", o ? o : "");
        bson_free(f);
        bson_free(o);
        eo_conn_trace(&c->base, EO_Q_SELECT, line, NULL, 0, eo_clock__ns() - t0, nrows);
    }
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(coll);
    bson_destroy(&filter);
    bson_destroy(&opts);
    eo_arena__free(&s.arena);
    eo_idmap__free(&want);
    eo_free(row);
    return rc;
}

/* ---- cursors ----
 *
 * The find and getMore commands, sent here rather than through
 * mongoc_cursor_t so each round trip is traced: find with batchSize 0 opens
 * the cursor on the server (no documents), each call sends one getMore.
 * Commands go to the server the find went to (serverId) and carry the
 * session inside a transaction. Each getMore asks one document more than
 * the call delivers and keeps it for the next call, so the call that
 * reads the last documents sees the cursor end (id 0) and N documents read
 * n at a time cost ceil(N/n) getMores. Sorting by a path (partner_id.name)
 * happens client-side over every document (mongo_order.c): no cursor.
 */

struct eo_adapter_cursor {
    const eo_model *m;
    const eo_field **fields;  /* Borrowed from the registry; the array Owned */
    size_t ncols;
    eo_value *row;
    mg_scratch s;
    int64_t id;               /* the server's cursor; 0 once it ended */
    uint32_t server_id;
    bson_t reply;             /* the last batch, iterated by `batch` */
    int have_reply;
    bson_iter_t batch;
    int batch_left;           /* `batch` may hold more documents */
    unsigned txn;             /* the transaction it was opened in (txn_serial), 0: none */
};

/* Options of a cursor's command: its server, and the session of the
 * transaction it was opened in. A cursor opened outside one stays outside
 * (its getMores carry no session even when a transaction began since: the
 * server would refuse a cursor moving into a session); one opened in a
 * transaction that ended is gone with it. */
static int cursor_cmd_opts(mg_conn *c, eo_adapter_cursor *cur, bson_t *opts, eo_error *err)
{
    if (cur->server_id)
        BSON_APPEND_INT32(opts, "serverId", (int32_t)cur->server_id);
    if (cur->txn == 0)
        return EO_OK;
    if (c->session == NULL || c->txn_serial != cur->txn)
        return eo_error_set(err, EO_ETXNSTATE,
                            "mongodb: %s: the transaction this cursor was opened in has ended",
                            cur->m->name);
    return mg__session_opts(c, opts, err);
}

/* Run a cursor command, keep its reply's batch (`key`: firstBatch or nextBatch). */
static int cursor_cmd(mg_conn *c, eo_adapter_cursor *cur, const bson_t *cmd, const char *verb,
                      const char *key, eo_error *err)
{
    bson_t opts = BSON_INITIALIZER;
    bson_error_t be;
    bson_iter_t it, cit;
    uint64_t t0 = eo_clock__ns();
    int rc, ok, n = -1;
    if (cur->have_reply)
        bson_destroy(&cur->reply);
    cur->have_reply = 0;
    cur->batch_left = 0;
    if ((rc = cursor_cmd_opts(c, cur, &opts, err)) != EO_OK) {
        bson_destroy(&opts);
        return rc;
    }
    ok = mongoc_client_read_command_with_opts(c->client, c->dbname, cmd, NULL, &opts,
                                              &cur->reply, &be);
    bson_destroy(&opts);
    cur->have_reply = 1;
    if (!ok) {
        cur->id = 0;
        rc = mg__error(c, &be, cur->m, verb, err);
    } else if (!bson_iter_init_find(&it, &cur->reply, "cursor") ||
               !BSON_ITER_HOLDS_DOCUMENT(&it) || !bson_iter_recurse(&it, &cit)) {
        cur->id = 0;
        rc = eo_error_set(err, EO_ERROR, "mongodb: %s: the reply holds no cursor", verb);
    } else {
        bson_iter_t idit = cit, bit = cit;
        cur->id = bson_iter_find(&idit, "id") ? bson_iter_as_int64(&idit) : 0;
        if (bson_iter_find(&bit, key) && BSON_ITER_HOLDS_ARRAY(&bit) &&
            bson_iter_recurse(&bit, &cur->batch)) {
            bson_iter_t count = cur->batch;
            cur->batch_left = 1;
            for (n = 0; bson_iter_next(&count); n++)
                ;
        }
    }
    mg__trace_doc(c, EO_Q_SELECT, verb, cur->m, cmd, t0, n);
    return rc;
}

static void mg_cursor_close(eo_conn *base, eo_adapter_cursor *cur)
{
    mg_conn *c = (mg_conn *)base;
    if (cur == NULL)
        return;
    if (cur->id != 0 && !c->base.broken) {
        bson_t cmd = BSON_INITIALIZER, opts = BSON_INITIALIZER, reply, arr;
        uint64_t t0 = eo_clock__ns();
        BSON_APPEND_UTF8(&cmd, "killCursors", cur->m->table);
        BSON_APPEND_ARRAY_BEGIN(&cmd, "cursors", &arr);
        BSON_APPEND_INT64(&arr, "0", cur->id);
        bson_append_array_end(&cmd, &arr);
        if (cursor_cmd_opts(c, cur, &opts, NULL) == EO_OK)
            mongoc_client_read_command_with_opts(c->client, c->dbname, &cmd, NULL, &opts,
                                                 &reply, NULL);
        else
            bson_init(&reply);
        mg__trace_doc(c, EO_Q_OTHER, "killCursors", cur->m, &cmd, t0, -1);
        bson_destroy(&reply);
        bson_destroy(&opts);
        bson_destroy(&cmd);
    }
    if (cur->have_reply)
        bson_destroy(&cur->reply);
    eo_arena__free(&cur->s.arena);
    eo_free(cur->fields);
    eo_free(cur->row);
    eo_free(cur);
}

static int mg_cursor_open(eo_conn *base, const eo_query *q, eo_adapter_cursor **out,
                          eo_error *err)
{
    mg_conn *c = (mg_conn *)base;
    eo_adapter_cursor *cur;
    bson_t cmd = BSON_INITIALIZER, filter = BSON_INITIALIZER, proj;
    bson_error_t be;
    mongoc_server_description_t *sd;
    size_t i, n = q->nfields ? q->nfields : 1;
    int rc;

    *out = NULL;
    if (mg__order_has_paths(q)) {
        bson_destroy(&cmd);
        bson_destroy(&filter);
        rc = eo_error_set(err, EO_ENOTSUP,
                          "mongodb: %s: a cursor cannot order by a path through a Many2one "
                          "(the server cannot sort by another collection's values); "
                          "use search() for that order", q->model->name);
        eo_error_where(err, q->model->name, NULL);
        return rc;
    }
    if ((cur = eo_calloc(1, sizeof *cur)) == NULL ||
        (cur->fields = eo_calloc(n, sizeof *cur->fields)) == NULL ||
        (cur->row = eo_calloc(n, sizeof *cur->row)) == NULL) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    cur->m = q->model;
    cur->txn = c->session ? c->txn_serial : 0;
    cur->ncols = q->nfields;
    for (i = 0; i < q->nfields; i++)
        cur->fields[i] = q->fields[i];
    if ((rc = mg__filter(c, q->model, q->domain, &filter, err)) != EO_OK)
        goto done;
    /* the server the cursor lives on: every getMore must go there */
    if ((sd = mongoc_client_select_server(c->client, false, NULL, &be)) == NULL) {
        rc = mg__error(c, &be, q->model, "find", err);
        goto done;
    }
    cur->server_id = mongoc_server_description_id(sd);
    mongoc_server_description_destroy(sd);
    BSON_APPEND_UTF8(&cmd, "find", q->model->table);
    BSON_APPEND_DOCUMENT(&cmd, "filter", &filter);
    bson_append_document_begin(&cmd, "projection", -1, &proj);
    for (i = 0; i < q->nfields; i++)
        bson_append_int32(&proj, mg__key(q->fields[i]), -1, 1);
    bson_append_document_end(&cmd, &proj);
    sort_doc(&cmd, q);
    if (q->offset > 0)
        BSON_APPEND_INT64(&cmd, "skip", q->offset);
    if (q->limit >= 0)
        BSON_APPEND_INT64(&cmd, "limit", q->limit);
    BSON_APPEND_INT32(&cmd, "batchSize", 0);
    rc = cursor_cmd(c, cur, &cmd, "find", "firstBatch", err);
done:
    bson_destroy(&cmd);
    bson_destroy(&filter);
    if (rc != EO_OK) {
        mg_cursor_close(base, cur);
        return rc;
    }
    *out = cur;
    return EO_OK;
}

static int mg_cursor_more(mg_conn *c, eo_adapter_cursor *cur, size_t k, eo_error *err)
{
    bson_t cmd = BSON_INITIALIZER;
    int rc;
    BSON_APPEND_INT64(&cmd, "getMore", cur->id);
    BSON_APPEND_UTF8(&cmd, "collection", cur->m->table);
    BSON_APPEND_INT64(&cmd, "batchSize", (int64_t)k);
    rc = cursor_cmd(c, cur, &cmd, "getMore", "nextBatch", err);
    bson_destroy(&cmd);
    return rc;
}

/* The next document of the batch held, or 0. */
static int batch_doc(eo_adapter_cursor *cur, bson_t *doc)
{
    const uint8_t *data;
    uint32_t len;
    while (cur->batch_left) {
        if (!bson_iter_next(&cur->batch)) {
            cur->batch_left = 0;
            break;
        }
        if (!BSON_ITER_HOLDS_DOCUMENT(&cur->batch))
            continue;
        bson_iter_document(&cur->batch, &len, &data);
        if (bson_init_static(doc, data, len))
            return 1;
    }
    return 0;
}

/* Does the batch held have a document left (without taking it)? */
static int batch_has(const eo_adapter_cursor *cur)
{
    bson_iter_t it = cur->batch;
    return cur->batch_left && bson_iter_next(&it);
}

static int mg_cursor_next(eo_conn *base, eo_adapter_cursor *cur, size_t n, eo_row_fn fn,
                          void *payload, int *done, eo_error *err)
{
    mg_conn *c = (mg_conn *)base;
    size_t got = 0, i;
    bson_t doc;
    int rc = EO_OK;
    while (got < n && rc == EO_OK) {
        if (batch_doc(cur, &doc)) {
            eo_arena__reset(&cur->s.arena);
            for (i = 0; i < cur->ncols && rc == EO_OK; i++) {
                bson_iter_t it;
                if (bson_iter_init_find(&it, &doc, mg__key(cur->fields[i])))
                    rc = mg__read(c, &it, cur->fields[i], &cur->s, &cur->row[i], err);
                else
                    cur->row[i] = eo_null();
            }
            got++;
            if (rc == EO_OK)
                rc = fn(payload, cur->row, cur->ncols, err);
            continue;
        }
        if (cur->id == 0)
            break;
        rc = mg_cursor_more(c, cur, n - got + 1, err); /* one ahead: is a document left? */
    }
    *done = cur->id == 0 && !batch_has(cur);
    return rc;
}

static int mg_count(eo_conn *base, const eo_query *q, int64_t *out, eo_error *err)
{
    mg_conn *c = (mg_conn *)base;
    mongoc_collection_t *coll;
    mongoc_cursor_t *cur = NULL;
    const bson_t *doc;
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, proj;
    bson_error_t be;
    eo_idmap want = { 0 };
    const eo_dnode *ranged;
    uint64_t t0 = eo_clock__ns();
    int rc;
    *out = 0;
    if ((rc = query_filter(c, q, &filter, &ranged, &want, err)) != EO_OK ||
        (rc = mg__session_opts(c, &opts, err)) != EO_OK)
        goto done;
    if ((coll = mg__collection(c, q->model)) == NULL) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    if (ranged) {
        /* the range's ids, the listed ones counted here (see mg_select) */
        bson_append_document_begin(&opts, "projection", -1, &proj);
        bson_append_int32(&proj, "_id", -1, 1);
        bson_append_document_end(&opts, &proj);
        cur = mongoc_collection_find_with_opts(coll, &filter, &opts, NULL);
        while (mongoc_cursor_next(cur, &doc))
            if (wanted_doc(&want, doc))
                ++*out;
        if (mongoc_cursor_error(cur, &be)) {
            *out = 0;
            rc = mg__error(c, &be, q->model, "count", err);
        }
        mongoc_cursor_destroy(cur);
    } else {
        *out = mongoc_collection_count_documents(coll, &filter, &opts, NULL, NULL, &be);
        if (*out < 0) {
            *out = 0;
            rc = mg__error(c, &be, q->model, "count", err);
        }
    }
    mongoc_collection_destroy(coll);
done:
    mg__trace_doc(c, EO_Q_SELECT, ranged ? "count (the range of the ids, narrowed here)" : "count",
              q->model, &filter, t0, *out);
    eo_idmap__free(&want);
    bson_destroy(&filter);
    bson_destroy(&opts);
    return rc;
}

/* ---- writes ---- */

/* op: [ObjectId, ...] of ids, into cond (an operator document). */
void mg__append_oids(bson_t *cond, const char *op, const eo_id *ids, size_t n)
{
    bson_t arr;
    size_t i;
    bson_append_array_begin(cond, op, -1, &arr);
    for (i = 0; i < n; i++) {
        char k[16];
        const char *kp;
        bson_oid_t oid;
        bson_uint32_to_string((uint32_t)i, &kp, k, sizeof k);
        bson_oid_init_from_data(&oid, ids[i].oid);
        bson_append_oid(&arr, kp, -1, &oid);
    }
    bson_append_array_end(cond, &arr);
}

static void ids_filter(mg_conn *c, bson_t *filter, const eo_id *ids, size_t n)
{
    bson_t cond;
    (void)c;
    if (n == 1) {
        /* the plain form: FerretDB pushes only {_id: <oid>} down to its backend */
        bson_oid_t oid;
        bson_oid_init_from_data(&oid, ids[0].oid);
        bson_append_oid(filter, "_id", -1, &oid);
        return;
    }
    bson_append_document_begin(filter, "_id", -1, &cond);
    mg__append_oids(&cond, "$in", ids, n);
    bson_append_document_end(filter, &cond);
}

/* Would these values break a unique field? Checked before writing, so a
 * server without transactions is not left with half a batch. `except`:
 * ids whose own values do not count (a write's records). */
static int unique_check(mg_conn *c, const eo_model *m, const eo_field *f, const eo_value *vals,
                        size_t n, size_t stride, const eo_id *except, size_t nexcept,
                        eo_error *err)
{
    mongoc_collection_t *coll;
    bson_t filter = BSON_INITIALIZER, cond, arr, opts = BSON_INITIALIZER;
    eo_vset seen = { 0 };
    bson_error_t be;
    size_t i, k = 0;
    int64_t found;
    int rc = EO_OK;
    const eo_value *dup = NULL;
    for (i = 0; i < n; i++) {
        const eo_value *v = &vals[i * stride];
        int added;
        if (v->type == EO_VNULL)
            continue;
        added = eo_vset__add(&seen, v);
        if (added < 0) {
            eo_vset__free(&seen);
            return eo_error_set(err, EO_ENOMEM, "out of memory");
        }
        if (!added) {
            dup = v;
            break;
        }
    }
    if (dup == NULL && seen.len > 0) {
        bson_append_document_begin(&filter, mg__key(f), -1, &cond);
        bson_append_array_begin(&cond, "$in", -1, &arr);
        for (i = 0; i < n && rc == EO_OK; i++) {
            char key[16];
            const char *kp;
            if (vals[i * stride].type == EO_VNULL)
                continue;
            bson_uint32_to_string((uint32_t)k++, &kp, key, sizeof key);
            rc = mg__append(c, &arr, kp, f, &vals[i * stride], err);
        }
        bson_append_array_end(&cond, &arr);
        bson_append_document_end(&filter, &cond);
        if (nexcept) {
            bson_t idc;
            bson_append_document_begin(&filter, "_id", -1, &idc);
            mg__append_oids(&idc, "$nin", except, nexcept);
            bson_append_document_end(&filter, &idc);
        }
        if (rc == EO_OK && (rc = mg__session_opts(c, &opts, err)) == EO_OK &&
            (coll = mg__collection(c, m)) != NULL) {
            uint64_t t0 = eo_clock__ns();
            bson_append_int64(&opts, "limit", -1, 1);
            found = mongoc_collection_count_documents(coll, &filter, &opts, NULL, NULL, &be);
            mg__trace_doc(c, EO_Q_SELECT, "count", m, &filter, t0, found);
            mongoc_collection_destroy(coll);
            if (found < 0)
                rc = mg__error(c, &be, m, "count", err);
            else if (found > 0)
                dup = &vals[0];
        }
    }
    if (rc == EO_OK && dup) {
        if (dup == &vals[0] && seen.len > 1)
            eo_error_set(err, EO_ECONFLICT, "%s.%s: duplicate value: it must be unique", m->name,
                         f->name);
        else if (dup->type == EO_VTEXT)
            eo_error_set(err, EO_ECONFLICT, "%s.%s: duplicate value '%.*s': it must be unique",
                         m->name, f->name, (int)(dup->u.s.n > 80 ? 80 : dup->u.s.n), dup->u.s.p);
        else if (dup->type == EO_VINT)
            eo_error_set(err, EO_ECONFLICT, "%s.%s: duplicate value %lld: it must be unique",
                         m->name, f->name, (long long)dup->u.i);
        else
            eo_error_set(err, EO_ECONFLICT, "%s.%s: duplicate value: it must be unique", m->name,
                         f->name);
        eo_error_where(err, m->name, f->name);
        eo_error__native(err, EO_DOMAIN_MONGO, 11000);
        rc = EO_ECONFLICT;
    }
    eo_vset__free(&seen);
    bson_destroy(&filter);
    bson_destroy(&opts);
    return rc;
}

static int delete_ids(mg_conn *c, const eo_model *m, const eo_id *ids, size_t n, int64_t *deleted,
                      eo_error *err)
{
    mongoc_collection_t *coll = mg__collection(c, m);
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, reply;
    bson_error_t be;
    bson_iter_t it;
    uint64_t t0 = eo_clock__ns();
    int rc = EO_OK;
    *deleted = 0;
    if (coll == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    ids_filter(c, &filter, ids, n);
    if ((rc = mg__session_opts(c, &opts, err)) == EO_OK) {
        if (!mongoc_collection_delete_many(coll, &filter, &opts, &reply, &be))
            rc = mg__error(c, &be, m, "delete", err);
        else if (bson_iter_init_find(&it, &reply, "deletedCount"))
            *deleted = bson_iter_as_int64(&it);
        bson_destroy(&reply);
    }
    mg__trace_doc(c, EO_Q_DELETE, "delete", m, NULL, t0, *deleted);
    mongoc_collection_destroy(coll);
    bson_destroy(&filter);
    bson_destroy(&opts);
    return rc;
}

static int mg_insert(eo_conn *base, const eo_model *m, const eo_field *const *cols, size_t ncols,
                     const eo_value *vals, size_t nrows, eo_id *out_ids, eo_error *err)
{
    mg_conn *c = (mg_conn *)base;
    mongoc_collection_t *coll = NULL;
    bson_t **docs = NULL, opts = BSON_INITIALIZER, reply;
    bson_error_t be;
    uint64_t t0 = eo_clock__ns();
    size_t r, i, first = 0;
    int rc = EO_OK, given = ncols > 0 && cols[0]->type == EO_FT_ID;

    if (given)
        first = 1; /* restoring records with their ids (the undo journal) */
    for (i = first; i < ncols && rc == EO_OK && !given; i++)
        if ((cols[i]->flags & EO_FF_UNIQUE))
            rc = unique_check(c, m, cols[i], vals + i, nrows, ncols, NULL, 0, err);
    if (rc == EO_OK && !given && m->nindexes)
        rc = mg__compound_insert_check(c, m, cols, ncols, vals, nrows, err);
    if (rc != EO_OK)
        return rc;
    docs = eo_calloc(nrows ? nrows : 1, sizeof *docs);
    if (docs == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    for (r = 0; r < nrows && rc == EO_OK; r++) {
        const eo_value *row = vals + r * ncols;
        bson_oid_t oid;
        docs[r] = bson_new();
        if (given) {
            if (eo_id_from_value(&out_ids[r], EO_IDOID, &row[0]) != EO_OK) {
                rc = eo_error_set(err, EO_EINVAL, "%s: restoring a record without an ObjectId",
                                  m->name);
                break;
            }
            bson_oid_init_from_data(&oid, out_ids[r].oid);
        } else {
            bson_oid_init(&oid, NULL);
            out_ids[r] = eo_id_num(0);
            memcpy(out_ids[r].oid, oid.bytes, 12);
        }
        bson_append_oid(docs[r], "_id", 3, &oid);
        for (i = first; i < ncols && rc == EO_OK; i++)
            if (row[i].type != EO_VNULL)
                rc = mg__append(c, docs[r], mg__key(cols[i]), cols[i], &row[i], err);
    }
    if (rc == EO_OK && (rc = mg__session_opts(c, &opts, err)) == EO_OK) {
        coll = mg__collection(c, m);
        if (coll == NULL) {
            rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        } else if (!mongoc_collection_insert_many(coll, (const bson_t **)docs, nrows, &opts, &reply,
                                                  &be)) {
            int64_t gone;
            eo_error ignored;
            rc = mg__error(c, &be, m, "insert", err);
            /* an ordered insert stopped half-way: take back what went in */
            if (rc != EO_ECONN && c->session == NULL)
                delete_ids(c, m, out_ids, nrows, &gone, &ignored);
        }
        bson_destroy(&reply);
    }
    {
        char line[256];
        snprintf(line, sizeof line, "insert %s (%zu documents)", m->table, nrows);
        eo_conn_trace(&c->base, EO_Q_INSERT, line, NULL, 0, eo_clock__ns() - t0, (int64_t)nrows);
    }
    for (r = 0; r < nrows; r++)
        if (docs[r])
            bson_destroy(docs[r]);
    eo_free(docs);
    mongoc_collection_destroy(coll);
    bson_destroy(&opts);
    return rc;
}

static int update_docs(eo_conn *base, const eo_model *m, const eo_id *ids, size_t nids,
                       const eo_field *const *cols, const eo_value *vals, size_t ncols,
                       const eo_field *check, const eo_value *expect, int64_t *affected,
                       eo_error *err);

static int mg_update(eo_conn *base, const eo_model *m, const eo_id *ids, size_t nids,
                     const eo_field *const *cols, const eo_value *vals, size_t ncols,
                     int64_t *affected, eo_error *err)
{
    return update_docs(base, m, ids, nids, cols, vals, ncols, NULL, NULL, affected, err);
}

/* The version check is in the filter: a document whose version changed
 * since is not matched, per document and atomically, with or without
 * transactions. */
static int mg_update_if(eo_conn *base, const eo_model *m, const eo_id *ids, size_t nids,
                        const eo_field *const *cols, const eo_value *vals, size_t ncols,
                        const eo_field *check, const eo_value *expect, int64_t *affected,
                        eo_error *err)
{
    return update_docs(base, m, ids, nids, cols, vals, ncols, check, expect, affected, err);
}

static int update_docs(eo_conn *base, const eo_model *m, const eo_id *ids, size_t nids,
                       const eo_field *const *cols, const eo_value *vals, size_t ncols,
                       const eo_field *check, const eo_value *expect, int64_t *affected,
                       eo_error *err)
{
    mg_conn *c = (mg_conn *)base;
    mongoc_collection_t *coll = NULL;
    bson_t filter = BSON_INITIALIZER, update = BSON_INITIALIZER, set, unset;
    bson_t opts = BSON_INITIALIZER, reply;
    bson_error_t be;
    bson_iter_t it;
    uint64_t t0 = eo_clock__ns();
    size_t i, nset = 0, nunset = 0;
    int rc = EO_OK;

    *affected = 0;
    for (i = 0; i < ncols && rc == EO_OK; i++) {
        if (!(cols[i]->flags & EO_FF_UNIQUE) || vals[i].type == EO_VNULL)
            continue;
        if (nids > 1) {
            /* one value on several records cannot stay unique */
            rc = eo_error_set(err, EO_ECONFLICT,
                              "%s.%s: writing one value on %zu records: it must be unique",
                              m->name, cols[i]->name, nids);
            eo_error_where(err, m->name, cols[i]->name);
        } else {
            rc = unique_check(c, m, cols[i], &vals[i], 1, 1, ids, nids, err);
        }
    }
    if (rc == EO_OK && m->nindexes)
        rc = mg__compound_update_check(c, m, ids, nids, cols, vals, ncols, err);
    if (rc != EO_OK)
        return rc;
    for (i = 0; i < ncols; i++) {
        if (vals[i].type == EO_VNULL)
            nunset++;
        else
            nset++;
    }
    if (nset) {
        bson_append_document_begin(&update, "$set", -1, &set);
        for (i = 0; i < ncols && rc == EO_OK; i++)
            if (vals[i].type != EO_VNULL)
                rc = mg__append(c, &set, mg__key(cols[i]), cols[i], &vals[i], err);
        bson_append_document_end(&update, &set);
    }
    if (nunset) {
        bson_append_document_begin(&update, "$unset", -1, &unset);
        for (i = 0; i < ncols; i++)
            if (vals[i].type == EO_VNULL)
                bson_append_utf8(&unset, mg__key(cols[i]), -1, "", 0);
        bson_append_document_end(&update, &unset);
    }
    ids_filter(c, &filter, ids, nids);
    if (check && rc == EO_OK) {
        if (expect == NULL || expect->type == EO_VNULL)
            bson_append_null(&filter, mg__key(check), -1);
        else
            rc = mg__append(c, &filter, mg__key(check), check, expect, err);
    }
    if (rc == EO_OK && (rc = mg__session_opts(c, &opts, err)) == EO_OK) {
        if ((coll = mg__collection(c, m)) == NULL) {
            rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        } else if (!mongoc_collection_update_many(coll, &filter, &update, &opts, &reply, &be)) {
            rc = mg__error(c, &be, m, "update", err);
        } else if (bson_iter_init_find(&it, &reply, "matchedCount")) {
            *affected = bson_iter_as_int64(&it);
        }
        if (coll)
            bson_destroy(&reply);
    }
    mg__trace_doc(c, EO_Q_UPDATE, "update", m, &update, t0, *affected);
    mongoc_collection_destroy(coll);
    bson_destroy(&filter);
    bson_destroy(&update);
    bson_destroy(&opts);
    return rc;
}

/*
 * FerretDB 1.24 holds one SQLite connection per statement of an update
 * command until the command ends, from a pool of 100 for the whole
 * server: a bulk of 100 statements (or a few concurrent bulks adding up to
 * that) wait for each other forever. Its bulks stay far below.
 */
#define FERRET_BULK 16

static int update_each_bulk(mg_conn *c, const eo_model *m, const eo_id *ids, size_t n,
                            const eo_field *f, const eo_value *vals, int64_t *affected,
                            eo_error *err);

/* One value per record: ordered bulks of update_one, one round trip each. */
static int mg_update_each(eo_conn *base, const eo_model *m, const eo_id *ids, size_t n,
                          const eo_field *f, const eo_value *vals, int64_t *affected,
                          eo_error *err)
{
    mg_conn *c = (mg_conn *)base;
    uint64_t t0 = eo_clock__ns();
    size_t start, step = c->ferret ? FERRET_BULK : n;
    int rc = EO_OK;
    *affected = 0;
    if ((f->flags & EO_FF_UNIQUE) && (rc = unique_check(c, m, f, vals, n, 1, ids, n, err)) != EO_OK)
        return rc;
    for (start = 0; start < n && rc == EO_OK; start += step) {
        size_t k = n - start < step ? n - start : step;
        int64_t got = 0;
        rc = update_each_bulk(c, m, ids + start, k, f, vals + start, &got, err);
        *affected += got;
    }
    if (c->base.trace) {
        char line[200];
        snprintf(line, sizeof line,
                 "update %s (%zu statements, one per record, in bulks of %zu: $set %s)", m->table,
                 n, step, mg__key(f));
        eo_conn_trace(&c->base, EO_Q_UPDATE, line, NULL, 0, eo_clock__ns() - t0, *affected);
    }
    return rc;
}

static int update_each_bulk(mg_conn *c, const eo_model *m, const eo_id *ids, size_t n,
                            const eo_field *f, const eo_value *vals, int64_t *affected,
                            eo_error *err)
{
    mongoc_collection_t *coll = NULL;
    mongoc_bulk_operation_t *bulk = NULL;
    bson_t opts = BSON_INITIALIZER, reply = BSON_INITIALIZER;
    bson_error_t be;
    bson_iter_t it;
    const char *key = mg__key(f);
    size_t i;
    int rc;

    *affected = 0;
    if ((rc = mg__session_opts(c, &opts, err)) != EO_OK)
        goto done;
    BSON_APPEND_BOOL(&opts, "ordered", true);
    if ((coll = mg__collection(c, m)) == NULL ||
        (bulk = mongoc_collection_create_bulk_operation_with_opts(coll, &opts)) == NULL) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    for (i = 0; i < n && rc == EO_OK; i++) {
        bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, sub;
        ids_filter(c, &sel, &ids[i], 1);
        if (vals[i].type == EO_VNULL) {
            bson_append_document_begin(&upd, "$unset", -1, &sub);
            bson_append_utf8(&sub, key, -1, "", 0);
        } else {
            bson_append_document_begin(&upd, "$set", -1, &sub);
            rc = mg__append(c, &sub, key, f, &vals[i], err);
        }
        bson_append_document_end(&upd, &sub);
        if (rc == EO_OK && !mongoc_bulk_operation_update_one_with_opts(bulk, &sel, &upd, NULL, &be))
            rc = mg__error(c, &be, m, "update", err);
        bson_destroy(&sel);
        bson_destroy(&upd);
    }
    if (rc == EO_OK) {
        if (!mongoc_bulk_operation_execute(bulk, &reply, &be))
            rc = mg__error(c, &be, m, "update", err);
        else if (bson_iter_init_find(&it, &reply, "nMatched"))
            *affected = bson_iter_as_int64(&it);
    }
done:
    mongoc_bulk_operation_destroy(bulk);
    mongoc_collection_destroy(coll);
    bson_destroy(&reply);
    bson_destroy(&opts);
    return rc;
}

static int mg_remove(eo_conn *base, const eo_model *m, const eo_id *ids, size_t nids,
                     int64_t *affected, eo_error *err)
{
    return delete_ids((mg_conn *)base, m, ids, nids, affected, err);
}

static int mg_group(eo_conn *base, const eo_group_query *g, eo_row_fn fn, void *payload,
                    eo_error *err)
{
    return mg__group((mg_conn *)base, g, fn, payload, err);
}

static int mg_explain(eo_conn *base, const eo_query *q, char **out, eo_error *err)
{
    mg_conn *c = (mg_conn *)base;
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, cmd = BSON_INITIALIZER, find,
           reply;
    eo_buf b = EO_BUF_INIT;
    char *f = NULL, *o = NULL, *r = NULL;
    int rc;
    *out = NULL;
    if ((rc = mg__filter(c, q->model, q->domain, &filter, err)) != EO_OK ||
        (rc = find_opts(c, q, &opts, err)) != EO_OK)
        goto done;
    f = bson_as_relaxed_extended_json(&filter, NULL);
    o = bson_as_relaxed_extended_json(&opts, NULL);
    eo_buf__printf(&b, "server: %s\ncollection: %s\nfilter: %s\noptions: %s\n", c->base.server,
                   q->model->table, f ? f : "{}", o ? o : "{}");
    eo_buf__printf(&b, "relations: 'any' and dotted paths run as id queries first%s\n",
                   c->ferret ? " (FerretDB has no $lookup)" : "");
    eo_buf__printf(&b, "read_group: %s\n",
                   c->ferret ? "on the server ($match + $group) when it only counts records; "
                               "client-side for every aggregate (sum, avg, min, max, count_distinct) "
                               "and for date buckets (FerretDB's "
                               "$group has $sum/$count only and fills one accumulator per group)"
                             : "on the server ($match + $group), date buckets client-side");
    bson_append_document_begin(&cmd, "explain", -1, &find);
    bson_append_utf8(&find, "find", -1, q->model->table, -1);
    bson_append_document(&find, "filter", -1, &filter);
    bson_append_document_end(&cmd, &find);
    if (command(c, c->dbname, &cmd, &reply, NULL) == EO_OK) {
        bson_iter_t it;
        if (bson_iter_init_find(&it, &reply, "queryPlanner") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
            const uint8_t *data;
            uint32_t len;
            bson_t qp;
            bson_iter_document(&it, &len, &data);
            if (bson_init_static(&qp, data, len))
                r = bson_as_relaxed_extended_json(&qp, NULL);
        }
    }
    bson_destroy(&reply);
    eo_buf__printf(&b, "plan: %s\n", r ? r : "(the server gave none)");
    if (b.oom) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    *out = eo_buf__detach(&b);
done:
    bson_free(f);
    bson_free(o);
    bson_free(r);
    eo_buf__free(&b);
    bson_destroy(&filter);
    bson_destroy(&opts);
    bson_destroy(&cmd);
    return rc;
}

/* ---- migration ---- */

static int exists_coll(mg_conn *c, const char *name, int *out, eo_error *err)
{
    mongoc_database_t *db = mongoc_client_get_database(c->client, c->dbname);
    bson_error_t be;
    bson_t opts = BSON_INITIALIZER, filter;
    char **names;
    int rc = EO_OK;
    *out = 0;
    bson_append_document_begin(&opts, "filter", -1, &filter);
    bson_append_utf8(&filter, "name", -1, name, -1);
    bson_append_document_end(&opts, &filter);
    names = mongoc_database_get_collection_names_with_opts(db, &opts, &be);
    if (names == NULL) {
        rc = mg__error(c, &be, NULL, "listCollections", err);
    } else {
        *out = names[0] != NULL;
        bson_strfreev(names);
    }
    bson_destroy(&opts);
    mongoc_database_destroy(db);
    return rc;
}

static int run_cmd(mg_conn *c, const bson_t *cmd, int dry, eo_migrate_note_fn note, void *payload,
                   eo_error *err)
{
    bson_t reply;
    int rc;
    if (note) {
        char *j = bson_as_relaxed_extended_json(cmd, NULL);
        note(payload, j ? j : "(command)");
        bson_free(j);
    }
    if (dry)
        return EO_OK;
    rc = command(c, c->dbname, cmd, &reply, err);
    bson_destroy(&reply);
    return rc;
}

static int count_where(mg_conn *c, const eo_model *m, const bson_t *filter, int64_t *n,
                       eo_error *err)
{
    mongoc_collection_t *coll = mg__collection(c, m);
    bson_error_t be;
    uint64_t t0 = eo_clock__ns();
    if (coll == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    *n = mongoc_collection_count_documents(coll, filter, NULL, NULL, NULL, &be);
    mg__trace_doc(c, EO_Q_SELECT, "count", m, filter, t0, *n);
    mongoc_collection_destroy(coll);
    if (*n < 0)
        return mg__error(c, &be, m, "count", err);
    return EO_OK;
}

/* A field recorded as Decimal and declared another type, or the other
 * way round: scaled integers (FerretDB) read as plain numbers, or plain
 * numbers as scaled ones (12.30 as 1230, 5 as 0.05). EINVAL, or 0. */
static int decimal_changed(const eo_field *f, const mg_known *k, eo_error *err)
{
    char held[64];
    if (k == NULL || k->type[0] == '\0' ||
        (strcmp(k->type, "Decimal") == 0) == (eo_ftype_base(f->type) == EO_FT_DECIMAL))
        return EO_OK;
    if (strcmp(k->type, "Decimal") == 0)
        snprintf(held, sizeof held, "Decimal (%d, %d)", k->precision, k->scale);
    else
        snprintf(held, sizeof held, "%s", k->type);
    return eo_schema__type_differs(err, f, held);
}

/* The env's check before it uses m (internal.h): the digits recorded in
 * "earnorm-schema" for m's Decimal fields are the declared ones, and no
 * field became or stopped being a Decimal. Nothing recorded (a collection
 * from before, or none yet) passes, as migrate takes it. */
int eo_mongo__schema_check(eo_conn *base, const eo_model *m, eo_error *err)
{
    mg_conn *c = (mg_conn *)base;
    eo_vec known = EO_VEC_INIT(mg_known);
    size_t i;
    int rc, found = 0;
    rc = mg__schema_load(c, m, &known, &found, err);
    for (i = 1; i < m->nfields && rc == EO_OK && found; i++) {
        const eo_field *f = m->fields[i];
        const mg_known *k;
        if (!(f->flags & EO_FF_STORED))
            continue;
        k = mg__schema_find(&known, f->name);
        if ((rc = decimal_changed(f, k, err)) == EO_OK && k &&
            eo_ftype_base(f->type) == EO_FT_DECIMAL &&
            (k->precision != f->precision || k->scale != f->scale))
            rc = eo_schema__digits_differ(err, f, k->precision, k->scale);
    }
    eo_vec__free(&known);
    return rc;
}

static int mg_migrate(eo_conn *base, const eo_model *m, int dry, eo_migrate_note_fn note,
                      void *payload, eo_error *err)
{
    mg_conn *c = (mg_conn *)base;
    mongoc_collection_t *coll = NULL;
    mongoc_cursor_t *cur = NULL;
    const bson_t *doc;
    eo_strmap have = { 0 };
    eo_vec known = EO_VEC_INIT(mg_known);
    bson_error_t be;
    int exists, rc, found = 0;
    size_t i, ndrop = 0;
    char *drop[64];             /* our composite indexes no longer declared */
    int64_t total = 0;

    if ((rc = exists_coll(c, m->table, &exists, err)) != EO_OK)
        return rc;
    if (!exists) {
        bson_t cmd = BSON_INITIALIZER;
        /* a collection dropped by hand: what was recorded went with it */
        if (!dry && (rc = mg__schema_forget(c, m, err)) != EO_OK)
            return rc;
        bson_append_utf8(&cmd, "create", -1, m->table, -1);
        rc = run_cmd(c, &cmd, dry, note, payload, err);
        bson_destroy(&cmd);
        if (rc != EO_OK)
            return rc;
    } else {
        bson_t all = BSON_INITIALIZER;
        rc = count_where(c, m, &all, &total, err);
        bson_destroy(&all);
        if (rc == EO_OK)
            rc = mg__schema_load(c, m, &known, &found, err);
        if (rc != EO_OK)
            goto done;
    }
    /* a field that became or stopped being a Decimal: refused, as SQL
     * refuses a column's type change */
    for (i = 1; i < m->nfields && found; i++) {
        const eo_field *f = m->fields[i];
        if ((f->flags & EO_FF_STORED) &&
            (rc = decimal_changed(f, mg__schema_find(&known, f->name), err)) != EO_OK)
            goto done;
    }
    /* Decimal digits changed since the last migrate: rescale or refuse */
    for (i = 1; i < m->nfields && found; i++) {
        const eo_field *f = m->fields[i];
        const mg_known *k;
        if (eo_ftype_base(f->type) != EO_FT_DECIMAL || !(f->flags & EO_FF_STORED))
            continue;
        k = mg__schema_find(&known, f->name);
        if (k && strcmp(k->type, "Decimal") == 0 &&
            (k->precision != f->precision || k->scale != f->scale) &&
            (rc = mg__digits_change(c, f, k, dry, note, payload, err)) != EO_OK)
            goto done;
    }
    /* existing documents: a new field with a default gets it (as a new SQL
     * column's rows do); a required field gets its default, or is refused */
    for (i = 1; i < m->nfields && total > 0; i++) {
        const eo_field *f = m->fields[i];
        bson_t filter = BSON_INITIALIZER;
        int64_t missing;
        int required = (f->flags & EO_FF_REQUIRED) && !(f->flags & EO_FF_COMPUTED), fresh = 0;
        if (!(f->flags & EO_FF_STORED))
            continue;
        if (f->flags & EO_FF_DEFAULT) {
            if (found) {
                fresh = mg__schema_find(&known, f->name) == NULL;
            } else {
                /* nothing recorded: new when no document has the field */
                bson_t ex = BSON_INITIALIZER, cond;
                int64_t with = 0;
                bson_append_document_begin(&ex, mg__key(f), -1, &cond);
                bson_append_bool(&cond, "$exists", -1, true);
                bson_append_document_end(&ex, &cond);
                rc = count_where(c, m, &ex, &with, err);
                bson_destroy(&ex);
                if (rc != EO_OK)
                    goto done;
                fresh = with == 0;
            }
        }
        if (!required && !fresh)
            continue;
        bson_append_null(&filter, mg__key(f), -1);
        rc = count_where(c, m, &filter, &missing, err);
        if (rc == EO_OK && missing > 0) {
            if (f->flags & EO_FF_DEFAULT) {
                bson_t cmd = BSON_INITIALIZER, updates, u, q, set, setv;
                bson_append_utf8(&cmd, "update", -1, m->table, -1);
                bson_append_array_begin(&cmd, "updates", -1, &updates);
                bson_append_document_begin(&updates, "0", -1, &u);
                bson_append_document_begin(&u, "q", -1, &q);
                bson_append_null(&q, mg__key(f), -1);
                bson_append_document_end(&u, &q);
                bson_append_document_begin(&u, "u", -1, &set);
                bson_append_document_begin(&set, "$set", -1, &setv);
                rc = mg__append(c, &setv, mg__key(f), f, &f->def, err);
                bson_append_document_end(&set, &setv);
                bson_append_document_end(&u, &set);
                bson_append_bool(&u, "multi", -1, true);
                bson_append_document_end(&updates, &u);
                bson_append_array_end(&cmd, &updates);
                if (rc == EO_OK)
                    rc = run_cmd(c, &cmd, dry, note, payload, err);
                bson_destroy(&cmd);
                if (rc == EO_OK && note) {
                    char line[256];
                    snprintf(line, sizeof line, "-- %s.%s: existing records set to the default",
                             m->name, f->name);
                    note(payload, line);
                }
            } else {
                rc = eo_error_set(err, EO_EINVAL,
                                  "%s.%s: the field is required but %lld documents have no value; "
                                  "fill them or give the field a default",
                                  m->name, f->name, (long long)missing);
                eo_error_where(err, m->name, f->name);
            }
        }
        bson_destroy(&filter);
        if (rc != EO_OK)
            goto done;
    }
    /* indexes: ours are named <collection>__<field>_uniq / _idx (and __pair_uniq) */
    if (exists) {
        coll = mg__collection(c, m);
        cur = coll ? mongoc_collection_find_indexes_with_opts(coll, NULL) : NULL;
        while (cur && mongoc_cursor_next(cur, &doc)) {
            bson_iter_t it;
            if (bson_iter_init_find(&it, doc, "name") && BSON_ITER_HOLDS_UTF8(&it)) {
                const char *nm = bson_iter_utf8(&it, NULL);
                eo_strmap__put(&have, nm, strlen(nm), (void *)1);
                if (eo_model__our_index(m, nm) && !eo_model__index_named(m, nm) &&
                    ndrop < sizeof drop / sizeof drop[0] && (drop[ndrop] = eo_strdup(nm)) != NULL)
                    ndrop++;
            }
        }
        if (cur && mongoc_cursor_error(cur, &be))
            rc = mg__error(c, &be, m, "listIndexes", err);
        mongoc_cursor_destroy(cur);
        mongoc_collection_destroy(coll);
        if (rc != EO_OK)
            goto done;
    }
    for (i = 1; i <= m->nfields && rc == EO_OK; i++) {
        int k;
        for (k = 0; k < 2 && rc == EO_OK; k++) {
            char name[200];
            int want, is_pair = i == m->nfields;
            const eo_field *f = is_pair ? NULL : m->fields[i];
            if (is_pair) {
                if (k == 1 || !m->junction)
                    continue;
                snprintf(name, sizeof name, "%s__pair_uniq", m->table);
                want = 1;
            } else {
                if (!(f->flags & EO_FF_STORED))
                    continue;
                want = k == 0 ? (f->flags & EO_FF_UNIQUE) != 0
                              : (f->flags & (EO_FF_INDEX | EO_FF_UNIQUE)) == EO_FF_INDEX ||
                                    (f->type == EO_FT_MANY2ONE && !(f->flags & EO_FF_UNIQUE));
                snprintf(name, sizeof name, "%s__%s_%s", m->table, f->column, k == 0 ? "uniq" : "idx");
            }
            if (want == (eo_strmap__get(&have, name, strlen(name)) != NULL))
                continue;
            {
                bson_t cmd = BSON_INITIALIZER, arr, ix, key;
                if (want) {
                    bson_append_utf8(&cmd, "createIndexes", -1, m->table, -1);
                    bson_append_array_begin(&cmd, "indexes", -1, &arr);
                    bson_append_document_begin(&arr, "0", -1, &ix);
                    bson_append_document_begin(&ix, "key", -1, &key);
                    if (is_pair) {
                        bson_append_int32(&key, m->fields[1]->column, -1, 1);
                        bson_append_int32(&key, m->fields[2]->column, -1, 1);
                    } else {
                        bson_append_int32(&key, mg__key(f), -1, 1);
                    }
                    bson_append_document_end(&ix, &key);
                    bson_append_utf8(&ix, "name", -1, name, -1);
                    if (k == 0)
                        bson_append_bool(&ix, "unique", -1, true);
                    bson_append_document_end(&arr, &ix);
                    bson_append_array_end(&cmd, &arr);
                } else {
                    bson_append_utf8(&cmd, "dropIndexes", -1, m->table, -1);
                    bson_append_utf8(&cmd, "index", -1, name, -1);
                }
                rc = run_cmd(c, &cmd, dry, note, payload, err);
                bson_destroy(&cmd);
                if (rc != EO_OK && want && k == 0) {
                    eo_error_set(err, EO_ECONFLICT,
                                 "%s.%s: cannot make it unique: some documents share a value",
                                 m->name, f ? f->name : "(pair)");
                    eo_error_where(err, m->name, f ? f->name : NULL);
                    rc = EO_ECONFLICT;
                }
            }
        }
    }
    /* composite indexes and unique constraints: <table>__..._cidx / _ckey */
    for (i = 0; i < ndrop && rc == EO_OK; i++) {
        bson_t cmd = BSON_INITIALIZER;
        bson_append_utf8(&cmd, "dropIndexes", -1, m->table, -1);
        bson_append_utf8(&cmd, "index", -1, drop[i], -1);
        rc = run_cmd(c, &cmd, dry, note, payload, err);
        bson_destroy(&cmd);
    }
    for (i = 0; i < m->nindexes && rc == EO_OK; i++) {
        const eo_model_index *ix = &m->indexes[i];
        bson_t cmd = BSON_INITIALIZER, arr, doc_ix, key;
        size_t k;
        if (eo_strmap__get(&have, ix->name, strlen(ix->name)) != NULL)
            continue;
        bson_append_utf8(&cmd, "createIndexes", -1, m->table, -1);
        bson_append_array_begin(&cmd, "indexes", -1, &arr);
        bson_append_document_begin(&arr, "0", -1, &doc_ix);
        bson_append_document_begin(&doc_ix, "key", -1, &key);
        for (k = 0; k < ix->nfields; k++)
            bson_append_int32(&key, mg__key(ix->fields[k]), -1, 1);
        bson_append_document_end(&doc_ix, &key);
        bson_append_utf8(&doc_ix, "name", -1, ix->name, -1);
        if (ix->unique)
            bson_append_bool(&doc_ix, "unique", -1, true);
        bson_append_document_end(&arr, &doc_ix);
        bson_append_array_end(&cmd, &arr);
        rc = run_cmd(c, &cmd, dry, note, payload, err);
        bson_destroy(&cmd);
        if (rc != EO_OK && ix->unique) {
            eo_error_set(err, EO_ECONFLICT,
                         "%s: cannot add constraint %s: some documents share their values of its "
                         "fields", m->name, ix->constraint);
            eo_error_where(err, m->name, NULL);
            rc = EO_ECONFLICT;
        }
    }
    if (rc == EO_OK && !dry)
        rc = mg__schema_save(c, m, &known, found, err);
done:
    for (i = 0; i < ndrop; i++)
        eo_free(drop[i]);
    eo_strmap__free(&have);
    eo_vec__free(&known);
    return rc;
}

const eo_adapter eo_mongo_adapter = {
    "mongodb", "mongodb", EO_IDOID,
    EO_CAP_GROUP, /* transactions come per connection, from the server (conn->caps) */
    mg_open, mg_close, mg_ping, mg_begin, mg_commit, mg_rollback, mg_savepoint,
    mg_migrate, mg_insert, mg_select, mg_count, mg_update, mg_remove, mg_group, mg_explain,
    NULL, mg_update_each, mg_update_if, NULL,
    mg_cursor_open, mg_cursor_next, mg_cursor_close,
};
