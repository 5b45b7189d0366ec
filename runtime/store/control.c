/*
 * control.c - the client side of operator commands: insert, then wait.
 *
 * The row is the record (who, when, what); the runtime looks for pending
 * rows, acts, and writes state + result in one transaction, so a command is
 * never lost nor applied twice, even across a crash. Hints (wake.h) make
 * both directions prompt: after the INSERT commits the client pokes the
 * runtime's FIFO, and after it committed verdicts the runtime pokes the FIFO
 * of every waiting client; each side still polls slowly in case a hint is
 * lost.
 */
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store-internal.h"
#include "nightshift/control.h"
#include "nightshift/query.h"
#include "nightshift/util.h"
#include "nightshift/wake.h"

/* The poll without a waiter FIFO (it could not be made); with one it is
 * wake_poll_interval(). */
#define WAIT_POLL_BLIND_S 0.05

struct verb_info {
    const char *name;
    bool needs_live;
};

#define NS_VERB_ENTRY(n, live) {#n, live},
static const struct verb_info verbs[] = {NS_VERBS(NS_VERB_ENTRY)};
#undef NS_VERB_ENTRY

static const struct verb_info *find_verb(const char *verb)
{
    for (size_t i = 0; i < NS_ARRAY_LEN(verbs); i++)
        if (strcmp(verbs[i].name, verb) == 0)
            return &verbs[i];
    return NULL;
}

bool control_needs_live_runtime(const char *verb)
{
    const struct verb_info *v = find_verb(verb);
    return v ? v->needs_live : true;
}

/* One INSERT for both paths: state 'pending' (result NULL) or 'refused'; a
 * pending one pokes the runtime's wake-up FIFO once it is committed. */
static int insert_command(struct ns_store *st, int64_t run_id, const char *verb,
                          const char *args_json, const char *source, const char *refused,
                          int64_t *cmd_id, char *err, size_t errlen)
{
    if (!find_verb(verb)) {
        ns_errf(err, errlen, "unknown command \"%s\"", verb);
        return -1;
    }
    uid_t uid = getuid();
    struct passwd *pw = getpwuid(uid);
    const char *user = pw ? pw->pw_name : "?";
    double now = ns_now();
    sqlite3_stmt *s = store_prepare(
        st, "INSERT INTO commands(run_id, issued_at, user, uid, source, verb, args, state, "
            "result, applied_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
            "CASE WHEN ?8 IS NULL THEN 'pending' ELSE 'refused' END, ?8, "
            "CASE WHEN ?8 IS NULL THEN NULL ELSE ?2 END)");
    sqlite3_bind_int64(s, 1, run_id);
    sqlite3_bind_double(s, 2, now);
    sqlite3_bind_text(s, 3, user, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)uid);
    sqlite3_bind_text(s, 5, source, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, verb, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, args_json ? args_json : "{}", -1, SQLITE_STATIC);
    if (refused)
        sqlite3_bind_text(s, 8, refused, -1, SQLITE_STATIC);
    int rc = store_step_write(st, s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        ns_errf(err, errlen, "%s: cannot record the command: %s", st->path,
                sqlite3_errmsg(store_db(st)));
        return -1;
    }
    *cmd_id = sqlite3_last_insert_rowid(store_db(st));
    if (!refused) {
        /* Committed (autocommit): now the hint, which only says "look now". */
        char *wake = wake_path(st, run_id, WAKE_COMMANDS);
        wake_poke(wake);
        free(wake);
    }
    return 0;
}

int control_submit(struct ns_store *st, int64_t run_id, const char *verb, const char *args_json,
                   const char *source, int64_t *cmd_id, char *err, size_t errlen)
{
    return insert_command(st, run_id, verb, args_json, source, NULL, cmd_id, err, errlen);
}

int control_submit_refused(struct ns_store *st, int64_t run_id, const char *verb,
                           const char *args_json, const char *source, const char *result,
                           int64_t *cmd_id, char *err, size_t errlen)
{
    return insert_command(st, run_id, verb, args_json, source, result ? result : "refused", cmd_id,
                          err, errlen);
}

int control_withdraw(struct ns_store *st, int64_t cmd_id, const char *result)
{
    sqlite3_stmt *s = store_prepare(st, "UPDATE commands SET state = 'refused', result = ?2, "
                                        "applied_at = ?3 WHERE id = ?1 AND state = 'pending'");
    sqlite3_bind_int64(s, 1, cmd_id);
    sqlite3_bind_text(s, 2, result, -1, SQLITE_STATIC);
    sqlite3_bind_double(s, 3, ns_now());
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return -1;
    return sqlite3_changes(store_db(st)) > 0 ? 1 : 0;
}

