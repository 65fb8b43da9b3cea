/*
 * fuzz_engine_json.c - the C host API's JSON calls on one engine.
 *
 * One engine on sqlite::memory: for the whole run, with the models of
 * tests/fuzz/models/ migrated and a few records created. Each input runs
 * inside eo_engine_begin / eo_engine_rollback, so every input sees the
 * same records and a reproducer replays alone.
 *
 * Input: byte 0 selects the call and the model, the rest is split at NUL
 * bytes into up to two JSON texts (the arguments in order; a missing one
 * is NULL).
 *   bits 0-2: 0 create(vals), 1 search_read(domain, opts), 2 read(ids,
 *             fields), 3 write(ids, vals), 4 unlink(ids), 5
 *             search_count(domain), 6 search_read(domain, NULL),
 *             7 create(vals) then search_read(the new ids as a domain)
 *   bit 3:    the first text is passed as NULL
 *   bits 4-6: model fz.item (0-2), fz.tag (3-4), "fz.nosuch", NULL, ""
 *   bit 7:    the second text is passed as NULL
 * Every call either succeeds with valid JSON out (freed here) or fails
 * with a well-formed error; afterwards the engine must still answer a
 * count. Leaks show up under ASan's leak checker (detect_leaks=1), and
 * the engine is closed at exit so its teardown is checked too.
 */
#include <bson/bson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#ifndef FUZZ_DIR
#error "FUZZ_DIR (tests/fuzz) is set by tests/fuzz/CMakeLists.txt"
#endif

static eo_engine *eng;

static void must(int rc, const eo_error *err, const char *what)
{
    if (rc != EO_OK)
        fz_die("setup: %s: %s", what, err->msg);
}

static void close_engine(void)
{
    eo_engine_close(eng);
    eng = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    eo_engine_config cfg = EO_ENGINE_CONFIG_INIT;
    const char *models = getenv("EARNORM_FUZZ_MODELS");
    eo_error err;
    char *out = NULL;
    (void)argc;
    (void)argv;
    cfg.database_url = "sqlite::memory:";
    cfg.timeout_ms = 5000; /* a slow call is an ETIMEOUT, well before libFuzzer's -timeout */
    must(eo_engine_open(&eng, &cfg, &err), &err, "eo_engine_open");
    must(eo_engine_load_models(eng, models && *models ? models : FUZZ_DIR "/models", &err), &err,
         "eo_engine_load_models");
    must(eo_engine_migrate(eng, &err), &err, "eo_engine_migrate");
    /* one at a time: a record of a batch cannot point at another of it */
    must(eo_create_json(eng, "fz.tag", "{\"name\":\"red\"}", &out, &err), &err, "create tag 1");
    eo_free(out);
    must(eo_create_json(eng, "fz.tag", "{\"name\":\"blue\",\"parent_id\":1}", &out, &err), &err,
         "create tag 2");
    eo_free(out);
    must(eo_create_json(eng, "fz.tag", "{\"name\":\"navy\",\"parent_id\":2}", &out, &err), &err,
         "create tag 3");
    eo_free(out);
    must(eo_create_json(eng, "fz.item",
                        "[{\"name\":\"a\",\"code\":\"A\",\"qty\":1,\"ratio\":0.5,\"day\":\"2024-01-31\","
                        "\"at\":\"2024-01-31 12:00:00\",\"state\":\"draft\",\"data\":{\"k\":[1,2]},"
                        "\"price\":\"12.50\",\"tag_id\":1,\"tag_ids\":[[6,0,[1,2]]]}]",
                        &out, &err),
         &err, "create item 1");
    eo_free(out);
    must(eo_create_json(eng, "fz.item",
                        "{\"name\":\"b\",\"qty\":2,\"parent_id\":1,\"active\":false,\"notes\":\"x\"}",
                        &out, &err),
         &err, "create item 2");
    eo_free(out);
    must(eo_create_json(eng, "fz.item", "{\"name\":\"c\",\"parent_id\":2,\"state\":\"done\"}",
                        &out, &err),
         &err, "create item 3");
    eo_free(out);
    atexit(close_engine);
    return 0;
}

/* out must be JSON text (a document, array or scalar). */
static void check_json(const char *out, const char *what)
{
    size_t n;
    char *wrapped;
    bson_error_t be;
    bson_t *doc;
    if (out == NULL)
        fz_die("%s succeeded without a result", what);
    n = strlen(out);
    wrapped = malloc(n + 8);
    if (wrapped == NULL)
        fz_die("out of memory");
    memcpy(wrapped, "{\"v\":", 5);
    memcpy(wrapped + 5, out, n);
    memcpy(wrapped + 5 + n, "}", 2);
    doc = bson_new_from_json((const uint8_t *)wrapped, (ssize_t)(n + 6), &be);
    if (doc == NULL && strstr(be.message, "depth") == NULL)
        fz_die("%s returned text that is not JSON (%s): %.2000s", what, be.message, out);
    bson_destroy(doc);
    free(wrapped);
}

