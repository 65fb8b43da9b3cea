/*
 * group.c - read_group: grouped counts and aggregates.
 *
 *   P:read_group(domain, { "age:avg", "total:sum(score)" }, { "kind", "birthday:month" })
 *
 * Each row holds the group keys (named as written), __count, the
 * aggregates and __domain, the domain that selects the group's records.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "rs.h"
#include "util/suggest.h"

static const char *const aggs[] = { "count", "sum", "avg", "min", "max", "count_distinct", NULL };
static const char *const grans[] = { "", "day", "week", "month", "quarter", "year", NULL };

typedef struct group_ctx {
    lua_State *L;
    const eo_group_query *g;
    int domain_idx;     /* the caller's domain table */
    lua_Integer i;
    eo_vm *vm;          /* whose memory limit stops the query (NULL: none) */
} group_ctx;

static int next_period(const char *key, eo_granularity gran, char *start, char *end, size_t cap)
{
    int y = 0, m = 1, d = 1, q = 0;
    static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    switch (gran) {
    case EO_GRAN_DAY:
        if (sscanf(key, "%d-%d-%d", &y, &m, &d) != 3)
            return -1;
        snprintf(start, cap, "%04d-%02d-%02d", y, m, d);
        {
            int dim = mdays[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
            if (++d > dim) {
                d = 1;
                if (++m > 12) {
                    m = 1;
                    y++;
                }
            }
        }
        snprintf(end, cap, "%04d-%02d-%02d", y, m, d);
        return 0;
    case EO_GRAN_MONTH:
        if (sscanf(key, "%d-%d", &y, &m) != 2)
            return -1;
        snprintf(start, cap, "%04d-%02d-01", y, m);
        snprintf(end, cap, "%04d-%02d-01", m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1);
        return 0;
    case EO_GRAN_QUARTER:
        if (sscanf(key, "%d-Q%d", &y, &q) != 2 || q < 1 || q > 4)
            return -1;
        snprintf(start, cap, "%04d-%02d-01", y, 3 * q - 2);
        snprintf(end, cap, "%04d-%02d-01", q == 4 ? y + 1 : y, q == 4 ? 1 : 3 * q + 1);
        return 0;
    case EO_GRAN_YEAR:
        if (sscanf(key, "%d", &y) != 1)
            return -1;
        snprintf(start, cap, "%04d-01-01", y);
        snprintf(end, cap, "%04d-01-01", y + 1);
        return 0;
    default:
        return -1;
    }
}

static void push_leaf(lua_State *L, const char *field, const char *op)
{
    /* stack: ..., value -> ..., {field, op, value} */
    lua_createtable(L, 3, 0);
    lua_pushstring(L, field);
    lua_rawseti(L, -2, 1);
    lua_pushstring(L, op);
    lua_rawseti(L, -2, 2);
    lua_rotate(L, -2, 1);
    lua_rawseti(L, -2, 3);
}

static int group_row(void *payload, const eo_value *row, size_t ncols, eo_error *err)
{
    group_ctx *c = payload;
    lua_State *L = c->L;
    const eo_group_query *g = c->g;
    lua_Integer dn = 0;
    size_t i;
    int rc;
    (void)ncols;
    if ((rc = eo_lua_rows_over_limit(c->vm, err)) != EO_OK)
        return rc;
    lua_createtable(L, 0, (int)(g->nkeys + g->naggs + 2));
    lua_newtable(L); /* __domain */
    for (i = 0; i < g->nkeys; i++) {
        const eo_group_key *k = &g->keys[i];
        eo_lua_push_value(L, &row[i]);
        lua_setfield(L, -3, k->name);
        if (k->field->type == EO_FT_BOOLEAN && row[i].type != EO_VNULL &&
            !(row[i].type == EO_VBOOL ? row[i].u.b : row[i].u.i != 0)) {
            /* "= false" also matches NULL, which groups apart: "in {false}" does not */
            lua_createtable(L, 1, 0);
            lua_pushboolean(L, 0);
            lua_rawseti(L, -2, 1);
            push_leaf(L, k->field->name, "in");
            lua_rawseti(L, -2, ++dn);
        } else if (k->gran == EO_GRAN_NONE || row[i].type == EO_VNULL) {
            if (row[i].type == EO_VNULL)
                eo_lua_push_null(L);
            else
                eo_lua_push_value(L, &row[i]);
            push_leaf(L, k->field->name, "=");
            lua_rawseti(L, -2, ++dn);
        } else {
            char start[48], end[48], key[48];
            const char *suffix = k->field->type == EO_FT_DATETIME ? " 00:00:00" : "";
            snprintf(key, sizeof key, "%.*s", (int)row[i].u.s.n, row[i].u.s.p);
            if (next_period(key, k->gran, start, end, sizeof start) == 0) {
                lua_pushfstring(L, "%s%s", start, suffix);
                push_leaf(L, k->field->name, ">=");
                lua_rawseti(L, -2, ++dn);
                lua_pushfstring(L, "%s%s", end, suffix);
                push_leaf(L, k->field->name, "<");
                lua_rawseti(L, -2, ++dn);
            }
        }
    }
    if (lua_istable(L, c->domain_idx)) {
        lua_Integer k, m = (lua_Integer)lua_rawlen(L, c->domain_idx);
        for (k = 1; k <= m; k++) {
            lua_rawgeti(L, c->domain_idx, k);
            lua_rawseti(L, -2, ++dn);
        }
    }
    lua_setfield(L, -2, "__domain");
    eo_lua_push_value(L, &row[g->nkeys]);
    lua_setfield(L, -2, "__count");
    for (i = 0; i < g->naggs; i++) {
        eo_lua_push_value(L, &row[g->nkeys + 1 + i]);
        lua_setfield(L, -2, g->aggs[i].name);
    }
    lua_rawseti(L, -2, ++c->i);
    return EO_OK;
}

static int find_word(const char *const *words, const char *w, size_t n)
{
    int i;
    for (i = 0; words[i]; i++)
        if (strlen(words[i]) == n && strncmp(words[i], w, n) == 0)
            return i;
    return -1;
}

static int is_numeric(const eo_field *f)
{
    return f->type == EO_FT_INTEGER || f->type == EO_FT_FLOAT ||
           eo_ftype_base(f->type) == EO_FT_DECIMAL;
}

/* The result column a name in orderby stands for: a key as written
 * ("birthday:month") or by its field when that is unambiguous, __count,
 * or an aggregate's name. -1 when none. */
static long order_column(const eo_group_query *g, const char *name, size_t n)
{
    size_t i, hits = 0;
    long by_field = -1;
    for (i = 0; i < g->nkeys; i++)
        if (strlen(g->keys[i].name) == n && strncmp(g->keys[i].name, name, n) == 0)
            return (long)i;
    if (n == 7 && strncmp(name, "__count", 7) == 0)
        return (long)g->nkeys;
    for (i = 0; i < g->naggs; i++)
        if (strlen(g->aggs[i].name) == n && strncmp(g->aggs[i].name, name, n) == 0)
            return (long)(g->nkeys + 1 + i);
    for (i = 0; i < g->nkeys; i++)
        if (strlen(g->keys[i].field->name) == n && strncmp(g->keys[i].field->name, name, n) == 0) {
            by_field = (long)i;
            hits++;
        }
    return hits == 1 ? by_field : -1;
}

/* "kind desc, __count, total asc" -> terms; EINVAL naming a bad term. */
static int parse_orderby(const eo_model *m, const eo_group_query *g, const char *text,
                         eo_group_order *out, size_t *nout, eo_error *err)
{
    const char *p = text;
    *nout = 0;
    while (*p) {
        const char *name, *dir = NULL, *end;
        size_t nlen, dlen = 0;
        long col;
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        name = p;
        while (*p && *p != ' ' && *p != ',')
            p++;
        nlen = (size_t)(p - name);
        while (*p == ' ')
            p++;
        if (*p && *p != ',') {
            dir = p;
            while (*p && *p != ' ' && *p != ',')
                p++;
            dlen = (size_t)(p - dir);
        }
        end = p;
        while (*p == ' ')
            p++;
        if (*p && *p != ',')
            return eo_error_set(err, EO_EINVAL, "%s: read_group: cannot read the orderby term at '%s' "
                                "(write \"name [asc|desc], ...\")", m->name, name);
        if (dir && !((dlen == 3 && strncasecmp(dir, "asc", 3) == 0) ||
                     (dlen == 4 && strncasecmp(dir, "desc", 4) == 0)))
            return eo_error_set(err, EO_EINVAL, "%s: read_group: orderby '%.*s': the direction must be "
                                "asc or desc, not '%.*s'", m->name, (int)(end - name), name,
                                (int)dlen, dir);
        col = order_column(g, name, nlen);
        if (col < 0) {
            /* name what can be used, and the closest of it */
            const char *known[64];
            size_t nk = 0, i;
            char hint[96], word[80];
            for (i = 0; i < g->nkeys && nk < 62; i++)
                known[nk++] = g->keys[i].name;
            known[nk++] = "__count";
            for (i = 0; i < g->naggs && nk < 63; i++)
                known[nk++] = g->aggs[i].name;
            snprintf(word, sizeof word, "%.*s", (int)nlen, name);
            eo_suggest__hint(hint, sizeof hint, word, known, nk);
            return eo_error_set(err, EO_EINVAL, "%s: read_group: cannot order by '%s'%s: order by a "
                                "group key, __count or an aggregate of this read_group", m->name,
                                word, hint);
        }
        out[*nout].column = (size_t)col;
        out[*nout].desc = dir && dlen == 4;
        (*nout)++;
    }
    return EO_OK;
}

/* core.read_group(rs, domain, fields, groupby, orderby, limit, offset); active_test:
 * hide archived records (the recordset's context) */
int eo_lua__read_group(lua_State *L, const eo_model *m, eo_env *env, eo_idkind kind,
                       int active_test);
int eo_lua__read_group(lua_State *L, const eo_model *m, eo_env *env, eo_idkind kind,
                       int active_test)
{
    eo_group_query g;
    eo_group_key *keys = NULL;
    eo_group_agg *ag = NULL;
    eo_group_order *order = NULL;
    eo_domain *d = NULL;
    group_ctx c;
    eo_error err;
    size_t nk, nf, i;
    const char *orderby = luaL_optstring(L, 5, NULL);
    int rc = EO_OK;

    luaL_checktype(L, 3, LUA_TTABLE);
    luaL_checktype(L, 4, LUA_TTABLE);
    lua_settop(L, 7);
    lua_newtable(L); /* 8: anchor for aggregate names made here */
    memset(&g, 0, sizeof g);
    g.model = m;
    g.limit = luaL_optinteger(L, 6, -1);
    g.offset = luaL_optinteger(L, 7, 0);
    nk = lua_rawlen(L, 4);
    nf = lua_rawlen(L, 3);
    keys = eo_calloc(nk ? nk : 1, sizeof *keys);
    ag = eo_calloc(nf ? nf : 1, sizeof *ag);
    if (keys == NULL || ag == NULL) {
        rc = eo_error_set(&err, EO_ENOMEM, "out of memory");
        goto done;
    }
    for (i = 0; i < nk && rc == EO_OK; i++) {
        const char *s, *colon;
        lua_rawgeti(L, 4, (lua_Integer)i + 1);
        s = lua_tostring(L, -1); /* stays alive in the groupby table */
        lua_pop(L, 1);
        if (s == NULL) {
            rc = eo_error_set(&err, EO_EINVAL, "%s: read_group: groupby must hold field names", m->name);
            break;
        }
        colon = strchr(s, ':');
        keys[i].name = s;
        keys[i].field = eo_model_field(m, s, colon ? (size_t)(colon - s) : strlen(s));
        if (keys[i].field == NULL) {
            rc = eo_error_set(&err, EO_EINVAL, "%s: read_group: no field '%.*s'", m->name,
                              (int)(colon ? (size_t)(colon - s) : strlen(s)), s);
            break;
        }
        if (colon) {
            int gi = find_word(grans, colon + 1, strlen(colon + 1));
            if (gi <= 0 || gi == EO_GRAN_WEEK) {
                rc = eo_error_set(&err, EO_EINVAL,
                                  "%s: read_group: unknown granularity '%s' (use day, month, quarter or year)",
                                  m->name, colon + 1);
                break;
            }
            keys[i].gran = (eo_granularity)gi;
        }
    }
    g.keys = keys;
    g.nkeys = nk;
    g.aggs = ag;
    for (i = 0; i < nf && rc == EO_OK; i++) {
        const char *s, *colon, *paren, *fname;
        size_t flen;
        eo_group_agg *a = &ag[g.naggs];
        lua_rawgeti(L, 3, (lua_Integer)i + 1);
        s = lua_tostring(L, -1);
        lua_pop(L, 1);
        if (s == NULL) {
            rc = eo_error_set(&err, EO_EINVAL, "%s: read_group: fields must be strings", m->name);
            break;
        }
        if (strcmp(s, "__count") == 0)
            continue;
        colon = strchr(s, ':');
        if (colon == NULL) {
            /* a bare name: grouped by it, or summed when numeric */
            const eo_field *f = eo_model_field(m, s, strlen(s));
            size_t k;
            int grouped = 0;
            if (f == NULL) {
                rc = eo_error_set(&err, EO_EINVAL, "%s: read_group: no field '%s'", m->name, s);
                break;
            }
            for (k = 0; k < nk; k++)
                if (keys[k].field == f)
                    grouped = 1;
            if (grouped || !is_numeric(f))
                continue;
            a->field = f;
            a->agg = EO_AGG_SUM;
            a->name = s;
            g.naggs++;
            continue;
        }
        paren = strchr(colon, '(');
        if (paren) {
            /* "name:agg(field)" */
            const char *close = strchr(paren, ')');
            int ai = find_word(aggs, colon + 1, (size_t)(paren - colon - 1));
            if (ai < 0 || close == NULL) {
                rc = eo_error_set(&err, EO_EINVAL, "%s: read_group: cannot read '%s' (use \"name:sum(field)\")",
                                  m->name, s);
                break;
            }
            fname = paren + 1;
            flen = (size_t)(close - paren - 1);
            a->agg = (eo_agg)ai;
            a->name = lua_pushlstring(L, s, (size_t)(colon - s));
            lua_rawseti(L, 8, (lua_Integer)i + 1); /* the anchor keeps it alive */
        } else {
            int ai = find_word(aggs, colon + 1, strlen(colon + 1));
            if (ai < 0) {
                rc = eo_error_set(&err, EO_EINVAL,
                                  "%s: read_group: unknown aggregate '%s' in '%s' (count, count_distinct, sum, avg, min, max)",
                                  m->name, colon + 1, s);
                break;
            }
            fname = s;
            flen = (size_t)(colon - s);
            a->agg = (eo_agg)ai;
            a->name = lua_pushlstring(L, s, flen);
            lua_rawseti(L, 8, (lua_Integer)i + 1);
        }
        a->field = eo_model_field(m, fname, flen);
        if (a->field == NULL) {
            rc = eo_error_set(&err, EO_EINVAL, "%s: read_group: no field '%.*s'", m->name, (int)flen, fname);
            break;
        }
        if (a->agg == EO_AGG_COUNT && a->field->type == EO_FT_ID)
            a->field = NULL;
        g.naggs++;
    }
    if (rc == EO_OK && orderby && *orderby) {
        order = eo_calloc(strlen(orderby) / 2 + 2, sizeof *order);
        if (order == NULL)
            rc = eo_error_set(&err, EO_ENOMEM, "out of memory");
        else
            rc = parse_orderby(m, &g, orderby, order, &g.norder, &err);
        g.order = order;
    }
    if (rc == EO_OK)
        rc = eo_lua_to_domain_of(L, 2, kind, m, &d, &err);
    if (rc == EO_OK)
        rc = eo_domain_set_active_test(d, active_test, &err);
    if (rc != EO_OK)
        goto done;
    lua_newtable(L);
    c.L = L;
    c.g = &g;
    c.domain_idx = 2;
    c.i = 0;
    c.vm = eo_lua_vm(L);
    eo_lua_critical(L, 1); /* rows are pushed while the query is open */
    rc = eo_orm_group(env, &g, d, group_row, &c, &err);
    eo_lua_critical(L, -1);
    if (rc != EO_OK) {
        /* the rows read so far go, collected when the limit stopped it */
        lua_pop(L, 1);
        if (rc == EO_ENOMEM)
            lua_gc(L, LUA_GCCOLLECT);
    }
done:
    eo_domain_free(d);
    eo_free(keys);
    eo_free(ag);
    eo_free(order);
    if (rc != EO_OK) {
        if (err.model[0] == '\0')
            eo_error_where(&err, m->name, NULL);
        return eo_lua_raise(L, &err);
    }
    eo_lua_check_memory(L);
    return 1;
}
