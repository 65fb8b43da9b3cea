/*
 * pattern.c - string.find, string.match, string.gmatch and string.gsub with
 * the semantics of Lua 5.4's, but able to stop at the VM's deadline.
 *
 * Lua's own matcher backtracks inside one C call: s:find(".-.-.-b") on a
 * long subject runs for hours without executing a single VM instruction,
 * so the count hook that enforces timeout_ms never fires. This matcher
 * counts its steps (each match attempt, each character scanned by a
 * repetition, a balance or a back-reference) and every POLL_STEPS steps
 * asks the VM whether the deadline of the running call has passed
 * (eo_vm_poll), which raises the time-limit error. Plain searches use
 * memmem, which is linear where Lua's is quadratic at worst.
 *
 * The algorithm is the classic backtracking one Lua documents (leftmost
 * match; greedy '*' and '+', lazy '-', '?'; %b, %f, back-references,
 * position captures), with the same recursion limit (200, "pattern too
 * complex") and the same error messages, so scripts cannot tell the two
 * apart; tests/c/test_sandbox.c compares them on generated patterns.
 * Nothing here allocates outside the Lua stack, so raising from any point
 * leaks nothing. The matcher state lives on the C stack of each call,
 * except gmatch's, which its iterator keeps: gmatch_step resets it.
 */
#define _GNU_SOURCE /* memmem */
#include <ctype.h>
#include <string.h>

#include "eo_lua.h"

#define ESC '%'
#define SPECIALS "^$*+?.([%-"
#define MAX_DEPTH 200            /* Lua's MAXCCALLS for patterns */
#define POLL_STEPS (1u << 14)    /* steps between two deadline polls */
#ifndef LUA_MAXCAPTURES
#define LUA_MAXCAPTURES 32       /* lstrlib.c's default */
#endif
#define CAP_OPEN (-1)            /* capture started, not closed yet */
#define CAP_POS (-2)             /* position capture "()" */

typedef struct pm_state {
    const char *src;             /* subject */
    const char *src_end;         /* its end (a NUL byte: Lua strings have one) */
    const char *pat_end;         /* end of the pattern (NUL as well) */
    lua_State *L;
    eo_vm *vm;                   /* NULL: no deadline to honour */
    size_t budget;               /* steps left before the next poll */
    int depth;                   /* recursion left */
    int ncap;                    /* captures started (closed or not) */
    struct {
        const char *at;
        ptrdiff_t len;           /* length, CAP_OPEN or CAP_POS */
    } cap[LUA_MAXCAPTURES];
} pm_state;

static const char *pm_match(pm_state *ms, const char *s, const char *p);

#if defined(__GNUC__)
#define LIKELY(x) __builtin_expect(!!(x), 1)
#else
#define LIKELY(x) (x)
#endif

static void poll_now(pm_state *ms)
{
    ms->budget = POLL_STEPS;
    eo_vm_poll(ms->L, ms->vm);
}

/* Account for n steps of work; poll the deadline when the budget is used. */
static inline void tick(pm_state *ms, size_t n)
{
    if (LIKELY(ms->budget > n))
        ms->budget -= n;
    else
        poll_now(ms);
}

static void pm_init(pm_state *ms, lua_State *L, eo_vm *vm, const char *s, size_t ls,
                    const char *p, size_t lp)
{
    ms->L = L;
    ms->vm = vm;
    ms->src = s;
    ms->src_end = s + ls;
    ms->pat_end = p + lp;
    ms->budget = POLL_STEPS;
    ms->depth = MAX_DEPTH;
    ms->ncap = 0;
}

/* The end of the single-character class that starts at p. */
static const char *class_end(pm_state *ms, const char *p)
{
    char c = *p++;
    if (c == ESC) {
        if (p == ms->pat_end)
            luaL_error(ms->L, "malformed pattern (ends with '%%')");
        return p + 1;
    }
    if (c != '[')
        return p;
    if (*p == '^')
        p++;
    /* the first character of a set is never its closing ']' */
    do {
        if (p == ms->pat_end)
            luaL_error(ms->L, "malformed pattern (missing ']')");
        c = *p++;
        if (c == ESC && p < ms->pat_end)
            p++;
    } while (*p != ']');
    return p + 1;
}

