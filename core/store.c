/*
 * store.c - the record store: field values of records, held in C.
 *
 * One table per model: an id index to slots (pages indexed by the id for
 * integer ids, a hash map for ObjectIds), and one column per field that
 * holds values (made on the first value of that field): a column is an
 * array of values by slot and a bitmap of which are loaded. A record costs
 * its id, its map entry and the values it holds, nothing for the fields
 * never read. Values are owned copies. The store is a cache of what the
 * database holds (plus non-stored computed values); it never decides what
 * is true, and everything may be forgotten at any time. It does not talk
 * to the database: orm/read.c fills it.
 *
 * It also keeps, per model, the fields read so far (the hot set): a load
 * brings those with the one asked for, so a loop reading two fields costs
 * one query per window once both were read, and one reading one field
 * loads that field alone. The hot sets outlive eo_store__clear.
 *
 * Invariants: a slot is live iff its id is in the map (and its live bit is
 * set); a value is valid iff its bit is set in its column; a dead slot
 * holds no value; free slots are stacked in `free`.
 */
#include "store.h"

#define WORDS(n) (((n) + 63) / 64)
#define BIT(w, i) (((w)[(i) / 64] >> ((i) % 64)) & 1)
#define SETBIT(w, i) ((w)[(i) / 64] |= (uint64_t)1 << ((i) % 64))
#define CLRBIT(w, i) ((w)[(i) / 64] &= ~((uint64_t)1 << ((i) % 64)))

typedef struct column {
    eo_value *v;           /* cap values by slot; NULL until the first value */
    uint64_t *bits;        /* loaded bits by slot */
    size_t n;              /* values held */
} column;

/* Integer ids below DIRECT_LIMIT find their slot in pages indexed by the
 * id itself (4 bytes an id, no hashing, no probing); others (ObjectIds,
 * huge or negative ids) through the id map. */
#define PAGE_BITS 12
#define PAGE_SIZE ((size_t)1 << PAGE_BITS)
#define DIRECT_LIMIT ((uint64_t)1 << 32)

typedef struct mstore {
    const eo_model *model;
    size_t nfields;        /* field count when the table was made */
    uint32_t **pages;      /* id >> PAGE_BITS -> page of slot + 1 (0: none) */
    size_t npages;
    eo_idmap map;          /* the other ids */
    eo_id *ids;            /* slot -> id */
    uint64_t *live;        /* live bits by slot */
    size_t nslots, cap;    /* slots used (live or free) and allocated */
    size_t *free;          /* stack of free slots */
    size_t nfree, freecap;
    size_t nlive;
    column *cols;          /* nfields */
} mstore;

typedef struct hotset {
    const eo_model *model;
    size_t nfields;
    uint64_t *bits;
} hotset;

struct eo_store {
    mstore **tables;       /* indexed by a small per-store model number */
    const eo_model **models;
    size_t n, cap;
    hotset *hot;
    size_t nhot;
};

int eo_store__new(eo_store **out)
{
    *out = eo_calloc(1, sizeof(eo_store));
    return *out ? EO_OK : EO_ENOMEM;
}

static void mstore_free(mstore *t)
{
    size_t i, k;
    if (t == NULL)
        return;
    for (k = 0; k < t->nfields; k++) {
        column *c = &t->cols[k];
        if (c->v == NULL)
            continue;
        for (i = 0; c->n > 0 && i < t->nslots; i++)
            if (BIT(c->bits, i)) {
                eo_value_clear(&c->v[i]);
                c->n--;
            }
        eo_free(c->v);
        eo_free(c->bits);
    }
    eo_free(t->cols);
    for (i = 0; i < t->npages; i++)
        eo_free(t->pages[i]);
    eo_free(t->pages);
    eo_free(t->ids);
    eo_free(t->live);
    eo_free(t->free);
    eo_idmap__free(&t->map);
    eo_free(t);
}

void eo_store__clear(eo_store *s)
{
    size_t i;
    for (i = 0; i < s->n; i++)
        mstore_free(s->tables[i]);
    eo_free(s->tables);
    eo_free(s->models);
    s->tables = NULL;
    s->models = NULL;
    s->n = s->cap = 0;
}

