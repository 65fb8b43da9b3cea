/*
 * mongo_props.c - domain leaves on one property of a Properties field.
 *
 * A Properties value is stored as the sub-document of its JSON object
 * (mongo_bson.c), so {"props.color", "=", "red"} is the filter
 * {"props.color": "red"}. MongoDB's comparison is the one the SQL
 * backends copy (sql_props.c): values compare with values of their own
 * kind only (5 = 5.0, never "5" or true), a missing key is null, `$ne`
 * and `$nin` match a missing key, and ordering brackets by type.
 */
#include "mongo_int.h"

int mg__property_leaf(mg_conn *c, const eo_dnode *n, bson_t *out, eo_error *err)
{
    static const char *const cmp[] = { "$eq", "$ne", "$gt", "$gte", "$lt", "$lte" };
    const eo_field *f = n->field;
    const char *name = strchr(n->path, '.') + 1;
    char key[200];
    bson_t cond, arr;
    size_t i;
    int rc = EO_OK;
    snprintf(key, sizeof key, "%s.%s", mg__key(f), name);
    switch (n->op) {
    case EO_OP_EQ:
        return mg__append(c, out, key, NULL, &n->value, err);
    case EO_OP_NE:
    case EO_OP_GT:
    case EO_OP_GE:
    case EO_OP_LT:
    case EO_OP_LE:
        bson_append_document_begin(out, key, -1, &cond);
        rc = mg__append(c, &cond, cmp[n->op], NULL, &n->value, err);
        bson_append_document_end(out, &cond);
        return rc;
    case EO_OP_IN:
    case EO_OP_NOT_IN:
        bson_append_document_begin(out, key, -1, &cond);
        bson_append_array_begin(&cond, n->op == EO_OP_IN ? "$in" : "$nin", -1, &arr);
        for (i = 0; i < n->nlist && rc == EO_OK; i++) {
            char k[16];
            const char *kp;
            bson_uint32_to_string((uint32_t)i, &kp, k, sizeof k);
            rc = mg__append(c, &arr, kp, NULL, &n->list[i], err);
        }
        bson_append_array_end(&cond, &arr);
        bson_append_document_end(out, &cond);
        return rc;
    default:
        return eo_error_set(err, EO_EINVAL, "operator '%s' does not apply to a property",
                            eo_dop_name(n->op));
    }
}
