/*
 * plan.h - turn a spec and run parameters into the list of partitions.
 *
 * The plan is deterministic: the same spec and parameters always give the
 * same partitions in the same order (files are sorted, keys keep file order),
 * summarised by plan->hash so a resumed run can tell whether it changed.
 */
#ifndef NIGHTSHIFT_PLAN_H
#define NIGHTSHIFT_PLAN_H

#include "nightshift/spec.h"
#include "nightshift/util.h"

#define NS_PLAN_MAX_PARTITIONS 10000000

/* One partition. params holds, in this order: index, key, the partitioner's
 * own (start/end, date or file), then every run parameter. */
struct ns_partition {
    int64_t index; /* 0-based, stable */
    char *key;
    struct ns_kv *params;
    size_t params_len;
};

struct ns_plan {
    struct ns_partition *parts;
    size_t len;
    struct ns_kv *run_params; /* resolved: declared defaults overridden by -p, sorted by name */
    size_t run_params_len;
    uint64_t hash; /* over every partition's key and parameters */
};

/* Resolves run parameters (given: "name=value" strings from -p) against the
 * spec's declarations and builds the plan. Unknown or missing parameters,
 * bad ranges or dates, an empty plan, unreadable keys files... are added to
 * diags with the position of the offending spec node; returns -1 then. */
int plan_build(const struct ns_spec *spec, char *const *given, size_t given_len,
               struct ns_plan *out, struct ns_diags *diags);
void plan_release(struct ns_plan *plan);

/* Called once per partition, in index order; p and its strings are valid
 * only during the call. A non-zero return stops the plan. */
typedef int (*ns_plan_each_fn)(void *ctx, const struct ns_partition *p);

/* The plan without holding it: memory stays flat in the partition count
 * (8 bytes per partition for the duplicate-key check, freed before `each`).
 * Two passes over the partitioner: the first validates exactly as
 * plan_build does and calls first(ctx, p) (may be NULL: e.g. to measure
 * column widths); then, if the plan is good and each is not NULL, the second
 * calls each(ctx, p). summary gets len, hash and run_params (parts stays
 * NULL); release it with plan_release. Returns 0, or -1 with diags filled
 * (the plan_build problems; a keys file or glob that changed between the
 * passes) or when a callback stopped it (its value in *each_rc). */
int plan_stream(const struct ns_spec *spec, char *const *given, size_t given_len,
                ns_plan_each_fn first, ns_plan_each_fn each, void *ctx, struct ns_plan *summary,
                struct ns_diags *diags, int *each_rc);

/* The second pass alone, for a plan plan_stream validated earlier (known:
 * its summary): calls each(ctx, p) for every partition. Returns 0, or -1
 * when each stopped it (*each_rc) or the plan no longer matches known (a
 * keys file or glob changed since; diags says so). */
int plan_stream_known(const struct ns_spec *spec, char *const *given, size_t given_len,
                      const struct ns_plan *known, ns_plan_each_fn each, void *ctx,
                      struct ns_diags *diags, int *each_rc);

/* Canonical text of the run parameters, "a=1\nb=x\n" sorted by name: with the
 * job name it is a run's identity. Caller frees. */
char *plan_params_canonical(const struct ns_plan *plan);

/* A partition's parameters as one JSON object text. Caller frees. */
char *plan_partition_json(const struct ns_partition *p);
/* The same, appended to b (no allocation per partition when b is reused). */
void plan_partition_json_add(const struct ns_partition *p, struct ns_buf *b);

/* Expands {name} placeholders in text from params ("{{" and "}}" are literal
 * braces). Returns 0, or -1 with a message in err naming the unknown
 * placeholder or the unbalanced brace. */
int tmpl_expand(const char *text, const struct ns_kv *params, size_t params_len, struct ns_buf *out,
                char *err, size_t errlen);

/* Looks a parameter up by name; NULL if absent. */
const char *kv_get(const struct ns_kv *kv, size_t len, const char *name);

#endif
