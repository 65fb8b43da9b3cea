/*
 * fuzz_convert.c - the value converter of create and write
 * (eo_field_convert, and eo_field__convert without the checks as domains
 * use it), and the Date/Datetime/Decimal storage forms built on it.
 *
 * Input: byte 0 picks the field (a field of every type, with the edges of
 * size, range, digits and choices), byte 1 the value's type (null, bool,
 * int, float, text, blob; bit 3: without the checks), the rest is the
 * payload (8 bytes little endian for numbers, the bytes for text).
 * A converted value must have the kind its field type promises, convert
 * again to itself (conversion is idempotent on canonical values), and a
 * canonical Date/Datetime/Decimal must survive the round trip through
 * microseconds or scaled integers that the adapters store.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "internal.h"

static eo_registry *reg;
static eo_model *M;

static void build(void)
{
    static const char *const choices[] = { "a", "b", "", "\xc3\xa9" };
    eo_model *other = NULL;
    eo_field_spec s;
    eo_error err;
    int i;
    if (eo_registry_new(&reg, &err) != EO_OK || eo_registry_add_model(&M, reg, "fz.conv", &err) != EO_OK ||
        eo_registry_add_model(&other, reg, "fz.other", &err) != EO_OK)
        fz_die("fixture: %s", err.msg);
#define F(...)                                                                       \
    do {                                                                             \
        memset(&s, 0, sizeof s);                                                     \
        __VA_ARGS__;                                                                 \
        if (eo_model_add_field(NULL, M, &s, &err) != EO_OK)                          \
            fz_die("fixture: %s", err.msg);                                          \
    } while (0)
    F(s.name = "c"; s.type = EO_FT_CHAR);
    F(s.name = "c3"; s.type = EO_FT_CHAR; s.size = 3);
    F(s.name = "t"; s.type = EO_FT_TEXT);
    F(s.name = "sel"; s.type = EO_FT_SELECTION; s.choices = choices; s.nchoices = 4);
    F(s.name = "i"; s.type = EO_FT_INTEGER);
    F(s.name = "ir"; s.type = EO_FT_INTEGER; s.flags = EO_FF_HAS_MIN | EO_FF_HAS_MAX; s.min = -5;
      s.max = 1e18);
    F(s.name = "f"; s.type = EO_FT_FLOAT);
    F(s.name = "fr"; s.type = EO_FT_FLOAT; s.flags = EO_FF_HAS_MIN; s.min = 0.5);
    F(s.name = "b"; s.type = EO_FT_BOOLEAN);
    F(s.name = "d"; s.type = EO_FT_DATE);
    F(s.name = "dt"; s.type = EO_FT_DATETIME);
    F(s.name = "j"; s.type = EO_FT_JSON);
    F(s.name = "dec"; s.type = EO_FT_DECIMAL; s.precision = 12; s.scale = 2);
    F(s.name = "dec18"; s.type = EO_FT_DECIMAL; s.precision = 18; s.scale = 0);
    F(s.name = "dec18s"; s.type = EO_FT_DECIMAL; s.precision = 18; s.scale = 18);
    F(s.name = "dec1"; s.type = EO_FT_DECIMAL; s.precision = 1; s.scale = 0);
    F(s.name = "decr"; s.type = EO_FT_DECIMAL; s.precision = 10; s.scale = 4;
      s.flags = EO_FF_HAS_MIN | EO_FF_HAS_MAX; s.min = -1; s.max = 1);
    F(s.name = "bin"; s.type = EO_FT_BINARY);
    F(s.name = "m2o"; s.type = EO_FT_MANY2ONE; s.comodel = "fz.other");
    F(s.name = "o2m"; s.type = EO_FT_ONE2MANY; s.comodel = "fz.conv"; s.inverse = "m2o_self");
    F(s.name = "m2o_self"; s.type = EO_FT_MANY2ONE; s.comodel = "fz.conv");
    F(s.name = "m2m"; s.type = EO_FT_MANY2MANY; s.comodel = "fz.other");
#undef F
    if (eo_registry_resolve(reg, &err) != EO_OK)
        fz_die("fixture: %s", err.msg);
    for (i = 0; i < (int)M->nfields; i++)
        if (M->fields[i]->index != i)
            fz_die("fixture: field %s at %d", M->fields[i]->name, i);
}

static int same(const eo_value *a, const eo_value *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case EO_VNULL: return 1;
    case EO_VBOOL: return !a->u.b == !b->u.b;
    case EO_VINT: return a->u.i == b->u.i;
    case EO_VFLOAT: return a->u.f == b->u.f || (isnan(a->u.f) && isnan(b->u.f));
    default: return a->u.s.n == b->u.s.n && memcmp(a->u.s.p, b->u.s.p, a->u.s.n) == 0;
    }
}

/* The kinds a converted value of each field type may have. */
static void check_kind(const eo_field *f, const eo_value *v)
{
    int ok;
    if (v->type == EO_VNULL)
        return;
    switch (f->type) {
    case EO_FT_CHAR:
    case EO_FT_TEXT:
    case EO_FT_SELECTION:
    case EO_FT_JSON:
    case EO_FT_DECIMAL: ok = v->type == EO_VTEXT; break;
    case EO_FT_DATE: ok = v->type == EO_VTEXT && v->u.s.n == 10; break;
    case EO_FT_DATETIME: ok = v->type == EO_VTEXT && v->u.s.n >= 19; break;
    case EO_FT_ID:
    case EO_FT_INTEGER: ok = v->type == EO_VINT; break;
    case EO_FT_FLOAT: ok = v->type == EO_VFLOAT && isfinite(v->u.f); break;
    case EO_FT_BOOLEAN: ok = v->type == EO_VBOOL; break;
    case EO_FT_BINARY: ok = v->type == EO_VBLOB; break;
    case EO_FT_MANY2ONE: ok = v->type == EO_VINT || v->type == EO_VTEXT; break;
    default: ok = 0; break;
    }
    if (!ok)
        fz_die("%s (%s) converted to a %s", f->name, eo_ftype_name(f->type), eo_vtype_name(v->type));
}

