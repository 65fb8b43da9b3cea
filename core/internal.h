/*
 * internal.h - private declarations shared between core files.
 *
 * Nothing here is installed. Names are eo_<module>__<verb> or short helper
 * types (eo_buf, eo_strmap) that never leave the core.
 */
#ifndef EARNORM_INTERNAL_H
#define EARNORM_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "earnorm/alloc.h"
#include "earnorm/error.h"
#include "earnorm/value.h"

#define EO_UNUSED(x) ((void)(x))
#define EO_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Defensive checks that "cannot happen" (SQLite's ALWAYS/NEVER). */
#ifdef NDEBUG
#define EO_ALWAYS(x) (x)
#define EO_NEVER(x) (x)
#else
#include <assert.h>
#define EO_ALWAYS(x) ((x) ? 1 : (assert(0), 0))
#define EO_NEVER(x) ((x) ? (assert(0), 1) : 0)
#endif

/* ---- eo_buf: a growable byte buffer, always NUL-terminated ---- */
typedef struct eo_buf {
    char *p;      /* bytes, NUL-terminated when len > 0 or after any append */
    size_t len;   /* bytes used, without the NUL */
    size_t cap;   /* bytes allocated */
    int oom;      /* set once an append failed; later appends are no-ops */
} eo_buf;

#define EO_BUF_INIT { NULL, 0, 0, 0 }

void eo_buf__free(eo_buf *b);
void eo_buf__reset(eo_buf *b);
int eo_buf__grow(eo_buf *b, size_t extra);
int eo_buf__put(eo_buf *b, const char *p, size_t n);
int eo_buf__puts(eo_buf *b, const char *s);
int eo_buf__putc(eo_buf *b, char c);
/* The decimal text of v, as "%lld" prints it (printf is slow for lists of
 * thousands of ids). */
