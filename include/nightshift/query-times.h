/*
 * query-times.h - a run's time line as the store holds it: every attempt
 * with its start, end and outcome, every partition with the time its
 * attempts took, the runtime's samples, and which run a run compares with.
 *
 * The morning report's figures (percentiles, attempts by outcome, rework),
 * the HTML report's pictures and `compare` all read the run through these
 * two scans - one over the attempts, one over the partitions, each in
 * partition order on an index - instead of a correlated subquery per
 * partition: at 200 000 partitions that is the difference between 1.5 s
 * and a tenth of it. Strings are stored bytes (worker keys): the caller
 * escapes them.
 */
#ifndef NIGHTSHIFT_QUERY_TIMES_H
#define NIGHTSHIFT_QUERY_TIMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ns_store;

/* One attempt. */
/* What held an attempt before it started (attempts.waited_for). */
enum ns_wait_kind { NS_WAIT_NONE, NS_WAIT_POOL, NS_WAIT_WINDOW, NS_WAIT_UPSTREAM, NS_WAIT_COUNT };
/* "pool", "window", "upstream" ("" for none); and back (NS_WAIT_NONE for
 * NULL or an unknown word). Pure. */
const char *query_wait_kind_word(enum ns_wait_kind k);
enum ns_wait_kind query_wait_kind_of(const char *word);

struct ns_span {
    int64_t idx;       /* its partition */
    int64_t redone;    /* records done again (attempts.redone), 0 if none */
    double started_at; /* launched (submitted, on a queueing executor) */
    double ended_at;   /* 0 while live */
    double duration;   /* running time; < 0 unknown (live) */
    int32_t n;         /* 1-based over the partition's life */
    int8_t outcome;    /* enum ns_attempt_outcome; -1 while live */
    int8_t waited_for; /* enum ns_wait_kind: what held it before started_at */
    float waited_s;    /* for how long (0: not held) */
};

/* The time an attempt began to run: its end minus its running time (a
 * Slurm attempt's queue wait comes before it), else its launch. Pure. */
double query_span_run_start(const struct ns_span *s);

/* One partition. */
struct ns_part_time {
    int64_t idx;
    char *key;              /* NULL unless asked for */
    int64_t attempts_total; /* started ever */
    int64_t nspans;         /* attempts in the store */
    size_t first_span;      /* its attempts: spans[first_span .. + nspans) */
    double seconds;         /* summed durations of its ended attempts */
    double finished_at;     /* 0 when unfinished */
    bool timed_wholly;      /* every ended attempt has a known duration */
    int8_t state;           /* enum ns_part_state; -1 unknown */
};

struct ns_run_times {
    struct ns_span *spans; /* by partition, then attempt number */
    size_t nspans;
    struct ns_part_time *parts; /* by index */
    size_t nparts;
};

/* Reads every attempt and every partition of run_id (keys too when
 * with_keys). Returns 0, or -1 with a sentence in err. Release *out with
 * query_run_times_release (also after an error). */
int query_run_times(struct ns_store *st, int64_t run_id, bool with_keys, struct ns_run_times *out,
                    char *err, size_t errlen);
void query_run_times_release(struct ns_run_times *t);
/* Fills the keys of t's partitions (read without them) from run_id, in one
 * walk of the primary key. Returns 0, or -1 with err. */
int query_run_times_keys(struct ns_store *st, int64_t run_id, struct ns_run_times *t, char *err,
                         size_t errlen);

/* The key and state word of partition idx of run_id, into fresh strings
 * (caller frees): 1 found, 0 none, -1 error. For the few rows a report
 * names when it read the rest without keys. */
int query_part_key_state(struct ns_store *st, int64_t run_id, int64_t idx, char **key,
                         char **state);

/* One sample of the runtime's counters (samples table). */
struct ns_sample {
    double at;
    int64_t done, records, failed;
    int64_t running; /* partitions running then; -1: not recorded (before schema 12) */
};
/* The samples of run_id, oldest first, into a fresh array (caller frees).
 * Returns the count, or -1 with err. */
long query_run_samples(struct ns_store *st, int64_t run_id, struct ns_sample **out, char *err,
                       size_t errlen);

/* The last run of run_id's job that succeeded and was created before it:
 * its id, 0 when there is none, -1 on a database error. */
int64_t query_previous_success(struct ns_store *st, int64_t run_id);

#endif
