/*
 * pool.h - connection pools: bounded sets of connections to one database,
 * shared by environments on any number of threads.
 *
 * A pool opens connections on demand up to max_size, lends one per
 * acquire (waiting up to acquire_timeout_ms when all are busy), checks a
 * connection that sat idle before lending it (a cheap ping), replaces
 * connections past their lifetime, closes idle ones past the idle timeout
 * (keeping min_size), discards broken ones, and retries failed connects
 * with exponential backoff and jitter. It never takes back a connection
 * with a transaction open: release rolls it back first.
 *
 * Thread-safe: every function may be called from any thread.
 *
 * Every function here that takes an eo_error clears it on success and
 * refuses NULL arguments with EO_EINVAL naming them (error.h).
 * The others accept a NULL pool: eo_pool_adapter/url give NULL,
 * eo_pool_get_stats zeroes its output, ref/unref/release do nothing.
 */
#ifndef EARNORM_POOL_H
#define EARNORM_POOL_H

#include "common.h"
#include "error.h"
#include "sys/adapter.h"

EO_BEGIN_DECL

typedef struct eo_pool eo_pool;

typedef struct eo_pool_config {
    size_t min_size;             /* kept open even when idle (default 0) */
    size_t max_size;             /* upper bound (default 8; sqlite::memory: is always 1) */
    unsigned acquire_timeout_ms; /* wait for a free connection (default 5000) */
    unsigned idle_timeout_ms;    /* close connections idle longer (default 300000; 0 = never) */
    unsigned max_lifetime_ms;    /* replace connections older (default 1800000; 0 = never) */
    unsigned validate_idle_ms;   /* ping before lending when idle longer (default 1000) */
    unsigned connect_retries;    /* further connect attempts after a failure (default 3) */
    unsigned backoff_ms;         /* first retry delay; doubles, with jitter (default 50) */
    unsigned backoff_max_ms;     /* cap of the delay (default 2000) */
} eo_pool_config;

#define EO_POOL_CONFIG_INIT { 0, 8, 5000, 300000, 1800000, 1000, 3, 50, 2000 }

typedef struct eo_pool_stats {
    size_t size;          /* connections open now */
    size_t in_use;        /* lent out */
    size_t idle;          /* waiting in the pool */
    size_t max_size;
    uint64_t acquires;    /* successful acquires */
    uint64_t waits;       /* acquires that had to wait */
    uint64_t wait_ns;     /* time spent waiting */
    uint64_t timeouts;    /* acquires that gave up */
    uint64_t errors;      /* failed connects and pings */
    uint64_t reconnects;  /* connections replaced (broken, expired, failed validation) */
    uint64_t opened, closed;
} eo_pool_stats;

/**
 * Create a pool for @p url (no connection is opened unless min_size > 0).
 * Options in the URL override @p cfg: pool_min, pool_max, pool_timeout
 * (ms), idle_timeout (ms), max_lifetime (ms).
 * @param[out] out Owned (one reference); release with eo_pool_unref.
 * @return 0, EO_EINVAL (bad URL or option), EO_ECONN (min_size could not be opened).
 */
EO_API int eo_pool_new(eo_pool **out, const char *url, const eo_pool_config *cfg,
                       eo_error *err);
EO_API void eo_pool_ref(eo_pool *p);
/** Drop a reference; the last one closes every connection. Accepts NULL. */
EO_API void eo_pool_unref(eo_pool *p);

/**
 * Borrow a connection. Its trace hook is cleared; set your own.
 * @return 0, EO_ETIMEOUT (all busy for acquire_timeout_ms), EO_ECONN
 *         (cannot connect after the retries).
 */
EO_API int eo_pool_acquire(eo_pool *p, eo_conn **out, eo_error *err);
/** Give a connection back (rolled back first if a transaction is open). */
EO_API void eo_pool_release(eo_pool *p, eo_conn *c);

EO_API void eo_pool_get_stats(eo_pool *p, eo_pool_stats *out);
/** The adapter the pool's URL selected. Static. */
EO_API const eo_adapter *eo_pool_adapter(const eo_pool *p);
/** The URL, password masked. Borrowed. */
EO_API const char *eo_pool_url(const eo_pool *p);

EO_END_DECL

#endif /* EARNORM_POOL_H */