/* Does c belong to the class letter cl (%a, %d, ...; anything else is itself)? */
static int in_class(int c, int cl)
{
    int yes;
    switch (tolower(cl)) {
    case 'a': yes = isalpha(c); break;
    case 'c': yes = iscntrl(c); break;
    case 'd': yes = isdigit(c); break;
    case 'g': yes = isgraph(c); break;
    case 'l': yes = islower(c); break;
    case 'p': yes = ispunct(c); break;
    case 's': yes = isspace(c); break;
    case 'u': yes = isupper(c); break;
    case 'w': yes = isalnum(c); break;
    case 'x': yes = isxdigit(c); break;
    case 'z': yes = c == 0; break;
    default: return cl == c;
    }
    /* upper-case letters complement the class */
    return islower(cl) ? yes != 0 : yes == 0;
}

/* Does c belong to the set [..] from p (its '[') to last (its ']')? */
static int in_set(int c, const char *p, const char *last)
{
    int want = 1;
    if (p[1] == '^') {
        want = 0;
        p++;
    }
    for (p++; p < last; p++) {
        if (*p == ESC) {
            p++;
            if (in_class(c, (unsigned char)*p))
                return want;
        } else if (p[1] == '-' && p + 2 < last) {
            if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2])
                return want;
            p += 2;
        } else if ((unsigned char)*p == c) {
            return want;
        }
    }
    return !want;
}

/* Does the character at s match the class p..ep? (never past the end) */
static int single(pm_state *ms, const char *s, const char *p, const char *ep)
{
    int c;
    if (s >= ms->src_end)
        return 0;
    c = (unsigned char)*s;
    switch (*p) {
    case '.': return 1;
    case ESC: return in_class(c, (unsigned char)p[1]);
    case '[': return in_set(c, p, ep - 1);
    default: return (unsigned char)*p == c;
    }
}

/* %bxy at s: the end of the balanced run, or NULL. */
static const char *balance(pm_state *ms, const char *s, const char *p)
{
    const char *start = s;
    int open, close, depth = 1;
    if (p >= ms->pat_end - 1)
        luaL_error(ms->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= ms->src_end || *s != *p)
        return NULL;
    open = *p;
    close = p[1];
    while (++s < ms->src_end) {
        if (*s == close) {
            if (--depth == 0) {
                tick(ms, (size_t)(s - start) / 8);
                return s + 1;
            }
        } else if (*s == open) {
            depth++;
        }
    }
    tick(ms, (size_t)(s - start) / 8);
    return NULL;
}

/* %1..%9 at s: the end of the repeated capture, or NULL. */
static const char *backref(pm_state *ms, const char *s, int digit)
{
    int i = digit - '1';
    size_t len;
    if (i < 0 || i >= ms->ncap || ms->cap[i].len == CAP_OPEN)
        luaL_error(ms->L, "invalid capture index %%%d", i + 1);
    /* a position capture has no text: its negative length never fits */
    len = (size_t)ms->cap[i].len;
    if ((size_t)(ms->src_end - s) < len)
        return NULL;
    tick(ms, len / 64);
    return memcmp(ms->cap[i].at, s, len) == 0 ? s + len : NULL;
}

/* Greedy: take as many as match, then give back one at a time. */
static const char *greedy(pm_state *ms, const char *s, const char *p, const char *ep)
{
    size_t n = 0;
    while (single(ms, s + n, p, ep))
        n++;
    tick(ms, n / 8);
    for (;;) {
        const char *r = pm_match(ms, s + n, ep + 1);
        if (r != NULL)
            return r;
        if (n-- == 0)
            return NULL;
    }
}

/* Lazy: try the rest first, then one more repetition. */
static const char *lazy(pm_state *ms, const char *s, const char *p, const char *ep)
{
    for (;;) {
        const char *r = pm_match(ms, s, ep + 1);
        if (r != NULL)
            return r;
        if (!single(ms, s, p, ep))
            return NULL;
        s++;
    }
}

