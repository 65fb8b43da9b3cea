/*
 * common.c - pieces every ORM operation uses: id arrays, domain
 * preparation (binding, child_of/parent_of resolution), relation checks.
 *
 * child_of and parent_of are resolved here with a few id queries (one per
 * level of the hierarchy) rather than in each adapter, so every backend
 * gets the same answer; a visited set makes cycles harmless.
 */
#include <stdio.h>

#include "orm_int.h"

int eo_ids_push(eo_ids *ids, eo_id id)
{
    if (ids == NULL)
        return EO_EINVAL;
    if (ids->n == ids->cap) {
        size_t cap = ids->cap ? ids->cap * 2 : 64;
        eo_id *v = eo_realloc(ids->v, cap * sizeof *v);
        if (v == NULL)
            return EO_ENOMEM;
        ids->v = v;
        ids->cap = cap;
    }
    ids->v[ids->n++] = id;
    return EO_OK;
}

void eo_ids_free(eo_ids *ids)
{
    if (ids == NULL)
        return;
    eo_free(ids->v);
    ids->v = NULL;
    ids->n = ids->cap = 0;
}

static int id_values(eo_env *env, const eo_ids *ids, eo_value **vals, char (**hex)[25]);

typedef struct collect_ctx {
    eo_ids *out;
    eo_idkind kind;
} collect_ctx;

static int collect_id(void *payload, const eo_value *row, size_t ncols, eo_error *err)
{
    collect_ctx *c = payload;
    eo_id id;
    EO_UNUSED(ncols);
    if (eo_id_from_value(&id, c->kind, &row[0]) != EO_OK)
        return eo_error_set(err, EO_ERROR, "the database returned an invalid id");
    if (eo_ids_push(c->out, id) != EO_OK)
        return eo_error_set(err, EO_ENOMEM, "out of memory collecting ids");
    return EO_OK;
}

int eo_orm__select_in(eo_env *env, const eo_model *m, const eo_field *f, const eo_value *vals,
                      size_t n, const eo_field *const *fields, size_t nfields, int ordered,
                      eo_row_fn fn, void *payload, eo_error *err)
{
    eo_domain *d = NULL;
    eo_order_item *order = NULL;
    size_t norder = 0;
    eo_query q;
    int rc;

    if (n == 0)
        return EO_OK;
    if (eo_domain__in_list(&d, m, f, vals, n) != EO_OK)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    if (ordered && (rc = eo_order_parse(&order, &norder, m, m->order, err)) != EO_OK)
        goto done;
    memset(&q, 0, sizeof q);
    q.model = m;
    q.domain = d;
    q.fields = fields;
    q.nfields = nfields;
    q.order = order;
    q.norder = norder;
    q.limit = -1;
    if (!eo_domain_is_false(d))
        rc = eo_env__select(env, &q, fn, payload, err);
done:
    eo_free(order);
    eo_domain_free(d);
    return rc;
}

int eo_orm__ids_where_in(eo_env *env, const eo_model *m, const eo_field *f,
                         const eo_value *vals, size_t n, eo_ids *out, eo_error *err)
{
    const eo_field *idf = m->fields[0];
    collect_ctx c;
    c.out = out;
    c.kind = env->adapter->idkind;
    return eo_orm__select_in(env, m, f, vals, n, &idf, 1, 0, collect_id, &c, err);
}

int eo_orm__id_values(eo_env *env, const eo_id *ids, size_t n, eo_value **vals,
                      char (**hex)[25])
{
    eo_ids tmp;
    tmp.v = (eo_id *)ids;
    tmp.n = tmp.cap = n;
    return id_values(env, &tmp, vals, hex);
}

