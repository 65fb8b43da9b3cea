/*
 * str.c - domains as text, for error messages, logs and explain output.
 *
 * The form is the JSON-like prefix notation users write:
 * ["&", ["age", ">", 18], ["kind", "in", ["a", "b"]]]. An n-ary AND or OR
 * prints n-1 operators, so the text parses back to the same tree.
 */
#include <stdio.h>

#include "domain_int.h"

static void put_value(eo_buf *b, const eo_value *v)
{
    size_t i;
    switch (v->type) {
    case EO_VNULL: eo_buf__puts(b, "null"); break;
    case EO_VBOOL: eo_buf__puts(b, v->u.b ? "true" : "false"); break;
    case EO_VINT: eo_buf__put_int(b, v->u.i); break;
    case EO_VFLOAT: eo_buf__printf(b, "%.17g", v->u.f); break;
    case EO_VBLOB: eo_buf__printf(b, "<%zu bytes>", v->u.s.n); break;
    case EO_VTEXT:
        eo_buf__putc(b, '"');
        for (i = 0; i < v->u.s.n && i < 200; i++) {
            unsigned char c = (unsigned char)v->u.s.p[i];
            if (c == '"' || c == '\\')
                eo_buf__printf(b, "\\%c", c);
            else if (c < 0x20)
                eo_buf__printf(b, "\\u%04x", c);
            else
                eo_buf__putc(b, (char)c);
        }
        if (v->u.s.n > 200)
            eo_buf__puts(b, "...");
        eo_buf__putc(b, '"');
        break;
    }
}

void eo_domain__leaf_str(eo_buf *b, const eo_dnode *n)
{
    size_t i;
    eo_buf__printf(b, "[\"%s\", \"%s\", ", n->path, eo_dop_name(n->op));
    switch (n->vkind) {
    case EO_DV_VALUE: put_value(b, &n->value); break;
    case EO_DV_LIST:
        eo_buf__putc(b, '[');
        for (i = 0; i < n->nlist; i++) {
            if (i)
                eo_buf__puts(b, ", ");
            put_value(b, &n->list[i]);
        }
        eo_buf__putc(b, ']');
        break;
    case EO_DV_DOMAIN:
        if (n->sub)
            eo_domain__node_str(b, n->sub);
        else
            eo_buf__puts(b, "[]");
        break;
    }
    eo_buf__putc(b, ']');
}

static void node_items(eo_buf *b, const eo_dnode *n)
{
    size_t i;
    switch (n->kind) {
    case EO_D_TRUE: eo_buf__puts(b, "[\"id\", \"!=\", null]"); break;
    case EO_D_FALSE: eo_buf__puts(b, "[\"id\", \"=\", null]"); break;
    case EO_D_LEAF: eo_domain__leaf_str(b, n); break;
    case EO_D_NOT:
        eo_buf__puts(b, "\"!\", ");
        node_items(b, n->kids[0]);
        break;
    case EO_D_AND:
    case EO_D_OR:
        for (i = 1; i < n->nkids; i++)
            eo_buf__puts(b, n->kind == EO_D_AND ? "\"&\", " : "\"|\", ");
        for (i = 0; i < n->nkids; i++) {
            if (i)
                eo_buf__puts(b, ", ");
            node_items(b, n->kids[i]);
        }
        break;
    }
}

void eo_domain__node_str(eo_buf *b, const eo_dnode *n)
{
    eo_buf__putc(b, '[');
    if (n->kind != EO_D_TRUE)
        node_items(b, n);
    eo_buf__putc(b, ']');
}

int eo_domain_to_string(char **out, const eo_domain *d, eo_error *err)
{
    eo_buf b = EO_BUF_INIT;
    EO_ENTER();
    EO_REQUIRE(out);
    *out = NULL;
    EO_REQUIRE(d);
    eo_domain__node_str(&b, d->root);
    if (b.oom) {
        eo_buf__free(&b);
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    }
    *out = eo_buf__detach(&b);
    return EO_OK;
}
