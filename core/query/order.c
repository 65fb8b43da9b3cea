/*
 * order.c - parsing order text ("age desc, name") against a model.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <stdio.h>

#include "earnorm/query.h"
#include "../internal.h"

/* The field a name or a dotted path ("partner_id.name") orders by, and
 * the Many2one steps to it. */
static int path_field(eo_order_item *it, const eo_model *m, const char *name, size_t nlen,
                      eo_error *err)
{
    const eo_model *cur = m;
    const char *seg = name, *end = name + nlen;
    for (;;) {
        const char *dot = memchr(seg, '.', (size_t)(end - seg));
        size_t slen = dot ? (size_t)(dot - seg) : (size_t)(end - seg);
        const eo_field *f = eo_model_field(cur, seg, slen);
        if (f == NULL) {
            if (cur == m)
                eo_error_set(err, EO_EINVAL, "%s: cannot order by '%.*s': no such field",
                             m->name, (int)nlen, name);
            else
                eo_error_set(err, EO_EINVAL, "%s: cannot order by '%.*s': %s has no field '%.*s'",
                             m->name, (int)nlen, name, cur->name, (int)slen, seg);
            eo_error_where(err, m->name, NULL);
            return EO_EINVAL;
        }
        if (dot == NULL) {
            it->field = f;
            return EO_OK;
        }
        if (f->type != EO_FT_MANY2ONE || !(f->flags & EO_FF_STORED)) {
            eo_error_set(err, EO_EINVAL, "%s: cannot order by '%.*s': %s.%s is not a stored "
                         "Many2one (an order path goes through Many2one fields)",
                         m->name, (int)nlen, name, cur->name, f->name);
            eo_error_where(err, m->name, NULL);
            return EO_EINVAL;
        }
        if (it->nvia == EO_ORDER_MAX_VIA) {
            eo_error_set(err, EO_ELIMIT, "%s: cannot order by '%.*s': a path takes at most %d "
                         "Many2one steps", m->name, (int)nlen, name, EO_ORDER_MAX_VIA);
            eo_error_where(err, m->name, NULL);
            return EO_ELIMIT;
        }
        it->via[it->nvia++] = f;
        cur = f->comodel ? f->comodel : eo_registry_find(m->registry, f->comodel_name);
        if (cur == NULL) {
            eo_error_set(err, EO_ENOTFOUND, "%s: cannot order by '%.*s': %s.%s points to "
                         "unknown model %s", m->name, (int)nlen, name, f->model->name, f->name,
                         f->comodel_name ? f->comodel_name : "?");
            eo_error_where(err, m->name, NULL);
            return EO_ENOTFOUND;
        }
        seg = dot + 1;
    }
}

/*
 * "address.city": a scalar sub-field of an Embedded field. The SQL
 * backends order by the JSON extraction (typed on PostgreSQL, so numbers
 * order numerically), MongoDB by the dotted key. A List sub-field is
 * refused: a record holds many elements, and which one orders it would
 * be a guess.
 */
static int sub_field(eo_order_item *it, const eo_model *m, const eo_field *head,
                     const char *name, size_t nlen, const char *sub, eo_error *err)
{
    size_t slen = (size_t)(name + nlen - sub);
    const eo_field *sf;
    if (head->type == EO_FT_LIST) {
        eo_error_set(err, EO_EINVAL, "%s: cannot order by '%.*s': %s is a List (a record "
                     "holds many elements, so no one sub-field value orders it)",
                     m->name, (int)nlen, name, head->name);
        eo_error_where(err, m->name, head->name);
        return EO_EINVAL;
    }
    if (head->embedded == NULL) {
        eo_error_set(err, EO_ENOTFOUND, "%s: cannot order by '%.*s': the embedded type of %s "
                     "is not defined", m->name, (int)nlen, name, head->name);
        eo_error_where(err, m->name, head->name);
        return EO_ENOTFOUND;
    }
    sf = memchr(sub, '.', slen) ? NULL : eo_model_field(head->embedded, sub, slen);
    if (sf == NULL || sf->index == 0) {
        eo_error_set(err, EO_EINVAL, "%s: cannot order by '%.*s': embedded type %s has no "
                     "sub-field '%.*s'", m->name, (int)nlen, name, head->embedded->name,
                     (int)slen, sub);
        eo_error_where(err, m->name, head->name);
        return EO_EINVAL;
    }
    if (sf->type == EO_FT_EMBEDDED || sf->type == EO_FT_LIST ||
        sf->type == EO_FT_JSON || sf->type == EO_FT_PROPERTIES) {
        eo_error_set(err, EO_EINVAL, "%s: cannot order by '%.*s': it is a %s, not a scalar",
                     m->name, (int)nlen, name, eo_ftype_name(sf->type));
        eo_error_where(err, m->name, head->name);
        return EO_EINVAL;
    }
    it->field = head;
    it->sub = sf;
    return EO_OK;
}

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
        memset(&it, 0, sizeof it);
        if (memchr(name, '.', nlen) != NULL) {
            const char *dot = memchr(name, '.', nlen);
            const eo_field *head = eo_model_field(m, name, (size_t)(dot - name));
            if (head && (head->type == EO_FT_EMBEDDED || head->type == EO_FT_LIST)) {
                if ((rc = sub_field(&it, m, head, name, nlen, dot + 1, err)) != EO_OK)
                    goto done;
                goto direction;
            }
        }
        if ((rc = path_field(&it, m, name, nlen, err)) != EO_OK)
            goto done;
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
    direction:
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