/* A waiter's FIFO for cmd_id's run (wake.h), or -1. Made before the first
 * look at the row, so a verdict committed in between still pokes it. */
static int wait_hint(struct ns_store *st, int64_t cmd_id, char **path)
{
    *path = NULL;
    sqlite3_stmt *s = store_prepare(st, "SELECT run_id FROM commands WHERE id = ?");
    sqlite3_bind_int64(s, 1, cmd_id);
    int64_t run_id = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    if (!run_id)
        return -1;
    char *dir = wake_path(st, run_id, WAKE_WAITERS);
    int fd = wake_waiter_new(dir, path);
    free(dir);
    return fd;
}

int control_wait(struct ns_store *st, int64_t cmd_id, double timeout_s, char *result,
                 size_t resultlen)
{
    double deadline = ns_monotonic() + timeout_s;
    char *hint_path = NULL;
    int watch = timeout_s > 0 ? wait_hint(st, cmd_id, &hint_path) : -1;
    sqlite3_stmt *s = store_prepare(st, "SELECT state, result FROM commands WHERE id = ?");
    sqlite3_bind_int64(s, 1, cmd_id);
    int outcome = 2;
    for (;;) {
        int rc = sqlite3_step(s);
        if (rc != SQLITE_ROW) {
            outcome = -1;
            ns_errf(result, resultlen, "%s", sqlite3_errmsg(store_db(st)));
            break;
        }
        const char *state = (const char *)sqlite3_column_text(s, 0);
        const char *text = (const char *)sqlite3_column_text(s, 1);
        if (state && strcmp(state, "pending") != 0) {
            outcome = strcmp(state, "applied") == 0 ? 1 : 0;
            ns_errf(result, resultlen, "%s", text ? text : state);
            break;
        }
        sqlite3_reset(s); /* no read transaction is held while we wait */
        double left = deadline - ns_monotonic();
        if (left <= 0) {
            ns_errf(result, resultlen, "not yet applied");
            break;
        }
        double nap = watch >= 0 ? wake_poll_interval() : WAIT_POLL_BLIND_S;
        if (nap > left)
            nap = left;
        struct pollfd pfd = {watch, POLLIN, 0};
        if (poll(&pfd, watch >= 0 ? 1 : 0, (int)(nap * 1000) + 1) > 0)
            wake_drain(watch);
    }
    sqlite3_finalize(s);
    wake_waiter_free(watch, hint_path);
    return outcome;
}

/* ---- the one submit policy ---- */

