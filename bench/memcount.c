/*
 * memcount.c - the heap each side of a benchmark needs, counted by block.
 *
 * malloc, calloc, realloc, free and the aligned allocators are defined
 * here, in the executable, so every allocation of the process goes through
 * them: the core, Lua (its allocator calls realloc/free), sqlite3, libpq,
 * libmongoc/libbson. They forward to glibc's own (__libc_*). While a
 * window is open (bench_mem_begin .. bench_mem_end) they add and subtract
 * malloc_usable_size of each block (its usable bytes; malloc's own chunk
 * headers are not counted) and keep the highest total: the peak heap of
 * the window above where it started. Outside a window they only forward
 * (one branch), so the timed runs pay nothing for it.
 *
 * Not under AddressSanitizer, which has its own malloc: there the bench
 * says the heap is not counted and prints times only.
 */
#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stddef.h>
#include <unistd.h>

#include "bench.h"

#if defined(__SANITIZE_ADDRESS__)

int bench_mem_available(void) { return 0; }
void bench_mem_begin(void) {}
long long bench_mem_end(void) { return -1; }

#else

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);
extern void __libc_free(void *p);

/* seen by the shared libraries: the build hides symbols by default */
#define INTERPOSE __attribute__((visibility("default")))

static atomic_int counting;
static atomic_llong cur, peak;

static void grow(long long n)
{
    long long now = atomic_fetch_add_explicit(&cur, n, memory_order_relaxed) + n;
    long long top = atomic_load_explicit(&peak, memory_order_relaxed);
    while (now > top &&
           !atomic_compare_exchange_weak_explicit(&peak, &top, now, memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

static void *counted(void *p)
{
    if (p && atomic_load_explicit(&counting, memory_order_relaxed))
        grow((long long)malloc_usable_size(p));
    return p;
}

INTERPOSE void *malloc(size_t n) { return counted(__libc_malloc(n)); }

INTERPOSE void *calloc(size_t n, size_t size) { return counted(__libc_calloc(n, size)); }

INTERPOSE void free(void *p)
{
    if (p && atomic_load_explicit(&counting, memory_order_relaxed))
        grow(-(long long)malloc_usable_size(p));
    __libc_free(p);
}

INTERPOSE void *realloc(void *p, size_t n)
{
    long long before;
    void *q;
    if (!atomic_load_explicit(&counting, memory_order_relaxed))
        return __libc_realloc(p, n);
    before = p ? (long long)malloc_usable_size(p) : 0;
    q = __libc_realloc(p, n);
    if (q)
        grow((long long)malloc_usable_size(q) - before);
    else if (p && n == 0)
        grow(-before); /* realloc(p, 0) freed p */
    return q;
}

INTERPOSE void *memalign(size_t align, size_t n) { return counted(__libc_memalign(align, n)); }

INTERPOSE void *aligned_alloc(size_t align, size_t n) { return counted(__libc_memalign(align, n)); }

/* glibc exports no __libc_valloc: the same block through memalign */
INTERPOSE void *valloc(size_t n)
{
    return counted(__libc_memalign((size_t)sysconf(_SC_PAGESIZE), n));
}

INTERPOSE void *pvalloc(size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return counted(__libc_memalign(page, n ? (n + page - 1) / page * page : page));
}

INTERPOSE int posix_memalign(void **out, size_t align, size_t n)
{
    void *p;
    if (align < sizeof(void *) || (align & (align - 1)) != 0)
        return EINVAL;
    p = __libc_memalign(align, n);
    if (p == NULL)
        return ENOMEM;
    *out = counted(p);
    return 0;
}

int bench_mem_available(void) { return 1; }

void bench_mem_begin(void)
{
    atomic_store(&cur, 0);
    atomic_store(&peak, 0);
    atomic_store(&counting, 1);
}

long long bench_mem_end(void)
{
    atomic_store(&counting, 0);
    return atomic_load(&peak);
}

#endif
