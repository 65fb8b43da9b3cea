/*
 * pool.c - connection pools (see pool.h for the contract).
 *
 * Design
 *
 * A pool owns the connections it opened. At any time each of them is in
 * exactly one place: lent to a caller (counted by in_use) or on the idle
 * stack (most recently released on top, so the warmest is lent first and
 * the coldest ages out). `size` counts both, plus connections being opened
 * outside the lock, so max_size holds while the mutex is free.
 *
 * Invariants (under `mu`):
 *   size == in_use + nidle (+ connects in progress, counted in in_use)
 *   size <= max_size
 *   no idle connection is broken or has a transaction open
 *
 * Transitions:
 *   (none)  --eo_pool_acquire, size < max--> opening --open ok--> lent
 *   idle    --eo_pool_acquire--> lent (after a ping when idle > validate_idle_ms;
 *                                      closed instead when past max_lifetime)
 *   lent    --eo_pool_release--> idle (rolled back first if in a transaction)
 *   lent    --eo_pool_release, broken or expired--> closed
 *   idle    --reap (any acquire/release), idle > idle_timeout, size > min--> closed
 *
 * Slow work (connect, ping, rollback, close) happens outside the lock.
 * Waiting callers sleep on `cv`, woken by every release and every close.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "earnorm/pool.h"
#include "internal.h"

struct eo_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;
    const eo_adapter *adapter;
    char *text;               /* the URL (eo_url points into it) */
    char *masked;             /* the URL with the password hidden */
    eo_url url;
    eo_pool_config cfg;
    eo_conn **idle;           /* stack, capacity max_size */
    uint64_t *idle_since;     /* parallel to idle */
    size_t nidle;
    size_t size, in_use;
    eo_pool_stats st;
    unsigned seed;            /* jitter */
};

/* When a connection was opened (eo_conn.pool_born_ns, set by open_retry). */
#define BORN(c) ((c)->pool_born_ns)

static uint64_t ms_ns(unsigned ms) { return (uint64_t)ms * 1000000ULL; }

