/*
 * arena.c - bump allocation for short-lived trees (domains, query plans).
 *
 * Everything allocated from an arena is freed by one eo_arena__free; there
 * is no per-object free. Chunks grow geometrically up to 64 KiB.
 */
#include "../internal.h"

struct eo_arena_chunk {
    eo_arena_chunk *next;
    size_t used, cap;
    /* data follows, aligned for max_align_t */
};

#define ALIGN 16u
#define HDR ((sizeof(eo_arena_chunk) + ALIGN - 1) & ~(size_t)(ALIGN - 1))

void *eo_arena__alloc(eo_arena *a, size_t n)
{
    eo_arena_chunk *c = a->head;
    n = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (c == NULL || c->cap - c->used < n) {
        size_t cap = c ? c->cap * 2 : 1024;
        if (cap > 65536)
            cap = 65536;
        if (cap < n)
            cap = n;
        c = eo_malloc(HDR + cap);
        if (c == NULL)
            return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = a->head;
        a->head = c;
    }
    c->used += n;
    return (char *)c + HDR + c->used - n;
}

char *eo_arena__strndup(eo_arena *a, const char *s, size_t n)
{
    char *p = eo_arena__alloc(a, n + 1);
    if (p == NULL)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

int eo_arena__value(eo_arena *a, eo_value *out, const eo_value *src)
{
    *out = *src;
    out->owned = 0;
    if (src->type == EO_VTEXT || src->type == EO_VBLOB) {
        char *p = eo_arena__strndup(a, src->u.s.p, src->u.s.n);
        if (p == NULL)
            return EO_ENOMEM;
        out->u.s.p = p;
    }
    return EO_OK;
}

void eo_arena__adopt(eo_arena *into, eo_arena *from)
{
    eo_arena_chunk *c = from->head, *last;
    if (c == NULL)
        return;
    for (last = c; last->next; last = last->next)
        ;
    /* keep the receiving arena's newest chunk first: it has free room */
    if (into->head) {
        last->next = into->head->next;
        into->head->next = c;
    } else {
        into->head = c;
    }
    from->head = NULL;
}

void eo_arena__free(eo_arena *a)
{
    eo_arena_chunk *c = a->head;
    while (c) {
        eo_arena_chunk *n = c->next;
        eo_free(c);
        c = n;
    }
    a->head = NULL;
}

void eo_arena__reset(eo_arena *a)
{
    /* keep the newest chunk for reuse, free the rest */
    eo_arena_chunk *c = a->head;
    if (c == NULL)
        return;
    while (c->next) {
        eo_arena_chunk *n = c->next;
        c->next = n->next;
        eo_free(n);
    }
    c->used = 0;
}
