/*
 * env_int.h - the environment struct, shared by env.c and the orm/ files.
 */
#ifndef EARNORM_ENV_INT_H
#define EARNORM_ENV_INT_H

#include "earnorm/env.h"
#include "earnorm/orm.h"
#include "internal.h"
#include "store.h"

struct eo_env {
    eo_registry *reg;          /* Borrowed */
    const eo_adapter *adapter;
    eo_conn *conn;             /* Owned */
    eo_store *store;           /* Owned */
    eo_stats stats;
    int log_queries;
    FILE *log_file;
    size_t prefetch_max;
    char *url;                 /* masked */
    unsigned resolved_version; /* registry version last resolved */
};

/* Resolve the registry when models were added since the last call. */
int eo_env__ready(eo_env *env, eo_error *err);
/* Run `fn` atomically: a transaction, or a savepoint inside one. */
int eo_env__atomic_begin(eo_env *env, eo_error *err);
int eo_env__atomic_end(eo_env *env, int rc, eo_error *err);

#endif
