/*
 * error.c - eo_error filling and code names.
 *
 * Nothing here allocates: an eo_error is a fixed-size struct so that an
 * out-of-memory failure can still be described (hiredis errstr).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "earnorm/error.h"
#include "../internal.h"

const char *eo_version(void) { return EO_VERSION_STRING; }

static const struct { int code; const char *name; const char *text; } codes[] = {
    { EO_OK, "OK", "success" },
    { EO_ERROR, "ERROR", "error" },
    { EO_ENOMEM, "ENOMEM", "out of memory" },
    { EO_EINVAL, "EINVAL", "invalid input" },
    { EO_ENOTFOUND, "ENOTFOUND", "not found" },
    { EO_ECONFLICT, "ECONFLICT", "conflict" },
    { EO_EVALIDATE, "EVALIDATE", "validation failed" },
    { EO_ETIMEOUT, "ETIMEOUT", "timed out" },
    { EO_EBUSY, "EBUSY", "resource busy" },
    { EO_ECONN, "ECONN", "connection failed" },
    { EO_ETXNSTATE, "ETXNSTATE", "invalid transaction state" },
    { EO_ENOTSUP, "ENOTSUP", "not supported" },
    { EO_ELIMIT, "ELIMIT", "limit exceeded" },
};

const char *eo_strerror(int code)
{
    size_t i;
    for (i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (codes[i].code == code)
            return codes[i].text;
    return "unknown error";
}

const char *eo_code_name(int code)
{
    size_t i;
    for (i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (codes[i].code == code)
            return codes[i].name;
    return "ERROR";
}

/* The strings' first bytes only: the 640 bytes after them are dead once
 * they are empty, and every public call clears its error. */
void eo_error_clear(eo_error *err) { eo_error__reset(err); }

int eo_error__null(eo_error *err, const char *fn, const char *arg)
{
    return eo_error_set(err, EO_EINVAL, "%s: %s is NULL", fn, arg);
}

int eo_error_set(eo_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    char *nl;
    if (err == NULL)
        return code;
    err->code = code;
    err->domain = EO_DOMAIN_CORE;
    err->native = 0;
    err->model[0] = err->field[0] = '\0';
    if (fmt == NULL) {
        err->msg[0] = '\0';
        return code;
    }
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    /* messages are one line (drivers indent their continuation lines) */
    while ((nl = strpbrk(err->msg, "\n\t\r")) != NULL)
        *nl = ' ';
    return code;
}

static void copy_name(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

void eo_error_where(eo_error *err, const char *model, const char *field)
{
    if (err == NULL)
        return;
    if (model)
        copy_name(err->model, sizeof err->model, model);
    if (field)
        copy_name(err->field, sizeof err->field, field);
}

void eo_error__prefix(eo_error *err, const char *prefix)
{
    size_t p, n, cap;
    if (err == NULL)
        return;
    p = strlen(prefix);
    n = strlen(err->msg);
    cap = sizeof err->msg - 1;
    if (p > cap)
        p = cap;
    if (p + n > cap)
        n = cap - p;
    memmove(err->msg + p, err->msg, n);
    memcpy(err->msg, prefix, p);
    err->msg[p + n] = '\0';
}