static void sleep_ms(unsigned ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

static unsigned opt_uint(const eo_url *u, const char *key, unsigned dflt, int *bad)
{
    const char *v = eo_url_opt(u, key);
    char *end;
    unsigned long n;
    if (v == NULL)
        return dflt;
    n = strtoul(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n > 100000000UL) {
        *bad = 1;
        return dflt;
    }
    return (unsigned)n;
}

int eo_pool_new(eo_pool **out, const char *url, const eo_pool_config *cfg, eo_error *err)
{
    eo_pool_config dflt = EO_POOL_CONFIG_INIT;
    eo_pool *p;
    int rc, bad = 0;
    size_t i;

    EO_ENTER();
    EO_REQUIRE(out);
    *out = NULL;
    EO_REQUIRE(url);
    p = eo_calloc(1, sizeof *p);
    if (p == NULL || (p->text = eo_strdup(url)) == NULL) {
        eo_free(p);
        return eo_error_set(err, EO_ENOMEM, "out of memory creating a pool");
    }
    if ((rc = eo_url_parse(&p->url, p->text, err)) != EO_OK) {
        eo_free(p->text);
        eo_free(p);
        return rc;
    }
    p->adapter = eo_adapter_find(p->url.scheme);
    if (p->adapter == NULL) {
        char known[128];
        const char *close = eo_adapter__closest_scheme(p->url.scheme);
        eo_adapter__schemes(known, sizeof known);
        if (close)
            rc = eo_error_set(err, EO_EINVAL, "no database adapter for '%s://' (did you mean '%s'? known: %s)",
                              p->url.scheme, close, known);
        else
            rc = eo_error_set(err, EO_EINVAL, "no database adapter for '%s://' (known: %s)",
                              p->url.scheme, known);
        goto fail;
    }
    if ((rc = eo_url__check_options(&p->url, p->adapter, err)) != EO_OK)
        goto fail;
    p->cfg = cfg ? *cfg : dflt;
    p->cfg.min_size = opt_uint(&p->url, "pool_min", (unsigned)p->cfg.min_size, &bad);
    p->cfg.max_size = opt_uint(&p->url, "pool_max", (unsigned)p->cfg.max_size, &bad);
    p->cfg.acquire_timeout_ms = opt_uint(&p->url, "pool_timeout", p->cfg.acquire_timeout_ms, &bad);
    p->cfg.idle_timeout_ms = opt_uint(&p->url, "idle_timeout", p->cfg.idle_timeout_ms, &bad);
    p->cfg.max_lifetime_ms = opt_uint(&p->url, "max_lifetime", p->cfg.max_lifetime_ms, &bad);
    if (bad) {
        rc = eo_error_set(err, EO_EINVAL, "pool options in the URL must be non-negative integers");
        goto fail;
    }
    if (p->cfg.max_size == 0)
        p->cfg.max_size = 1;
    /* every connection to an in-memory SQLite database is a different database */
    if (strcmp(p->adapter->name, "sqlite") == 0 && p->url.path &&
        strcmp(p->url.path, ":memory:") == 0) {
        /* and it lives only as long as its connection: never close it */
        p->cfg.max_size = 1;
        p->cfg.idle_timeout_ms = 0;
        p->cfg.max_lifetime_ms = 0;
    }
    if (p->cfg.min_size > p->cfg.max_size)
        p->cfg.min_size = p->cfg.max_size;
    p->idle = eo_calloc(p->cfg.max_size, sizeof *p->idle);
    p->idle_since = eo_calloc(p->cfg.max_size, sizeof *p->idle_since);
    /* every place that shows the URL (env.url, logs, errors, stats) shows
     * this one: user:secret@ and ?password= masked */
    p->masked = eo_malloc(2 * strlen(url) + 8); /* "***" may be longer than what it hides */
    if (!p->idle || !p->idle_since || !p->masked) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory creating a pool");
        goto fail;
    }
    eo_url__mask(url, p->masked, 2 * strlen(url) + 8);
    /* adapters name the URL in messages through url.text */
    p->url.text = p->masked;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->refs = 1;
    p->seed = (unsigned)eo_clock__ns();
    p->st.max_size = p->cfg.max_size;
    /* open min_size now, so a bad URL fails here */
    {
        eo_conn **tmp = eo_calloc(p->cfg.min_size ? p->cfg.min_size : 1, sizeof *tmp);
        if (tmp == NULL) {
            eo_pool_unref(p);
            return eo_error_set(err, EO_ENOMEM, "out of memory");
        }
        for (i = 0; i < p->cfg.min_size; i++) {
            if ((rc = eo_pool_acquire(p, &tmp[i], err)) != EO_OK)
                break;
        }
        while (i-- > 0)
            eo_pool_release(p, tmp[i]);
        eo_free(tmp);
        if (rc != EO_OK) {
            eo_pool_unref(p);
            return rc;
        }
    }
    *out = p;
    eo_error_clear(err);
    return EO_OK;
fail:
    eo_url_free(&p->url);
    eo_free(p->idle);
    eo_free(p->idle_since);
    eo_free(p->masked);
    eo_free(p->text);
    eo_free(p);
    return rc;
}

void eo_pool_ref(eo_pool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->refs++;
    pthread_mutex_unlock(&p->mu);
}

void eo_pool_unref(eo_pool *p)
{
    size_t i;
    int last;
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    last = --p->refs == 0;
    pthread_mutex_unlock(&p->mu);
    if (!last)
        return;
    /* lent connections belong to their borrowers until released: the last
     * reference goes with the last release in practice (envs hold one) */
    for (i = 0; i < p->nidle; i++)
        p->adapter->close(p->idle[i]);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    eo_url_free(&p->url);
    eo_free(p->idle);
    eo_free(p->idle_since);
    eo_free(p->masked);
    eo_free(p->text);
    eo_free(p);
}

