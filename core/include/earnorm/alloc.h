/*
 * alloc.h - the replaceable allocator every EarnORM allocation goes through.
 *
 * Install an allocator before creating any object and never change it while
 * objects are alive: memory must be freed by the allocator that gave it.
 */
#ifndef EARNORM_ALLOC_H
#define EARNORM_ALLOC_H

#include "common.h"

EO_BEGIN_DECL

/** A set of allocation functions (hiredisAllocFuncs, lua_Alloc). */
typedef struct eo_allocator {
    void *(*malloc_fn)(size_t size, void *payload);
    void *(*realloc_fn)(void *ptr, size_t size, void *payload);
    void (*free_fn)(void *ptr, void *payload);
    void *payload;
} eo_allocator;

/**
 * Replace the allocator. Passing NULL restores the C library's.
 * Not thread-safe: call it once at start-up.
 */
EO_API void eo_set_allocator(const eo_allocator *a);

/** Allocate @p n bytes; NULL when out of memory. */
EO_API void *eo_malloc(size_t n);
/** Allocate @p n zeroed bytes; NULL when out of memory. */
EO_API void *eo_calloc(size_t count, size_t n);
/** Resize; NULL when out of memory (the old block stays valid). */
EO_API void *eo_realloc(void *p, size_t n);
/** Free memory from eo_malloc and from every EarnORM call that says Owned. Accepts NULL. */
EO_API void eo_free(void *p);
/** Copy a NUL-terminated string; NULL when out of memory or @p s is NULL. */
EO_API char *eo_strdup(const char *s);
/** Copy @p n bytes and add a NUL; NULL when out of memory. */
EO_API char *eo_strndup(const char *s, size_t n);

EO_END_DECL

#endif /* EARNORM_ALLOC_H */
