/*
 * vm.c - the Lua VM an engine or the interpreter runs: a lua_State whose
 * memory is counted (and can be capped), a time limit enforced by a count
 * hook, and eo_lua_pcall, the one way C calls into Lua.
 *
 * The time limit has to hold against model code written to dodge it:
 *   - The hook is set once, on the main thread, when the VM starts. A
 *     coroutine takes its hook from the thread that creates it, so every
 *     coroutine is counted too (a hook set per call would miss those
 *     created while it was off).
 *   - Once a call has passed its deadline it stays timed out until the
 *     outermost eo_lua_pcall returns: the hook then runs at every
 *     instruction and raises again in any code that is not one of the
 *     embedded modules, so neither a model's pcall nor the ORM's lets a
 *     model carry on. The sandbox's pcall rethrows it as well.
 *   - The embedded modules are let through to unwind (a rollback still
 *     completes), but only for GRACE_STEPS more instructions: a model can
 *     make the ORM's own code loop for it (a comparator, a wrapper called
 *     from C), and after the grace everything stops.
 *   - C loops over input a script controls poll eo_vm_poll (or count
 *     with eo_vm_tick).
 *
 * Errors are turned into an eo_error inside the protected call, by the
 * message handler: after lua_pcall returns nothing may allocate (reading a
 * field can create its key, a number converts to a string), and with the
 * memory full an allocation outside a protected call aborts the process.
 *
 * It does not know about databases; the earnorm modules do.
 */
#include <lualib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "eo_lua.h"

/* What the message handler fills for the eo_lua_pcall it runs under. */
typedef struct pcall_ctx {
    struct pcall_ctx *outer;  /* the eo_lua_pcall this one runs inside, or NULL */
    int done;             /* err (and trace) describe the error raised last */
    int want_trace;
    eo_error err;
    char *trace;          /* Owned */
} pcall_ctx;

struct eo_vm {
    lua_State *L;
    size_t mem;           /* bytes in use */
    size_t limit;         /* 0 = none */
    unsigned timeout_ms;  /* per eo_lua_pcall, 0 = none */
    uint64_t deadline;    /* monotonic ns of the running call; 0 = none */
    int timed_out;        /* the running call passed its deadline (sticky) */
    long grace;           /* instructions the embedded modules may still run once timed out */
    unsigned ticks;       /* eo_vm_tick's count since its last poll */
    int critical;         /* > 0: C holds resources; the limit waits (see eo_lua_critical) */
    pcall_ctx *call;      /* the innermost eo_lua_pcall running, or NULL */
};

#define HOOK_COUNT 10000   /* VM instructions between two looks at the clock */
/* Instructions the embedded modules get to unwind after the time limit:
 * unwinding an ORM operation takes a few hundred; nothing legitimate
 * comes near this. */
#define GRACE_STEPS 100000L
#define TICKS_PER_POLL 4096u

static const char vm_key = 'v';
static const char ctx_key = 'c';

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void *vm_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    eo_vm *vm = ud;
    void *p;
    if (ptr == NULL)
        osize = 0;
    if (nsize == 0) {
        eo_free(ptr);
        vm->mem -= osize;
        return NULL;
    }
    if (vm->limit && !vm->critical && nsize > osize && vm->mem + (nsize - osize) > vm->limit)
        return NULL;
    p = eo_realloc(ptr, nsize);
    if (p != NULL)
        vm->mem = vm->mem - osize + nsize;
    return p;
}

static void hook(lua_State *L, lua_Debug *ar);

/* Libraries, earnorm and the hardening, under protection: a memory limit
 * too small for them is an error, not an abort. */
static int vm_open(lua_State *L)
{
    eo_vm *vm = lua_touserdata(L, 1);
    luaL_openlibs(L);
    eo_lua_preload(L);
    eo_lua_harden(L, vm);
    return 0;
}