const eo_adapter *eo_pool_adapter(const eo_pool *p) { return p ? p->adapter : NULL; }
const char *eo_pool_url(const eo_pool *p) { return p ? p->masked : NULL; }

void eo_pool_get_stats(eo_pool *p, eo_pool_stats *out)
{
    if (out == NULL)
        return;
    if (p == NULL) {
        memset(out, 0, sizeof *out);
        return;
    }
    pthread_mutex_lock(&p->mu);
    *out = p->st;
    out->size = p->size;
    out->in_use = p->in_use;
    out->idle = p->nidle;
    pthread_mutex_unlock(&p->mu);
}

/* Take the idle connections past idle_timeout (above min_size) out of the
 * stack; the caller closes them after unlocking. Coldest are at the bottom. */
static size_t reap_locked(eo_pool *p, uint64_t now, eo_conn **out, size_t cap)
{
    size_t n = 0, i, k;
    if (p->cfg.idle_timeout_ms == 0)
        return 0;
    for (i = 0; i < p->nidle && n < cap && p->size > p->cfg.min_size;) {
        if (now > p->idle_since[i] && now - p->idle_since[i] > ms_ns(p->cfg.idle_timeout_ms)) {
            out[n++] = p->idle[i];
            for (k = i + 1; k < p->nidle; k++) {
                p->idle[k - 1] = p->idle[k];
                p->idle_since[k - 1] = p->idle_since[k];
            }
            p->nidle--;
            p->size--;
            p->st.closed++;
        } else {
            i++;
        }
    }
    return n;
}

static void close_all(eo_pool *p, eo_conn **v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        p->adapter->close(v[i]);
}

/* Connect, retrying with exponential backoff and jitter. */
static int open_retry(eo_pool *p, eo_conn **out, eo_error *err)
{
    unsigned attempt, delay = p->cfg.backoff_ms;
    int rc = EO_ECONN;
    for (attempt = 0; attempt <= p->cfg.connect_retries; attempt++) {
        if (attempt > 0) {
            unsigned jitter;
            pthread_mutex_lock(&p->mu);
            jitter = (unsigned)rand_r(&p->seed);
            p->st.errors++;
            pthread_mutex_unlock(&p->mu);
            /* between half and all of the delay */
            sleep_ms(delay / 2 + (delay ? jitter % (delay / 2 + 1) : 0));
            delay = delay * 2 > p->cfg.backoff_max_ms ? p->cfg.backoff_max_ms : delay * 2;
        }
        rc = p->adapter->open(out, &p->url, err);
        if (rc == EO_OK) {
            (*out)->pool_born_ns = eo_clock__ns();
            return EO_OK;
        }
        if (rc != EO_ECONN && rc != EO_EBUSY && rc != EO_ETIMEOUT)
            return rc; /* a bad URL or option does not get better by waiting */
    }
    return rc;
}

