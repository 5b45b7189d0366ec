/*
 * compare.h - one run of a job against another: wall time and each
 * partition's duration, matched by key, with the partitions that took at
 * least twice their earlier time flagged. `nightshift compare` prints it;
 * the HTML report shows the comparison with the job's last successful run.
 *
 * The default baseline is the last run of the same job that *succeeded*
 * before the run compared (query_previous_success): a failed or stopped
 * run's partial durations would report regressions that never happened.
 */
#ifndef NIGHTSHIFT_COMPARE_H
#define NIGHTSHIFT_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nightshift/util.h"

struct ns_store;

/* Flagged: at least NS_COMPARE_RATIO times the earlier duration and at
 * least NS_COMPARE_FLOOR_S seconds longer (a 10 ms partition taking 30 ms
 * is noise, not a regression). */
#define NS_COMPARE_RATIO 2.0
#define NS_COMPARE_FLOOR_S 0.1

struct ns_compare_part {
    char *key;             /* worker bytes: the caller escapes */
    int64_t idx_a, idx_b;  /* the partition in each run */
    double secs_a, secs_b; /* summed attempt time in each run */
    bool flagged;
};

struct ns_compare {
    int64_t run_a, run_b; /* run_b 0: no baseline (then nothing else is filled) */
    bool b_is_default;    /* run_b is the last successful run before run_a */
    char *job_a, *job_b, *state_a, *state_b;
    double wall_a, wall_b;         /* the read model's elapsed time of each */
    int64_t matched;               /* partitions succeeded and timed in both */
    int64_t only_a, only_b;        /* keys in one run only */
    int64_t flagged;               /* of the matched */
    double sum_a, sum_b;           /* summed durations of the matched */
    struct ns_compare_part *parts; /* the matched, flagged first, then by ratio */
    size_t nparts;
};

/* Compares run a with run b (b == 0: the last successful run of a's job
 * before a; none -> out->run_b == 0 and 0 returned). Returns 0, or -1 with
 * a sentence in err (no such run, a database error). Release *out with
 * compare_release, also after an error. */
int compare_load(struct ns_store *st, int64_t a, int64_t b, struct ns_compare *out, char *err,
                 size_t errlen);
/* The same with run a's times already read, keys included (the HTML
 * report has them): only run b is read. */
struct ns_run_times;
int compare_load_from(struct ns_store *st, int64_t a, const struct ns_run_times *a_times, int64_t b,
                      struct ns_compare *out, char *err, size_t errlen);
void compare_release(struct ns_compare *c);

/* The comparison as text (at most top partitions listed, the greatest
 * ratios; keys escaped for a terminal) or as one JSON document
 * (nightshift.compare/1, docs/json.md), appended to out. */
void compare_render_text(const struct ns_compare *c, size_t top, struct ns_buf *out);
void compare_render_json(const struct ns_compare *c, size_t top, struct ns_buf *out);
/* The same as an HTML <section> of the report (keys HTML-escaped). */
void compare_render_html(const struct ns_compare *c, size_t top, struct ns_buf *out);

#endif
