/*
 * history.c - recording the changes of tracked fields.
 *
 * Fields with EO_FF_TRACKED (tracking = true, or the model's _history)
 * get one row in EO_HISTORY_MODEL per record and operation: the model,
 * the record's id (as text, so ObjectIds fit), the operation (create,
 * write, unlink), the operation's date (its one clock reading, the
 * record's write_date), who (uid, NULL until access control gives envs a
 * user) and the changes as JSON: { "field": { "old": v, "new": v } }.
 * A create lists every tracked field (old null), an unlink every tracked
 * field (new null), a write the tracked fields whose value changed; a
 * write that changes none adds no row.
 *
 * The rows are inserted with the adapter's insert in the atomic scope of
 * the operation (env.c), so they commit and roll back with it. The
 * history model is written by the engine only (create and write of its
 * records are refused); deleting them prunes the history.
 *
 * Values are JSON as the Lua layer reads them: text (Char, Text,
 * Selection, Date, Datetime, Decimal) as strings, Integer, Float and
 * Boolean as themselves, a Json value as the JSON it holds, a Many2one as
 * its id (integer, or ObjectId hex on MongoDB), Binary as base64 text
 * (earnorm/history.lua decodes it).
 */
#include <stdio.h>

#include "version.h"

#define HROWS 1000

enum { H_MODEL = 0, H_RES_ID, H_OPERATION, H_DATE, H_CHANGES, H_NCOLS };

static const struct {
    const char *name;
    eo_ftype type;
} hfields[H_NCOLS] = {
    { "model", EO_FT_CHAR }, { "res_id", EO_FT_CHAR }, { "operation", EO_FT_SELECTION },
    { "date", EO_FT_DATETIME }, { "changes", EO_FT_JSON },
};

int eo_history__guard(const eo_model *m, const char *op, eo_error *err)
{
    if (strcmp(m->name, EO_HISTORY_MODEL) != 0)
        return EO_OK;
    eo_error_set(err, EO_EINVAL,
                 "%s: cannot %s history records: the engine writes them, nothing else may "
                 "(they can be deleted, to prune the history)",
                 m->name, op);
    eo_error_where(err, m->name, NULL);
    return EO_EINVAL;
}

/* The history model's columns, checked: the engine writes them itself. */
static int history_cols(eo_env *env, const eo_model *tracked, const eo_model **hm,
                        const eo_field *cols[H_NCOLS], eo_error *err)
{
    size_t i;
    *hm = eo_registry_find(env->reg, EO_HISTORY_MODEL);
    if (*hm == NULL) {
        eo_error_set(err, EO_EINVAL,
                     "%s tracks fields, but model %s is not declared (the Lua layer declares "
                     "it with the first tracked field)",
                     tracked->name, EO_HISTORY_MODEL);
        eo_error_where(err, tracked->name, NULL);
        return EO_EINVAL;
    }
    for (i = 0; i < H_NCOLS; i++) {
        const eo_field *f = eo_model_field(*hm, hfields[i].name, strlen(hfields[i].name));
        if (f == NULL || f->type != hfields[i].type || !(f->flags & EO_FF_STORED)) {
            eo_error_set(err, EO_EINVAL, "%s.%s must be a stored %s field (the engine writes it)",
                         EO_HISTORY_MODEL, hfields[i].name, eo_ftype_name(hfields[i].type));
            eo_error_where(err, EO_HISTORY_MODEL, hfields[i].name);
            return EO_EINVAL;
        }
        cols[i] = f;
    }
    return EO_OK;
}

/* ---- JSON text of values ---- */

static void json_str(eo_buf *b, const char *p, size_t n)
{
    static const char hexd[] = "0123456789abcdef";
    size_t i;
    eo_buf__putc(b, '"');
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '"' || ch == '\\') {
            eo_buf__putc(b, '\\');
            eo_buf__putc(b, (char)ch);
        } else if (ch < 0x20) {
            char esc[7] = { '\\', 'u', '0', '0', hexd[ch >> 4], hexd[ch & 15], 0 };
            eo_buf__puts(b, esc);
        } else {
            eo_buf__putc(b, (char)ch);
        }
    }
    eo_buf__putc(b, '"');
}

