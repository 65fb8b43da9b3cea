/*
 * common.h - export macros, version and the few types every header needs.
 */
#ifndef EARNORM_COMMON_H
#define EARNORM_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define EO_BEGIN_DECL extern "C" {
#define EO_END_DECL }
#else
#define EO_BEGIN_DECL
#define EO_END_DECL
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define EO_API __attribute__((visibility("default")))
#else
#define EO_API
#endif

#define EO_VERSION_MAJOR 0
#define EO_VERSION_MINOR 1
#define EO_VERSION_PATCH 0
#define EO_VERSION_STRING "0.1.0"

EO_BEGIN_DECL

/** The library's version string ("0.1.0"). Static, never freed. */
EO_API const char *eo_version(void);

EO_END_DECL

#endif /* EARNORM_COMMON_H */
