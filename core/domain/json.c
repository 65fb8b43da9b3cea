/*
 * json.c - domains from JSON text (the C host API's form).
 *
 * The core's strict JSON reader (util/json.c) reports what it reads to a
 * sink; this file turns those events into builder calls, the same builder
 * the Lua binding uses, so both front ends accept and refuse the same
 * domains. The JSON is read literally: an object given as a value is data
 * to match, kept as its text exactly as written, never an operator (no
 * `{"$gt": ""}` injection) nor an Extended JSON wrapper (`{"$date": 0}`
 * is an object with the key "$date").
 *
 * Nothing recurses: nesting (leaves, value lists, `any` sub-domains) is a
 * stack of frames, and `any` sub-domains stop at EO_DOMAIN_MAX_DEPTH.
 */
#include <stdio.h>

#include "domain_int.h"
#include "../util/json.h"

typedef enum ftype { F_DOMAIN, F_LEAF, F_LIST } ftype;

typedef enum vkind { V_NONE, V_SCALAR, V_LIST, V_SUB } vkind;

typedef struct frame {
    ftype t;
    size_t pos;            /* elements seen (domain: terms; leaf: 0 path, 1 op, 2 value) */
    size_t leafpos;        /* leaf: its position in its domain, for messages */
    eo_dbuilder *b;        /* domain */
    char *path, *op;       /* leaf: copies */
    vkind vk;              /* leaf: what its value was */
    eo_value v;            /* leaf: a scalar value (text copied into `text`) */
    char *text;            /* leaf: the scalar's bytes */
    eo_domain *sub;        /* leaf: an any sub-domain */
    eo_vec vals;           /* leaf or list: eo_value, a value list */
    eo_vec texts;          /* leaf or list: char *, the list's copied bytes */
} frame;

typedef struct reader {
    eo_vec frames;         /* of frame */
    const char *json;
    size_t at;             /* where the JSON reader is (eo_json_sink.at) */
    int skip;              /* > 0: inside a value to pass over (an extra leaf element) */
    int capture;           /* > 0: inside an object value being taken as text */
    size_t cap_start;
    unsigned long events;  /* for polling the deadline */
    eo_domain *result;
    eo_error *err;
    int rc;
} reader;

/* Stop reading with an error (already set in r->err). */
static int stop(reader *r, int rc)
{
    r->rc = rc;
    return rc ? rc : EO_ERROR;
}

static int oom(reader *r)
{
    return stop(r, eo_error_set(r->err, EO_ENOMEM, "out of memory reading a domain"));
}

static frame *top(reader *r)
{
    return r->frames.len ? eo_vec__at(&r->frames, r->frames.len - 1) : NULL;
}

static void frame_free(frame *f)
{
    size_t i;
    eo_dbuilder_free(f->b);
    eo_free(f->path);
    eo_free(f->op);
    eo_free(f->text);
    eo_domain_free(f->sub);
    for (i = 0; i < f->texts.len; i++)
        eo_free(*(char **)eo_vec__at(&f->texts, i));
    eo_vec__free(&f->texts);
    eo_vec__free(&f->vals);
}

static int push(reader *r, ftype t)
{
    frame f;
    memset(&f, 0, sizeof f);
    f.t = t;
    f.vals.isize = sizeof(eo_value);
    f.texts.isize = sizeof(char *);
    if (t == F_DOMAIN && eo_dbuilder_new(&f.b, r->err) != EO_OK)
        return stop(r, EO_ENOMEM);
    if (eo_vec__push(&r->frames, &f) != EO_OK) {
        eo_dbuilder_free(f.b);
        return oom(r);
    }
    return 0;
}

static int pop(reader *r)
{
    frame_free(top(r));
    r->frames.len--;
    return 0;
}