int eo_pool_acquire(eo_pool *p, eo_conn **out, eo_error *err)
{
    uint64_t t0, deadline;
    eo_conn *reaped[8];
    int waited = 0, rc;

    EO_ENTER();
    EO_REQUIRE(out);
    *out = NULL;
    EO_REQUIRE(p);
    t0 = eo_clock__ns();
    deadline = t0 + ms_ns(p->cfg.acquire_timeout_ms);
    pthread_mutex_lock(&p->mu);
    for (;;) {
        uint64_t now = eo_clock__ns();
        size_t nreaped = reap_locked(p, now, reaped, 8);
        if (nreaped) {
            pthread_mutex_unlock(&p->mu);
            close_all(p, reaped, nreaped);
            pthread_mutex_lock(&p->mu);
            continue;
        }
        if (p->nidle > 0) {
            eo_conn *c = p->idle[--p->nidle];
            uint64_t since = p->idle_since[p->nidle];
            int expired = p->cfg.max_lifetime_ms && now - BORN(c) > ms_ns(p->cfg.max_lifetime_ms);
            int check = now - since > ms_ns(p->cfg.validate_idle_ms);
            p->in_use++;
            pthread_mutex_unlock(&p->mu);
            if (!expired && (!check || p->adapter->ping(c, NULL) == EO_OK)) {
                c->trace = NULL;
                c->trace_payload = NULL;
                pthread_mutex_lock(&p->mu);
                p->st.acquires++;
                if (waited) {
                    p->st.waits++;
                    p->st.wait_ns += eo_clock__ns() - t0;
                }
                pthread_mutex_unlock(&p->mu);
                *out = c;
                return EO_OK;
            }
            /* stale: replace it */
            p->adapter->close(c);
            pthread_mutex_lock(&p->mu);
            p->in_use--;
            p->size--;
            p->st.closed++;
            p->st.reconnects++;
            if (!expired)
                p->st.errors++;
            continue;
        }
        if (p->size < p->cfg.max_size) {
            eo_conn *c = NULL;
            p->size++;
            p->in_use++;
            pthread_mutex_unlock(&p->mu);
            rc = open_retry(p, &c, err);
            pthread_mutex_lock(&p->mu);
            if (rc != EO_OK) {
                p->size--;
                p->in_use--;
                p->st.errors++;
                pthread_cond_signal(&p->cv);
                pthread_mutex_unlock(&p->mu);
                return rc;
            }
            p->st.opened++;
            p->st.acquires++;
            if (waited) {
                p->st.waits++;
                p->st.wait_ns += eo_clock__ns() - t0;
            }
            pthread_mutex_unlock(&p->mu);
            *out = c;
            eo_error_clear(err); /* a failed attempt before the one that worked */
            return EO_OK;
        }
        /* all busy: wait for a release */
        waited = 1;
        if (now >= deadline) {
            p->st.timeouts++;
            p->st.waits++;
            p->st.wait_ns += now - t0;
            pthread_mutex_unlock(&p->mu);
            return eo_error_set(err, EO_ETIMEOUT,
                                "pool for %s: all %zu connections busy for %u ms",
                                p->masked, p->cfg.max_size, p->cfg.acquire_timeout_ms);
        }
        {
            struct timespec ts;
            uint64_t wake;
            clock_gettime(CLOCK_REALTIME, &ts);
            wake = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec + (deadline - now);
            ts.tv_sec = (time_t)(wake / 1000000000ULL);
            ts.tv_nsec = (long)(wake % 1000000000ULL);
            pthread_cond_timedwait(&p->cv, &p->mu, &ts);
        }
    }
}

void eo_pool_release(eo_pool *p, eo_conn *c)
{
    eo_conn *reaped[8];
    size_t nreaped;
    uint64_t now;
    int drop;
    if (p == NULL || c == NULL)
        return; /* no pool to give it to: a misuse that must not crash */
    if (c->txn_depth > 0 && !c->broken) {
        /* never give back an open transaction */
        if (p->adapter->rollback(c, NULL) != EO_OK)
            c->broken = 1;
    }
    c->txn_depth = 0;
    c->trace = NULL;
    c->trace_payload = NULL;
    pthread_mutex_lock(&p->mu);
    /* read the clock under the lock: idle_since must not decrease up the
     * stack, or `now - idle_since` in reap_locked wraps around and a
     * connection another thread just released is closed as long idle */
    now = eo_clock__ns();
    drop = c->broken ||
           (p->cfg.max_lifetime_ms && now - BORN(c) > ms_ns(p->cfg.max_lifetime_ms));
    p->in_use--;
    if (drop) {
        p->size--;
        p->st.closed++;
        if (c->broken)
            p->st.reconnects++;
    } else {
        p->idle[p->nidle] = c;
        p->idle_since[p->nidle] = now;
        p->nidle++;
    }
    nreaped = reap_locked(p, now, reaped, 8);
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (drop)
        p->adapter->close(c);
    close_all(p, reaped, nreaped);
}
