/*
 * recordset.c - the Recordset userdata and the ORM calls behind it.
 *
 * A recordset is a model, an environment handle and a slice of a shared,
 * immutable id array, plus the prefetch set it came from (Odoo's
 * _prefetch_ids): reading a field of one record loads that field for the
 * records around it in one query. Field values are read from the C record
 * store on access; nothing is copied into Lua until asked for.
 *
 * The userdata holds the struct itself rather than a pointer box: a loop
 * over N records makes N of them, and one allocation each is the point.
 * Every reference it holds is taken after the userdata exists and
 * released by __gc, which tolerates a half-built box.
 *
 * Uservalues: 1 = the Lua Env object, 2 = the context table (or nil).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rs.h"
#include "types/types_int.h"

#define RS "earnorm.Recordset"

typedef struct derived derived;

/* An immutable, refcounted array of ids. */
typedef struct idarr {
    int refs;
    size_t n;
    derived *derived;       /* prefetch sets of related records, per field */
    derived *retired;       /* ones given up, kept for the records borrowing them */
    eo_id *v;               /* inl, or an adopted buffer (ids_to_arr) */
    eo_id inl[];
} idarr;

/* Distinct Many2one targets of the records of one window of an idarr
 * (for a Reference: its targets of model cm). Windows are the prefetch
 * windows (prefetch_max records, aligned), so a loop over a prefetch set
 * builds each one once: linear, whatever the size of the set. */
struct derived {
    const eo_field *f;
    const eo_model *cm;     /* Reference: the model of these targets; else NULL */
    size_t lo;              /* the window: [lo, lo + prefetch_max) of the idarr */
    int borrowed;           /* records borrow ids (they live as long as the idarr) */
    idarr *ids;
    eo_idmap pos;           /* id -> index in ids */
    derived *next;
};

typedef struct rset {
    const void *magic;      /* &mt_key (to_rs) */
    envh *h;
    const eo_model *m;
    idarr *ids;
    size_t off, n;          /* the slice of ids this recordset is */
    idarr *pf;              /* prefetch set */
    size_t pfpos;           /* where ids[off] sits in pf (a hint) */
    struct rset *owner;     /* a record: the recordset whose references it borrows */
    int record;             /* made by push_record: its one uservalue is the owner */
} rset;

static const char hook_key = 'h';
static const char recompute_key = 'r';
/* The Lua function that gives rec.display_name (earnorm/conveniences.lua). */
static const char name_hook_key = 'n';

/* The metatable, also under a static key: rawgetp skips luaL_checkudata's
 * string lookup, which showed in profiles of field reads. */
static const char mt_key = 'm';
/*
 * The metatable of records (what each(), ipairs and recs[i] give): the
 * same methods without __gc. A record takes no references of its own: it
 * borrows those of its owner, the recordset it came from, which its one
 * uservalue keeps alive. A loop over N records then makes N plain
 * userdata and no finalizers (the finalizers were a third of the loop).
 */
static const char rec_mt_key = 'R';

static void push_mt(lua_State *L, int record)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, record ? &rec_mt_key : &mt_key);
}

/*
 * A recordset (or record) at idx, or NULL. Only this file makes userdata
 * of this size holding &mt_key as its first member (model code cannot
 * make userdata at all): the check costs no metatable lookups, which
 * showed in profiles of record loops.
 */
static rset *to_rs(lua_State *L, int idx)
{
    rset *rs;
    int ok;
    if (lua_type(L, idx) != LUA_TUSERDATA || lua_rawlen(L, idx) != sizeof(rset))
        return NULL;
    rs = lua_touserdata(L, idx);
    ok = rs->magic == &mt_key;
    if (!ok)
        return NULL;
    if (rs->owner && rs->owner->h == NULL) {
        /* its owner was finalized (a record resurrected by another
         * object's __gc): what it borrowed is gone */
        rs->h = NULL;
        rs->ids = rs->pf = NULL;
        rs->off = rs->n = rs->pfpos = 0;
        rs->owner = NULL;
    }
    return rs;
}

/* Push uservalue n (1 = Env, 2 = context) of the recordset at idx: a
 * record's are its owner's. Returns its type. */
static int rs_uv(lua_State *L, int idx, int n)
{
    rset *rs = lua_touserdata(L, idx);
    int t;
    if (!rs->record)
        return lua_getiuservalue(L, idx, n);
    if (rs->owner == NULL) {
        lua_pushnil(L); /* neutralized */
        return LUA_TNIL;
    }
    lua_getiuservalue(L, idx, 1);
    t = lua_getiuservalue(L, -1, n);
    lua_remove(L, -2);
    return t;
}

/* A recordset, open or closed (metamethods that must work on both). */
static rset *check_any(lua_State *L, int idx)
{
    rset *rs = to_rs(L, idx);
    if (rs == NULL)
        luaL_typeerror(L, idx, RS);
    return rs;
}

static void flush_pending(envh *h);

static rset *check_rs(lua_State *L, int idx)
{
    rset *rs = to_rs(L, idx);
    if (rs == NULL)
        luaL_typeerror(L, idx, RS);
    if (rs->h == NULL || rs->h->env == NULL)
        eo_lua_raisef(L, EO_ETXNSTATE, rs->m ? rs->m->name : NULL, NULL,
                      "attempt to use a recordset of a closed environment");
    if (rs->h->pending)
        flush_pending(rs->h);
    return rs;
}


static idarr *idarr_new(size_t n)
{
    idarr *a = eo_malloc(sizeof *a + (n ? n : 1) * sizeof(eo_id));
    if (a) {
        a->refs = 1;
        a->n = n;
        a->derived = a->retired = NULL;
        a->v = a->inl;
    }
    return a;
}

static void idarr_unref(idarr *a)
{
    derived *d, *next;
    if (a == NULL || --a->refs > 0)
        return;
    for (d = a->derived; d; d = next) {
        next = d->next;
        idarr_unref(d->ids);
        eo_idmap__free(&d->pos);
        eo_free(d);
    }
    for (d = a->retired; d; d = next) {
        next = d->next;
        idarr_unref(d->ids);
        eo_free(d);
    }
    if (a->v != a->inl)
        eo_free(a->v);
    eo_free(a);
}

/*
 * Values to release (release_targets): not where they are found (C code
 * may hold a value of the store there), but at the next call into a
 * recordset of the env (check_rs), where none is held, and not while a
 * compute method runs. (Releasing what a recordset loaded when it is
 * collected was tried: the collector's timing then decides what a later
 * loop finds in the store, and query counts stop being repeatable.)
 */
struct eo_lua_pending {
    const eo_model *m;
    idarr *ids;
    struct eo_lua_pending *next;
};

static int versioned(const eo_model *m)
{
    size_t k;
    for (k = 0; k < m->nfields; k++)
        if (m->fields[k]->flags & EO_FF_VERSION)
            return 1;
    return 0;
}

static void flush_pending(envh *h)
{
    struct eo_lua_pending *p;
    if (h->computing > 0)
        return;
    while ((p = h->pending) != NULL) {
        h->pending = p->next;
        if (h->env)
            eo_orm_invalidate(h->env, p->m, p->ids->v, p->ids->n, NULL);
        idarr_unref(p->ids);
        eo_free(p);
    }
}

void eo_lua__pending_free(envh *h)
{
    struct eo_lua_pending *p;
    while ((p = h->pending) != NULL) {
        h->pending = p->next;
        idarr_unref(p->ids);
        eo_free(p);
    }
}

static int rs_gc(lua_State *L)
{
    rset *rs = check_any(L, 1);
    idarr_unref(rs->ids);
    idarr_unref(rs->pf);
    eo_envh_unref(rs->h);
    memset(rs, 0, sizeof *rs);
    rs->magic = &mt_key; /* still one, freed (rs_tostring says so) */
    return 0;
}

/* Push a recordset sharing `ids` (and `pf`); uservalues come from the
 * recordset at `like` (0: the env table at `envidx`). Takes new references. */
static rset *push_rs(lua_State *L, int like, int envidx, envh *h, const eo_model *m, idarr *ids,
                     size_t off, size_t n, idarr *pf, size_t pfpos)
{
    rset *rs;
    like = like ? lua_absindex(L, like) : 0;
    envidx = envidx ? lua_absindex(L, envidx) : 0;
    rs = lua_newuserdatauv(L, sizeof *rs, 2);
    memset(rs, 0, sizeof *rs);
    rs->magic = &mt_key;
    push_mt(L, 0);
    lua_setmetatable(L, -2);
    if (like) {
        rs_uv(L, like, 1);
        lua_setiuservalue(L, -2, 1);
        rs_uv(L, like, 2);
        lua_setiuservalue(L, -2, 2);
    } else if (envidx) {
        lua_pushvalue(L, envidx);
        lua_setiuservalue(L, -2, 1);
    }
    rs->h = h;
    h->refs++;
    rs->m = m;
    rs->ids = ids;
    ids->refs++;
    rs->off = off;
    rs->n = n;
    rs->pf = pf ? pf : ids;
    rs->pf->refs++;
    rs->pfpos = pf ? pfpos : off;
    rs->owner = NULL;
    rs->record = 0;
    return rs;
}

/* Push a recordset owning a new idarr (its reference passes to the recordset). */
static void push_new(lua_State *L, int like, rset *src, const eo_model *m, idarr *a)
{
    push_rs(L, like, 0, src->h, m, a, 0, a->n, NULL, 0);
    idarr_unref(a);
}

static eo_id *rs_ids(const rset *rs) { return rs->ids->v + rs->off; }
static eo_env *rs_env(const rset *rs) { return rs->h->env; }
static eo_idkind rs_kind(const rset *rs) { return eo_env_idkind(rs->h->env); }

static void push_id(lua_State *L, const rset *rs, eo_id id)
{
    char hex[25];
    eo_value v = eo_id_to_value(id, rs_kind(rs), hex);
    eo_lua_push_value(L, &v);
}

