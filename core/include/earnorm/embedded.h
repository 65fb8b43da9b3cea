/*
 * embedded.h - typed sub-records: Embedded and List fields.
 *
 * A sub-record type ("address") is declared once in a registry and reused
 * by fields of any model: Embedded{ "address" } holds one sub-record,
 * List{ Embedded{ "address" } } a list of them. A type is an eo_model with
 * `embedded` set, kept apart from the registry's models (no table, no
 * records, never in eo_registry_at); its fields are plain fields (Char,
 * Text, Integer, Float, Boolean, Date, Datetime, Selection, Json) with
 * their options: required, size, min/max, choices and static defaults.
 *
 * The canonical value of an Embedded field is the text of a JSON object
 * holding the sub-fields that are set, in declaration order, each value
 * canonical for its sub-field, defaults filled in; of a List field, a JSON
 * array of such objects. eo_embedded_normalize makes it from what a caller
 * wrote and runs every check on every sub-field (errors name the path:
 * "res.partner.address.city: required field missing",
 * "sale.order.items[2].qty: ..."). eo_field_convert accepts canonical text
 * only, so every write path stores the same thing.
 *
 * Storage: a JSON column (TEXT on SQLite, JSONB on PostgreSQL), a
 * sub-document (an array of them) on MongoDB. Domains reach the
 * sub-fields with dotted paths ("address.city"), compiled into the query.
 */
#ifndef EARNORM_EMBEDDED_H
#define EARNORM_EMBEDDED_H

#include "common.h"
#include "error.h"
#include "model.h"

EO_BEGIN_DECL

/**
 * Declare the sub-record type @p name (letters, digits, '_' and '.') in
 * @p reg; add its fields with eo_model_add_field.
 * @param[out] out Borrowed from @p reg.
 * @return 0, EO_EINVAL (bad name) or EO_ECONFLICT (declared already).
 */
EO_API int eo_registry_add_embedded(eo_model **out, eo_registry *reg, const char *name,
                                    eo_error *err);

/** The sub-record type called @p name, or NULL. Borrowed. */
EO_API eo_model *eo_registry_find_embedded(const eo_registry *reg, const char *name);

/**
 * The canonical text of a value of the Embedded or List field @p f (see
 * the file comment), from JSON text @p json (an object, or for a List an
 * array of objects; an empty array stands for an empty object).
 * @param[out] out Owned: free with eo_free; NUL-terminated.
 * @return 0, EO_EINVAL (not such a value, an unknown sub-field, a value of
 *         the wrong type, named with its path), EO_EVALIDATE (a check
 *         refused it), EO_ELIMIT or EO_ENOMEM.
 */
EO_API int eo_embedded_normalize(char **out, size_t *outlen, const eo_field *f,
                                 const char *json, size_t len, eo_error *err);

EO_END_DECL

#endif /* EARNORM_EMBEDDED_H */
