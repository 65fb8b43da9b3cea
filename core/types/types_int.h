/*
 * types_int.h - the field types built on a storage type (Html, Monetary,
 * Reference, Properties): their metadata checks, conversion rules and
 * registry resolution, shared by model.c, convert.c and the ORM files.
 */
#ifndef EARNORM_TYPES_INT_H
#define EARNORM_TYPES_INT_H

#include "../internal.h"

/* The default names of the fields these types name. */
#define EO_MONETARY_CURRENCY "currency_id"
#define EO_PROPERTIES_DEFINITION "properties_definition"

/* model.c: the spec checks of these types; EO_EINVAL naming the field. */
int eo_types__check_spec(const eo_model *m, const eo_field_spec *spec, eo_error *err);
/* model.c: copy what the spec says of these types into f; EO_ENOMEM. */
int eo_types__copy(eo_field *f, const eo_field_spec *spec);
/* model.c: free what eo_types__copy allocated. */
void eo_types__free(eo_field *f);
/* model.c (eo_registry_resolve): what the field names exists. */
int eo_types__resolve(eo_registry *reg, const eo_model *m, const eo_field *f, eo_error *err);

/* convert.c: conversion of Reference and Properties values. */
int eo_types__convert(const eo_field *f, const eo_value *in, eo_value *out,
                      eo_value_scratch *sc, int checks, eo_error *err);

/* A Reference value "model,id" split: 0, or -1 when it is not of that form
 * (the id is digits or 24 lowercase hexadecimal digits). */
int eo_reference__split(const char *p, size_t n, const char **model, size_t *mlen,
                        const char **id, size_t *idlen);

#endif
