/*
 * fuzz_domain_json.c - domains from JSON text (eo_domain_from_json, the C
 * host API's form), then the whole pipeline of fuzz.h: render, bind to
 * fz.item and normalize, SQL for SQLite and PostgreSQL, the MongoDB filter.
 *
 * The input is the JSON text as it is (any bytes, no NUL terminator).
 * Corpus: tests/fuzz/corpus/domain_json; dictionary: domain_json.dict.
 */
#include <string.h>

#include "fuzz.h"

typedef struct job {
    const uint8_t *data;
    size_t size;
} job;

static void one(void *p)
{
    const job *j = p;
    eo_domain *d = (eo_domain *)&d; /* must come back NULL on failure */
    eo_error err;
    int rc = eo_domain_from_json(&d, (const char *)j->data, j->size, &err);
    if (rc != EO_OK) {
        fz_check_error(rc, &err, "eo_domain_from_json");
        if (d != NULL)
            fz_die("eo_domain_from_json failed (%s) but set *out", err.msg);
        fz_outcome(0, "eo_domain_from_json", &err);
        return;
    }
    if (d == NULL)
        fz_die("eo_domain_from_json succeeded without a domain");
    fz_domain_pipeline(d, j->size);
    eo_domain_free(d);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_domain_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    job j = { data, size };
    fz_run(one, &j);
    return 0;
}
