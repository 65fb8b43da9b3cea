/*
 * map.c - open-addressing hash maps: string keys and record ids.
 *
 * Both keep the load factor under 3/4 and grow by doubling. The id map is
 * the record store's index, so lookups there are on the hot path of every
 * field read.
 */
#include "../internal.h"

uint64_t eo_hash__bytes(const void *p, size_t n)
{
    /* FNV-1a, 64 bit */
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ULL;
    size_t i;
    for (i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

void eo_strmap__free(eo_strmap *m)
{
    size_t i;
    for (i = 0; i < m->cap; i++)
        eo_free(m->ents[i].key);
    eo_free(m->ents);
    m->ents = NULL;
    m->cap = m->len = 0;
}

void *eo_strmap__get(const eo_strmap *m, const char *key, size_t klen)
{
    uint64_t h;
    size_t i;
    if (m->cap == 0)
        return NULL;
    h = eo_hash__bytes(key, klen);
    for (i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        const eo_strmap_ent *e = &m->ents[i];
        if (e->key == NULL)
            return NULL;
        if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
            return e->val;
    }
}

static int strmap_grow(eo_strmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16, i;
    eo_strmap_ent *ents = eo_calloc(cap, sizeof *ents);
    if (ents == NULL)
        return EO_ENOMEM;
    for (i = 0; i < m->cap; i++) {
        eo_strmap_ent *e = &m->ents[i];
        size_t j;
        if (e->key == NULL)
            continue;
        for (j = e->hash & (cap - 1); ents[j].key; j = (j + 1) & (cap - 1))
            ;
        ents[j] = *e;
    }
    eo_free(m->ents);
    m->ents = ents;
    m->cap = cap;
    return EO_OK;
}

int eo_strmap__put(eo_strmap *m, const char *key, size_t klen, void *val)
{
    uint64_t h;
    size_t i;
    if ((m->len + 1) * 4 > m->cap * 3 && strmap_grow(m) != EO_OK)
        return EO_ENOMEM;
    h = eo_hash__bytes(key, klen);
    for (i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        eo_strmap_ent *e = &m->ents[i];
        if (e->key == NULL) {
            e->key = eo_strndup(key, klen);
            if (e->key == NULL)
                return EO_ENOMEM;
            e->klen = klen;
            e->hash = h;
            e->val = val;
            m->len++;
            return EO_OK;
        }
        if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0) {
            e->val = val;
            return EO_OK;
        }
    }
}

#define TOMB SIZE_MAX

/* Runs of eight consecutive ids share neighbouring buckets (they are
 * mostly visited in id order, so a probe often hits a warm cache line);
 * the runs themselves are spread by a strong mix, so linear probing never
 * meets the long clusters an identity hash builds. ObjectIds: their last
 * three bytes are a counter, which plays the part of the id. */
static uint64_t idmap_hash(eo_id id)
{
    uint64_t x, low;
    if (id.w[1] == 0) {
        x = id.w[0];
    } else {
        x = (uint64_t)id.oid[9] << 16 | (uint64_t)id.oid[10] << 8 | id.oid[11];
        x ^= eo_id_hash(id) << 24;
    }
    low = x & 7;
    return (eo_id_hash(eo_id_num((int64_t)(x >> 3))) & ~(uint64_t)7) | low;
}

void eo_idmap__free(eo_idmap *m)
{
    eo_free(m->ents);
    m->ents = NULL;
    m->cap = m->len = m->used = 0;
}

int eo_idmap__get(const eo_idmap *m, eo_id id, size_t *slot)
{
    size_t i;
    if (m->cap == 0)
        return 0;
    for (i = idmap_hash(id) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        const eo_idmap_ent *e = &m->ents[i];
        if (e->val == 0)
            return 0;
        if (e->val != TOMB && e->key.w[0] == id.w[0] && e->key.w[1] == id.w[1]) {
            *slot = e->val - 1;
            return 1;
        }
    }
}

static int idmap_rehash(eo_idmap *m, size_t cap)
{
    eo_idmap_ent *ents = eo_calloc(cap, sizeof *ents);
    size_t i;
    if (ents == NULL)
        return EO_ENOMEM;
    for (i = 0; i < m->cap; i++) {
        size_t j;
        if (m->ents[i].val == 0 || m->ents[i].val == TOMB)
            continue;
        for (j = idmap_hash(m->ents[i].key) & (cap - 1); ents[j].val; j = (j + 1) & (cap - 1))
            ;
        ents[j] = m->ents[i];
    }
    eo_free(m->ents);
    m->ents = ents;
    m->cap = cap;
    m->used = m->len;
    return EO_OK;
}

int eo_idmap__reserve(eo_idmap *m, size_t n)
{
    size_t cap = m->cap ? m->cap : 16;
    while ((m->len + n) * 2 > cap)
        cap *= 2;
    return cap > m->cap ? idmap_rehash(m, cap) : EO_OK;
}

int eo_idmap__put(eo_idmap *m, eo_id id, size_t slot)
{
    size_t i, tomb = SIZE_MAX;
    if ((m->used + 1) * 4 > m->cap * 3) {
        size_t cap = m->cap ? m->cap : 16;
        while ((m->len + 1) * 2 > cap)
            cap *= 2;
        if (idmap_rehash(m, cap) != EO_OK)
            return EO_ENOMEM;
    }
    for (i = idmap_hash(id) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        eo_idmap_ent *e = &m->ents[i];
        if (e->val == 0) {
            if (tomb != SIZE_MAX)
                e = &m->ents[tomb];
            else
                m->used++;
            e->key = id;
            e->val = slot + 1;
            m->len++;
            return EO_OK;
        }
        if (e->val == TOMB) {
            if (tomb == SIZE_MAX)
                tomb = i;
            continue;
        }
        if (eo_id_equal(e->key, id)) {
            e->val = slot + 1;
            return EO_OK;
        }
    }
}

int eo_idmap__upsert(eo_idmap *m, eo_id id, size_t fresh, size_t *slot)
{
    size_t i, tomb = SIZE_MAX;
    if ((m->used + 1) * 4 > m->cap * 3) {
        size_t cap = m->cap ? m->cap : 16;
        while ((m->len + 1) * 2 > cap)
            cap *= 2;
        if (idmap_rehash(m, cap) != EO_OK)
            return EO_ENOMEM;
    }
    for (i = idmap_hash(id) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        eo_idmap_ent *e = &m->ents[i];
        if (e->val == 0) {
            if (tomb != SIZE_MAX)
                e = &m->ents[tomb];
            else
                m->used++;
            e->key = id;
            e->val = fresh + 1;
            m->len++;
            *slot = fresh;
            return 1;
        }
        if (e->val == TOMB) {
            if (tomb == SIZE_MAX)
                tomb = i;
            continue;
        }
        if (e->key.w[0] == id.w[0] && e->key.w[1] == id.w[1]) {
            *slot = e->val - 1;
            return 0;
        }
    }
}

int eo_idmap__del(eo_idmap *m, eo_id id)
{
    size_t i;
    if (m->cap == 0)
        return 0;
    for (i = idmap_hash(id) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        eo_idmap_ent *e = &m->ents[i];
        if (e->val == 0)
            return 0;
        if (e->val != TOMB && eo_id_equal(e->key, id)) {
            e->val = TOMB;
            m->len--;
            return 1;
        }
    }
}

uint64_t eo_value__hash(const eo_value *v)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL * (uint64_t)(v->type + 1);
    switch (v->type) {
    case EO_VNULL: break;
    case EO_VBOOL: h ^= (uint64_t)v->u.b; break;
    case EO_VINT: h ^= eo_id_hash(eo_id_num(v->u.i)); break;
    case EO_VFLOAT: {
        uint64_t bits;
        double d = v->u.f == 0 ? 0 : v->u.f; /* -0.0 equals 0.0 */
        memcpy(&bits, &d, sizeof bits);
        h ^= eo_id_hash(eo_id_num((int64_t)bits));
        break;
    }
    case EO_VTEXT:
    case EO_VBLOB: h ^= eo_hash__bytes(v->u.s.p, v->u.s.n); break;
    }
    return h;
}