static int id_values(eo_env *env, const eo_ids *ids, eo_value **vals, char (**hex)[25])
{
    size_t i;
    *vals = eo_malloc((ids->n ? ids->n : 1) * sizeof **vals);
    *hex = NULL;
    if (env->adapter->idkind == EO_IDOID)
        *hex = eo_malloc((ids->n ? ids->n : 1) * sizeof **hex);
    if (*vals == NULL || (env->adapter->idkind == EO_IDOID && *hex == NULL)) {
        eo_free(*vals);
        eo_free(*hex);
        return EO_ENOMEM;
    }
    for (i = 0; i < ids->n; i++)
        (*vals)[i] = eo_id_to_value(ids->v[i], env->adapter->idkind, *hex ? (*hex)[i] : NULL);
    return EO_OK;
}

/* Descendants (child_of) or ancestors (parent_of) of the given ids, included. */
static int hierarchy(eo_env *env, const eo_model *h, const eo_field *parent, int down,
                     const eo_value *start, size_t nstart, eo_ids *out, eo_error *err)
{
    eo_idmap seen;
    eo_ids frontier = { 0 }, next = { 0 };
    size_t i;
    int rc = EO_OK;
    eo_idkind kind = env->adapter->idkind;

    memset(&seen, 0, sizeof seen);
    for (i = 0; i < nstart; i++) {
        eo_id id;
        if (start[i].type == EO_VNULL)
            continue;
        if (eo_id_from_value(&id, kind, &start[i]) != EO_OK) {
            rc = eo_error_set(err, EO_EINVAL, "%s: invalid id in child_of/parent_of", h->name);
            goto done;
        }
        if (eo_idmap__get(&seen, id, &(size_t){ 0 }))
            continue;
        if (eo_idmap__put(&seen, id, 0) || eo_ids_push(out, id) || eo_ids_push(&frontier, id))
            goto oom;
    }
    while (frontier.n > 0) {
        eo_value *vals;
        char (*hex)[25];
        next.n = 0;
        if (id_values(env, &frontier, &vals, &hex) != EO_OK)
            goto oom;
        if (down) {
            rc = eo_orm__ids_where_in(env, h, parent, vals, frontier.n, &next, err);
        } else {
            /* parents of the frontier: read their parent field */
            rc = eo_orm__load(env, h, frontier.v, frontier.n, parent, err);
            for (i = 0; rc == EO_OK && i < frontier.n; i++) {
                const eo_value *pv = eo_store__get(env->store, h, frontier.v[i], parent);
                eo_id pid;
                if (pv && pv->type != EO_VNULL && eo_id_from_value(&pid, kind, pv) == EO_OK &&
                    eo_ids_push(&next, pid) != EO_OK)
                    rc = eo_error_set(err, EO_ENOMEM, "out of memory");
            }
        }
        eo_free(vals);
        eo_free(hex);
        if (rc != EO_OK)
            goto done;
        frontier.n = 0;
        for (i = 0; i < next.n; i++) {
            if (eo_idmap__get(&seen, next.v[i], &(size_t){ 0 }))
                continue; /* visited: cycles end here */
            if (eo_idmap__put(&seen, next.v[i], 0) || eo_ids_push(out, next.v[i]) ||
                eo_ids_push(&frontier, next.v[i]))
                goto oom;
        }
    }
    goto done;
oom:
    rc = eo_error_set(err, EO_ENOMEM, "out of memory resolving a hierarchy");
done:
    eo_idmap__free(&seen);
    eo_ids_free(&frontier);
    eo_ids_free(&next);
    return rc;
}

