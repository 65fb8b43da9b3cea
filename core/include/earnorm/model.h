/*
 * model.h - models and fields as C metadata: the schema registry.
 *
 * The Lua layer declares models; the binding registers them here. Everything
 * the core does (conversion, built-in checks, SQL, migration) reads this
 * metadata. Behaviour written in Lua (defaults computed by a function,
 * compute methods, validators, events) is only marked here by flags; the
 * binding runs it.
 *
 * eo_model and eo_field are visible structs so adapters and the binding can
 * read them without a call per member. Treat every member as read-only and
 * Borrowed from the registry: it lives as long as the registry does.
 * A registry is not thread-safe while it is being built; once built, many
 * threads may read it.
 *
 * Every function here that takes an eo_error clears it on success and
 * refuses NULL arguments with EO_EINVAL naming them (error.h).
 * The lookups (eo_registry_find/count/at/version, eo_model_field) give
 * NULL or 0 for a NULL registry, model or name.
 */
#ifndef EARNORM_MODEL_H
#define EARNORM_MODEL_H

#include "common.h"
#include "error.h"
#include "value.h"

EO_BEGIN_DECL

typedef enum eo_ftype {
    EO_FT_ID = 0,      /* the implicit primary key "id" */
    EO_FT_CHAR,
    EO_FT_TEXT,
    EO_FT_INTEGER,
    EO_FT_FLOAT,
    EO_FT_BOOLEAN,
    EO_FT_DATE,        /* "YYYY-MM-DD" */
    EO_FT_DATETIME,    /* "YYYY-MM-DD HH:MM:SS[.ffffff]", UTC */
    EO_FT_SELECTION,
    EO_FT_JSON,        /* JSON text */
    EO_FT_DECIMAL,     /* exact decimal text with `scale` digits after the point */
    EO_FT_BINARY,
    EO_FT_MANY2ONE,    /* the id of a record of `comodel` */
    EO_FT_ONE2MANY,    /* not stored: the records of `comodel` whose `inverse` points here */
    EO_FT_MANY2MANY,   /* not stored in the table: a junction table or collection */
    /* Types built on a storage type above (eo_ftype_base): stored,
     * compared and converted as it, with rules of their own on top. */
    EO_FT_HTML,        /* Text: markup (not sanitized yet: `sanitize` is refused) */
    EO_FT_MONETARY,    /* Decimal: an amount in the currency `currency_field` names */
    EO_FT_REFERENCE,   /* Char: "model,id" of a record of one of `choices` (the models) */
    EO_FT_PROPERTIES,  /* Json: an object checked against the schema of the record's
                          `definition` (a Many2one) record, held in its `definition_field` */
    EO_FT_EMBEDDED,    /* a typed sub-record (embedded.h): JSON object text */
    EO_FT_LIST         /* a list of typed sub-records (embedded.h): JSON array text */
} eo_ftype;

/**
 * The type a field of type @p t is stored, compared and converted as: @p t
 * itself, or for the types built on another one that one (Html: Text,
 * Monetary: Decimal, Reference: Char, Properties: Json). Adapters and
 * query compilers switch on this, not on the type.
 */
static inline eo_ftype eo_ftype_base(eo_ftype t)
{
    switch (t) {
    case EO_FT_HTML: return EO_FT_TEXT;
    case EO_FT_MONETARY: return EO_FT_DECIMAL;
    case EO_FT_REFERENCE: return EO_FT_CHAR;
    case EO_FT_PROPERTIES: return EO_FT_JSON;
    default: return t;
    }
}

