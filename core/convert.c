/*
 * convert.c - type conversion and the one-value built-in checks.
 *
 * Turns whatever a caller gave (a Lua number, JSON text, a C string) into
 * the canonical value of a field's type and checks size, min/max and
 * choices. Required and unique need the whole record or the database and
 * are checked by the ORM operations, not here.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "earnorm/model.h"
#include "embedded_int.h"
#include "internal.h"
#include "types/types_int.h"
#include "util/json.h"

static int fail(eo_error *err, int code, const eo_field *f, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static int fail(eo_error *err, int code, const eo_field *f, const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    eo_error_set(err, code, "%s.%s: %s", f->model ? f->model->name : "?", f->name, what);
    eo_error_where(err, f->model ? f->model->name : NULL, f->name);
    return code;
}

/* A short printable excerpt of a value for messages. */
static const char *show(const eo_value *v, char *buf, size_t cap)
{
    switch (v->type) {
    case EO_VNULL: snprintf(buf, cap, "null"); break;
    case EO_VBOOL: snprintf(buf, cap, "%s", v->u.b ? "true" : "false"); break;
    case EO_VINT: snprintf(buf, cap, "%lld", (long long)v->u.i); break;
    case EO_VFLOAT:
        if (isnan(v->u.f))
            snprintf(buf, cap, "NaN");
        else if (isinf(v->u.f))
            snprintf(buf, cap, "%sInfinity", v->u.f < 0 ? "-" : "");
        else
            snprintf(buf, cap, "%.17g", v->u.f);
        break;
    case EO_VTEXT:
        if (v->u.s.n > 40)
            snprintf(buf, cap, "'%.37s...'", v->u.s.p);
        else
            snprintf(buf, cap, "'%.*s'", (int)v->u.s.n, v->u.s.p);
        break;
    case EO_VBLOB: snprintf(buf, cap, "<%zu bytes>", v->u.s.n); break;
    }
    return buf;
}

