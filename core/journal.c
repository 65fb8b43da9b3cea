/*
 * journal.c - atomic operations on servers without transactions.
 *
 * Every ORM write runs in an atomic scope (eo_env__atomic_begin/end). On a
 * server with transactions the scope is a transaction or a savepoint. On a
 * server without them (a standalone MongoDB, FerretDB) the scope is this
 * journal: each insert, update and delete inside it first records how to
 * undo itself (delete what was inserted, write back the old values of what
 * was updated, insert again what was deleted, with its id), and a scope
 * that fails replays its records backwards. So a failed batch or an error
 * in an event handler still leaves the data as it was.
 *
 * What the journal does not give: isolation (others may see the changes
 * before the undo) and durability of the undo itself (a crash in the middle
 * leaves what was done). That is why env:transaction refuses such servers
 * with EO_ENOTSUP instead of pretending; only the ORM's own operations use
 * the journal.
 *
 * Invariants: marks[] holds, for each open scope, the index in entries[]
 * where it began; entries past the last mark belong to the innermost scope.
 */
#include <stdio.h>

#include "env_int.h"
#include "journal.h"
#include "orm/orm_int.h"

typedef enum jkind { J_DELETE = 0, J_RESTORE, J_REINSERT } jkind;

typedef struct jentry {
    jkind kind;
    const eo_model *m;
    eo_id *ids;                 /* the records */
    size_t n;
    const eo_field **cols;      /* J_RESTORE, J_REINSERT: the fields the values are of */
    size_t ncols;
    eo_value *vals;             /* n * ncols owned copies, row-major */
} jentry;

struct eo_journal {
    eo_vec entries;             /* of jentry */
    eo_vec marks;               /* of size_t */
    int replaying;              /* undoing: record nothing */
};

static void entry_free(jentry *e)
{
    size_t i;
    if (e->vals)
        for (i = 0; i < e->n * e->ncols; i++)
            eo_value_clear(&e->vals[i]);
    eo_free(e->vals);
    eo_free(e->ids);
    eo_free(e->cols);
}

static void drop_from(eo_journal *j, size_t from)
{
    size_t i;
    for (i = from; i < j->entries.len; i++)
        entry_free(eo_vec__at(&j->entries, i));
    j->entries.len = from;
}

void eo_journal__free(eo_journal *j)
{
    if (j == NULL)
        return;
    drop_from(j, 0);
    eo_vec__free(&j->entries);
    eo_vec__free(&j->marks);
    eo_free(j);
}

int eo_journal__active(const eo_journal *j)
{
    return j != NULL && j->marks.len > 0 && !j->replaying;
}

int eo_journal__begin(eo_journal **jp, eo_error *err)
{
    eo_journal *j = *jp;
    size_t mark;
    if (j == NULL) {
        j = eo_calloc(1, sizeof *j);
        if (j == NULL)
            return eo_error_set(err, EO_ENOMEM, "out of memory");
        j->entries.isize = sizeof(jentry);
        j->marks.isize = sizeof(size_t);
        *jp = j;
    }
    mark = j->entries.len;
    if (eo_vec__push(&j->marks, &mark) != EO_OK)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    return EO_OK;
}

static int push(eo_journal *j, jentry *e, eo_error *err)
{
    if (eo_vec__push(&j->entries, e) != EO_OK) {
        entry_free(e);
        return eo_error_set(err, EO_ENOMEM, "out of memory keeping the undo journal");
    }
    return EO_OK;
}

static eo_id *copy_ids(const eo_id *ids, size_t n)
{
    eo_id *c = eo_malloc((n ? n : 1) * sizeof *c);
    if (c && n)
        memcpy(c, ids, n * sizeof *c);
    return c;
}

