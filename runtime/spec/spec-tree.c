/*
 * spec-tree.c - pass 1 of loading a spec: libyaml's events to a small node
 * tree (struct node, spec-internal.h).
 *
 * Invariant: nothing unbounded is ever built. The hard bounds (events, depth)
 * are checked as the events arrive; anchors, aliases, a second document and
 * non-scalar keys are refused; duplicate keys are found (by sorting) when a
 * mapping closes and marked ignored, so pass 2 sees each key once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "nightshift/spec.h"
#include "spec-internal.h"

void spec_tree_free(struct node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->len; i++)
        spec_tree_free(n->kids[i]);
    free(n->kids);
    free(n->text);
    free(n->path);
    free(n);
}

static void node_add(struct node *parent, struct node *kid)
{
    if (parent->len == parent->cap) {
        parent->cap = parent->cap ? parent->cap * 2 : 8;
        parent->kids = ns_xrealloc(parent->kids, parent->cap * sizeof(*parent->kids));
    }
    parent->kids[parent->len++] = kid;
}

const char *spec_quoted(const char *s, char *buf, size_t len)
{
    struct ns_buf b = NS_BUF_INIT;
    buf_addc(&b, '"');
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++) {
        if (n == 40) {
            buf_adds(&b, "...");
            break;
        }
        if (*p == '"' || *p == '\\')
            buf_addf(&b, "\\%c", *p);
        else if (*p == '\n')
            buf_adds(&b, "\\n");
        else if (*p == '\t')
            buf_adds(&b, "\\t");
        else if (*p < 0x20 || *p == 0x7f)
            buf_addf(&b, "\\x%02x", *p);
        else
            buf_addc(&b, (char)*p);
    }
    buf_addc(&b, '"');
    snprintf(buf, len, "%s", b.data);
    buf_release(&b);
    return buf;
}

struct keyref {
    const char *text;
    size_t pos; /* index of the key in kids */
};

static int cmp_keyref(const void *a, const void *b)
{
    const struct keyref *x = a, *y = b;
    int c = strcmp(x->text, y->text);
    return c ? c : (x->pos < y->pos ? -1 : x->pos > y->pos);
}

/* Finds duplicate keys by sorting (a mapping may hold 100 000 keys). */
static void check_map_keys(struct node *map, struct ns_diags *diags)
{
    size_t n = map->len / 2;
    if (n < 2)
        return;
    struct keyref *refs = ns_xmalloc(n * sizeof(*refs));
    size_t m = 0;
    for (size_t i = 0; i + 1 < map->len; i += 2)
        if (map->kids[i]->type == N_SCALAR && !map->kids[i]->ignored)
            refs[m++] = (struct keyref){map->kids[i]->text, i};
    qsort(refs, m, sizeof(*refs), cmp_keyref);
    for (size_t i = 1; i < m; i++) {
        if (strcmp(refs[i].text, refs[i - 1].text) != 0)
            continue;
        size_t first = i - 1;
        while (first > 0 && strcmp(refs[first - 1].text, refs[i].text) == 0)
            first--;
        struct node *k0 = map->kids[refs[first].pos], *k = map->kids[refs[i].pos];
        char *full = map->path && *map->path ? ns_xasprintf("%s.%s", map->path, k->text)
                                             : ns_xstrdup(k->text);
        diags_add(diags, k->line, k->col, "duplicate key %s (lines %d and %d)", Q(full), k0->line,
                  k->line);
        free(full);
        k->ignored = true;
        map->kids[refs[i].pos + 1]->ignored = true;
    }
    free(refs);
}

static bool scalar_is_null(const yaml_event_t *ev)
{
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)ev->data.scalar.value;
    return !*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
           strcmp(v, "NULL") == 0;
}

/* The state of pass 1 between events. */
struct tree_builder {
    struct ns_diags *diags;
    struct node *stack[NS_SPEC_MAX_DEPTH + 1]; /* the open sequences and mappings */
    int depth;
    struct node *root;
    int docs;
    bool done, bad;
};

/* The node one event opens, or NULL (an end, a document start, ...). Ends
 * close the innermost collection; a fatal problem sets B->bad and B->done. */