int eo_buf__put_int(eo_buf *b, int64_t v);
int eo_buf__printf(eo_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Detach the bytes (Owned by the caller, eo_free); the buffer is reset. */
char *eo_buf__detach(eo_buf *b);

/* ---- eo_vec: a growable array of fixed-size items ---- */
typedef struct eo_vec {
    void *items;
    size_t len, cap, isize;
} eo_vec;

#define EO_VEC_INIT(T) { NULL, 0, 0, sizeof(T) }
int eo_vec__push(eo_vec *v, const void *item);
void *eo_vec__at(const eo_vec *v, size_t i);
void eo_vec__free(eo_vec *v);
int eo_vec__reserve(eo_vec *v, size_t n);

/* ---- eo_strmap: string keys (copied) to pointers, open addressing ---- */
typedef struct eo_strmap_ent { char *key; size_t klen; uint64_t hash; void *val; } eo_strmap_ent;
typedef struct eo_strmap {
    eo_strmap_ent *ents;
    size_t cap, len;
} eo_strmap;

void eo_strmap__free(eo_strmap *m);
void *eo_strmap__get(const eo_strmap *m, const char *key, size_t klen);
int eo_strmap__put(eo_strmap *m, const char *key, size_t klen, void *val);
uint64_t eo_hash__bytes(const void *p, size_t n);

/* ---- eo_idmap: eo_id to size_t slot, open addressing ----
 * Keys and values sit side by side (one cache line per probe); see
 * idmap_hash in map.c for how ids are spread. */
typedef struct eo_idmap_ent {
    eo_id key;
    size_t val;        /* slot + 1; 0 marks an empty bucket, SIZE_MAX a tombstone */
} eo_idmap_ent;

typedef struct eo_idmap {
    eo_idmap_ent *ents;
    size_t cap, len, used;
} eo_idmap;

void eo_idmap__free(eo_idmap *m);
/* Returns 1 and fills *slot when found, 0 otherwise. */
int eo_idmap__get(const eo_idmap *m, eo_id id, size_t *slot);
int eo_idmap__put(eo_idmap *m, eo_id id, size_t slot);
/* Room for n more entries without a rehash. */
int eo_idmap__reserve(eo_idmap *m, size_t n);
int eo_idmap__del(eo_idmap *m, eo_id id);
/* One probe: the slot of id, or insert it with `fresh`. 1 when inserted,
 * 0 when found, EO_ENOMEM. */
int eo_idmap__upsert(eo_idmap *m, eo_id id, size_t fresh, size_t *slot);

/* ---- eo_vset: a set of values (pointers Borrowed), by eo_value_equal ---- */
typedef struct eo_vset {
    const eo_value **slots;
    size_t cap, len;
} eo_vset;

uint64_t eo_value__hash(const eo_value *v);
/* 1 when added, 0 when already there, EO_ENOMEM */
int eo_vset__add(eo_vset *s, const eo_value *v);
int eo_vset__has(const eo_vset *s, const eo_value *v);
void eo_vset__free(eo_vset *s);

/* Set err's driver domain and native code after eo_error_set. */
static inline void eo_error__native(eo_error *err, int domain, int native)
{
    if (err) {
        err->domain = domain;
        err->native = native;
    }
}

/* Put `prefix` before err's message (truncating the end). */
void eo_error__prefix(eo_error *err, const char *prefix);

/*
 * Public entry points (STYLE.md §3). Every EO_API function that takes an
 * eo_error starts with EO_ENTER(): the error is cleared, so a call that
 * succeeds leaves it clear whatever the caller's struct held (garbage, or
 * the previous call's failure). Clearing writes the three ints and the
 * first byte of each string, nothing more: cheap enough for eo_orm_get on
 * every record. EO_REQUIRE(x) refuses a NULL required pointer with
 * EO_EINVAL "eo_env_commit: env is NULL", naming the function (__func__)
 * and the argument as the header spells it; release builds too. Out
 * parameters are reset before the other arguments are checked.
 * Both expect the eo_error parameter to be called `err`.
 */
static inline void eo_error__reset(eo_error *err)
{
    if (err) {
        err->code = EO_OK;
        err->domain = EO_DOMAIN_NONE;
        err->native = 0;
        err->model[0] = err->field[0] = err->msg[0] = '\0';
    }
}
int eo_error__null(eo_error *err, const char *fn, const char *arg);
#define EO_ENTER() eo_error__reset(err)
#define EO_REQUIRE(x)                                                        \
    do {                                                                     \
        if ((x) == NULL)                                                     \
            return eo_error__null(err, __func__, #x);                        \
    } while (0)
/* An array argument, required when its count is not 0. */
#define EO_REQUIRE_N(x, n)                                                   \
    do {                                                                     \
        if ((n) != 0 && (x) == NULL)                                         \
            return eo_error__null(err, __func__, #x);                        \
    } while (0)

/* ---- URLs and adapters (adapters/registry.c) ---- */
struct eo_url;
struct eo_adapter;
/* `url` for display: user:secret@ and ?password=, ?secret=, ... as ***.
 * Written into buf (truncated at cap); returns buf. */
char *eo_url__mask(const char *url, char *buf, size_t cap);
/* EINVAL naming an option of u that neither the pool nor adapter a reads
 * (and the closest known one). */
int eo_url__check_options(const struct eo_url *u, const struct eo_adapter *a, eo_error *err);
/* "sqlite, postgresql, mongodb" into buf; returns buf. */
const char *eo_adapter__schemes(char *buf, size_t cap);
/* The registered scheme (or accepted spelling) closest to `scheme`, or NULL. */
const char *eo_adapter__closest_scheme(const char *scheme);

/*
 * The check an env makes once per model before it first reads or writes
 * it (env.c): does the database store m as declared, where a difference
 * would be read wrongly? The digits of Decimal fields, which SQLite and
 * MongoDB record in "earnorm-schema" and PostgreSQL in the column type:
 * stored as integers scaled by 10^scale, 12.30 at scale 4 reads as
 * 12300.0 at scale 1. And a field that is Decimal on one side only (a
 * Decimal declared Integer reads 12.30 as 1230 on SQLite and MongoDB, as
 * 12 on PostgreSQL). Each built-in adapter has one; a registered adapter
 * has none (NULL).
 */
struct eo_conn;
struct eo_model;
struct eo_field;
typedef int (*eo_schema_check_fn)(struct eo_conn *c, const struct eo_model *m, eo_error *err);
eo_schema_check_fn eo_adapter__schema_check(const struct eo_adapter *a);
int eo_sqlite__schema_check(struct eo_conn *c, const struct eo_model *m, eo_error *err);
int eo_postgres__schema_check(struct eo_conn *c, const struct eo_model *m, eo_error *err);
int eo_mongo__schema_check(struct eo_conn *c, const struct eo_model *m, eo_error *err);
/* The refusals, the same on every backend: EINVAL naming the model, the
 * field, what the database holds (digits; or `held`, "Decimal (12, 2)",
 * "numeric(12, 2)", "Integer") and what the model declares. migrate uses
 * the second for the type changes it refuses. */
int eo_schema__digits_differ(eo_error *err, const struct eo_field *f, int precision, int scale);
int eo_schema__type_differs(eo_error *err, const struct eo_field *f, const char *held);

/* Monotonic clock in nanoseconds. */
uint64_t eo_clock__ns(void);

/*
 * The current call's deadline on this thread (monotonic ns, 0 = none), set
 * by the VM around protected calls; long C loops poll eo_deadline__passed
 * and stop with EO_ETIMEOUT. _set returns the previous deadline.
 */
uint64_t eo_deadline__set(uint64_t ns);
uint64_t eo_deadline__get(void);
int eo_deadline__passed(void);


/* ---- eo_arena: bump allocation freed all at once ---- */
typedef struct eo_arena_chunk eo_arena_chunk;
typedef struct eo_arena {
    eo_arena_chunk *head;   /* newest chunk first */
} eo_arena;

void *eo_arena__alloc(eo_arena *a, size_t n);
char *eo_arena__strndup(eo_arena *a, const char *s, size_t n);
/* Copy a value's bytes into the arena (the result is not `owned`). */
int eo_arena__value(eo_arena *a, eo_value *out, const eo_value *src);
/* Move every chunk of `from` into `into`; `from` is left empty. */
void eo_arena__adopt(eo_arena *into, eo_arena *from);
void eo_arena__free(eo_arena *a);
/* Empty the arena, keeping one chunk for reuse. */
void eo_arena__reset(eo_arena *a);

/* convert.c: conversion with or without the value checks (size, range,
 * choices). Domains convert without checks: a filter may ask for values no
 * record may hold. */
#include "earnorm/model.h"

/* ---- the model registry (model.c) ---- */
/* ECONFLICT when the model `name` would use the table of another model of
 * reg (or one of the engine's reserved tables); reg may be NULL. */
int eo_registry__check_table(const eo_registry *reg, const char *name, eo_error *err);
/* Drop the models added after the first n (a failed load rolled back):
 * only models nothing older refers to. */
int eo_registry__truncate(eo_registry *reg, size_t n, eo_error *err);

int eo_field__convert(const eo_field *f, const eo_value *in, eo_value *out,
                      eo_value_scratch *sc, int checks, eo_error *err);
/* model_auto.c: why field f cannot be tracked in the history, or NULL. */
const char *eo_field__untrackable(const eo_field *f);
/* convert.c: canonical date/datetime text <-> microseconds since 1970 (UTC) */
int eo_datetime__to_us(const char *s, size_t n, int64_t *us);
int eo_datetime__format_us(int64_t us, int date_only, char *buf, size_t cap);
/* convert.c: canonical decimal text <-> integer scaled by 10^scale (how
 * SQLite and FerretDB store Decimal). to_scaled: 0, or -1 if not a number. */
int eo_decimal__to_scaled(const char *s, size_t n, int scale, int64_t *out);
void eo_decimal__format_scaled(int64_t n, int scale, char *buf, size_t cap);
/* model.c: composite indexes and unique constraints (eo_model_index).
 * our_index: 1 when a database index `name` of m's table is one migrate
 * makes for them (<table>__..._cidx / _ckey). index_named: m's index of
 * that database name, or NULL. describe_values: "a = 'x', b = 3" for the
 * index's fields among cols. index_conflict: fill err with the
 * constraint's EO_ECONFLICT ("model: constraint name: message
 * (unique(a, b): record)"); returns EO_ECONFLICT. */
int eo_model__our_index(const eo_model *m, const char *name);
const eo_model_index *eo_model__index_named(const eo_model *m, const char *name);
void eo_model__describe_values(eo_buf *b, const eo_model_index *ix, const eo_field *const *cols,
                               const eo_value *vals, size_t ncols);
int eo_model__index_conflict(eo_error *err, const eo_model *m, const eo_model_index *ix,
                             const char *record);

#endif /* EARNORM_INTERNAL_H */