void control_add_shell_word(struct ns_buf *b, const char *s)
{
    bool plain = *s != '\0';
    for (const char *p = s; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%", *p))
            plain = false;
    if (plain) {
        buf_adds(b, s);
        return;
    }
    buf_addc(b, '\'');
    for (const char *p = s; *p; p++) {
        if (*p == '\'') /* '"'"': no backslash, which a terminal escaper would double */
            buf_adds(b, "'\"'\"'");
        else
            buf_addc(b, *p);
    }
    buf_addc(b, '\'');
}

char *control_db_path(const struct ns_store *st)
{
    char *real = realpath(st->path, NULL);
    if (real)
        return real;
    char *cwd = st->path[0] == '/' ? NULL : getcwd(NULL, 0);
    char *abs = cwd ? ns_xasprintf("%s/%s", cwd, st->path) : ns_xstrdup(st->path);
    free(cwd);
    return abs;
}

char *control_resume_command(struct ns_store *st, int64_t run_id, const char *flags)
{
    struct ns_buf b = NS_BUF_INIT;
    buf_adds(&b, "nightshift run");
    if (flags && *flags)
        buf_addf(&b, " %s", flags);
    char *db = control_db_path(st);
    buf_adds(&b, " --db ");
    control_add_shell_word(&b, db);
    free(db);
    char **w = query_resume_args(st, run_id);
    for (size_t i = 0; w && w[i]; i++) {
        buf_addc(&b, ' ');
        control_add_shell_word(&b, w[i]);
        free(w[i]);
    }
    free(w);
    return buf_detach(&b);
}

const char *control_next_command(struct ns_store *st, int64_t run_id, int run_state, bool driven,
                                 char **cmd)
{
    *cmd = NULL;
    if (driven || run_state == NS_RS_SUCCEEDED)
        return NULL;
    bool failed = run_state == NS_RS_FAILED;
    *cmd = control_resume_command(st, run_id, failed ? "--retry-failed" : NULL);
    return failed ? "retry" : "resume";
}

/* The state of run_id (enum ns_run_state), or -1 when it cannot be read. */
static int run_state(struct ns_store *st, int64_t run_id)
{
    struct ns_run_summary r;
    char err[128];
    int state = -1;
    if (query_run_summary(st, run_id, ns_now(), &r, err, sizeof err) == 1)
        state = r.run_state;
    query_run_summary_release(&r);
    return state;
}

/* Why a verb that needs a live runtime is refused on a run that has ended
 * (state final): "run 7 is already stopped (`nightshift run ...` resumes
 * it)", or "run 7 has ended (failed): nothing to pause (`...` retries its
 * failed partitions)". */
static void refuse_ended(struct ns_store *st, int64_t run_id, const char *verb, int state,
                         char *why, size_t len)
{
    const char *word = query_run_state_word((enum ns_run_state)state);
    int n = strcmp(verb, "stop") == 0 && state == NS_RS_STOPPED
                ? snprintf(why, len, "run %lld is already stopped", (long long)run_id)
                : snprintf(why, len, "run %lld has ended (%s): nothing to %s", (long long)run_id,
                           word, verb);
    char *next = NULL;
    const char *what = control_next_command(st, run_id, state, false, &next);
    if (next && n > 0 && (size_t)n < len)
        snprintf(why + n, len - (size_t)n, " (`%s` %s)", next,
                 strcmp(what, "retry") == 0 ? "retries its failed partitions" : "resumes it");
    free(next);
}

int control_issue(struct ns_store *st, int64_t run_id, const char *verb, const char *args_json,
                  const char *source, struct ns_submit *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!find_verb(verb)) {
        ns_errf(err, errlen, "unknown command \"%s\"", verb);
        return -1;
    }
    if (query_runtime_alive(st, run_id)) {
        out->outcome = NS_SUBMIT_SENT;
        return control_submit(st, run_id, verb, args_json, source, &out->cmd_id, err, errlen);
    }
    char *how = control_resume_command(st, run_id, NULL);
    int state = run_state(st, run_id);
    if (control_needs_live_runtime(verb) && query_run_state_final(state)) {
        /* Ended: say so, not "start it" as if it had been left running. */
        out->outcome = NS_SUBMIT_REFUSED;
        refuse_ended(st, run_id, verb, state, out->why, sizeof out->why);
    } else if (control_needs_live_runtime(verb)) {
        out->outcome = NS_SUBMIT_REFUSED;
        snprintf(out->why, sizeof out->why, "no runtime is driving run %lld (start it with `%s`)",
                 (long long)run_id, how);
    } else if (state == NS_RS_SUCCEEDED) {
        /* `nightshift run` would say "already succeeded" and apply nothing;
         * the one command that does something: a new run, same parameters. */
        out->outcome = NS_SUBMIT_REFUSED;
        char *rerun = control_resume_command(st, run_id, "--rerun");
        snprintf(out->why, sizeof out->why,
                 "the run succeeded: every partition is done (a new run with its parameters: `%s`)",
                 rerun);
        free(rerun);
    } else {
        out->outcome = NS_SUBMIT_QUEUED;
        snprintf(out->why, sizeof out->why, "no runtime: run `%s` to apply it", how);
    }
    free(how);
    if (out->outcome == NS_SUBMIT_REFUSED)
        return control_submit_refused(st, run_id, verb, args_json, source, out->why, &out->cmd_id,
                                      err, errlen);
    /* Queued: pending for the next runtime (a hint nobody reads is harmless). */
    return control_submit(st, run_id, verb, args_json, source, &out->cmd_id, err, errlen);
}

int control_verdict(struct ns_store *st, int64_t run_id, int64_t cmd_id, const char *verb,
                    double timeout_s, char *result, size_t resultlen)
{
    int v = control_wait(st, cmd_id, timeout_s, result, resultlen);
    if (v != 2 || query_runtime_alive(st, run_id))
        return v;
    /* Pending with nobody to decide: the runtime exited first. */
    if (control_needs_live_runtime(verb)) {
        /* A pause or stop must not linger and surprise the next runtime. */
        const char *why = "the runtime exited before acting on it";
        int w = control_withdraw(st, cmd_id, why);
        if (w == 1) {
            snprintf(result, resultlen, "%s", why);
            return 0;
        }
        return w < 0 ? -1 : control_wait(st, cmd_id, 0, result, resultlen);
    }
    char *how = control_resume_command(st, run_id, NULL);
    snprintf(result, resultlen, "no runtime: run `%s` to apply it", how);
    free(how);
    return 3;
}