/* earnorm/value.c: a recordset used as a value is its single id */
int eo_lua__recordset_value(lua_State *L, int idx, eo_idkind kind, eo_lua_scratch *s,
                            eo_value *out, eo_error *err)
{
    rset *rs = to_rs(L, idx);
    char *hex;
    (void)kind;
    if (rs == NULL || rs->h == NULL)
        return 0;
    if (rs->n == 0) {
        *out = eo_null();
        return 1;
    }
    if (rs->n > 1) {
        eo_error_set(err, EO_EINVAL, "expected one %s record as a value, got %zu", rs->m->name, rs->n);
        return EO_EINVAL;
    }
    hex = eo_lua_scratch_keep(s, eo_malloc(25));
    if (hex == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    *out = eo_id_to_value(rs_ids(rs)[0], rs->h->env ? rs_kind(rs) : EO_IDNUM, hex);
    return 1;
}

/* earnorm/value.c: the model of the recordset at idx, NULL when it is none */
const eo_model *eo_lua__recordset_model(lua_State *L, int idx)
{
    rset *rs = to_rs(L, idx);
    return rs ? rs->m : NULL;
}

/* earnorm/value.c, domain.c: push a recordset's ids as a list */
int eo_lua__recordset_ids(lua_State *L, int idx)
{
    rset *rs = to_rs(L, idx);
    size_t i;
    if (rs == NULL || rs->h == NULL || rs->h->env == NULL)
        return 0;
    lua_createtable(L, (int)rs->n, 0);
    for (i = 0; i < rs->n; i++) {
        push_id(L, rs, rs_ids(rs)[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

/* value.c's JSON writer: a recordset's ids without pushing anything (the
 * writer must not allocate in Lua while it holds its buffer) */
int eo_lua__recordset_idlist(lua_State *L, int idx, const eo_id **ids, size_t *n,
                             eo_idkind *kind);
int eo_lua__recordset_idlist(lua_State *L, int idx, const eo_id **ids, size_t *n,
                             eo_idkind *kind)
{
    rset *rs = to_rs(L, idx);
    if (rs == NULL || rs->h == NULL || rs->h->env == NULL)
        return 0;
    *ids = rs_ids(rs);
    *n = rs->n;
    *kind = rs_kind(rs);
    return 1;
}

void eo_lua_push_class(lua_State *L, const eo_model *m)
{
    if (m->binding_ref > 0)
        lua_rawgeti(L, LUA_REGISTRYINDEX, (lua_Integer)m->binding_ref);
    else
        lua_pushnil(L);
}

static const eo_model *find_model(lua_State *L, const char *name)
{
    return eo_registry_find(eo_lua_ctx_registry(eo_lua_ctx_get(L)), name);
}

/* ---- archived records (Odoo's active_test) ---- */

/* Whether the recordset at idx hides archived records: its context's
 * active_test when set, else its env's (env.context.active_test), else
 * yes. Reads through metamethods (the env is an object): call it before
 * holding any C resource. */
int eo_lua__active_test(lua_State *L, int idx)
{
    int top = lua_gettop(L), on = 1, t = LUA_TNIL;
    idx = lua_absindex(L, idx);
    /* stack: context, context.active_test */
    if (rs_uv(L, idx, 2) == LUA_TTABLE)
        t = lua_getfield(L, -1, "active_test");
    if (t == LUA_TNIL) {
        lua_settop(L, top);
        /* stack: env, env.context, env.context.active_test */
        if (rs_uv(L, idx, 1) != LUA_TNIL && lua_getfield(L, -1, "context") != LUA_TNIL)
            t = lua_getfield(L, -1, "active_test");
    }
    if (t != LUA_TNIL)
        on = lua_toboolean(L, -1);
    lua_settop(L, top);
    return on;
}

/* The active field of comodel m when the recordset at idx hides archived
 * records of it, else NULL. */
static const eo_field *hidden_archived(lua_State *L, int idx, const eo_model *m)
{
    const eo_field *af = eo_model_active_field(m);
    return af && eo_lua__active_test(L, idx) ? af : NULL;
}

static int is_active(const eo_value *v)
{
    return v && ((v->type == EO_VINT && v->u.i != 0) || (v->type == EO_VBOOL && v->u.b));
}

/* Drop the archived records (flag not true) from ids[0..*n) of m, in
 * place, loading the flag for the records of `window` (NULL: ids) in one
 * query per prefetch window. Records that no longer exist go too. */
static int keep_active(eo_env *env, const eo_model *m, const eo_field *af, eo_id *ids, size_t *n,
                       const eo_id *window, size_t nwindow, eo_error *err)
{
    size_t i, k = 0;
    if (window == NULL) {
        window = ids;
        nwindow = *n;
    }
    for (i = 0; i < *n; i++) {
        const eo_value *v = NULL;
        int rc = eo_orm_get(env, m, ids[i], af, window, nwindow, window == ids ? i : 0, &v, err);
        if (rc == EO_ENOTFOUND)
            continue;
        if (rc != EO_OK)
            return rc;
        if (is_active(v))
            ids[k++] = ids[i];
    }
    *n = k;
    eo_error_clear(err);
    return EO_OK;
}

/* ---- reading fields ---- */

/* The derived set of f (of model cm for a Reference, else NULL) made for
 * pf, when it holds want; one that lacks it is dropped (more records were
 * loaded since: the caller builds it again). */
/* Leave the targets of a window the loop moved on from to be released
 * (flush_pending) when they are many (half a window or more) and the loop
 * long: visiting 1M children of distinct parents then holds a window of
 * parents, while a few shared parents stay loaded for every window. */
static void release_targets(envh *h, const idarr *pf, const eo_model *tm, derived *d)
{
    size_t max = eo_env_prefetch_max(h->env);
    struct eo_lua_pending *p;
    if (tm == NULL || max == 0 || pf->n <= 2 * max || d->ids->n * 2 < max || versioned(tm) ||
        (p = eo_malloc(sizeof *p)) == NULL)
        return;
    p->m = tm;
    p->ids = d->ids;
    d->ids->refs++;
    p->next = h->pending;
    h->pending = p;
}

static derived *derived_find(rset *rs, const eo_field *f, const eo_model *cm, size_t lo,
                             eo_id want, size_t *pos)
{
    idarr *pf = rs->pf;
    derived *d, **link;
    for (link = &pf->derived; (d = *link) != NULL; link = &d->next) {
        if (d->f == f && d->cm == cm) {
            if (d->lo == lo && eo_idmap__get(&d->pos, want, pos))
                return d;
            /* another window's (the loop moved on), or one that lacks
             * want (more records were loaded since): made again. Records
             * of it may borrow its ids (push_related): they are kept, the
             * map goes */
            *link = d->next;
            eo_idmap__free(&d->pos);
            if (d->lo != lo)
                release_targets(rs->h, pf, cm ? cm : f->comodel, d);
            if (d->ids->refs == 1 && !d->borrowed) {
                idarr_unref(d->ids);
                eo_free(d);
            } else {
                d->next = pf->retired;
                pf->retired = d;
            }
            break;
        }
    }
    return NULL;
}

/* The window of rs's prefetch set its record sits in: [*lo, *hi). */
static void derive_window(const rset *rs, size_t *lo, size_t *hi)
{
    size_t max = eo_env_prefetch_max(rs->h->env), at = rs->pfpos;
    const idarr *pf = rs->pf;
    if (max == 0)
        max = 1;
    if (at >= pf->n || !eo_id_equal(pf->v[at], rs->ids->v[rs->off])) {
        /* a stale hint (a sorted or filtered recordset): the whole set */
        *lo = 0;
        *hi = pf->n;
        return;
    }
    *lo = at / max * max;
    *hi = pf->n - *lo > max ? *lo + max : pf->n;
}

/* Make the derived set of the distinct ids in tmp (their positions in
 * seen), want among them, and keep it on pf. Takes tmp and seen. */
static derived *derived_make(idarr *pf, const eo_field *f, const eo_model *cm, size_t lo,
                             eo_vec *tmp, eo_idmap *seen, eo_id want, size_t *pos)
{
    derived *d = NULL;
    if (!eo_idmap__get(seen, want, &(size_t){ 0 }) &&
        (eo_idmap__put(seen, want, tmp->len) != EO_OK || eo_vec__push(tmp, &want) != EO_OK))
        goto fail;
    d = eo_calloc(1, sizeof *d);
    if (d == NULL || (d->ids = idarr_new(tmp->len)) == NULL) {
        eo_free(d);
        goto fail;
    }
    memcpy(d->ids->v, tmp->items, tmp->len * sizeof(eo_id));
    d->f = f;
    d->cm = cm;
    d->lo = lo;
    d->pos = *seen;
    d->next = pf->derived;
    pf->derived = d;
    eo_vec__free(tmp);
    eo_idmap__get(&d->pos, want, pos);
    return d;
fail:
    eo_vec__free(tmp);
    eo_idmap__free(seen);
    return NULL;
}

static derived *derive(rset *rs, const eo_field *f, eo_id want, size_t *pos)
{
    idarr *pf = rs->pf;
    derived *d;
    eo_env *env = rs_env(rs);
    eo_idkind kind = rs_kind(rs);
    eo_vec tmp = EO_VEC_INIT(eo_id);
    eo_idmap seen;
    size_t i, lo, hi;

    derive_window(rs, &lo, &hi);
    if ((d = derived_find(rs, f, NULL, lo, want, pos)) != NULL)
        return d;
    memset(&seen, 0, sizeof seen);
    /* room for distinct targets up front (capped: few distinct is common) */
    if (f->type == EO_FT_MANY2ONE &&
        eo_idmap__reserve(&seen, hi - lo < 16384 ? hi - lo + 1 : 16384) != EO_OK)
        return NULL;
    for (i = lo; i < hi; i++) {
        const eo_value *v = eo_orm_peek(env, rs->m, pf->v[i], f);
        const eo_id *list;
        size_t k, nlist;
        eo_id one;
        if (v == NULL || v->type == EO_VNULL)
            continue;
        if (f->type == EO_FT_MANY2ONE) {
            if (eo_id_from_value(&one, kind, v) != EO_OK)
                continue;
            list = &one;
            nlist = 1;
        } else {
            /* x2many: the packed ids the store holds */
            list = (const eo_id *)(const void *)v->u.s.p;
            nlist = v->u.s.n / sizeof(eo_id);
        }
        for (k = 0; k < nlist; k++) {
            if (eo_idmap__get(&seen, list[k], &(size_t){ 0 }))
                continue;
            if (eo_idmap__put(&seen, list[k], tmp.len) != EO_OK || eo_vec__push(&tmp, &list[k]) != EO_OK)
                goto fail;
        }
    }
    return derived_make(pf, f, NULL, lo, &tmp, &seen, want, pos);
fail:
    eo_vec__free(&tmp);
    eo_idmap__free(&seen);
    return NULL;
}

static void push_borrowed(lua_State *L, int idx, rset *rs, const eo_model *m, idarr *ids,
                          size_t off, idarr *pf, size_t pfpos);

static void push_empty(lua_State *L, int like, rset *rs, const eo_model *m)
{
    idarr *a = idarr_new(0);
    if (a == NULL)
        eo_lua_raisef(L, EO_ENOMEM, NULL, NULL, "out of memory");
    push_new(L, like, rs, m, a);
}

static void push_related(lua_State *L, int like, rset *rs, const eo_field *f, const eo_value *v)
{
    eo_id id;
    size_t pos;
    derived *d;
    if (f->comodel == NULL)
        eo_lua_raisef(L, EO_ENOTFOUND, rs->m->name, f->name, "%s.%s: model %s is not defined",
                      rs->m->name, f->name, f->comodel_name);
    if (v->type == EO_VNULL) {
        push_empty(L, like, rs, f->comodel);
        return;
    }
    if (eo_id_from_value(&id, rs_kind(rs), v) != EO_OK)
        eo_lua_raisef(L, EO_ERROR, rs->m->name, f->name, "%s.%s holds an invalid id",
                      rs->m->name, f->name);
    d = derive(rs, f, id, &pos);
    if (d == NULL)
        eo_lua_raisef(L, EO_ENOMEM, NULL, NULL, "out of memory");
    if (like && to_rs(L, like) == rs) {
        /* the target borrows: rs's owner holds rs->pf, which holds d */
        d->borrowed = 1;
        push_borrowed(L, like, rs, f->comodel, d->ids, pos, d->ids, pos);
        return;
    }
    push_rs(L, like, 0, rs->h, f->comodel, d->ids, pos, 1, d->ids, pos);
}

/* The distinct targets of model cm of Reference f over rs's prefetch set
 * (want among them), as derive() gives a Many2one's. */
static derived *derive_ref(rset *rs, const eo_field *f, const eo_model *cm, eo_id want,
                           size_t *pos)
{
    idarr *pf = rs->pf;
    derived *d;
    eo_env *env = rs_env(rs);
    eo_idkind kind = rs_kind(rs);
    eo_vec tmp = EO_VEC_INIT(eo_id);
    eo_idmap seen;
    size_t i, lo, hi, cmlen = strlen(cm->name);

    derive_window(rs, &lo, &hi);
    if ((d = derived_find(rs, f, cm, lo, want, pos)) != NULL)
        return d;
    memset(&seen, 0, sizeof seen);
    for (i = lo; i < hi; i++) {
        const eo_value *v = eo_orm_peek(env, rs->m, pf->v[i], f);
        const char *model, *idp;
        size_t mlen, idlen;
        eo_value idv;
        eo_id one;
        if (v == NULL || v->type != EO_VTEXT ||
            eo_reference__split(v->u.s.p, v->u.s.n, &model, &mlen, &idp, &idlen) != 0 ||
            mlen != cmlen || memcmp(model, cm->name, mlen) != 0)
            continue;
        idv = eo_text(idp, idlen);
        if (eo_id_from_value(&one, kind, &idv) != EO_OK ||
            eo_idmap__get(&seen, one, &(size_t){ 0 }))
            continue;
        if (eo_idmap__put(&seen, one, tmp.len) != EO_OK || eo_vec__push(&tmp, &one) != EO_OK)
            goto fail;
    }
    return derived_make(pf, f, cm, lo, &tmp, &seen, want, pos);
fail:
    eo_vec__free(&tmp);
    eo_idmap__free(&seen);
    return NULL;
}

/*
 * A Reference read: the record "model,id" names, or an empty recordset of
 * that model when the record is gone (the value stays, as in Odoo). Its
 * existence is known by loading it with the other targets of that model
 * in the prefetch set: one query per model and window, not per record.
 */
static void push_reference(lua_State *L, int like, rset *rs, const eo_field *f,
                           const eo_value *v)
{
    const char *model, *idp;
    size_t mlen, idlen, pos, i;
    char name[256];
    const eo_model *cm;
    const eo_field *probe = NULL;
    eo_value idv;
    const eo_value *val;
    eo_id id;
    derived *d;
    eo_error err;
    int rc;
    if (eo_reference__split(v->u.s.p, v->u.s.n, &model, &mlen, &idp, &idlen) != 0 ||
        mlen >= sizeof name)
        eo_lua_raisef(L, EO_ERROR, rs->m->name, f->name, "%s.%s holds '%.*s', not \"model,id\"",
                      rs->m->name, f->name, (int)(v->u.s.n > 60 ? 60 : v->u.s.n), v->u.s.p);
    memcpy(name, model, mlen);
    name[mlen] = '\0';
    cm = find_model(L, name);
    if (cm == NULL)
        eo_lua_raisef(L, EO_ENOTFOUND, rs->m->name, f->name,
                      "%s.%s points to model %s, which is not defined", rs->m->name, f->name,
                      name);
    idv = eo_text(idp, idlen);
    if (eo_id_from_value(&id, rs_kind(rs), &idv) != EO_OK)
        eo_lua_raisef(L, EO_ERROR, rs->m->name, f->name,
                      "%s.%s holds '%.*s', whose id is not one of this database", rs->m->name,
                      f->name, (int)(v->u.s.n > 60 ? 60 : v->u.s.n), v->u.s.p);
    for (i = 1; i < cm->nfields && probe == NULL; i++)
        if ((cm->fields[i]->flags & EO_FF_STORED) && !(cm->fields[i]->flags & EO_FF_NOPREFETCH))
            probe = cm->fields[i];
    if ((d = derive_ref(rs, f, cm, id, &pos)) == NULL)
        eo_lua_raisef(L, EO_ENOMEM, NULL, NULL, "out of memory");
    if (probe) {
        rc = eo_orm_get(rs_env(rs), cm, id, probe, d->ids->v, d->ids->n, pos, &val, &err);
    } else {
        /* nothing to load but the id: ask */
        eo_ids found = { 0 };
        rc = eo_orm_exists(rs_env(rs), cm, &id, 1, &found, &err);
        if (rc == EO_OK && found.n == 0)
            rc = EO_ENOTFOUND;
        eo_ids_free(&found);
    }
    if (rc == EO_ENOTFOUND) {
        push_empty(L, like, rs, cm);
        return;
    }
    if (rc != EO_OK)
        eo_lua_raise(L, &err);
    push_rs(L, like, 0, rs->h, cm, d->ids, pos, 1, d->ids, pos);
}

/* Push a stored value as a recordset field reads it. */
static void push_typed(lua_State *L, int like, rset *rs, const eo_field *f, const eo_value *v,
                       int plain)
{
    eo_error err;
    if ((f->type == EO_FT_ONE2MANY || f->type == EO_FT_MANY2MANY) && v->type == EO_VBLOB) {
        /* plain rows hold x2many values as lists of ids */
        const eo_id *list = (const eo_id *)(const void *)v->u.s.p;
        size_t i, n = v->u.s.n / sizeof(eo_id);
        lua_createtable(L, (int)n, 0);
        for (i = 0; i < n; i++) {
            push_id(L, rs, list[i]);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        return;
    }
    if (f->type == EO_FT_MANY2ONE && !plain) {
        push_related(L, like, rs, f, v);
        return;
    }
    if (f->type == EO_FT_REFERENCE && !plain && v->type == EO_VTEXT) {
        push_reference(L, like, rs, f, v);
        return;
    }
    switch (v->type) {
    case EO_VNULL: lua_pushnil(L); return;
    case EO_VTEXT:
        if (eo_ftype_base(f->type) == EO_FT_JSON || f->type == EO_FT_EMBEDDED || f->type == EO_FT_LIST) {
            if (eo_lua_json_decode(L, v->u.s.p, v->u.s.n, &err) != EO_OK) {
                /* rows are pushed inside a query: never raise there; keep the text */
                if (plain) {
                    lua_pushlstring(L, v->u.s.p, v->u.s.n);
                    return;
                }
                eo_lua_raise(L, &err);
            }
            if (eo_lua_is_null(L, -1)) {
                lua_pop(L, 1);
                lua_pushnil(L);
            } else if (!plain && (f->type == EO_FT_EMBEDDED || f->type == EO_FT_LIST)) {
                eo_lua__embedded_wrap(L, f);
            }
            return;
        }
        break;
    case EO_VINT:
        if (f->type == EO_FT_BOOLEAN) {
            lua_pushboolean(L, v->u.i != 0);
            return;
        }
        if (f->type == EO_FT_FLOAT) {
            lua_pushnumber(L, (lua_Number)v->u.i);
            return;
        }
        break;
    default:
        break;
    }
    eo_lua_push_value(L, v);
}

/* Ids of the records in the prefetch window of rs that lack f. */
static idarr *uncached(rset *rs, const eo_field *f, size_t from, size_t limit)
{
    eo_env *env = rs_env(rs);
    idarr *pf = rs->pf, *a;
    size_t i, n = 0, end = pf->n - from > limit ? from + limit : pf->n;
    a = idarr_new(end - from);
    if (a == NULL)
        return NULL;
    for (i = from; i < end; i++)
        if (!eo_orm_cached(env, rs->m, pf->v[i], f))
            a->v[n++] = pf->v[i];
    a->n = n;
    return a;
}

static void call_compute(lua_State *L, int idx, rset *rs, const eo_field *f)
{
    idarr *todo;
    eo_id id = rs_ids(rs)[0];
    size_t from = rs->pfpos;
    if (from >= rs->pf->n || !eo_id_equal(rs->pf->v[from], id)) {
        /* a stale hint (a sorted or filtered recordset): find the record,
         * so the window computed below starts with it */
        for (from = 0; from < rs->pf->n && !eo_id_equal(rs->pf->v[from], id); from++)
            ;
        if (from == rs->pf->n)
            from = 0;
    }
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &hook_key) != LUA_TFUNCTION)
        eo_lua_raisef(L, EO_ERROR, rs->m->name, f->name, "no compute hook installed");
    todo = uncached(rs, f, from, 10000);
    if (todo == NULL)
        eo_lua_raisef(L, EO_ENOMEM, NULL, NULL, "out of memory");
    /* the record asked for must be computed, whatever the window holds */
    if (todo->n == 0 || !eo_id_equal(todo->v[0], id)) {
        idarr_unref(todo);
        todo = idarr_new(1);
        if (todo == NULL)
            eo_lua_raisef(L, EO_ENOMEM, NULL, NULL, "out of memory");
        todo->v[0] = id;
    }
    push_new(L, idx, rs, rs->m, todo);
    lua_pushstring(L, f->name);
    lua_call(L, 2, 0);
}

/* The records of an x2many field: prefetched with those of its neighbours. */
static void push_x2many(lua_State *L, int idx, rset *rs, const eo_field *f, eo_id id)
{
    const eo_id *list;
    size_t n, pos = 0;
    eo_error err;
    idarr *a;
    derived *d = NULL;
    const eo_field *af;
    if (f->comodel == NULL)
        eo_lua_raisef(L, EO_ENOTFOUND, rs->m->name, f->name, "%s.%s: model %s is not defined",
                      rs->m->name, f->name, f->comodel_name);
    af = hidden_archived(L, idx, f->comodel);
    if (eo_orm_get_ids(rs_env(rs), rs->m, id, f, rs->pf->v, rs->pf->n, rs->pfpos, &list, &n,
                       &err) != EO_OK)
        eo_lua_raise(L, &err);
    a = idarr_new(n);
    if (a == NULL)
        eo_lua_raisef(L, EO_ENOMEM, NULL, NULL, "out of memory");
    memcpy(a->v, list, n * sizeof(eo_id));
    if (af && n > 0) {
        /* archived records are left out; their flags load with the
         * records of the whole prefetch set (one query per window) */
        if ((d = derive(rs, f, a->v[0], &pos)) == NULL) {
            idarr_unref(a);
            eo_lua_raisef(L, EO_ENOMEM, NULL, NULL, "out of memory");
        }
        if (keep_active(rs_env(rs), f->comodel, af, a->v, &a->n, d->ids->v, d->ids->n, &err) !=
            EO_OK) {
            idarr_unref(a);
            eo_lua_raise(L, &err);
        }
        n = a->n;
        d = NULL;
    }
    if ((f->flags & EO_FF_SINGLE) && n > 1)
        n = 1; /* One2one's inverse side: at most one record */
    if (n > 0 && (d = derive(rs, f, a->v[0], &pos)) == NULL) {
        idarr_unref(a);
        eo_lua_raisef(L, EO_ENOMEM, NULL, NULL, "out of memory");
    }
    push_rs(L, idx, 0, rs->h, f->comodel, a, 0, n, d ? d->ids : NULL, pos);
    idarr_unref(a);
}

static void push_record(lua_State *L, int idx, rset *rs, size_t i);

static void push_field(lua_State *L, int idx, rset *rs, const eo_field *f)
{
    eo_env *env = rs_env(rs);
    const eo_value *v;
    eo_error err;
    eo_id id = rs_ids(rs)[0];
    if (f->type == EO_FT_ID) {
        /* the recordset holds it: no store lookup, no query */
        push_id(L, rs, id);
        return;
    }
    if ((f->flags & EO_FF_COMPUTED) && !(f->flags & EO_FF_STORED)) {
        if (!eo_orm_cached(env, rs->m, id, f))
            call_compute(L, idx, rs, f);
        v = eo_orm_peek(env, rs->m, id, f);
        if (v == NULL) {
            char hex[25];
            eo_value iv = eo_id_to_value(id, rs_kind(rs), hex);
            if (iv.type == EO_VINT)
                eo_lua_raisef(L, EO_ERROR, rs->m->name, f->name,
                              "%s.%s: the compute method did not assign it for %s(%lld)",
                              rs->m->name, f->name, rs->m->name, (long long)iv.u.i);
            eo_lua_raisef(L, EO_ERROR, rs->m->name, f->name,
                          "%s.%s: the compute method did not assign it for %s(%s)", rs->m->name,
                          f->name, rs->m->name, hex);
        }
        push_typed(L, idx, rs, f, v, 0);
        return;
    }
    if (f->type == EO_FT_ONE2MANY || f->type == EO_FT_MANY2MANY) {
        push_x2many(L, idx, rs, f, id);
        return;
    }
    /* a stored computed value a change made stale: recompute it first
     * (earnorm.recordset decides; a compute method running for it reads
     * what it assigned) */
    if ((f->flags & EO_FF_COMPUTED) && eo_deps_is_marked(env, rs->m, id, f)) {
        if (lua_rawgetp(L, LUA_REGISTRYINDEX, &recompute_key) != LUA_TFUNCTION)
            eo_lua_raisef(L, EO_ERROR, rs->m->name, f->name, "no recompute hook installed");
        push_record(L, idx, rs, 0);
        lua_pushstring(L, f->name);
        lua_call(L, 2, 0);
        env = rs_env(rs);
    }
    if (eo_orm_get(env, rs->m, id, f, rs->pf->v, rs->pf->n, rs->pfpos, &v, &err) != EO_OK)
        eo_lua_raise(L, &err);
    push_typed(L, idx, rs, f, v, 0);
}

/* Push record i of the recordset rs at idx: a borrowing record (rec_mt_key). */
static void push_record(lua_State *L, int idx, rset *rs, size_t i)
{
    push_borrowed(L, idx, rs, rs->m, rs->ids, rs->off + i, rs->pf,
                  rs->pf == rs->ids ? rs->off + i : rs->pfpos + i);
}

/* Push a record of m (ids->v[off], prefetch set pf at pfpos) borrowing
 * from the owner of the recordset rs at idx: ids and pf must live as long
 * as that owner (its own, or held by its prefetch set). */
static void push_borrowed(lua_State *L, int idx, rset *rs, const eo_model *m, idarr *ids,
                          size_t off, idarr *pf, size_t pfpos)
{
    rset *r;
    idx = lua_absindex(L, idx);
    r = lua_newuserdatauv(L, sizeof *r, 1);
    *r = *rs;
    r->m = m;
    r->ids = ids;
    r->off = off;
    r->n = 1;
    r->pf = pf;
    r->pfpos = pfpos;
    r->owner = rs->owner ? rs->owner : rs;
    r->record = 1;
    push_mt(L, 1);
    lua_setmetatable(L, -2);
    if (rs->record)
        lua_getiuservalue(L, idx, 1);
    else
        lua_pushvalue(L, idx);
    lua_setiuservalue(L, -2, 1);
}

static int rs_index(lua_State *L)
{
    rset *rs = check_rs(L, 1);
    size_t len;
    const char *key;
    const eo_field *f;
    if (lua_type(L, 2) == LUA_TNUMBER) {
        lua_Integer i = lua_tointeger(L, 2);
        if (i >= 1 && (size_t)i <= rs->n)
            push_record(L, 1, rs, (size_t)i - 1);
        else
            lua_pushnil(L);
        return 1;
    }
    key = luaL_checklstring(L, 2, &len);
    f = eo_model_field(rs->m, key, len);
    if (f != NULL) {
        if (rs->n == 1) {
            push_field(L, 1, rs, f);
            return 1;
        }
        if (rs->n == 0) {
            if ((f->type == EO_FT_MANY2ONE || f->type == EO_FT_ONE2MANY ||
                 f->type == EO_FT_MANY2MANY) && f->comodel)
                push_empty(L, 1, rs, f->comodel);
            else
                lua_pushnil(L);
            return 1;
        }
        return eo_lua_raisef(L, EO_EINVAL, rs->m->name, f->name,
                             "%s: reading '%s' on a recordset of %zu records (expected one: use mapped() or iterate)",
                             rs->m->name, f->name, rs->n);
    }
    if (strcmp(key, "ids") == 0)
        return eo_lua__recordset_ids(L, 1);
    if (strcmp(key, "env") == 0) {
        rs_uv(L, 1, 1);
        return 1;
    }
    if (strcmp(key, "_name") == 0) {
        lua_pushstring(L, rs->m->name);
        return 1;
    }
    if (strcmp(key, "_context") == 0) {
        if (rs_uv(L, 1, 2) == LUA_TNIL) {
            lua_pop(L, 1);
            lua_newtable(L);
        }
        return 1;
    }
    /* a field named display_name (found above) takes its place */
    if (strcmp(key, "display_name") == 0 &&
        lua_rawgetp(L, LUA_REGISTRYINDEX, &name_hook_key) == LUA_TFUNCTION) {
        lua_pushvalue(L, 1);
        lua_call(L, 1, 1);
        return 1;
    }
    eo_lua_push_class(L, rs->m);
    if (!lua_istable(L, -1))
        return eo_lua_raisef(L, EO_ENOTFOUND, rs->m->name, NULL, "%s has no class", rs->m->name);
    lua_getfield(L, -1, key);
    if (lua_isnil(L, -1))
        return eo_lua_raisef(L, EO_EINVAL, rs->m->name, key, "%s has no field or method '%s'",
                             rs->m->name, key);
    return 1;
}

static int rs_newindex(lua_State *L)
{
    rset *rs = check_rs(L, 1);
    size_t len;
    const char *key = luaL_checklstring(L, 2, &len);
    const eo_field *f = eo_model_field(rs->m, key, len);
    if (f == NULL)
        return eo_lua_raisef(L, EO_EINVAL, rs->m->name, key, "%s has no field '%s'", rs->m->name, key);
    if ((f->flags & EO_FF_COMPUTED) && rs->h->computing > 0) {
        /* a compute method assigning its result: cache it, the caller writes */
        eo_lua_scratch s = { 0 };
        eo_value v, conv;
        eo_value_scratch sc;
        eo_error err;
        size_t i;
        int rc = eo_lua_to_value(L, 3, f, rs_kind(rs), &s, &v, &err);
        if (rc == EO_OK)
            rc = eo_field_convert(f, &v, &conv, &sc, &err);
        for (i = 0; rc == EO_OK && i < rs->n; i++)
            rc = eo_orm_cache_set(rs_env(rs), rs->m, rs_ids(rs)[i], f, &conv, &err);
        eo_lua_scratch_free(&s);
        if (rc != EO_OK)
            return eo_lua_raise(L, &err);
        return 0;
    }
    if ((f->flags & EO_FF_COMPUTED) && !(f->flags & EO_FF_INVERSE))
        return eo_lua_raisef(L, EO_EINVAL, rs->m->name, f->name,
                             "%s.%s cannot be set: it is computed; assign it in its compute method "
                             "(or give it an inverse method)",
                             rs->m->name, f->name);
    /* rec.field = v is rec:write{ field = v }, events and all */
    eo_lua_push_class(L, rs->m);
    lua_getfield(L, -1, "write");
    lua_pushvalue(L, 1);
    lua_createtable(L, 0, 1);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    lua_settable(L, -3);
    lua_call(L, 2, 0);
    return 0;
}

static int rs_len(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)((rset *)check_any(L, 1))->n);
    return 1;
}

static int rs_tostring(lua_State *L)
{
    rset *rs = check_any(L, 1);
    luaL_Buffer b;
    size_t i;
    if (rs->m == NULL) {
        lua_pushliteral(L, "earnorm.Recordset (freed)");
        return 1;
    }
    luaL_buffinit(L, &b);
    luaL_addstring(&b, rs->m->name);
    luaL_addchar(&b, '(');
    for (i = 0; i < rs->n && i < 20; i++) {
        char buf[32];
        eo_value v;
        if (i)
            luaL_addstring(&b, ", ");
        v = eo_id_to_value(rs_ids(rs)[i], rs->h && rs->h->env ? rs_kind(rs) : EO_IDNUM, buf);
        if (v.type == EO_VINT)
            snprintf(buf, sizeof buf, "%lld", (long long)v.u.i);
        luaL_addstring(&b, buf);
    }
    if (rs->n > 20)
        luaL_addstring(&b, ", ...");
    luaL_addchar(&b, ')');
    luaL_pushresult(&b);
    return 1;
}

/* ---- set operations ---- */

typedef enum { OP_UNION, OP_INTER, OP_DIFF, OP_CONCAT } setop;

static int setop_run(lua_State *L, setop op)
{
    static const char *const names[] = { "|", "&", "-", "+" };
    rset *a, *b;
    eo_idmap inb, seen;
    idarr *out;
    size_t i, n = 0;
    int oom = 0;
    /* either side may be the other operand: name the operator, not 'bor' */
    if (to_rs(L, 1) == NULL || to_rs(L, 2) == NULL) {
        rset *one = to_rs(L, 1) ? to_rs(L, 1) : to_rs(L, 2);
        int other = to_rs(L, 1) ? 2 : 1;
        return eo_lua_raisef(L, EO_EINVAL, one && one->m ? one->m->name : NULL, NULL,
                             "%s: recordset %s: both operands must be recordsets, got a %s",
                             one && one->m ? one->m->name : "?", names[op], luaL_typename(L, other));
    }
    a = check_rs(L, 1);
    b = check_rs(L, 2);
    if (a->m != b->m)
        return eo_lua_raisef(L, EO_EINVAL, a->m->name, NULL,
                             "cannot combine recordsets of %s and %s", a->m->name, b->m->name);
    memset(&inb, 0, sizeof inb);
    memset(&seen, 0, sizeof seen);
    out = idarr_new(a->n + b->n);
    if (out == NULL)
        return eo_lua_raisef(L, EO_ENOMEM, NULL, NULL, "out of memory");
    if (op == OP_CONCAT) {
        memcpy(out->v, rs_ids(a), a->n * sizeof(eo_id));
        memcpy(out->v + a->n, rs_ids(b), b->n * sizeof(eo_id));
        n = a->n + b->n;
    } else {
        for (i = 0; i < b->n && !oom; i++)
            oom = eo_idmap__put(&inb, rs_ids(b)[i], 0) != EO_OK;
        for (i = 0; i < a->n && !oom; i++) {
            eo_id id = rs_ids(a)[i];
            int keep = op == OP_UNION || (op == OP_INTER) == eo_idmap__get(&inb, id, &(size_t){ 0 });
            if (!keep || eo_idmap__get(&seen, id, &(size_t){ 0 }))
                continue;
            oom = eo_idmap__put(&seen, id, 0) != EO_OK;
            out->v[n++] = id;
        }
        for (i = 0; op == OP_UNION && i < b->n && !oom; i++) {
            eo_id id = rs_ids(b)[i];
            if (eo_idmap__get(&seen, id, &(size_t){ 0 }))
                continue;
            oom = eo_idmap__put(&seen, id, 0) != EO_OK;
            out->v[n++] = id;
        }
    }
    eo_idmap__free(&inb);
    eo_idmap__free(&seen);
    if (oom) {
        idarr_unref(out);
        return eo_lua_raisef(L, EO_ENOMEM, NULL, NULL, "out of memory");
    }
    out->n = n;
    push_new(L, 1, a, a->m, out);
    return 1;
}

static int rs_bor(lua_State *L) { return setop_run(L, OP_UNION); }
static int rs_band(lua_State *L) { return setop_run(L, OP_INTER); }
static int rs_sub(lua_State *L) { return setop_run(L, OP_DIFF); }
static int rs_add(lua_State *L) { return setop_run(L, OP_CONCAT); }

static int rs_eq(lua_State *L)
{
    rset *a = to_rs(L, 1), *b = to_rs(L, 2);
    eo_idmap ma, mb;
    size_t i;
    int eq = 1;
    if (a == NULL || b == NULL || a->m != b->m) {
        lua_pushboolean(L, 0);
        return 1;
    }
    memset(&ma, 0, sizeof ma);
    memset(&mb, 0, sizeof mb);
    for (i = 0; i < a->n; i++)
        eo_idmap__put(&ma, rs_ids(a)[i], 0);
    for (i = 0; i < b->n; i++)
        eo_idmap__put(&mb, rs_ids(b)[i], 0);
    eq = ma.len == mb.len;
    for (i = 0; eq && i < b->n; i++)
        eq = eo_idmap__get(&ma, rs_ids(b)[i], &(size_t){ 0 });
    eo_idmap__free(&ma);
    eo_idmap__free(&mb);
    lua_pushboolean(L, eq);
    return 1;
}

/* ---- ORM calls ---- */

typedef struct create_ctx {
    lua_State *L;
    int list;
    const eo_model *m;
    eo_idkind kind;
    eo_lua_scratch s;
} create_ctx;

/* Fill kvs from the Lua table of row i. Never raises. */
static int table_kvs(lua_State *L, int t, const eo_model *m, eo_idkind kind, eo_lua_scratch *s,
                     eo_kv *out, size_t cap, size_t *n, eo_error *err)
{
    int rc = EO_OK;
    *n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        /* stack: key, value */
        size_t len;
        const char *k;
        const eo_field *f;
        if (lua_type(L, -2) != LUA_TSTRING) {
            rc = eo_error_set(err, EO_EINVAL, "%s: field names must be strings, got a %s",
                              m->name, luaL_typename(L, -2));
            eo_error_where(err, m->name, NULL);
            lua_pop(L, 2);
            return rc;
        }
        k = lua_tolstring(L, -2, &len);
        f = eo_model_field(m, k, len);
        if (f == NULL) {
            rc = eo_error_set(err, EO_EINVAL, "%s has no field '%s'", m->name, k);
            eo_error_where(err, m->name, k);
            lua_pop(L, 2);
            return rc;
        }
        if (*n == cap) {
            lua_pop(L, 2);
            return eo_error_set(err, EO_EINVAL, "%s: too many values", m->name);
        }
        out[*n].field = f;
        if ((rc = eo_lua_to_value(L, -1, f, kind, s, &out[*n].value, err)) != EO_OK) {
            if (err && !err->field[0])
                eo_error_where(err, m->name, f->name);
            lua_pop(L, 2);
            return rc;
        }
        (*n)++;
        lua_pop(L, 1);
    }
    return rc;
}

static int create_row(void *payload, size_t i, eo_kv *out, size_t cap, size_t *n, eo_error *err)
{
    create_ctx *c = payload;
    lua_State *L = c->L;
    int rc;
    if (lua_rawgeti(L, c->list, (lua_Integer)i + 1) != LUA_TTABLE) {
        rc = eo_error_set(err, EO_EINVAL, "%s: create expects tables of values, item %zu is a %s",
                          c->m->name, i + 1, luaL_typename(L, -1));
        lua_pop(L, 1);
        return rc;
    }
    /* the row table stays reachable from the list: its strings outlive the pop */
    rc = table_kvs(L, lua_gettop(L), c->m, c->kind, &c->s, out, cap, n, err);
    lua_pop(L, 1);
    return rc;
}

static int l_create(lua_State *L)
{
    rset *rs = check_rs(L, 1);
    create_ctx c;
    idarr *a;
    size_t n;
    eo_error err;
    int rc;
    luaL_checktype(L, 2, LUA_TTABLE);
    n = lua_rawlen(L, 2);
    c.L = L;
    c.list = 2;
    c.m = rs->m;
    c.kind = rs_kind(rs);
    memset(&c.s, 0, sizeof c.s);
    a = idarr_new(n);
    if (a == NULL)
        return eo_lua_raisef(L, EO_ENOMEM, NULL, NULL, "out of memory");
    rc = eo_orm_create(rs_env(rs), rs->m, n, create_row, &c, 0, a->v, &err);
    eo_lua_scratch_free(&c.s);
    if (rc != EO_OK) {
        idarr_unref(a);
        return eo_lua_raise(L, &err);
    }
    push_new(L, 1, rs, rs->m, a);
    return 1;
}

static int l_write(lua_State *L)
{
    rset *rs = check_rs(L, 1);
    eo_lua_scratch s = { 0 };
    eo_kv *kvs;
    size_t n = 0;
    eo_error err;
    int rc;
    luaL_checktype(L, 2, LUA_TTABLE);
    kvs = eo_malloc(rs->m->nfields * sizeof *kvs);
    if (kvs == NULL)
        return eo_lua_raisef(L, EO_ENOMEM, NULL, NULL, "out of memory");
    rc = table_kvs(L, 2, rs->m, rs_kind(rs), &s, kvs, rs->m->nfields, &n, &err);
    if (rc == EO_OK)
        rc = eo_orm_write(rs_env(rs), rs->m, rs_ids(rs), rs->n, kvs, n, 0, &err);
    eo_free(kvs);
    eo_lua_scratch_free(&s);
    if (rc != EO_OK)
        return eo_lua_raise(L, &err);
    return 0;
}

static int l_unlink(lua_State *L)
{
    rset *rs = check_rs(L, 1);
    eo_error err;
    if (eo_orm_unlink(rs_env(rs), rs->m, rs_ids(rs), rs->n, &err) != EO_OK)
        return eo_lua_raise(L, &err);
    return 0;
}

static int64_t opt_window(lua_State *L, int idx, int64_t dflt, const char *what)
{
    if (lua_isnoneornil(L, idx))
        return dflt;
    if (!lua_isinteger(L, idx) || lua_tointeger(L, idx) < 0)
        eo_lua_raisef(L, EO_EINVAL, NULL, NULL, "%s must be a non-negative integer", what);
    return (int64_t)lua_tointeger(L, idx);
}

/* A domain for rs's model: shape errors know no model, so name it.
 * on: hide archived records (active_test() of the recordset for searches;
 * filtered_domain keeps them, as Odoo's does). */
static int rs_domain(lua_State *L, int idx, rset *rs, int on, eo_domain **out,
                     eo_error *err)
{
    int rc = eo_lua_to_domain_of(L, idx, rs_kind(rs), rs->m, out, err);
    if (rc == EO_OK)
        rc = eo_domain_set_active_test(*out, on, err);
    if (rc != EO_OK && err->model[0] == '\0')
        eo_error_where(err, rs->m->name, NULL);
    return rc;
}

/* An idarr of ids, taking its buffer when it is large (no copy: a search
 * of 1M ids would hold them twice for a moment). */
static idarr *ids_to_arr(eo_ids *ids)
{
    idarr *a;
    if (ids->n < 1024) {
        a = idarr_new(ids->n);
        if (a && ids->n)
            memcpy(a->v, ids->v, ids->n * sizeof(eo_id));
        eo_ids_free(ids);
        return a;
    }
    a = eo_malloc(sizeof *a);
    if (a == NULL) {
        eo_ids_free(ids);
        return NULL;
    }
    a->refs = 1;
    a->n = ids->n;
    a->derived = a->retired = NULL;
    a->v = ids->v;
    if (ids->cap > ids->n + ids->n / 8) {
        /* give back the growth slack */
        eo_id *v = eo_realloc(ids->v, ids->n * sizeof(eo_id));
        if (v)
            a->v = v;
    }
    memset(ids, 0, sizeof *ids);
    return a;
}

static int l_search(lua_State *L)
{
    rset *rs = check_rs(L, 1);
    const char *order = luaL_optstring(L, 3, NULL);
    int64_t limit = opt_window(L, 4, -1, "limit"), offset = opt_window(L, 5, 0, "offset");
    eo_domain *d = NULL;
    eo_ids ids = { 0 };
    eo_error err;
    idarr *a;
    int rc = rs_domain(L, 2, rs, eo_lua__active_test(L, 1), &d, &err);
    if (rc == EO_OK)
        rc = eo_orm_search(rs_env(rs), rs->m, d, order, limit, offset, &ids, &err);
    eo_domain_free(d);
    if (rc != EO_OK) {
        eo_ids_free(&ids);
        return eo_lua_raise(L, &err);
    }
    if ((a = ids_to_arr(&ids)) == NULL)
        return eo_lua_raisef(L, EO_ENOMEM, NULL, NULL, "out of memory");
    push_new(L, 1, rs, rs->m, a);
    return 1;
}

static int l_search_count(lua_State *L)
{
    rset *rs = check_rs(L, 1);
    eo_domain *d = NULL;
    eo_error err;
    int64_t n = 0;
    int rc = rs_domain(L, 2, rs, eo_lua__active_test(L, 1), &d, &err);
    if (rc == EO_OK)
        rc = eo_orm_search_count(rs_env(rs), rs->m, d, &n, &err);
    eo_domain_free(d);
    if (rc != EO_OK)
        return eo_lua_raise(L, &err);
    lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

/* Field list from a Lua list of names (NULL list: every stored field). */
static const eo_field **field_list(lua_State *L, int idx, const eo_model *m, size_t *n, int stored_only,
                                   eo_error *err)
{
    const eo_field **fl;
    size_t i, k = 0;
    if (lua_isnoneornil(L, idx)) {
        fl = eo_malloc(m->nfields * sizeof *fl);
        if (fl == NULL) {
            eo_error_set(err, EO_ENOMEM, "out of memory");
            return NULL;
        }
        for (i = 0; i < m->nfields; i++) {
            const eo_field *f = m->fields[i];
            if (stored_only && !(f->flags & EO_FF_STORED))
                continue;
            if ((f->flags & EO_FF_NOPREFETCH) || f->type == EO_FT_ONE2MANY ||
                f->type == EO_FT_MANY2MANY)
                continue;
            fl[k++] = f;
        }
        *n = k;
        return fl;
    }
    if (!lua_istable(L, idx)) {
        eo_error_set(err, EO_EINVAL, "%s: fields must be a list of names", m->name);
        return NULL;
    }
    *n = lua_rawlen(L, idx);
    fl = eo_malloc((*n + 1) * sizeof *fl);
    if (fl == NULL) {
        eo_error_set(err, EO_ENOMEM, "out of memory");
        return NULL;
    }
    fl[k++] = m->fields[0]; /* id comes first, always */
    for (i = 1; i <= *n; i++) {
        size_t len;
        const char *name;
        const eo_field *f;
        lua_rawgeti(L, idx, (lua_Integer)i);
        name = lua_tolstring(L, -1, &len);
        f = name ? eo_model_field(m, name, len) : NULL;
        lua_pop(L, 1);
        if (f == NULL) {
            eo_error_set(err, EO_EINVAL, "%s has no field '%s'", m->name, name ? name : "?");
            eo_error_where(err, m->name, name);
            eo_free(fl);
            return NULL;
        }
        if (f->type == EO_FT_ID)
            continue;
        fl[k++] = f;
    }
    *n = k;
    return fl;
}

typedef struct rows_ctx {
    lua_State *L;
    rset *rs;
    const eo_field **fields;
    lua_Integer i;
    int nulls;          /* NULL as orm.null (the nulls option), else absent */
    eo_vm *vm;          /* whose memory limit stops the query (NULL: none) */
    const eo_field **active; /* per field: the comodel's active field when an
                                x2many list leaves archived records out, or NULL */
} rows_ctx;

/* Raise err after a query stopped: the rows read so far (on top) go
 * first, and when the memory limit stopped it they are collected, so the
 * error object itself can be made. */
static int raise_dropping(lua_State *L, const eo_error *err)
{
    lua_pop(L, 1);
    if (err->code == EO_ENOMEM)
        lua_gc(L, LUA_GCCOLLECT);
    return eo_lua_raise(L, err);
}

/* search_read / read rows: plain tables (Many2one as an id, NULL absent
 * or orm.null) */
static int push_row(void *payload, const eo_value *row, size_t ncols, eo_error *err)
{
    rows_ctx *c = payload;
    lua_State *L = c->L;
    size_t i;
    int rc;
    if ((rc = eo_lua_rows_over_limit(c->vm, err)) != EO_OK)
        return rc;
    lua_createtable(L, 0, (int)ncols);
    for (i = 0; i < ncols; i++) {
        if (row[i].type == EO_VNULL) {
            if (!c->nulls)
                continue;
            eo_lua_push_null(L);
        } else if (c->active && c->active[i] && row[i].type == EO_VBLOB) {
            /* the flags were loaded before (read_active): only peeks here */
            const eo_id *list = (const eo_id *)(const void *)row[i].u.s.p;
            size_t k, n = row[i].u.s.n / sizeof(eo_id);
            lua_Integer j = 0;
            const eo_model *cm = c->fields[i]->comodel;
            lua_createtable(L, (int)n, 0);
            for (k = 0; k < n; k++) {
                if (!is_active(eo_orm_peek(rs_env(c->rs), cm, list[k], c->active[i])))
                    continue;
                push_id(L, c->rs, list[k]);
                lua_rawseti(L, -2, ++j);
            }
        } else {
            push_typed(L, 0, c->rs, c->fields[i], &row[i], 1);
        }
        if (c->nulls && lua_isnil(L, -1)) {
            /* a Json null */
            lua_pop(L, 1);
            eo_lua_push_null(L);
        }
        lua_setfield(L, -2, c->fields[i]->name);
    }
    lua_rawseti(L, -2, ++c->i);
    return EO_OK;
}

static int l_search_read(lua_State *L)
{
    rset *rs = check_rs(L, 1);
    const char *order = luaL_optstring(L, 4, NULL);
    int64_t limit = opt_window(L, 5, -1, "limit"), offset = opt_window(L, 6, 0, "offset");
    int nulls = lua_toboolean(L, 7);
    eo_domain *d = NULL;
    const eo_field **fl;
    size_t nf = 0;
    rows_ctx c;
    eo_error err;
    int rc;
    int on = eo_lua__active_test(L, 1);
    fl = field_list(L, 3, rs->m, &nf, 1, &err);
    if (fl == NULL)
        return eo_lua_raise(L, &err);
    if ((rc = rs_domain(L, 2, rs, on, &d, &err)) != EO_OK) {
        eo_free(fl);
        return eo_lua_raise(L, &err);
    }
    lua_newtable(L);
    c.L = L;
    c.rs = rs;
    c.fields = fl;
    c.i = 0;
    c.nulls = nulls;
    c.vm = eo_lua_vm(L);
    c.active = NULL;
    eo_lua_critical(L, 1); /* rows are pushed while the query is open */
    rc = eo_orm_search_rows(rs_env(rs), rs->m, d, fl, nf, order, limit, offset, push_row, &c, &err);
    eo_lua_critical(L, -1);
    eo_free(fl);
    eo_domain_free(d);
    if (rc != EO_OK)
        return raise_dropping(L, &err);
    eo_lua_check_memory(L);
    return 1;
}

/* For read: which x2many fields of fl leave archived records out (act[j],
 * NULL when none does), with those records' flags loaded now, one query
 * per prefetch window of all the linked records, so rows only peek. */
static int read_active(rset *rs, const eo_field **fl, size_t nf, int on,
                       const eo_field ***out, eo_error *err)
{
    const eo_field **act = NULL;
    size_t j, i, k;
    int rc = EO_OK;
    *out = NULL;
    for (j = 0; j < nf && rc == EO_OK; j++) {
        const eo_field *f = fl[j], *af;
        eo_ids all = { 0 };
        eo_idmap seen;
        if (!on || (f->type != EO_FT_ONE2MANY && f->type != EO_FT_MANY2MANY) ||
            (af = eo_model_active_field(f->comodel)) == NULL)
            continue;
        if (act == NULL && (act = eo_calloc(nf, sizeof *act)) == NULL)
            return eo_error_set(err, EO_ENOMEM, "out of memory");
        act[j] = af;
        memset(&seen, 0, sizeof seen);
        for (i = 0; i < rs->n && rc == EO_OK; i++) {
            const eo_id *list;
            size_t n;
            rc = eo_orm_get_ids(rs_env(rs), rs->m, rs_ids(rs)[i], f, rs_ids(rs), rs->n, i, &list,
                                &n, err);
            if (rc == EO_ENOTFOUND) {
                rc = EO_OK; /* deleted: read skips it */
                continue;
            }
            for (k = 0; rc == EO_OK && k < n; k++) {
                if (eo_idmap__get(&seen, list[k], &(size_t){ 0 }))
                    continue;
                if (eo_idmap__put(&seen, list[k], 0) != EO_OK || eo_ids_push(&all, list[k]) != EO_OK)
                    rc = eo_error_set(err, EO_ENOMEM, "out of memory");
            }
        }
        if (rc == EO_OK)
            rc = keep_active(rs_env(rs), f->comodel, af, all.v, &all.n, NULL, 0, err);
        eo_idmap__free(&seen);
        eo_ids_free(&all);
    }
    if (rc != EO_OK) {
        eo_free(act);
        return rc;
    }
    *out = act;
    return EO_OK;
}

static int l_read(lua_State *L)
{
    rset *rs = check_rs(L, 1);
    const eo_field **fl, **act = NULL;
    size_t nf = 0;
    rows_ctx c;
    eo_error err;
    int rc, on = eo_lua__active_test(L, 1);
    fl = field_list(L, 2, rs->m, &nf, 0, &err);
    if (fl == NULL)
        return eo_lua_raise(L, &err);
    if ((rc = read_active(rs, fl, nf, on, &act, &err)) != EO_OK) {
        eo_free(fl);
        return eo_lua_raise(L, &err);
    }
    c.nulls = lua_toboolean(L, 3);
    lua_newtable(L);
    c.L = L;
    c.rs = rs;
    c.fields = fl;
    c.i = 0;
    c.vm = eo_lua_vm(L);
    c.active = act;
    eo_lua_critical(L, 1);
    rc = eo_orm_read_rows(rs_env(rs), rs->m, rs_ids(rs), rs->n, fl, nf, push_row, &c, &err);
    eo_lua_critical(L, -1);
    eo_free(fl);
    eo_free(act);
    if (rc != EO_OK)
        return raise_dropping(L, &err);
    eo_lua_check_memory(L);
    return 1;
}

/* core.search_fetch(rs, domain, fields, order, limit, offset): the records
 * found, with the stored fields named (nil: every prefetchable stored
 * one) loaded in the same query */
static int l_search_fetch(lua_State *L)
{
    rset *rs = check_rs(L, 1);
    const char *order = luaL_optstring(L, 4, NULL);
    int64_t limit = opt_window(L, 5, -1, "limit"), offset = opt_window(L, 6, 0, "offset");
    int on = eo_lua__active_test(L, 1);
    const eo_field **fl = NULL;
    size_t nf = 0;
    eo_domain *d = NULL;
    eo_ids ids = { 0 };
    eo_error err;
    idarr *a;
    int rc = EO_OK;
    if (!lua_isnoneornil(L, 3) && (fl = field_list(L, 3, rs->m, &nf, 1, &err)) == NULL)
        return eo_lua_raise(L, &err);
    rc = rs_domain(L, 2, rs, on, &d, &err);
    if (rc == EO_OK)
        rc = eo_orm_search_fetch(rs_env(rs), rs->m, d, fl, nf, order, limit, offset, &ids, &err);
    eo_domain_free(d);
    eo_free(fl);
    if (rc != EO_OK) {
        eo_ids_free(&ids);
        return eo_lua_raise(L, &err);
    }
    if ((a = ids_to_arr(&ids)) == NULL)
        return eo_lua_raisef(L, EO_ENOMEM, NULL, NULL, "out of memory");
    push_new(L, 1, rs, rs->m, a);
    return 1;
}

static int l_browse(lua_State *L)
{
    rset *rs = check_rs(L, 1);
    idarr *a;
    size_t n, i;
    eo_idkind kind = rs_kind(rs);
    int t = lua_type(L, 2);
    if (to_rs(L, 2)) {
        eo_lua__recordset_ids(L, 2);
        lua_replace(L, 2);
        t = LUA_TTABLE;
    }
    if (t == LUA_TNIL || t == LUA_TNONE) {
        push_empty(L, 1, rs, rs->m);
        return 1;
    }
    if (t == LUA_TNUMBER || t == LUA_TSTRING) {
        lua_createtable(L, 1, 0);
        lua_pushvalue(L, 2);
        lua_rawseti(L, -2, 1);
        lua_replace(L, 2);
    } else {
        luaL_checktype(L, 2, LUA_TTABLE);
    }
    n = lua_rawlen(L, 2);
    a = idarr_new(n);
    if (a == NULL)
        return eo_lua_raisef(L, EO_ENOMEM, NULL, NULL, "out of memory");
    for (i = 0; i < n; i++) {
        eo_value v = eo_null();
        size_t len;
        lua_rawgeti(L, 2, (lua_Integer)i + 1);
        if (lua_isinteger(L, -1))
            v = eo_int(lua_tointeger(L, -1));
        else if (lua_type(L, -1) == LUA_TSTRING) {
            const char *s = lua_tolstring(L, -1, &len);
            v = eo_text(s, len);
        }
        if (eo_id_from_value(&a->v[i], kind, &v) != EO_OK) {
            lua_pop(L, 1);
            idarr_unref(a);
            return eo_lua_raisef(L, EO_EINVAL, rs->m->name, NULL, "%s: browse: item %zu is not an id",
                                 rs->m->name, i + 1);
        }
        lua_pop(L, 1);
    }
    push_new(L, 1, rs, rs->m, a);
    return 1;
}

static int l_exists(lua_State *L)
{
    rset *rs = check_rs(L, 1);
    eo_ids out = { 0 };
    eo_error err;
    idarr *a;
    if (eo_orm_exists(rs_env(rs), rs->m, rs_ids(rs), rs->n, &out, &err) != EO_OK) {
        eo_ids_free(&out);
        return eo_lua_raise(L, &err);
    }
    if ((a = ids_to_arr(&out)) == NULL)
        return eo_lua_raisef(L, EO_ENOMEM, NULL, NULL, "out of memory");
    push_new(L, 1, rs, rs->m, a);
    return 1;
}

/*
 * A loop over a recordset larger than two prefetch windows releases, as it
 * enters each window, the values it loaded for the window before (the
 * store is a cache: a record read again later is loaded again), so
 * visiting N records holds one window of values, not N. Not while a
 * compute method runs (what it assigned waits in the store for its
 * write), nor on a versioned model (the versions read are what a later
 * write is checked against).
 */
static void each_release(rset *rs, size_t i)
{
    size_t max = eo_env_prefetch_max(rs->h->env);
    if (max == 0 || rs->n <= 2 * max || i == 0 || i % max != 0 || rs->h->computing)
        return;
    if (versioned(rs->m))
        return; /* the versions read are what a later write is checked against */
    eo_orm_invalidate(rs->h->env, rs->m, rs_ids(rs) + (i - max), max, NULL);
}

static int each_step(lua_State *L)
{
    rset *rs = check_rs(L, lua_upvalueindex(1));
    lua_Integer i = lua_tointeger(L, lua_upvalueindex(2));
    if ((size_t)i >= rs->n)
        return 0;
    each_release(rs, (size_t)i);
    lua_pushinteger(L, i + 1);
    lua_replace(L, lua_upvalueindex(2));
    push_record(L, lua_upvalueindex(1), rs, (size_t)i);
    return 1;
}

static int l_each(lua_State *L)
{
    check_rs(L, 1);
    lua_pushvalue(L, 1);
    lua_pushinteger(L, 0);
    lua_pushcclosure(L, each_step, 2);
    return 1;
}

/* core.pick(rs, { positions }) -> the records at those 1-based positions */
static int l_pick(lua_State *L)
{
    rset *rs = check_rs(L, 1);
    size_t n, i;
    idarr *a;
    luaL_checktype(L, 2, LUA_TTABLE);
    n = lua_rawlen(L, 2);
    a = idarr_new(n);
    if (a == NULL)
        return eo_lua_raisef(L, EO_ENOMEM, NULL, NULL, "out of memory");
    for (i = 0; i < n; i++) {
        lua_Integer p;
        lua_rawgeti(L, 2, (lua_Integer)i + 1);
        p = lua_tointeger(L, -1);
        lua_pop(L, 1);
        if (p < 1 || (size_t)p > rs->n) {
            idarr_unref(a);
            return eo_lua_raisef(L, EO_EINVAL, rs->m->name, NULL, "position %lld out of range",
                                 (long long)p);
        }
        a->v[i] = rs_ids(rs)[p - 1];
    }
    /* the picked records keep the original prefetch set */
    push_rs(L, 1, 0, rs->h, rs->m, a, 0, n, rs->pf, 0);
    idarr_unref(a);
    return 1;
}

typedef struct sortent {
    size_t pos;
    eo_value *keys;
} sortent;

static const eo_order_item *sort_items;
static size_t sort_nitems;
static int sort_reverse;

static int sort_cmp(const void *pa, const void *pb)
{
    const sortent *a = pa, *b = pb;
    size_t i;
    for (i = 0; i < sort_nitems; i++) {
        int c = eo_value_compare(&a->keys[i], &b->keys[i]);
        if (c)
            return (sort_items[i].desc ? -c : c) * (sort_reverse ? -1 : 1);
    }
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* core.sorted(rs, order_text_or_nil, reverse) */
static int l_sorted(lua_State *L)
{
    rset *rs = check_rs(L, 1);
    const char *order = luaL_optstring(L, 2, rs->m->order);
    int reverse = lua_toboolean(L, 3);
    eo_order_item *items = NULL;
    sortent *ents = NULL;
    eo_value *keys = NULL;
    size_t ni = 0, i, j;
    idarr *a = NULL;
    eo_error err;
    int rc = eo_order_parse(&items, &ni, rs->m, order, &err);
    if (rc != EO_OK)
        return eo_lua_raise(L, &err);
    for (i = 0; i < ni; i++) {
        if (items[i].nvia > 0) {
            /* recs:sorted() sorts by paths in Lua (earnorm/delegation.lua) */
            eo_error_set(&err, EO_EINVAL, "%s: core.sorted cannot sort by a path ('%s' of %s)",
                         rs->m->name, items[i].field->name, items[i].field->model->name);
            eo_free(items);
            return eo_lua_raise(L, &err);
        }
        if (items[i].sub != NULL) {
            eo_error_set(&err, EO_ENOTSUP, "%s: sorted() by a sub-field ('%s.%s') is not "
                         "supported yet (search with order = does it)",
                         rs->m->name, items[i].field->name, items[i].sub->name);
            eo_free(items);
            return eo_lua_raise(L, &err);
        }
    }
    ents = eo_calloc(rs->n ? rs->n : 1, sizeof *ents);
    keys = eo_calloc((rs->n ? rs->n : 1) * (ni ? ni : 1), sizeof *keys);
    a = idarr_new(rs->n);
    if (ents == NULL || keys == NULL || a == NULL) {
        rc = eo_error_set(&err, EO_ENOMEM, "out of memory");
        goto done;
    }
    for (i = 0; i < rs->n && rc == EO_OK; i++) {
        ents[i].pos = i;
        ents[i].keys = keys + i * ni;
        for (j = 0; j < ni && rc == EO_OK; j++) {
            const eo_value *v;
            char hex[25];
            if (items[j].field->type == EO_FT_ID) {
                eo_value iv = eo_id_to_value(rs_ids(rs)[i], rs_kind(rs), hex);
                rc = eo_value_copy(&ents[i].keys[j], &iv);
                continue;
            }
            rc = eo_orm_get(rs_env(rs), rs->m, rs_ids(rs)[i], items[j].field, rs_ids(rs), rs->n, i,
                            &v, &err);
            /* copy: a later load may replace the stored value */
            if (rc == EO_OK && eo_value_copy(&ents[i].keys[j], v) != EO_OK)
                rc = eo_error_set(&err, EO_ENOMEM, "out of memory");
        }
    }
    if (rc == EO_OK) {
        sort_items = items;
        sort_nitems = ni;
        sort_reverse = reverse;
        qsort(ents, rs->n, sizeof *ents, sort_cmp);
        for (i = 0; i < rs->n; i++)
            a->v[i] = rs_ids(rs)[ents[i].pos];
    }
done:
    if (keys)
        for (i = 0; i < rs->n * ni; i++)
            eo_value_clear(&keys[i]);
    eo_free(keys);
    eo_free(ents);
    eo_free(items);
    if (rc != EO_OK) {
        idarr_unref(a);
        return eo_lua_raise(L, &err);
    }
    push_rs(L, 1, 0, rs->h, rs->m, a, 0, a->n, rs->pf, 0);
    idarr_unref(a);
    return 1;
}

/* core.filtered_domain(rs, domain): one search over these ids, order kept */
static int l_filtered_domain(lua_State *L)
{
    rset *rs = check_rs(L, 1);
    eo_domain *d = NULL;
    eo_ids found = { 0 };
    eo_idmap keep;
    eo_error err;
    idarr *a = NULL;
    size_t i, n = 0;
    int rc;
    lua_settop(L, 2);
    /* stack: rs, domain -> build { {"id", "in", ids}, table.unpack(domain) } */
    lua_newtable(L);
    lua_createtable(L, 3, 0);
    lua_pushliteral(L, "id");
    lua_rawseti(L, -2, 1);
    lua_pushliteral(L, "in");
    lua_rawseti(L, -2, 2);
    eo_lua__recordset_ids(L, 1);
    lua_rawseti(L, -2, 3);
    lua_rawseti(L, -2, 1);
    if (lua_istable(L, 2)) {
        lua_Integer k, m = (lua_Integer)lua_rawlen(L, 2);
        for (k = 1; k <= m; k++) {
            lua_rawgeti(L, 2, k);
            lua_rawseti(L, -2, k + 1);
        }
    }
    memset(&keep, 0, sizeof keep);
    rc = rs_domain(L, 3, rs, 0, &d, &err);
    if (rc == EO_OK)
        rc = eo_orm_search(rs_env(rs), rs->m, d, NULL, -1, 0, &found, &err);
    eo_domain_free(d);
    for (i = 0; rc == EO_OK && i < found.n; i++)
        if (eo_idmap__put(&keep, found.v[i], 0) != EO_OK)
            rc = eo_error_set(&err, EO_ENOMEM, "out of memory");
    if (rc == EO_OK && (a = idarr_new(rs->n)) == NULL)
        rc = eo_error_set(&err, EO_ENOMEM, "out of memory");
    for (i = 0; rc == EO_OK && i < rs->n; i++)
        if (eo_idmap__get(&keep, rs_ids(rs)[i], &(size_t){ 0 }))
            a->v[n++] = rs_ids(rs)[i];
    eo_idmap__free(&keep);
    eo_ids_free(&found);
    if (rc != EO_OK) {
        idarr_unref(a);
        return eo_lua_raise(L, &err);
    }
    a->n = n;
    push_rs(L, 1, 0, rs->h, rs->m, a, 0, n, rs->pf, 0);
    idarr_unref(a);
    return 1;
}

/* The related ids of every record of rs through f (Many2one or x2many),
 * without duplicates, in first-seen order: one load for the whole set. */
static int related(rset *rs, const eo_field *f, eo_ids *out, eo_error *err)
{
    eo_idmap seen;
    size_t i, k;
    int rc = EO_OK;
    memset(&seen, 0, sizeof seen);
    for (i = 0; rc == EO_OK && i < rs->n; i++) {
        const eo_id *list;
        size_t n;
        eo_id one;
        if (f->type == EO_FT_MANY2ONE) {
            const eo_value *v;
            rc = eo_orm_get(rs_env(rs), rs->m, rs_ids(rs)[i], f, rs_ids(rs), rs->n, i, &v, err);
            if (rc != EO_OK || v->type == EO_VNULL || eo_id_from_value(&one, rs_kind(rs), v) != EO_OK)
                continue;
            list = &one;
            n = 1;
        } else {
            rc = eo_orm_get_ids(rs_env(rs), rs->m, rs_ids(rs)[i], f, rs_ids(rs), rs->n, i, &list, &n,
                                err);
            if (rc != EO_OK)
                break;
        }
        for (k = 0; k < n && rc == EO_OK; k++) {
            if (eo_idmap__get(&seen, list[k], &(size_t){ 0 }))
                continue;
            if (eo_idmap__put(&seen, list[k], 0) != EO_OK || eo_ids_push(out, list[k]) != EO_OK)
                rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        }
    }
    eo_idmap__free(&seen);
    return rc;
}

static int is_relational(const eo_field *f)
{
    return f->type == EO_FT_MANY2ONE || f->type == EO_FT_ONE2MANY || f->type == EO_FT_MANY2MANY;
}

/* Push the related records of rs through f as one recordset. */
static int push_related_all(lua_State *L, rset *rs, const eo_field *f)
{
    eo_ids ids = { 0 };
    eo_error err;
    idarr *a;
    const eo_field *af;
    if (f->comodel == NULL)
        return eo_lua_raisef(L, EO_ENOTFOUND, rs->m->name, f->name, "%s.%s: model %s is not defined",
                             rs->m->name, f->name, f->comodel_name);
    af = f->type == EO_FT_MANY2ONE ? NULL : hidden_archived(L, 1, f->comodel);
    if (related(rs, f, &ids, &err) != EO_OK ||
        (af && keep_active(rs_env(rs), f->comodel, af, ids.v, &ids.n, NULL, 0, &err) != EO_OK)) {
        eo_ids_free(&ids);
        return eo_lua_raise(L, &err);
    }
    if ((a = ids_to_arr(&ids)) == NULL)
        return eo_lua_raisef(L, EO_ENOMEM, NULL, NULL, "out of memory");
    push_new(L, 1, rs, f->comodel, a);
    return 1;
}

/* core.mapped(rs, field): related records (a recordset) or a list of values */
static int l_mapped(lua_State *L)
{
    rset *rs = check_rs(L, 1);
    size_t len, i;
    const char *name = luaL_checklstring(L, 2, &len);
    const eo_field *f = eo_model_field(rs->m, name, len);
    lua_Integer k = 0;
    if (f == NULL)
        return eo_lua_raisef(L, EO_EINVAL, rs->m->name, name, "%s has no field '%s'", rs->m->name, name);
    if (is_relational(f))
        return push_related_all(L, rs, f);
    lua_createtable(L, (int)rs->n, 0);
    for (i = 0; i < rs->n; i++) {
        push_record(L, 1, rs, i);
        push_field(L, lua_gettop(L), to_rs(L, -1), f);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 2);
            continue;
        }
        lua_rawseti(L, -3, ++k);
        lua_pop(L, 1);
    }
    return 1;
}

/* core.prefetch(rs, field): load field for every record of rs in as few
 * queries as the prefetch size allows; relational fields return the
 * related records (to go on along a path), others nothing. */
static int l_prefetch(lua_State *L)
{
    rset *rs = check_rs(L, 1);
    size_t len, i;
    const char *name = luaL_checklstring(L, 2, &len);
    const eo_field *f = eo_model_field(rs->m, name, len);
    eo_error err;
    if (f == NULL)
        return eo_lua_raisef(L, EO_EINVAL, rs->m->name, name, "%s has no field '%s'", rs->m->name, name);
    if (is_relational(f))
        return push_related_all(L, rs, f);
    if (!(f->flags & EO_FF_STORED))
        return 0; /* computed on read */
    for (i = 0; i < rs->n; i++) {
        const eo_value *v;
        if (eo_orm_get(rs_env(rs), rs->m, rs_ids(rs)[i], f, rs_ids(rs), rs->n, i, &v, &err) != EO_OK &&
            err.code != EO_ENOTFOUND)
            return eo_lua_raise(L, &err);
    }
    return 0;
}

/* core.link(rs, field, ids) / core.unlink_rel(rs, field, ids): on the single
 * record rs; return the records actually linked / unlinked */
static int rel_change(lua_State *L, int link)
{
    rset *rs = check_rs(L, 1);
    const eo_field *f;
    eo_ids targets = { 0 }, done = { 0 };
    eo_error err;
    size_t i, n;
    idarr *a;
    int rc = EO_OK;
    size_t len;
    const char *name = luaL_checklstring(L, 2, &len);
    f = eo_model_field(rs->m, name, len);
    if (f == NULL || (f->type != EO_FT_ONE2MANY && f->type != EO_FT_MANY2MANY))
        return eo_lua_raisef(L, EO_EINVAL, rs->m->name, name, "%s.%s is not a One2many or Many2many field",
                             rs->m->name, name);
    if (rs->n != 1)
        return eo_lua_raisef(L, EO_EINVAL, rs->m->name, name, "%s: expected one record, got %zu",
                             rs->m->name, rs->n);
    luaL_checktype(L, 3, LUA_TTABLE);
    n = lua_rawlen(L, 3);
    for (i = 1; i <= n && rc == EO_OK; i++) {
        eo_value v = eo_null();
        eo_id id;
        size_t sl;
        lua_rawgeti(L, 3, (lua_Integer)i);
        if (lua_isinteger(L, -1))
            v = eo_int(lua_tointeger(L, -1));
        else if (lua_type(L, -1) == LUA_TSTRING) {
            const char *p = lua_tolstring(L, -1, &sl);
            v = eo_text(p, sl);
        }
        if (eo_id_from_value(&id, rs_kind(rs), &v) != EO_OK)
            rc = eo_error_set(&err, EO_EINVAL, "%s.%s: item %zu is not an id of %s", rs->m->name,
                              name, i, f->comodel_name);
        else if (eo_ids_push(&targets, id) != EO_OK)
            rc = eo_error_set(&err, EO_ENOMEM, "out of memory");
        lua_pop(L, 1);
    }
    if (rc == EO_OK && link)
        rc = eo_orm_link(rs_env(rs), rs->m, rs_ids(rs)[0], f, targets.v, targets.n, &done, &err);
    else if (rc == EO_OK)
        rc = eo_orm_unlink_rel(rs_env(rs), rs->m, rs_ids(rs)[0], f, targets.v, targets.n, &done, &err);
    eo_ids_free(&targets);
    if (rc != EO_OK) {
        eo_ids_free(&done);
        if (!err.model[0])
            eo_error_where(&err, rs->m->name, f->name);
        return eo_lua_raise(L, &err);
    }
    if ((a = ids_to_arr(&done)) == NULL)
        return eo_lua_raisef(L, EO_ENOMEM, NULL, NULL, "out of memory");
    push_new(L, 1, rs, f->comodel, a);
    return 1;
}

static int l_link(lua_State *L) { return rel_change(L, 1); }
static int l_unlink_rel(lua_State *L) { return rel_change(L, 0); }

static int l_class(lua_State *L)
{
    rset *rs = check_any(L, 1);
    eo_lua_push_class(L, rs->m);
    return 1;
}

static int l_cenv(lua_State *L)
{
    check_rs(L, 1);
    rs_uv(L, 1, 1);
    lua_getfield(L, -1, "_c");
    return 1;
}

static int l_model_name(lua_State *L)
{
    rset *rs = check_any(L, 1);
    lua_pushstring(L, rs->m->name);
    return 1;
}

static int l_is_recordset(lua_State *L)
{
    lua_pushboolean(L, to_rs(L, 1) != NULL);
    return 1;
}

static int l_context(lua_State *L)
{
    check_any(L, 1);
    rs_uv(L, 1, 2);
    return 1;
}

static int l_with_context(lua_State *L)
{
    rset *rs = check_rs(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    push_rs(L, 1, 0, rs->h, rs->m, rs->ids, rs->off, rs->n, rs->pf, rs->pfpos);
    lua_pushvalue(L, 2);
    lua_setiuservalue(L, -2, 2);
    return 1;
}

static const eo_field *check_field(lua_State *L, rset *rs, int idx)
{
    size_t len;
    const char *name = luaL_checklstring(L, idx, &len);
    const eo_field *f = eo_model_field(rs->m, name, len);
    if (f == NULL)
        eo_lua_raisef(L, EO_EINVAL, rs->m->name, name, "%s has no field '%s'", rs->m->name, name);
    return f;
}

static int l_invalidate(lua_State *L)
{
    rset *rs = check_rs(L, 1);
    const eo_field *f = lua_isnoneornil(L, 2) ? NULL : check_field(L, rs, 2);
    eo_orm_invalidate(rs_env(rs), rs->m, rs_ids(rs), rs->n, f);
    return 0;
}

/* core.uncached(rs, field) -> the records lacking a value for field */
static int l_uncached(lua_State *L)
{
    rset *rs = check_rs(L, 1);
    const eo_field *f = check_field(L, rs, 2);
    idarr *a = idarr_new(rs->n);
    size_t i, n = 0;
    if (a == NULL)
        return eo_lua_raisef(L, EO_ENOMEM, NULL, NULL, "out of memory");
    for (i = 0; i < rs->n; i++)
        if (!eo_orm_cached(rs_env(rs), rs->m, rs_ids(rs)[i], f))
            a->v[n++] = rs_ids(rs)[i];
    a->n = n;
    push_new(L, 1, rs, rs->m, a);
    return 1;
}

/* core.check_default(rs, field, value): the value a default function
 * returned, converted and checked as a create would; an error says it is
 * the default's (the caller passed nothing). x2many defaults are id lists,
 * checked by the create. */
static int l_check_default(lua_State *L)
{
    rset *rs = check_rs(L, 1);
    const eo_field *f = check_field(L, rs, 2);
    eo_lua_scratch s = { 0 };
    eo_value_scratch vs;
    eo_value v, out;
    eo_error err;
    int rc;
    if (f->type == EO_FT_ONE2MANY || f->type == EO_FT_MANY2MANY)
        return 0;
    eo_error_clear(&err);
    memset(&vs, 0, sizeof vs);
    rc = eo_lua_to_value(L, 3, f, rs_kind(rs), &s, &v, &err);
    if (rc == EO_OK)
        rc = eo_field_convert(f, &v, &out, &vs, &err);
    eo_lua_scratch_free(&s);
    if (rc != EO_OK) {
        char why[sizeof err.msg], own[160];
        size_t ol = (size_t)snprintf(own, sizeof own, "%s.%s: ", f->model->name, f->name);
        /* the conversion's message names the field already: say it once */
        snprintf(why, sizeof why, "%s", strncmp(err.msg, own, ol) == 0 ? err.msg + ol : err.msg);
        eo_error_set(&err, rc, "%s.%s: the default function returned a %s: %s", f->model->name,
                     f->name, luaL_typename(L, 3), why);
        eo_error_where(&err, f->model->name, f->name);
        eo_lua_raise(L, &err);
    }
    return 0;
}

/* core.flush_computed(rs, field): write the computed values the cache holds */
static int l_flush_computed(lua_State *L)
{
    rset *rs = check_rs(L, 1);
    const eo_field *f = check_field(L, rs, 2);
    eo_env *env = rs_env(rs);
    eo_value *vals;
    eo_error err;
    size_t i, ncopied = 0;
    int rc = EO_OK;
    if (rs->n == 0)
        return 0;
    /* the write replaces the cached values: it gets copies */
    vals = eo_malloc(rs->n * sizeof *vals);
    if (vals == NULL)
        return luaL_error(L, "out of memory");
    for (i = 0; i < rs->n && rc == EO_OK; i++) {
        const eo_value *v = eo_orm_peek(env, rs->m, rs_ids(rs)[i], f);
        if (v == NULL) {
            char hex[25];
            eo_value iv = eo_id_to_value(rs_ids(rs)[i], rs_kind(rs), hex);
            if (iv.type == EO_VINT)
                rc = eo_error_set(&err, EO_ERROR, "%s.%s: the compute method did not assign it for %s(%lld)",
                                  rs->m->name, f->name, rs->m->name, (long long)iv.u.i);
            else
                rc = eo_error_set(&err, EO_ERROR, "%s.%s: the compute method did not assign it for %s(%s)",
                                  rs->m->name, f->name, rs->m->name, hex);
            eo_error_where(&err, rs->m->name, f->name);
            break;
        }
        if (eo_value_copy(&vals[i], v) != EO_OK) {
            rc = eo_error_set(&err, EO_ENOMEM, "out of memory");
            break;
        }
        ncopied++;
    }
    /* one batched write: a single round trip where the server allows it */
    if (rc == EO_OK)
        rc = eo_orm_write_each(env, rs->m, rs_ids(rs), rs->n, f, vals, EO_W_COMPUTE, &err);
    for (i = 0; i < ncopied; i++)
        eo_value_clear(&vals[i]);
    eo_free(vals);
    if (rc != EO_OK)
        return eo_lua_raise(L, &err);
    return 0;
}

/* core.set_display_name_hook(fn): fn(recs) gives recs.display_name */
static int l_set_display_name_hook(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_pushvalue(L, 1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &name_hook_key);
    return 0;
}

static int l_set_compute_hook(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_pushvalue(L, 1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &hook_key);
    return 0;
}

/* core.set_recompute_hook(fn): fn(rec, field) runs before a stale stored value is read */
static int l_set_recompute_hook(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_pushvalue(L, 1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &recompute_key);
    return 0;
}

void eo_lua__push_ids(lua_State *L, int like, const eo_model *m, const eo_id *ids, size_t n)
{
    rset *src = check_rs(L, like);
    idarr *a = idarr_new(n);
    if (a == NULL)
        eo_lua_raisef(L, EO_ENOMEM, NULL, NULL, "out of memory");
    if (n)
        memcpy(a->v, ids, n * sizeof *ids);
    push_new(L, like, src, m, a);
}

void eo_lua__rs_view(lua_State *L, int idx, eo_rs_view *out)
{
    rset *rs = check_rs(L, idx);
    out->env = rs_env(rs);
    out->model = rs->m;
    out->ids = rs_ids(rs);
    out->n = rs->n;
}

static int l_explain(lua_State *L)
{
    rset *rs = check_rs(L, 1);
    const char *order = luaL_optstring(L, 3, NULL);
    int64_t limit = opt_window(L, 4, -1, "limit"), offset = opt_window(L, 5, 0, "offset");
    eo_domain *d = NULL;
    char *text = NULL;
    eo_error err;
    int rc = rs_domain(L, 2, rs, eo_lua__active_test(L, 1), &d, &err);
    if (rc == EO_OK)
        rc = eo_orm_explain(rs_env(rs), rs->m, d, order, limit, offset, &text, &err);
    eo_domain_free(d);
    if (rc != EO_OK)
        return eo_lua_raise(L, &err);
    lua_pushstring(L, text);
    eo_free(text);
    return 1;
}

static int noop_row(void *payload, const eo_value *row, size_t ncols, eo_error *err)
{
    (void)payload;
    (void)row;
    (void)ncols;
    (void)err;
    return EO_OK;
}

/* Distinct ids of refs[] (has[i] set), then load f for them into the store. */
static int load_refs(rset *rs, const eo_model *m, const eo_field *f, const eo_id *refs,
                     const unsigned char *has, size_t n, eo_error *err)
{
    eo_idmap seen;
    eo_ids ids = { 0 };
    size_t i;
    int rc = EO_OK;
    memset(&seen, 0, sizeof seen);
    for (i = 0; i < n && rc == EO_OK; i++) {
        if (!has[i] || eo_idmap__get(&seen, refs[i], &(size_t){ 0 }))
            continue;
        if (eo_idmap__put(&seen, refs[i], 0) != EO_OK || eo_ids_push(&ids, refs[i]) != EO_OK)
            rc = eo_error_set(err, EO_ENOMEM, "out of memory");
    }
    if (rc == EO_OK)
        rc = eo_orm_read_rows(rs_env(rs), m, ids.v, ids.n, &f, 1, noop_row, NULL, err);
    eo_idmap__free(&seen);
    eo_ids_free(&ids);
    return rc;
}

/*
 * core.fill_related(rs, rows, path): rows[i][path] = the value at the end
 * of a Many2one path ("parent_id.country_id.code"), starting from the
 * plain rows of search_read/read (which hold the first Many2one as an id).
 * One load per step for all rows, through the record store.
 */
static int l_fill_related(lua_State *L)
{
    rset *rs = check_rs(L, 1);
    size_t plen, n, i, nseg = 0;
    const char *path = luaL_checklstring(L, 3, &plen);
    const char *segs[16];
    size_t seglen[16];
    const eo_model *m = rs->m;
    const eo_field *chain[16];
    eo_id *refs = NULL;
    unsigned char *has = NULL;
    eo_error err;
    int rc = EO_OK;
    const char *p = path;
    luaL_checktype(L, 2, LUA_TTABLE);
    /* resolve the path: Many2one fields, then any field */
    while (*p && nseg < 16) {
        const char *dot = strchr(p, '.');
        segs[nseg] = p;
        seglen[nseg] = dot ? (size_t)(dot - p) : strlen(p);
        nseg++;
        p = dot ? dot + 1 : p + strlen(p);
    }
    if (nseg < 2 || *p)
        return eo_lua_raisef(L, EO_EINVAL, rs->m->name, NULL, "%s: bad field path '%s'", rs->m->name, path);
    for (i = 0; i < nseg; i++) {
        const eo_field *f = m ? eo_model_field(m, segs[i], seglen[i]) : NULL;
        if (f == NULL)
            return eo_lua_raisef(L, EO_EINVAL, m ? m->name : rs->m->name, NULL,
                                 "%s has no field '%.*s' (in path '%s')", m ? m->name : "?",
                                 (int)seglen[i], segs[i], path);
        if (i + 1 < nseg && f->type != EO_FT_MANY2ONE)
            return eo_lua_raisef(L, EO_EINVAL, m->name, f->name,
                                 "%s.%s: a field path goes through Many2one fields (in '%s')",
                                 m->name, f->name, path);
        chain[i] = f;
        m = f->comodel;
    }
    n = lua_rawlen(L, 2);
    refs = eo_calloc(n ? n : 1, sizeof *refs);
    has = eo_calloc(n ? n : 1, 1);
    if (refs == NULL || has == NULL) {
        eo_free(refs);
        eo_free(has);
        return eo_lua_raisef(L, EO_ENOMEM, NULL, NULL, "out of memory");
    }
    /* the first Many2one is in the rows already */
    for (i = 0; i < n; i++) {
        eo_value v = eo_null();
        size_t sl;
        lua_rawgeti(L, 2, (lua_Integer)i + 1);
        lua_getfield(L, -1, chain[0]->name);
        if (lua_isinteger(L, -1))
            v = eo_int(lua_tointeger(L, -1));
        else if (lua_type(L, -1) == LUA_TSTRING) {
            const char *s = lua_tolstring(L, -1, &sl);
            v = eo_text(s, sl);
        }
        has[i] = v.type != EO_VNULL && eo_id_from_value(&refs[i], rs_kind(rs), &v) == EO_OK;
        lua_pop(L, 2);
    }
    /* follow the chain: one load per step */
    m = chain[0]->comodel;
    for (i = 1; i < nseg && rc == EO_OK; i++) {
        size_t k;
        rc = load_refs(rs, m, chain[i], refs, has, n, &err);
        if (rc != EO_OK || i + 1 == nseg)
            break;
        for (k = 0; k < n; k++) {
            const eo_value *v = has[k] ? eo_orm_peek(rs_env(rs), m, refs[k], chain[i]) : NULL;
            has[k] = v != NULL && v->type != EO_VNULL &&
                     eo_id_from_value(&refs[k], rs_kind(rs), v) == EO_OK;
        }
        m = chain[i]->comodel;
    }
    if (rc == EO_OK) {
        const eo_field *last = chain[nseg - 1];
        for (i = 0; i < n; i++) {
            const eo_value *v = has[i] ? eo_orm_peek(rs_env(rs), m, refs[i], last) : NULL;
            if (v == NULL || v->type == EO_VNULL)
                continue;
            lua_rawgeti(L, 2, (lua_Integer)i + 1);
            push_typed(L, 0, rs, last, v, 1);
            lua_setfield(L, -2, path);
            lua_pop(L, 1);
        }
    }
    eo_free(refs);
    eo_free(has);
    if (rc != EO_OK)
        return eo_lua_raise(L, &err);
    return 0;
}

int eo_lua__read_group(lua_State *L, const eo_model *m, eo_env *env, eo_idkind kind,
                       int active_test);

static int l_read_group(lua_State *L)
{
    rset *rs = check_rs(L, 1);
    return eo_lua__read_group(L, rs->m, rs_env(rs), rs_kind(rs), eo_lua__active_test(L, 1));
}

/* core.recordset(env_table, cenv, model_name) -> empty recordset */
static int l_recordset(lua_State *L)
{
    envh *h = eo_lua_check_cenv(L, 2);
    const char *name = luaL_checkstring(L, 3);
    const eo_model *m = find_model(L, name);
    idarr *a;
    if (m == NULL)
        return eo_lua_raisef(L, EO_ENOTFOUND, name, NULL, "unknown model '%s'", name);
    a = idarr_new(0);
    if (a == NULL)
        return eo_lua_raisef(L, EO_ENOMEM, NULL, NULL, "out of memory");
    push_rs(L, 0, 1, h, m, a, 0, 0, NULL, 0);
    idarr_unref(a);
    return 1;
}

void eo_lua_open_recordset(lua_State *L)
{
    static const luaL_Reg meta[] = {
        { "__index", rs_index }, { "__newindex", rs_newindex }, { "__len", rs_len },
        { "__tostring", rs_tostring }, { "__eq", rs_eq }, { "__bor", rs_bor },
        { "__band", rs_band }, { "__sub", rs_sub }, { "__add", rs_add }, { "__gc", rs_gc },
        { NULL, NULL },
    };
    static const luaL_Reg fns[] = {
        { "recordset", l_recordset }, { "create", l_create }, { "write", l_write },
        { "unlink", l_unlink }, { "search", l_search }, { "search_count", l_search_count },
        { "search_fetch", l_search_fetch },
        { "search_read", l_search_read }, { "read", l_read }, { "browse", l_browse },
        { "exists", l_exists }, { "each", l_each }, { "pick", l_pick }, { "sorted", l_sorted },
        { "filtered_domain", l_filtered_domain }, { "mapped", l_mapped }, { "class", l_class },
        { "cenv", l_cenv }, { "model_name", l_model_name }, { "is_recordset", l_is_recordset },
        { "context", l_context }, { "with_context", l_with_context },
        { "invalidate", l_invalidate }, { "uncached", l_uncached },
        { "flush_computed", l_flush_computed }, { "check_default", l_check_default }, { "set_compute_hook", l_set_compute_hook },
        { "set_recompute_hook", l_set_recompute_hook },
        { "set_display_name_hook", l_set_display_name_hook },
        { "explain", l_explain }, { "read_group", l_read_group },
        { "prefetch", l_prefetch }, { "link", l_link }, { "unlink_rel", l_unlink_rel },
        { "fill_related", l_fill_related },
        { NULL, NULL },
    };
    if (luaL_newmetatable(L, RS)) {
        luaL_setfuncs(L, meta, 0);
        lua_pushliteral(L, "locked");
        lua_setfield(L, -2, "__metatable");
    }
    lua_rawsetp(L, LUA_REGISTRYINDEX, &mt_key);
    /* records: the same without __gc */
    lua_createtable(L, 0, (int)(sizeof meta / sizeof meta[0]) + 2);
    luaL_setfuncs(L, meta, 0);
    lua_pushnil(L);
    lua_setfield(L, -2, "__gc");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_pushliteral(L, RS);
    lua_setfield(L, -2, "__name");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &rec_mt_key);
    luaL_setfuncs(L, fns, 0);
}