void eo_store__free(eo_store *s)
{
    size_t i;
    if (s == NULL)
        return;
    eo_store__clear(s);
    for (i = 0; i < s->nhot; i++)
        eo_free(s->hot[i].bits);
    eo_free(s->hot);
    eo_free(s);
}

size_t eo_store__records(const eo_store *s)
{
    size_t i, n = 0;
    for (i = 0; i < s->n; i++)
        n += s->tables[i]->nlive;
    return n;
}

size_t eo_store__values(const eo_store *s)
{
    size_t i, k, n = 0;
    for (i = 0; i < s->n; i++)
        for (k = 0; k < s->tables[i]->nfields; k++)
            n += s->tables[i]->cols[k].n;
    return n;
}

static mstore *mstore_new(const eo_model *m)
{
    mstore *t = eo_calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->model = m;
    t->nfields = m->nfields;
    t->cols = eo_calloc(m->nfields ? m->nfields : 1, sizeof *t->cols);
    if (t->cols == NULL) {
        eo_free(t);
        return NULL;
    }
    return t;
}

static mstore *table(eo_store *s, const eo_model *m, int create)
{
    size_t i;
    mstore *t;
    for (i = 0; i < s->n; i++) {
        if (s->models[i] == m) {
            t = s->tables[i];
            /* a field was added to the model since: start over for it */
            if (t->nfields != m->nfields) {
                if (!create)
                    return NULL;
                mstore_free(t);
                if ((t = mstore_new(m)) == NULL) {
                    s->tables[i] = s->tables[--s->n];
                    s->models[i] = s->models[s->n];
                    return NULL;
                }
                s->tables[i] = t;
            }
            return t;
        }
    }
    if (!create)
        return NULL;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        mstore **tv = eo_realloc(s->tables, cap * sizeof *tv);
        const eo_model **mv;
        if (tv == NULL)
            return NULL;
        s->tables = tv;
        mv = eo_realloc(s->models, cap * sizeof *mv);
        if (mv == NULL)
            return NULL;
        s->models = mv;
        s->cap = cap;
    }
    if ((t = mstore_new(m)) == NULL)
        return NULL;
    s->tables[s->n] = t;
    s->models[s->n++] = m;
    return t;
}

/* Grow a zeroed array of `size`-byte items from old to cap items. */
static int grow(void *pp, size_t size, size_t old, size_t cap)
{
    char **p = pp, *v = eo_realloc(*p, cap * size);
    if (v == NULL)
        return EO_ENOMEM;
    memset(v + old * size, 0, (cap - old) * size);
    *p = v;
    return EO_OK;
}

static int reserve(mstore *t)
{
    size_t cap, k;
    if (t->nslots < t->cap)
        return EO_OK;
    cap = t->cap ? t->cap * 2 : 64;
    if (grow(&t->ids, sizeof *t->ids, t->cap, cap) != EO_OK ||
        grow(&t->live, sizeof *t->live, WORDS(t->cap), WORDS(cap)) != EO_OK)
        return EO_ENOMEM;
    for (k = 0; k < t->nfields; k++) {
        column *c = &t->cols[k];
        if (c->v == NULL)
            continue;
        if (grow(&c->v, sizeof *c->v, t->cap, cap) != EO_OK ||
            grow(&c->bits, sizeof *c->bits, WORDS(t->cap), WORDS(cap)) != EO_OK)
            return EO_ENOMEM;
    }
    t->cap = cap;
    return EO_OK;
}

static column *col_of(mstore *t, int k)
{
    column *c = &t->cols[k];
    if (c->v == NULL) {
        c->v = eo_calloc(t->cap ? t->cap : 1, sizeof *c->v);
        c->bits = eo_calloc(WORDS(t->cap ? t->cap : 1), sizeof *c->bits);
        if (c->v == NULL || c->bits == NULL) {
            eo_free(c->v);
            eo_free(c->bits);
            c->v = NULL;
            c->bits = NULL;
            return NULL;
        }
    }
    return c;
}

static int direct(eo_id id) { return id.w[1] == 0 && id.w[0] < DIRECT_LIMIT; }

