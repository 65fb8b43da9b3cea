/*
 * store.c - the record store: field values of records, held in C.
 *
 * One table per model: an id map to slots, each slot holding the record's
 * values and a bitmap of which are loaded. Values are owned copies. The
 * store is a cache of what the database holds (plus non-stored computed
 * values); it never decides what is true, and everything may be forgotten
 * at any time. It does not talk to the database: orm/read.c fills it.
 *
 * Invariants: a slot is live iff its id is in the map; a value is valid
 * iff its bit is set; freed slots are chained through `next_free`.
 */
#include "store.h"

#define LOADED_WORDS(t) (((t)->nfields + 63) / 64)

typedef struct slot {
    eo_id id;
    eo_value *vals;        /* nfields values, then the loaded bitmap (one block) */
    uint64_t *loaded;      /* bitmap of nfields bits, inside the vals block */
    size_t next_free;      /* free list link (slot index + 1), 0 = end */
    int live;
} slot;

typedef struct mstore {
    const eo_model *model;
    size_t nfields;        /* field count when the table was made */
    eo_idmap map;
    slot *slots;
    size_t nslots, cap;
    size_t free_head;      /* slot index + 1, 0 = none */
    size_t live;
} mstore;

struct eo_store {
    mstore **tables;       /* indexed by a small per-store model number */
    const eo_model **models;
    size_t n, cap;
};

int eo_store__new(eo_store **out)
{
    *out = eo_calloc(1, sizeof(eo_store));
    return *out ? EO_OK : EO_ENOMEM;
}

static void slot_clear(slot *sl, size_t nfields)
{
    size_t i;
    if (sl->vals) {
        for (i = 0; i < nfields; i++)
            eo_value_clear(&sl->vals[i]);
        eo_free(sl->vals); /* the loaded bits live in the same block */
    }
    sl->vals = NULL;
    sl->loaded = NULL;
    sl->live = 0;
}

static void mstore_free(mstore *t)
{
    size_t i;
    if (t == NULL)
        return;
    for (i = 0; i < t->nslots; i++)
        slot_clear(&t->slots[i], t->nfields);
    eo_free(t->slots);
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
    if (s == NULL)
        return;
    eo_store__clear(s);
    eo_free(s);
}

size_t eo_store__records(const eo_store *s)
{
    size_t i, n = 0;
    for (i = 0; i < s->n; i++)
        n += s->tables[i]->live;
    return n;
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
                t = eo_calloc(1, sizeof *t);
                if (t == NULL) {
                    s->tables[i] = s->tables[--s->n];
                    s->models[i] = s->models[s->n];
                    return NULL;
                }
                t->model = m;
                t->nfields = m->nfields;
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
    t = eo_calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->model = m;
    t->nfields = m->nfields;
    s->tables[s->n] = t;
    s->models[s->n++] = m;
    return t;
}

static slot *find(mstore *t, eo_id id)
{
    size_t i;
    if (t == NULL || !eo_idmap__get(&t->map, id, &i))
        return NULL;
    return &t->slots[i];
}

static slot *find_or_add(mstore *t, eo_id id)
{
    size_t i, fresh;
    slot *sl;
    int added;
    /* the slot a new record would take */
    if (t->free_head) {
        fresh = t->free_head - 1;
    } else {
        if (t->nslots == t->cap) {
            size_t cap = t->cap ? t->cap * 2 : 64;
            slot *v = eo_realloc(t->slots, cap * sizeof *v);
            if (v == NULL)
                return NULL;
            t->slots = v;
            t->cap = cap;
        }
        fresh = t->nslots;
    }
    added = eo_idmap__upsert(&t->map, id, fresh, &i);
    if (added < 0)
        return NULL;
    if (!added)
        return &t->slots[i];
    if (t->free_head)
        t->free_head = t->slots[i].next_free;
    else
        t->nslots++;
    sl = &t->slots[i];
    memset(sl, 0, sizeof *sl);
    sl->id = id;
    /* values and loaded bits in one block */
    sl->vals = eo_calloc(1, t->nfields * sizeof(eo_value) + LOADED_WORDS(t) * sizeof(uint64_t));
    if (sl->vals == NULL) {
        eo_idmap__del(&t->map, id);
        sl->next_free = t->free_head;
        t->free_head = i + 1;
        return NULL;
    }
    sl->loaded = (uint64_t *)(void *)(sl->vals + t->nfields);
    sl->live = 1;
    t->live++;
    return sl;
}

