/*
 * number.h - decimal text to numbers, for the adapters that read numbers
 * as text (libpq's text results), faster than strtoll / strtod on the
 * forms a server writes and exactly as correct (private to the core).
 */
#ifndef EARNORM_UTIL_NUMBER_H
#define EARNORM_UTIL_NUMBER_H

#include <stddef.h>
#include <stdint.h>

/*
 * The integer written in s[0..n) ("-12", "0"), as strtoll(s, NULL, 10)
 * would read it (its range clamps included): up to 18 digits are read
 * directly, anything else (more digits, a '+', spaces) goes to strtoll.
 * s must be NUL-terminated at n or later.
 */
int64_t eo_number__int(const char *s, size_t n);

/*
 * The double written in s[0..n), as strtod(s, NULL) would read it,
 * correctly rounded: a decimal of at most 15 significant digits with a
 * power of ten within 10^±22 (PostgreSQL's shortest output of most
 * values: "12.5", "-0.001", "1e+20") is one exact integer times or
 * divided by one exact power of ten, which IEEE arithmetic rounds
 * correctly; everything else ("NaN", "Infinity", 17 digits, 1e-300) goes
 * to strtod. s must be NUL-terminated at n or later.
 */
double eo_number__float(const char *s, size_t n);

#endif