/* The shortest text that reads back as d: 0.1 is "0.1", not "0.10000000000000001". */
static void shortest(double d, char *buf, size_t cap)
{
    int prec;
    for (prec = 15; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

static int text_to_cstr(const eo_value *v, char *buf, size_t cap)
{
    if (v->u.s.n >= cap || memchr(v->u.s.p, '\0', v->u.s.n))
        return -1;
    memcpy(buf, v->u.s.p, v->u.s.n);
    buf[v->u.s.n] = '\0';
    return 0;
}

static int parse_int(const eo_value *v, int64_t *out)
{
    char buf[32], *end;
    long long n;
    if (text_to_cstr(v, buf, sizeof buf) < 0 || buf[0] == '\0')
        return -1;
    errno = 0;
    n = strtoll(buf, &end, 10);
    if (errno || *end)
        return -1;
    *out = n;
    return 0;
}

static int parse_float(const eo_value *v, double *out)
{
    char buf[64], *end;
    double d;
    if (text_to_cstr(v, buf, sizeof buf) < 0 || buf[0] == '\0')
        return -1;
    errno = 0;
    d = strtod(buf, &end);
    if (errno || *end || !isfinite(d))
        return -1;
    *out = d;
    return 0;
}

static size_t utf8_len(const char *p, size_t n)
{
    size_t i, len = 0;
    for (i = 0; i < n; i++)
        if (((unsigned char)p[i] & 0xC0) != 0x80)
            len++;
    return len;
}

static int check_range(const eo_field *f, double d, eo_error *err)
{
    if ((f->flags & EO_FF_HAS_MIN) && d < f->min)
        return fail(err, EO_EVALIDATE, f, "%.17g is less than the minimum %.17g", d, f->min);
    if ((f->flags & EO_FF_HAS_MAX) && d > f->max)
        return fail(err, EO_EVALIDATE, f, "%.17g is more than the maximum %.17g", d, f->max);
    return EO_OK;
}

static int days_in_month(int y, int m)
{
    static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return d[m - 1];
}

static int digits(const char *s, int n, int *out)
{
    int i, v = 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* "YYYY-MM-DD" at s; 0 when valid */
static int parse_date(const char *s, size_t n, int *y, int *mo, int *d)
{
    if (n < 10 || s[4] != '-' || s[7] != '-' || digits(s, 4, y) ||
        digits(s + 5, 2, mo) || digits(s + 8, 2, d))
        return -1;
    if (*y < 1 || *mo < 1 || *mo > 12 || *d < 1 || *d > days_in_month(*y, *mo))
        return -1;
    return 0;
}

/* days since 1970-01-01 (Howard Hinnant's days_from_civil) */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* UTC text of whole seconds plus microseconds since 1970; -1 outside years 1..9999. */
static int format_utc(int64_t whole, long usec, char *buf, size_t cap)
{
    int64_t days, rem;
    int y, m, d;
    /* 0001-01-01 .. 9999-12-31 23:59:59; also keeps civil_from_days in range */
    if (whole < -62135596800LL || whole >= 253402300800LL)
        return -1;
    days = whole >= 0 ? whole / 86400 : -((-whole + 86399) / 86400);
    rem = whole - days * 86400;
    civil_from_days(days, &y, &m, &d);
    if (y < 1 || y > 9999)
        return -1;
    if (usec)
        snprintf(buf, cap, "%04d-%02d-%02d %02d:%02d:%02d.%06ld", y, m, d,
                 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), usec);
    else
        snprintf(buf, cap, "%04d-%02d-%02d %02d:%02d:%02d", y, m, d,
                 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
    return 0;
}

static int format_epoch(double secs, char *buf, size_t cap)
{
    int64_t whole;
    long usec;
    /* NaN and huge values never reach the integer casts */
    if (!(secs > -62135596801.0 && secs < 253402300801.0))
        return -1;
    whole = (int64_t)floor(secs);
    usec = (long)llround((secs - (double)whole) * 1e6);
    if (usec >= 1000000) {
        /* rounding carries into the next second (and day, and year) */
        usec -= 1000000;
        whole++;
    }
    return format_utc(whole, usec, buf, cap);
}

/*
 * Accepts "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS[.ffffff]]", 'T' instead of
 * the space, and a trailing "Z" or "+HH:MM"/"-HH:MM" offset; writes the
 * UTC "YYYY-MM-DD HH:MM:SS[.ffffff]" form.
 */
static int norm_datetime(const char *s, size_t n, char *buf, size_t cap)
{
    int y, mo, d, h = 0, mi = 0, se = 0, oh = 0, om = 0, sign = 0;
    long usec = 0;
    size_t i = 10;
    if (parse_date(s, n, &y, &mo, &d))
        return -1;
    if (i < n) {
        if ((s[i] != ' ' && s[i] != 'T' && s[i] != 't') || n < i + 6 || digits(s + i + 1, 2, &h) ||
            s[i + 3] != ':' || digits(s + i + 4, 2, &mi))
            return -1;
        i += 6;
        if (i < n && s[i] == ':') {
            if (n < i + 3 || digits(s + i + 1, 2, &se))
                return -1;
            i += 3;
            if (i < n && s[i] == '.') {
                int k = 0;
                i++;
                while (i < n && s[i] >= '0' && s[i] <= '9') {
                    if (k < 6) {
                        usec = usec * 10 + (s[i] - '0');
                        k++;
                    }
                    i++;
                }
                if (k == 0)
                    return -1;
                while (k++ < 6)
                    usec *= 10;
            }
        }
        if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
            i++;
        } else if (i < n && (s[i] == '+' || s[i] == '-')) {
            sign = s[i] == '-' ? -1 : 1;
            if (n < i + 6 || digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
                digits(s + i + 4, 2, &om))
                return -1;
            i += 6;
        }
        if (i != n || h > 23 || mi > 59 || se > 59 || oh > 23 || om > 59)
            return -1;
    }
    {
        int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
        secs -= sign * (oh * 3600 + om * 60);
        /* integers all the way: a double loses microseconds near year 9999 */
        return format_utc(secs, usec, buf, cap);
    }
}

/*
 * Exact decimal text to canonical text with `scale` digits after the point,
 * rounding half away from zero. Refuses more than precision-scale integer
 * digits.
 */
static int norm_decimal(const char *s, size_t n, int precision, int scale,
                        char *buf, size_t cap, double *approx)
{
    char digs[64];
    size_t i = 0, nd = 0, intd = 0;
    int neg = 0, seen_point = 0, frac = 0, any = 0;
    size_t start;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    for (; i < n; i++) {
        char c = s[i];
        if (c == '.' && !seen_point) {
            seen_point = 1;
            continue;
        }
        if (c < '0' || c > '9')
            return -1;
        any = 1;
        if (seen_point) {
            if (frac > scale) /* only one rounding digit is needed */
                continue;
            frac++;
        } else {
            if (nd == 0 && c == '0')
                continue; /* leading zeros */
            intd++;
        }
        /* more integer digits than the field holds: out of range already */
        if (!seen_point && (int)intd > precision)
            return -2;
        if (nd >= sizeof digs - 2)
            return -2;
        digs[nd++] = c;
    }
    if (!any)
        return -1;
    /* the fraction padded to scale + 1 digits must fit too (62 integer
     * digits and scale 2 wrote past digs: a fuzz regression) */
    if (nd + (size_t)(scale + 1 - frac) > sizeof digs - 1)
        return -2;
    while (frac < scale + 1) {
        digs[nd++] = '0';
        frac++;
    }
    /* round on the last digit */
    {
        int carry = digs[nd - 1] >= '5';
        size_t k;
        nd--;
        for (k = nd; carry && k > 0; k--) {
            if (digs[k - 1] == '9') {
                digs[k - 1] = '0';
            } else {
                digs[k - 1]++;
                carry = 0;
            }
        }
        if (carry) {
            memmove(digs + 1, digs, nd);
            digs[0] = '1';
            nd++;
            intd++;
        }
    }
    if ((int)intd > precision - scale)
        return -2;
    /* digs holds intd integer digits then scale fraction digits */
    {
        size_t o = 0;
        int allzero = 1;
        for (i = 0; i < nd; i++)
            if (digs[i] != '0')
                allzero = 0;
        if (neg && !allzero)
            buf[o++] = '-';
        if (intd == 0)
            buf[o++] = '0';
        start = 0;
        for (i = start; i < intd; i++)
            buf[o++] = digs[i];
        if (scale > 0) {
            buf[o++] = '.';
            for (i = intd; i < nd; i++)
                buf[o++] = digs[i];
        }
        buf[o] = '\0';
        EO_UNUSED(cap);
        *approx = strtod(buf, NULL);
    }
    return 0;
}

int eo_field_convert(const eo_field *f, const eo_value *in, eo_value *out,
                     eo_value_scratch *scratch, eo_error *err)
{
    EO_ENTER();
    EO_REQUIRE(out);
    *out = eo_null();
    EO_REQUIRE(f);
    EO_REQUIRE(in);
    EO_REQUIRE(scratch);
    return eo_field__convert(f, in, out, scratch, 1, err);
}

int eo_field__convert(const eo_field *f, const eo_value *in, eo_value *out,
                      eo_value_scratch *sc, int checks, eo_error *err)
{
    char shown[64];
    *out = *in;
    out->owned = 0;
    if (in->type == EO_VNULL)
        return EO_OK;
    if (f->type == EO_FT_REFERENCE || f->type == EO_FT_PROPERTIES)
        return eo_types__convert(f, in, out, sc, checks, err);

    switch (eo_ftype_base(f->type)) {
    case EO_FT_CHAR:
    case EO_FT_TEXT:
    case EO_FT_SELECTION:
        if (in->type == EO_VINT) {
            snprintf(sc->buf, sizeof sc->buf, "%lld", (long long)in->u.i);
            *out = eo_cstr(sc->buf);
        } else if (in->type == EO_VFLOAT) {
            shortest(in->u.f, sc->buf, sizeof sc->buf);
            *out = eo_cstr(sc->buf);
        } else if (in->type != EO_VTEXT) {
            return fail(err, EO_EINVAL, f, "expected a string, got %s %s",
                        eo_vtype_name(in->type), show(in, shown, sizeof shown));
        }
        if (out->type == EO_VTEXT) {
            /* what PostgreSQL cuts at, MongoDB replaces and SQLite keeps
             * would read back differently per backend: refused on all */
            const char *nul = memchr(out->u.s.p, '\0', out->u.s.n);
            size_t at;
            if (nul)
                return fail(err, EO_EINVAL, f,
                            "text holds a NUL byte (at byte %zu); use a Binary field for bytes",
                            (size_t)(nul - out->u.s.p));
            if (eo_utf8__check(out->u.s.p, out->u.s.n, &at))
                return fail(err, EO_EINVAL, f,
                            "text is not valid UTF-8 (byte 0x%02x at %zu); use a Binary field for bytes",
                            (unsigned char)out->u.s.p[at], at);
        }
        if (checks && f->type == EO_FT_CHAR && f->size > 0) {
            size_t len = utf8_len(out->u.s.p, out->u.s.n);
            if (len > (size_t)f->size)
                return fail(err, EO_EVALIDATE, f,
                            "value is %zu characters long, more than size %d",
                            len, f->size);
        }
        if (checks && f->type == EO_FT_SELECTION) {
            size_t i;
            char list[256];
            size_t o = 0;
            for (i = 0; i < f->nchoices; i++)
                if (strlen(f->choices[i]) == out->u.s.n &&
                    memcmp(f->choices[i], out->u.s.p, out->u.s.n) == 0)
                    return EO_OK;
            list[0] = '\0';
            for (i = 0; i < f->nchoices && o < sizeof list - 1; i++) {
                int w = snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "",
                                 f->choices[i]);
                if (w < 0)
                    break;
                o += (size_t)w;
            }
            return fail(err, EO_EVALIDATE, f, "%s is not one of: %s",
                        show(out, shown, sizeof shown), list);
        }
        return EO_OK;

    case EO_FT_ID:
    case EO_FT_INTEGER: {
        int64_t i;
        if (in->type == EO_VINT) {
            i = in->u.i;
        } else if (in->type == EO_VFLOAT && in->u.f == floor(in->u.f) &&
                   fabs(in->u.f) < 9.2e18) {
            i = (int64_t)in->u.f;
        } else if (in->type == EO_VTEXT && parse_int(in, &i) == 0) {
            /* numeric text is accepted, as from JSON or a form */
        } else {
            return fail(err, EO_EINVAL, f, "expected an integer, got %s %s",
                        eo_vtype_name(in->type), show(in, shown, sizeof shown));
        }
        *out = eo_int(i);
        return checks ? check_range(f, (double)i, err) : EO_OK;
    }

    case EO_FT_FLOAT: {
        double d;
        if (in->type == EO_VINT)
            d = (double)in->u.i;
        else if (in->type == EO_VFLOAT && isfinite(in->u.f))
            d = in->u.f;
        else if (in->type == EO_VTEXT && parse_float(in, &d) == 0)
            ;
        else if (in->type == EO_VFLOAT)
            /* SQLite would store NULL, PostgreSQL 'NaN', FerretDB drops
             * the connection: refused on every backend */
            return fail(err, EO_EINVAL, f,
                        "%s cannot be stored: a Float holds finite numbers only",
                        show(in, shown, sizeof shown));
        else
            return fail(err, EO_EINVAL, f, "expected a number, got %s %s",
                        eo_vtype_name(in->type), show(in, shown, sizeof shown));
        *out = eo_float(d);
        return checks ? check_range(f, d, err) : EO_OK;
    }

    case EO_FT_BOOLEAN:
        if (in->type == EO_VBOOL)
            return EO_OK;
        if (in->type == EO_VINT && (in->u.i == 0 || in->u.i == 1)) {
            *out = eo_bool((int)in->u.i);
            return EO_OK;
        }
        return fail(err, EO_EINVAL, f, "expected a boolean, got %s %s",
                    eo_vtype_name(in->type), show(in, shown, sizeof shown));

    case EO_FT_DATE: {
        int y, m, d;
        if (in->type != EO_VTEXT || in->u.s.n != 10 ||
            parse_date(in->u.s.p, in->u.s.n, &y, &m, &d))
            return fail(err, EO_EINVAL, f, "expected a date 'YYYY-MM-DD', got %s",
                        show(in, shown, sizeof shown));
        return EO_OK;
    }

    case EO_FT_DATETIME:
        if (in->type == EO_VINT || in->type == EO_VFLOAT) {
            double secs = in->type == EO_VINT ? (double)in->u.i : in->u.f;
            if (format_epoch(secs, sc->buf, sizeof sc->buf))
                return fail(err, EO_EINVAL, f, "timestamp %s is out of range",
                            show(in, shown, sizeof shown));
        } else if (in->type != EO_VTEXT ||
                   norm_datetime(in->u.s.p, in->u.s.n, sc->buf, sizeof sc->buf)) {
            return fail(err, EO_EINVAL, f,
                        "expected a datetime 'YYYY-MM-DD HH:MM:SS' (UTC), got %s",
                        show(in, shown, sizeof shown));
        }
        *out = eo_cstr(sc->buf);
        return EO_OK;

    case EO_FT_JSON:
        if (in->type == EO_VTEXT) {
            /* plain JSON only: NaN, Infinity, "\u0000" and the like have no
             * faithful form on every backend (and make FerretDB drop the
             * connection) */
            eo_json_fail why;
            int r = eo_json__read(in->u.s.p, in->u.s.n, NULL, NULL, &why);
            if (r == -2)
                return fail(err, EO_ENOMEM, f, "out of memory");
            if (r != 0 && why.limit)
                return fail(err, EO_ELIMIT, f, "the value is nested more than %d levels",
                            EO_JSON_MAX_DEPTH);
            if (r != 0)
                return fail(err, EO_EINVAL, f, "not valid JSON: %s (at byte %zu)", why.why,
                            why.at);
            return EO_OK;
        }
        if (in->type == EO_VFLOAT && !isfinite(in->u.f))
            return fail(err, EO_EINVAL, f, "%s is not a JSON number (JSON has no NaN or infinity)",
                        show(in, shown, sizeof shown));
        if (in->type == EO_VINT || in->type == EO_VFLOAT || in->type == EO_VBOOL) {
            if (in->type == EO_VINT)
                snprintf(sc->buf, sizeof sc->buf, "%lld", (long long)in->u.i);
            else if (in->type == EO_VFLOAT)
                shortest(in->u.f, sc->buf, sizeof sc->buf);
            else
                snprintf(sc->buf, sizeof sc->buf, "%s", in->u.b ? "true" : "false");
            *out = eo_cstr(sc->buf);
            return EO_OK;
        }
        return fail(err, EO_EINVAL, f, "expected JSON text, got %s",
                    eo_vtype_name(in->type));

    case EO_FT_DECIMAL: {
        char tmp[64];
        const char *text = tmp; /* the numeral to normalize */
        size_t tlen;
        double approx;
        int r;
        if (in->type == EO_VINT) {
            snprintf(tmp, sizeof tmp, "%lld", (long long)in->u.i);
        } else if (in->type == EO_VFLOAT && isfinite(in->u.f)) {
            /* 15 significant digits read back as the literal the user wrote */
            if (fabs(in->u.f) >= 1e18)
                return fail(err, EO_EVALIDATE, f, "%s does not fit digits (%d, %d)",
                            show(in, shown, sizeof shown), f->precision, f->scale);
            snprintf(tmp, sizeof tmp, "%.15g", in->u.f);
            if (strchr(tmp, 'e'))
                snprintf(tmp, sizeof tmp, "%.*f", f->scale + 1, in->u.f);
        } else if (in->type == EO_VTEXT) {
            text = in->u.s.p; /* any length: too many digits is "does not fit" */
        } else {
            return fail(err, EO_EINVAL, f, "expected a decimal number, got %s %s",
                        eo_vtype_name(in->type), show(in, shown, sizeof shown));
        }
        tlen = text == tmp ? strlen(tmp) : in->u.s.n;
        r = norm_decimal(text, tlen, f->precision, f->scale, sc->buf, sizeof sc->buf, &approx);
        if (r == -1)
            return fail(err, EO_EINVAL, f, "expected a decimal number, got %s",
                        show(in, shown, sizeof shown));
        if (r == -2)
            return fail(err, EO_EVALIDATE, f, "%s does not fit digits (%d, %d)",
                        show(in, shown, sizeof shown), f->precision, f->scale);
        *out = eo_cstr(sc->buf);
        return checks ? check_range(f, approx, err) : EO_OK;
    }

    case EO_FT_BINARY:
        if (in->type == EO_VBLOB)
            return EO_OK;
        if (in->type == EO_VTEXT) {
            out->type = EO_VBLOB;
            return EO_OK;
        }
        return fail(err, EO_EINVAL, f, "expected binary data (a string), got %s",
                    eo_vtype_name(in->type));

    case EO_FT_MANY2ONE:
        if (in->type == EO_VINT || in->type == EO_VTEXT)
            return EO_OK;
        if (in->type == EO_VFLOAT && in->u.f == floor(in->u.f) && fabs(in->u.f) < 9.2e18) {
            *out = eo_int((int64_t)in->u.f);
            return EO_OK;
        }
        return fail(err, EO_EINVAL, f, "expected a record or an id of %s, got %s %s",
                    f->comodel_name, eo_vtype_name(in->type),
                    show(in, shown, sizeof shown));

    case EO_FT_ONE2MANY:
    case EO_FT_MANY2MANY:
        return fail(err, EO_ENOTSUP, f, "x2many values are not plain values");

    case EO_FT_EMBEDDED:
    case EO_FT_LIST:
        return eo_embedded__check(f, in, out, err);
    default:
        break;
    }
    return fail(err, EO_EINVAL, f, "unknown field type");
}

int eo_datetime__to_us(const char *s, size_t n, int64_t *us)
{
    /* canonical "YYYY-MM-DD[ HH:MM:SS[.ffffff]]", UTC */
    int y, mo, d, h = 0, mi = 0, se = 0;
    long usec = 0;
    size_t i;
    if (parse_date(s, n, &y, &mo, &d))
        return -1;
    if (n >= 19 && (digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &se)))
        return -1;
    for (i = 20; n > 20 && i < n && i < 26; i++)
        usec = usec * 10 + (s[i] - '0');
    for (; n > 20 && i < 26; i++)
        usec *= 10;
    *us = (days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se) * 1000000LL + usec;
    return 0;
}

