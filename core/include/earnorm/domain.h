/*
 * domain.h - search domains: Odoo's prefix-notation filters as a tree.
 *
 * A domain is built from a token stream (operators "&", "|", "!" and
 * {field, operator, value} leaves in prefix order; several top-level terms
 * are ANDed), bound to a model (field paths resolved, values converted to
 * the field types), and normalized:
 *   - AND/OR are flattened and n-ary, NOT is pushed down to the leaves
 *     (negated operators; `>` becomes `<= OR = null`, since a negation
 *     matches NULL as in two-valued logic);
 *   - identical leaves are removed, `in` of one value becomes `=`,
 *     `= a OR = b` on one field becomes `in (a, b)`;
 *   - contradictions (`a = 1 AND a = 2`, `in ()`) fold to FALSE, which a
 *     search answers without a query.
 * Dotted paths ("parent_id.name") become `parent_id any [name ...]`.
 *
 * Domains are immutable once finished and may be read by many threads.
 *
 * Every function here that takes an eo_error clears it on success and
 * refuses NULL arguments with EO_EINVAL naming them (error.h).
 * The builder's consuming calls (eo_dbuilder_leaf_sub, eo_dbuilder_finish)
 * free what they consume on that error too.
 */
#ifndef EARNORM_DOMAIN_H
#define EARNORM_DOMAIN_H

#include "common.h"
#include "error.h"
#include "model.h"
#include "value.h"

EO_BEGIN_DECL

/**
 * How deep a domain may nest: AND/OR/NOT levels where the operators
 * alternate, `any` sub-domains and the dots of field paths each count one.
 * Chains of one operator (an OR of 100,000 leaves written with 99,999
 * '|') are flattened and count one level. A deeper domain is refused with
 * EO_ELIMIT, so no input can exhaust the C stack (256 KiB is enough).
 */
#define EO_DOMAIN_MAX_DEPTH 64

/**
 * How much one domain given as Lua tables may hold: operators and leaves,
 * and values in the lists of its leaves, counting a table used in several
 * places each time it is used (thirty levels of one sub-domain given twice
 * would be 2^30 leaves); more is EO_ELIMIT.
 */
#define EO_DOMAIN_MAX_TERMS 1000000
#define EO_DOMAIN_MAX_VALUES 10000000

typedef enum eo_dop {
    EO_OP_EQ = 0, EO_OP_NE, EO_OP_GT, EO_OP_GE, EO_OP_LT, EO_OP_LE,
    EO_OP_IN, EO_OP_NOT_IN,
    EO_OP_LIKE, EO_OP_ILIKE, EO_OP_NOT_LIKE, EO_OP_NOT_ILIKE,
    EO_OP_EQLIKE, EO_OP_EQILIKE,
    EO_OP_CHILD_OF, EO_OP_PARENT_OF,
    EO_OP_ANY, EO_OP_NOT_ANY,
    EO_OP_EQ_OPT,      /* "=?" (Odoo's): TRUE when the value is NULL or false,
                          else "="; binding replaces it, so no backend sees it */
    EO_OP__COUNT
} eo_dop;

typedef enum eo_dkind {
    EO_D_TRUE = 0, EO_D_FALSE, EO_D_AND, EO_D_OR, EO_D_NOT, EO_D_LEAF
} eo_dkind;

typedef enum eo_dvkind {
    EO_DV_VALUE = 0,   /* one value */
    EO_DV_LIST,        /* in / not in / child_of / parent_of: values */
    EO_DV_DOMAIN       /* any / not any: a sub-domain on the comodel */
} eo_dvkind;

typedef struct eo_domain eo_domain;

/** A node. Read-only; Borrowed from its domain. */
typedef struct eo_dnode {
    eo_dkind kind;
    struct eo_dnode **kids;      /* AND, OR: n >= 2; NOT: 1 */
    size_t nkids;
    /* leaves */
    const char *path;            /* field path as written */
    eo_dop op;
    eo_dvkind vkind;
    eo_value value;              /* EO_DV_VALUE */
    eo_value *list;              /* EO_DV_LIST */
    size_t nlist;
    struct eo_dnode *sub;        /* EO_DV_DOMAIN: root of the sub-domain */
    const eo_field *field;       /* after binding: the (first) field of path */
} eo_dnode;

/** Operator from its text ("=", "not in", ...): 0 or EO_EINVAL (also for NULL). */
EO_API int eo_dop_parse(eo_dop *out, const char *s, size_t n);
/** Text of an operator ("not ilike"). Static. */
EO_API const char *eo_dop_name(eo_dop op);

/* ---- building ---- */

typedef struct eo_dbuilder eo_dbuilder;

