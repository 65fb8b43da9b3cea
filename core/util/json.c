/*
 * json.c - strict UTF-8 and JSON checking, and a JSON reader with a sink.
 *
 * convert.c uses it to refuse, on every backend alike, text no backend
 * stores faithfully (a NUL byte, invalid UTF-8) and Json that is not plain
 * JSON (NaN, Infinity, "\u0000", lone surrogates, numbers past a double);
 * the MongoDB adapter reads Json text into BSON with it, so that no key or
 * wrapper of the text is given a meaning (libbson's reader would take
 * {"$date": 0} for a date). It does not build a tree: the sink sees the
 * values in order, and nesting is tracked in a fixed stack, so deep input
 * costs no C recursion.
 *
 * Why our own reader, when the house rule is to use libbson's JSON: that
 * reader implements MongoDB Extended JSON and cannot be told not to, so
 * the very values the Json type must keep ({"$date": 0}, {"$numberLong":
 * "5"}, {"$regex": ...}) come back changed, and it keeps repeated keys.
 * The Debian JSON libraries were considered: jansson parses recursively
 * (2,048 levels of C recursion on a 256 KiB thread stack), json-c keeps
 * the last of repeated keys silently. This file is only the strict reader
 * (RFC 8259, no extensions); it is fuzzed (tests/fuzz, domain and engine
 * harnesses). Writing JSON is bindings/lua/value.c's, for the same reason
 * (libbson writes NaN and bytes as $-wrappers, doubles with 20 digits, and
 * cuts values nested past 200 levels to "{ ... }").
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "../internal.h"
#include "json.h"

int eo_utf8__check(const char *s, size_t n, size_t *at)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t need, k;
        unsigned cp, min;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1F;
            min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0F;
            min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            cp = c & 0x07;
            min = 0x10000;
        } else {
            goto bad;
        }
        if (n - i <= need)
            goto bad;
        for (k = 1; k <= need; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                goto bad;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            goto bad;
        i += need + 1;
    }
    return 0;
bad:
    if (at)
        *at = i;
    return -1;
}

typedef struct reader {
    const char *p;          /* the text */
    size_t n, i;            /* its length, the read position */
    const eo_json_sink *sink;
    void *ud;
    eo_json_fail *fail;
    eo_buf tmp;             /* unescaped strings, number text */
} reader;

static int failed(reader *r, const char *why)
{
    if (r->fail) {
        r->fail->why = why;
        r->fail->at = r->i;
        r->fail->limit = 0;
    }
    return -1;
}

static void skip_ws(reader *r)
{
    while (r->i < r->n &&
           (r->p[r->i] == ' ' || r->p[r->i] == '\t' || r->p[r->i] == '\n' || r->p[r->i] == '\r'))
        r->i++;
}