static const char *open_capture(pm_state *ms, const char *s, const char *p, ptrdiff_t what)
{
    const char *r;
    if (ms->ncap >= LUA_MAXCAPTURES)
        luaL_error(ms->L, "too many captures");
    ms->cap[ms->ncap].at = s;
    ms->cap[ms->ncap].len = what;
    ms->ncap++;
    if ((r = pm_match(ms, s, p)) == NULL)
        ms->ncap--;
    return r;
}

static const char *close_capture(pm_state *ms, const char *s, const char *p)
{
    const char *r;
    int i = ms->ncap - 1;
    while (i >= 0 && ms->cap[i].len != CAP_OPEN)
        i--;
    if (i < 0)
        luaL_error(ms->L, "invalid pattern capture");
    ms->cap[i].len = s - ms->cap[i].at;
    if ((r = pm_match(ms, s, p)) == NULL)
        ms->cap[i].len = CAP_OPEN;
    return r;
}

/*
 * Match pattern p against the subject from s; the end of the match or
 * NULL. Recursion happens only where backtracking needs it (captures and
 * repetitions); everything else loops.
 */
static const char *pm_match(pm_state *ms, const char *s, const char *p)
{
    if (ms->depth-- == 0)
        luaL_error(ms->L, "pattern too complex");
    tick(ms, 1);
    while (s != NULL && p != ms->pat_end) {
        const char *ep;
        if (*p == '(') {
            s = p[1] == ')' ? open_capture(ms, s, p + 2, CAP_POS)
                            : open_capture(ms, s, p + 1, CAP_OPEN);
            break;
        }
        if (*p == ')') {
            s = close_capture(ms, s, p + 1);
            break;
        }
        if (*p == '$' && p + 1 == ms->pat_end) {
            if (s != ms->src_end)
                s = NULL;
            break;
        }
        if (*p == ESC && p[1] == 'b') {
            s = balance(ms, s, p + 2);
            p += 4;
            continue;
        }
        if (*p == ESC && p[1] == 'f') {
            int before, here;
            p += 2;
            if (*p != '[')
                luaL_error(ms->L, "missing '[' after '%%f' in pattern");
            ep = class_end(ms, p);
            before = s == ms->src ? 0 : (unsigned char)s[-1];
            here = (unsigned char)*s;  /* NUL at the end of the subject */
            if (in_set(before, p, ep - 1) || !in_set(here, p, ep - 1))
                s = NULL;
            p = ep;
            continue;
        }
        if (*p == ESC && isdigit((unsigned char)p[1])) {
            s = backref(ms, s, (unsigned char)p[1]);
            p += 2;
            continue;
        }
        /* a single-character class with an optional repetition suffix */
        ep = class_end(ms, p);
        if (!single(ms, s, p, ep)) {
            if (*ep == '*' || *ep == '?' || *ep == '-') {
                p = ep + 1;     /* zero repetitions are fine */
                continue;
            }
            s = NULL;
            break;
        }
        if (*ep == '?') {
            const char *r = pm_match(ms, s + 1, ep + 1);
            if (r != NULL) {
                s = r;
                break;
            }
            p = ep + 1;
            continue;
        }
        if (*ep == '+' || *ep == '*') {
            s = greedy(ms, *ep == '+' ? s + 1 : s, p, ep);
            break;
        }
        if (*ep == '-') {
            s = lazy(ms, s, p, ep);
            break;
        }
        s++;
        p = ep;
    }
    ms->depth++;
    return s;
}

/* ---- captures onto the stack ---- */

/*
 * Capture i of a match s..e (with no captures, i == 0 is the whole match).
 * Pushes a position capture itself and returns CAP_POS; otherwise returns
 * the length and points *at to the text.
 */
static ptrdiff_t capture_of(pm_state *ms, int i, const char *s, const char *e, const char **at)
{
    if (i >= ms->ncap) {
        if (i != 0)
            luaL_error(ms->L, "invalid capture index %%%d", i + 1);
        *at = s;
        return e - s;
    }
    *at = ms->cap[i].at;
    if (ms->cap[i].len == CAP_OPEN)
        luaL_error(ms->L, "unfinished capture");
    if (ms->cap[i].len == CAP_POS)
        lua_pushinteger(ms->L, (ms->cap[i].at - ms->src) + 1);
    return ms->cap[i].len;
}

