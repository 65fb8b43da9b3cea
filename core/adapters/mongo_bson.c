/*
 * mongo_bson.c - values to and from BSON, and domains to filter documents.
 *
 * Storage: ids and Many2one as ObjectId; Date and Datetime as BSON
 * datetimes (UTC; Date at midnight; milliseconds kept, microseconds lost);
 * Json as the BSON value of its plain JSON (one that would not read back
 * the same, e.g. with '$' or '.' in a key, goes as {"__json__": "<text>"}:
 * see append_json); Binary as
 * BSON binary; Decimal as Decimal128 where the server stores it, else (on
 * FerretDB) as a 64-bit integer scaled by 10^scale, exact and sortable.
 *
 * Filters keep the semantics of the SQL compiler: `!=`, `not in`, `not
 * like` and negations match a missing or null field; `like` matches a
 * literal substring (an escaped regular expression), `=like` an anchored
 * pattern. Values are always BSON values (plain for equality, else under
 * $in/$gt/...): a value that looks like {"$gt": ""} is data, never an
 * operator (Json with such keys is stored and matched as text).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "mongo_int.h"
#include "../embedded_int.h"
#include "../util/json.h"

const char *mg__key(const eo_field *f)
{
    return f->type == EO_FT_ID ? "_id" : f->column ? f->column : f->name;
}

static int bad_value(eo_error *err, const eo_field *f, const char *what)
{
    eo_error_set(err, EO_EINVAL, "%s.%s: %s", f->model ? f->model->name : "?", f->name, what);
    eo_error_where(err, f->model ? f->model->name : NULL, f->name);
    return EO_EINVAL;
}

/*
 * Json text to BSON. The text is read as plain JSON (util/json.c), never as
 * extended JSON: {"$date": 0} or {"$numberLong": "5"} is an object with one
 * key, not a date or a number. A value that cannot be stored as a BSON
 * value with the same meaning goes whole as text, {"__json__": "<text>"}:
 * keys with a leading '$' or a '.', empty or repeated keys (servers refuse
 * or rewrite them), a top-level object with a "__json__" key (it would read
 * as the escape), a top-level null (it would read as unset), nesting past
 * MG_JSON_DEPTH (servers cap documents at 100 levels) and, on FerretDB, an
 * array directly inside an array (FerretDB refuses those) or a negative
 * zero (it reads back as 0.0).
 */
#define MG_JSON_DEPTH 64

typedef struct jbuild {
    bson_t *st;         /* st[0] the wrapper {"v": ...}; st[d] the open level d */
    char kind[MG_JSON_DEPTH + 2]; /* 'a' array, 'o' object, per level */
    uint32_t next[MG_JSON_DEPTH + 2]; /* next array index, per level */
    size_t depth;
    eo_buf key;         /* the pending member name (the reader reuses its buffer) */
    int have_key;
    int ferret;
    int awkward;        /* set: store as text */
} jbuild;

#define JB_STOP 1       /* a callback's "stop": the value goes as text */

/* The key for the next value at the current level. */
static void jb_key(jbuild *b, const char **k, int *klen, char *ibuf, size_t icap)
{
    if (b->kind[b->depth] == 'a') {
        size_t n = bson_uint32_to_string(b->next[b->depth]++, k, ibuf, icap);
        *klen = (int)n;
    } else if (b->depth == 0) {
        *k = "v";
        *klen = 1;
    } else {
        *k = b->key.p ? b->key.p : "";
        *klen = (int)b->key.len;
    }
}

static int jb_begin(void *ud, int array, int depth)
{
    jbuild *b = ud;
    const char *k;
    int klen;
    char ib[16];
    (void)depth;
    if (b->depth >= MG_JSON_DEPTH || (array && b->ferret && b->kind[b->depth] == 'a')) {
        b->awkward = 1;
        return JB_STOP;
    }
    jb_key(b, &k, &klen, ib, sizeof ib);
    if (array)
        bson_append_array_begin(&b->st[b->depth], k, klen, &b->st[b->depth + 1]);
    else
        bson_append_document_begin(&b->st[b->depth], k, klen, &b->st[b->depth + 1]);
    b->depth++;
    b->kind[b->depth] = array ? 'a' : 'o';
    b->next[b->depth] = 0;
    return 0;
}

static int jb_end(void *ud, int array)
{
    jbuild *b = ud;
    if (array)
        bson_append_array_end(&b->st[b->depth - 1], &b->st[b->depth]);
    else
        bson_append_document_end(&b->st[b->depth - 1], &b->st[b->depth]);
    b->depth--;
    return 0;
}

static int jb_member(void *ud, const char *k, size_t n)
{
    jbuild *b = ud;
    if (n == 0 || k[0] == '$' || memchr(k, '.', n) ||
        (b->depth == 1 && n == 8 && memcmp(k, "__json__", 8) == 0)) {
        b->awkward = 1;
        return JB_STOP;
    }
    eo_buf__reset(&b->key);
    if (eo_buf__put(&b->key, k, n) != EO_OK)
        return -2;
    return 0;
}

static int jb_string(void *ud, const char *s, size_t n)
{
    jbuild *b = ud;
    const char *k;
    int klen;
    char ib[16];
    jb_key(b, &k, &klen, ib, sizeof ib);
    bson_append_utf8(&b->st[b->depth], k, klen, s, (int)n);
    return 0;
}

static int jb_integer(void *ud, int64_t i)
{
    jbuild *b = ud;
    const char *k;
    int klen;
    char ib[16];
    jb_key(b, &k, &klen, ib, sizeof ib);
    /* int32 when it fits, as the data stored before this reader */
    if (i >= INT32_MIN && i <= INT32_MAX)
        bson_append_int32(&b->st[b->depth], k, klen, (int32_t)i);
    else
        bson_append_int64(&b->st[b->depth], k, klen, i);
    return 0;
}

static int jb_number(void *ud, double d)
{
    jbuild *b = ud;
    const char *k;
    int klen;
    char ib[16];
    if (d == 0 && signbit(d) && b->ferret) {
        b->awkward = 1; /* FerretDB reads -0.0 back as 0.0 */
        return JB_STOP;
    }
    jb_key(b, &k, &klen, ib, sizeof ib);
    bson_append_double(&b->st[b->depth], k, klen, d);
    return 0;
}