static int hex4(reader *r, unsigned *out)
{
    unsigned v = 0;
    size_t k;
    if (r->n - r->i < 4)
        return -1;
    for (k = 0; k < 4; k++) {
        char c = r->p[r->i + k];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    r->i += 4;
    *out = v;
    return 0;
}

static void put_utf8(eo_buf *b, unsigned cp)
{
    char u[4];
    size_t k;
    if (cp < 0x80) {
        u[0] = (char)cp;
        k = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        k = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        k = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        k = 4;
    }
    eo_buf__put(b, u, k);
}

/* A string at r->i (the opening quote); *s, *len: its unescaped bytes,
 * pointing into the text when there was nothing to unescape. */
static int read_string(reader *r, const char **s, size_t *len)
{
    size_t start = ++r->i;
    int copied = 0;
    eo_buf__reset(&r->tmp);
    for (;;) {
        unsigned char c;
        if (r->i >= r->n)
            return failed(r, "unterminated string");
        c = (unsigned char)r->p[r->i];
        if (c == '"')
            break;
        if (c < 0x20)
            return failed(r, "control character in a string (escape it)");
        if (c != '\\') {
            if (copied)
                eo_buf__putc(&r->tmp, (char)c);
            r->i++;
            continue;
        }
        if (!copied) {
            eo_buf__put(&r->tmp, r->p + start, r->i - start);
            copied = 1;
        }
        if (++r->i >= r->n)
            return failed(r, "unterminated string");
        c = (unsigned char)r->p[r->i++];
        switch (c) {
        case '"': eo_buf__putc(&r->tmp, '"'); break;
        case '\\': eo_buf__putc(&r->tmp, '\\'); break;
        case '/': eo_buf__putc(&r->tmp, '/'); break;
        case 'b': eo_buf__putc(&r->tmp, '\b'); break;
        case 'f': eo_buf__putc(&r->tmp, '\f'); break;
        case 'n': eo_buf__putc(&r->tmp, '\n'); break;
        case 'r': eo_buf__putc(&r->tmp, '\r'); break;
        case 't': eo_buf__putc(&r->tmp, '\t'); break;
        case 'u': {
            unsigned cp, lo;
            if (hex4(r, &cp))
                return failed(r, "bad \\u escape");
            if (cp == 0)
                return failed(r, "\\u0000 in a string (text cannot hold a NUL byte)");
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return failed(r, "lone low surrogate in a \\u escape");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (r->n - r->i < 6 || r->p[r->i] != '\\' || r->p[r->i + 1] != 'u')
                    return failed(r, "lone high surrogate in a \\u escape");
                r->i += 2;
                if (hex4(r, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                    return failed(r, "lone high surrogate in a \\u escape");
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            put_utf8(&r->tmp, cp);
            break;
        }
        default: r->i--; return failed(r, "bad escape in a string");
        }
    }
    if (r->tmp.oom)
        return -2;
    if (copied) {
        *s = r->tmp.p ? r->tmp.p : "";
        *len = r->tmp.len;
    } else {
        *s = r->p + start;
        *len = r->i - start;
    }
    r->i++; /* the closing quote */
    return 0;
}

static int digits_at(reader *r)
{
    size_t s = r->i;
    while (r->i < r->n && r->p[r->i] >= '0' && r->p[r->i] <= '9')
        r->i++;
    return r->i > s;
}

static int read_number(reader *r)
{
    size_t start = r->i;
    int integral = 1;
    const char *text;
    char *end;
    if (r->p[r->i] == '-')
        r->i++;
    if (r->i < r->n && r->p[r->i] == '0')
        r->i++;
    else if (!digits_at(r))
        return failed(r, r->i < r->n && r->p[r->i] == 'I' ? "NaN and Infinity are not JSON numbers"
                                                          : "unexpected character");
    if (r->i < r->n && r->p[r->i] == '.') {
        r->i++;
        integral = 0;
        if (!digits_at(r))
            return failed(r, "digits expected after '.'");
    }
    if (r->i < r->n && (r->p[r->i] == 'e' || r->p[r->i] == 'E')) {
        r->i++;
        integral = 0;
        if (r->i < r->n && (r->p[r->i] == '+' || r->p[r->i] == '-'))
            r->i++;
        if (!digits_at(r))
            return failed(r, "digits expected in an exponent");
    }
    eo_buf__reset(&r->tmp);
    eo_buf__put(&r->tmp, r->p + start, r->i - start);
    if (r->tmp.oom)
        return -2;
    text = r->tmp.p;
    if (integral) {
        long long v;
        errno = 0;
        v = strtoll(text, &end, 10);
        if (errno == 0)
            return r->sink && r->sink->integer ? r->sink->integer(r->ud, (int64_t)v) : 0;
        /* past 64 bits: a double, as JSON readers do */
    }
    {
        double d = strtod(text, &end);
        if (!isfinite(d)) {
            r->i = start;
            return failed(r, "number out of range (JSON numbers must fit a double)");
        }
        return r->sink && r->sink->number ? r->sink->number(r->ud, d) : 0;
    }
}

static int word(reader *r, const char *w)
{
    size_t k = strlen(w);
    if (r->n - r->i < k || memcmp(r->p + r->i, w, k) != 0)
        return 0;
    r->i += k;
    return 1;
}

#define SINK(r, fn, ...) ((r)->sink && (r)->sink->fn ? (r)->sink->fn((r)->ud, __VA_ARGS__) : 0)
/* The offset a sink asked for (eo_json_sink.at), before its callback. */
#define AT(r, pos) ((r)->sink && (r)->sink->at ? (void)(*(r)->sink->at = (pos)) : (void)0)

int eo_json__read(const char *p, size_t n, const eo_json_sink *sink, void *ud,
                  eo_json_fail *fail)
{
    reader r;
    char stack[EO_JSON_MAX_DEPTH]; /* 'a' array, 'o' object, per level */
    size_t depth = 0, at;
    int rc = 0;
    memset(&r, 0, sizeof r);
    r.p = p;
    r.n = n;
    r.sink = sink;
    r.ud = ud;
    r.fail = fail;
    if (eo_utf8__check(p, n, &at)) {
        r.i = at;
        return failed(&r, "invalid UTF-8");
    }
    if (memchr(p, '\0', n)) {
        r.i = (size_t)((const char *)memchr(p, '\0', n) - p);
        return failed(&r, "NUL byte in JSON text");
    }
    skip_ws(&r);
    for (;;) {
        /* a value */
        char c;
        if (r.i >= r.n) {
            rc = failed(&r, depth ? "unexpected end of the text" : "empty text");
            goto done;
        }
        c = r.p[r.i];
        AT(&r, r.i);
        if (c == '{' || c == '[') {
            int array = c == '[';
            if (depth == EO_JSON_MAX_DEPTH) {
                rc = failed(&r, "nested too deeply");
                if (fail)
                    fail->limit = 1;
                goto done;
            }
            r.i++;
            stack[depth++] = array ? 'a' : 'o';
            if ((rc = SINK(&r, begin, array, (int)depth)) != 0)
                goto done;
            skip_ws(&r);
            if (r.i < r.n && r.p[r.i] == (array ? ']' : '}')) {
                r.i++;
                depth--;
                AT(&r, r.i);
                if ((rc = SINK(&r, end, array)) != 0)
                    goto done;
                goto after_value;
            }
            if (!array)
                goto object_key;
            continue;
        } else if (c == '"') {
            const char *s;
            size_t len;
            if ((rc = read_string(&r, &s, &len)) != 0 || (rc = SINK(&r, string, s, len)) != 0)
                goto done;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            if ((rc = read_number(&r)) != 0)
                goto done;
        } else if (word(&r, "true")) {
            if ((rc = SINK(&r, boolean, 1)) != 0)
                goto done;
        } else if (word(&r, "false")) {
            if ((rc = SINK(&r, boolean, 0)) != 0)
                goto done;
        } else if (word(&r, "null")) {
            if ((rc = r.sink && r.sink->null ? r.sink->null(r.ud) : 0) != 0)
                goto done;
        } else {
            rc = failed(&r, c == 'N' || c == 'I' ? "NaN and Infinity are not JSON numbers"
                                                 : "unexpected character");
            goto done;
        }
    after_value:
        skip_ws(&r);
        if (depth == 0)
            break;
        if (r.i >= r.n) {
            rc = failed(&r, "unexpected end of the text");
            goto done;
        }
        if (r.p[r.i] == ',') {
            r.i++;
            skip_ws(&r);
            if (stack[depth - 1] == 'a')
                continue;
        object_key:
            {
                const char *k;
                size_t klen;
                if (r.i >= r.n || r.p[r.i] != '"') {
                    rc = failed(&r, "a key (a string) expected");
                    goto done;
                }
                if ((rc = read_string(&r, &k, &klen)) != 0 || (rc = SINK(&r, key, k, klen)) != 0)
                    goto done;
                skip_ws(&r);
                if (r.i >= r.n || r.p[r.i] != ':') {
                    rc = failed(&r, "':' expected after a key");
                    goto done;
                }
                r.i++;
                skip_ws(&r);
            }
            continue;
        }
        if (r.p[r.i] == (stack[depth - 1] == 'a' ? ']' : '}')) {
            int array = stack[depth - 1] == 'a';
            r.i++;
            depth--;
            AT(&r, r.i);
            if ((rc = SINK(&r, end, array)) != 0)
                goto done;
            goto after_value;
        }
        rc = failed(&r, stack[depth - 1] == 'a' ? "',' or ']' expected" : "',' or '}' expected");
        goto done;
    }
    if (r.i != r.n)
        rc = failed(&r, "text after the value");
done:
    eo_buf__free(&r.tmp);
    return rc;
}
