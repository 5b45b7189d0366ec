/*
 * deps.h - what a run waits for (the spec's `after:`, `run --after RUN`):
 * its declared upstreams as rows (run_after), finding the upstream run, and
 * the one judgement of whether a partition may start, with the sentence
 * that says why not ("waiting for extract 2026-11-03 (failed, attempt
 * 3/3)").
 *
 * The runtime that waits (runtime/supervisor/upstream.c) and every reader
 * (status, the console) call the same deps_judge(), so what holds a
 * partition back and what is shown can never disagree. Upstream rows are
 * read on a connection of the caller's that holds no transaction, so an
 * upstream's commit is seen at once. Nothing here prints or exits.
 */
#ifndef NIGHTSHIFT_DEPS_H
#define NIGHTSHIFT_DEPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nightshift/store.h"

/* One upstream of a run, as stored. Strings are the spec's words. */
struct ns_dep {
    int pos;              /* its place in after: (the --after run comes last) */
    char *job;            /* the upstream job */
    char *partitions;     /* "same-key" or "all" */
    char *on_failure;     /* "wait", "skip" or "fail" */
    char *missing;        /* "error" or "ignore" */
    int64_t upstream_run; /* the run waited for; 0: none existed when the run started (a
                             reader looks again: deps_find_upstream) */
    bool pinned;          /* named by --after RUN: never looked up again */
};

/* Frees n deps' strings and the array. */
void deps_free(struct ns_dep *d, size_t n);

/* Replaces run_id's upstream rows with d[0..n). 0, or -1 with err. */
int deps_record(struct ns_store *st, int64_t run_id, const struct ns_dep *d, size_t n, char *err,
                size_t errlen);
/* run_id's upstream rows, by pos; *out is the caller's (deps_free). The
 * count, or -1 on a database error. */
long deps_read(struct ns_store *st, int64_t run_id, struct ns_dep **out);

/* The newest run of job, other than run_id, whose parameters equal run_id's
 * where both name a parameter; 0 when there is none. */
int64_t deps_find_upstream(struct ns_store *st, const char *job, int64_t run_id);

/* The job of run_id (NULL when there is no such run); the caller frees. */
char *deps_run_job(struct ns_store *st, int64_t run_id);

/* The jobs the newest run of job waits for (NULL-terminated; NULL when it
 * has none). The caller frees each and the array. For the cycle check. */
char **deps_jobs_after(struct ns_store *st, const char *job);

/* What a dependency says about one of our partitions (key, at index idx;
 * idx is only a hint where the upstream's same-key partition may be). */
enum ns_dep_verdict {
    NS_DEP_READY,   /* it may start */
    NS_DEP_WAIT,    /* not yet: the upstream is not done (or failed, on_failure: wait) */
    NS_DEP_SKIP,    /* the upstream failed and on_failure says skip */
    NS_DEP_FAIL,    /* the upstream failed and on_failure says fail; or its key is missing */
};

/* Judges d for the partition (idx, key) of its run; why gets the sentence
 * ("waiting for extract 2026-11-03 (failed, attempt 3/3)", "extract run 4
 * has no partition 2026-11-09") unless the verdict is READY. */
enum ns_dep_verdict deps_judge(struct ns_store *st, const struct ns_dep *d, int64_t idx,
                               const char *key, char *why, size_t whylen);

/* The partitions of run up_run that settled (succeeded, failed, skipped)
 * in a write at or after since (their updated_at): each(ctx, idx, key) for
 * each; *newest gets the latest write seen (since when none). Returns their
 * count, or -1 on a database error. One statement over up_run's rows: a
 * waiting runtime looks again only at what changed. */
long deps_settled_since(struct ns_store *st, int64_t up_run, double since, double *newest,
                        void (*each)(void *ctx, int64_t idx, const char *key), void *ctx);

/* One pending partition of a run that waits, and why (for readers). */
struct ns_dep_wait {
    int64_t idx;
    char *key;
    char *why;
};

/* The pending partitions of run_id that its upstreams hold back, in index
 * order, at most limit (and how many in all, in *total: at most the
 * pending ones looked at, scan_limit). Returns the count kept in *out (the
 * caller's: deps_waits_free), 0 for a run that waits for nothing, -1 on a
 * database error. */
long deps_waits(struct ns_store *st, int64_t run_id, long limit, long scan_limit,
                struct ns_dep_wait **out, long *total);
void deps_waits_free(struct ns_dep_wait *w, long n);

/* The run's word for what it waits for, when its upstreams hold back some
 * of its first pending partitions: the first one's reason, and how many
 * more ("waiting for extract 2026-11-03 (failed, attempt 3/3); 2 more
 * partitions wait"). NULL when nothing is held (or the run waits for no
 * upstream). One SELECT for a run without after:. The caller frees. */
char *deps_run_waiting(struct ns_store *st, int64_t run_id);

#endif
