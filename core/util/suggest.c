/*
 * suggest.c - the known name closest to a misspelled one (suggest.h).
 *
 * Edit distance (Levenshtein with swaps of neighbours) over bytes with
 * ASCII case folded, three rows of the table at a time. Names are short (options, fields, flags); longer ones
 * are compared on their first 64 bytes, which is enough to tell them
 * apart and keeps the work bounded whatever the input.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "suggest.h"

#define NAME_MAX_CMP 64

/* Edits between a and b: insertions, deletions, substitutions and swaps
 * of two neighbours ("knid" -> "kind" is one), the optimal string
 * alignment distance. */
static size_t distance(const char *a, size_t la, const char *b, size_t lb)
{
    size_t rows[3][NAME_MAX_CMP + 1], i, j;
    size_t *pp = rows[0], *prev = rows[1], *cur = rows[2], *t;
    for (j = 0; j <= lb; j++)
        prev[j] = j;
    for (i = 1; i <= la; i++) {
        int ca = tolower((unsigned char)a[i - 1]);
        cur[0] = i;
        for (j = 1; j <= lb; j++) {
            int cb = tolower((unsigned char)b[j - 1]);
            size_t sub = prev[j - 1] + (ca != cb), del = prev[j] + 1, ins = cur[j - 1] + 1;
            size_t d = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && pp[j - 2] + 1 < d)
                d = pp[j - 2] + 1;
            cur[j] = d;
        }
        t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb];
}

static int prefix_of(const char *a, size_t la, const char *b, size_t lb)
{
    size_t i;
    if (la < 3 || la > lb)
        return 0;
    for (i = 0; i < la; i++)
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
            return 0;
    return 1;
}

const char *eo_suggest__closest(const char *name, const char *const *known, size_t n)
{
    const char *best = NULL;
    size_t i, best_d = (size_t)-1, ln;
    if (name == NULL || known == NULL)
        return NULL;
    ln = strlen(name);
    if (ln > NAME_MAX_CMP)
        ln = NAME_MAX_CMP;
    for (i = 0; i < n && known[i]; i++) {
        size_t lk = strlen(known[i]), d, longest, allowed;
        if (lk > NAME_MAX_CMP)
            lk = NAME_MAX_CMP;
        d = distance(name, ln, known[i], lk);
        longest = ln > lk ? ln : lk;
        allowed = longest <= 4 ? 1 : longest <= 8 ? 2 : 3;
        if (d >= longest)
            continue; /* nothing in common ("x" is not a misspelt "a") */
        if (d > allowed && !prefix_of(name, ln, known[i], lk) && !prefix_of(known[i], lk, name, ln))
            continue;
        if (d < best_d) {
            best = known[i];
            best_d = d;
        }
    }
    return best;
}

const char *eo_suggest__hint(char *buf, size_t cap, const char *name,
                             const char *const *known, size_t n)
{
    const char *c = eo_suggest__closest(name, known, n);
    if (cap == 0)
        return buf;
    if (c)
        snprintf(buf, cap, " (did you mean '%s'?)", c);
    else
        buf[0] = '\0';
    return buf;
}