static void push_capture(pm_state *ms, int i, const char *s, const char *e)
{
    const char *at;
    ptrdiff_t len = capture_of(ms, i, s, e, &at);
    if (len != CAP_POS)
        lua_pushlstring(ms->L, at, (size_t)len);
}

/* Push every capture (the whole match when there are none and s is set). */
static int push_captures(pm_state *ms, const char *s, const char *e)
{
    int i, n = ms->ncap == 0 && s != NULL ? 1 : ms->ncap;
    luaL_checkstack(ms->L, n, "too many captures");
    for (i = 0; i < n; i++)
        push_capture(ms, i, s, e);
    return n;
}

/* ---- the library functions ---- */

/* A relative initial position (negative counts from the end) as 0-based. */
static size_t start_of(lua_Integer pos, size_t len)
{
    if (pos > 0)
        return (size_t)pos - 1;
    if (pos == 0 || pos < -(lua_Integer)len)
        return 0;
    return len + (size_t)pos;
}

static int has_specials(const char *p, size_t lp)
{
    size_t i;
    for (i = 0; i < lp; i++)
        if (p[i] != '\0' && strchr(SPECIALS, p[i]) != NULL)
            return 1;
    return 0;
}

static eo_vm *vm_of(lua_State *L) { return lua_touserdata(L, lua_upvalueindex(1)); }

static int find_or_match(lua_State *L, int find)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_of(luaL_optinteger(L, 3, 1), ls);
    pm_state ms;
    const char *at;
    int anchored;

    if (init > ls) {
        luaL_pushfail(L);
        return 1;
    }
    if (find && (lua_toboolean(L, 4) || !has_specials(p, lp))) {
        const char *hit = lp == 0   ? s + init
                          : lp == 1 ? memchr(s + init, *p, ls - init)
                                    : memmem(s + init, ls - init, p, lp);
        if (hit != NULL) {
            lua_pushinteger(L, (hit - s) + 1);
            lua_pushinteger(L, (lua_Integer)((size_t)(hit - s) + lp));
            return 2;
        }
        luaL_pushfail(L);
        return 1;
    }
    anchored = *p == '^';
    if (anchored) {
        p++;
        lp--;
    }
    pm_init(&ms, L, vm_of(L), s, ls, p, lp);
    for (at = s + init;; at++) {
        const char *e;
        ms.ncap = 0;
        if ((e = pm_match(&ms, at, p)) != NULL) {
            if (!find)
                return push_captures(&ms, at, e);
            lua_pushinteger(L, (at - s) + 1);
            lua_pushinteger(L, e - s);
            return push_captures(&ms, NULL, NULL) + 2;
        }
        if (anchored || at >= ms.src_end)
            break;
    }
    luaL_pushfail(L);
    return 1;
}

static int l_find(lua_State *L) { return find_or_match(L, 1); }
static int l_match(lua_State *L) { return find_or_match(L, 0); }

/* The state of one gmatch iteration; the closure keeps both strings alive. */
typedef struct gm_state {
    const char *next;            /* where the next search starts */
    const char *pat;
    const char *last_end;        /* end of the previous match (no empty match there) */
    pm_state ms;
} gm_state;

static int gmatch_step(lua_State *L)
{
    gm_state *gm = lua_touserdata(L, lua_upvalueindex(3));
    const char *at;
    gm->ms.L = L;                /* the iterator may run in another coroutine */
    /* A call that raised (too complex, the time limit) left the counters
     * where it stopped: the depth of the recursion it unwound by longjmp
     * (below zero, it would never say "too complex" again). Each call
     * starts afresh, as every call of find, match and gsub does. */
    gm->ms.depth = MAX_DEPTH;
    gm->ms.budget = POLL_STEPS;
    for (at = gm->next; at <= gm->ms.src_end; at++) {
        const char *e;
        gm->ms.ncap = 0;
        e = pm_match(&gm->ms, at, gm->pat);
        if (e != NULL && e != gm->last_end) {
            gm->next = gm->last_end = e;
            return push_captures(&gm->ms, at, e);
        }
    }
    return 0;
}

