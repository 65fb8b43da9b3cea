/*
 * rs.h - environment handles and recordsets, shared by env.c and
 * recordset.c only.
 */
#ifndef EARNORM_RS_H
#define EARNORM_RS_H

#include "eo_lua.h"

/*
 * An environment handle. Recordsets hold it (refcounted) instead of the
 * Lua Env object so closing an env makes its recordsets fail cleanly
 * ("attempt to use a closed environment") instead of dangling.
 */
typedef struct envh {
    int refs;
    eo_env *env;          /* NULL once closed */
    eo_lua_ctx *ctx;      /* holds the registry the env reads */
    int computing;        /* > 0 while a compute method runs */
    struct eo_lua_pending *pending; /* large recordsets gone: their values to release */
} envh;

void eo_envh_unref(envh *h);
/* recordset.c: free what h->pending holds (h is being freed). */
void eo_lua__pending_free(envh *h);
/* The handle in a CEnv userdata at idx (raises when closed). */
envh *eo_lua_check_cenv(lua_State *L, int idx);

/* What a recordset holds (Borrowed from it, valid while it is on the stack). */
typedef struct eo_rs_view {
    eo_env *env;
    const eo_model *model;
    const eo_id *ids;
    size_t n;
} eo_rs_view;

/* The recordset at idx (raises if it is not one, or its env is closed). */
void eo_lua__rs_view(lua_State *L, int idx, eo_rs_view *out);
/* Whether the recordset (or record) at idx hides archived records: its
 * context's active_test, else its env's, else yes (recordset.c). */
int eo_lua__active_test(lua_State *L, int idx);
/* Push a recordset of m with ids, sharing the env and context of the recordset at like. */
void eo_lua__push_ids(lua_State *L, int like, const eo_model *m, const eo_id *ids, size_t n);

#endif