/** Start a domain. @param[out] out Owned: finish or free it. */
EO_API int eo_dbuilder_new(eo_dbuilder **out, eo_error *err);
EO_API void eo_dbuilder_free(eo_dbuilder *b);

/** Append an operator token: '&', '|' or '!'. */
EO_API int eo_dbuilder_op(eo_dbuilder *b, char op, eo_error *err);
/**
 * Append a leaf. Strings and values are copied.
 * @p op is the operator text. For "in"/"not in"/"child_of"/"parent_of" use
 * eo_dbuilder_leaf_list; "any"/"not any" take a sub-domain with
 * eo_dbuilder_leaf_sub. A scalar given to "in" is accepted as a list of one.
 */
EO_API int eo_dbuilder_leaf(eo_dbuilder *b, const char *path, const char *op,
                            const eo_value *value, eo_error *err);
EO_API int eo_dbuilder_leaf_list(eo_dbuilder *b, const char *path,
                                 const char *op, const eo_value *values,
                                 size_t n, eo_error *err);
/** @p sub is consumed (freed) whatever the result. */
EO_API int eo_dbuilder_leaf_sub(eo_dbuilder *b, const char *path,
                                const char *op, eo_domain *sub, eo_error *err);
/**
 * Check the prefix notation and produce the tree (not yet bound). Frees
 * @p b whatever the result.
 * @param[out] out Owned; free with eo_domain_free.
 * @return 0, or EO_EINVAL for unbalanced operators naming the position.
 */
EO_API int eo_dbuilder_finish(eo_domain **out, eo_dbuilder *b, eo_error *err);

/**
 * Parse a domain from JSON text: `[["age", ">", 18], "|", [...], [...]]`.
 * A leaf value that is a JSON array is a list; for "any"/"not any" it is a
 * sub-domain. null is NULL. An empty text or "[]" is the empty domain.
 * @param[out] out Owned.
 */
EO_API int eo_domain_from_json(eo_domain **out, const char *json, size_t len,
                               eo_error *err);

/** The domain that matches everything. @param[out] out Owned. */
EO_API int eo_domain_new_true(eo_domain **out, eo_error *err);
EO_API void eo_domain_free(eo_domain *d);

/**
 * Resolve field paths on @p model, check operators against field types,
 * convert values to the fields' canonical types and normalize (see above).
 * @return 0, EO_EINVAL / EO_ENOTFOUND naming the model, field and operator.
 */
EO_API int eo_domain_bind(eo_domain *d, const eo_model *model, eo_error *err);

/**
 * Hide archived records when @p d is bound, as Odoo's active_test does:
 * when the model has a stored Boolean field named `active` and no leaf of
 * the domain names it (leaves of `any` sub-domains aside), binding ANDs
 * the domain with `active = true`. The same holds, on the comodel, for the
 * sub-domain of every `any` / `not any` leaf and dotted path through a
 * One2many or Many2many field. Sub-domains through a Many2one are left as
 * written (a record whose parent is archived still matches
 * `parent_id.name`), and so are the x2many forms that name ids
 * (`tag_ids in [...]`, `tag_ids = null`). Call before eo_domain_bind (a
 * domain bound already is left as it is). Off by default.
 */
EO_API int eo_domain_set_active_test(eo_domain *d, int on, eo_error *err);

/** The root node (NULL for a NULL domain). Borrowed. */
EO_API const eo_dnode *eo_domain_root(const eo_domain *d);
/** 1 when the bound domain can match nothing (folded to FALSE); 0 for NULL. */
EO_API int eo_domain_is_false(const eo_domain *d);
/** 1 when the domain matches everything, as NULL does where the ORM takes a domain. */
EO_API int eo_domain_is_true(const eo_domain *d);
/** The model it is bound to, or NULL (also for a NULL domain). Borrowed. */
EO_API const eo_model *eo_domain_model(const eo_domain *d);

/**
 * Render as JSON-like prefix text for logs and explain output.
 * @param[out] out Owned, NUL-terminated.
 */
EO_API int eo_domain_to_string(char **out, const eo_domain *d, eo_error *err);

/**
 * Quote text for a like pattern: `%`, `_` and `\` get a backslash, so
 * `{"name", "ilike", eo_like_escape(input)}` matches the input as a
 * literal substring (like and ilike otherwise treat % and _ in the value
 * as wildcards, as Odoo does).
 * @param[out] out Owned, NUL-terminated; free with eo_free.
 * @param[out] outlen its length (may be NULL).
 * @return 0 or EO_ENOMEM.
 */
EO_API int eo_like_escape(char **out, size_t *outlen, const char *s, size_t n, eo_error *err);

EO_END_DECL

#endif /* EARNORM_DOMAIN_H */