/* Field flags. */
#define EO_FF_REQUIRED   0x0001u
#define EO_FF_UNIQUE     0x0002u
#define EO_FF_INDEX      0x0004u
#define EO_FF_READONLY   0x0008u
#define EO_FF_COMPUTED   0x0010u  /* has a compute method (run by the binding) */
#define EO_FF_STORED     0x0020u  /* has a column / document key */
#define EO_FF_DEFAULT_FN 0x0040u  /* default given by a function (run by the binding) */
#define EO_FF_NOPREFETCH 0x0080u  /* not loaded with the others (large binaries) */
#define EO_FF_NOCOPY     0x0100u  /* copy() leaves it out */
#define EO_FF_HAS_MIN    0x0200u
#define EO_FF_HAS_MAX    0x0400u
#define EO_FF_DEFAULT    0x0800u  /* has a static default value */
#define EO_FF_SINGLE     0x1000u  /* One2many read as at most one record (One2one's inverse side) */
#define EO_FF_VERSION    0x2000u  /* optimistic-locking version (eo_model_versioned) */
#define EO_FF_CREATE_DATE 0x4000u /* create_date (eo_model_log_access) */
#define EO_FF_WRITE_DATE 0x8000u  /* write_date (eo_model_log_access) */
#define EO_FF_TRACKED    0x10000u /* changes recorded in EO_HISTORY_MODEL (eo_model_track) */
/* The fields the engine sets itself: refused in create and write. */
#define EO_FF_ENGINE (EO_FF_VERSION | EO_FF_CREATE_DATE | EO_FF_WRITE_DATE)

/** The model history rows go to (declared by the Lua layer when a model
 * tracks fields; see eo_model_track). */
#define EO_HISTORY_MODEL "earnorm.history"
#define EO_FF_RECURSIVE  0x20000u /* computed: may depend on itself through a relation */
#define EO_FF_INVERSE    0x40000u /* computed: writable, an inverse method (run by the binding) stores it */
#define EO_FF_SEARCHABLE 0x80000u /* computed, not stored: a search method (run by the binding)
                                     turns a domain leaf on it into one on stored fields */

typedef enum eo_ondelete {
    EO_ONDELETE_SET_NULL = 0,
    EO_ONDELETE_CASCADE,
    EO_ONDELETE_RESTRICT
} eo_ondelete;

typedef struct eo_model eo_model;
typedef struct eo_registry eo_registry;

/** A field. Read-only; Borrowed from its model. */
typedef struct eo_field {
    char *name;            /* Lua-side name */
    char *column;          /* column or document key; NULL when not stored */
    eo_ftype type;
    int index;             /* position in its model's fields[] */
    eo_model *model;       /* owner */
    unsigned flags;        /* EO_FF_* */
    char *string;          /* label, never NULL */
    char *help;            /* may be NULL */
    int size;              /* Char: maximum length in characters, 0 = none */
    double min, max;       /* with EO_FF_HAS_MIN / EO_FF_HAS_MAX */
    char **choices;        /* Selection values; Reference: the models it may point to */
    size_t nchoices;
    int precision, scale;  /* Decimal digits (total, after the point) */
    char *comodel_name;    /* relational fields */
    eo_model *comodel;     /* resolved by eo_registry_resolve, else NULL */
    char *inverse;         /* One2many: the Many2one on comodel */
    char *relation;        /* Many2many: junction table (also the junction model's name) */
    eo_model *junction;    /* Many2many: the junction model, made by eo_registry_resolve */
    char *column1, *column2; /* Many2many: columns for this model and comodel */
    int ondelete;          /* eo_ondelete, Many2one */
    eo_value def;          /* static default (Owned by the field) */
    char **depends;        /* computed: field paths it depends on */
    size_t ndepends;
    intptr_t binding_ref;  /* opaque slot for the binding */
    void *deps_;           /* private: what a change of this field marks (depends.h) */
    void *target_;         /* private: computed fields, its node in the graph */
    char *currency_field;  /* Monetary: the Many2one or Char field of the currency */
    char *definition;      /* Properties: the Many2one to the record holding the schema */
    char *definition_field; /* Properties: the Json field of that record with the schema */
    eo_model *embedded;    /* Embedded, List: the sub-record type (embedded.h), set by
                              eo_registry_resolve */
} eo_field;

/**
 * A composite index or unique constraint of a model (_indexes,
 * _sql_constraints). Read-only; Borrowed from its model.
 */
typedef struct eo_model_index {
    char *name;            /* index name in the database: <table>__con_<constraint>
                              for a unique constraint, <table>__idx_<f1>_<f2>... otherwise */
    char *constraint;      /* the declared constraint name; NULL for a plain index */
    char *message;         /* the declared message of a constraint; NULL for a plain index */
    eo_field **fields;     /* the fields, in order (stored fields of the model) */
    size_t nfields;
    int unique;
} eo_model_index;