static int bit(const slot *sl, int i) { return (sl->loaded[i / 64] >> (i % 64)) & 1; }

const eo_value *eo_store__get(eo_store *s, const eo_model *m, eo_id id, const eo_field *f)
{
    slot *sl = find(table(s, m, 0), id);
    if (sl == NULL || !bit(sl, f->index))
        return NULL;
    return &sl->vals[f->index];
}

int eo_store__has(eo_store *s, const eo_model *m, eo_id id, const eo_field *f)
{
    return eo_store__get(s, m, id, f) != NULL;
}

int eo_store__set(eo_store *s, const eo_model *m, eo_id id, const eo_field *f,
                  const eo_value *v)
{
    mstore *t = table(s, m, 1);
    slot *sl;
    eo_value copy;
    if (t == NULL || (sl = find_or_add(t, id)) == NULL)
        return EO_ENOMEM;
    if (eo_value_copy(&copy, v) != EO_OK)
        return EO_ENOMEM;
    eo_value_clear(&sl->vals[f->index]);
    sl->vals[f->index] = copy;
    sl->loaded[f->index / 64] |= (uint64_t)1 << (f->index % 64);
    return EO_OK;
}

int eo_store__set_row(eo_store *s, const eo_model *m, eo_id id, const eo_field *const *f,
                      const eo_value *v, size_t n)
{
    mstore *t = table(s, m, 1);
    slot *sl;
    size_t i;
    if (t == NULL || (sl = find_or_add(t, id)) == NULL)
        return EO_ENOMEM;
    for (i = 0; i < n; i++) {
        eo_value copy;
        int k = f[i]->index;
        /* what the store holds is newer than a load: the env wrote it, or
         * a compute method assigned it and the write has not happened yet */
        if (sl->loaded[k / 64] & ((uint64_t)1 << (k % 64)))
            continue;
        if (eo_value_copy(&copy, &v[i]) != EO_OK)
            return EO_ENOMEM;
        eo_value_clear(&sl->vals[k]);
        sl->vals[k] = copy;
        sl->loaded[k / 64] |= (uint64_t)1 << (k % 64);
    }
    return EO_OK;
}

static void drop_slot(mstore *t, slot *sl)
{
    size_t i = (size_t)(sl - t->slots);
    eo_idmap__del(&t->map, sl->id);
    slot_clear(sl, t->nfields);
    sl->next_free = t->free_head;
    t->free_head = i + 1;
    t->live--;
}

void eo_store__forget(eo_store *s, const eo_model *m, eo_id id, const eo_field *f)
{
    mstore *t = table(s, m, 0);
    slot *sl = find(t, id);
    if (sl == NULL)
        return;
    if (f == NULL) {
        drop_slot(t, sl);
        return;
    }
    eo_value_clear(&sl->vals[f->index]);
    sl->loaded[f->index / 64] &= ~((uint64_t)1 << (f->index % 64));
}

void eo_store__forget_model(eo_store *s, const eo_model *m, const eo_field *f)
{
    mstore *t = table(s, m, 0);
    size_t i;
    if (t == NULL)
        return;
    for (i = 0; i < t->nslots; i++) {
        slot *sl = &t->slots[i];
        if (!sl->live)
            continue;
        if (f == NULL)
            drop_slot(t, sl);
        else
            eo_store__forget(s, m, sl->id, f);
    }
}