static int jb_boolean(void *ud, int v)
{
    jbuild *b = ud;
    const char *k;
    int klen;
    char ib[16];
    jb_key(b, &k, &klen, ib, sizeof ib);
    bson_append_bool(&b->st[b->depth], k, klen, v != 0);
    return 0;
}

static int jb_null(void *ud)
{
    jbuild *b = ud;
    const char *k;
    int klen;
    char ib[16];
    if (b->depth == 0) {
        b->awkward = 1;
        return JB_STOP;
    }
    jb_key(b, &k, &klen, ib, sizeof ib);
    bson_append_null(&b->st[b->depth], k, klen);
    return 0;
}

static const eo_json_sink jb_sink = {
    jb_begin, jb_end, jb_member, jb_string, jb_integer, jb_number, jb_boolean, jb_null, NULL,
};

static int cmp_key(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    return strcmp(x, y);
}

/* Does a document (not an array) at any level repeat a key? */
static int repeated_keys(const bson_t *doc, int array, int depth)
{
    bson_iter_t it;
    const char *small[32], **keys = small;
    size_t n = 0, cap = 32, i;
    int dup = 0;
    if (depth > MG_JSON_DEPTH + 1 || !bson_iter_init(&it, doc))
        return 0;
    while (!dup && bson_iter_next(&it)) {
        if (BSON_ITER_HOLDS_DOCUMENT(&it) || BSON_ITER_HOLDS_ARRAY(&it)) {
            const uint8_t *data;
            uint32_t len;
            bson_t sub;
            int arr = BSON_ITER_HOLDS_ARRAY(&it);
            if (arr)
                bson_iter_array(&it, &len, &data);
            else
                bson_iter_document(&it, &len, &data);
            if (bson_init_static(&sub, data, len) && repeated_keys(&sub, arr, depth + 1))
                dup = 1;
        }
        if (array)
            continue;
        if (n == cap) {
            const char **more = eo_malloc(cap * 2 * sizeof *more);
            if (more == NULL) {
                dup = 1; /* the text form is always right */
                break;
            }
            memcpy(more, keys, n * sizeof *keys);
            if (keys != small)
                eo_free(keys);
            keys = more;
            cap *= 2;
        }
        keys[n++] = bson_iter_key(&it);
    }
    if (!dup && n > 1) {
        qsort(keys, n, sizeof *keys, cmp_key);
        for (i = 1; i < n && !dup; i++)
            dup = strcmp(keys[i - 1], keys[i]) == 0;
    }
    if (keys != small)
        eo_free(keys);
    return dup;
}

static int append_json(mg_conn *c, bson_t *doc, const char *key, const eo_field *f,
                       const eo_value *v, eo_error *err)
{
    jbuild b;
    eo_json_fail why;
    bson_iter_t it;
    int r, rc = EO_OK;
    memset(&b, 0, sizeof b);
    b.ferret = c->ferret;
    b.kind[0] = 'o';
    b.st = eo_malloc((MG_JSON_DEPTH + 2) * sizeof *b.st);
    if (b.st == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    bson_init(&b.st[0]);
    r = eo_json__read(v->u.s.p, v->u.s.n, &jb_sink, &b, &why);
    if (r == -2) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
    } else if (r == -1) {
        rc = bad_value(err, f, "the value is not valid JSON");
    } else if (b.awkward || repeated_keys(&b.st[0], 0, 0)) {
        /* keep it whole, as text */
        bson_t sub;
        bson_append_document_begin(doc, key, -1, &sub);
        bson_append_utf8(&sub, "__json__", -1, v->u.s.p, (int)v->u.s.n);
        bson_append_document_end(doc, &sub);
    } else if (bson_iter_init_find(&it, &b.st[0], "v")) {
        if (!bson_append_value(doc, key, -1, bson_iter_value(&it)))
            rc = eo_error_set(err, EO_ENOMEM, "out of memory");
    }
    /* a stopped reading leaves levels open: only the root owns memory */
    bson_destroy(&b.st[0]);
    eo_free(b.st);
    eo_buf__free(&b.key);
    return rc;
}

int mg__append(mg_conn *c, bson_t *doc, const char *key, const eo_field *f, const eo_value *v,
               eo_error *err)
{
    if (v->type == EO_VNULL) {
        bson_append_null(doc, key, -1);
        return EO_OK;
    }
    /* a sub-field's value is compared with the sub-document's plain JSON */
    switch (f && !eo_embedded__is_sub(f) ? eo_ftype_base(f->type) : EO_FT_TEXT) {
    case EO_FT_ID:
    case EO_FT_MANY2ONE: {
        bson_oid_t oid;
        char hex[25];
        if (v->type == EO_VTEXT && v->u.s.n == 24) {
            memcpy(hex, v->u.s.p, 24);
            hex[24] = '\0';
            if (bson_oid_is_valid(hex, 24)) {
                bson_oid_init_from_string(&oid, hex);
                bson_append_oid(doc, key, -1, &oid);
                return EO_OK;
            }
        }
        return bad_value(err, f, "expected a record id (24 hexadecimal digits on MongoDB)");
    }
    case EO_FT_DATE:
    case EO_FT_DATETIME: {
        int64_t us;
        if (v->type != EO_VTEXT || eo_datetime__to_us(v->u.s.p, v->u.s.n, &us))
            return bad_value(err, f, "expected a date");
        bson_append_date_time(doc, key, -1, us >= 0 ? us / 1000 : -((-us + 999) / 1000));
        return EO_OK;
    }
    case EO_FT_DECIMAL:
        if (v->type == EO_VTEXT) {
            if (c->decimal128) {
                bson_decimal128_t d;
                char buf[64];
                snprintf(buf, sizeof buf, "%.*s", (int)v->u.s.n, v->u.s.p);
                if (bson_decimal128_from_string(buf, &d)) {
                    bson_append_decimal128(doc, key, -1, &d);
                    return EO_OK;
                }
            } else {
                int64_t n;
                if (eo_decimal__to_scaled(v->u.s.p, v->u.s.n, f->scale, &n) == 0) {
                    bson_append_int64(doc, key, -1, n);
                    return EO_OK;
                }
            }
        }
        return bad_value(err, f, "expected a decimal number");
    case EO_FT_JSON:
    case EO_FT_EMBEDDED:
    case EO_FT_LIST:
        if (v->type == EO_VTEXT)
            return append_json(c, doc, key, f, v, err);
        break;
    default:
        break;
    }
    switch (v->type) {
    case EO_VBOOL: bson_append_bool(doc, key, -1, v->u.b); break;
    case EO_VINT: bson_append_int64(doc, key, -1, v->u.i); break;
    case EO_VFLOAT:
        if (!isfinite(v->u.f)) {
            /* conversion refuses these; never send one: FerretDB drops the
             * connection on a NaN, which would read as an outage */
            if (f)
                return bad_value(err, f, "NaN and infinity cannot be stored");
            return eo_error_set(err, EO_EINVAL, "mongodb: NaN and infinity cannot be sent");
        }
        bson_append_double(doc, key, -1, v->u.f);
        break;
    case EO_VTEXT: bson_append_utf8(doc, key, -1, v->u.s.p, (int)v->u.s.n); break;
    case EO_VBLOB:
        bson_append_binary(doc, key, -1, BSON_SUBTYPE_BINARY, (const uint8_t *)v->u.s.p,
                           (uint32_t)v->u.s.n);
        break;
    case EO_VNULL: bson_append_null(doc, key, -1); break;
    }
    return EO_OK;
}