static int find(mstore *t, eo_id id, size_t *slot)
{
    if (t == NULL)
        return 0;
    if (direct(id)) {
        size_t p = (size_t)(id.w[0] >> PAGE_BITS);
        uint32_t v;
        if (p >= t->npages || t->pages[p] == NULL)
            return 0;
        v = t->pages[p][id.w[0] & (PAGE_SIZE - 1)];
        if (v == 0)
            return 0;
        *slot = v - 1;
        return 1;
    }
    return eo_idmap__get(&t->map, id, slot);
}

/* The page entry of a direct id, its page made when missing. */
static uint32_t *page_entry(mstore *t, eo_id id)
{
    size_t p = (size_t)(id.w[0] >> PAGE_BITS);
    if (p >= t->npages) {
        size_t n = t->npages ? t->npages : 16;
        while (n <= p)
            n *= 2;
        if (grow(&t->pages, sizeof *t->pages, t->npages, n) != EO_OK)
            return NULL;
        t->npages = n;
    }
    if (t->pages[p] == NULL && (t->pages[p] = eo_calloc(PAGE_SIZE, sizeof **t->pages)) == NULL)
        return NULL;
    return &t->pages[p][id.w[0] & (PAGE_SIZE - 1)];
}

static int find_or_add(mstore *t, eo_id id, size_t *slot)
{
    size_t fresh;
    int added;
    /* one probe: upsert finds the record or adds it at the fresh slot */
    if (t->nfree == 0 && reserve(t) != EO_OK)
        return EO_ENOMEM;
    fresh = t->nfree ? t->free[t->nfree - 1] : t->nslots;
    if (direct(id)) {
        uint32_t *e = page_entry(t, id);
        if (e == NULL)
            return EO_ENOMEM;
        if (*e) {
            *slot = *e - 1;
            return EO_OK;
        }
        *e = (uint32_t)fresh + 1;
        *slot = fresh;
    } else {
        added = eo_idmap__upsert(&t->map, id, fresh, slot);
        if (added < 0)
            return EO_ENOMEM;
        if (!added)
            return EO_OK;
    }
    if (t->nfree)
        t->nfree--;
    else
        t->nslots++;
    t->ids[fresh] = id;
    SETBIT(t->live, fresh);
    t->nlive++;
    return EO_OK;
}

const eo_value *eo_store__get(eo_store *s, const eo_model *m, eo_id id, const eo_field *f)
{
    mstore *t = table(s, m, 0);
    size_t i;
    column *c;
    if (!find(t, id, &i))
        return NULL;
    c = &t->cols[f->index];
    if (c->v == NULL || !BIT(c->bits, i))
        return NULL;
    return &c->v[i];
}

int eo_store__has(eo_store *s, const eo_model *m, eo_id id, const eo_field *f)
{
    return eo_store__get(s, m, id, f) != NULL;
}

static int put(mstore *t, size_t i, int k, const eo_value *v, int keep)
{
    column *c = col_of(t, k);
    eo_value copy;
    if (c == NULL)
        return EO_ENOMEM;
    if (BIT(c->bits, i)) {
        /* what the store holds is newer than a load: the env wrote it, or
         * a compute method assigned it and the write has not happened yet */
        if (keep)
            return EO_OK;
        if (eo_value_copy(&copy, v) != EO_OK)
            return EO_ENOMEM;
        eo_value_clear(&c->v[i]);
        c->v[i] = copy;
        return EO_OK;
    }
    if (eo_value_copy(&copy, v) != EO_OK)
        return EO_ENOMEM;
    c->v[i] = copy;
    SETBIT(c->bits, i);
    c->n++;
    return EO_OK;
}

int eo_store__set(eo_store *s, const eo_model *m, eo_id id, const eo_field *f,
                  const eo_value *v)
{
    mstore *t = table(s, m, 1);
    size_t i;
    if (t == NULL || find_or_add(t, id, &i) != EO_OK)
        return EO_ENOMEM;
    return put(t, i, f->index, v, 0);
}

int eo_store__set_row(eo_store *s, const eo_model *m, eo_id id, const eo_field *const *f,
                      const eo_value *v, size_t n)
{
    mstore *t = table(s, m, 1);
    size_t i, k;
    if (t == NULL || find_or_add(t, id, &i) != EO_OK)
        return EO_ENOMEM;
    for (k = 0; k < n; k++)
        if (put(t, i, f[k]->index, &v[k], 1) != EO_OK)
            return EO_ENOMEM;
    return EO_OK;
}

