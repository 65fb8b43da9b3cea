/*
 * json.c - domains from JSON text (the C host API's form).
 *
 * libbson parses the JSON; this file walks the result and feeds the same
 * builder the Lua binding uses, so both front ends accept and refuse the
 * same domains. An object given as a value is kept as its JSON text: it is
 * data to match, never an operator (no `{"$gt": ""}` injection).
 */
#include <bson/bson.h>
#include <stdio.h>

#include "domain_int.h"

static int build(eo_domain **out, bson_iter_t *arr, int depth, eo_error *err);

static int value_of(bson_iter_t *it, eo_value *v, char **tofree, eo_error *err)
{
    uint32_t len;
    const char *s;
    *tofree = NULL;
    switch (bson_iter_type(it)) {
    case BSON_TYPE_UTF8:
        s = bson_iter_utf8(it, &len);
        *v = eo_text(s, len);
        return EO_OK;
    case BSON_TYPE_INT32: *v = eo_int(bson_iter_int32(it)); return EO_OK;
    case BSON_TYPE_INT64: *v = eo_int(bson_iter_int64(it)); return EO_OK;
    case BSON_TYPE_DOUBLE: *v = eo_float(bson_iter_double(it)); return EO_OK;
    case BSON_TYPE_BOOL: *v = eo_bool(bson_iter_bool(it)); return EO_OK;
    case BSON_TYPE_NULL: *v = eo_null(); return EO_OK;
    case BSON_TYPE_DOCUMENT: {
        const uint8_t *data;
        bson_t doc;
        size_t n;
        bson_iter_document(it, &len, &data);
        if (!bson_init_static(&doc, data, len))
            return eo_error_set(err, EO_EINVAL, "domain: malformed object value");
        *tofree = bson_as_relaxed_extended_json(&doc, &n);
        if (*tofree == NULL)
            return eo_error_set(err, EO_ENOMEM, "out of memory");
        *v = eo_text(*tofree, n);
        return EO_OK;
    }
    default:
        return eo_error_set(err, EO_EINVAL, "domain: unsupported JSON value type");
    }
}

static int leaf(eo_dbuilder *b, bson_iter_t *leafit, size_t pos, int depth, eo_error *err)
{
    bson_iter_t it;
    const char *path = NULL, *op = NULL;
    uint32_t len;
    int n = 0, rc;
    bson_iter_t valit;

    if (!bson_iter_recurse(leafit, &it))
        return eo_error_set(err, EO_EINVAL, "domain element %zu: malformed leaf", pos);
    while (bson_iter_next(&it)) {
        if (n == 0 || n == 1) {
            if (!BSON_ITER_HOLDS_UTF8(&it))
                return eo_error_set(err, EO_EINVAL,
                                    "domain leaf %zu: the %s must be a string",
                                    pos, n == 0 ? "field name" : "operator");
            const char *str = bson_iter_utf8(&it, &len);
            if (memchr(str, '\0', len) != NULL)
                return eo_error_set(err, EO_EINVAL, "domain leaf %zu: the %s holds a NUL byte",
                                    pos, n == 0 ? "field name" : "operator");
            if (n == 0)
                path = str;
            else
                op = str;
        } else if (n == 2) {
            valit = it;
        }
        n++;
    }
    if (n != 3)
        return eo_error_set(err, EO_EINVAL,
                            "domain leaf %zu has %d element%s, expected 3: [field, operator, value]",
                            pos, n, n == 1 ? "" : "s");
    if (BSON_ITER_HOLDS_ARRAY(&valit)) {
        eo_dop dop;
        if (eo_dop_parse(&dop, op, strlen(op)) == EO_OK &&
            (dop == EO_OP_ANY || dop == EO_OP_NOT_ANY)) {
            eo_domain *sub = NULL;
            bson_iter_t subit;
            if (depth + 1 >= EO_DOMAIN_MAX_DEPTH)
                return eo_error_set(err, EO_ELIMIT,
                                    "domain nests more than %d levels deep ('any' sub-domains)",
                                    EO_DOMAIN_MAX_DEPTH);
            bson_iter_recurse(&valit, &subit);
            if ((rc = build(&sub, &subit, depth + 1, err)) != EO_OK)
                return rc;
            return eo_dbuilder_leaf_sub(b, path, op, sub, err);
        } else {
            eo_vec vals = EO_VEC_INIT(eo_value);
            eo_vec frees = EO_VEC_INIT(char *);
            bson_iter_t li;
            size_t i;
            bson_iter_recurse(&valit, &li);
            rc = EO_OK;
            while (rc == EO_OK && bson_iter_next(&li)) {
                eo_value v;
                char *tf;
                if (BSON_ITER_HOLDS_ARRAY(&li)) {
                    rc = eo_error_set(err, EO_EINVAL,
                                      "domain leaf %zu: a list value cannot hold lists", pos);
                    break;
                }
                if ((rc = value_of(&li, &v, &tf, err)) != EO_OK)
                    break;
                if (eo_vec__push(&vals, &v) != EO_OK ||
                    (tf && eo_vec__push(&frees, &tf) != EO_OK)) {
                    bson_free(tf);
                    rc = eo_error_set(err, EO_ENOMEM, "out of memory");
                }
            }
            if (rc == EO_OK)
                rc = eo_dbuilder_leaf_list(b, path, op, vals.items, vals.len, err);
            for (i = 0; i < frees.len; i++)
                bson_free(*(char **)eo_vec__at(&frees, i));
            eo_vec__free(&vals);
            eo_vec__free(&frees);
            return rc;
        }
    }
    {
        eo_value v;
        char *tf;
        if ((rc = value_of(&valit, &v, &tf, err)) != EO_OK)
            return rc;
        rc = eo_dbuilder_leaf(b, path, op, &v, err);
        bson_free(tf);
        return rc;
    }
}