static struct node *tree_node_of(struct tree_builder *B, const yaml_event_t *ev, int line, int col)
{
    struct ns_diags *diags = B->diags;
    const yaml_char_t *anchor = NULL;
    struct node *n = NULL;
    switch (ev->type) {
    case YAML_STREAM_END_EVENT:
        B->done = true;
        break;
    case YAML_DOCUMENT_START_EVENT:
        if (++B->docs > 1) {
            diags_add(diags, line, col, "a spec holds one YAML document, found more");
            B->bad = true;
            B->done = true;
        }
        break;
    case YAML_ALIAS_EVENT:
        diags_add(diags, line, col, "anchors and aliases are not supported");
        n = ns_xcalloc(1, sizeof(*n));
        n->type = N_SCALAR;
        n->text = ns_xstrdup("");
        n->null = true;
        n->ignored = true;
        break;
    case YAML_SCALAR_EVENT:
        anchor = ev->data.scalar.anchor;
        n = ns_xcalloc(1, sizeof(*n));
        n->type = N_SCALAR;
        n->text = ns_xstrndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
        n->null = scalar_is_null(ev);
        if (strlen(n->text) != ev->data.scalar.length) {
            diags_add(diags, line, col, "NUL characters are not allowed in a spec");
            n->text[0] = '\0';
        }
        break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        anchor = ev->type == YAML_SEQUENCE_START_EVENT ? ev->data.sequence_start.anchor
                                                       : ev->data.mapping_start.anchor;
        if (B->depth >= NS_SPEC_MAX_DEPTH) {
            diags_add(diags, line, col, "spec is nested deeper than %d levels", NS_SPEC_MAX_DEPTH);
            B->bad = true;
            B->done = true;
            break;
        }
        n = ns_xcalloc(1, sizeof(*n));
        n->type = ev->type == YAML_SEQUENCE_START_EVENT ? N_SEQ : N_MAP;
        break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (B->depth > 0) {
            struct node *top = B->stack[--B->depth];
            if (top->type == N_MAP)
                check_map_keys(top, diags);
        }
        break;
    default:
        break;
    }
    if (anchor)
        diags_add(diags, line, col, "anchors and aliases are not supported");
    return n;
}

/* Hangs n under the innermost open collection (or makes it the root) and
 * opens it if it is a collection itself. */
static void tree_attach(struct tree_builder *B, struct node *n, int line, int col)
{
    n->line = line;
    n->col = col;
    if (B->depth > 0) {
        struct node *parent = B->stack[B->depth - 1];
        if (parent->type == N_MAP && parent->len % 2 == 0 && n->type != N_SCALAR) {
            diags_add(B->diags, line, col, "a key must be a plain string");
            n->ignored = true;
        }
        if (parent->type == N_MAP && parent->len % 2 == 1 && parent->kids[parent->len - 1]->ignored)
            n->ignored = true;
        if (n->type == N_MAP) {
            const char *pp = parent->path ? parent->path : "";
            if (parent->type == N_SEQ)
                n->path = ns_xasprintf("%s[%zu]", pp, parent->len);
            else if (parent->len % 2 == 1 && parent->kids[parent->len - 1]->text)
                n->path = *pp ? ns_xasprintf("%s.%s", pp, parent->kids[parent->len - 1]->text)
                              : ns_xstrdup(parent->kids[parent->len - 1]->text);
        }
        node_add(parent, n);
    } else if (!B->root) {
        B->root = n;
    } else {
        spec_tree_free(n); /* cannot happen with one document */
        return;
    }
    if (n->type != N_SCALAR)
        B->stack[B->depth++] = n;
}

struct node *spec_tree_parse(const char *data, size_t len, struct ns_diags *diags)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    struct tree_builder B = {.diags = diags};
    long events = 0;

    if (!yaml_parser_initialize(&parser)) {
        diags_add(diags, 0, 0, "cannot start the YAML parser");
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    while (!B.done) {
        if (!yaml_parser_parse(&parser, &ev)) {
            diags_add(diags, (int)parser.problem_mark.line + 1, (int)parser.problem_mark.column + 1,
                      "YAML syntax error: %s%s%s",
                      parser.problem ? parser.problem : "unknown problem",
                      parser.context ? " " : "", parser.context ? parser.context : "");
            B.bad = true;
            break;
        }
        int line = (int)ev.start_mark.line + 1, col = (int)ev.start_mark.column + 1;
        if (++events > NS_SPEC_MAX_EVENTS) {
            diags_add(diags, line, col, "spec has too many YAML nodes (limit %d)",
                      NS_SPEC_MAX_EVENTS);
            yaml_event_delete(&ev);
            B.bad = true;
            break;
        }
        struct node *n = tree_node_of(&B, &ev, line, col);
        if (n)
            tree_attach(&B, n, line, col);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    struct node *root = B.root;
    if (B.bad) {
        spec_tree_free(root);
        return NULL;
    }
    if (!root || (root->type == N_SCALAR && root->null)) {
        diags_add(diags, 0, 0, "spec is empty");
        spec_tree_free(root);
        return NULL;
    }
    if (root->type != N_MAP) {
        diags_add(diags, root->line, root->col,
                  "a spec is a mapping of keys (name: ..., "
                  "command: ...)");
        spec_tree_free(root);
        return NULL;
    }
    return root;
}