static void result(int rc, const eo_error *err, char **out, const char *what, int *ok)
{
    if (rc == EO_OK) {
        if (out)
            check_json(*out, what);
    } else {
        fz_check_error(rc, err, what);
        if (out && *out != NULL)
            fz_die("%s failed (%s) but returned a result", what, err->msg);
        *ok = 0;
    }
    if (out) {
        eo_free(*out);
        *out = NULL;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const models[] = { "fz.item", "fz.item", "fz.item", "fz.tag",
                                          "fz.tag",  "fz.nosuch", NULL, "" };
    const char *model, *a = NULL, *b = NULL;
    char *buf, *out = NULL;
    unsigned sel;
    long long count = -1;
    eo_error err;
    int ok = 1, rc;

    if (size == 0)
        return 0;
    sel = data[0];
    model = models[(sel >> 4) & 7];
    /* the texts, NUL-terminated: split at the first NUL */
    buf = malloc(size + 1);
    if (buf == NULL)
        fz_die("out of memory");
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    a = buf;
    if (strlen(buf) < size - 1)
        b = buf + strlen(buf) + 1;
    if (sel & 8)
        a = NULL;
    if (sel & 128)
        b = NULL;

    if ((rc = eo_engine_begin(eng, NULL, &err)) != EO_OK)
        fz_die("eo_engine_begin: %s", err.msg);
    switch (sel & 7) {
    case 0:
        result(eo_create_json(eng, model, a, &out, &err), &err, &out, "eo_create_json", &ok);
        break;
    case 1:
        result(eo_search_read_json(eng, model, a, b, &out, &err), &err, &out, "eo_search_read_json",
               &ok);
        break;
    case 2:
        result(eo_read_json(eng, model, a, b, &out, &err), &err, &out, "eo_read_json", &ok);
        break;
    case 3: result(eo_write_json(eng, model, a, b, &err), &err, NULL, "eo_write_json", &ok); break;
    case 4: result(eo_unlink_json(eng, model, a, &err), &err, NULL, "eo_unlink_json", &ok); break;
    case 5:
        rc = eo_search_count_json(eng, model, a, &count, &err);
        result(rc, &err, NULL, "eo_search_count_json", &ok);
        if (rc == EO_OK && count < 0)
            fz_die("eo_search_count_json counted %lld", count);
        break;
    case 6:
        result(eo_search_read_json(eng, model, a, NULL, &out, &err), &err, &out,
               "eo_search_read_json", &ok);
        break;
    default:
        rc = eo_create_json(eng, model, a, &out, &err);
        if (rc == EO_OK) {
            /* the new ids must be found again: [["id", "in", ids]] */
            size_t n = strlen(out);
            char *dom = malloc(n + 24), *rows = NULL;
            if (dom == NULL)
                fz_die("out of memory");
            snprintf(dom, n + 24, "[[\"id\",\"in\",%s]]", out);
            rc = eo_search_count_json(eng, model, dom, &count, &err);
            if (rc != EO_OK)
                fz_die("created %s, but counting them failed: %s", out, err.msg);
            result(eo_search_read_json(eng, model, dom, b, &rows, &err), &err, &rows,
                   "eo_search_read_json (created ids)", &ok);
            free(dom);
        }
        result(rc, &err, &out, "eo_create_json", &ok);
        break;
    }
    if ((rc = eo_engine_rollback(eng, &err)) != EO_OK)
        fz_die("eo_engine_rollback: %s", err.msg);
    /* the engine must still work, and the rollback must have undone it */
    /* every record, archived ones too (a domain naming active is taken as written) */
    if ((rc = eo_search_count_json(eng, "fz.item",
                                   "[\"|\", [\"active\", \"=\", true], \"|\", [\"active\", \"=\", false], "
                                   "[\"active\", \"=\", null]]",
                                   &count, &err)) != EO_OK)
        fz_die("after the input, counting fz.item fails: %s", err.msg);
    if (count != 3)
        fz_die("after a rollback fz.item has %lld records, not 3", count);
    /* The input's Lua garbage goes now: an even malloc/free balance keeps
     * libFuzzer's leak check (a full LeakSanitizer scan) for real leaks. */
    if ((rc = eo_engine_eval(eng, "collectgarbage('collect')", &out, &err)) != EO_OK)
        fz_die("collectgarbage: %s", err.msg);
    eo_free(out);
    fz_outcome(ok, "the call", &err);
    free(buf);
    return 0;
}
