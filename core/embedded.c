/*
 * embedded.c - sub-record types and the canonical values of Embedded and
 * List fields (embedded.h).
 *
 * A registry keeps its sub-record types in a second registry of its own
 * (model.c's `embedded` slot), so they never show up where models are
 * listed (migration, dependency graph, fields_get) and their fields are
 * ordinary eo_fields: the conversion and one-value checks of convert.c run
 * on them unchanged.
 *
 * Normalizing reads the JSON text into a small tree (in an arena), then
 * writes each sub-record back in declaration order: unknown keys refused
 * with the closest name, every value through eo_field__convert with its
 * checks, defaults filled in, required sub-fields checked, unset ones left
 * out. What it does not do: relational sub-fields, sub-records inside
 * sub-records, Binary and Decimal sub-fields (refused when declared).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "embedded_int.h"
#include "internal.h"
#include "util/json.h"
#include "util/suggest.h"

/* ---- types ---- */

int eo_registry_add_embedded(eo_model **out, eo_registry *reg, const char *name, eo_error *err)
{
    eo_registry **slot;
    eo_model *m = NULL;
    int rc;
    EO_ENTER();
    EO_REQUIRE(out);
    *out = NULL;
    EO_REQUIRE(reg);
    EO_REQUIRE(name);
    if (eo_registry_find(reg, name) != NULL)
        return eo_error_set(err, EO_ECONFLICT,
                            "embedded type %s: a model has that name already", name);
    slot = eo_registry__embedded(reg);
    if (*slot == NULL && (rc = eo_registry_new(slot, err)) != EO_OK)
        return rc;
    if ((rc = eo_registry_add_model(&m, *slot, name, err)) != EO_OK) {
        if (rc == EO_ECONFLICT)
            eo_error_set(err, EO_ECONFLICT, "embedded type %s is already declared", name);
        return rc;
    }
    m->embedded = 1;
    *out = m;
    return EO_OK;
}

eo_model *eo_registry_find_embedded(const eo_registry *reg, const char *name)
{
    eo_registry **slot;
    if (reg == NULL || name == NULL)
        return NULL;
    slot = eo_registry__embedded((eo_registry *)reg);
    return *slot ? eo_registry_find(*slot, name) : NULL;
}

const char *eo_embedded__refused(const eo_model *m, const eo_field_spec *spec)
{
    unsigned bad = spec->flags & (EO_FF_UNIQUE | EO_FF_INDEX | EO_FF_READONLY | EO_FF_COMPUTED |
                                  EO_FF_DEFAULT_FN | EO_FF_NOPREFETCH | EO_FF_NOCOPY |
                                  EO_FF_TRACKED | EO_FF_RECURSIVE | EO_FF_INVERSE |
                                  EO_FF_SEARCHABLE);
    if (!m->embedded) {
        if ((spec->type == EO_FT_EMBEDDED || spec->type == EO_FT_LIST) &&
            (spec->comodel == NULL || *spec->comodel == '\0'))
            return spec->type == EO_FT_LIST
                       ? "a List needs its element as first argument: List{ Embedded{ \"type\" } }"
                       : "an Embedded field needs the sub-record type's name as its first argument";
        if ((spec->type == EO_FT_EMBEDDED || spec->type == EO_FT_LIST) &&
            (spec->flags & (EO_FF_UNIQUE | EO_FF_INDEX)))
            return "unique and index do not apply to Embedded and List fields (a JSON value "
                   "has no one key to index; search by a sub-field instead)";
        return NULL;
    }
    switch (spec->type) {
    case EO_FT_MANY2ONE:
    case EO_FT_ONE2MANY:
    case EO_FT_MANY2MANY:
        return "relational fields are not supported inside an embedded record "
               "(store an id in an Integer or Char field, or use a model)";
    case EO_FT_EMBEDDED:
    case EO_FT_LIST:
        return "an embedded record cannot hold Embedded or List fields yet";
    case EO_FT_BINARY:
        return "a Binary field cannot be part of an embedded record (JSON holds no bytes)";
    case EO_FT_DECIMAL:
        return "a Decimal field cannot be part of an embedded record yet (use Float, or Char)";
    default: break;
    }
    if (bad & EO_FF_COMPUTED)
        return "computed fields are not supported inside an embedded record";
    if (bad & EO_FF_DEFAULT_FN)
        return "a default inside an embedded record must be a value, not a function";
    if (bad)
        return "options unique, index, readonly, copy, prefetch and tracking do not apply "
               "inside an embedded record";
    if (spec->store)
        return "option store does not apply inside an embedded record";
    return NULL;
}

