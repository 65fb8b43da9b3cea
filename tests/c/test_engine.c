/*
 * test_engine.c - the C host API (engine.h): an engine on a temp SQLite
 * file with a Lua model file, the JSON calls, and Lua validators and
 * events running for C callers.
 */
#include <bson/bson.h>
#include <sys/stat.h>

#include <malloc.h>

#include "helpers.h"

static const char *const MODEL =
    "-- a contact, with a validator and a before_create event\n"
    "local orm = require \"earnorm\"\n"
    "local f = orm.fields\n"
    "local P = orm.model(\"res.partner\", {\n"
    "  _order = \"name\",\n"
    "  name  = f.Char{ required = true, size = 64 },\n"
    "  email = f.Char{ unique = true },\n"
    "  age   = f.Integer{ min = 0, max = 150 },\n"
    "  kind  = f.Selection{ choices = { \"person\", \"company\" }, default = \"person\" },\n"
    "  nick  = f.Char{},\n"
    "})\n"
    "P:constrains({ \"age\", \"kind\" }, function(recs)\n"
    "  for rec in recs:each() do\n"
    "    if rec.kind == \"company\" and rec.age ~= nil then\n"
    "      error(orm.ValidationError{ \"a company has no age\", field = \"age\" })\n"
    "    end\n"
    "  end\n"
    "end)\n"
    "P:on(\"before_create\", function(_, vals_list)\n"
    "  for _, vals in ipairs(vals_list) do\n"
    "    if vals.name == \"boom\" then error(\"before_create refused boom\") end\n"
    "    if type(vals.email) == \"string\" then vals.email = vals.email:lower() end\n"
    "    if vals.nick == nil and vals.name then vals.nick = \"nick-\" .. vals.name end\n"
    "  end\n"
    "end)\n"
    "return P\n";

