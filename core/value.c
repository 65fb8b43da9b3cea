/*
 * value.c - eo_value constructors, copies and comparison; record ids.
 *
 * Values are plain data and borrow their bytes; only eo_value_copy makes a
 * value that owns memory. Type conversion against a field lives in
 * convert.c, not here.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "earnorm/alloc.h"
#include "earnorm/error.h"
#include "earnorm/value.h"

int eo_value_copy(eo_value *out, const eo_value *src)
{
    if (out == NULL)
        return EO_EINVAL;
    if (src == NULL) {
        *out = eo_null();
        return EO_EINVAL;
    }
    *out = *src;
    out->owned = 0;
    if (src->type == EO_VTEXT || src->type == EO_VBLOB) {
        char *p = eo_malloc(src->u.s.n + 1);
        if (p == NULL) {
            *out = eo_null();
            return EO_ENOMEM;
        }
        if (src->u.s.n)
            memcpy(p, src->u.s.p, src->u.s.n);
        p[src->u.s.n] = '\0';
        out->u.s.p = p;
        out->owned = 1;
    }
    return EO_OK;
}

void eo_value_clear(eo_value *v)
{
    if (v == NULL)
        return;
    if (v->owned)
        eo_free((void *)v->u.s.p);
    *v = eo_null();
}

/* A NULL pointer compares as a NULL value: no crash, and an order still. */
static const eo_value *or_null(const eo_value *v)
{
    static const eo_value null_value; /* zeroed: EO_VNULL */
    return v ? v : &null_value;
}

int eo_value_equal(const eo_value *a, const eo_value *b)
{
    a = or_null(a);
    b = or_null(b);
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case EO_VNULL: return 1;
    case EO_VBOOL: return a->u.b == b->u.b;
    case EO_VINT: return a->u.i == b->u.i;
    case EO_VFLOAT: return a->u.f == b->u.f;
    case EO_VTEXT:
    case EO_VBLOB:
        return a->u.s.n == b->u.s.n &&
               (a->u.s.n == 0 || memcmp(a->u.s.p, b->u.s.p, a->u.s.n) == 0);
    }
    return 0;
}

static int cmp_num(double x, double y) { return x < y ? -1 : x > y ? 1 : 0; }

int eo_value_compare(const eo_value *a, const eo_value *b)
{
    int numa, numb;
    a = or_null(a);
    b = or_null(b);
    numa = a->type == EO_VINT || a->type == EO_VFLOAT;
    numb = b->type == EO_VINT || b->type == EO_VFLOAT;
    if (numa && numb) {
        if (a->type == EO_VINT && b->type == EO_VINT)
            return a->u.i < b->u.i ? -1 : a->u.i > b->u.i ? 1 : 0;
        return cmp_num(a->type == EO_VINT ? (double)a->u.i : a->u.f,
                       b->type == EO_VINT ? (double)b->u.i : b->u.f);
    }
    if (a->type != b->type)
        return a->type < b->type ? -1 : 1;
    switch (a->type) {
    case EO_VNULL: return 0;
    case EO_VBOOL: return a->u.b - b->u.b;
    case EO_VTEXT:
    case EO_VBLOB: {
        size_t n = a->u.s.n < b->u.s.n ? a->u.s.n : b->u.s.n;
        int c = n ? memcmp(a->u.s.p, b->u.s.p, n) : 0;
        if (c)
            return c < 0 ? -1 : 1;
        return a->u.s.n < b->u.s.n ? -1 : a->u.s.n > b->u.s.n ? 1 : 0;
    }
    default: return 0;
    }
}

const char *eo_vtype_name(eo_vtype t)
{
    switch (t) {
    case EO_VNULL: return "null";
    case EO_VBOOL: return "boolean";
    case EO_VINT: return "integer";
    case EO_VFLOAT: return "float";
    case EO_VTEXT: return "text";
    case EO_VBLOB: return "binary";
    }
    return "?";
}

eo_id eo_id_num(int64_t n)
{
    eo_id id;
    id.w[0] = id.w[1] = 0;
    id.num = n;
    return id;
}

int eo_id_equal(eo_id a, eo_id b) { return a.w[0] == b.w[0] && a.w[1] == b.w[1]; }

uint64_t eo_id_hash(eo_id a)
{
    /* splitmix64 finaliser over both words: ids are often sequential */
    uint64_t x = a.w[0] ^ (a.w[1] * 0x9E3779B97F4A7C15ULL);
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBULL;
    x ^= x >> 31;
    return x;
}

eo_value eo_id_to_value(eo_id id, eo_idkind kind, char hexbuf[25])
{
    static const char hex[] = "0123456789abcdef";
    int i;
    if (kind == EO_IDNUM)
        return eo_int(id.num);
    if (hexbuf == NULL)
        return eo_null(); /* nowhere to write the text */
    for (i = 0; i < 12; i++) {
        hexbuf[2 * i] = hex[id.oid[i] >> 4];
        hexbuf[2 * i + 1] = hex[id.oid[i] & 15];
    }
    hexbuf[24] = '\0';
    return eo_text(hexbuf, 24);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int eo_id_from_value(eo_id *out, eo_idkind kind, const eo_value *v)
{
    if (out == NULL)
        return EO_EINVAL;
    *out = eo_id_num(0);
    if (v == NULL)
        return EO_EINVAL;
    if (kind == EO_IDNUM) {
        if (v->type == EO_VINT) {
            *out = eo_id_num(v->u.i);
            return EO_OK;
        }
        if (v->type == EO_VFLOAT && v->u.f == floor(v->u.f) &&
            fabs(v->u.f) < 9007199254740992.0) {
            *out = eo_id_num((int64_t)v->u.f);
            return EO_OK;
        }
        if (v->type == EO_VTEXT && v->u.s.n > 0 && v->u.s.n < 21) {
            char buf[24], *end;
            long long n;
            memcpy(buf, v->u.s.p, v->u.s.n);
            buf[v->u.s.n] = '\0';
            errno = 0;
            n = strtoll(buf, &end, 10);
            /* the whole text (no embedded NUL), in range: not clamped */
            if (end == buf + v->u.s.n && end != buf && errno == 0) {
                *out = eo_id_num(n);
                return EO_OK;
            }
        }
        return EO_EINVAL;
    }
    if (v->type == EO_VTEXT && v->u.s.n == 24) {
        int i;
        for (i = 0; i < 12; i++) {
            int hi = hexval((unsigned char)v->u.s.p[2 * i]);
            int lo = hexval((unsigned char)v->u.s.p[2 * i + 1]);
            if (hi < 0 || lo < 0)
                return EO_EINVAL;
            out->oid[i] = (unsigned char)(hi << 4 | lo);
        }
        return EO_OK;
    }
    if (v->type == EO_VBLOB && v->u.s.n == 12) {
        memcpy(out->oid, v->u.s.p, 12);
        return EO_OK;
    }
    return EO_EINVAL;
}
