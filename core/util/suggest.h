/*
 * suggest.h - "did you mean": the known name closest to a misspelled one
 * (private to the core and the bindings).
 *
 * Every unknown option, key, URL parameter or flag is an error naming it
 * and, through this, the closest known name.
 */
#ifndef EARNORM_UTIL_SUGGEST_H
#define EARNORM_UTIL_SUGGEST_H

#include <stddef.h>

/*
 * The name of known[0..n) (a NULL entry also ends the list) closest to
 * `name` by edit distance (a swap of two neighbours is one edit; ASCII case
 * ignored), or NULL when none is close enough to be a likely misspelling:
 * at most 1 edit for names up to 4 characters, 2 up to 8, 3 beyond; or one
 * name a prefix of the other (at least 3 characters). Ties go to the
 * first. Borrowed from known.
 */
const char *eo_suggest__closest(const char *name, const char *const *known, size_t n);

/*
 * Write " (did you mean 'x'?)" into buf when there is a closest name, ""
 * otherwise, and return buf: for messages like "unknown option 'limt'%s".
 */
const char *eo_suggest__hint(char *buf, size_t cap, const char *name,
                             const char *const *known, size_t n);

#endif