static int build(eo_domain **out, bson_iter_t *arr, int depth, eo_error *err)
{
    eo_dbuilder *b = NULL;
    size_t pos = 0;
    int rc;
    *out = NULL;
    if ((rc = eo_dbuilder_new(&b, err)) != EO_OK)
        return rc;
    while (bson_iter_next(arr)) {
        pos++;
        if (BSON_ITER_HOLDS_UTF8(arr)) {
            uint32_t len;
            const char *s = bson_iter_utf8(arr, &len);
            if (len != 1 || (*s != '&' && *s != '|' && *s != '!')) {
                eo_dbuilder_free(b);
                return eo_error_set(err, EO_EINVAL,
                                    "domain element %zu: '%s' is not '&', '|' or '!'", pos, s);
            }
            rc = eo_dbuilder_op(b, *s, err);
        } else if (BSON_ITER_HOLDS_ARRAY(arr)) {
            rc = leaf(b, arr, pos, depth, err);
        } else {
            rc = eo_error_set(err, EO_EINVAL,
                              "domain element %zu: expected an operator string or a [field, operator, value] leaf",
                              pos);
        }
        if (rc != EO_OK) {
            eo_dbuilder_free(b);
            return rc;
        }
    }
    return eo_dbuilder_finish(out, b, err);
}

int eo_domain_from_json(eo_domain **out, const char *json, size_t len, eo_error *err)
{
    bson_t *doc;
    bson_error_t berr;
    bson_iter_t it;
    size_t i;
    int rc;

    EO_ENTER();
    EO_REQUIRE(out);
    *out = NULL;
    EO_REQUIRE_N(json, len);
    for (i = 0; i < len && (json[i] == ' ' || json[i] == '\n' || json[i] == '\t' || json[i] == '\r'); i++)
        ;
    if (i == len)
        return eo_domain_new_true(out, err);
    if (json[i] != '[')
        return eo_error_set(err, EO_EINVAL, "domain: expected a JSON array");
    doc = bson_new_from_json((const uint8_t *)json, (ssize_t)len, &berr);
    if (doc == NULL) {
        /* libbson reads 100 levels of nesting (its STACK_MAX) */
        if (strstr(berr.message, "LEVELS_EXCEEDED") != NULL)
            rc = eo_error_set(err, EO_ELIMIT, "domain: the JSON nests deeper than 100 levels");
        else
            rc = eo_error_set(err, EO_EINVAL, "domain: invalid JSON: %s", berr.message);
        eo_error__native(err, EO_DOMAIN_JSON, (int)berr.code);
        return rc;
    }
    bson_iter_init(&it, doc);
    rc = build(out, &it, 0, err);
    bson_destroy(doc);
    return rc;
}