static char *keep(mg_scratch *s, const char *p, size_t n)
{
    return eo_arena__strndup(&s->arena, p, n);
}

/* JSON text of the value at it (relaxed extended JSON, the wrapper cut off). */
static int json_text(bson_iter_t *it, mg_scratch *s, eo_value *out, eo_error *err)
{
    bson_t w;
    char *j;
    size_t n;
    bson_init(&w);
    bson_append_value(&w, "v", 1, bson_iter_value(it));
    j = bson_as_relaxed_extended_json(&w, &n);
    bson_destroy(&w);
    if (j == NULL || n < 10) {
        bson_free(j);
        return eo_error_set(err, EO_ERROR, "mongodb: cannot render a JSON value");
    }
    *out = eo_text(keep(s, j + 8, n - 10), n - 10);
    bson_free(j);
    return out->u.s.p ? EO_OK : eo_error_set(err, EO_ENOMEM, "out of memory");
}

/* A JSON string literal of s. */
static void put_json_string(eo_buf *b, const char *s, size_t n)
{
    size_t i;
    eo_buf__putc(b, '"');
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            eo_buf__putc(b, '\\');
            eo_buf__putc(b, (char)ch);
        } else if (ch == '\n') {
            eo_buf__puts(b, "\\n");
        } else if (ch == '\t') {
            eo_buf__puts(b, "\\t");
        } else if (ch == '\r') {
            eo_buf__puts(b, "\\r");
        } else if (ch < 0x20 || ch == 0x7f) {
            eo_buf__printf(b, "\\u%04x", ch);
        } else {
            eo_buf__putc(b, (char)ch);
        }
    }
    eo_buf__putc(b, '"');
}

/* The element at it as relaxed extended JSON (types plain JSON lacks:
 * dates, ids, binaries... written by other clients). */
static void put_extended(eo_buf *b, const bson_iter_t *it)
{
    bson_t w;
    char *j;
    size_t n;
    bson_init(&w);
    bson_append_value(&w, "v", 1, bson_iter_value((bson_iter_t *)it));
    j = bson_as_relaxed_extended_json(&w, &n);
    bson_destroy(&w);
    if (j == NULL || n < 10)
        eo_buf__puts(b, "null");
    else
        eo_buf__put(b, j + 8, n - 10);
    bson_free(j);
}

/*
 * Plain JSON text of the element at it: what append_json read, written
 * back (numbers keep integer or float form: 1.0 stays 1.0). Nesting is
 * bounded by the server's 100 levels.
 */
static void put_json(eo_buf *b, const bson_iter_t *it, int depth)
{
    switch (bson_iter_type(it)) {
    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY: {
        int array = BSON_ITER_HOLDS_ARRAY(it);
        bson_iter_t sub;
        int first = 1;
        if (depth > 128 || !bson_iter_recurse(it, &sub)) {
            put_extended(b, it);
            return;
        }
        eo_buf__putc(b, array ? '[' : '{');
        while (bson_iter_next(&sub)) {
            if (!first)
                eo_buf__putc(b, ',');
            first = 0;
            if (!array) {
                put_json_string(b, bson_iter_key(&sub), bson_iter_key_len(&sub));
                eo_buf__putc(b, ':');
            }
            put_json(b, &sub, depth + 1);
        }
        eo_buf__putc(b, array ? ']' : '}');
        return;
    }
    case BSON_TYPE_UTF8: {
        uint32_t len;
        const char *p = bson_iter_utf8(it, &len);
        put_json_string(b, p, len);
        return;
    }
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
        eo_buf__put_int(b, (int64_t)bson_iter_as_int64(it));
        return;
    case BSON_TYPE_DOUBLE: {
        double d = bson_iter_double(it);
        char num[40];
        int prec;
        if (!isfinite(d)) {
            put_extended(b, it);
            return;
        }
        for (prec = 15; prec <= 17; prec++) {
            snprintf(num, sizeof num, "%.*g", prec, d);
            if (strtod(num, NULL) == d)
                break;
        }
        eo_buf__puts(b, num);
        if (!strpbrk(num, ".eE"))
            eo_buf__puts(b, ".0"); /* still a float when read back */
        return;
    }
    case BSON_TYPE_BOOL: eo_buf__puts(b, bson_iter_bool(it) ? "true" : "false"); return;
    case BSON_TYPE_NULL: eo_buf__puts(b, "null"); return;
    default: put_extended(b, it); return;
    }
}

static int json_plain(bson_iter_t *it, mg_scratch *s, eo_value *out, eo_error *err)
{
    eo_buf b = EO_BUF_INIT;
    put_json(&b, it, 0);
    if (b.oom || b.p == NULL) {
        eo_buf__free(&b);
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    }
    *out = eo_text(keep(s, b.p, b.len), b.len);
    eo_buf__free(&b);
    return out->u.s.p ? EO_OK : eo_error_set(err, EO_ENOMEM, "out of memory");
}

