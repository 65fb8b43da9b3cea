/*
 * domain_int.h - the domain struct, shared by the domain files only.
 */
#ifndef EARNORM_DOMAIN_INT_H
#define EARNORM_DOMAIN_INT_H

#include "earnorm/domain.h"
#include "../internal.h"

struct eo_domain {
    eo_arena arena;          /* every node, string and value of the tree */
    eo_dnode *root;
    const eo_model *model;   /* set by eo_domain_bind */
    int active_test;         /* eo_domain_set_active_test: hide archived records */
};

eo_dnode *eo_domain__node(eo_arena *a, eo_dkind kind);
int eo_domain__set_list(eo_domain *d, eo_dnode *n, const eo_value *v, size_t nv);
int eo_domain__in_list(eo_domain **out, const eo_model *m, const eo_field *f,
                       const eo_value *vals, size_t n);
/* f >= lo AND f <= hi (values Borrowed: they must outlive the domain). */
int eo_domain__range(eo_domain **out, const eo_model *m, const eo_field *f, eo_value lo,
                     eo_value hi);
/* Append a leaf's text form ({path, op, value}) to b. */
void eo_domain__leaf_str(eo_buf *b, const eo_dnode *n);
void eo_domain__node_str(eo_buf *b, const eo_dnode *n);
/* s with %, _ and \\ quoted into dst (room for 2n bytes); its length. */
size_t eo_domain__like_escape_into(char *dst, const char *s, size_t n);
/* EO_ELIMIT when the tree nests deeper than EO_DOMAIN_MAX_DEPTH. */
int eo_domain__check_depth(const eo_dnode *root, eo_error *err);

#endif