int eo_embedded__resolve(eo_registry *reg, const eo_model *m, eo_field *f, eo_error *err)
{
    eo_registry **slot = eo_registry__embedded(reg);
    char hint[96];
    const char **names = NULL;
    size_t n = 0, i;
    if (f->embedded != NULL || f->comodel_name == NULL)
        return EO_OK;
    if ((f->embedded = eo_registry_find_embedded(reg, f->comodel_name)) != NULL)
        return EO_OK;
    if (eo_registry_find(reg, f->comodel_name) != NULL) {
        eo_error_set(err, EO_EINVAL,
                     "%s.%s: %s is a model, not an embedded type (declare one with "
                     "orm.embedded, or use a Many2one)",
                     m->name, f->name, f->comodel_name);
        eo_error_where(err, m->name, f->name);
        return EO_EINVAL;
    }
    hint[0] = '\0';
    if (*slot && (n = eo_registry_count(*slot)) > 0 &&
        (names = eo_malloc(n * sizeof *names)) != NULL) {
        for (i = 0; i < n; i++)
            names[i] = eo_registry_at(*slot, i)->name;
        eo_suggest__hint(hint, sizeof hint, f->comodel_name, names, n);
    }
    eo_free(names);
    eo_error_set(err, EO_ENOTFOUND, "%s.%s: unknown embedded type '%s'%s", m->name, f->name,
                 f->comodel_name, hint);
    eo_error_where(err, m->name, f->name);
    return EO_ENOTFOUND;
}

/* ---- the JSON tree ---- */

typedef struct jnode {
    char kind;              /* 'o' object, 'a' array, 's' string, 'i' integer,
                               'n' number, 'b' boolean, 'z' null */
    const char *key;        /* in an object: the key (arena) */
    size_t klen;
    eo_value v;             /* scalars: the value (text in the arena) */
    size_t start, end;      /* objects and arrays: their text [start, end) */
    size_t count;           /* objects and arrays: number of children */
    struct jnode *first, *last, *next, *parent;
} jnode;

typedef struct reader {
    eo_arena *a;
    jnode *root, *cur;
    const char *key;        /* the key the next value goes under */
    size_t klen;
    size_t at;              /* eo_json_sink.at */
} reader;

static jnode *add(reader *r, char kind)
{
    jnode *n = eo_arena__alloc(r->a, sizeof *n);
    if (n == NULL)
        return NULL;
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->key = r->key;
    n->klen = r->klen;
    n->start = r->at;
    r->key = NULL;
    r->klen = 0;
    n->parent = r->cur;
    if (r->cur) {
        if (r->cur->last)
            r->cur->last->next = n;
        else
            r->cur->first = n;
        r->cur->last = n;
        r->cur->count++;
    } else {
        r->root = n;
    }
    return n;
}

static int on_begin(void *ud, int array, int depth)
{
    reader *r = ud;
    jnode *n = add(r, array ? 'a' : 'o');
    (void)depth;
    if (n == NULL)
        return 3;
    r->cur = n;
    return 0;
}

static int on_end(void *ud, int array)
{
    reader *r = ud;
    (void)array;
    r->cur->end = r->at;
    r->cur = r->cur->parent;
    return 0;
}

static int on_key(void *ud, const char *k, size_t n)
{
    reader *r = ud;
    if ((r->key = eo_arena__strndup(r->a, k, n)) == NULL)
        return 3;
    r->klen = n;
    return 0;
}