int eo_journal__inserted(eo_journal *j, const eo_model *m, const eo_id *ids, size_t n,
                         eo_error *err)
{
    jentry e;
    memset(&e, 0, sizeof e);
    e.kind = J_DELETE;
    e.m = m;
    e.n = n;
    if ((e.ids = copy_ids(ids, n)) == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory keeping the undo journal");
    return push(j, &e, err);
}

typedef struct snap_ctx {
    eo_env *env;
    jentry *e;
    size_t row;
} snap_ctx;

static int snap_row(void *payload, const eo_value *row, size_t ncols, eo_error *err)
{
    snap_ctx *s = payload;
    jentry *e = s->e;
    size_t k;
    if (s->row >= e->n)
        return EO_OK;
    if (eo_id_from_value(&e->ids[s->row], s->env->adapter->idkind, &row[0]) != EO_OK)
        return eo_error_set(err, EO_ERROR, "the database returned an invalid id");
    for (k = 1; k < ncols; k++)
        if (eo_value_copy(&e->vals[s->row * e->ncols + k - 1], &row[k]) != EO_OK)
            return eo_error_set(err, EO_ENOMEM, "out of memory keeping the undo journal");
    s->row++;
    return EO_OK;
}

/* Record the current values of cols (NULL: every stored field) of ids. */
static int snapshot(eo_env *env, eo_journal *j, jkind kind, const eo_model *m, const eo_id *ids,
                    size_t n, const eo_field *const *cols, size_t ncols, eo_error *err)
{
    jentry e;
    const eo_field **sel = NULL;
    eo_value *idv = NULL;
    char (*hex)[25] = NULL;
    eo_domain *d = NULL;
    eo_query q;
    snap_ctx s;
    size_t i;
    int rc;

    memset(&e, 0, sizeof e);
    e.kind = kind;
    e.m = m;
    if (cols == NULL) {
        e.cols = eo_malloc(m->nfields * sizeof *e.cols);
        if (e.cols == NULL)
            goto oom;
        for (i = 1; i < m->nfields; i++)
            if (m->fields[i]->flags & EO_FF_STORED)
                e.cols[e.ncols++] = m->fields[i];
    } else {
        e.cols = eo_malloc((ncols ? ncols : 1) * sizeof *e.cols);
        if (e.cols == NULL)
            goto oom;
        memcpy(e.cols, cols, ncols * sizeof *cols);
        e.ncols = ncols;
    }
    e.ids = eo_calloc(n ? n : 1, sizeof *e.ids);
    e.vals = eo_calloc((n ? n : 1) * (e.ncols ? e.ncols : 1), sizeof *e.vals);
    sel = eo_malloc((e.ncols + 1) * sizeof *sel);
    if (e.ids == NULL || e.vals == NULL || sel == NULL)
        goto oom;
    sel[0] = m->fields[0];
    memcpy(sel + 1, e.cols, e.ncols * sizeof *sel);
    if (eo_orm__id_values(env, ids, n, &idv, &hex) != EO_OK ||
        eo_domain__in_list(&d, m, m->fields[0], idv, n) != EO_OK)
        goto oom;
    memset(&q, 0, sizeof q);
    q.model = m;
    q.domain = d;
    q.fields = sel;
    q.nfields = e.ncols + 1;
    q.limit = -1;
    s.env = env;
    s.e = &e;
    s.row = 0;
    e.n = n; /* room for n rows; set to the rows found below */
    rc = eo_env__select(env, &q, snap_row, &s, err);
    e.n = s.row; /* the records that exist: the others have nothing to undo */
    eo_domain_free(d);
    eo_free(idv);
    eo_free(hex);
    eo_free(sel);
    if (rc != EO_OK) {
        entry_free(&e);
        return rc;
    }
    return push(j, &e, err);
oom:
    eo_domain_free(d);
    eo_free(idv);
    eo_free(hex);
    eo_free(sel);
    entry_free(&e);
    return eo_error_set(err, EO_ENOMEM, "out of memory keeping the undo journal");
}

int eo_journal__updating(eo_env *env, eo_journal *j, const eo_model *m, const eo_id *ids,
                         size_t n, const eo_field *const *cols, size_t ncols, eo_error *err)
{
    return snapshot(env, j, J_RESTORE, m, ids, n, cols, ncols, err);
}

int eo_journal__deleting(eo_env *env, eo_journal *j, const eo_model *m, const eo_id *ids,
                         size_t n, eo_error *err)
{
    return snapshot(env, j, J_REINSERT, m, ids, n, NULL, 0, err);
}

/* Undo one entry; the first error is kept, the rest of the replay goes on. */
static int undo(eo_env *env, const jentry *e, eo_error *err)
{
    int64_t affected;
    size_t i;
    int rc = EO_OK;
    switch (e->kind) {
    case J_DELETE:
        return eo_env__remove(env, e->m, e->ids, e->n, &affected, err);
    case J_RESTORE:
        for (i = 0; i < e->n && rc == EO_OK; i++)
            rc = eo_env__update(env, e->m, &e->ids[i], 1, e->cols, e->vals + i * e->ncols,
                                e->ncols, &affected, err);
        return rc;
    case J_REINSERT: {
        /* insert again with their ids: the id column first */
        const eo_field **cols = eo_malloc((e->ncols + 1) * sizeof *cols);
        eo_value *rows = eo_malloc(((e->ncols + 1) * (e->n ? e->n : 1)) * sizeof *rows);
        eo_id *out = eo_malloc((e->n ? e->n : 1) * sizeof *out);
        char (*hex)[25] = eo_malloc((e->n ? e->n : 1) * sizeof *hex);
        if (cols == NULL || rows == NULL || out == NULL || hex == NULL) {
            rc = eo_error_set(err, EO_ENOMEM, "out of memory replaying the undo journal");
        } else {
            cols[0] = e->m->fields[0];
            memcpy(cols + 1, e->cols, e->ncols * sizeof *cols);
            for (i = 0; i < e->n; i++) {
                rows[i * (e->ncols + 1)] = eo_id_to_value(e->ids[i], env->adapter->idkind, hex[i]);
                memcpy(&rows[i * (e->ncols + 1) + 1], e->vals + i * e->ncols,
                       e->ncols * sizeof *rows);
            }
            if (e->n)
                rc = eo_env__insert(env, e->m, cols, e->ncols + 1, rows, e->n, out, err);
        }
        eo_free(cols);
        eo_free(rows);
        eo_free(out);
        eo_free(hex);
        return rc;
    }
    }
    return EO_OK;
}

int eo_journal__end(eo_env *env, eo_journal *j, int ok, eo_error *err)
{
    size_t mark, i;
    int rc = EO_OK;
    eo_error ignored;
    int replaying;
    if (j == NULL || j->marks.len == 0)
        return eo_error_set(err, EO_ETXNSTATE, "no atomic scope is open");
    mark = *(size_t *)eo_vec__at(&j->marks, j->marks.len - 1);
    j->marks.len--;
    if (ok) {
        /* the outer scope (if any) takes the records over */
        if (j->marks.len == 0)
            drop_from(j, 0);
        return EO_OK;
    }
    /* the undo statements themselves are not journaled */
    replaying = j->replaying;
    j->replaying = 1;
    for (i = j->entries.len; i-- > mark;) {
        int r = undo(env, eo_vec__at(&j->entries, i), rc == EO_OK ? err : &ignored);
        if (r != EO_OK && rc == EO_OK)
            rc = r;
    }
    j->replaying = replaying;
    drop_from(j, mark);
    return rc;
}
