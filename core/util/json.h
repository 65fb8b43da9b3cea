/*
 * json.h - strict UTF-8 and JSON (RFC 8259) checking, and a JSON reader
 * that reports what it reads to a sink (private to the core).
 *
 * Text fields and Json values are checked here before any backend sees
 * them, so every backend stores the same thing or refuses the same thing.
 */
#ifndef EARNORM_UTIL_JSON_H
#define EARNORM_UTIL_JSON_H

#include <stddef.h>
#include <stdint.h>

/* Json values nest at most this deep (EO_ELIMIT past it). */
#define EO_JSON_MAX_DEPTH 256

/* 0 when p[0..n) is valid UTF-8 (no overlong forms, no surrogates, at most
 * U+10FFFF), else -1 with the offset of the first bad byte in *at. */
int eo_utf8__check(const char *p, size_t n, size_t *at);

/* What eo_json__read reports. Strings and keys arrive unescaped and are
 * Borrowed for the call. A callback returns 0, or nonzero to stop the
 * reading (that value is returned). NULL callbacks are skipped. */
typedef struct eo_json_sink {
    int (*begin)(void *ud, int array, int depth);
    int (*end)(void *ud, int array);
    int (*key)(void *ud, const char *k, size_t n);
    int (*string)(void *ud, const char *s, size_t n);
    int (*integer)(void *ud, int64_t i);  /* no fraction or exponent, fits */
    int (*number)(void *ud, double d);    /* any other number (finite) */
    int (*boolean)(void *ud, int b);
    int (*null)(void *ud);
    /* Not NULL: before each callback the reader stores the byte offset of
     * what it reports (a value's first byte; for end, one past the closing
     * bracket), so a sink can take a value's text as written. */
    size_t *at;
} eo_json_sink;

/* Why reading failed: a static message and the byte offset. */
typedef struct eo_json_fail {
    const char *why;
    size_t at;
    int limit;  /* 1 when the nesting limit was passed (EO_ELIMIT) */
} eo_json_fail;

/*
 * Read one JSON value (surrounding white space allowed) with no extensions:
 * no NaN or Infinity, no comments, no trailing commas, no "\u0000", no lone
 * surrogates, numbers that fit a double. sink may be NULL (just check).
 * Returns 0; -1 when the text is not such JSON (*fail filled); -2 out of
 * memory; or the nonzero value a callback returned.
 */
int eo_json__read(const char *p, size_t n, const eo_json_sink *sink, void *ud,
                  eo_json_fail *fail);

#endif