static int l_gmatch(lua_State *L)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_of(luaL_optinteger(L, 3, 1), ls);
    eo_vm *vm = vm_of(L);
    gm_state *gm;
    lua_settop(L, 2);
    gm = lua_newuserdatauv(L, sizeof *gm, 0);
    if (init > ls)
        init = ls + 1;           /* past the end: the iterator finds nothing */
    pm_init(&gm->ms, L, vm, s, ls, p, lp);
    gm->next = s + init;
    gm->pat = p;
    gm->last_end = NULL;
    /* stack: s, p, state */
    lua_pushcclosure(L, gmatch_step, 3);
    return 1;
}

/* Append the replacement string (arg 3) for the match s..e, expanding %0-%9 and %%. */
static void add_template(pm_state *ms, luaL_Buffer *b, const char *s, const char *e)
{
    lua_State *L = ms->L;
    size_t len;
    const char *t = lua_tolstring(L, 3, &len), *end = t + len, *esc;
    while ((esc = memchr(t, ESC, (size_t)(end - t))) != NULL) {
        char c = esc[1];         /* NUL when '%' ends the template */
        luaL_addlstring(b, t, (size_t)(esc - t));
        if (c == ESC) {
            luaL_addchar(b, ESC);
        } else if (c == '0') {
            luaL_addlstring(b, s, (size_t)(e - s));
        } else if (isdigit((unsigned char)c)) {
            const char *at;
            ptrdiff_t n = capture_of(ms, c - '1', s, e, &at);
            if (n == CAP_POS)
                luaL_addvalue(b);
            else
                luaL_addlstring(b, at, (size_t)n);
        } else {
            luaL_error(L, "invalid use of '%c' in replacement string", ESC);
        }
        t = esc + 2;
    }
    luaL_addlstring(b, t, (size_t)(end - t));
}

/* Append the replacement for s..e; whether the text changed. */
static int add_replacement(pm_state *ms, luaL_Buffer *b, const char *s, const char *e, int kind)
{
    lua_State *L = ms->L;
    if (kind == LUA_TFUNCTION) {
        int n;
        lua_pushvalue(L, 3);
        n = push_captures(ms, s, e);
        lua_call(L, n, 1);
    } else if (kind == LUA_TTABLE) {
        push_capture(ms, 0, s, e);
        lua_gettable(L, 3);
    } else {
        add_template(ms, b, s, e);
        return 1;
    }
    if (!lua_toboolean(L, -1)) {
        /* nil or false keeps the matched text */
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
        return 0;
    }
    if (!lua_isstring(L, -1))
        return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    luaL_addvalue(b);
    return 1;
}

static int l_gsub(lua_State *L)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    const char *last_end = NULL;
    int kind = lua_type(L, 3);
    lua_Integer max = luaL_optinteger(L, 4, (lua_Integer)ls + 1), n = 0;
    int anchored = *p == '^', changed = 0;
    pm_state ms;
    luaL_Buffer b;

    luaL_argexpected(L, kind == LUA_TNUMBER || kind == LUA_TSTRING || kind == LUA_TFUNCTION ||
                            kind == LUA_TTABLE,
                     3, "string/function/table");
    luaL_buffinit(L, &b);
    if (anchored) {
        p++;
        lp--;
    }
    pm_init(&ms, L, vm_of(L), s, ls, p, lp);
    while (n < max) {
        const char *e;
        ms.ncap = 0;
        e = pm_match(&ms, s, p);
        if (e != NULL && e != last_end) {
            n++;
            changed |= add_replacement(&ms, &b, s, e, kind);
            s = last_end = e;
        } else if (s < ms.src_end) {
            luaL_addchar(&b, *s++);
        } else {
            break;
        }
        if (anchored)
            break;
    }
    if (!changed) {
        lua_pushvalue(L, 1);
    } else {
        luaL_addlstring(&b, s, (size_t)(ms.src_end - s));
        luaL_pushresult(&b);
    }
    lua_pushinteger(L, n);
    return 2;
}

void eo_lua_push_patterns(lua_State *L, eo_vm *vm)
{
    static const luaL_Reg fns[] = {
        { "find", l_find }, { "match", l_match }, { "gmatch", l_gmatch }, { "gsub", l_gsub },
        { NULL, NULL },
    };
    lua_createtable(L, 0, 4);
    lua_pushlightuserdata(L, vm);
    luaL_setfuncs(L, fns, 1);
}
