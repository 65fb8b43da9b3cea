/*
 * domain_bench.c - normalizing large domains (issue 9): how the time and
 * the memory of building, binding + normalizing and compiling a domain to
 * SQL grow with its size, for the shapes users and programs write.
 *
 * There is no raw driver to compare with, so each shape runs at 1k, 10k
 * and 100k leaves and the growth from one size to the next is printed
 * beside the times: n log n from 10k to 100k is about 12.5x, quadratic
 * 100x. The targets: a 100,000-leaf domain of any shape normalizes in
 * under 1 s, and its peak heap stays linear in the input. The times are
 * the best of the runs; the heap is counted in one more run.
 *
 * Domains are built with the C builder, as the JSON and Lua front ends do
 * (each leaf copied in), on a model with text, number, selection and
 * Many2one fields.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "query/sql.h"

typedef enum shape {
    OR_EQ,          /* | chain of `seq = i`: one IN list after normalization */
    OR_EQ_FIELDS,   /* `=` leaves over four fields, right-nested | a | b ... */
    AND_DISTINCT,   /* implicit AND of distinct leaves (ranges, !=, like) */
    OR_RANGE2,      /* | chain of `age > i` / `score < i`: nothing merges */
    MIXED,          /* OR of ANDs of two leaves, a third of them negated */
    DOTTED,         /* | chain of `parent_id.name = "n<i>"`: one sub-query */
    NSHAPES
} shape;

static const char *const shape_names[NSHAPES] = {
    "or_eq", "or_eq_fields", "and_distinct", "or_range2", "mixed", "dotted",
};
static const char *const shape_what[NSHAPES] = {
    "OR of = on one field", "OR of = over four fields", "AND of distinct leaves",
    "OR of ranges on two fields", "OR of (a AND b), some NOT", "OR of parent_id.name =",
};

#define NSIZES 3
static const int sizes[NSIZES] = { 1000, 10000, 100000 };

typedef struct dresult {
    double build_ms, norm_ms, sql_ms;
    long long peak;
    size_t sql_bytes, params;
    int limited;          /* more parameters than SQLite binds: EO_ELIMIT */
} dresult;

static dresult res[NSHAPES][NSIZES];

static eo_registry *reg;
static const eo_model *model;

static void must(int rc, const eo_error *err, const char *what)
{
    if (rc != EO_OK)
        bench_die(what, err->msg);
}

static void setup_model(void)
{
    static const char *const kinds[] = { "person", "company", "other" };
    eo_model *m = NULL;
    eo_field_spec s;
    eo_error err;
    must(eo_registry_new(&reg, &err), &err, "registry");
    must(eo_registry_add_model(&m, reg, "bench.dom", &err), &err, "model");
#define F(...)                                                              \
    do {                                                                    \
        memset(&s, 0, sizeof s);                                            \
        __VA_ARGS__;                                                        \
        must(eo_model_add_field(NULL, m, &s, &err), &err, "field");         \
    } while (0)
    F(s.name = "name"; s.type = EO_FT_CHAR);
    F(s.name = "email"; s.type = EO_FT_CHAR);
    F(s.name = "seq"; s.type = EO_FT_INTEGER);
    F(s.name = "age"; s.type = EO_FT_INTEGER);
    F(s.name = "score"; s.type = EO_FT_FLOAT);
    F(s.name = "kind"; s.type = EO_FT_SELECTION; s.choices = kinds; s.nchoices = 3);
    F(s.name = "parent_id"; s.type = EO_FT_MANY2ONE; s.comodel = "bench.dom");
#undef F
    must(eo_registry_resolve(reg, &err), &err, "resolve");
    model = m;
}

static void leaf_int(eo_dbuilder *b, const char *f, const char *op, long long v)
{
    eo_value x = eo_int(v);
    eo_error err;
    must(eo_dbuilder_leaf(b, f, op, &x, &err), &err, "leaf");
}

static void leaf_str(eo_dbuilder *b, const char *f, const char *op, const char *fmt, long long i)
{
    char buf[48];
    eo_value x;
    eo_error err;
    snprintf(buf, sizeof buf, fmt, i);
    x = eo_cstr(buf);
    must(eo_dbuilder_leaf(b, f, op, &x, &err), &err, "leaf");
}

static void op(eo_dbuilder *b, char c)
{
    eo_error err;
    must(eo_dbuilder_op(b, c, &err), &err, "op");
}

