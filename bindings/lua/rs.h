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
} envh;

void eo_envh_unref(envh *h);
/* The handle in a CEnv userdata at idx (raises when closed). */
envh *eo_lua_check_cenv(lua_State *L, int idx);

#endif