static void json_base64(eo_buf *b, const unsigned char *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;
    eo_buf__putc(b, '"');
    for (i = 0; i + 2 < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        char q[5] = { tab[v >> 18], tab[(v >> 12) & 63], tab[(v >> 6) & 63], tab[v & 63], 0 };
        eo_buf__puts(b, q);
    }
    if (n - i == 1) {
        unsigned v = (unsigned)p[i] << 16;
        char q[5] = { tab[v >> 18], tab[(v >> 12) & 63], '=', '=', 0 };
        eo_buf__puts(b, q);
    } else if (n - i == 2) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
        char q[5] = { tab[v >> 18], tab[(v >> 12) & 63], tab[(v >> 6) & 63], '=', 0 };
        eo_buf__puts(b, q);
    }
    eo_buf__putc(b, '"');
}

static void json_value(eo_buf *b, const eo_field *f, const eo_value *v)
{
    char num[40];
    switch (v->type) {
    case EO_VNULL:
        eo_buf__puts(b, "null");
        return;
    case EO_VBOOL:
        eo_buf__puts(b, v->u.b ? "true" : "false");
        return;
    case EO_VINT:
        eo_buf__put_int(b, (int64_t)v->u.i);
        return;
    case EO_VFLOAT:
        snprintf(num, sizeof num, "%.17g", v->u.f);
        /* a float stays a float when read back ("3.0", not "3") */
        if (strpbrk(num, ".eEn") == NULL)
            strcat(num, ".0");
        eo_buf__puts(b, num);
        return;
    case EO_VTEXT:
        if (eo_ftype_base(f->type) == EO_FT_JSON || f->type == EO_FT_EMBEDDED ||
            f->type == EO_FT_LIST)
            eo_buf__put(b, v->u.s.p, v->u.s.n); /* JSON already, checked on the way in */
        else
            json_str(b, v->u.s.p, v->u.s.n);
        return;
    case EO_VBLOB:
        json_base64(b, (const unsigned char *)v->u.s.p, v->u.s.n);
        return;
    }
}

/* ---- rows of the history model ---- */

typedef struct hrows {
    eo_env *env;
    const eo_model *m;         /* the tracked model */
    const eo_model *hm;
    const eo_field *cols[H_NCOLS];
    eo_vec vals;               /* of eo_value, H_NCOLS per row */
    eo_arena arena;            /* their text */
    eo_value now;
    const char *op;
    eo_buf changes;            /* of the row being built */
    size_t nchanges;
} hrows;

static int hrows_init(hrows *h, eo_env *env, const eo_model *m, const char *op,
                      const eo_value *now, eo_error *err)
{
    memset(h, 0, sizeof *h);
    h->env = env;
    h->m = m;
    h->op = op;
    h->now = *now;
    h->vals.isize = sizeof(eo_value);
    return history_cols(env, m, &h->hm, h->cols, err);
}

static void hrows_free(hrows *h)
{
    eo_vec__free(&h->vals);
    eo_arena__free(&h->arena);
    eo_buf__free(&h->changes);
}

static void change_begin(hrows *h)
{
    eo_buf__reset(&h->changes);
    eo_buf__putc(&h->changes, '{');
    h->nchanges = 0;
}

static void change_add(hrows *h, const eo_field *f, const eo_value *oldv, const eo_value *newv)
{
    eo_value null = eo_null();
    eo_buf *b = &h->changes;
    if (h->nchanges++)
        eo_buf__putc(b, ',');
    json_str(b, f->name, strlen(f->name));
    eo_buf__puts(b, ":{\"old\":");
    json_value(b, f, oldv ? oldv : &null);
    eo_buf__puts(b, ",\"new\":");
    json_value(b, f, newv ? newv : &null);
    eo_buf__putc(b, '}');
}

static int flush(hrows *h, eo_error *err);