int eo_datetime__format_us(int64_t us, int date_only, char *buf, size_t cap)
{
    int64_t whole = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    long usec = (long)(us - whole * 1000000);
    if (format_utc(whole, usec, buf, cap))
        return -1;
    if (date_only)
        buf[10] = '\0';
    return 0;
}

/* Canonical decimal text -> integer * 10^scale (extra digits dropped). */
int eo_decimal__to_scaled(const char *s, size_t len, int scale, int64_t *out)
{
    const char *p = s, *e = s + len;
    int neg = 0, frac = -1;
    int64_t n = 0;
    if (p < e && (*p == '-' || *p == '+'))
        neg = *p++ == '-';
    for (; p < e; p++) {
        if (*p == '.') {
            frac = 0;
            continue;
        }
        if (*p < '0' || *p > '9')
            return -1;
        if (frac >= 0) {
            if (frac == scale)
                continue;
            frac++;
        }
        n = n * 10 + (*p - '0');
    }
    for (frac = frac < 0 ? 0 : frac; frac < scale; frac++)
        n *= 10;
    *out = neg ? -n : n;
    return 0;
}

/* Integer * 10^-scale -> canonical decimal text. */
void eo_decimal__format_scaled(int64_t n, int scale, char *buf, size_t cap)
{
    uint64_t a = n < 0 ? (uint64_t)(-(n + 1)) + 1 : (uint64_t)n, p = 1;
    int i;
    for (i = 0; i < scale; i++)
        p *= 10;
    if (scale == 0)
        snprintf(buf, cap, "%s%llu", n < 0 ? "-" : "", (unsigned long long)a);
    else
        snprintf(buf, cap, "%s%llu.%0*llu", n < 0 ? "-" : "", (unsigned long long)(a / p), scale,
                 (unsigned long long)(a % p));
}
