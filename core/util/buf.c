/*
 * buf.c - growable buffers and arrays for the core.
 *
 * A failed append leaves the buffer as it was and sets `oom`, so builders
 * (SQL text, messages) can append freely and check once at the end.
 */
#include <stdio.h>
#include <time.h>

#include "../internal.h"

void eo_buf__free(eo_buf *b)
{
    eo_free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

void eo_buf__reset(eo_buf *b)
{
    b->len = 0;
    b->oom = 0;
    if (b->p)
        b->p[0] = '\0';
}

int eo_buf__grow(eo_buf *b, size_t extra)
{
    size_t need, cap;
    char *p;
    if (b->oom)
        return EO_ENOMEM;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return EO_OK;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    p = eo_realloc(b->p, cap);
    if (p == NULL) {
        b->oom = 1;
        return EO_ENOMEM;
    }
    b->p = p;
    b->cap = cap;
    return EO_OK;
}

int eo_buf__put(eo_buf *b, const char *p, size_t n)
{
    if (eo_buf__grow(b, n) != EO_OK)
        return EO_ENOMEM;
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return EO_OK;
}

int eo_buf__puts(eo_buf *b, const char *s) { return eo_buf__put(b, s, strlen(s)); }
int eo_buf__putc(eo_buf *b, char c) { return eo_buf__put(b, &c, 1); }

int eo_buf__put_int(eo_buf *b, int64_t v)
{
    char tmp[24];
    int n = 0, i;
    uint64_t u = v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[n++] = '-';
    for (i = 0; i < n / 2; i++) {
        char c = tmp[i];
        tmp[i] = tmp[n - 1 - i];
        tmp[n - 1 - i] = c;
    }
    return eo_buf__put(b, tmp, (size_t)n);
}

int eo_buf__printf(eo_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    char small[256];
    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return EO_ERROR;
    if ((size_t)n < sizeof small)
        return eo_buf__put(b, small, (size_t)n);
    if (eo_buf__grow(b, (size_t)n) != EO_OK)
        return EO_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return EO_OK;
}

char *eo_buf__detach(eo_buf *b)
{
    char *p = b->p;
    if (p == NULL)
        p = eo_strdup("");
    b->p = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
    return p;
}

int eo_vec__reserve(eo_vec *v, size_t n)
{
    size_t cap;
    void *p;
    if (n <= v->cap)
        return EO_OK;
    cap = v->cap ? v->cap : 8;
    while (cap < n)
        cap *= 2;
    p = eo_realloc(v->items, cap * v->isize);
    if (p == NULL)
        return EO_ENOMEM;
    v->items = p;
    v->cap = cap;
    return EO_OK;
}

int eo_vec__push(eo_vec *v, const void *item)
{
    if (eo_vec__reserve(v, v->len + 1) != EO_OK)
        return EO_ENOMEM;
    memcpy((char *)v->items + v->len * v->isize, item, v->isize);
    v->len++;
    return EO_OK;
}

void *eo_vec__at(const eo_vec *v, size_t i) { return (char *)v->items + i * v->isize; }

void eo_vec__free(eo_vec *v)
{
    eo_free(v->items);
    v->items = NULL;
    v->len = v->cap = 0;
}

uint64_t eo_clock__ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
