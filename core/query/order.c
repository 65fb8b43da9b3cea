/*
 * order.c - parsing order text ("age desc, name") against a model.
 */
#include <ctype.h>
#include <strings.h>
#include <stdio.h>

#include "earnorm/query.h"
#include "../internal.h"

int eo_order_parse(eo_order_item **out, size_t *n, const eo_model *m,
                   const char *text, eo_error *err)
{
    eo_vec items = EO_VEC_INIT(eo_order_item);
    const char *p = text ? text : "";
    int rc = EO_OK;

    EO_ENTER();
    EO_REQUIRE(out);
    *out = NULL;
    EO_REQUIRE(n);
    *n = 0;
    EO_REQUIRE(m);
    while (*p) {
        const char *name, *dir;
        size_t nlen, dlen;
        eo_order_item it;
        while (isspace((unsigned char)*p) || *p == ',')
            p++;
        if (!*p)
            break;
        name = p;
        while (*p && !isspace((unsigned char)*p) && *p != ',')
            p++;
        nlen = (size_t)(p - name);
        while (*p == ' ' || *p == '\t')
            p++;
        dir = p;
        while (*p && !isspace((unsigned char)*p) && *p != ',')
            p++;
        dlen = (size_t)(p - dir);
        it.field = eo_model_field(m, name, nlen);
        it.desc = 0;
        if (it.field == NULL && memchr(name, '.', nlen) != NULL) {
            const eo_field *head = eo_model_field(m, name, (size_t)((const char *)memchr(name, '.', nlen) - name));
            if (head && (head->type == EO_FT_EMBEDDED || head->type == EO_FT_LIST)) {
                rc = eo_error_set(err, EO_ENOTSUP, "%s: cannot order by '%.*s': ordering by a "
                                  "sub-field of an %s field is not supported yet",
                                  m->name, (int)nlen, name, eo_ftype_name(head->type));
                eo_error_where(err, m->name, head->name);
                goto done;
            }
        }
        if (it.field == NULL) {
            rc = eo_error_set(err, EO_EINVAL, "%s: cannot order by '%.*s': no such field",
                              m->name, (int)nlen, name);
            eo_error_where(err, m->name, NULL);
            goto done;
        }
        if (!(it.field->flags & EO_FF_STORED)) {
            rc = eo_error_set(err, EO_EINVAL, "%s: cannot order by '%s': it is not stored",
                              m->name, it.field->name);
            eo_error_where(err, m->name, it.field->name);
            goto done;
        }
        if (it.field->type == EO_FT_EMBEDDED || it.field->type == EO_FT_LIST) {
            rc = eo_error_set(err, EO_EINVAL, "%s: cannot order by %s field '%s' (its JSON orders "
                              "differently per backend)",
                              m->name, eo_ftype_name(it.field->type), it.field->name);
            eo_error_where(err, m->name, it.field->name);
            goto done;
        }
        if (dlen == 4 && strncasecmp(dir, "desc", 4) == 0) {
            it.desc = 1;
        } else if (dlen == 3 && strncasecmp(dir, "asc", 3) == 0) {
            it.desc = 0;
        } else if (dlen != 0) {
            rc = eo_error_set(err, EO_EINVAL, "%s: bad order direction '%.*s' for %s (use asc or desc)",
                              m->name, (int)dlen, dir, it.field->name);
            eo_error_where(err, m->name, it.field->name);
            goto done;
        }
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p && *p != ',') {
            rc = eo_error_set(err, EO_EINVAL, "%s: cannot parse order '%s'", m->name, text);
            goto done;
        }
        if (eo_vec__push(&items, &it) != EO_OK) {
            rc = eo_error_set(err, EO_ENOMEM, "out of memory");
            goto done;
        }
    }
    *out = items.items;
    *n = items.len;
    items.items = NULL;
done:
    eo_vec__free(&items);
    return rc;
}
