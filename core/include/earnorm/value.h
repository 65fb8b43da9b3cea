/*
 * value.h - the value type that crosses every layer, and record ids.
 *
 * An eo_value is a small tagged union. Text and blobs carry a length (Lua
 * strings may hold NUL bytes) and are Borrowed: a value never owns its bytes;
 * whoever made it says how long they live. Code that keeps a value copies it
 * with eo_value_copy and releases it with eo_value_clear.
 */
#ifndef EARNORM_VALUE_H
#define EARNORM_VALUE_H

#include <string.h>

#include "common.h"

EO_BEGIN_DECL

typedef enum eo_vtype {
    EO_VNULL = 0,
    EO_VBOOL,
    EO_VINT,
    EO_VFLOAT,
    EO_VTEXT,
    EO_VBLOB
} eo_vtype;

typedef struct eo_value {
    eo_vtype type;
    int owned;              /* 1 when s.p was allocated by eo_value_copy */
    union {
        int b;              /* EO_VBOOL: 0 or 1 */
        int64_t i;          /* EO_VINT */
        double f;           /* EO_VFLOAT */
        struct {
            const char *p;  /* EO_VTEXT, EO_VBLOB: bytes (text is NUL-terminated when owned) */
            size_t n;       /* length in bytes */
        } s;
    } u;
} eo_value;

/** Constructors; text and blob bytes are Borrowed. Inline: they sit on
 * every row's path. */
static inline eo_value eo_null(void)
{
    eo_value v;
    memset(&v, 0, sizeof v);
    return v;
}
static inline eo_value eo_bool(int b)
{
    eo_value v = eo_null();
    v.type = EO_VBOOL;
    v.u.b = b != 0;
    return v;
}
static inline eo_value eo_int(int64_t i)
{
    eo_value v = eo_null();
    v.type = EO_VINT;
    v.u.i = i;
    return v;
}
static inline eo_value eo_float(double f)
{
    eo_value v = eo_null();
    v.type = EO_VFLOAT;
    v.u.f = f;
    return v;
}
static inline eo_value eo_text(const char *p, size_t n)
{
    eo_value v = eo_null();
    v.type = EO_VTEXT;
    v.u.s.p = p;
    v.u.s.n = n;
    return v;
}
static inline eo_value eo_cstr(const char *s) { return eo_text(s, strlen(s)); }
static inline eo_value eo_blob(const void *p, size_t n)
{
    eo_value v = eo_text((const char *)p, n);
    v.type = EO_VBLOB;
    return v;
}

/**
 * Deep-copy @p src into @p out: text and blob bytes are allocated and
 * Owned by @p out until eo_value_clear.
 * @return 0, EO_ENOMEM, or EO_EINVAL when @p out or @p src is NULL
 *         (@p out, if given, is then the NULL value).
 */
EO_API int eo_value_copy(eo_value *out, const eo_value *src);
/** Free what @p v owns and set it to NULL. Accepts NULL. */
EO_API void eo_value_clear(eo_value *v);
/** Same type and same contents (1) or not (0). INT 1 and FLOAT 1.0 differ.
 * Here and in eo_value_compare a NULL pointer reads as the NULL value. */
EO_API int eo_value_equal(const eo_value *a, const eo_value *b);
/** Order for sorting: NULL first, then by type, then by value. */
EO_API int eo_value_compare(const eo_value *a, const eo_value *b);
/** Name of a value type ("integer", "text", ...). Static. */
EO_API const char *eo_vtype_name(eo_vtype t);

/**
 * A record id. SQL backends use integers; MongoDB uses 12-byte ObjectIds.
 * The kind is a property of the database, not of the id, so an id array is
 * compact. Compare with eo_id_equal; unused bytes are always zero.
 */
typedef union eo_id {
    int64_t num;               /* EO_IDNUM */
    unsigned char oid[12];     /* EO_IDOID */
    uint64_t w[2];
} eo_id;

typedef enum eo_idkind { EO_IDNUM = 0, EO_IDOID = 1 } eo_idkind;

EO_API eo_id eo_id_num(int64_t n);
EO_API int eo_id_equal(eo_id a, eo_id b);
EO_API uint64_t eo_id_hash(eo_id a);
/**
 * Convert an id to a value: EO_IDNUM gives EO_VINT, EO_IDOID gives the
 * 24-hex-digit text written into @p hexbuf (25 bytes, Borrowed by the value;
 * with @p hexbuf NULL, the NULL value).
 */
EO_API eo_value eo_id_to_value(eo_id id, eo_idkind kind, char hexbuf[25]);
/**
 * Convert a value to an id of @p kind (integers, numeric text, 24-hex text).
 * @return 0 or EO_EINVAL (also when @p out or @p v is NULL).
 */
EO_API int eo_id_from_value(eo_id *out, eo_idkind kind, const eo_value *v);

EO_END_DECL

#endif /* EARNORM_VALUE_H */
