/*
 * spec.h - the job spec: a YAML file read with libyaml's event API.
 *
 * The loader bounds its input before it builds anything (file size, nesting
 * depth, event count; anchors, aliases and duplicate keys are rejected) and
 * reports every problem it finds, each with the line and column of the node
 * and the key it concerns. Strings that may hold {param} placeholders are
 * kept as templates with their position, so the planner can point at them.
 * docs/spec.md is the user's reference for every key.
 */
#ifndef NIGHTSHIFT_SPEC_H
#define NIGHTSHIFT_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NS_SPEC_MAX_BYTES (1024 * 1024)
#define NS_SPEC_MAX_DEPTH 64
#define NS_SPEC_MAX_EVENTS 200000

/* One problem found in a spec, 1-based position (0 when not tied to a node). */
struct ns_diag {
    int line;
    int col;
    char *message; /* names the key, e.g. "retry.attempts: expected an integer" */
};

/* All problems found, in file order. */
struct ns_diags {
    struct ns_diag *items;
    size_t len;
    size_t cap;
};

void diags_add(struct ns_diags *d, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Writes each as "FILE:LINE:COL: message\n" into a heap string; caller frees. */
char *diags_format(const struct ns_diags *d, const char *file);
void diags_release(struct ns_diags *d);

/* A scalar from the spec with where it stood; text may hold {param}. */
struct ns_tmpl {
    char *text;
    int line;
    int col;
};

struct ns_kv {
    char *name;
    char *value; /* NULL for a declared parameter with no default (required) */
};

enum ns_partitioner {
    NS_PART_LIST,  /* keys inline or from a keys file: {key} */
    NS_PART_RANGE, /* start..end inclusive in chunks of size: {start} {end} */
    NS_PART_DATES, /* from..to inclusive by step days: {date} */
    NS_PART_FILES, /* one per glob match, sorted: {file} */
};

struct ns_partition_spec {
    enum ns_partitioner kind;
    struct ns_tmpl *keys; /* list: inline keys */
    size_t keys_len;
    struct ns_tmpl keys_file;        /* list: file with one key per line (text NULL if unset) */
    struct ns_tmpl start, end, size; /* range */
    struct ns_tmpl from, to, step;   /* dates; step like "1d" or "7d" */
    struct ns_tmpl format;           /* dates: strftime format of {date}, default %Y-%m-%d */
    struct ns_tmpl glob;             /* files; relative to the spec's directory */
    int line, col;                   /* of the partitions: key */
};

enum ns_exit_action { NS_EXIT_RETRY, NS_EXIT_FAIL, NS_EXIT_HALT };

struct ns_exit_rule {
    int code;
    enum ns_exit_action action;
};

/* A count or a percentage ("5%" or "10000"); set is false when absent. */
struct ns_limit {
    bool set;
    bool percent;
    double value;
};

enum ns_hook_event {
    NS_HOOK_SUCCESS,
    NS_HOOK_FAILURE,
    NS_HOOK_HALT,
    NS_HOOK_SLA_RISK,
    NS_HOOK_STRAGGLER, /* once per partition, as it becomes a straggler (query.h) */
    NS_HOOK_COUNT
};

struct ns_argv {
    struct ns_tmpl *items;
    size_t len;
};

/* executor: slurm settings (docs/spec.md, docs/cluster.md). Strings are
 * NULL when not given; they go to sbatch as they are, never through a shell. */
struct ns_spec_slurm {
    char *partition;   /* --partition */
    char *account;     /* --account */
    char *qos;         /* --qos */
    int64_t time_ms;   /* --time in whole minutes, rounded up; 0: the partition's */
    char *mem;         /* --mem, Slurm's syntax ("4G", "500M") */
    int cpus_per_task; /* --cpus-per-task; 0: not given */
    char *spool;       /* shared directory for launch data and reports; NULL: beside the db */
    struct ns_argv extra_args; /* more sbatch options, each one argv element */
};

/* pools: a pool the spec declares - its size before any operator sets it
 * (nightshift pool set), and an optional start rate (docs/spec.md). */
struct ns_pool_decl {
    char *name;
    int slots;
    int rate_n;        /* at most rate_n starts per rate_per_s seconds; 0: no rate limit */
    double rate_per_s;
    int line, col; /* of its key */
};

/* uses: what each live attempt of the run holds of a pool. */
struct ns_pool_use {
    char *pool;
    int weight;
    int line, col; /* of its key */
};

#define NS_SPEC_MAX_POOLS 16

/* True if s is a pool's name: as a job's, letters, digits, ".", "_" and
 * "-", 1 to 64 (so a name is never a terminal escape). */
bool spec_pool_name_ok(const char *s);

/* window: the run starts partitions only between start and end, local
 * times of day (over midnight when end < start), in tz if given. */
struct ns_window {
    char *start, *end; /* "HH:MM"; start NULL: no window */
    char *on_close;    /* what the close does to running attempts: drain, pause or stop */
    char *tz;          /* a time zone name (TZ), NULL: the runtime's */
}; /* pools declared, and pools used, per spec */

/* after: one run this job waits for (docs/spec.md#after). Words are the
 * table's: params "same"; partitions "same-key" or "all"; on_failure
 * "wait", "skip" or "fail"; missing "error" or "ignore". */
struct ns_after {
    char *job;        /* the upstream job's name */
    char *params;     /* "same": its parameters equal ours where both declare them */
    char *partitions; /* "same-key": partition K after upstream K; "all": after the whole run */
    char *on_failure; /* what an upstream failure does to us: wait, skip, fail */
    char *missing;    /* a key the upstream run lacks: error, ignore */
};

struct ns_spec {
    char *path;        /* as given */
    char *dir;         /* directory holding the spec; relative paths start here */
    char *name;        /* [A-Za-z0-9._-]+ */
    char *description; /* may be NULL */
    struct ns_argv command;
    bool shell;                      /* command has one element, run by /bin/sh -c */
    struct ns_tmpl workdir;          /* NULL text: the spec's directory */
    struct ns_tmpl metrics_textfile; /* metrics.textfile: Prometheus file kept fresh (NULL: none) */
    struct ns_kv *params;            /* declared run parameters with defaults */
    size_t params_len;
    struct ns_partition_spec partitions;
    int concurrency;        /* default 1 */
    int64_t timeout_ms;     /* 0: none */
    int retry_attempts;     /* total attempts including the first, default 1 */
    int64_t backoff_ms;     /* first retry delay, default 1s */
    int64_t max_backoff_ms; /* default 5m */
    double backoff_factor;  /* default 2 */
    double jitter;          /* 0..1, default 0.1: delay * (1 +- jitter) */
    struct ns_exit_rule *on_exit;
    size_t on_exit_len;
    int64_t stop_grace_ms; /* default 10s */
    struct ns_kv *env;     /* values are templates ({param} expands) */
    size_t env_len;
    int64_t log_limit; /* bytes of stdout+stderr kept per attempt, default 1 MiB */
    struct ns_limit halt_failed_partitions;
    struct ns_limit halt_error_records;
    int64_t sla_max_duration_ms; /* 0: none */
    char *sla_deadline;          /* "HH:MM" local time or NULL */
    struct ns_argv hooks[NS_HOOK_COUNT];
    int64_t hook_timeout_ms; /* default 30s */
    bool durability_full;    /* synchronous=FULL for every commit */
    bool restore_paused;     /* on_restore: pause */
    char *executor;          /* "local" (default) or "slurm": executor_find() */
    struct ns_spec_slurm slurm;
    struct ns_pool_decl *pools; /* pools: declared here (defaults) */
    size_t pools_len;
    struct ns_pool_use *uses; /* uses: every one names a declared pool */
    size_t uses_len;
    int priority;             /* priority: pool waiters, higher first (default 0) */
    struct ns_window window;
    struct ns_after *after; /* after: the runs this job waits for */
    char *order;            /* "oldest" (default: plan order) or "newest" (the last keys first) */
    size_t after_len;
};

/* Reads and checks the spec at path. On success returns 0 and fills *out
 * (release with spec_release). On failure returns -1, leaves *out empty and
 * adds every problem found to diags (the caller releases diags). */
int spec_load(const char *path, struct ns_spec *out, struct ns_diags *diags);
/* Same, from a buffer; path is used for messages and to resolve relative paths. */
int spec_load_buffer(const char *path, const char *data, size_t len, struct ns_spec *out,
                     struct ns_diags *diags);
void spec_release(struct ns_spec *spec);

/* A canonical, line-per-setting text of everything that affects execution
 * ("command: [a, b]\nconcurrency: 4\n..."), used to hash the spec and to say
 * what changed between two versions. Caller frees. */
char *spec_canonical(const struct ns_spec *spec);

const char *spec_exit_action_name(enum ns_exit_action a);
const char *spec_hook_name(enum ns_hook_event e); /* "on_success", ... */

/* One YAML key as the spec's key table declares it, for documentation. */
struct ns_spec_key {
    const char *path; /* "retry.backoff" */
    const char *type; /* "duration", "integer", ... */
    const char *def;  /* the default as written in YAML, or NULL (none) */
    bool required;
    const char *choices; /* "normal or full", or NULL */
    const char *bounds;  /* "1 to 1024", or NULL */
    const char *help;    /* one line */
};
/* Calls row for every key of the spec, depth first, in the table's order
 * (the strings live only during the call). */
void spec_describe_keys(void (*row)(void *ctx, const struct ns_spec_key *k), void *ctx);

#endif
