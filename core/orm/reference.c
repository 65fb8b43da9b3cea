/*
 * reference.c - the records Reference values name must exist.
 *
 * A Reference holds "model,id" text. Conversion (core/types) checked its
 * form and that the model is one the field allows; here, before create
 * and write store it, the record is looked up: one query per model named
 * in the batch. A missing record is EO_ENOTFOUND naming the field; an id
 * of the wrong kind for the database (hex on SQL, digits on MongoDB) is
 * EO_EINVAL. A record deleted later is not followed: the value stays and
 * reads as an empty recordset (bindings/lua/recordset.c), as in Odoo.
 */
#include <stdio.h>

#include "orm_int.h"
#include "../types/types_int.h"

static int bad_id(eo_error *err, const eo_field *f, const eo_value *v, eo_idkind kind)
{
    eo_error_set(err, EO_EINVAL, "%s.%s: '%.*s' does not name a record id of this database (%s)",
                 f->model->name, f->name, (int)(v->u.s.n > 80 ? 80 : v->u.s.n), v->u.s.p,
                 kind == EO_IDOID ? "MongoDB ids are 24 hexadecimal digits"
                                  : "ids are integers here");
    eo_error_where(err, f->model->name, f->name);
    return EO_EINVAL;
}

int eo_orm__check_references(eo_env *env, const eo_field *f, const eo_value *vals, size_t n,
                             size_t stride, eo_error *err)
{
    eo_idkind kind = env->adapter->idkind;
    eo_registry *reg = f->model->registry;
    eo_value *ids = NULL;
    const eo_model **models = NULL;
    char (*hex)[25] = NULL;
    unsigned char *done = NULL;
    size_t i, j, k;
    int rc = EO_OK;
    if (n == 0)
        return EO_OK;
    ids = eo_malloc(n * sizeof *ids);
    models = eo_malloc(n * sizeof *models);
    hex = eo_malloc(n * sizeof *hex);
    done = eo_calloc(n, 1);
    if (ids == NULL || models == NULL || hex == NULL || done == NULL)
        goto oom;
    for (i = 0; i < n; i++) {
        const eo_value *v = &vals[i * stride];
        const char *model, *idp;
        size_t mlen, idlen;
        char name[256];
        eo_value idv;
        eo_id id;
        models[i] = NULL;
        if (v->type != EO_VTEXT) {
            done[i] = 1;
            continue;
        }
        if (eo_reference__split(v->u.s.p, v->u.s.n, &model, &mlen, &idp, &idlen) != 0 ||
            mlen >= sizeof name) {
            rc = eo_error_set(err, EO_EINVAL, "%s.%s: expected \"model,id\"", f->model->name,
                              f->name);
            eo_error_where(err, f->model->name, f->name);
            goto done;
        }
        memcpy(name, model, mlen);
        name[mlen] = '\0';
        if ((models[i] = eo_registry_find(reg, name)) == NULL) {
            rc = eo_error_set(err, EO_ENOTFOUND, "%s.%s: model %s is not defined",
                              f->model->name, f->name, name);
            eo_error_where(err, f->model->name, f->name);
            goto done;
        }
        idv = eo_text(idp, idlen);
        if (eo_id_from_value(&id, kind, &idv) != EO_OK) {
            rc = bad_id(err, f, v, kind);
            goto done;
        }
        ids[i] = eo_id_to_value(id, kind, hex[i]);
    }
    /* one query per model: the ids of that model among the values */
    for (i = 0; i < n; i++) {
        eo_value *list;
        eo_ids found = { 0 };
        eo_idmap have;
        if (done[i])
            continue;
        list = eo_malloc(n * sizeof *list);
        if (list == NULL)
            goto oom;
        for (j = i, k = 0; j < n; j++)
            if (!done[j] && models[j] == models[i])
                list[k++] = ids[j];
        rc = eo_orm__ids_where_in(env, models[i], models[i]->fields[0], list, k, &found, err);
        eo_free(list);
        if (rc != EO_OK) {
            eo_ids_free(&found);
            goto done;
        }
        memset(&have, 0, sizeof have);
        for (j = 0; j < found.n; j++)
            if (eo_idmap__put(&have, found.v[j], 0) != EO_OK) {
                eo_idmap__free(&have);
                eo_ids_free(&found);
                goto oom;
            }
        eo_ids_free(&found);
        for (j = i; j < n && rc == EO_OK; j++) {
            eo_id id;
            if (done[j] || models[j] != models[i])
                continue;
            done[j] = 1;
            eo_id_from_value(&id, kind, &ids[j]);
            if (!eo_idmap__get(&have, id, &(size_t){ 0 })) {
                const eo_value *v = &vals[j * stride];
                rc = eo_error_set(err, EO_ENOTFOUND, "%s.%s: record '%.*s' does not exist",
                                  f->model->name, f->name, (int)v->u.s.n, v->u.s.p);
                eo_error_where(err, f->model->name, f->name);
            }
        }
        eo_idmap__free(&have);
        if (rc != EO_OK)
            goto done;
    }
    goto done;
oom:
    rc = eo_error_set(err, EO_ENOMEM, "out of memory checking %s.%s", f->model->name, f->name);
done:
    eo_free(ids);
    eo_free(models);
    eo_free(hex);
    eo_free(done);
    return rc;
}
