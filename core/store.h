/*
 * store.h - the record store (environment cache), private to the core.
 */
#ifndef EARNORM_STORE_H
#define EARNORM_STORE_H

#include "earnorm/model.h"
#include "internal.h"

typedef struct eo_store eo_store;

int eo_store__new(eo_store **out);
void eo_store__free(eo_store *s);
void eo_store__clear(eo_store *s);
size_t eo_store__records(const eo_store *s);
/* Field values held (over every record and field). */
size_t eo_store__values(const eo_store *s);

/* The cached value, or NULL when not loaded. Borrowed until the next change. */
const eo_value *eo_store__get(eo_store *s, const eo_model *m, eo_id id, const eo_field *f);
/* 1 when cached. */
int eo_store__has(eo_store *s, const eo_model *m, eo_id id, const eo_field *f);
/* Cache a copy of v. */
int eo_store__set(eo_store *s, const eo_model *m, eo_id id, const eo_field *f,
                  const eo_value *v);
/* Cache copies of n values of one record (one lookup for the row), a load:
 * values the store holds already are kept (they are newer). */
int eo_store__set_row(eo_store *s, const eo_model *m, eo_id id, const eo_field *const *f,
                      const eo_value *v, size_t n);
/* Forget f (NULL: every field) of the record. */
void eo_store__forget(eo_store *s, const eo_model *m, eo_id id, const eo_field *f);
/* Forget f (NULL: all) of every record of m. */
void eo_store__forget_model(eo_store *s, const eo_model *m, const eo_field *f);

/* The hot set: the fields of m a load brings besides the one asked for
 * (those read so far in this store's env). */
int eo_store__hot(eo_store *s, const eo_model *m, const eo_field *f);
void eo_store__heat(eo_store *s, const eo_model *m, const eo_field *f);

#endif