int eo_vm_new(eo_vm **out, const eo_vm_config *cfg, eo_error *err)
{
    eo_vm *vm = eo_calloc(1, sizeof *vm);
    *out = NULL;
    if (vm == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory creating a Lua VM");
    if (cfg) {
        vm->limit = cfg->memory_limit;
        vm->timeout_ms = cfg->timeout_ms;
    }
    vm->L = lua_newstate(vm_alloc, vm);
    if (vm->L == NULL) {
        eo_free(vm);
        return eo_error_set(err, EO_ENOMEM, "out of memory creating a Lua VM");
    }
    lua_pushlightuserdata(vm->L, vm);
    lua_rawsetp(vm->L, LUA_REGISTRYINDEX, &vm_key);
    if (cfg && cfg->ignore_env) {
        /* read by the package library when it opens (lua.c's -E) */
        lua_pushboolean(vm->L, 1);
        lua_setfield(vm->L, LUA_REGISTRYINDEX, "LUA_NOENV");
    }
    lua_pushcfunction(vm->L, vm_open);
    lua_pushlightuserdata(vm->L, vm);
    if (lua_pcall(vm->L, 1, 0, 0) != LUA_OK) {
        lua_close(vm->L);
        eo_free(vm);
        return eo_error_set(err, EO_ENOMEM, "out of memory creating a Lua VM%s",
                            cfg && cfg->memory_limit ? " (memory_limit is too small)" : "");
    }
    if (vm->timeout_ms)
        lua_sethook(vm->L, hook, LUA_MASKCOUNT, HOOK_COUNT);
    *out = vm;
    return EO_OK;
}

void eo_vm_free(eo_vm *vm)
{
    if (vm == NULL)
        return;
    lua_close(vm->L);
    eo_free(vm);
}

lua_State *eo_vm_state(eo_vm *vm) { return vm->L; }
size_t eo_vm_memory(const eo_vm *vm) { return vm->mem; }
size_t eo_vm_memory_limit(const eo_vm *vm) { return vm->limit; }

eo_vm *eo_lua_vm(lua_State *L)
{
    eo_vm *vm;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &vm_key);
    vm = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return vm;
}

void eo_lua_critical(lua_State *L, int delta)
{
    eo_vm *vm = eo_lua_vm(L);
    if (vm)
        vm->critical += delta;
}

int eo_lua_check_memory(lua_State *L)
{
    eo_vm *vm = eo_lua_vm(L);
    if (vm && vm->limit && !vm->critical && vm->mem > vm->limit)
        return eo_lua_raisef(L, EO_ENOMEM, NULL, NULL,
                             "the result does not fit in the VM's memory limit (%zu bytes)",
                             vm->limit);
    return 0;
}

/* ---- per-state context: the schema registry ---- */

struct eo_lua_ctx {
    int refs;
    eo_registry *reg;
};

void eo_lua_ctx_ref(eo_lua_ctx *ctx) { ctx->refs++; }

void eo_lua_ctx_unref(eo_lua_ctx *ctx)
{
    if (ctx && --ctx->refs == 0) {
        eo_registry_free(ctx->reg);
        eo_free(ctx);
    }
}

eo_registry *eo_lua_ctx_registry(eo_lua_ctx *ctx) { return ctx->reg; }

static int ctx_gc(lua_State *L)
{
    eo_lua_ctx **box = lua_touserdata(L, 1);
    if (box && *box) {
        eo_lua_ctx_unref(*box);
        *box = NULL;
    }
    return 0;
}

eo_lua_ctx *eo_lua_ctx_get(lua_State *L)
{
    eo_lua_ctx **box, *ctx;
    eo_error err;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &ctx_key);
    box = lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (box && *box)
        return *box;
    /* first use in this state: the box exists before the context */
    box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, ctx_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &ctx_key);
    ctx = eo_calloc(1, sizeof *ctx);
    if (ctx == NULL || eo_registry_new(&ctx->reg, &err) != EO_OK) {
        eo_free(ctx);
        luaL_error(L, "out of memory creating the model registry");
        return NULL;
    }
    ctx->refs = 1;
    *box = ctx;
    return ctx;
}