static int resolve_hier(eo_env *env, const eo_model *m, eo_domain *d, eo_dnode *n, eo_error *err)
{
    size_t i;
    int rc;
    if (n->kind == EO_D_LEAF) {
        if (n->vkind == EO_DV_DOMAIN && n->sub)
            return resolve_hier(env, n->field->comodel, d, n->sub, err);
        if (n->op == EO_OP_CHILD_OF || n->op == EO_OP_PARENT_OF) {
            const eo_model *h = n->field->type == EO_FT_ID ? m : n->field->comodel;
            const eo_field *p = eo_model_field(h, h->parent_name, strlen(h->parent_name));
            eo_ids found = { 0 };
            eo_value *vals;
            char (*hex)[25];
            if (p == NULL || p->type != EO_FT_MANY2ONE || p->comodel != h) {
                rc = eo_error_set(err, EO_EINVAL,
                                  "%s: '%s' needs a hierarchy: %s.%s must be a Many2one to %s (set _parent_name)",
                                  m->name, eo_dop_name(n->op), h->name, h->parent_name, h->name);
                eo_error_where(err, m->name, n->field->name);
                return rc;
            }
            if ((rc = hierarchy(env, h, p, n->op == EO_OP_CHILD_OF, n->list, n->nlist, &found, err)) != EO_OK) {
                eo_ids_free(&found);
                return rc;
            }
            if (id_values(env, &found, &vals, &hex) != EO_OK) {
                eo_ids_free(&found);
                return eo_error_set(err, EO_ENOMEM, "out of memory");
            }
            /* copy into the domain's arena: the leaf becomes `field in ids` */
            rc = eo_domain__set_list(d, n, vals, found.n);
            eo_free(vals);
            eo_free(hex);
            eo_ids_free(&found);
            if (rc != EO_OK)
                return eo_error_set(err, EO_ENOMEM, "out of memory");
            n->op = EO_OP_IN;
        }
        return EO_OK;
    }
    for (i = 0; i < n->nkids; i++)
        if ((rc = resolve_hier(env, m, d, n->kids[i], err)) != EO_OK)
            return rc;
    return EO_OK;
}

static int has_hier(const eo_dnode *n)
{
    size_t i;
    if (n->kind == EO_D_LEAF)
        return n->op == EO_OP_CHILD_OF || n->op == EO_OP_PARENT_OF ||
               (n->vkind == EO_DV_DOMAIN && n->sub && has_hier(n->sub));
    for (i = 0; i < n->nkids; i++)
        if (has_hier(n->kids[i]))
            return 1;
    return 0;
}

int eo_orm__prepare(eo_env *env, const eo_model *m, eo_domain *d, eo_error *err)
{
    int rc;
    if ((rc = eo_env__ready(env, err)) != EO_OK)
        return rc;
    if (d == NULL)
        return EO_OK;
    if ((rc = eo_domain_bind(d, m, err)) != EO_OK)
        return rc;
    if (has_hier(eo_domain_root(d)))
        return resolve_hier(env, m, d, (eo_dnode *)eo_domain_root(d), err);
    return EO_OK;
}