void eo_vset__free(eo_vset *s)
{
    eo_free(s->slots);
    s->slots = NULL;
    s->cap = s->len = 0;
}

int eo_vset__has(const eo_vset *s, const eo_value *v)
{
    size_t i;
    if (s->cap == 0)
        return 0;
    for (i = eo_value__hash(v) & (s->cap - 1); s->slots[i]; i = (i + 1) & (s->cap - 1))
        if (eo_value_equal(s->slots[i], v))
            return 1;
    return 0;
}

int eo_vset__add(eo_vset *s, const eo_value *v)
{
    size_t i;
    if ((s->len + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16, j;
        const eo_value **slots = eo_calloc(cap, sizeof *slots);
        if (slots == NULL)
            return EO_ENOMEM;
        for (j = 0; j < s->cap; j++) {
            if (s->slots[j] == NULL)
                continue;
            for (i = eo_value__hash(s->slots[j]) & (cap - 1); slots[i]; i = (i + 1) & (cap - 1))
                ;
            slots[i] = s->slots[j];
        }
        eo_free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    for (i = eo_value__hash(v) & (s->cap - 1); s->slots[i]; i = (i + 1) & (s->cap - 1))
        if (eo_value_equal(s->slots[i], v))
            return 0;
    s->slots[i] = v;
    s->len++;
    return 1;
}