/** A model. Read-only; Borrowed from its registry. */
struct eo_model {
    char *name;            /* "res.partner" */
    char *table;           /* "res_partner" */
    char *description;     /* never NULL */
    char *order;           /* default order, "id" when none was given */
    char *parent_name;     /* field used by child_of / parent_of, "parent_id" */
    char *rec_name;        /* field used as display name, "name" if present */
    eo_field **fields;     /* fields[0] is "id" */
    size_t nfields;
    eo_registry *registry;
    int abstract;          /* no table */
    int junction;          /* made by the registry for Many2many fields: fields[1..2]
                              are the two Many2one columns, unique as a pair */
    intptr_t binding_ref;  /* opaque slot for the binding */
    void *index_;          /* private: name lookup */
    struct eo_check **checks; /* constraints (depends.h), in declaration order */
    size_t nchecks;
    int watched_;          /* private: a change of some field of it marks something */
    eo_model_index *indexes; /* composite indexes and unique constraints (migrate makes them) */
    size_t nindexes;
    int embedded;          /* a sub-record type (embedded.h): no table, not in the
                              registry's list of models */
};

/** What eo_model_add_field takes. Strings are copied. Zero means "not set". */
typedef struct eo_field_spec {
    const char *name;
    eo_ftype type;
    unsigned flags;            /* EO_FF_* (STORED is computed for you) */
    int store;                 /* computed fields: 1 to store */
    const char *string;
    const char *help;
    int size;
    double min, max;           /* with EO_FF_HAS_MIN / EO_FF_HAS_MAX in flags */
    const char *const *choices;
    size_t nchoices;
    int precision, scale;
    const char *comodel;
    const char *inverse;
    const char *relation, *column1, *column2;
    int ondelete;
    const eo_value *def;       /* static default, or NULL */
    const char *const *depends;
    size_t ndepends;
    const char *currency_field;   /* Monetary; NULL: "currency_id" */
    const char *definition;       /* Properties: required */
    const char *definition_field; /* Properties; NULL: "properties_definition" */
} eo_field_spec;

/** Create an empty registry. @param[out] out Owned; free with eo_registry_free. */
EO_API int eo_registry_new(eo_registry **out, eo_error *err);
/** Free a registry and every model in it. Accepts NULL. */
EO_API void eo_registry_free(eo_registry *reg);

/**
 * Add a model named @p name ("res.partner"). The name must be dotted
 * lowercase words; it gives the table name with dots turned into '_'.
 * @param[out] out Borrowed from @p reg.
 * @return 0, EO_EINVAL (bad name) or EO_ECONFLICT (already defined).
 */
EO_API int eo_registry_add_model(eo_model **out, eo_registry *reg,
                                 const char *name, eo_error *err);

/** The model named @p name, or NULL. Borrowed. */
EO_API eo_model *eo_registry_find(const eo_registry *reg, const char *name);
/** Number of models and the i-th in declaration order. Borrowed. */
EO_API size_t eo_registry_count(const eo_registry *reg);
EO_API eo_model *eo_registry_at(const eo_registry *reg, size_t i);
/** Bumped whenever a model or field is added: caches compare it. */
EO_API unsigned eo_registry_version(const eo_registry *reg);

/**
 * Resolve relational fields (comodel pointers, inverses, junction names).
 * For each Many2many it also declares the junction model (named after the
 * relation, with the two Many2one columns, ondelete cascade) unless it
 * exists already. Call after all models are declared; may be called again.
 * It also checks what the types built on others name: a Monetary's
 * currency field (a Many2one or Char of the same model), a Reference's
 * models and a Properties field's definition (a Many2one whose comodel
 * has the Json definition field).
 * @return 0, or EO_ENOTFOUND naming the model and field whose comodel,
 *         inverse, currency field, models or definition is missing.
 */
EO_API int eo_registry_resolve(eo_registry *reg, eo_error *err);

/** Set model attributes; strings are copied. NULL leaves one unchanged. */
EO_API int eo_model_set(eo_model *m, const char *description,
                        const char *order, const char *parent_name,
                        const char *rec_name, eo_error *err);