static eo_domain *build(shape sh, int n)
{
    eo_dbuilder *b = NULL;
    eo_domain *d = NULL;
    eo_error err;
    int i;
    must(eo_dbuilder_new(&b, &err), &err, "builder");
    switch (sh) {
    case OR_EQ:
        for (i = 1; i < n; i++)
            op(b, '|');
        for (i = 0; i < n; i++)
            leaf_int(b, "seq", "=", i);
        break;
    case OR_EQ_FIELDS:
        for (i = 0; i < n; i++) {
            if (i + 1 < n)
                op(b, '|');
            switch (i % 4) {
            case 0: leaf_int(b, "seq", "=", i); break;
            case 1: leaf_int(b, "age", "=", i); break;
            case 2: leaf_str(b, "name", "=", "n%lld", i); break;
            default: leaf_str(b, "email", "=", "e%lld@x", i); break;
            }
        }
        break;
    case AND_DISTINCT:
        for (i = 0; i < n; i++) {
            switch (i % 4) {
            case 0: leaf_int(b, "age", ">=", i); break;
            case 1: leaf_int(b, "score", "<", i); break;
            case 2: leaf_str(b, "name", "like", "n%lld", i); break;
            default: leaf_str(b, "email", "!=", "e%lld@x", i); break;
            }
        }
        break;
    case OR_RANGE2:
        for (i = 1; i < n; i++)
            op(b, '|');
        for (i = 0; i < n; i++) {
            if (i % 2)
                leaf_int(b, "age", ">", i);
            else
                leaf_int(b, "score", "<", -i);
        }
        break;
    case MIXED:
        for (i = 1; i < n / 2; i++)
            op(b, '|');
        for (i = 0; i < n / 2; i++) {
            if (i % 3 == 0)
                op(b, '!');
            op(b, '&');
            leaf_int(b, "age", i % 3 == 0 ? ">" : "=", i);
            leaf_str(b, "name", "ilike", "n%lld", i);
        }
        break;
    case DOTTED:
        for (i = 1; i < n; i++)
            op(b, '|');
        for (i = 0; i < n; i++)
            leaf_str(b, "parent_id.name", "=", "n%lld", i);
        break;
    default:
        break;
    }
    must(eo_dbuilder_finish(&d, b, &err), &err, "finish");
    return d;
}

/* The SQL text's length; *limited when SQLite could not take it (too many
 * parameters: EO_ELIMIT, which the compiler checks last). */
static size_t compile(const eo_domain *d, size_t *params, int *limited)
{
    eo_sqlq q;
    eo_error err;
    size_t len;
    int rc;
    eo_sqlq__init(&q, &eo_sql__sqlite);
    rc = eo_sql__where(&q, model, eo_domain_root(d), &err);
    *limited = rc == EO_ELIMIT;
    if (rc != EO_OK && rc != EO_ELIMIT)
        must(rc, &err, "compile");
    len = q.sql.len;
    *params = q.params.len;
    eo_sqlq__free(&q);
    return len;
}

static void run_one(shape sh, int si)
{
    dresult *r = &res[sh][si];
    int run;
    r->build_ms = r->norm_ms = r->sql_ms = 1e12;
    for (run = 0; run <= bench_runs; run++) {
        double t0, t1, t2, t3;
        eo_domain *d;
        eo_error err;
        if (run == 0)
            bench_mem_begin();
        t0 = bench_now();
        d = build(sh, sizes[si]);
        t1 = bench_now();
        must(eo_domain_bind(d, model, &err), &err, "bind");
        t2 = bench_now();
        r->sql_bytes = compile(d, &r->params, &r->limited);
        t3 = bench_now();
        eo_domain_free(d);
        if (run == 0) {
            r->peak = bench_mem_end();
            continue;
        }
        if ((t1 - t0) * 1e3 < r->build_ms)
            r->build_ms = (t1 - t0) * 1e3;
        if ((t2 - t1) * 1e3 < r->norm_ms)
            r->norm_ms = (t2 - t1) * 1e3;
        if ((t3 - t2) * 1e3 < r->sql_ms)
            r->sql_ms = (t3 - t2) * 1e3;
    }
}

void bench_domains(void)
{
    int sh, si;
    setup_model();
    printf("domains: build, bind + normalize, compile to SQL (best of %d); x = growth from the "
           "size before (n log n: ~12.5x per 10x)\n", bench_runs);
    for (sh = 0; sh < NSHAPES; sh++) {
        for (si = 0; si < NSIZES; si++) {
            dresult *r = &res[sh][si];
            run_one((shape)sh, si);
            printf("  %-13s %6d leaves  build %8.2f ms  normalize %8.2f ms", shape_names[sh],
                   sizes[si], r->build_ms, r->norm_ms);
            if (si > 0)
                printf(" (x%5.1f)", r->norm_ms / res[sh][si - 1].norm_ms);
            else
                printf("         ");
            printf("  sql %7.2f ms", r->sql_ms);
            if (r->peak >= 0)
                printf("  peak %7.1f MB", (double)r->peak / (1024.0 * 1024.0));
            printf("  %zu params%s%s\n", r->params, r->limited ? " (ELIMIT on SQLite)" : "",
                   sizes[si] == 100000 && r->norm_ms > 1000 ? "  MISSED (target < 1000 ms)" : "");
        }
    }
    eo_registry_free(reg);
    reg = NULL;
    fflush(stdout);
}

void bench_domains_json(FILE *f)
{
    int sh, si;
    fprintf(f, "  \"domains\": {\n");
    for (sh = 0; sh < NSHAPES; sh++) {
        fprintf(f, "    \"%s\": { \"what\": \"%s\"", shape_names[sh], shape_what[sh]);
        for (si = 0; si < NSIZES; si++) {
            const dresult *r = &res[sh][si];
            fprintf(f, ", \"%d\": { \"build_ms\": %.3f, \"normalize_ms\": %.3f, \"sql_ms\": %.3f, "
                       "\"peak_bytes\": %lld, \"params\": %zu, \"sqlite_elimit\": %s }",
                    sizes[si], r->build_ms, r->norm_ms, r->sql_ms, r->peak, r->params,
                    r->limited ? "true" : "false");
        }
        fprintf(f, " }%s\n", sh + 1 < NSHAPES ? "," : "");
    }
    fprintf(f, "  },\n");
}