static int check_refs(eo_env *env, const eo_field *f, const eo_value *vals, size_t n,
                      size_t stride, int query, eo_error *err)
{
    eo_vec uniq = EO_VEC_INIT(eo_value);
    eo_idmap seen;
    eo_ids found = { 0 };
    eo_idmap foundmap;
    eo_idkind kind = env->adapter->idkind;
    size_t i;
    int rc = EO_OK;

    memset(&seen, 0, sizeof seen);
    memset(&foundmap, 0, sizeof foundmap);
    for (i = 0; i < n; i++) {
        const eo_value *v = &vals[i * stride];
        eo_id id;
        if (v->type == EO_VNULL)
            continue;
        if (eo_id_from_value(&id, kind, v) != EO_OK) {
            rc = eo_error_set(err, EO_EINVAL, "%s.%s: %s is not a valid id of %s",
                              f->model->name, f->name,
                              v->type == EO_VTEXT ? "text" : eo_vtype_name(v->type),
                              f->comodel_name);
            eo_error_where(err, f->model->name, f->name);
            goto done;
        }
        if (eo_idmap__get(&seen, id, &(size_t){ 0 }))
            continue;
        if (eo_idmap__put(&seen, id, 0) || eo_vec__push(&uniq, v))
            goto oom;
    }
    if (uniq.len == 0 || !query)
        goto done;
    if ((rc = eo_orm__ids_where_in(env, f->comodel, f->comodel->fields[0], uniq.items,
                                   uniq.len, &found, err)) != EO_OK)
        goto done;
    if (found.n == uniq.len)
        goto done;
    for (i = 0; i < found.n; i++)
        if (eo_idmap__put(&foundmap, found.v[i], 0))
            goto oom;
    for (i = 0; i < uniq.len; i++) {
        const eo_value *v = eo_vec__at(&uniq, i);
        eo_id id;
        eo_id_from_value(&id, kind, v);
        if (!eo_idmap__get(&foundmap, id, &(size_t){ 0 })) {
            if (v->type == EO_VINT)
                rc = eo_error_set(err, EO_EVALIDATE, "%s.%s: %s(%lld) does not exist",
                                  f->model->name, f->name, f->comodel_name, (long long)v->u.i);
            else
                rc = eo_error_set(err, EO_EVALIDATE, "%s.%s: %s(%.*s) does not exist",
                                  f->model->name, f->name, f->comodel_name,
                                  (int)v->u.s.n, v->u.s.p);
            eo_error_where(err, f->model->name, f->name);
            goto done;
        }
    }
    goto done;
oom:
    rc = eo_error_set(err, EO_ENOMEM, "out of memory checking %s.%s", f->model->name, f->name);
done:
    eo_vec__free(&uniq);
    eo_idmap__free(&seen);
    eo_idmap__free(&foundmap);
    eo_ids_free(&found);
    return rc;
}

int eo_orm__check_refs(eo_env *env, const eo_field *f, const eo_value *vals, size_t n,
                       size_t stride, eo_error *err)
{
    return check_refs(env, f, vals, n, stride, 1, err);
}

int eo_orm__precheck_refs(eo_env *env, const eo_field *f, const eo_value *vals, size_t n,
                          size_t stride, int *deferred, eo_error *err)
{
    int fk = (env->caps & EO_CAP_FOREIGN_KEYS) && (f->flags & EO_FF_STORED) && f->comodel != NULL;
    if (fk)
        *deferred = 1;
    return check_refs(env, f, vals, n, stride, !fk, err);
}

int eo_orm__name_ref_failure(eo_env *env, const eo_field *const *cols, size_t ncols,
                             const eo_value *vals, size_t n, size_t stride, int rc,
                             eo_error *err)
{
    eo_error named;
    size_t j;
    if (rc != EO_EVALIDATE || err == NULL || err->field[0] != '\0')
        return rc;
    for (j = 0; j < ncols; j++) {
        if (cols[j]->type != EO_FT_MANY2ONE)
            continue;
        memset(&named, 0, sizeof named);
        if (check_refs(env, cols[j], vals + j, n, stride, 1, &named) == EO_EVALIDATE) {
            *err = named;
            return EO_EVALIDATE;
        }
    }
    return rc;
}

int eo_orm__settable(const eo_field *f, unsigned flags, eo_error *err)
{
    const char *why = NULL;
    if (f->type == EO_FT_ID)
        why = "the id is assigned by the database";
    else if ((f->flags & EO_FF_COMPUTED) && !(flags & EO_W_COMPUTE))
        why = "it is computed; assign it in its compute method";
    else if (f->type == EO_FT_ONE2MANY || f->type == EO_FT_MANY2MANY)
        why = "x2many fields are written through their commands";
    else if (f->flags & EO_FF_VERSION)
        why = "it is the record's version, which the engine increments on every write "
              "(optimistic locking)";
    else if (f->flags & (EO_FF_CREATE_DATE | EO_FF_WRITE_DATE))
        why = "it is record metadata, set by the engine on create and write";
    if (why == NULL)
        return EO_OK;
    eo_error_set(err, EO_EINVAL, "%s.%s cannot be set: %s", f->model->name, f->name, why);
    eo_error_where(err, f->model->name, f->name);
    return EO_EINVAL;
}