static char *copy(const char *s, size_t n)
{
    char *p = eo_malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static size_t domain_depth(reader *r)
{
    size_t i, k = 0;
    for (i = 0; i < r->frames.len; i++)
        k += ((frame *)eo_vec__at(&r->frames, i))->t == F_DOMAIN;
    return k;
}

static int poll_deadline(reader *r)
{
    if ((++r->events & 4095u) == 0 && eo_deadline__passed())
        return stop(r, eo_error_set(r->err, EO_ETIMEOUT,
                                    "reading the domain ran past the call's time limit and was stopped"));
    return 0;
}

/*
 * A value (scalar, or an object's text) for the frame on top: a leaf's
 * third element or an item of a value list. `text` is Borrowed.
 */
static int value(reader *r, eo_value v, const char *text, size_t n)
{
    frame *f = top(r);
    if (f->t == F_LIST) {
        char *p = NULL;
        if (text && (p = copy(text, n)) == NULL)
            return oom(r);
        if (p) {
            v = eo_text(p, n);
            if (eo_vec__push(&f->texts, &p) != EO_OK) {
                eo_free(p);
                return oom(r);
            }
        }
        return eo_vec__push(&f->vals, &v) == EO_OK ? 0 : oom(r);
    }
    /* a leaf: its third element */
    if (text && (f->text = copy(text, n)) == NULL)
        return oom(r);
    if (text)
        v = eo_text(f->text, n);
    f->v = v;
    f->vk = V_SCALAR;
    return 0;
}

/* A scalar in a domain or a leaf, where only some are allowed. */
static int scalar(reader *r, eo_value v, const char *s, size_t n)
{
    frame *f;
    int rc;
    if (r->skip || r->capture)
        return 0;
    if ((rc = poll_deadline(r)) != 0)
        return rc;
    f = top(r);
    if (f == NULL)
        return stop(r, eo_error_set(r->err, EO_EINVAL, "domain: expected a JSON array"));
    if (f->t == F_DOMAIN) {
        f->pos++;
        if (s && n == 1 && (*s == '&' || *s == '|' || *s == '!'))
            return (rc = eo_dbuilder_op(f->b, *s, r->err)) == EO_OK ? 0 : stop(r, rc);
        if (s)
            return stop(r, eo_error_set(r->err, EO_EINVAL,
                                        "domain element %zu: '%.*s' is not '&', '|' or '!'", f->pos,
                                        (int)(n > 60 ? 60 : n), s));
        return stop(r, eo_error_set(r->err, EO_EINVAL,
                                    "domain element %zu: expected an operator string or a [field, operator, value] leaf",
                                    f->pos));
    }
    if (f->t == F_LIST)
        return value(r, v, s, n);
    /* a leaf: path, operator, value, then anything more is counted */
    switch (f->pos++) {
    case 0:
    case 1: {
        const char *what = f->pos == 1 ? "field name" : "operator";
        char **into = f->pos == 1 ? &f->path : &f->op;
        if (s == NULL)
            return stop(r, eo_error_set(r->err, EO_EINVAL, "domain leaf %zu: the %s must be a string",
                                        f->leafpos, what));
        if (memchr(s, '\0', n) != NULL)
            return stop(r, eo_error_set(r->err, EO_EINVAL, "domain leaf %zu: the %s holds a NUL byte",
                                        f->leafpos, what));
        if ((*into = copy(s, n)) == NULL)
            return oom(r);
        return 0;
    }
    case 2: return value(r, v, s, n);
    default: return 0;
    }
}

static int on_string(void *ud, const char *s, size_t n)
{
    return scalar(ud, eo_null(), s, n);
}
static int on_integer(void *ud, int64_t i) { return scalar(ud, eo_int(i), NULL, 0); }
static int on_number(void *ud, double d) { return scalar(ud, eo_float(d), NULL, 0); }
static int on_boolean(void *ud, int b) { return scalar(ud, eo_bool(b), NULL, 0); }
static int on_null(void *ud) { return scalar(ud, eo_null(), NULL, 0); }

static int is_any(const frame *leaf)
{
    eo_dop op;
    return leaf->op && eo_dop_parse(&op, leaf->op, strlen(leaf->op)) == EO_OK &&
           (op == EO_OP_ANY || op == EO_OP_NOT_ANY);
}

static int on_begin(void *ud, int array, int depth)
{
    reader *r = ud;
    frame *f;
    int rc;
    (void)depth;
    if (r->skip) {
        r->skip++;
        return 0;
    }
    if (r->capture) {
        r->capture++;
        return 0;
    }
    if ((rc = poll_deadline(r)) != 0)
        return rc;
    f = top(r);
    if (f == NULL) {
        if (!array)
            return stop(r, eo_error_set(r->err, EO_EINVAL, "domain: expected a JSON array"));
        return push(r, F_DOMAIN);
    }
    switch (f->t) {
    case F_DOMAIN: {
        size_t pos = ++f->pos;
        if (!array)
            return stop(r, eo_error_set(r->err, EO_EINVAL,
                                        "domain element %zu: expected an operator string or a [field, operator, value] leaf",
                                        pos));
        if ((rc = push(r, F_LEAF)) != 0)
            return rc;
        top(r)->leafpos = pos;
        return 0;
    }
    case F_LIST:
        if (array)
            return stop(r, eo_error_set(r->err, EO_EINVAL,
                                        "domain leaf %zu: a list value cannot hold lists",
                                        ((frame *)eo_vec__at(&r->frames, r->frames.len - 2))->leafpos));
        r->capture = 1;
        r->cap_start = r->at;
        return 0;
    case F_LEAF:
        switch (f->pos++) {
        case 0:
        case 1:
            return stop(r, eo_error_set(r->err, EO_EINVAL, "domain leaf %zu: the %s must be a string",
                                        f->leafpos, f->pos == 1 ? "field name" : "operator"));
        case 2:
            if (!array) {
                r->capture = 1;
                r->cap_start = r->at;
                return 0;
            }
            if (is_any(f)) {
                if (domain_depth(r) >= EO_DOMAIN_MAX_DEPTH)
                    return stop(r, eo_error_set(r->err, EO_ELIMIT,
                                                "domain nests more than %d levels deep ('any' sub-domains)",
                                                EO_DOMAIN_MAX_DEPTH));
                return push(r, F_DOMAIN);
            }
            return push(r, F_LIST);
        default:
            r->skip = 1; /* an extra element: counted, not read */
            return 0;
        }
    }
    return 0;
}

/* The leaf on top is complete: add it to its domain and drop its frame. */
static int end_leaf(reader *r)
{
    frame *f = top(r), *d = eo_vec__at(&r->frames, r->frames.len - 2);
    int rc;
    if (f->pos != 3) {
        rc = eo_error_set(r->err, EO_EINVAL,
                          "domain leaf %zu has %zu element%s, expected 3: [field, operator, value]",
                          f->leafpos, f->pos, f->pos == 1 ? "" : "s");
        return stop(r, rc);
    }
    switch (f->vk) {
    case V_SUB:
        rc = eo_dbuilder_leaf_sub(d->b, f->path, f->op, f->sub, r->err);
        f->sub = NULL; /* consumed */
        break;
    case V_LIST:
        rc = eo_dbuilder_leaf_list(d->b, f->path, f->op, f->vals.items, f->vals.len, r->err);
        break;
    default: rc = eo_dbuilder_leaf(d->b, f->path, f->op, &f->v, r->err); break;
    }
    pop(r);
    return rc == EO_OK ? 0 : stop(r, rc);
}

static int on_end(void *ud, int array)
{
    reader *r = ud;
    frame *f;
    (void)array;
    if (r->skip) {
        r->skip--;
        return 0;
    }
    if (r->capture) {
        if (--r->capture)
            return 0;
        /* the object's text, as written */
        return value(r, eo_null(), r->json + r->cap_start, r->at - r->cap_start);
    }
    f = top(r);
    switch (f->t) {
    case F_LEAF: return end_leaf(r);
    case F_LIST: {
        /* the list becomes its leaf's value: move it down */
        frame *leaf = eo_vec__at(&r->frames, r->frames.len - 2);
        eo_vec vals = f->vals, texts = f->texts;
        memset(&f->vals, 0, sizeof f->vals);
        memset(&f->texts, 0, sizeof f->texts);
        pop(r);
        leaf = top(r);
        eo_vec__free(&leaf->vals);
        leaf->vals = vals;
        leaf->texts = texts;
        leaf->vk = V_LIST;
        return 0;
    }
    case F_DOMAIN: {
        eo_domain *d = NULL;
        eo_dbuilder *b = f->b;
        int rc;
        f->b = NULL;
        pop(r);
        rc = eo_dbuilder_finish(&d, b, r->err); /* frees b */
        if (rc != EO_OK)
            return stop(r, rc);
        if ((f = top(r)) == NULL) {
            r->result = d;
            return 0;
        }
        f->sub = d; /* an any sub-domain: its leaf's value */
        f->vk = V_SUB;
        return 0;
    }
    }
    return 0;
}

int eo_domain_from_json(eo_domain **out, const char *json, size_t len, eo_error *err)
{
    reader r;
    eo_json_fail fail;
    eo_json_sink sink;
    size_t i;
    int rc;

    if (out == NULL)
        return eo_error_set(err, EO_EINVAL, "eo_domain_from_json: out is NULL");
    *out = NULL;
    if (json == NULL && len)
        return eo_error_set(err, EO_EINVAL, "eo_domain_from_json: json is NULL");
    for (i = 0; i < len && (json[i] == ' ' || json[i] == '\n' || json[i] == '\t' || json[i] == '\r'); i++)
        ;
    if (i == len)
        return eo_domain_new_true(out, err);
    if (json[i] != '[')
        return eo_error_set(err, EO_EINVAL, "domain: expected a JSON array");
    memset(&r, 0, sizeof r);
    r.frames.isize = sizeof(frame);
    r.json = json;
    r.err = err;
    memset(&sink, 0, sizeof sink);
    sink.begin = on_begin;
    sink.end = on_end;
    sink.string = on_string;
    sink.integer = on_integer;
    sink.number = on_number;
    sink.boolean = on_boolean;
    sink.null = on_null;
    sink.at = &r.at;
    memset(&fail, 0, sizeof fail);
    /* the text first (so a syntax error is reported as one, wherever it
     * is), then the domain it holds */
    rc = eo_json__read(json, len, NULL, NULL, &fail);
    if (rc == 0)
        rc = eo_json__read(json, len, &sink, &r, &fail);
    if (rc == -2) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory reading a domain");
    } else if (rc == -1) {
        if (fail.limit)
            rc = eo_error_set(err, EO_ELIMIT, "domain: the JSON nests deeper than %d levels",
                              EO_JSON_MAX_DEPTH);
        else
            rc = eo_error_set(err, EO_EINVAL, "domain: invalid JSON: %s (at byte %zu)", fail.why,
                              fail.at);
        eo_error__native(err, EO_DOMAIN_JSON, 0);
    } else if (rc != 0) {
        rc = r.rc ? r.rc : EO_ERROR;
    } else if (r.result == NULL) {
        rc = eo_error_set(err, EO_EINVAL, "domain: expected a JSON array");
    }
    while (r.frames.len)
        pop(&r);
    eo_vec__free(&r.frames);
    if (rc != EO_OK) {
        eo_domain_free(r.result);
        return rc;
    }
    *out = r.result;
    eo_error_clear(err);
    return EO_OK;
}