typedef struct fx {
    char dir[512];
    char models[600];
    char url[700];
    eo_engine *eng;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    char path[700];
    th_tmpdir(f->dir, sizeof f->dir);
    snprintf(f->models, sizeof f->models, "%s/models", f->dir);
    if (mkdir(f->models, 0700) != 0)
        return -1;
    th_write_file(path, sizeof path, f->models, "res_partner.lua", MODEL);
    snprintf(f->url, sizeof f->url, "sqlite://%s/engine.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    eo_engine_close(f->eng);
    th_rmtree(f->dir);
    free(f);
    return 0;
}

/* Open, load the models directory and migrate. */
static eo_engine *ready(fx *f)
{
    eo_engine_config cfg = EO_ENGINE_CONFIG_INIT;
    eo_error err;
    cfg.database_url = f->url;
    assert_eo_ok(eo_engine_open(&f->eng, &cfg, &err), &err);
    assert_eo_ok(eo_engine_load_models(f->eng, f->models, &err), &err);
    assert_eo_ok(eo_engine_migrate(f->eng, &err), &err);
    return f->eng;
}

/* ---- reading JSON results with libbson ---------------------------- */

/* The value at a dotted path ("0.name") of JSON text, as text: strings
 * bare, numbers printed, "null", "true"/"false"; "<missing>" when absent.
 * Owned (free()). */
static char *jget(const char *json, const char *path)
{
    char *wrapped, *out = NULL, full[256];
    bson_t *doc;
    bson_error_t berr;
    bson_iter_t it, found;
    size_t n = strlen(json) + 16;
    wrapped = malloc(n);
    snprintf(wrapped, n, "{\"v\": %s}", json);
    doc = bson_new_from_json((const uint8_t *)wrapped, -1, &berr);
    free(wrapped);
    if (doc == NULL)
        fail_msg("not JSON (%s): %s", berr.message, json);
    snprintf(full, sizeof full, *path ? "v.%s" : "v", path);
    if (!bson_iter_init(&it, doc) || !bson_iter_find_descendant(&it, full, &found)) {
        out = strdup("<missing>");
    } else {
        char buf[128];
        switch (bson_iter_type(&found)) {
        case BSON_TYPE_UTF8: out = strdup(bson_iter_utf8(&found, NULL)); break;
        case BSON_TYPE_INT32: snprintf(buf, sizeof buf, "%d", bson_iter_int32(&found)); out = strdup(buf); break;
        case BSON_TYPE_INT64:
            snprintf(buf, sizeof buf, "%lld", (long long)bson_iter_int64(&found));
            out = strdup(buf);
            break;
        case BSON_TYPE_DOUBLE: snprintf(buf, sizeof buf, "%g", bson_iter_double(&found)); out = strdup(buf); break;
        case BSON_TYPE_BOOL: out = strdup(bson_iter_bool(&found) ? "true" : "false"); break;
        case BSON_TYPE_NULL: out = strdup("null"); break;
        case BSON_TYPE_ARRAY:
        case BSON_TYPE_DOCUMENT: {
            bson_iter_t sub;
            int k = 0;
            bson_iter_recurse(&found, &sub);
            while (bson_iter_next(&sub))
                k++;
            snprintf(buf, sizeof buf, "<%d items>", k);
            out = strdup(buf);
            break;
        }
        default: out = strdup("<other>"); break;
        }
    }
    bson_destroy(doc);
    return out;
}

#define assert_jget(json, path, want)                                                \
    do {                                                                             \
        char *g_ = jget((json), (path));                                             \
        if (strcmp(g_, (want)) != 0) {                                               \
            char c_[256];                                                            \
            snprintf(c_, sizeof c_, "%s", g_);                                       \
            free(g_);                                                                \
            fail_msg("%s in %s is %s, expected %s", (path), (json), c_, (want));    \
        }                                                                            \
        free(g_);                                                                    \
    } while (0)

static long long count(eo_engine *eng, const char *domain)
{
    long long n = -1;
    eo_error err;
    assert_eo_ok(eo_search_count_json(eng, "res.partner", domain, &n, &err), &err);
    return n;
}

/* ---- success paths ------------------------------------------------- */

static void test_engine__create_search_read(void **state)
{
    fx *f = *state;
    eo_engine *eng = ready(f);
    char *ids = NULL, *rows = NULL;
    eo_error err;
    assert_eo_ok(eo_create_json(eng, "res.partner",
                                "[{\"name\": \"Ann\", \"age\": 31, \"email\": \"ANN@EXAMPLE.COM\"},"
                                " {\"name\": \"Bob\", \"age\": 17}]",
                                &ids, &err), &err);
    assert_non_null(ids);
    assert_jget(ids, "", "<2 items>");
    assert_jget(ids, "0", "1");
    assert_jget(ids, "1", "2");
    assert_eo_ok(eo_search_read_json(eng, "res.partner", "[[\"age\", \">\", 18]]",
                                     "{\"fields\": [\"name\", \"age\", \"email\", \"nick\"], \"order\": \"name\", \"limit\": 10}",
                                     &rows, &err), &err);
    assert_jget(rows, "", "<1 items>");
    assert_jget(rows, "0.name", "Ann");
    assert_jget(rows, "0.age", "31");
    assert_jget(rows, "0.id", "1");
    /* the before_create event ran for a C caller */
    assert_jget(rows, "0.email", "ann@example.com");
    assert_jget(rows, "0.nick", "nick-Ann");
    eo_free(rows);
    /* order, limit and offset */
    assert_eo_ok(eo_search_read_json(eng, "res.partner", "[]",
                                     "{\"fields\": [\"name\"], \"order\": \"age\", \"limit\": 1, \"offset\": 1}",
                                     &rows, &err), &err);
    assert_jget(rows, "", "<1 items>");
    assert_jget(rows, "0.name", "Ann");
    eo_free(rows);
    /* NULL options and an empty domain */
    assert_eo_ok(eo_search_read_json(eng, "res.partner", "", NULL, &rows, &err), &err);
    assert_jget(rows, "", "<2 items>");
    assert_jget(rows, "1.kind", "person"); /* default, in _order = name */
    eo_free(rows);
    eo_free(ids);
    assert_int_equal(count(eng, "[]"), 2);
    assert_int_equal(count(eng, "[[\"name\", \"ilike\", \"b\"]]"), 1);
    assert_int_equal(count(eng, NULL), 2);
}

/* Archived records and =? through the JSON calls: the host API goes
 * through the same recordset methods, so they hide archived records and
 * read =? as Lua does. */
static void test_engine__archived_and_eq_opt(void **state)
{
    static const char *const ITEM =
        "local orm = require \"earnorm\"\n"
        "local f = orm.fields\n"
        "return orm.model(\"host.item\", { _order = \"name\", name = f.Char{},\n"
        "  active = f.Boolean{ default = true }, parent_id = f.Many2one{ \"host.item\" },\n"
        "  child_ids = f.One2many{ \"host.item\", \"parent_id\" } })\n";
    fx *f = *state;
    eo_engine *eng;
    char path[700], *ids = NULL, *rows = NULL;
    long long n = -1;
    eo_error err;
    th_write_file(path, sizeof path, f->models, "host_item.lua", ITEM);
    eng = ready(f);
    assert_eo_ok(eo_create_json(eng, "host.item", "{\"name\": \"a\"}", &ids, &err), &err);
    eo_free(ids);
    assert_eo_ok(eo_create_json(eng, "host.item",
                                "[{\"name\": \"b\", \"active\": false, \"parent_id\": 1},"
                                " {\"name\": \"c\", \"parent_id\": 1}]",
                                &ids, &err), &err);
    assert_eo_ok(eo_search_count_json(eng, "host.item", "[]", &n, &err), &err);
    assert_int_equal(n, 2);
    assert_eo_ok(eo_search_count_json(eng, "host.item", "[[\"active\", \"=\", false]]", &n, &err), &err);
    assert_int_equal(n, 1);
    assert_eo_ok(eo_search_count_json(eng, "host.item", "[[\"parent_id\", \"=?\", null]]", &n, &err), &err);
    assert_int_equal(n, 2);
    assert_eo_ok(eo_search_count_json(eng, "host.item", "[[\"parent_id\", \"=?\", 1]]", &n, &err), &err);
    assert_int_equal(n, 1);
    assert_eo_ok(eo_search_read_json(eng, "host.item", "[[\"name\", \"=\", \"a\"]]",
                                     "{\"fields\": [\"name\", \"child_ids\"]}", &rows, &err), &err);
    assert_jget(rows, "0.child_ids", "<1 items>");
    assert_jget(rows, "0.child_ids.0", "3");
    eo_free(rows);
    assert_eo_ok(eo_read_json(eng, "host.item", "[1]", "[\"child_ids\"]", &rows, &err), &err);
    assert_jget(rows, "0.child_ids", "<1 items>");
    eo_free(rows);
    assert_eo_error(eo_search_count_json(eng, "host.item", "[[\"nope\", \"=?\", null]]", &n, &err), &err,
                    EO_EINVAL, "no field 'nope'");
    eo_free(ids);
}

/* The types built on others through the JSON calls: Html and Monetary
 * as text, a Reference as "model,id", Properties as an object checked
 * against its record's schema, and a domain on one property. */
static void test_engine__built_types(void **state)
{
    static const char *const DOC =
        "local orm = require \"earnorm\"\n"
        "local f = orm.fields\n"
        "orm.model(\"host.kind\", { name = f.Char{}, properties_definition = f.Json{} })\n"
        "return orm.model(\"host.doc\", { name = f.Char{}, body = f.Html{},\n"
        "  currency_id = f.Many2one{ \"host.kind\" }, amount = f.Monetary{},\n"
        "  ref = f.Reference{ selection = { \"host.kind\" } },\n"
        "  kind_id = f.Many2one{ \"host.kind\" }, props = f.Properties{ definition = \"kind_id\" } })\n";
    fx *f = *state;
    eo_engine *eng;
    char path[700], *ids = NULL, *rows = NULL;
    long long n = -1;
    eo_error err;
    th_write_file(path, sizeof path, f->models, "host_doc.lua", DOC);
    eng = ready(f);
    assert_eo_ok(eo_create_json(eng, "host.kind",
                                "{\"name\": \"k\", \"properties_definition\": [{\"name\": "
                                "\"qty\", \"type\": \"integer\", \"default\": 1}]}",
                                &ids, &err), &err);
    eo_free(ids);
    assert_eo_ok(eo_create_json(eng, "host.doc",
                                "[{\"name\": \"a\", \"body\": \"<b>x</b>\", \"amount\": \"2.345\","
                                " \"ref\": \"host.kind,1\", \"kind_id\": 1, \"props\": {\"qty\": 3}},"
                                " {\"name\": \"b\", \"kind_id\": 1}]",
                                &ids, &err), &err);
    eo_free(ids);
    assert_eo_ok(eo_search_read_json(eng, "host.doc", "[[\"props.qty\", \"=\", 3]]",
                                     "{\"fields\": [\"body\", \"amount\", \"ref\", \"props\"]}",
                                     &rows, &err), &err);
    assert_jget(rows, "", "<1 items>");
    assert_jget(rows, "0.body", "<b>x</b>");
    assert_jget(rows, "0.amount", "2.35");
    assert_jget(rows, "0.ref", "host.kind,1");
    assert_jget(rows, "0.props.qty", "3");
    eo_free(rows);
    assert_eo_ok(eo_search_count_json(eng, "host.doc", "[[\"props.qty\", \"=\", 1]]", &n, &err),
                 &err);
    assert_int_equal(n, 1); /* b took the default */
    assert_eo_ok(eo_search_count_json(eng, "host.doc", "[[\"ref\", \"=\", \"host.kind,1\"]]", &n,
                                      &err), &err);
    assert_int_equal(n, 1);
    assert_eo_error(eo_create_json(eng, "host.doc", "{\"name\": \"c\", \"ref\": \"host.kind,9\"}",
                                   &ids, &err), &err, EO_ENOTFOUND,
                    "host.doc.ref: record 'host.kind,9' does not exist");
    assert_string_equal(err.field, "ref");
    assert_eo_error(eo_create_json(eng, "host.doc",
                                   "{\"name\": \"c\", \"kind_id\": 1, \"props\": {\"qyt\": 1}}",
                                   &ids, &err), &err, EO_EINVAL,
                    "host.doc.props: unknown property 'qyt' (did you mean 'qty'?)");
    assert_eo_error(eo_write_json(eng, "host.doc", "[1]", "{\"props\": {\"qty\": \"x\"}}", &err),
                    &err, EO_EINVAL, "property 'qty' (integer) must be an integer");
}

static void test_engine__read_write_unlink(void **state)
{
    fx *f = *state;
    eo_engine *eng = ready(f);
    char *ids = NULL, *rows = NULL;
    eo_error err;
    assert_eo_ok(eo_create_json(eng, "res.partner", "[{\"name\": \"Ann\"}, {\"name\": \"Bob\"}, {\"name\": \"Cy\"}]",
                                &ids, &err), &err);
    assert_eo_ok(eo_read_json(eng, "res.partner", "[3, 1]", "[\"name\"]", &rows, &err), &err);
    assert_jget(rows, "", "<2 items>");
    assert_jget(rows, "0.name", "Cy"); /* in the order asked */
    assert_jget(rows, "1.name", "Ann");
    eo_free(rows);
    assert_eo_ok(eo_write_json(eng, "res.partner", "[1, 2]", "{\"age\": 40, \"nick\": null}", &err), &err);
    assert_int_equal(count(eng, "[[\"age\", \"=\", 40]]"), 2);
    assert_int_equal(count(eng, "[[\"nick\", \"=\", null]]"), 2);
    assert_eo_ok(eo_read_json(eng, "res.partner", "[2]", NULL, &rows, &err), &err);
    assert_jget(rows, "0.age", "40");
    assert_jget(rows, "0.nick", "null"); /* every field asked for is there, NULL as null */
    assert_jget(rows, "0.kind", "person");
    eo_free(rows);
    assert_eo_ok(eo_unlink_json(eng, "res.partner", ids, &err), &err);
    assert_int_equal(count(eng, "[]"), 0);
    eo_free(ids);
}

static void test_engine__models_path_in_config(void **state)
{
    fx *f = *state;
    eo_engine_config cfg = EO_ENGINE_CONFIG_INIT;
    eo_error err;
    char *ids = NULL;
    cfg.database_url = f->url;
    cfg.models_path = f->models;
    assert_eo_ok(eo_engine_open(&f->eng, &cfg, &err), &err);
    assert_eo_ok(eo_engine_migrate(f->eng, &err), &err);
    assert_eo_ok(eo_create_json(f->eng, "res.partner", "{\"name\": \"Solo\"}", &ids, &err), &err);
    assert_jget(ids, "0", "1");
    eo_free(ids);
    /* data persists in the file across engines */
    eo_engine_close(f->eng);
    f->eng = NULL;
    assert_eo_ok(eo_engine_open(&f->eng, &cfg, &err), &err);
    assert_int_equal(count(f->eng, "[]"), 1);
}

static void test_engine__eval(void **state)
{
    fx *f = *state;
    eo_engine *eng = ready(f);
    char *out = NULL;
    eo_error err;
    assert_eo_ok(eo_create_json(eng, "res.partner", "[{\"name\": \"A\"}, {\"name\": \"B\"}]", NULL, &err), &err);
    assert_eo_ok(eo_engine_eval(eng, "return env['res.partner']:search_count{}", &out, &err), &err);
    assert_jget(out, "", "2");
    eo_free(out);
    assert_eo_ok(eo_engine_eval(eng, "return { n = 1 + 1, s = 'x', list = { 1, 2, 3 } }", &out, &err), &err);
    assert_jget(out, "n", "2");
    assert_jget(out, "s", "x");
    assert_jget(out, "list", "<3 items>");
    eo_free(out);
    /* a recordset comes back as its ids */
    assert_eo_ok(eo_engine_eval(eng, "return env['res.partner']:search({}, { order = 'name desc' })", &out, &err),
                 &err);
    assert_jget(out, "", "<2 items>");
    assert_jget(out, "0", "2");
    eo_free(out);
    assert_eo_ok(eo_engine_eval(eng, "return nil", &out, &err), &err);
    assert_jget(out, "", "null");
    eo_free(out);
    assert_eo_ok(eo_engine_eval(eng, "x = 1", NULL, &err), &err);
}

static void test_engine__ping_and_stats(void **state)
{
    fx *f = *state;
    eo_engine *eng = ready(f);
    char *out = NULL;
    eo_error err;
    assert_eo_ok(eo_engine_ping(eng, &out, &err), &err);
    assert_jget(out, "backend", "sqlite");
    assert_jget(out, "ok", "true");
    {
        char *lat = jget(out, "latency_ms");
        assert_string_not_equal(lat, "<missing>");
        free(lat);
    }
    assert_jget(out, "cache.kind", "memory");
    assert_jget(out, "cache.ok", "true");
    eo_free(out);
    assert_eo_ok(eo_create_json(eng, "res.partner", "{\"name\": \"A\"}", NULL, &err), &err);
    assert_eo_ok(eo_engine_stats(eng, &out, &err), &err);
    assert_non_null(strstr(out, "queries"));
    eo_free(out);
}

/* ---- Lua code for C callers ---------------------------------------- */

static void test_engine__validator_runs_for_c(void **state)
{
    fx *f = *state;
    eo_engine *eng = ready(f);
    char *ids = (char *)1;
    eo_error err;
    assert_eo_error(eo_create_json(eng, "res.partner", "{\"name\": \"Corp\", \"kind\": \"company\", \"age\": 3}",
                                   &ids, &err), &err, EO_EVALIDATE, "a company has no age");
    assert_null(ids);
    assert_string_equal(err.field, "age");
    assert_int_equal(count(eng, "[]"), 0);
    /* a batch with one bad record writes nothing */
    assert_eo_error(eo_create_json(eng, "res.partner",
                                   "[{\"name\": \"Ok\"}, {\"name\": \"Corp\", \"kind\": \"company\", \"age\": 3}]",
                                   &ids, &err), &err, EO_EVALIDATE, "a company has no age");
    assert_int_equal(count(eng, "[]"), 0);
    /* on write too, and the record keeps its values */
    assert_eo_ok(eo_create_json(eng, "res.partner", "{\"name\": \"Corp\", \"kind\": \"company\"}", NULL, &err),
                 &err);
    assert_eo_error(eo_write_json(eng, "res.partner", "[1]", "{\"age\": 5}", &err), &err, EO_EVALIDATE,
                    "a company has no age");
    assert_int_equal(count(eng, "[[\"age\", \"=\", null]]"), 1);
}

static void test_engine__event_error_aborts(void **state)
{
    fx *f = *state;
    eo_engine *eng = ready(f);
    char *ids = NULL;
    eo_error err;
    int rc;
    rc = eo_create_json(eng, "res.partner", "[{\"name\": \"fine\"}, {\"name\": \"boom\"}]", &ids, &err);
    assert_int_not_equal(rc, EO_OK);
    assert_int_equal(err.code, rc);
    assert_non_null(strstr(err.msg, "before_create refused boom"));
    assert_non_null(strstr(err.msg, "res.partner"));
    assert_null(ids);
    assert_int_equal(count(eng, "[]"), 0);
    /* the engine is still usable */
    assert_eo_ok(eo_create_json(eng, "res.partner", "{\"name\": \"fine\"}", &ids, &err), &err);
    eo_free(ids);
    assert_int_equal(count(eng, "[]"), 1);
}

/* ---- error paths --------------------------------------------------- */

static void test_engine__unknown_model(void **state)
{
    fx *f = *state;
    eo_engine *eng = ready(f);
    char *out = (char *)1;
    long long n = 7;
    eo_error err;
    assert_eo_error(eo_create_json(eng, "res.nope", "{\"name\": \"x\"}", &out, &err), &err, EO_ENOTFOUND,
                    "unknown model 'res.nope'");
    assert_null(out);
    assert_eo_error(eo_search_read_json(eng, "res.nope", "[]", NULL, &out, &err), &err, EO_ENOTFOUND,
                    "unknown model 'res.nope'");
    assert_eo_error(eo_search_count_json(eng, "res.nope", "[]", &n, &err), &err, EO_ENOTFOUND,
                    "unknown model 'res.nope'");
    assert_int_equal(n, 0);
    assert_eo_error(eo_read_json(eng, "res.nope", "[1]", NULL, &out, &err), &err, EO_ENOTFOUND, "res.nope");
    assert_eo_error(eo_write_json(eng, "res.nope", "[1]", "{}", &err), &err, EO_ENOTFOUND, "res.nope");
    assert_eo_error(eo_unlink_json(eng, "res.nope", "[1]", &err), &err, EO_ENOTFOUND, "res.nope");
}

static void test_engine__unknown_field(void **state)
{
    fx *f = *state;
    eo_engine *eng = ready(f);
    char *out = NULL;
    eo_error err;
    assert_eo_error(eo_create_json(eng, "res.partner", "{\"name\": \"X\", \"agee\": 3}", &out, &err), &err,
                    EO_EINVAL, "res.partner has no field 'agee'");
    assert_string_equal(err.field, "agee");
    assert_eo_error(eo_search_read_json(eng, "res.partner", "[[\"agee\", \"=\", 1]]", NULL, &out, &err), &err,
                    EO_EINVAL, "no field 'agee'");
    assert_eo_error(eo_search_read_json(eng, "res.partner", "[]", "{\"fields\": [\"agee\"]}", &out, &err), &err,
                    EO_EINVAL, "agee");
    assert_eo_ok(eo_create_json(eng, "res.partner", "{\"name\": \"X\"}", NULL, &err), &err);
    assert_eo_error(eo_write_json(eng, "res.partner", "[1]", "{\"agee\": 3}", &err), &err, EO_EINVAL,
                    "res.partner has no field 'agee'");
    assert_eo_error(eo_read_json(eng, "res.partner", "[1]", "[\"agee\"]", &out, &err), &err, EO_EINVAL, "agee");
    assert_int_equal(count(eng, "[]"), 1);
}

static void test_engine__invalid_json(void **state)
{
    fx *f = *state;
    eo_engine *eng = ready(f);
    char *out = (char *)1;
    long long n;
    eo_error err;
    assert_eo_error(eo_create_json(eng, "res.partner", "{\"name\": ", &out, &err), &err, EO_EINVAL, "values: ");
    assert_null(out);
    assert_eo_error(eo_search_read_json(eng, "res.partner", "[[\"age\", \">\"", NULL, &out, &err), &err,
                    EO_EINVAL, "domain: ");
    assert_eo_error(eo_search_read_json(eng, "res.partner", "[]", "{\"limit\": }", &out, &err), &err, EO_EINVAL,
                    "options: ");
    assert_eo_error(eo_search_count_json(eng, "res.partner", "[[1, 2", &n, &err), &err, EO_EINVAL, "domain: ");
    assert_eo_error(eo_write_json(eng, "res.partner", "[1", "{}", &err), &err, EO_EINVAL, "ids: ");
    assert_eo_error(eo_unlink_json(eng, "res.partner", "oops", &err), &err, EO_EINVAL, "ids: ");
    /* well-formed JSON, malformed domain */
    assert_eo_error(eo_search_read_json(eng, "res.partner", "[[\"age\", \"=~\", 1]]", NULL, &out, &err), &err,
                    EO_EINVAL, "unknown operator '=~'");
    assert_eo_error(eo_search_read_json(eng, "res.partner", "[\"|\", [\"age\", \"=\", 1]]", NULL, &out, &err),
                    &err, EO_EINVAL, "unbalanced domain");
}

static void test_engine__builtin_checks(void **state)
{
    fx *f = *state;
    eo_engine *eng = ready(f);
    eo_error err;
    assert_eo_ok(eo_create_json(eng, "res.partner", "{\"name\": \"Ann\", \"email\": \"a@x.org\"}", NULL, &err),
                 &err);
    assert_eo_error(eo_create_json(eng, "res.partner", "{\"name\": \"Bob\", \"email\": \"A@X.ORG\"}", NULL, &err),
                    &err, EO_ECONFLICT, "res.partner.email: duplicate value 'a@x.org'");
    assert_eo_error(eo_create_json(eng, "res.partner", "{\"age\": 3}", NULL, &err), &err, EO_EVALIDATE,
                    "res.partner.name: required field missing");
    assert_eo_error(eo_create_json(eng, "res.partner", "{\"name\": \"C\", \"age\": 200}", NULL, &err), &err,
                    EO_EVALIDATE, "200 is more than the maximum 150");
    assert_eo_error(eo_create_json(eng, "res.partner", "{\"name\": \"C\", \"kind\": \"alien\"}", NULL, &err),
                    &err, EO_EVALIDATE, "'alien' is not one of: person, company");
    assert_eo_error(eo_create_json(eng, "res.partner", "{\"name\": \"C\", \"age\": \"old\"}", NULL, &err), &err,
                    EO_EINVAL, "res.partner.age: expected an integer");
    assert_eo_error(eo_write_json(eng, "res.partner", "[99]", "{\"age\": 3}", &err), &err, EO_ENOTFOUND,
                    "do not exist");
    assert_int_equal(count(eng, "[]"), 1);
}

static void test_engine__model_file_syntax_error(void **state)
{
    fx *f = *state;
    eo_engine_config cfg = EO_ENGINE_CONFIG_INIT;
    eo_error err;
    char path[700];
    th_write_file(path, sizeof path, f->dir, "bad.lua",
                  "local orm = require \"earnorm\"\n"
                  "local x = 1\n"
                  "local y = = 2\n"
                  "return x\n");
    cfg.database_url = f->url;
    assert_eo_ok(eo_engine_open(&f->eng, &cfg, &err), &err);
    assert_eo_error(eo_engine_load_models(f->eng, path, &err), &err, EO_EINVAL, "bad.lua:3:");
    /* a runtime error in a model file names it too */
    th_write_file(path, sizeof path, f->dir, "bad2.lua", "local orm = require \"earnorm\"\n\nreturn nope.x\n");
    assert_int_not_equal(eo_engine_load_models(f->eng, path, &err), EO_OK);
    assert_non_null(strstr(err.msg, "bad2.lua:3:"));
    assert_non_null(strstr(err.msg, "undefined global 'nope'"));
    /* and a path that does not exist */
    snprintf(path, sizeof path, "%s/missing-dir", f->dir);
    assert_eo_error(eo_engine_load_models(f->eng, path, &err), &err, EO_ENOTFOUND, "does not exist");
    /* good models still load afterwards */
    assert_eo_ok(eo_engine_load_models(f->eng, f->models, &err), &err);
}

static void test_engine__eval_errors(void **state)
{
    fx *f = *state;
    eo_engine *eng = ready(f);
    char *out = (char *)1;
    eo_error err;
    int rc;
    rc = eo_engine_eval(eng, "local t = nil\nreturn t.x", &out, &err);
    assert_int_equal(rc, EO_ERROR);
    assert_int_equal(err.code, EO_ERROR);
    assert_non_null(strstr(err.msg, "attempt to index"));
    assert_null(out);
    rc = eo_engine_eval(eng, "error('custom failure')", &out, &err);
    assert_int_equal(rc, EO_ERROR);
    assert_non_null(strstr(err.msg, "custom failure"));
    /* an earnorm error keeps its code */
    assert_eo_error(eo_engine_eval(eng, "return env['res.nope']", &out, &err), &err, EO_ENOTFOUND,
                    "unknown model 'res.nope'");
    assert_eo_error(eo_engine_eval(eng, "return env['res.partner']:create{ age = 3 }", &out, &err), &err,
                    EO_EVALIDATE, "required field missing");
    /* syntax */
    assert_eo_error(eo_engine_eval(eng, "return )", &out, &err), &err, EO_EINVAL, "eval:1:");
    /* still usable */
    assert_eo_ok(eo_engine_eval(eng, "return 40 + 2", &out, &err), &err);
    assert_jget(out, "", "42");
    eo_free(out);
}

static void test_engine__open_errors(void **state)
{
    fx *f = *state;
    eo_engine_config cfg = EO_ENGINE_CONFIG_INIT;
    eo_engine *eng = (eo_engine *)1;
    eo_error err;
    char url[700];
    cfg.database_url = "nosuch://somewhere/db";
    assert_eo_error(eo_engine_open(&eng, &cfg, &err), &err, EO_EINVAL, "no database adapter for 'nosuch://'");
    assert_null(eng);
    cfg.database_url = "not a url";
    assert_eo_error(eo_engine_open(&eng, &cfg, &err), &err, EO_EINVAL, "invalid database URL");
    snprintf(url, sizeof url, "sqlite://%s/no/such/dir/x.db", f->dir);
    cfg.database_url = url;
    assert_eo_error(eo_engine_open(&eng, &cfg, &err), &err, EO_ECONN, "cannot open");
    cfg.database_url = f->url;
    snprintf(url, sizeof url, "%s/none", f->dir);
    cfg.models_path = url;
    assert_eo_error(eo_engine_open(&eng, &cfg, &err), &err, EO_ENOTFOUND, "does not exist");
    assert_null(eng);
    eo_engine_close(NULL);
}

static void test_engine__many_failures_then_success(void **state)
{
    fx *f = *state;
    eo_engine *eng = ready(f);
    char *out = NULL;
    eo_error err;
    int i;
    /* errors on every path leave the VM balanced */
    for (i = 0; i < 300; i++) {
        assert_int_not_equal(eo_create_json(eng, "res.partner", "{\"agee\": 1}", &out, &err), EO_OK);
        assert_int_not_equal(eo_search_read_json(eng, "res.partner", "[x", NULL, &out, &err), EO_OK);
        assert_int_not_equal(eo_engine_eval(eng, "error('x')", &out, &err), EO_OK);
    }
    assert_eo_ok(eo_engine_eval(eng, "local n = 0 for _ in pairs(_G) do n = n + 1 end return n > 0", &out, &err),
                 &err);
    assert_jget(out, "", "true");
    eo_free(out);
    assert_eo_ok(eo_create_json(eng, "res.partner", "{\"name\": \"last\"}", &out, &err), &err);
    eo_free(out);
    assert_int_equal(count(eng, "[]"), 1);
}

/* ---- memory limit: every argument and result inside the protected call ---- */

static eo_engine *ready_limited(fx *f, size_t limit)
{
    eo_engine_config cfg = EO_ENGINE_CONFIG_INIT;
    eo_error err;
    cfg.database_url = f->url;
    cfg.memory_limit = limit;
    assert_eo_ok(eo_engine_open(&f->eng, &cfg, &err), &err);
    assert_eo_ok(eo_engine_load_models(f->eng, f->models, &err), &err);
    assert_eo_ok(eo_engine_migrate(f->eng, &err), &err);
    return f->eng;
}

/* "[item,item,...]" of about `bytes` bytes. Owned (free()). */
static char *big_list(size_t bytes, const char *item)
{
    size_t n = strlen(item), p = 1;
    char *j = malloc(bytes + 2 * n + 8); /* the loop overshoots by one item */
    j[0] = '[';
    while (p < bytes) {
        memcpy(j + p, item, n);
        p += n;
        j[p++] = ',';
    }
    memcpy(j + p, item, n);
    p += n;
    j[p++] = ']';
    j[p] = '\0';
    return j;
}

static void test_engine__memory_limit_large_json(void **state)
{
    fx *f = *state;
    eo_engine *eng = ready_limited(f, 2u << 20);
    char *out = (char *)1, *vals, *ids, *fields, *code, *domain, *opts;
    eo_error err;
    size_t big = 6u << 20;
    vals = big_list(big, "{\"name\":\"a\"}");
    ids = big_list(big, "1");
    fields = big_list(big, "\"name\"");
    domain = big_list(big, "[\"name\",\"=\",\"abcdefgh\"]");
    opts = malloc(big + 64);
    snprintf(opts, 64, "{\"fields\":");
    memcpy(opts + strlen(opts), fields, strlen(fields) + 1);
    strcat(opts, "}");
    code = malloc(big + 64);
    strcpy(code, "return ");
    strcat(code, ids);
    code[7] = '{';
    code[strlen(code) - 1] = '}';
    /* each used to abort the process (SIGABRT): now EO_ENOMEM */
    assert_eo_error(eo_create_json(eng, "res.partner", vals, &out, &err), &err, EO_ENOMEM, "memory limit");
    assert_null(out);
    assert_eo_error(eo_search_read_json(eng, "res.partner", domain, NULL, &out, &err), &err, EO_ENOMEM,
                    "memory limit");
    assert_null(out);
    assert_eo_error(eo_search_read_json(eng, "res.partner", "[]", opts, &out, &err), &err, EO_ENOMEM,
                    "memory limit");
    assert_eo_error(eo_read_json(eng, "res.partner", ids, NULL, &out, &err), &err, EO_ENOMEM, "memory limit");
    assert_eo_error(eo_read_json(eng, "res.partner", "[1]", fields, &out, &err), &err, EO_ENOMEM,
                    "memory limit");
    assert_eo_error(eo_write_json(eng, "res.partner", ids, "{\"age\":1}", &err), &err, EO_ENOMEM,
                    "memory limit");
    assert_eo_error(eo_write_json(eng, "res.partner", "[1]", vals, &err), &err, EO_ENOMEM, "memory limit");
    assert_eo_error(eo_unlink_json(eng, "res.partner", ids, &err), &err, EO_ENOMEM, "memory limit");
    {
        long long n = 5;
        assert_eo_error(eo_search_count_json(eng, "res.partner", domain, &n, &err), &err, EO_ENOMEM,
                        "memory limit");
        assert_int_equal(n, 0);
    }
    assert_eo_error(eo_engine_eval(eng, code, &out, &err), &err, EO_ENOMEM, "memory limit");
    assert_null(out);
    assert_eo_error(eo_engine_eval(eng, "return string.rep('x', 8 * 1024 * 1024)", &out, &err), &err,
                    EO_ENOMEM, "memory limit");
    assert_null(out);
    free(vals);
    free(ids);
    free(fields);
    free(code);
    free(domain);
    free(opts);
    /* the engine is still usable within its limit */
    assert_eo_ok(eo_create_json(eng, "res.partner", "[{\"name\":\"after\"}]", &out, &err), &err);
    assert_string_equal(out, "[1]");
    eo_free(out);
    assert_int_equal(count(eng, "[]"), 1);
}

static void test_engine__open_under_tiny_memory_limits(void **state)
{
    fx *f = *state;
    eo_engine_config cfg = EO_ENGINE_CONFIG_INIT;
    eo_error err;
    size_t limit;
    int nomem = 0, ok = 0;
    cfg.database_url = f->url;
    /* from "too small for the Lua state" to "enough": never an abort */
    for (limit = 1024; limit < (8u << 20); limit = limit * 3 / 2) {
        eo_engine *eng = (eo_engine *)1;
        int rc;
        cfg.memory_limit = limit;
        memset(&err, 0x5a, sizeof err);
        rc = eo_engine_open(&eng, &cfg, &err);
        assert_int_equal(err.code, rc);
        if (rc == EO_OK) {
            assert_non_null(eng);
            assert_string_equal(err.msg, "");
            ok++;
            eo_engine_close(eng);
        } else {
            assert_int_equal(rc, EO_ENOMEM);
            assert_null(eng);
            assert_non_null(strstr(err.msg, "memory"));
            nomem++;
        }
    }
    assert_true(nomem > 3);
    assert_true(ok > 3);
}

/* ---- eo_error and NULL arguments ------------------------------------ */

static void garbage(eo_error *err)
{
    memset(err, 0x5a, sizeof *err);
    err->msg[sizeof err->msg - 1] = '\0';
    err->model[sizeof err->model - 1] = '\0';
    err->field[sizeof err->field - 1] = '\0';
}

#define assert_cleared(err)                                   \
    do {                                                      \
        assert_int_equal((err).code, EO_OK);                  \
        assert_int_equal((err).domain, EO_DOMAIN_NONE);       \
        assert_string_equal((err).msg, "");                   \
        assert_string_equal((err).model, "");                 \
        assert_string_equal((err).field, "");                 \
    } while (0)

static void test_engine__error_cleared_on_success(void **state)
{
    fx *f = *state;
    eo_engine_config cfg = EO_ENGINE_CONFIG_INIT;
    eo_engine *eng;
    eo_error err;
    char *out = NULL;
    long long n = -1;
    cfg.database_url = f->url;
    garbage(&err);
    assert_int_equal(eo_engine_open(&f->eng, &cfg, &err), EO_OK);
    assert_cleared(err);
    eng = f->eng;
    /* each call: garbage in, then a failure (-4 left behind), then success */
#define CHECK_CLEARS(call)                                                       \
    do {                                                                         \
        garbage(&err);                                                           \
        assert_int_equal((call), EO_OK);                                         \
        assert_cleared(err);                                                     \
        eo_free(out);                                                            \
        out = NULL;                                                              \
        assert_int_not_equal(eo_create_json(eng, "res.nope", "{}", NULL, &err), EO_OK); \
        assert_int_equal(err.code, EO_ENOTFOUND);                                \
        assert_int_equal((call), EO_OK);                                         \
        assert_cleared(err);                                                     \
        eo_free(out);                                                            \
        out = NULL;                                                              \
    } while (0)
    garbage(&err);
    assert_int_equal(eo_engine_load_models(eng, f->models, &err), EO_OK);
    assert_cleared(err);
    CHECK_CLEARS(eo_engine_migrate(eng, &err));
    CHECK_CLEARS(eo_create_json(eng, "res.partner", "{\"name\":\"A\"}", &out, &err));
    CHECK_CLEARS(eo_search_read_json(eng, "res.partner", "[]", NULL, &out, &err));
    CHECK_CLEARS(eo_read_json(eng, "res.partner", "[1]", NULL, &out, &err));
    CHECK_CLEARS(eo_search_count_json(eng, "res.partner", "[]", &n, &err));
    CHECK_CLEARS(eo_write_json(eng, "res.partner", "[1]", "{\"age\":3}", &err));
    CHECK_CLEARS(eo_engine_eval(eng, "return 1", &out, &err));
    CHECK_CLEARS(eo_engine_ping(eng, &out, &err));
    CHECK_CLEARS(eo_engine_stats(eng, &out, &err));
    /* begin/commit/rollback run once each: garbage, then a failure, before each */
    {
        int (*const ends[])(eo_engine *, eo_error *) = { eo_engine_commit, eo_engine_rollback };
        const char *const iso[] = { NULL, "serializable" };
        int k;
        for (k = 0; k < 2; k++) {
            garbage(&err);
            assert_int_equal(eo_engine_begin(eng, iso[k], &err), EO_OK);
            assert_cleared(err);
            assert_int_not_equal(eo_create_json(eng, "res.nope", "{}", NULL, &err), EO_OK);
            assert_int_equal(ends[k](eng, &err), EO_OK);
            assert_cleared(err);
        }
    }
    CHECK_CLEARS(eo_unlink_json(eng, "res.partner", "[1]", &err));
#undef CHECK_CLEARS
    assert_int_equal(n, 2); /* create ran twice above */
    /* a NULL eo_error is accepted everywhere */
    assert_int_equal(eo_engine_eval(eng, "return 1", NULL, NULL), EO_OK);
    assert_int_equal(eo_engine_eval(eng, NULL, NULL, NULL), EO_EINVAL);
}

static void test_engine__null_arguments(void **state)
{
    fx *f = *state;
    eo_engine *eng = ready(f);
    eo_error err;
    char *out = (char *)1;
    long long n = 7;
    eo_engine_config cfg = EO_ENGINE_CONFIG_INIT;
    /* the engine */
    assert_eo_error(eo_engine_load_models(NULL, f->models, &err), &err, EO_EINVAL, "eo_engine_load_models: eng is NULL");
    assert_eo_error(eo_engine_migrate(NULL, &err), &err, EO_EINVAL, "eo_engine_migrate: eng is NULL");
    assert_eo_error(eo_create_json(NULL, "res.partner", "{}", &out, &err), &err, EO_EINVAL, "eo_create_json: eng is NULL");
    assert_null(out);
    out = (char *)1;
    assert_eo_error(eo_search_read_json(NULL, "res.partner", "[]", NULL, &out, &err), &err, EO_EINVAL,
                    "eo_search_read_json: eng is NULL");
    assert_null(out);
    assert_eo_error(eo_read_json(NULL, "res.partner", "[1]", NULL, &out, &err), &err, EO_EINVAL, "eo_read_json: eng is NULL");
    assert_eo_error(eo_search_count_json(NULL, "res.partner", "[]", &n, &err), &err, EO_EINVAL,
                    "eo_search_count_json: eng is NULL");
    assert_int_equal(n, 0);
    assert_eo_error(eo_write_json(NULL, "res.partner", "[1]", "{}", &err), &err, EO_EINVAL, "eo_write_json: eng is NULL");
    assert_eo_error(eo_unlink_json(NULL, "res.partner", "[1]", &err), &err, EO_EINVAL, "eo_unlink_json: eng is NULL");
    assert_eo_error(eo_engine_eval(NULL, "return 1", &out, &err), &err, EO_EINVAL, "eo_engine_eval: eng is NULL");
    assert_eo_error(eo_engine_begin(NULL, NULL, &err), &err, EO_EINVAL, "eo_engine_begin: eng is NULL");
    assert_eo_error(eo_engine_commit(NULL, &err), &err, EO_EINVAL, "eo_engine_commit: eng is NULL");
    assert_eo_error(eo_engine_rollback(NULL, &err), &err, EO_EINVAL, "eo_engine_rollback: eng is NULL");
    assert_eo_error(eo_engine_ping(NULL, &out, &err), &err, EO_EINVAL, "eo_engine_ping: eng is NULL");
    assert_eo_error(eo_engine_stats(NULL, &out, &err), &err, EO_EINVAL, "eo_engine_stats: eng is NULL");
    /* the model, the code, the JSON arguments that have no default */
    assert_eo_error(eo_create_json(eng, NULL, "{}", &out, &err), &err, EO_EINVAL, "eo_create_json: model is NULL");
    assert_eo_error(eo_create_json(eng, "res.partner", NULL, &out, &err), &err, EO_EINVAL, "vals_json is NULL");
    assert_eo_error(eo_search_read_json(eng, NULL, "[]", NULL, &out, &err), &err, EO_EINVAL, "model is NULL");
    assert_eo_error(eo_read_json(eng, NULL, "[1]", NULL, &out, &err), &err, EO_EINVAL, "model is NULL");
    assert_eo_error(eo_read_json(eng, "res.partner", NULL, NULL, &out, &err), &err, EO_EINVAL, "ids_json is NULL");
    assert_eo_error(eo_search_count_json(eng, NULL, "[]", &n, &err), &err, EO_EINVAL, "model is NULL");
    assert_eo_error(eo_write_json(eng, NULL, "[1]", "{}", &err), &err, EO_EINVAL, "model is NULL");
    assert_eo_error(eo_write_json(eng, "res.partner", NULL, "{}", &err), &err, EO_EINVAL, "ids_json is NULL");
    assert_eo_error(eo_write_json(eng, "res.partner", "[1]", NULL, &err), &err, EO_EINVAL, "vals_json is NULL");
    assert_eo_error(eo_unlink_json(eng, NULL, "[1]", &err), &err, EO_EINVAL, "model is NULL");
    assert_eo_error(eo_unlink_json(eng, "res.partner", NULL, &err), &err, EO_EINVAL, "ids_json is NULL");
    assert_eo_error(eo_engine_eval(eng, NULL, &out, &err), &err, EO_EINVAL, "eo_engine_eval: code is NULL");
    assert_null(out);
    assert_eo_error(eo_engine_load_models(eng, NULL, &err), &err, EO_EINVAL, "path is NULL");
    /* out pointers where the result is the point of the call */
    assert_eo_error(eo_search_read_json(eng, "res.partner", "[]", NULL, NULL, &err), &err, EO_EINVAL,
                    "out_rows is NULL");
    assert_eo_error(eo_read_json(eng, "res.partner", "[1]", NULL, NULL, &err), &err, EO_EINVAL, "out_rows is NULL");
    assert_eo_error(eo_search_count_json(eng, "res.partner", "[]", NULL, &err), &err, EO_EINVAL, "out is NULL");
    assert_eo_error(eo_engine_ping(eng, NULL, &err), &err, EO_EINVAL, "out_json is NULL");
    assert_eo_error(eo_engine_stats(eng, NULL, &err), &err, EO_EINVAL, "out_json is NULL");
    assert_eo_error(eo_engine_open(NULL, &cfg, &err), &err, EO_EINVAL, "eo_engine_open: out is NULL");
    /* the engine still works */
    assert_int_equal(count(eng, "[]"), 0);
}

static void test_engine__cache_url_refused(void **state)
{
    fx *f = *state;
    eo_engine_config cfg = EO_ENGINE_CONFIG_INIT;
    eo_engine *eng = (eo_engine *)1;
    eo_error err;
    cfg.database_url = f->url;
    cfg.cache_url = "redis://127.0.0.1:6379/0";
    assert_eo_error(eo_engine_open(&eng, &cfg, &err), &err, EO_ENOTSUP, "the cache is not built yet");
    assert_null(eng);
    assert_non_null(strstr(err.msg, "cache_url"));
}

/* ---- JSON: plain, literal, arrays promised ---------------------------- */

static const char *const DOC_MODEL =
    "local orm = require \"earnorm\"\n"
    "return orm.model(\"res.doc\", { name = orm.fields.Char{}, data = orm.fields.Json{},\n"
    "                                blob = orm.fields.Binary{} })\n";

static eo_engine *ready_docs(fx *f)
{
    eo_engine *eng = ready(f);
    eo_error err;
    char path[700];
    th_write_file(path, sizeof path, f->dir, "res_doc.lua", DOC_MODEL);
    assert_eo_ok(eo_engine_load_models(eng, path, &err), &err);
    assert_eo_ok(eo_engine_migrate(eng, &err), &err);
    return eng;
}

static void test_engine__json_is_literal(void **state)
{
    fx *f = *state;
    eo_engine *eng = ready_docs(f);
    char *rows = NULL, *ids = NULL;
    eo_error err;
    /* extended-JSON look-alikes are objects with those keys, both ways */
    assert_eo_ok(eo_create_json(eng, "res.doc",
                                "[{\"name\":\"a\",\"data\":{\"$date\":0}},"
                                "{\"name\":\"b\",\"data\":{\"$numberLong\":\"5\"}},"
                                "{\"name\":\"c\",\"data\":{\"$regex\":\"a.*\",\"$options\":\"i\"}},"
                                "{\"name\":\"d\",\"data\":[1.0,2,-0.0,{\"\\u0024oid\":\"x\"},{},[]]}]",
                                &ids, &err), &err);
    assert_jget(ids, "", "<4 items>");
    assert_eo_ok(eo_engine_eval(eng, "env:invalidate()", NULL, &err), &err);
    assert_eo_ok(eo_search_read_json(eng, "res.doc", "[[\"name\",\"=\",\"a\"]]", "{\"fields\":[\"data\"]}", &rows,
                                     &err), &err);
    assert_non_null(strstr(rows, "\"data\":{\"$date\":0}"));
    eo_free(rows);
    assert_eo_ok(eo_search_read_json(eng, "res.doc", "[[\"name\",\"=\",\"b\"]]", "{\"fields\":[\"data\"]}", &rows,
                                     &err), &err);
    assert_non_null(strstr(rows, "\"data\":{\"$numberLong\":\"5\"}"));
    eo_free(rows);
    assert_eo_ok(eo_search_read_json(eng, "res.doc", "[[\"name\",\"=\",\"c\"]]", "{\"fields\":[\"data\"]}", &rows,
                                     &err), &err);
    assert_non_null(strstr(rows, "\"$regex\":\"a.*\""));
    assert_non_null(strstr(rows, "\"$options\":\"i\""));
    eo_free(rows);
    /* floats keep their fraction, -0.0 its sign, {} and [] apart; \u0024 is '$' */
    assert_eo_ok(eo_search_read_json(eng, "res.doc", "[[\"name\",\"=\",\"d\"]]", "{\"fields\":[\"data\"]}", &rows,
                                     &err), &err);
    assert_non_null(strstr(rows, "\"data\":[1.0,2,-0.0,{\"$oid\":\"x\"},{},[]]"));
    eo_free(rows);
    eo_free(ids);
}

static void test_engine__binary_bytes_out(void **state)
{
    fx *f = *state;
    eo_engine *eng = ready_docs(f);
    char *rows = NULL;
    eo_error err;
    assert_eo_ok(eo_engine_eval(eng, "env['res.doc']:create{ name = 'bin', blob = '\\255\\0A' }", NULL, &err),
                 &err);
    assert_eo_ok(eo_engine_eval(eng, "env['res.doc']:create{ name = 'txt', blob = 'plain' }", NULL, &err), &err);
    assert_eo_ok(eo_search_read_json(eng, "res.doc", "[]", "{\"fields\":[\"blob\"],\"order\":\"name\"}", &rows, &err),
                 &err);
    /* the one wrapper: bytes JSON text cannot hold */
    assert_non_null(strstr(rows, "\"blob\":{\"$binary\":{\"base64\":\"/wBB\",\"subType\":\"00\"}}"));
    assert_non_null(strstr(rows, "\"blob\":\"plain\""));
    eo_free(rows);
}

static void test_engine__empty_results_are_arrays(void **state)
{
    fx *f = *state;
    eo_engine *eng = ready(f);
    char *out = NULL;
    eo_error err;
    /* "[]" creates nothing */
    assert_eo_ok(eo_create_json(eng, "res.partner", "[]", &out, &err), &err);
    assert_string_equal(out, "[]");
    eo_free(out);
    assert_int_equal(count(eng, "[]"), 0);
    assert_eo_ok(eo_search_read_json(eng, "res.partner", "[]", NULL, &out, &err), &err);
    assert_string_equal(out, "[]");
    eo_free(out);
    assert_eo_ok(eo_read_json(eng, "res.partner", "[]", NULL, &out, &err), &err);
    assert_string_equal(out, "[]");
    eo_free(out);
    assert_eo_ok(eo_engine_eval(eng, "return env['res.partner']:search{}", &out, &err), &err);
    assert_string_equal(out, "[]");
    eo_free(out);
    assert_eo_ok(eo_engine_eval(eng, "return {}", &out, &err), &err);
    assert_string_equal(out, "[]");
    eo_free(out);
    assert_eo_ok(eo_engine_eval(eng, "return orm.json.object()", &out, &err), &err);
    assert_string_equal(out, "{}");
    eo_free(out);
    /* a recordset is its id array */
    assert_eo_ok(eo_create_json(eng, "res.partner", "[{\"name\":\"A\"},{\"name\":\"B\"}]", NULL, &err), &err);
    assert_eo_ok(eo_engine_eval(eng, "return env['res.partner']:search({}, { order = 'name' })", &out, &err), &err);
    assert_string_equal(out, "[1,2]");
    eo_free(out);
    assert_eo_ok(eo_search_read_json(eng, "res.partner", "[[\"name\",\"=\",\"none\"]]", "{\"fields\":[\"name\"]}",
                                     &out, &err), &err);
    assert_string_equal(out, "[]");
    eo_free(out);
    /* every field asked for, NULL as null */
    assert_eo_ok(eo_search_read_json(eng, "res.partner", "[[\"name\",\"=\",\"A\"]]",
                                     "{\"fields\":[\"name\",\"age\",\"email\"]}", &out, &err), &err);
    assert_jget(out, "0.age", "null");
    assert_jget(out, "0.email", "null");
    assert_jget(out, "0.name", "A");
    eo_free(out);
}

static void test_engine__json_refused(void **state)
{
    fx *f = *state;
    eo_engine *eng = ready(f);
    char *out = (char *)1;
    eo_error err;
    char deep[1200];
    size_t i;
    assert_eo_error(eo_create_json(eng, "res.partner", "{\"name\":\"x\",\"age\":NaN}", &out, &err), &err,
                    EO_EINVAL, "values: invalid JSON at byte 18: NaN and Infinity are not JSON numbers");
    assert_null(out);
    assert_eo_error(eo_create_json(eng, "res.partner", "{\"name\":\"x\",\"name\":\"y\"}", &out, &err), &err,
                    EO_EINVAL, "values: invalid JSON: the key \"name\" appears twice");
    assert_eo_error(eo_search_read_json(eng, "res.partner", "[]", "{\"limitt\":1}", &out, &err), &err, EO_EINVAL,
                    "search_read: unknown option 'limitt' (did you mean 'limit'?)");
    assert_eo_error(eo_search_read_json(eng, "res.partner", "[]", "{\"fields\":[\"name\"],\"ordr\":\"name\"}", &out,
                                        &err), &err, EO_EINVAL, "unknown option 'ordr' (did you mean 'order'?)");
    /* results JSON cannot hold, naming where */
    assert_eo_error(eo_engine_eval(eng, "return { x = { 0/0 } }", &out, &err), &err, EO_EINVAL,
                    "result: JSON: x[1] is NaN");
    assert_null(out);
    assert_eo_error(eo_engine_eval(eng, "return { 1, 2, k = 3 }", &out, &err), &err, EO_EINVAL,
                    "mixes list items (2) and named keys (1)");
    assert_eo_error(eo_engine_eval(eng, "local t = {} t.me = t return t", &out, &err), &err, EO_EINVAL,
                    "me contains itself (a cycle)");
    assert_eo_error(eo_engine_eval(eng, "return print", &out, &err), &err, EO_EINVAL, "is a function");
    /* nesting past 256 levels */
    for (i = 0; i < 257; i++)
        deep[i] = '[';
    for (i = 0; i < 257; i++)
        deep[257 + i] = ']';
    deep[514] = '\0';
    assert_eo_error(eo_write_json(eng, "res.partner", "[1]", deep, &err), &err, EO_ELIMIT,
                    "values: JSON nested more than 256 levels");
    assert_int_equal(count(eng, "[]"), 0);
}

/* Char values are UTF-8 text without NUL bytes, whichever way they come:
 * refused in the JSON text, or by the conversion naming the field; so a
 * Char never comes back as {"$binary": ...}. */
static void test_engine__text_values_refused(void **state)
{
    fx *f = *state;
    eo_engine *eng = ready(f);
    char *out = (char *)1;
    eo_error err;
    assert_eo_error(eo_create_json(eng, "res.partner", "{\"name\":\"a\\u0000b\"}", &out, &err), &err,
                    EO_EINVAL, "\\u0000 in a string (text cannot hold a NUL byte)");
    assert_null(out);
    assert_eo_error(eo_create_json(eng, "res.partner", "{\"name\":\"\\ud800\"}", &out, &err), &err,
                    EO_EINVAL, "lone high surrogate");
    assert_eo_error(eo_create_json(eng, "res.partner", "{\"name\":\"\xff\"}", &out, &err), &err,
                    EO_EINVAL, "invalid UTF-8");
    /* nick given: the before_create event would copy the name into it */
    assert_eo_error(eo_engine_eval(eng, "env['res.partner']:create{ name = 'a\\0b', nick = 'n' }", NULL, &err),
                    &err,
                    EO_EINVAL, "res.partner.name: text holds a NUL byte (at byte 1); use a Binary field for bytes");
    assert_string_equal(err.field, "name");
    assert_eo_error(eo_engine_eval(eng, "env['res.partner']:create{ name = 'x', nick = 'a\\255' }", NULL, &err),
                    &err, EO_EINVAL, "res.partner.nick: text is not valid UTF-8 (byte 0xff at 1)");
    assert_string_equal(err.field, "nick");
    assert_int_equal(count(eng, "[]"), 0);
    /* what is stored is text, and comes back as a JSON string */
    assert_eo_ok(eo_create_json(eng, "res.partner", "{\"name\":\"\\u00e9t\\u00e9\"}", NULL, &err), &err);
    assert_eo_ok(eo_search_read_json(eng, "res.partner", "[]", "{\"fields\":[\"name\"]}", &out, &err), &err);
    assert_non_null(strstr(out, "\"name\":\"\xc3\xa9t\xc3\xa9\""));
    assert_null(strstr(out, "$binary"));
    eo_free(out);
}

/* A table used in many places (30 levels of {t, t}: 2^30 leaves) or one big
 * string used 400 times: the JSON text is held to the memory limit and the
 * writer polls the deadline (hostile review 01: 20 s past a 200 ms limit,
 * 6.5 GB). Either refusal is right; neither may take unbounded time. */
static void test_engine__json_dag_bounded(void **state)
{
    fx *f = *state;
    eo_engine_config cfg = EO_ENGINE_CONFIG_INIT;
    eo_error err;
    char *out = NULL;
    int rc;
    cfg.database_url = f->url;
    cfg.memory_limit = 64u << 20;
    cfg.timeout_ms = 200;
    assert_eo_ok(eo_engine_open(&f->eng, &cfg, &err), &err);
    rc = eo_engine_eval(f->eng, "local t = { 1 } for _ = 1, 40 do t = { t, t } end return t", &out, &err);
    assert_true(rc == EO_ENOMEM || rc == EO_ETIMEOUT);
    assert_int_equal(err.code, rc);
    assert_null(out);
    rc = eo_engine_eval(f->eng, "local t = { 1 } for _ = 1, 40 do t = { t, t } end "
                                "return #orm.json.encode(t)", &out, &err);
    assert_true(rc == EO_ENOMEM || rc == EO_ETIMEOUT);
    assert_null(out);
    rc = eo_engine_eval(f->eng, "local s = ('x'):rep(8 << 20) local t = {} "
                                "for i = 1, 400 do t[i] = s end return t", &out, &err);
    /* (a slow build, ASan, may pass the time limit first) */
    assert_true(rc == EO_ENOMEM || rc == EO_ETIMEOUT);
    assert_true(strstr(err.msg, "larger than the VM's memory limit") != NULL ||
                strstr(err.msg, " ms") != NULL);
    assert_null(out);
    /* the engine goes on */
    assert_eo_ok(eo_engine_eval(f->eng, "return { 1, 2 }", &out, &err), &err);
    assert_string_equal(out, "[1,2]");
    eo_free(out);
}

/* Bytes in use through eo_* allocations (all of Lua's), and their peak. */
static long long cnt_live, cnt_peak;

static void cnt_track(long long delta)
{
    cnt_live += delta;
    if (cnt_live > cnt_peak)
        cnt_peak = cnt_live;
}

static void *cnt_malloc(size_t n, void *payload)
{
    void *p = malloc(n);
    (void)payload;
    if (p)
        cnt_track((long long)malloc_usable_size(p));
    return p;
}

static void *cnt_realloc(void *ptr, size_t n, void *payload)
{
    long long old = ptr ? (long long)malloc_usable_size(ptr) : 0;
    void *p = realloc(ptr, n);
    (void)payload;
    if (p)
        cnt_track((long long)malloc_usable_size(p) - old);
    return p;
}

static void cnt_free(void *ptr, void *payload)
{
    (void)payload;
    if (ptr)
        cnt_track(-(long long)malloc_usable_size(ptr));
    free(ptr);
}

/* Rows are read while the query holds C resources, with the VM's limit
 * waiting: the query must stop at the row that passes the limit, not load
 * every row first (hostile review 11: 443 MB with a 64 MiB limit). */
static void test_engine__rows_stop_at_the_memory_limit(void **state)
{
    static const eo_allocator counting = { cnt_malloc, cnt_realloc, cnt_free, NULL };
    fx *f = *state;
    eo_engine_config cfg = EO_ENGINE_CONFIG_INIT;
    eo_engine *big = ready(f);
    eo_error err;
    char *out = NULL;
    long long before;
    /* 24 records of 1 MiB each, written by an engine without a limit */
    assert_eo_ok(eo_engine_eval(big, "local s = ('x'):rep(1 << 20) for i = 1, 24 do "
                                     "env['res.partner']:create{ name = 'n' .. i, nick = s } end",
                                NULL, &err), &err);
    eo_engine_close(big);
    f->eng = NULL;
    eo_set_allocator(&counting);
    cfg.database_url = f->url;
    cfg.memory_limit = 8u << 20;
    cfg.models_path = f->models;
    assert_eo_ok(eo_engine_open(&f->eng, &cfg, &err), &err);
    before = cnt_live;
    cnt_peak = cnt_live;
    assert_eo_error(eo_search_read_json(f->eng, "res.partner", "[]", "{\"fields\": [\"nick\"]}", &out,
                                        &err),
                    &err, EO_ENOMEM, "does not fit in the VM's memory limit");
    assert_null(out);
    eo_engine_close(f->eng);
    f->eng = NULL;
    eo_set_allocator(NULL);
    /* the limit, a row past it and the driver's own buffers: far from 24 MiB */
    if (cnt_peak - before > (14ll << 20))
        fail_msg("the search took %lld MiB past its start (limit 8 MiB)", (cnt_peak - before) >> 20);
}

/* A load that fails half-way registers nothing: the host loads the fixed
 * files into the same engine. */
static void test_engine__failed_load_rolls_back(void **state)
{
    fx *f = *state;
    eo_engine_config cfg = EO_ENGINE_CONFIG_INIT;
    char bad[700], fixed[700], path[800], *out = NULL;
    eo_error err;
    cfg.database_url = f->url;
    snprintf(bad, sizeof bad, "%s/bad", f->dir);
    snprintf(fixed, sizeof fixed, "%s/fixed", f->dir);
    assert_int_equal(mkdir(bad, 0700), 0);
    assert_int_equal(mkdir(fixed, 0700), 0);
    th_write_file(path, sizeof path, bad, "a.lua",
                  "local orm = require \"earnorm\"\n"
                  "local A = orm.model(\"fl.a\", { name = orm.fields.Char{} })\n"
                  "function A:hello() return \"from the failed load\" end\n"
                  "orm.model(\"fl.b\", { name = orm.fields.Char{} })\n"
                  "error(\"half-way failure\")\n");
    th_write_file(path, sizeof path, fixed, "a.lua",
                  "local orm = require \"earnorm\"\n"
                  "local A = orm.model(\"fl.a\", { name = orm.fields.Char{} })\n"
                  "function A:hello() return \"fixed\" end\n"
                  "return A\n");
    assert_eo_ok(eo_engine_open(&f->eng, &cfg, &err), &err);
    assert_int_equal(eo_engine_load_models(f->eng, bad, &err), EO_ERROR);
    assert_non_null(strstr(err.msg, "a.lua:5: half-way failure"));
    assert_eo_ok(eo_engine_load_models(f->eng, fixed, &err), &err);
    assert_eo_ok(eo_engine_migrate(f->eng, &err), &err);
    assert_eo_ok(eo_engine_eval(f->eng, "return { env['fl.a']:create{ name = 'x' }:hello(), "
                                        "orm.models['fl.b'] == nil }", &out, &err), &err);
    assert_string_equal(out, "[\"fixed\",true]");
    eo_free(out);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_engine__create_search_read),
        T(test_engine__read_write_unlink),
        T(test_engine__archived_and_eq_opt),
        T(test_engine__built_types),
        T(test_engine__models_path_in_config),
        T(test_engine__eval),
        T(test_engine__ping_and_stats),
        T(test_engine__validator_runs_for_c),
        T(test_engine__event_error_aborts),
        T(test_engine__unknown_model),
        T(test_engine__unknown_field),
        T(test_engine__invalid_json),
        T(test_engine__builtin_checks),
        T(test_engine__model_file_syntax_error),
        T(test_engine__eval_errors),
        T(test_engine__open_errors),
        T(test_engine__many_failures_then_success),
        T(test_engine__memory_limit_large_json),
        T(test_engine__open_under_tiny_memory_limits),
        T(test_engine__error_cleared_on_success),
        T(test_engine__null_arguments),
        T(test_engine__cache_url_refused),
        T(test_engine__json_is_literal),
        T(test_engine__binary_bytes_out),
        T(test_engine__empty_results_are_arrays),
        T(test_engine__json_refused),
        T(test_engine__text_values_refused),
        T(test_engine__json_dag_bounded),
        T(test_engine__rows_stop_at_the_memory_limit),
        T(test_engine__failed_load_rolls_back),
    };
    return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