static int on_string(void *ud, const char *s, size_t n)
{
    reader *r = ud;
    jnode *x = add(r, 's');
    char *p;
    if (x == NULL || (p = eo_arena__strndup(r->a, s, n)) == NULL)
        return 3;
    x->v = eo_text(p, n);
    return 0;
}

static int on_integer(void *ud, int64_t i)
{
    jnode *x = add(ud, 'i');
    if (x == NULL)
        return 3;
    x->v = eo_int(i);
    return 0;
}

static int on_number(void *ud, double d)
{
    jnode *x = add(ud, 'n');
    if (x == NULL)
        return 3;
    x->v = eo_float(d);
    return 0;
}

static int on_boolean(void *ud, int b)
{
    jnode *x = add(ud, 'b');
    if (x == NULL)
        return 3;
    x->v = eo_bool(b);
    return 0;
}

static int on_null(void *ud)
{
    return add(ud, 'z') ? 0 : 3;
}

/* ---- writing ---- */

typedef struct norm {
    const eo_field *f;      /* the Embedded or List field */
    const char *text;       /* the input */
    eo_buf out;
    eo_error *err;
    char path[192];         /* "address" / "items[2]": the field's path below its model */
} norm;

static void put_string(eo_buf *b, const char *s, size_t n)
{
    size_t i;
    eo_buf__putc(b, '"');
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            eo_buf__printf(b, "\\%c", c);
        else if (c == '\n')
            eo_buf__puts(b, "\\n");
        else if (c == '\t')
            eo_buf__puts(b, "\\t");
        else if (c == '\r')
            eo_buf__puts(b, "\\r");
        else if (c < 0x20)
            eo_buf__printf(b, "\\u%04x", c);
        else
            eo_buf__putc(b, (char)c);
    }
    eo_buf__putc(b, '"');
}

/* The shortest text reading back as d, with a point or an exponent so it
 * reads back as a float (as the Lua JSON writer does). */