/* The row of record id with the changes built since change_begin. */
static int change_end(hrows *h, eo_id id, eo_error *err)
{
    eo_value row[H_NCOLS];
    char hex[25], num[24];
    eo_value idv;
    size_t i;
    const char *rid;
    if (h->nchanges == 0)
        return EO_OK;
    eo_buf__putc(&h->changes, '}');
    if (h->changes.oom)
        return eo_error_set(err, EO_ENOMEM, "out of memory recording history");
    idv = eo_id_to_value(id, h->env->adapter->idkind, hex);
    if (idv.type == EO_VINT) {
        snprintf(num, sizeof num, "%lld", (long long)idv.u.i);
        rid = num;
    } else {
        rid = hex;
    }
    row[H_MODEL] = eo_cstr(h->m->name);
    row[H_RES_ID] = eo_cstr(rid);
    row[H_OPERATION] = eo_cstr(h->op);
    row[H_DATE] = h->now;
    row[H_CHANGES] = eo_text(h->changes.p, h->changes.len);
    /* res_id and changes are per row: copied into the arena */
    if (eo_arena__value(&h->arena, &row[H_RES_ID], &row[H_RES_ID]) != EO_OK ||
        eo_arena__value(&h->arena, &row[H_CHANGES], &row[H_CHANGES]) != EO_OK)
        return eo_error_set(err, EO_ENOMEM, "out of memory recording history");
    for (i = 0; i < H_NCOLS; i++)
        if (eo_vec__push(&h->vals, &row[i]) != EO_OK)
            return eo_error_set(err, EO_ENOMEM, "out of memory recording history");
    if (h->vals.len / H_NCOLS >= HROWS)
        return flush(h, err);
    return EO_OK;
}

