/*
 * control.h - operator commands: the one path the CLI and the console share.
 *
 * A client inserts a row into `commands` (who, when, verb, JSON args) and may
 * wait for the runtime to mark it applied or refused. The runtime driving the
 * run is the only one that acts on commands and writes job state; a command
 * for a run whose runtime is not alive stays pending and is applied on the
 * next start where that makes sense (retry, skip), or is refused at once
 * (pause, resume, stop, kill, set) - see control_needs_live_runtime().
 */
#ifndef NIGHTSHIFT_CONTROL_H
#define NIGHTSHIFT_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

#include "nightshift/store.h"
#include "nightshift/util.h"

/* Verbs and their JSON args (docs/cli.md):
 *   pause {} | resume {} | stop {"now":bool} | set {"concurrency":N}
 *   retry {"partitions":[i...]} | {"failed":true} | {"signature":"..."}, plus "from_scratch":bool
 *   skip  {"partitions":[i...]} | {"signature":"..."}, plus "reason":"..."
 *   kill  {"partitions":[i...]} */
#define NS_VERBS(X)                                                                                \
    X(pause, true)                                                                                 \
    X(resume, true)                                                                                \
    X(stop, true)                                                                                  \
    X(set, true)                                                                                   \
    X(retry, false)                                                                                \
    X(skip, false)                                                                                 \
    X(kill, true)

/* The args of an operator verb, typed: the CLI (cmd-retry.c, ...) and the
 * console (tui/console.c) both fill one and control_args_json writes the
 * JSON above, which the runtime reads (runtime/supervisor/apply.c). Which
 * partitions: the partitions array (retry, skip, kill), or failed (retry),
 * or signature (retry, skip) - exactly one for those verbs. */
struct ns_control_args {
    const int64_t *partitions; /* indexes, npartitions of them */
    size_t npartitions;
    bool failed;           /* retry: every failed partition */
    const char *signature; /* retry, skip: a failure group; NULL: none */
    bool from_scratch;     /* retry: drop the checkpoint */
    const char *reason;    /* skip: why; NULL: none given */
    bool now;              /* stop: SIGKILL at once */
    int64_t concurrency;   /* set */
    bool force;            /* resume: even outside the run's window */
};

/* Appends verb's JSON args to out, built from a: pause and resume {}
 * (resume --force: {"force":true}),
 * stop {"now":B}, set {"concurrency":N}, retry {WHICH,"from_scratch":B},
 * skip {WHICH[,"reason":S]}, kill {"partitions":[...]}, where WHICH is
 * "partitions":[i,...], "failed":true or "signature":S. Returns 0, or -1
 * for a verb not in NS_VERBS (out untouched). */
int control_args_json(const char *verb, const struct ns_control_args *a, struct ns_buf *out);

/* Inserts a pending command for run_id; who is taken from the process (user
 * name and uid), source is "cli" or "console". After the row is committed it
 * pokes the runtime's wake-up FIFO (wake.h), so a live runtime acts within
 * milliseconds. Returns 0 and the new id, or -1 with err filled (unknown
 * verb, database error). */
int control_submit(struct ns_store *st, int64_t run_id, const char *verb, const char *args_json,
                   const char *source, int64_t *cmd_id, char *err, size_t errlen);

/* Records a command that the client itself refuses (no runtime drives the
 * run, so a live-only verb cannot act): inserted already in state 'refused'
 * with result and applied_at set, so the audit log shows the attempt.
 * Returns 0 and the new id, or -1 with err filled. */
int control_submit_refused(struct ns_store *st, int64_t run_id, const char *verb,
                           const char *args_json, const char *source, const char *result,
                           int64_t *cmd_id, char *err, size_t errlen);

/* Marks cmd_id refused with result if it is still pending (the runtime it was
 * meant for exited before deciding). Returns 1 if it was withdrawn, 0 if the
 * runtime had decided already, -1 on a database error. */
int control_withdraw(struct ns_store *st, int64_t cmd_id, const char *result);

