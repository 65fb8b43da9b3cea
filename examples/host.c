/*
 * host.c - a small C host: embeds the engine, loads the Lua models,
 * creates, searches, writes and deletes through the JSON calls.
 *
 *   example_host [models_dir] [database_url]
 *
 * The Lua validators and event handlers of models/res_partner.lua run for
 * these C calls exactly as for Lua scripts: the e-mail is lowered by a
 * before_create handler and a company with an age is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <earnorm/earnorm.h>

static int check(int rc, const eo_error *err, const char *what)
{
    if (rc != EO_OK) {
        fprintf(stderr, "%s: %s (%s)\n", what, err->msg, eo_code_name(rc));
        exit(1);
    }
    return rc;
}

int main(int argc, char **argv)
{
    const char *models = argc > 1 ? argv[1] : "models";
    eo_engine *eng = NULL;
    eo_error err;
    eo_engine_config cfg = EO_ENGINE_CONFIG_INIT;
    char *ids = NULL, *rows = NULL, *out = NULL;
    long long n = 0;
    int rc;

    cfg.database_url = argc > 2 ? argv[2] : "sqlite://host.db";
    check(eo_engine_open(&eng, &cfg, &err), &err, "open");
    check(eo_engine_load_models(eng, models, &err), &err, "load models");
    check(eo_engine_migrate(eng, &err), &err, "migrate");

    check(eo_create_json(eng, "res.partner",
                         "[{\"name\":\"Ann\",\"age\":31,\"email\":\"ANN@EXAMPLE.COM\"},"
                         " {\"name\":\"Bob\",\"age\":17}]",
                         &ids, &err), &err, "create");
    printf("created ids: %s\n", ids);

    check(eo_search_read_json(eng, "res.partner", "[[\"age\",\">\",18]]",
                              "{\"fields\":[\"name\",\"age\",\"email\"],\"order\":\"name\",\"limit\":10}",
                              &rows, &err), &err, "search_read");
    printf("adults: %s\n", rows);
    eo_free(rows);

    check(eo_write_json(eng, "res.partner", ids, "{\"age\":32}", &err), &err, "write");
    check(eo_search_count_json(eng, "res.partner", "[[\"age\",\"=\",32]]", &n, &err), &err, "count");
    printf("aged 32 after write: %lld\n", n);

    /* a Lua validator refuses this, for C callers too */
    rc = eo_create_json(eng, "res.partner", "{\"name\":\"Corp\",\"kind\":\"company\",\"age\":3}",
                        &out, &err);
    printf("company with an age: %s (%s)\n", eo_code_name(rc), err.msg);

    /* bad input is named */
    rc = eo_create_json(eng, "res.partner", "{\"name\":\"X\",\"agee\":3}", &out, &err);
    printf("unknown field: %s (%s)\n", eo_code_name(rc), err.msg);

    check(eo_engine_eval(eng, "return env['res.partner']:search_count{}", &out, &err), &err, "eval");
    printf("eval count: %s\n", out);
    eo_free(out);

    check(eo_unlink_json(eng, "res.partner", ids, &err), &err, "unlink");
    check(eo_search_count_json(eng, "res.partner", "[]", &n, &err), &err, "count");
    printf("left after unlink: %lld\n", n);

    eo_free(ids);
    eo_engine_close(eng);
    return 0;
}
