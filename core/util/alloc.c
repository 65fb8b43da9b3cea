/*
 * alloc.c - the process-wide replaceable allocator.
 *
 * All of the core allocates through here so a test can fail the Nth
 * allocation (tests/c/faultsim.c) and a host can count or cap memory. It does
 * not pool or cache: that is the C library's business.
 */
#include <stdlib.h>
#include <string.h>

#include "earnorm/alloc.h"

static void *std_malloc(size_t n, void *payload) { (void)payload; return malloc(n); }
static void *std_realloc(void *p, size_t n, void *payload) { (void)payload; return realloc(p, n); }
static void std_free(void *p, void *payload) { (void)payload; free(p); }

static eo_allocator current = { std_malloc, std_realloc, std_free, NULL };

void eo_set_allocator(const eo_allocator *a)
{
    if (a == NULL) {
        current.malloc_fn = std_malloc;
        current.realloc_fn = std_realloc;
        current.free_fn = std_free;
        current.payload = NULL;
    } else {
        current = *a;
    }
}

void *eo_malloc(size_t n)
{
    return current.malloc_fn(n ? n : 1, current.payload);
}

void *eo_calloc(size_t count, size_t n)
{
    void *p;
    if (n != 0 && count > SIZE_MAX / n)
        return NULL;
    p = eo_malloc(count * n);
    if (p != NULL)
        memset(p, 0, count * n > 0 ? count * n : 1);
    return p;
}

void *eo_realloc(void *p, size_t n)
{
    if (p == NULL)
        return eo_malloc(n);
    return current.realloc_fn(p, n ? n : 1, current.payload);
}

void eo_free(void *p)
{
    if (p != NULL)
        current.free_fn(p, current.payload);
}

char *eo_strndup(const char *s, size_t n)
{
    char *d;
    if (s == NULL)
        return NULL;
    d = eo_malloc(n + 1);
    if (d == NULL)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *eo_strdup(const char *s)
{
    return s ? eo_strndup(s, strlen(s)) : NULL;
}
