/*
 * depends.h - the dependency graph of computed fields and constraints,
 * and the records each change makes stale.
 *
 * Built by eo_registry_resolve once the registry is complete: every path of
 * a computed field's `depends` (and of a constraint's field names) is
 * resolved through relations ("line_ids.amount", "partner_id.country_id.code",
 * chains of any length over Many2one, One2many and Many2many). An unknown
 * name, a step through a field that is not relational, and a cycle are
 * errors naming the fields (EO_EINVAL). A field declared recursive
 * (EO_FF_RECURSIVE) may depend on itself through a relation
 * ("child_ids.total"); any other cycle is refused.
 *
 * The ORM operations (create, write, write_each, unlink, link, unlink_rel)
 * report what they change; the graph turns it into marks: the computed
 * fields and constraints ("targets") of exactly the records a change
 * reaches, backwards through the relations (the order of a changed line,
 * every partner whose country's code changed), transitively. A marked
 * stored field is forgotten in the record store and waits in the env's
 * pending set until the binding recomputes it (eo_deps_next ... eo_deps_done);
 * a marked non-stored field is forgotten at once. Constraints wait in the
 * same set and come out after every computed field (their rank is last).
 *
 * Marks follow the env's atomic scopes (transactions, savepoints, the
 * journal): a scope that rolls back drops the marks made inside it and
 * gives back the ones it took from outside (they are pending again).
 *
 * Every function here that takes an eo_error clears it on success and
 * refuses NULL arguments with EO_EINVAL naming them (error.h).
 */
#ifndef EARNORM_DEPENDS_H
#define EARNORM_DEPENDS_H

#include "common.h"
#include "env.h"
#include "error.h"
#include "model.h"

EO_BEGIN_DECL

/** A constraint of a model (a validator run by the binding). Borrowed from its model. */
typedef struct eo_check {
    eo_model *model;
    size_t index;          /* in model->checks */
    char **depends;        /* field paths it watches ("name", "partner_id.city") */
    size_t ndepends;
    intptr_t binding_ref;  /* opaque slot for the binding */
    void *target_;         /* private: its node in the graph */
} eo_check;

/**
 * Declare a constraint of @p m watching @p depends (field paths, resolved
 * with the registry). @param[out] out Borrowed from @p m, may be NULL.
 */
EO_API int eo_model_add_check(eo_check **out, eo_model *m, const char *const *depends,
                              size_t ndepends, intptr_t binding_ref, eo_error *err);

/** What eo_deps_next hands out: a computed field, or a constraint, of one model. */
typedef struct eo_dep_work {
    const eo_model *model;
    const eo_field *field; /* the computed field, or NULL for a constraint */
    const eo_check *check; /* the constraint, or NULL for a field */
    eo_id *ids;            /* the marked records, in the order they were marked */
    size_t n;
} eo_dep_work;

/** Flags of eo_deps_modified. */
#define EO_DEPS_BEFORE 0x1u /* called before the change: only the marks that the
                               change itself would hide (a record leaving a
                               One2many, a record about to be deleted) */
#define EO_DEPS_ALL    0x2u /* every field of the records changed (create, unlink) */
#define EO_DEPS_CREATED 0x4u /* the records were just made: nothing points at them yet */

/**
 * Report that @p fields (or every field, with EO_DEPS_ALL) of records @p ids
 * of @p m changed (or are about to, with EO_DEPS_BEFORE); mark what depends
 * on them. May read relations (one query per step of a path at most).
 * The core's operations call it; a host that changes data behind the ORM's
 * back may call it too.
 */
EO_API int eo_deps_modified(eo_env *env, const eo_model *m, const eo_id *ids, size_t n,
                            const eo_field *const *fields, size_t nfields, unsigned flags,
                            eo_error *err);

/**
 * The next piece of work: the pending target of lowest rank (a stored field
 * before the fields computed from it, constraints last), with all its
 * marked records; 0 and w->n == 0 when nothing is pending. The records stay
 * marked (a read of them recomputes first) until eo_deps_done.
 * @param[out] w ids Owned by the caller (eo_free).
 */
EO_API int eo_deps_next(eo_env *env, eo_dep_work *w, eo_error *err);

/**
 * The marked records of @p f among @p ids (all of them when @p ids is NULL).
 * @param[out] w as eo_deps_next (w->ids Owned).
 */
EO_API int eo_deps_take(eo_env *env, const eo_model *m, const eo_field *f, const eo_id *ids,
                        size_t n, eo_dep_work *w, eo_error *err);

/** Unmark @p ids of @p f (or of @p check): they were recomputed (or checked). */
EO_API void eo_deps_done(eo_env *env, const eo_model *m, const eo_field *f,
                         const eo_check *check, const eo_id *ids, size_t n);

/** 1 when @p f of record @p id is marked (its stored value is stale). */
EO_API int eo_deps_is_marked(eo_env *env, const eo_model *m, eo_id id, const eo_field *f);

/** How many (target, record) marks are pending. */
EO_API size_t eo_deps_pending(eo_env *env);

/**
 * 1 when a change of @p f (or of any field of @p m when @p f is NULL: a
 * create or an unlink) can mark anything: the binding then runs the
 * operation with a recompute step.
 */
EO_API int eo_deps_watched(const eo_model *m, const eo_field *f);

EO_END_DECL

#endif /* EARNORM_DEPENDS_H */