/* ---- calls from C into Lua ---- */

/*
 * The message handler of eo_lua_pcall: keeps an earnorm.Error (adding where
 * it was raised), gives anything else as a message with a traceback, and
 * converts the result into the call's eo_error while still under
 * protection (see the file comment). It runs again when a __close handler
 * replaces the error during unwinding, so the last error wins.
 */
static int msghandler(lua_State *L)
{
    eo_vm *vm = eo_lua_vm(L);
    pcall_ctx *ctx = vm ? vm->call : NULL;
    if (ctx)
        ctx->done = 0;
    if (eo_lua_is_error(L, 1)) {
        /* keep the object; remember where it was raised */
        luaL_traceback(L, L, NULL, 1);
        lua_setfield(L, 1, "traceback");
        lua_settop(L, 1);
    } else {
        const char *msg = lua_tostring(L, 1);
        if (msg == NULL) {
            if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
                goto convert;
            msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
        }
        luaL_traceback(L, L, msg, 1);
    }
convert:
    if (ctx) {
        const char *t = NULL;
        eo_lua_to_error(L, -1, &ctx->err);
        eo_free(ctx->trace);
        ctx->trace = NULL;
        if (ctx->want_trace) {
            if (eo_lua_is_error(L, -1)) {
                lua_getfield(L, -1, "traceback");
                t = lua_tostring(L, -1);
                lua_pop(L, 1); /* the string lives on in the error object */
            } else {
                t = lua_tostring(L, -1);
            }
            if (t)
                ctx->trace = eo_strdup(t);
        }
        ctx->done = 1;
    }
    return 1;
}

/* The call passed its deadline: from now on the hook runs at every
 * instruction of this thread and the embedded modules have their grace. */
static void mark(lua_State *L, eo_vm *vm)
{
    if (!vm->timed_out) {
        vm->timed_out = 1;
        vm->grace = GRACE_STEPS;
    }
    if (lua_gethookcount(L) != 1)
        lua_sethook(L, hook, LUA_MASKCOUNT, 1);
}

static int stop(lua_State *L, eo_vm *vm)
{
    mark(L, vm);
    return luaL_error(L, "script ran longer than %d ms and was stopped", (int)vm->timeout_ms);
}

/*
 * Once timed out the hook runs at every instruction of the thread, so
 * model code stops at its very next one: the ORM's own code may catch the
 * error (a rollback runs its handlers under pcall and goes on) and return
 * to a model loop, which must not get another 10,000 instructions. The
 * embedded modules are let through to unwind and clean up, for
 * GRACE_STEPS instructions in all. The next call puts the count back.
 */
static void hook(lua_State *L, lua_Debug *ar)
{
    eo_vm *vm = eo_lua_vm(L);
    if (vm == NULL)
        return;
    if (!vm->timed_out) {
        if (lua_gethookcount(L) != HOOK_COUNT)
            lua_sethook(L, hook, LUA_MASKCOUNT, HOOK_COUNT);
        if (vm->deadline == 0 || now_ns() <= vm->deadline)
            return;
        stop(L, vm);
    }
    if (lua_gethookcount(L) != 1)
        lua_sethook(L, hook, LUA_MASKCOUNT, 1);
    if (vm->grace > 0 && lua_getinfo(L, "S", ar) && eo_lua_is_embedded_chunk(ar->source)) {
        vm->grace--;
        return;
    }
    stop(L, vm);
}

void eo_vm_poll(lua_State *L, eo_vm *vm)
{
    if (vm == NULL || vm->deadline == 0)
        return;
    if (vm->timed_out || now_ns() > vm->deadline)
        stop(L, vm);
}

