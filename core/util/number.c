/*
 * number.c - decimal text to numbers (see number.h).
 */
#include "number.h"

#include <stdlib.h>

int64_t eo_number__int(const char *s, size_t n)
{
    size_t i = 0;
    int neg = 0;
    int64_t v = 0;
    if (n > 0 && s[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (n == i || n - i > 18)
        return strtoll(s, NULL, 10);
    for (; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9)
            return strtoll(s, NULL, 10);
        v = v * 10 + (int64_t)d;
    }
    return neg ? -v : v;
}

/* 10^0 .. 10^22: every one exact in a double */
static const double POW10[] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };

double eo_number__float(const char *s, size_t n)
{
    size_t i = 0;
    int neg = 0, digits = 0, seen = 0;
    uint64_t m = 0;
    long e = 0;
    double v;
    if (n > 0 && s[0] == '-') {
        neg = 1;
        i = 1;
    }
    for (; i < n && (unsigned)(unsigned char)s[i] - '0' <= 9; i++) {
        seen = 1;
        if (m == 0 && s[i] == '0')
            continue; /* leading zeros are not significant */
        if (++digits > 15)
            return strtod(s, NULL);
        m = m * 10 + (uint64_t)(s[i] - '0');
    }
    if (i < n && s[i] == '.') {
        for (i++; i < n && (unsigned)(unsigned char)s[i] - '0' <= 9; i++) {
            seen = 1;
            e--;
            if (m == 0 && s[i] == '0')
                continue;
            if (++digits > 15)
                return strtod(s, NULL);
            m = m * 10 + (uint64_t)(s[i] - '0');
        }
    }
    if (!seen)
        return strtod(s, NULL); /* "NaN", "Infinity", "-Infinity", "." */
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        int eneg = 0;
        long x = 0;
        size_t start;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        start = i;
        for (; i < n && (unsigned)(unsigned char)s[i] - '0' <= 9 && x < 10000; i++)
            x = x * 10 + (s[i] - '0');
        if (i == start)
            return strtod(s, NULL);
        e += eneg ? -x : x;
    }
    if (i != n)
        return strtod(s, NULL);
    if (m == 0)
        v = 0.0;
    else if (e >= 0 && e <= 22)
        v = (double)m * POW10[e];
    else if (e < 0 && e >= -22)
        v = (double)m / POW10[-e];
    else
        return strtod(s, NULL);
    /* (double)m is exact: m < 10^15 < 2^53; one rounding, correct */
    return neg ? -v : v;
}
