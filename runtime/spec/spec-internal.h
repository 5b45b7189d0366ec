/*
 * spec-internal.h - what the spec wing's files share but nobody else needs.
 *
 * Loading a spec (spec.c) runs pass 1 (spec-tree.c: YAML events to a node
 * tree), pass 2 (spec-keys.c: the tree against the key tables) and the
 * cross-key checks (spec-check.c); spec-canonical.c writes the canonical
 * text. values.c holds the template walker and the parsers of partition
 * values, so a literal value is checked at load time by exactly the code that
 * uses it at plan time (plan.c).
 */
#ifndef NIGHTSHIFT_SPEC_INTERNAL_H
#define NIGHTSHIFT_SPEC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "nightshift/spec.h"
#include "nightshift/util.h"

/* ---- values.c ------------------------------------------------------------ */

/* Returns the value of placeholder name[0..len), or NULL if it is unknown. */
typedef const char *(*tmpl_lookup_fn)(void *ctx, const char *name, size_t len);

/* tmpl_expand with a lookup function. out may be NULL to only check text.
 * Returns 0, or -1 with a message in err (unknown placeholder, unbalanced
 * brace, malformed placeholder). */
int tmpl_expand_with(const char *text, tmpl_lookup_fn lookup, void *ctx, struct ns_buf *out,
                     char *err, size_t errlen);

/* True if name matches [A-Za-z_][A-Za-z0-9_]* (len bytes). */
int tmpl_is_name(const char *name, size_t len);

/* "YYYY-MM-DD" to the UTC midnight that starts it. Returns 0 or -1. */
int plan_parse_date(const char *s, time_t *out);
/* A step in whole days ("1d", "7d", "1w"). Returns 0 or -1. */
int plan_parse_step(const char *s, int64_t *days_out);

#define NS_PLAN_MAX_KEY 1024 /* bytes in one partition key */

/* ---- spec-tree.c: pass 1 ------------------------------------------------- */

enum node_type { N_SCALAR, N_SEQ, N_MAP };

/* One YAML node. The tree owns its kids, text and path (spec_tree_free). */
struct node {
    enum node_type type;
    int line, col;
    bool null;          /* plain "", "~" or "null" */
    bool ignored;       /* a duplicate key's value or a non-scalar key: skip it */
    char *text;         /* scalar */
    char *path;         /* mapping: its key path ("retry"), for duplicate-key messages */
    struct node **kids; /* seq: items; map: key, value, key, value... */
    size_t len, cap;
};

/* Parses data[0..len) into a tree within the hard bounds. Returns the root
 * mapping, or NULL when the tree is not worth walking; every problem is
 * added to diags either way. The caller frees the tree (spec_tree_free). */
struct node *spec_tree_parse(const char *data, size_t len, struct ns_diags *diags);
/* Frees n and everything under it; NULL is fine. */
void spec_tree_free(struct node *n);

/* A short (40 characters), quoted, control-free rendering of user text for
 * messages, written into buf. Returns buf. */
const char *spec_quoted(const char *s, char *buf, size_t len);
#define Q(s) spec_quoted((s), (char[200]){0}, 200)

/* ---- spec-keys.c: pass 2 ------------------------------------------------- */

/* The state of pass 2 and what the cross-key checks need from it. */
struct spec_loader {
    struct ns_spec *spec;
    struct ns_diags *diags;
    const struct node *command_node; /* to check against shell: later */
    const struct node *partitions_node;
    unsigned partition_mask; /* which partitioners were given */
    int *env_pos;            /* line, col of each env value */
    const struct node *key;  /* the key whose value is being converted */
    int partitions_line, partitions_col;
    char *base; /* where a table's offsets point: the spec, or one after: item */
};

/* Writes the tables' defaults into L->spec, then reads the root mapping
 * against the top-level table. Problems go to L->diags. */
void spec_keys_read(struct spec_loader *L, const struct node *root);

/* The names a partitioner gives each partition, beyond index and key;
 * NULL-terminated. Run parameters may not take them. */
#define SPEC_PARTITION_PARAMS 6
extern const char *const spec_partition_param_names[SPEC_PARTITION_PARAMS + 1];

/* The closest of names[0..n) to word within a small edit distance, or NULL. */
const char *spec_suggest(const char *word, const char *const *names, size_t n);

/* Free an argv's items / a kv array and its strings (a NULL kv is fine). */
void spec_argv_release(struct ns_argv *a);
void spec_kvs_free(struct ns_kv *kv, size_t n);
/* Frees an after: array and its strings (NULL is fine). */
void spec_after_free(struct ns_after *a, size_t n);

/* ---- spec-pools.c -------------------------------------------------------- */

/* pools: and uses: (their key table rows are F_POOLS and F_USES). */
void spec_conv_pools(struct spec_loader *L, const struct node *n, const char *path);
void spec_conv_uses(struct spec_loader *L, const struct node *n, const char *path);
/* Every pool used is declared, and an attempt's weight fits its pool. */
void spec_check_pools(struct spec_loader *L);
void spec_pools_release(struct ns_spec *s);
/* window: start and end differ; tz is a zone's name. */
void spec_check_window(struct spec_loader *L, const struct node *root);
/* The pools:, uses: and window: lines of the canonical text (none when absent). */
void spec_pools_canonical(const struct ns_spec *s, struct ns_buf *b);

/* ---- spec-check.c -------------------------------------------------------- */

/* The checks across keys, once the tables are walked; root gives the
 * position of problems that belong to no one key. */
void spec_check(struct spec_loader *L, const struct node *root);

#endif