/* Waits up to timeout_s for the runtime to decide on cmd_id: it sleeps on
 * a waiter FIFO the runtime pokes after committing verdicts (wake.h) and
 * re-reads the row when poked, or every second (every 50 ms when the FIFO
 * cannot be made). timeout_s = 0
 * reads the row once. Returns 1 when applied, 0 when refused, 2 when still
 * pending at the deadline, -1 on a database error; result (if non-NULL) gets
 * the runtime's words. */
int control_wait(struct ns_store *st, int64_t cmd_id, double timeout_s, char *result,
                 size_t resultlen);

/* True for verbs that only make sense while a runtime drives the run. */
bool control_needs_live_runtime(const char *verb);

/* ---- the one submit policy (the CLI's control commands and the console) ----
 * What happens to a command depends on whether a runtime holds the run's
 * lock (query_runtime_alive) and on the verb:
 *   runtime alive               -> SENT: pending until the runtime decides;
 *   no runtime, live-only verb  -> REFUSED at once ("no runtime is driving
 *                                  run N (start it with `nightshift run ...`)";
 *                                  for a run that has ended, "run N is already
 *                                  stopped (...)" or "run N has ended (failed):
 *                                  nothing to pause (...)");
 *   no runtime, retry|skip, run succeeded -> REFUSED (nothing would apply it);
 *   no runtime, retry|skip      -> QUEUED: pending, applied by the next
 *                                  `nightshift run` ("no runtime: run
 *                                  `nightshift run ...` to apply it").
 * A refusal is recorded as a refused row, so the audit log shows the try.
 * Later, control_verdict() withdraws a live-only command whose runtime
 * exited before deciding, and reports a retry|skip left by a runtime that
 * exited as queued: nothing stays "pending" with nobody to decide it. */
enum ns_submit_outcome { NS_SUBMIT_SENT, NS_SUBMIT_QUEUED, NS_SUBMIT_REFUSED };

struct ns_submit {
    enum ns_submit_outcome outcome;
    int64_t cmd_id;
    char why[1024]; /* REFUSED: the reason; QUEUED: how it will be applied */
};

/* Decides by the policy above and records the command; a printed
 * `nightshift run` is control_resume_command's. Returns 0 with *out filled, or -1 with err filled (database
 * error, unknown verb). */
int control_issue(struct ns_store *st, int64_t run_id, const char *verb, const char *args_json,
                  const char *source, struct ns_submit *out, char *err, size_t errlen);

/* Waits up to timeout_s for the verdict of a command control_issue sent:
 * 1 applied, 0 refused (also when a live-only command was withdrawn
 * because its runtime exited first), 3 queued (a retry|skip whose runtime
 * exited: the next `nightshift run` applies it; result says how), 2 still
 * pending at the deadline with a live runtime, -1 database error. */
int control_verdict(struct ns_store *st, int64_t run_id, int64_t cmd_id, const char *verb,
                    double timeout_s, char *result, size_t resultlen);

/* The one command line the product prints to start, resume or retry
 * run_id (status, the console, refusals, the summary, hooks, `run`'s last
 * lines): "nightshift run [FLAGS] --db DB SPEC -p a=1 ...", with the
 * database as an absolute path and every parameter of the run, each word
 * quoted for a POSIX shell where needed, so that it acts on this run from
 * any directory and environment. flags (NULL: none) is inserted as given,
 * e.g. "--retry-failed". The caller frees. */
char *control_resume_command(struct ns_store *st, int64_t run_id, const char *flags);
/* The database as printed commands and reports name it: an absolute
 * path, so that a command acts on this database from any directory and
 * without this shell's NIGHTSHIFT_DB. The caller frees. */
char *control_db_path(const struct ns_store *st);
/* What the operator should type next for run_id in run_state (enum
 * ns_run_state) when no runtime drives it (driven false): the command that
 * retries a failed run's failures ("--retry-failed"), or resumes a stopped
 * or abandoned run. Returns the word for it ("retry" or "resume") with *cmd
 * set (the caller frees), or NULL with *cmd NULL when there is nothing to
 * type (a driven or succeeded run). */
const char *control_next_command(struct ns_store *st, int64_t run_id, int run_state, bool driven,
                                 char **cmd);
/* Appends s quoted for a POSIX shell when it needs it. */
void control_add_shell_word(struct ns_buf *b, const char *s);

#endif