static int flush(hrows *h, eo_error *err)
{
    size_t n = h->vals.len / H_NCOLS;
    eo_id *out;
    int rc;
    if (n == 0)
        return EO_OK;
    if ((out = eo_malloc(n * sizeof *out)) == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory recording history");
    rc = eo_env__insert(h->env, h->hm, h->cols, H_NCOLS, h->vals.items, n, out, err);
    eo_free(out);
    h->vals.len = 0;
    eo_arena__reset(&h->arena);
    return rc;
}

/* ---- snapshots of the stored values ---- */

typedef struct snap_ctx {
    eo_env *env;
    eo_hsnap *s;
    eo_vec old;                /* of eo_value, ntf per row */
    eo_error *err;
} snap_ctx;

static int snap_row(void *payload, const eo_value *row, size_t ncols, eo_error *err)
{
    snap_ctx *c = payload;
    eo_id id;
    size_t k;
    if (eo_id_from_value(&id, c->env->adapter->idkind, &row[0]) != EO_OK)
        return eo_error_set(err, EO_ERROR, "the database returned an invalid id");
    if (eo_ids_push(&c->s->ids, id) != EO_OK)
        return eo_error_set(err, EO_ENOMEM, "out of memory recording history");
    for (k = 1; k < ncols; k++) {
        eo_value v = eo_null();
        if (eo_vec__push(&c->old, &v) != EO_OK ||
            eo_value_copy(eo_vec__at(&c->old, c->old.len - 1), &row[k]) != EO_OK)
            return eo_error_set(err, EO_ENOMEM, "out of memory recording history");
    }
    return EO_OK;
}

/* Read the current values of s->tf for ids into s. */
static int snapshot(eo_env *env, eo_hsnap *s, const eo_id *ids, size_t n, eo_error *err)
{
    const eo_field **sel = NULL;
    eo_value *idv = NULL;
    char (*hex)[25] = NULL;
    snap_ctx c;
    int rc;
    memset(&c, 0, sizeof c);
    c.env = env;
    c.s = s;
    c.old.isize = sizeof(eo_value);
    if ((sel = eo_malloc((s->ntf + 1) * sizeof *sel)) == NULL ||
        eo_orm__id_values(env, ids, n, &idv, &hex) != EO_OK) {
        eo_free(sel);
        return eo_error_set(err, EO_ENOMEM, "out of memory recording history");
    }
    sel[0] = s->m->fields[0];
    memcpy(sel + 1, s->tf, s->ntf * sizeof *sel);
    rc = eo_orm__select_in(env, s->m, s->m->fields[0], idv, n, sel, s->ntf + 1, 0, snap_row, &c,
                           err);
    s->old = c.old.items; /* ids.n * ntf values, owned */
    s->nold = c.old.len;
    eo_free(sel);
    eo_free(idv);
    eo_free(hex);
    return rc;
}

void eo_history__free(eo_hsnap *s)
{
    size_t i;
    if (s == NULL)
        return;
    if (s->old)
        for (i = 0; i < s->nold; i++)
            eo_value_clear(&s->old[i]);
    eo_free(s->old);
    eo_free(s->tf);
    eo_free(s->tcol);
    eo_ids_free(&s->ids);
    memset(s, 0, sizeof *s);
}

int eo_history__before_write(eo_env *env, const eo_model *m, const eo_id *ids, size_t n,
                             const eo_field *const *cols, size_t ncols, eo_hsnap *s,
                             eo_error *err)
{
    size_t j;
    memset(s, 0, sizeof *s);
    s->m = m;
    for (j = 0; j < ncols; j++)
        if (cols[j]->flags & EO_FF_TRACKED)
            s->ntf++;
    if (s->ntf == 0 || n == 0)
        return EO_OK;
    s->tf = eo_malloc(s->ntf * sizeof *s->tf);
    s->tcol = eo_malloc(s->ntf * sizeof *s->tcol);
    if (s->tf == NULL || s->tcol == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory recording history");
    s->ntf = 0;
    for (j = 0; j < ncols; j++)
        if (cols[j]->flags & EO_FF_TRACKED) {
            s->tcol[s->ntf] = j;
            s->tf[s->ntf++] = cols[j];
        }
    return snapshot(env, s, ids, n, err);
}

int eo_history__after_write(eo_env *env, eo_hsnap *s, const eo_value *vals, const eo_value *now,
                            eo_error *err)
{
    hrows h;
    size_t i, k;
    int rc;
    if (s->ntf == 0 || s->ids.n == 0)
        return EO_OK;
    if ((rc = hrows_init(&h, env, s->m, "write", now, err)) != EO_OK)
        goto done;
    for (i = 0; i < s->ids.n && rc == EO_OK; i++) {
        change_begin(&h);
        for (k = 0; k < s->ntf; k++) {
            const eo_value *o = &s->old[i * s->ntf + k], *nv = &vals[s->tcol[k]];
            if (!eo_value_equal(o, nv))
                change_add(&h, s->tf[k], o, nv);
        }
        rc = change_end(&h, s->ids.v[i], err);
    }
    if (rc == EO_OK)
        rc = flush(&h, err);
done:
    hrows_free(&h);
    return rc;
}

int eo_history__created(eo_env *env, const eo_model *m, const eo_field *const *cols, size_t ncols,
                        const eo_value *rows, size_t nrows, const eo_id *ids, const eo_value *now,
                        eo_error *err)
{
    hrows h;
    size_t i, j;
    int rc;
    for (j = 0; j < ncols; j++)
        if (cols[j]->flags & EO_FF_TRACKED)
            break;
    if (j == ncols || nrows == 0)
        return EO_OK;
    if ((rc = hrows_init(&h, env, m, "create", now, err)) != EO_OK)
        goto done;
    for (i = 0; i < nrows && rc == EO_OK; i++) {
        change_begin(&h);
        for (j = 0; j < ncols; j++)
            if (cols[j]->flags & EO_FF_TRACKED)
                change_add(&h, cols[j], NULL, &rows[i * ncols + j]);
        rc = change_end(&h, ids[i], err);
    }
    if (rc == EO_OK)
        rc = flush(&h, err);
done:
    hrows_free(&h);
    return rc;
}

int eo_history__deleting(eo_env *env, const eo_model *m, const eo_id *ids, size_t n,
                         const eo_value *now, eo_error *err)
{
    eo_hsnap s;
    hrows h;
    size_t i, k;
    int rc;
    memset(&h, 0, sizeof h);
    memset(&s, 0, sizeof s);
    s.m = m;
    for (i = 1; i < m->nfields; i++)
        if (m->fields[i]->flags & EO_FF_TRACKED)
            s.ntf++;
    if (s.ntf == 0 || n == 0)
        return EO_OK;
    if ((s.tf = eo_malloc(s.ntf * sizeof *s.tf)) == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory recording history");
    s.ntf = 0;
    for (i = 1; i < m->nfields; i++)
        if (m->fields[i]->flags & EO_FF_TRACKED)
            s.tf[s.ntf++] = m->fields[i];
    if ((rc = hrows_init(&h, env, m, "unlink", now, err)) != EO_OK)
        goto done;
    if ((rc = snapshot(env, &s, ids, n, err)) != EO_OK)
        goto done;
    for (i = 0; i < s.ids.n && rc == EO_OK; i++) {
        change_begin(&h);
        for (k = 0; k < s.ntf; k++)
            change_add(&h, s.tf[k], &s.old[i * s.ntf + k], NULL);
        rc = change_end(&h, s.ids.v[i], err);
    }
    if (rc == EO_OK)
        rc = flush(&h, err);
done:
    hrows_free(&h);
    eo_history__free(&s);
    return rc;
}