void eo_vm_tick(lua_State *L, eo_vm *vm)
{
    if (vm == NULL || vm->deadline == 0)
        return;
    if (vm->timed_out || ++vm->ticks >= TICKS_PER_POLL) {
        vm->ticks = 0;
        eo_vm_poll(L, vm);
    }
}

int eo_vm_has_deadline(const eo_vm *vm) { return vm != NULL && vm->deadline != 0; }
unsigned eo_vm_timeout_ms(const eo_vm *vm) { return vm ? vm->timeout_ms : 0; }

int eo_vm_timed_out(eo_vm *vm)
{
    if (vm == NULL || vm->deadline == 0)
        return 0;
    /* the core's loops may have seen the deadline before the hook did */
    return vm->timed_out || now_ns() > vm->deadline;
}

int eo_vm_check_time(lua_State *L, eo_vm *vm, int raise)
{
    if (vm == NULL || vm->deadline == 0)
        return 0;
    if (!vm->timed_out && now_ns() > vm->deadline) {
        if (raise)
            return stop(L, vm);
        mark(L, vm);
    }
    return vm->timed_out;
}

int eo_lua_pcall(lua_State *L, int nargs, int nresults, eo_error *err, char **trace)
{
    eo_vm *vm = eo_lua_vm(L);
    int base = lua_gettop(L) - nargs;
    int status, outermost = 0, timed_out;
    uint64_t core_deadline = 0;
    pcall_ctx ctx;

    if (trace)
        *trace = NULL;
    memset(&ctx, 0, sizeof ctx);
    ctx.want_trace = trace != NULL;
    lua_pushcfunction(L, msghandler);
    lua_insert(L, base);
    if (vm && vm->timeout_ms && vm->deadline == 0) {
        /* the hook set in eo_vm_new watches this deadline */
        vm->deadline = now_ns() + (uint64_t)vm->timeout_ms * 1000000ULL;
        vm->timed_out = 0;
        vm->grace = 0;
        vm->ticks = 0;
        outermost = 1;
        /* the core's long loops (domain normalization) poll it too */
        core_deadline = eo_deadline__set(vm->deadline);
    }
    if (vm) {
        ctx.outer = vm->call;
        vm->call = &ctx;
    }
    status = lua_pcall(L, nargs, nresults, base);
    if (vm)
        vm->call = ctx.outer;
    timed_out = eo_vm_timed_out(vm);
    if (outermost) {
        eo_deadline__set(core_deadline);
        vm->deadline = 0;
        vm->timed_out = 0;
        vm->grace = 0;
    }
    lua_remove(L, base);
    if (status == LUA_OK) {
        eo_free(ctx.trace);
        return EO_OK;
    }
    /* nothing below touches Lua but to pop the error value */
    if (status == LUA_ERRMEM) {
        eo_error_set(err, EO_ENOMEM, "out of memory in Lua%s",
                     vm && vm->limit ? " (the VM's memory limit was reached)" : "");
        if (err)
            err->domain = EO_DOMAIN_LUA;
        eo_free(ctx.trace);
        ctx.trace = NULL;
    } else if (vm == NULL) {
        /* a state eo_vm_new did not make: no handler context */
        eo_lua_to_error(L, -1, err);
    } else if (ctx.done && status == LUA_ERRRUN) {
        if (err)
            *err = ctx.err;
    } else {
        /* the handler itself failed ("error in error handling") */
        eo_error_set(err, EO_ERROR, "error in error handling (the message handler failed)");
        if (err)
            err->domain = EO_DOMAIN_LUA;
        eo_free(ctx.trace);
        ctx.trace = NULL;
    }
    if (timed_out && err)
        err->code = EO_ETIMEOUT;
    if (trace)
        *trace = ctx.trace;
    else
        eo_free(ctx.trace);
    lua_pop(L, 1);
    return err ? err->code : EO_ERROR;
}