int mg__read(mg_conn *c, bson_iter_t *it, const eo_field *f, mg_scratch *s, eo_value *out,
             eo_error *err)
{
    bson_type_t t = bson_iter_type(it);
    uint32_t len;
    (void)c;
    *out = eo_null();
    if (t == BSON_TYPE_NULL || t == BSON_TYPE_UNDEFINED || t == BSON_TYPE_EOD)
        return EO_OK;
    switch (eo_ftype_base(f->type)) {
    case EO_FT_ID:
    case EO_FT_MANY2ONE:
        if (t == BSON_TYPE_OID) {
            char *hex = eo_arena__alloc(&s->arena, 25);
            if (hex == NULL)
                return eo_error_set(err, EO_ENOMEM, "out of memory");
            bson_oid_to_string(bson_iter_oid(it), hex);
            *out = eo_text(hex, 24);
            return EO_OK;
        }
        break;
    case EO_FT_INTEGER:
        if (t == BSON_TYPE_INT32 || t == BSON_TYPE_INT64 || t == BSON_TYPE_DOUBLE) {
            *out = eo_int(bson_iter_as_int64(it));
            return EO_OK;
        }
        break;
    case EO_FT_FLOAT:
        if (t == BSON_TYPE_INT32 || t == BSON_TYPE_INT64 || t == BSON_TYPE_DOUBLE) {
            *out = eo_float(t == BSON_TYPE_DOUBLE ? bson_iter_double(it)
                                                  : (double)bson_iter_as_int64(it));
            return EO_OK;
        }
        break;
    case EO_FT_BOOLEAN:
        if (t == BSON_TYPE_BOOL) {
            *out = eo_bool(bson_iter_bool(it));
            return EO_OK;
        }
        break;
    case EO_FT_DATE:
    case EO_FT_DATETIME:
        if (t == BSON_TYPE_DATE_TIME) {
            char *buf = eo_arena__alloc(&s->arena, 40);
            if (buf == NULL)
                return eo_error_set(err, EO_ENOMEM, "out of memory");
            if (eo_datetime__format_us(bson_iter_date_time(it) * 1000, f->type == EO_FT_DATE, buf,
                                       40))
                return eo_error_set(err, EO_ERROR, "mongodb: datetime out of range");
            *out = eo_cstr(buf);
            return EO_OK;
        }
        break;
    case EO_FT_DECIMAL: {
        char buf[64];
        eo_value raw = eo_null(), conv;
        eo_value_scratch sc;
        int rc;
        if (t == BSON_TYPE_INT64 || t == BSON_TYPE_INT32) {
            /* scaled integer: back to canonical text */
            eo_decimal__format_scaled(bson_iter_as_int64(it), f->scale, buf, sizeof buf);
            raw = eo_cstr(buf);
        } else if (t == BSON_TYPE_DECIMAL128) {
            bson_decimal128_t d;
            bson_iter_decimal128(it, &d);
            bson_decimal128_to_string(&d, buf);
            raw = eo_cstr(buf);
        } else if (t == BSON_TYPE_DOUBLE) {
            raw = eo_float(bson_iter_double(it));
        } else if (t == BSON_TYPE_UTF8) {
            const char *p = bson_iter_utf8(it, &len);
            raw = eo_text(p, len);
        } else {
            break;
        }
        rc = eo_field__convert(f, &raw, &conv, &sc, 0, err);
        if (rc != EO_OK)
            return rc;
        *out = eo_text(keep(s, conv.u.s.p, conv.u.s.n), conv.u.s.n);
        return out->u.s.p ? EO_OK : eo_error_set(err, EO_ENOMEM, "out of memory");
    }
    case EO_FT_JSON:
    case EO_FT_EMBEDDED:
    case EO_FT_LIST:
        if (t == BSON_TYPE_DOCUMENT) {
            /* the text escape: exactly {"__json__": "<text>"} (append_json) */
            bson_iter_t sub;
            if (bson_iter_recurse(it, &sub) && bson_iter_next(&sub) &&
                strcmp(bson_iter_key(&sub), "__json__") == 0 && BSON_ITER_HOLDS_UTF8(&sub)) {
                const char *p = bson_iter_utf8(&sub, &len);
                bson_iter_t more = sub;
                if (!bson_iter_next(&more)) {
                    *out = eo_text(p, len);
                    return EO_OK;
                }
            }
        }
        return json_plain(it, s, out, err);
    case EO_FT_BINARY:
        if (t == BSON_TYPE_BINARY) {
            const uint8_t *data;
            bson_subtype_t st;
            bson_iter_binary(it, &st, &len, &data);
            *out = eo_blob(data ? (const void *)data : "", len);
            return EO_OK;
        }
        break;
    default:
        if (t == BSON_TYPE_UTF8) {
            const char *p = bson_iter_utf8(it, &len);
            *out = eo_text(p, len);
            return EO_OK;
        }
        break;
    }
    /* something else: numbers and text as they come, the rest as JSON */
    switch (t) {
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64: *out = eo_int(bson_iter_as_int64(it)); return EO_OK;
    case BSON_TYPE_DOUBLE: *out = eo_float(bson_iter_double(it)); return EO_OK;
    case BSON_TYPE_BOOL: *out = eo_bool(bson_iter_bool(it)); return EO_OK;
    case BSON_TYPE_UTF8: {
        const char *p = bson_iter_utf8(it, &len);
        *out = eo_text(p, len);
        return EO_OK;
    }
    default: return json_text(it, s, out, err);
    }
}

/* ---- filters ---- */

static int node(mg_conn *c, const eo_model *m, const eo_dnode *n, bson_t *out, eo_error *err);

/* One character as a regular expression matching it literally. */
static void re_char(eo_buf *b, unsigned char ch)
{
    if (ch < 0x20 || ch == 0x7f)
        eo_buf__printf(b, "\\x%02x", ch); /* NUL and controls: the text is a C string */
    else if (ch < 0x80 && !(ch >= '0' && ch <= '9') && !(ch >= 'a' && ch <= 'z') &&
             !(ch >= 'A' && ch <= 'Z') && ch != ' ' && ch != '_')
        eo_buf__printf(b, "\\%c", ch);
    else
        eo_buf__putc(b, (char)ch);
}