/* The storage round trips of the adapters. */
static void check_storage(const eo_field *f, const eo_value *v, int checks)
{
    eo_value_scratch sc;
    eo_value back, in;
    eo_error err;
    char buf[64];
    if (v->type != EO_VTEXT)
        return;
    if (f->type == EO_FT_DATE || f->type == EO_FT_DATETIME) {
        int64_t us, us2;
        if (eo_datetime__to_us(v->u.s.p, v->u.s.n, &us) != 0)
            fz_die("%s: canonical '%.*s' has no microseconds", f->name, (int)v->u.s.n, v->u.s.p);
        if (eo_datetime__format_us(us, f->type == EO_FT_DATE, buf, sizeof buf) != 0)
            fz_die("%s: %lld us does not format", f->name, (long long)us);
        memset(&sc, 0, sizeof sc);
        in = eo_cstr(buf);
        if (eo_field__convert(f, &in, &back, &sc, checks, &err) != EO_OK)
            fz_die("%s: '%.*s' stored reads back as '%s', which is refused: %s", f->name,
                   (int)v->u.s.n, v->u.s.p, buf, err.msg);
        if (eo_datetime__to_us(back.u.s.p, back.u.s.n, &us2) != 0 || us2 != us)
            fz_die("%s: '%.*s' stored reads back as '%s'", f->name, (int)v->u.s.n, v->u.s.p, buf);
    } else if (f->type == EO_FT_DECIMAL) {
        int64_t n, n2;
        if (eo_decimal__to_scaled(v->u.s.p, v->u.s.n, f->scale, &n) != 0)
            fz_die("%s: canonical '%.*s' does not scale", f->name, (int)v->u.s.n, v->u.s.p);
        eo_decimal__format_scaled(n, f->scale, buf, sizeof buf);
        memset(&sc, 0, sizeof sc);
        in = eo_cstr(buf);
        if (eo_field__convert(f, &in, &back, &sc, checks, &err) != EO_OK)
            fz_die("%s: '%.*s' stored as %lld reads back as '%s', which is refused: %s", f->name,
                   (int)v->u.s.n, v->u.s.p, (long long)n, buf, err.msg);
        if (eo_decimal__to_scaled(back.u.s.p, back.u.s.n, f->scale, &n2) != 0 || n2 != n)
            fz_die("%s: '%.*s' stored as %lld reads back as '%s'", f->name, (int)v->u.s.n,
                   v->u.s.p, (long long)n, buf);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    build();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const eo_field *f;
    eo_value in, out, again;
    eo_value_scratch sc, sc2;
    eo_error err;
    uint64_t u = 0;
    unsigned kind;
    int checks, rc;
    size_t i;

    if (size < 2)
        return 0;
    f = M->fields[data[0] % M->nfields];
    kind = data[1] & 7;
    checks = !(data[1] & 8);
    data += 2;
    size -= 2;
    for (i = 0; i < 8 && i < size; i++)
        u |= (uint64_t)data[i] << (8 * i);
    switch (kind % 6) {
    case 0: in = eo_null(); break;
    case 1: in = eo_bool((int)(u & 1)); break;
    case 2: in = eo_int((int64_t)u); break;
    case 3: {
        double d;
        memcpy(&d, &u, sizeof d);
        in = eo_float(d);
        break;
    }
    case 4: in = eo_text((const char *)data, size); break;
    default:
        in = eo_text((const char *)data, size);
        in.type = EO_VBLOB;
        break;
    }

    memset(&sc, 0, sizeof sc);
    rc = eo_field__convert(f, &in, &out, &sc, checks, &err);
    if (rc != EO_OK) {
        fz_check_error(rc, &err, "eo_field__convert");
        if (strcmp(err.field, f->name) != 0)
            fz_die("a refused %s value names field '%s'", f->name, err.field);
        fz_outcome(0, "eo_field__convert", &err);
        return 0;
    }
    check_kind(f, &out);
    memset(&sc2, 0, sizeof sc2);
    if ((rc = eo_field__convert(f, &out, &again, &sc2, checks, &err)) != EO_OK)
        fz_die("%s: the converted value is refused when converted again: %s", f->name, err.msg);
    if (!same(&out, &again))
        fz_die("%s: conversion is not idempotent (%s then %s)", f->name, eo_vtype_name(out.type),
               eo_vtype_name(again.type));
    check_storage(f, &out, checks);
    fz_outcome(1, "eo_field__convert", NULL);
    return 0;
}