static void drop_value(mstore *t, size_t i, size_t k)
{
    column *c = &t->cols[k];
    if (c->v == NULL || !BIT(c->bits, i))
        return;
    eo_value_clear(&c->v[i]);
    memset(&c->v[i], 0, sizeof c->v[i]);
    CLRBIT(c->bits, i);
    c->n--;
}

static void drop_slot(mstore *t, size_t i)
{
    size_t k;
    for (k = 0; k < t->nfields; k++)
        drop_value(t, i, k);
    if (direct(t->ids[i]))
        t->pages[t->ids[i].w[0] >> PAGE_BITS][t->ids[i].w[0] & (PAGE_SIZE - 1)] = 0;
    else
        eo_idmap__del(&t->map, t->ids[i]);
    CLRBIT(t->live, i);
    t->nlive--;
    if (t->nlive == 0) {
        /* empty again: the slots start over (no free list to keep) */
        t->nslots = 0;
        t->nfree = 0;
        return;
    }
    if (t->nfree == t->freecap) {
        size_t cap = t->freecap ? t->freecap * 2 : 16;
        size_t *v = eo_realloc(t->free, cap * sizeof *v);
        if (v == NULL)
            return; /* the slot is lost to reuse, nothing else */
        t->free = v;
        t->freecap = cap;
    }
    t->free[t->nfree++] = i;
}

void eo_store__forget(eo_store *s, const eo_model *m, eo_id id, const eo_field *f)
{
    mstore *t = table(s, m, 0);
    size_t i;
    if (!find(t, id, &i))
        return;
    if (f == NULL)
        drop_slot(t, i);
    else
        drop_value(t, i, (size_t)f->index);
}

void eo_store__forget_model(eo_store *s, const eo_model *m, const eo_field *f)
{
    mstore *t = table(s, m, 0);
    size_t i;
    if (t == NULL)
        return;
    for (i = 0; i < t->nslots; i++) {
        if (!BIT(t->live, i))
            continue;
        if (f == NULL)
            drop_slot(t, i);
        else
            drop_value(t, i, (size_t)f->index);
        if (t->nslots == 0)
            break;
    }
}

/* ---- hot sets ---- */

static hotset *hot_of(eo_store *s, const eo_model *m, int create)
{
    size_t i;
    hotset *h;
    for (i = 0; i < s->nhot; i++) {
        h = &s->hot[i];
        if (h->model == m) {
            if (h->nfields != m->nfields) {
                /* a field was added since: what was learned is kept */
                uint64_t *b = eo_calloc(WORDS(m->nfields) ? WORDS(m->nfields) : 1, sizeof *b);
                if (b == NULL)
                    return NULL;
                memcpy(b, h->bits, WORDS(h->nfields < m->nfields ? h->nfields : m->nfields) *
                                   sizeof *b);
                eo_free(h->bits);
                h->bits = b;
                h->nfields = m->nfields;
            }
            return h;
        }
    }
    if (!create)
        return NULL;
    h = eo_realloc(s->hot, (s->nhot + 1) * sizeof *h);
    if (h == NULL)
        return NULL;
    s->hot = h;
    h = &s->hot[s->nhot];
    h->model = m;
    h->nfields = m->nfields;
    h->bits = eo_calloc(WORDS(m->nfields) ? WORDS(m->nfields) : 1, sizeof *h->bits);
    if (h->bits == NULL)
        return NULL;
    s->nhot++;
    return h;
}

int eo_store__hot(eo_store *s, const eo_model *m, const eo_field *f)
{
    hotset *h = hot_of(s, m, 0);
    return h != NULL && (size_t)f->index < h->nfields && BIT(h->bits, (size_t)f->index);
}

void eo_store__heat(eo_store *s, const eo_model *m, const eo_field *f)
{
    hotset *h = hot_of(s, m, 1);
    if (h != NULL && (size_t)f->index < h->nfields)
        SETBIT(h->bits, (size_t)f->index);
}