/*
 * A like pattern as a regular expression, with the SQL compiler's
 * semantics (core/query/sql.c): % is .*, _ is one character, a backslash
 * makes the next character literal (a lone one at the end is itself).
 * like and ilike match anywhere (Odoo wraps the value in %...%);
 * =like and =ilike (`exact`) match the whole value.
 */
static char *like_re(const char *s, size_t n, int exact)
{
    eo_buf b = EO_BUF_INIT;
    size_t i;
    if (exact)
        eo_buf__putc(&b, '^');
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\\')
            re_char(&b, i + 1 < n ? (unsigned char)s[++i] : ch);
        else if (ch == '%')
            eo_buf__puts(&b, ".*");
        else if (ch == '_')
            eo_buf__putc(&b, '.');
        else
            re_char(&b, ch);
    }
    if (exact)
        eo_buf__putc(&b, '$');
    if (b.oom) {
        eo_buf__free(&b);
        return NULL;
    }
    if (b.p == NULL && eo_buf__puts(&b, "") != EO_OK)
        return NULL;
    return eo_buf__detach(&b);
}

/* Ids (of `key` values) of the documents of m matching `filter`. */
static int ids_of(mg_conn *c, const eo_model *m, const char *key, const bson_t *filter,
                  bson_t *arr, eo_error *err)
{
    mongoc_collection_t *coll = mg__collection(c, m);
    mongoc_cursor_t *cur;
    const bson_t *doc;
    bson_t opts, proj;
    bson_error_t be;
    uint32_t i = 0;
    int rc = EO_OK;
    char k[16];
    const char *kp;
    uint64_t t0 = eo_clock__ns();
    if (coll == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    bson_init(&opts);
    bson_append_document_begin(&opts, "projection", -1, &proj);
    bson_append_int32(&proj, key, -1, 1);
    bson_append_document_end(&opts, &proj);
    if ((rc = mg__session_opts(c, &opts, err)) != EO_OK) {
        bson_destroy(&opts);
        mongoc_collection_destroy(coll);
        return rc;
    }
    cur = mongoc_collection_find_with_opts(coll, filter, &opts, NULL);
    while (mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it;
        if (bson_iter_init_find(&it, doc, key) && !BSON_ITER_HOLDS_NULL(&it)) {
            bson_uint32_to_string(i++, &kp, k, sizeof k);
            bson_append_value(arr, kp, -1, bson_iter_value(&it));
        }
    }
    if (mongoc_cursor_error(cur, &be))
        rc = mg__error(c, &be, m, "find", err);
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(coll);
    bson_destroy(&opts);
    {
        char *f = bson_as_relaxed_extended_json(filter, NULL);
        eo_conn_trace(&c->base, EO_Q_SELECT, f ? f : "find", NULL, 0, eo_clock__ns() - t0, i);
        bson_free(f);
    }
    return rc;
}

/* `any` / `not any`: ids first, then $in / $nin. */
static int any(mg_conn *c, const eo_model *m, const eo_dnode *n, bson_t *out, eo_error *err)
{
    const eo_field *f = n->field;
    const eo_model *cm = f->comodel;
    bson_t sub, ids, cond;
    const char *key;
    int rc, neg = n->op == EO_OP_NOT_ANY;
    (void)m;
    bson_init(&sub);
    bson_init(&ids);
    if ((rc = node(c, cm, n->sub, &sub, err)) != EO_OK)
        goto done;
    if (f->type == EO_FT_MANY2ONE) {
        rc = ids_of(c, cm, "_id", &sub, &ids, err);
        key = mg__key(f);
    } else if (f->type == EO_FT_ONE2MANY) {
        const eo_field *inv = eo_model_field(cm, f->inverse, strlen(f->inverse));
        rc = ids_of(c, cm, mg__key(inv), &sub, &ids, err);
        key = "_id";
    } else {
        /* Many2many: the targets, then the junction rows pointing at them */
        bson_t targets, jf, in;
        bson_init(&targets);
        bson_init(&jf);
        rc = ids_of(c, cm, "_id", &sub, &targets, err);
        if (rc == EO_OK) {
            bson_append_document_begin(&jf, f->column2, -1, &in);
            bson_append_array(&in, "$in", -1, &targets);
            bson_append_document_end(&jf, &in);
            rc = ids_of(c, f->junction, f->column1, &jf, &ids, err);
        }
        bson_destroy(&targets);
        bson_destroy(&jf);
        key = "_id";
    }
    if (rc != EO_OK)
        goto done;
    bson_append_document_begin(out, key, -1, &cond);
    bson_append_array(&cond, neg ? "$nin" : "$in", -1, &ids);
    bson_append_document_end(out, &cond);
done:
    bson_destroy(&sub);
    bson_destroy(&ids);
    return rc;
}

/*
 * A Json field equal to v: {key: v} alone would also match an array that
 * has v as an element (MongoDB's array matching), which SQL's comparison
 * of whole values does not. So: {key: v} and key is not an array (v
 * scalar or document), or, for an array v, key has no element equal to v.
 */
static int json_eq(mg_conn *c, bson_t *out, const char *key, const eo_field *f,
                   const eo_value *v, eo_error *err)
{
    bson_t eq = BSON_INITIALIZER, arr, d, cond, sub, nor, em;
    bson_iter_t it;
    int rc, is_array;
    if (v->type == EO_VNULL)
        return mg__append(c, out, key, f, v, err);
    if ((rc = mg__append(c, &eq, key, f, v, err)) != EO_OK) {
        bson_destroy(&eq);
        return rc;
    }
    is_array = bson_iter_init_find(&it, &eq, key) && BSON_ITER_HOLDS_ARRAY(&it);
    if (is_array && c->ferret) {
        /* FerretDB stores no array inside an array: nothing to rule out */
        bson_concat(out, &eq);
        bson_destroy(&eq);
        return EO_OK;
    }
    bson_append_array_begin(out, "$and", -1, &arr);
    bson_append_document(&arr, "0", -1, &eq);
    bson_append_document_begin(&arr, "1", -1, &d);
    if (!is_array) {
        bson_append_document_begin(&d, key, -1, &cond);
        bson_append_document_begin(&cond, "$not", -1, &sub);
        bson_append_utf8(&sub, "$type", -1, "array", -1);
        bson_append_document_end(&cond, &sub);
        bson_append_document_end(&d, &cond);
    } else {
        bson_append_array_begin(&d, "$nor", -1, &nor);
        bson_append_document_begin(&nor, "0", -1, &sub);
        bson_append_document_begin(&sub, key, -1, &cond);
        bson_append_document_begin(&cond, "$elemMatch", -1, &em);
        bson_append_value(&em, "$eq", -1, bson_iter_value(&it));
        bson_append_document_end(&cond, &em);
        bson_append_document_end(&sub, &cond);
        bson_append_document_end(&nor, &sub);
        bson_append_array_end(&d, &nor);
    }
    bson_append_document_end(&arr, &d);
    bson_append_array_end(out, &arr);
    bson_destroy(&eq);
    return EO_OK;
}

/* A Json leaf with =, !=, in, not in: whole-value comparisons (json_eq). */
static int json_leaf(mg_conn *c, const eo_dnode *n, bson_t *out, eo_error *err)
{
    const eo_field *f = n->field;
    const char *key = mg__key(f);
    const eo_value *vals = n->op == EO_OP_EQ || n->op == EO_OP_NE ? &n->value : n->list;
    size_t i, nv = n->op == EO_OP_EQ || n->op == EO_OP_NE ? 1 : n->nlist;
    int neg = n->op == EO_OP_NE || n->op == EO_OP_NOT_IN;
    bson_t arr, sub;
    int rc = EO_OK;
    if (!neg && nv == 1)
        return json_eq(c, out, key, f, &vals[0], err);
    if (nv == 0) {
        /* in (): nothing; not in (): everything */
        if (!neg) {
            bson_append_document_begin(out, "_id", -1, &sub);
            bson_append_bool(&sub, "$exists", -1, false);
            bson_append_document_end(out, &sub);
        }
        return EO_OK;
    }
    /* in: any of them; not in / !=: none of them (a missing value matches) */
    bson_append_array_begin(out, neg ? "$nor" : "$or", -1, &arr);
    for (i = 0; i < nv && rc == EO_OK; i++) {
        char k[16];
        const char *kp;
        bson_uint32_to_string((uint32_t)i, &kp, k, sizeof k);
        bson_append_document_begin(&arr, kp, -1, &sub);
        rc = json_eq(c, &sub, key, f, &vals[i], err);
        bson_append_document_end(&arr, &sub);
    }
    bson_append_array_end(out, &arr);
    return rc;
}

/*
 * `id in [...]` as the range of its ids, {_id: {$gte: min, $lte: max}}: a
 * superset the caller narrows to the listed ids (mg_select, on FerretDB).
 * ObjectIds order by their bytes, as the server compares them.
 */
static int id_range(const eo_field *f, const eo_dnode *n, bson_t *out, eo_error *err)
{
    bson_oid_t lo, hi, oid;
    bson_t cond;
    size_t i, k = 0;
    for (i = 0; i < n->nlist; i++) {
        const eo_value *v = &n->list[i];
        char hex[25];
        if (v->type == EO_VNULL)
            continue; /* no record has a null id: it matches nothing, as in $in */
        if (v->type != EO_VTEXT || v->u.s.n != 24)
            return bad_value(err, f, "expected a record id (24 hexadecimal digits on MongoDB)");
        memcpy(hex, v->u.s.p, 24);
        hex[24] = '\0';
        if (!bson_oid_is_valid(hex, 24))
            return bad_value(err, f, "expected a record id (24 hexadecimal digits on MongoDB)");
        bson_oid_init_from_string(&oid, hex);
        if (k == 0 || bson_oid_compare(&oid, &lo) < 0)
            lo = oid;
        if (k == 0 || bson_oid_compare(&oid, &hi) > 0)
            hi = oid;
        k++;
    }
    bson_append_document_begin(out, "_id", 3, &cond);
    if (k == 0) {
        bson_append_bool(&cond, "$exists", 7, false); /* only nulls: nothing */
        bson_append_document_end(out, &cond);
        return EO_OK;
    }
    bson_append_oid(&cond, "$gte", 4, &lo);
    bson_append_oid(&cond, "$lte", 4, &hi);
    bson_append_document_end(out, &cond);
    return EO_OK;
}

/*
 * Whether a List sub-domain is one MongoDB matches element-wise through a
 * dotted path: {"items.qty": {$gt: 5}} is "some element has qty > 5". A
 * leaf that also matches NULL (!=, not in, not like, = null) would not
 * (a dotted path's null matching differs between servers, and FerretDB
 * has no $elemMatch on documents), nor would an AND of leaves (both on
 * the same element); an OR of such leaves distributes. The others go
 * through element_ids. The binder turns
 * items.qty != 5 into "no element has qty = 5", which is such a leaf.
 */
static const char *list_refused(const eo_dnode *n)
{
    size_t i, k;
    const char *why;
    switch (n->kind) {
    case EO_D_TRUE: return "an empty sub-domain";
    case EO_D_FALSE: return NULL;
    case EO_D_AND: return "several conditions on one element";
    case EO_D_NOT: return "a negation inside the sub-domain";
    case EO_D_OR:
        for (i = 0; i < n->nkids; i++)
            if ((why = list_refused(n->kids[i])) != NULL)
                return why;
        return NULL;
    case EO_D_LEAF:
        switch (n->op) {
        case EO_OP_EQ:
            return n->value.type == EO_VNULL ? "a comparison with null" : NULL;
        case EO_OP_IN:
            for (k = 0; k < n->nlist; k++)
                if (n->list[k].type == EO_VNULL)
                    return "a comparison with null";
            return NULL;
        case EO_OP_GT: case EO_OP_GE: case EO_OP_LT: case EO_OP_LE:
        case EO_OP_LIKE: case EO_OP_ILIKE: case EO_OP_EQLIKE: case EO_OP_EQILIKE:
            return NULL;
        default: return "an operator that matches a missing value";
        }
    }
    return "?";
}

/*
 * `any` / `not any` on an Embedded field: the sub-domain on the
 * sub-document's keys ("address.city"), or its negation; on a List field
 * the same through the array ("items.qty", list_refused), "some element
 * matches", and $nor of it.
 */
/*
 * A List sub-domain MongoDB cannot match through the array (several
 * conditions on one element, a negation, a null test; FerretDB v1.24
 * refuses $elemMatch on documents): the ids of the records with an
 * element that matches, from one aggregate run now,
 *   [{$match: candidates}, {$unwind: "$items"}, {$match: sub on "items."},
 *    {$group: {_id: "$_id"}}]
 * where each unwound document holds one element, so the sub-domain is
 * matched as on an Embedded field: exactly, on the server. The candidate
 * $match is the sub-domain's conditions each through the array when they
 * are all such (an AND of them): a superset that lets an index help.
 */
static int element_ids(mg_conn *c, const eo_model *m, const eo_field *f, const eo_dnode *sub,
                       eo_vec *ids, eo_error *err)
{
    bson_t pipeline = BSON_INITIALIZER, opts = BSON_INITIALIZER, stage, match, group;
    const char *saved = c->kprefix;
    char prefix[96], unwind[96];
    mongoc_collection_t *coll = NULL;
    mongoc_cursor_t *cur = NULL;
    const bson_t *doc;
    bson_error_t be;
    uint64_t t0 = eo_clock__ns();
    int64_t rows = 0;
    size_t i, k = 0;
    int rc = EO_OK;
    snprintf(prefix, sizeof prefix, "%s.", mg__key(f));
    snprintf(unwind, sizeof unwind, "$%s", mg__key(f));
    c->kprefix = prefix;
    if (sub->kind == EO_D_AND) {
        int all = 1;
        for (i = 0; i < sub->nkids; i++)
            if (list_refused(sub->kids[i]) != NULL)
                all = 0;
        if (all) {
            bson_append_document_begin(&pipeline, "0", -1, &stage);
            bson_append_document_begin(&stage, "$match", -1, &match);
            rc = node(c, f->embedded, sub, &match, err);
            bson_append_document_end(&stage, &match);
            bson_append_document_end(&pipeline, &stage);
            k = 1;
        }
    }
    if (rc == EO_OK) {
        char key[16];
        const char *kp;
        bson_uint32_to_string((uint32_t)k++, &kp, key, sizeof key);
        bson_append_document_begin(&pipeline, kp, -1, &stage);
        bson_append_utf8(&stage, "$unwind", -1, unwind, -1);
        bson_append_document_end(&pipeline, &stage);
        bson_uint32_to_string((uint32_t)k++, &kp, key, sizeof key);
        bson_append_document_begin(&pipeline, kp, -1, &stage);
        bson_append_document_begin(&stage, "$match", -1, &match);
        rc = node(c, f->embedded, sub, &match, err);
        bson_append_document_end(&stage, &match);
        bson_append_document_end(&pipeline, &stage);
        bson_uint32_to_string((uint32_t)k++, &kp, key, sizeof key);
        bson_append_document_begin(&pipeline, kp, -1, &stage);
        bson_append_document_begin(&stage, "$group", -1, &group);
        bson_append_utf8(&group, "_id", -1, "$_id", -1);
        bson_append_document_end(&stage, &group);
        bson_append_document_end(&pipeline, &stage);
    }
    c->kprefix = saved;
    if (rc != EO_OK || (rc = mg__session_opts(c, &opts, err)) != EO_OK)
        goto done;
    if ((coll = mg__collection(c, m)) == NULL) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    cur = mongoc_collection_aggregate(coll, MONGOC_QUERY_NONE, &pipeline, &opts, NULL);
    while (rc == EO_OK && mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it;
        eo_id id;
        rows++;
        if (!bson_iter_init_find(&it, doc, "_id") || !BSON_ITER_HOLDS_OID(&it))
            continue;
        memset(&id, 0, sizeof id);
        memcpy(id.oid, bson_iter_oid(&it)->bytes, 12);
        if (eo_vec__push(ids, &id) != EO_OK)
            rc = eo_error_set(err, EO_ENOMEM, "out of memory");
    }
    if (rc == EO_OK && mongoc_cursor_error(cur, &be))
        rc = mg__error(c, &be, m, "aggregate", err);
    mg__trace_doc(c, EO_Q_SELECT, "aggregate (List element match)", m, &pipeline, t0, rows);
done:
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(coll);
    bson_destroy(&pipeline);
    bson_destroy(&opts);
    return rc;
}

static int embedded_any(mg_conn *c, const eo_model *m, const eo_dnode *n, bson_t *out,
                        eo_error *err)
{
    const eo_field *f = n->field;
    const char *saved = c->kprefix;
    char prefix[96];
    const char *why;
    bson_t nor, d, *at = out;
    int rc, neg = n->op == EO_OP_NOT_ANY;
    if (f->embedded == NULL)
        return eo_error_set(err, EO_ENOTFOUND, "%s.%s: the embedded type is not defined",
                            f->model->name, f->name);
    if (neg) {
        bson_append_array_begin(out, "$nor", -1, &nor);
        bson_append_document_begin(&nor, "0", -1, &d);
        at = &d;
    }
    if (f->type == EO_FT_LIST && (why = list_refused(n->sub)) != NULL) {
        eo_vec ids = EO_VEC_INIT(eo_id);
        bson_t cond;
        (void)why;
        rc = element_ids(c, m, f, n->sub, &ids, err);
        if (rc == EO_OK && ids.len == 0) {
            bson_append_document_begin(at, "_id", -1, &cond);
            bson_append_bool(&cond, "$exists", -1, false); /* no record matches */
            bson_append_document_end(at, &cond);
        } else if (rc == EO_OK) {
            bson_append_document_begin(at, "_id", -1, &cond);
            mg__append_oids(&cond, "$in", (const eo_id *)ids.items, ids.len);
            bson_append_document_end(at, &cond);
        }
        eo_vec__free(&ids);
    } else {
        snprintf(prefix, sizeof prefix, "%s.", mg__key(f));
        c->kprefix = prefix;
        rc = node(c, f->embedded, n->sub, at, err);
        c->kprefix = saved;
    }
    if (neg) {
        bson_append_document_end(&nor, &d);
        bson_append_array_end(out, &nor);
    }
    return rc;
}

static int leaf(mg_conn *c, const eo_model *m, const eo_dnode *n, bson_t *out, eo_error *err)
{
    static const char *const cmp[] = { "$eq", "$ne", "$gt", "$gte", "$lt", "$lte" };
    const eo_field *f = n->field;
    const char *key;
    char subkey[200];
    bson_t cond, arr;
    size_t i;
    int rc = EO_OK;
    if (f == NULL)
        return eo_error_set(err, EO_EINVAL, "domain leaf on '%s' is not bound", n->path);
    if (n == c->id_range && n->nlist > 0)
        return id_range(f, n, out, err);
    if (f->type == EO_FT_PROPERTIES && strchr(n->path, '.'))
        return mg__property_leaf(c, n, out, err);
    key = mg__key(f);
    if (eo_embedded__is_sub(f) && c->kprefix) {
        snprintf(subkey, sizeof subkey, "%s%s", c->kprefix, f->name);
        key = subkey;
    }
    if (eo_ftype_base(f->type) == EO_FT_JSON &&
        (((n->op == EO_OP_EQ || n->op == EO_OP_NE) && n->value.type != EO_VNULL) ||
         n->op == EO_OP_IN || n->op == EO_OP_NOT_IN))
        return json_leaf(c, n, out, err);
    /*
     * Equality is written {key: value}, not {key: {$eq: value}}: the two
     * match the same documents (no value of ours is an operator document),
     * and FerretDB only pushes the plain form on _id down to its backend;
     * with $eq it filters every document of the collection itself.
     */
    if (n->op == EO_OP_EQ)
        return mg__append(c, out, key, f, &n->value, err);
    if (n->op == EO_OP_IN && n->nlist == 1)
        return mg__append(c, out, key, f, &n->list[0], err);
    switch (n->op) {
    case EO_OP_EQ:
    case EO_OP_NE:
    case EO_OP_GT:
    case EO_OP_GE:
    case EO_OP_LT:
    case EO_OP_LE:
        bson_append_document_begin(out, key, -1, &cond);
        rc = mg__append(c, &cond, cmp[n->op], f, &n->value, err);
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
            rc = mg__append(c, &arr, kp, f, &n->list[i], err);
        }
        bson_append_array_end(&cond, &arr);
        bson_append_document_end(out, &cond);
        return rc;
    case EO_OP_LIKE:
    case EO_OP_ILIKE:
    case EO_OP_NOT_LIKE:
    case EO_OP_NOT_ILIKE:
    case EO_OP_EQLIKE:
    case EO_OP_EQILIKE: {
        int ci = n->op == EO_OP_ILIKE || n->op == EO_OP_NOT_ILIKE || n->op == EO_OP_EQILIKE;
        int neg = n->op == EO_OP_NOT_LIKE || n->op == EO_OP_NOT_ILIKE;
        int pattern = n->op == EO_OP_EQLIKE || n->op == EO_OP_EQILIKE;
        char *re;
        bson_t rx;
        if (eo_ftype_base(f->type) != EO_FT_CHAR && eo_ftype_base(f->type) != EO_FT_TEXT &&
            f->type != EO_FT_SELECTION &&
            !(eo_embedded__is_sub(f) && (f->type == EO_FT_DATE || f->type == EO_FT_DATETIME))) {
            eo_error_set(err, EO_ENOTSUP,
                         "%s.%s: '%s' on a %s field is not supported on MongoDB (it is not stored as text)",
                         m->name, f->name, eo_dop_name(n->op), eo_ftype_name(f->type));
            eo_error_where(err, m->name, f->name);
            return EO_ENOTSUP;
        }
        re = like_re(n->value.u.s.p, n->value.u.s.n, pattern);
        if (re == NULL)
            return eo_error_set(err, EO_ENOMEM, "out of memory");
        bson_append_document_begin(out, key, -1, &cond);
        if (neg) {
            bson_append_document_begin(&cond, "$not", -1, &rx);
            bson_append_utf8(&rx, "$regex", -1, re, -1);
            bson_append_utf8(&rx, "$options", -1, ci ? "is" : "s", -1);
            bson_append_document_end(&cond, &rx);
        } else {
            bson_append_utf8(&cond, "$regex", -1, re, -1);
            bson_append_utf8(&cond, "$options", -1, ci ? "is" : "s", -1);
        }
        bson_append_document_end(out, &cond);
        eo_free(re);
        return EO_OK;
    }
    case EO_OP_ANY:
    case EO_OP_NOT_ANY:
        if (eo_embedded__is(f))
            return embedded_any(c, m, n, out, err);
        return any(c, m, n, out, err);
    default:
        return eo_error_set(err, EO_EINVAL, "operator '%s' must be resolved before compiling",
                            eo_dop_name(n->op));
    }
}