static void put_float(eo_buf *b, double d)
{
    char buf[40];
    int p;
    for (p = 1; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    eo_buf__puts(b, buf);
    if (!strpbrk(buf, ".eEni"))
        eo_buf__puts(b, ".0");
}

static void put_value(eo_buf *b, const eo_value *v)
{
    switch (v->type) {
    case EO_VNULL: eo_buf__puts(b, "null"); break;
    case EO_VBOOL: eo_buf__puts(b, v->u.b ? "true" : "false"); break;
    case EO_VINT: eo_buf__put_int(b, (int64_t)v->u.i); break;
    case EO_VFLOAT: put_float(b, v->u.f); break;
    case EO_VTEXT:
    case EO_VBLOB: put_string(b, v->u.s.p, v->u.s.n); break;
    }
}

static const char *kind_name(char k)
{
    switch (k) {
    case 'o': return "an object";
    case 'a': return "a list";
    case 's': return "a string";
    case 'i': return "an integer";
    case 'n': return "a number";
    case 'b': return "a boolean";
    default: return "null";
    }
}

/* An error about the path (plus ".sub" when sub is not NULL). */
static int path_error(norm *z, int code, const char *sub, const char *what)
{
    const eo_model *m = z->f->model;
    char field[320];
    snprintf(field, sizeof field, "%.191s%s%.100s", z->path, sub ? "." : "", sub ? sub : "");
    eo_error_set(z->err, code, "%s.%s: %s", m->name, field, what);
    eo_error_where(z->err, m->name, field);
    return code;
}

/* One sub-record (node x) of type t. */
static int record(norm *z, const eo_model *t, const jnode *x)
{
    const jnode *c;
    const jnode **given;
    size_t i;
    int rc = EO_OK, first = 1;
    char what[300];
    if (x->kind == 'a' && x->count == 0) {
        /* an empty Lua table: an empty sub-record */
    } else if (x->kind != 'o') {
        snprintf(what, sizeof what, "expected a table for embedded type %s, got %s", t->name,
                 kind_name(x->kind));
        return path_error(z, EO_EINVAL, NULL, what);
    }
    given = eo_calloc(t->nfields ? t->nfields : 1, sizeof *given);
    if (given == NULL)
        return eo_error_set(z->err, EO_ENOMEM, "out of memory");
    for (c = x->kind == 'o' ? x->first : NULL; c; c = c->next) {
        const eo_field *sf = c->klen ? eo_model_field(t, c->key, c->klen) : NULL;
        if (sf == NULL || sf->index == 0) {
            const char **names = eo_malloc(t->nfields * sizeof *names);
            char hint[96] = "";
            if (names) {
                for (i = 1; i < t->nfields; i++)
                    names[i - 1] = t->fields[i]->name;
                eo_suggest__hint(hint, sizeof hint, c->key, names, t->nfields - 1);
                eo_free(names);
            }
            snprintf(what, sizeof what, "embedded type %s has no field '%.*s'%s", t->name,
                     (int)(c->klen > 64 ? 64 : c->klen), c->key, hint);
            rc = path_error(z, EO_EINVAL, NULL, what);
            goto done;
        }
        if (given[sf->index]) {
            rc = path_error(z, EO_EINVAL, sf->name, "given twice");
            goto done;
        }
        given[sf->index] = c;
    }
    eo_buf__putc(&z->out, '{');
    for (i = 1; i < t->nfields; i++) {
        const eo_field *sf = t->fields[i];
        const jnode *v = given[i];
        eo_value in = eo_null(), conv;
        eo_value_scratch sc;
        eo_error sub;
        if (v && (v->kind == 'o' || v->kind == 'a')) {
            if (sf->type != EO_FT_JSON) {
                snprintf(what, sizeof what, "expected a value for a %s field, got %s",
                         eo_ftype_name(sf->type), kind_name(v->kind));
                rc = path_error(z, EO_EINVAL, sf->name, what);
                goto done;
            }
            /* a Json sub-field: its text as written (read and checked above) */
            if (!first)
                eo_buf__putc(&z->out, ',');
            first = 0;
            put_string(&z->out, sf->name, strlen(sf->name));
            eo_buf__putc(&z->out, ':');
            eo_buf__put(&z->out, z->text + v->start, v->end - v->start);
            continue;
        }
        if (v && v->kind != 'z')
            in = v->v;
        else if (sf->flags & EO_FF_DEFAULT)
            in = sf->def;
        if (in.type == EO_VNULL) {
            if (sf->flags & EO_FF_REQUIRED) {
                rc = path_error(z, EO_EVALIDATE, sf->name, "required field missing");
                goto done;
            }
            continue;
        }
        memset(&sc, 0, sizeof sc);
        eo_error_clear(&sub);
        if (sf->type == EO_FT_JSON) {
            /* a scalar Json value: as it came */
            conv = in;
        } else if ((rc = eo_field__convert(sf, &in, &conv, &sc, 1, &sub)) != EO_OK) {
            /* the converter's words, under the path */
            const char *w = strstr(sub.msg, ": ");
            rc = path_error(z, rc, sf->name, w ? w + 2 : sub.msg);
            goto done;
        }
        if (conv.type == EO_VNULL) {
            if (sf->flags & EO_FF_REQUIRED) {
                rc = path_error(z, EO_EVALIDATE, sf->name, "required field missing");
                goto done;
            }
            continue;
        }
        if (!first)
            eo_buf__putc(&z->out, ',');
        first = 0;
        put_string(&z->out, sf->name, strlen(sf->name));
        eo_buf__putc(&z->out, ':');
        put_value(&z->out, &conv);
    }
    eo_buf__putc(&z->out, '}');
done:
    eo_free(given);
    return rc;
}

int eo_embedded_normalize(char **out, size_t *outlen, const eo_field *f, const char *json,
                          size_t len, eo_error *err)
{
    eo_arena a;
    reader r;
    norm z;
    eo_json_sink sink;
    eo_json_fail why;
    const eo_model *t;
    int rc;
    EO_ENTER();
    EO_REQUIRE(out);
    *out = NULL;
    if (outlen)
        *outlen = 0;
    EO_REQUIRE(f);
    EO_REQUIRE(json);
    if (!eo_embedded__is(f))
        return eo_error_set(err, EO_EINVAL, "eo_embedded_normalize: %s.%s is not an Embedded "
                            "or List field", f->model ? f->model->name : "?", f->name);
    if ((t = f->embedded) == NULL) {
        eo_error_set(err, EO_ENOTFOUND, "%s.%s: embedded type '%s' is not resolved (declare it "
                     "with orm.embedded before the first operation)",
                     f->model ? f->model->name : "?", f->name,
                     f->comodel_name ? f->comodel_name : "?");
        eo_error_where(err, f->model ? f->model->name : NULL, f->name);
        return EO_ENOTFOUND;
    }
    memset(&a, 0, sizeof a);
    memset(&r, 0, sizeof r);
    memset(&z, 0, sizeof z);
    memset(&sink, 0, sizeof sink);
    r.a = &a;
    sink.begin = on_begin;
    sink.end = on_end;
    sink.key = on_key;
    sink.string = on_string;
    sink.integer = on_integer;
    sink.number = on_number;
    sink.boolean = on_boolean;
    sink.null = on_null;
    sink.at = &r.at;
    z.f = f;
    z.text = json;
    z.err = err;
    snprintf(z.path, sizeof z.path, "%s", f->name);
    rc = eo_json__read(json, len, &sink, &r, &why);
    if (rc == -2 || rc == 3) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    if (rc != 0) {
        char what[200];
        snprintf(what, sizeof what, "not valid JSON: %s (at byte %zu)", why.why, why.at);
        rc = path_error(&z, why.limit ? EO_ELIMIT : EO_EINVAL, NULL, what);
        goto done;
    }
    if (f->type == EO_FT_EMBEDDED) {
        rc = record(&z, t, r.root);
    } else if (r.root->kind != 'a' && !(r.root->kind == 'o' && r.root->count == 0)) {
        char what[200];
        snprintf(what, sizeof what, "expected a list of %s records, got %s", t->name,
                 kind_name(r.root->kind));
        rc = path_error(&z, EO_EINVAL, NULL, what);
    } else {
        const jnode *c;
        size_t i = 1;
        rc = EO_OK;
        eo_buf__putc(&z.out, '[');
        for (c = r.root->first; c && rc == EO_OK; c = c->next, i++) {
            snprintf(z.path, sizeof z.path, "%s[%zu]", f->name, i);
            if (i > 1)
                eo_buf__putc(&z.out, ',');
            rc = record(&z, t, c);
        }
        eo_buf__putc(&z.out, ']');
    }
    if (rc == EO_OK && z.out.oom)
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
    if (rc == EO_OK) {
        if (outlen)
            *outlen = z.out.len;
        *out = eo_buf__detach(&z.out);
    }
done:
    eo_buf__free(&z.out);
    eo_arena__free(&a);
    return rc;
}

int eo_embedded__check(const eo_field *f, const eo_value *in, eo_value *out, eo_error *err)
{
    char *canon = NULL;
    size_t n = 0;
    int rc;
    if (in->type != EO_VTEXT) {
        eo_error_set(err, EO_EINVAL, "%s.%s: expected the JSON text of %s, got %s",
                     f->model ? f->model->name : "?", f->name,
                     f->type == EO_FT_LIST ? "a list of records" : "a record",
                     eo_vtype_name(in->type));
        eo_error_where(err, f->model ? f->model->name : NULL, f->name);
        return EO_EINVAL;
    }
    if ((rc = eo_embedded_normalize(&canon, &n, f, in->u.s.p, in->u.s.n, err)) != EO_OK)
        return rc;
    if (n != in->u.s.n || memcmp(canon, in->u.s.p, n) != 0) {
        eo_free(canon);
        eo_error_set(err, EO_EINVAL, "%s.%s: the value is not in canonical form (pass it "
                     "through eo_embedded_normalize)",
                     f->model ? f->model->name : "?", f->name);
        eo_error_where(err, f->model ? f->model->name : NULL, f->name);
        return EO_EINVAL;
    }
    eo_free(canon);
    *out = *in;
    out->owned = 0;
    return EO_OK;
}