/**
 * Add a field described by @p spec.
 * @param[out] out Borrowed from the model (may be NULL).
 * @return 0, EO_EINVAL naming the field (bad name, '.' or '$' in the name,
 *         bad option), or EO_ECONFLICT (defined twice).
 */
EO_API int eo_model_add_field(eo_field **out, eo_model *m,
                              const eo_field_spec *spec, eo_error *err);

/**
 * Add the record metadata the engine maintains: create_date and write_date
 * (Datetime, UTC, millisecond precision), set by every create and by every
 * write of a stored field, never by callers. Calling it again does nothing.
 * The Lua layer calls it for every model unless `_log_access = false`.
 * @return 0, or EO_ECONFLICT when the model has such a field of its own.
 */
EO_API int eo_model_log_access(eo_model *m, eo_error *err);

/**
 * Add an optimistic-locking version field named @p name (NULL:
 * "version"): an Integer the engine sets to 1 on create and increments on
 * every write; a write of records whose version changed since this env
 * read them fails with EO_ECONFLICT (docs/models.md, "Versioning").
 * @return 0, EO_EINVAL (bad name), or EO_ECONFLICT (the name is taken, or
 *         the model has a version field already).
 */
EO_API int eo_model_versioned(eo_model *m, const char *name, eo_error *err);

/**
 * Record the changes of field @p name in EO_HISTORY_MODEL (who, when, the
 * operation, old and new values), in the transaction of the change.
 * @return 0, EO_ENOTFOUND (no such field), or EO_EINVAL naming the field
 *         when it cannot be tracked (One2many, Many2many, computed,
 *         maintained by the engine).
 */
EO_API int eo_model_track(eo_model *m, const char *name, eo_error *err);

/** What eo_model_set_indexes takes, one per index. Strings are copied. */
typedef struct eo_index_spec {
    const char *constraint;        /* a unique constraint's name, or NULL for a plain index */
    const char *message;           /* a constraint's message (may be NULL) */
    const char *const *fields;     /* field names, each a stored field of the model */
    size_t nfields;
    int unique;                    /* 1 for a unique constraint (constraint must be set) */
} eo_index_spec;

/**
 * Replace the composite indexes and unique constraints of @p m with the
 * @p n given (none with n = 0). Nothing changes on an error.
 * @return 0, EO_EINVAL naming the model (unknown or unstored field, bad
 *         constraint name, a unique index without a name) or EO_ENOMEM.
 */
EO_API int eo_model_set_indexes(eo_model *m, const eo_index_spec *specs, size_t n,
                                eo_error *err);

/** The field called @p name (length @p len), or NULL. Borrowed. */
EO_API eo_field *eo_model_field(const eo_model *m, const char *name, size_t len);

/**
 * The field that archives @p m's records, as Odoo's `_active_name`: a
 * stored Boolean field named "active", or NULL (also for a NULL model).
 * Searches hide records whose flag is not true (eo_domain_set_active_test).
 * Borrowed.
 */
EO_API const eo_field *eo_model_active_field(const eo_model *m);

/** Name of a field type as in Lua ("Char", "Many2one"). Static. */
EO_API const char *eo_ftype_name(eo_ftype t);
/** Field type from its Lua name, or -1 (also for NULL). */
EO_API int eo_ftype_from_name(const char *name);

/**
 * Convert @p in to the canonical value for @p f (see value kinds in
 * eo_ftype) and run the built-in checks that look at one value: type, size,
 * min/max, choices. Text results may point into @p in or into @p scratch
 * (which must outlive the result; pass a zeroed eo_value_scratch).
 * NULL passes (required is checked by the caller).
 * @return 0, EO_EINVAL (wrong type, named) or EO_EVALIDATE (a rule refused it).
 */
typedef struct eo_value_scratch { char buf[64]; } eo_value_scratch;
EO_API int eo_field_convert(const eo_field *f, const eo_value *in,
                            eo_value *out, eo_value_scratch *scratch,
                            eo_error *err);

EO_END_DECL

#endif /* EARNORM_MODEL_H */
