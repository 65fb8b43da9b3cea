/*
 * error.h - error codes and the eo_error report.
 *
 * Every call that can fail returns EO_OK (0) or a negative EO_E* code and,
 * when the caller passed one, fills an eo_error. Filling it never allocates,
 * so an out-of-memory condition can still be reported.
 *
 * The contract of every public function that takes an `eo_error *err`
 * (which may be NULL), in every header:
 *   - on success it clears err (code EO_OK, domain EO_DOMAIN_NONE, native
 *     0, empty msg, field and model), whatever err held before;
 *   - a NULL handle or required pointer argument is EO_EINVAL with the
 *     message "<function>: <argument> is NULL" (release builds too), never
 *     a crash; an array argument is required when its count is not 0;
 *   - out parameters are reset (NULL or 0) before anything can fail.
 * Two exceptions, by design: eo_error_set fills err, and
 * eo_env_atomic_end(env, 0, err) leaves err as it is (it may hold the
 * error that made the scope fail). Functions without an eo_error accept
 * NULL pointers too: getters return NULL or 0, void functions do nothing.
 * tests/c/test_api_contract.c checks all of it for every EO_API function.
 */
#ifndef EARNORM_ERROR_H
#define EARNORM_ERROR_H

#include "common.h"

EO_BEGIN_DECL

/** Result codes. Keep them few (libgit2). */
typedef enum eo_code {
    EO_OK = 0,
    EO_ERROR = -1,     /* generic failure */
    EO_ENOMEM = -2,    /* out of memory */
    EO_EINVAL = -3,    /* bad argument or input (type, syntax, unknown name) */
    EO_ENOTFOUND = -4, /* model, field or record not found */
    EO_ECONFLICT = -5, /* unique or concurrent-update conflict */
    EO_EVALIDATE = -6, /* a validation rule refused a value */
    EO_ETIMEOUT = -7,  /* a wait or a script ran out of time */
    EO_EBUSY = -8,     /* resource busy or locked */
    EO_ECONN = -9,     /* connection to a server lost or refused */
    EO_ETXNSTATE = -10,/* operation not allowed in this transaction state */
    EO_ENOTSUP = -11,  /* the backend cannot do this */
    EO_ELIMIT = -12    /* input or result exceeds a documented limit */
} eo_code;

/** Where an error came from. */
typedef enum eo_errdomain {
    EO_DOMAIN_NONE = 0,
    EO_DOMAIN_CORE,
    EO_DOMAIN_SQLITE,
    EO_DOMAIN_PG,
    EO_DOMAIN_MONGO,
    EO_DOMAIN_REDIS,
    EO_DOMAIN_LUA,
    EO_DOMAIN_POOL,
    EO_DOMAIN_JSON,
    EO_DOMAIN_OS
} eo_errdomain;

/** An error report. Plain data: copy it freely. */
typedef struct eo_error {
    int code;        /* EO_E*; EO_OK (0) when no error */
    int domain;      /* EO_DOMAIN_* */
    int native;      /* the driver's own code, 0 if none */
    char model[64];  /* model concerned, "" otherwise */
    char field[64];  /* field that failed, "" otherwise */
    char msg[512];   /* one line, no trailing newline */
} eo_error;

/** A static description of an EO_E* code ("invalid input"). */
EO_API const char *eo_strerror(int code);

/** The code's name ("EINVAL", "EVALIDATE", "OK"). Static. */
EO_API const char *eo_code_name(int code);

/** Reset @p err to "no error" (the codes and the strings' first bytes: cheap). Accepts NULL. */
EO_API void eo_error_clear(eo_error *err);

/**
 * Fill @p err (if not NULL) with @p code and a printf-style message, and
 * return @p code so callers can write `return eo_error_set(err, ...)`.
 * Never allocates; long messages are truncated; a NULL @p fmt gives an
 * empty message.
 */
EO_API int eo_error_set(eo_error *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/** Set the model and field names of @p err (either may be NULL). */
EO_API void eo_error_where(eo_error *err, const char *model,
                           const char *field);

EO_END_DECL

#endif /* EARNORM_ERROR_H */