static int node(mg_conn *c, const eo_model *m, const eo_dnode *n, bson_t *out, eo_error *err)
{
    bson_t arr, sub;
    size_t i;
    int rc = EO_OK;
    switch (n->kind) {
    case EO_D_TRUE: return EO_OK;
    case EO_D_FALSE: {
        bson_t cond;
        bson_append_document_begin(out, "_id", -1, &cond);
        bson_append_bool(&cond, "$exists", -1, false);
        bson_append_document_end(out, &cond);
        return EO_OK;
    }
    case EO_D_LEAF: return leaf(c, m, n, out, err);
    case EO_D_NOT:
    case EO_D_AND:
    case EO_D_OR:
        bson_append_array_begin(out, n->kind == EO_D_NOT ? "$nor" : n->kind == EO_D_AND ? "$and" : "$or",
                                -1, &arr);
        for (i = 0; i < n->nkids && rc == EO_OK; i++) {
            char k[16];
            const char *kp;
            bson_uint32_to_string((uint32_t)i, &kp, k, sizeof k);
            bson_append_document_begin(&arr, kp, -1, &sub);
            rc = node(c, m, n->kids[i], &sub, err);
            bson_append_document_end(&arr, &sub);
        }
        bson_append_array_end(out, &arr);
        return rc;
    }
    return EO_OK;
}

int mg__filter(mg_conn *c, const eo_model *m, const eo_domain *d, bson_t *out, eo_error *err)
{
    if (d == NULL)
        return EO_OK;
    return node(c, m, eo_domain_root(d), out, err);
}
