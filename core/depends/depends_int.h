/*
 * depends_int.h - the dependency graph's private structures, shared by
 * graph.c (building it from the registry), mark.c (marks on an env) and
 * model.c (which owns the graph).
 */
#ifndef EARNORM_DEPENDS_INT_H
#define EARNORM_DEPENDS_INT_H

#include "earnorm/depends.h"
#include "earnorm/model.h"
#include "../internal.h"

typedef struct eo_depgraph eo_depgraph;

/* A node: a computed field or a constraint, the thing a mark is for. */
typedef struct eo_dtarget {
    const eo_model *model;
    const eo_field *field; /* or NULL */
    const eo_check *check; /* or NULL */
    int rank;              /* a target comes out after the targets it depends on */
    size_t index;          /* in the graph's targets (the env's pending slots) */
    int stored;            /* a stored field: its marks wait for the recompute */
} eo_dtarget;

/*
 * A change of the field a trigger hangs on (field->deps_) marks `target`
 * on the records of target->model that reach the changed records through
 * path[0] . path[1] ... path[npath-1] (npath 0: the changed records
 * themselves).
 */
typedef struct eo_trigger {
    const eo_dtarget *target;
    const eo_field **path;
    size_t npath;
    int inverse_step; /* path's last step is a One2many whose inverse is the
                         changed field: the old value matters (EO_DEPS_BEFORE) */
} eo_trigger;

typedef struct eo_triggers {
    eo_trigger *v;
    size_t n, cap;
} eo_triggers;

struct eo_depgraph {
    eo_dtarget **targets;
    size_t ntargets;
    eo_vec paths; /* of const eo_field ** (Owned), freed with the graph */
};

int eo_depgraph__build(eo_registry *reg, eo_depgraph **out, eo_error *err);
/* Frees g and clears the pointers the fields of reg hold into it. */
void eo_depgraph__free(eo_registry *reg, eo_depgraph *g);
/* The graph of the registry (NULL before eo_registry_resolve). */
eo_depgraph *eo_registry__deps(const eo_registry *reg);
/* Bump the registry's version (something was declared). */
void eo_registry__touch(eo_registry *reg);

#endif
