/* test-supervisor.c - the supervisor's state machine on a fake executor.
 *
 * runtime_run drives real runs against a real temporary SQLite file, with
 * specs written as YAML text, but its attempts go to a fake backend
 * (struct ns_runtime_opts.executor) that runs no processes: start() queues a
 * task, and the test decides per partition and attempt when and how it ends
 * (an exit code, a signal, or never until asked to terminate). The fake
 * records what it was asked (starts, pause, resume, terminate, kill,
 * recover) so the tests can check the supervisor's side of each story:
 * dispatch order and the concurrency bound, retries and their backoff,
 * on_exit, timeouts, operator commands, the error budget, and the
 * reconcile after a crash.
 *
 * Operator commands go through the public control API from a second thread
 * (its own connection), as the CLI would send them while the run goes on.
 * Waits poll the database with a deadline; durations are short (tens to
 * hundreds of milliseconds) and the bounds on them generous. */
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "nightshift/control.h"
#include "nightshift/executor.h"
#include "nightshift/plan.h"
#include "nightshift/runtime.h"
#include "nightshift/spec.h"
#include "nightshift/store.h"
#include "nightshift/util.h"

/* ---- the fake executor ---------------------------------------------------- */

/* How one attempt ends, chosen by the test: after after_ms of running time
 * (paused time does not count, as a stopped process does not run), or
 * never (after_ms < 0) until asked to terminate or kill. */
struct behaviour {
    int after_ms;
    enum ns_exec_end_kind kind;
    int code;          /* EXITED */
    int sig;           /* SIGNALLED */
    bool ignores_term; /* TERMINATE is not enough: only KILL ends it */
};

typedef struct behaviour (*behaviour_fn)(int64_t idx, int attempt);

struct ns_task {
    struct ns_task *next;
    int64_t idx, attempt_id;
    int attempt;
    void *owner;
    double end_at;    /* monotonic; 0: not scheduled */
    double remaining; /* seconds left while paused; < 0: never */
    bool paused;
    struct behaviour b;
    struct ns_exec_end end;
};

struct ns_executor {
    struct ns_task *tasks;
};

#define MAX_LOG 256

struct start_rec {
    int64_t idx;
    int attempt;
    double at;
};
struct end_rec {
    int64_t idx;
    int attempt;
    double at;
};
struct action_rec {
    int64_t idx;
    enum ns_exec_action action;
    double at;
};

/* Everything the fake was asked, for the assertions. The runtime thread
 * writes it; the operator thread may read it: one mutex. */
static struct {
    pthread_mutex_t mu;
    behaviour_fn behave;
    enum ns_recover recover_says;
    struct start_rec starts[MAX_LOG];
    size_t nstarts;
    struct end_rec ends[MAX_LOG];
    size_t nends;
    struct action_rec actions[MAX_LOG];
    size_t nactions;
    int live, max_live;
    int recovers;
    char recovered_locator[64];
} F = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void fake_reset(behaviour_fn behave)
{
    pthread_mutex_lock(&F.mu);
    F.behave = behave;
    F.recover_says = NS_RECOVER_GONE;
    F.nstarts = F.nends = F.nactions = 0;
    F.live = F.max_live = F.recovers = 0;
    F.recovered_locator[0] = '\0';
    pthread_mutex_unlock(&F.mu);
}

static const char *env_get(char *const *envp, const char *name)
{
    size_t len = strlen(name);
    for (; *envp; envp++)
        if (strncmp(*envp, name, len) == 0 && (*envp)[len] == '=')
            return *envp + len + 1;
    return NULL;
}

static void schedule(struct ns_task *t, double from)
{
    t->end_at = t->remaining < 0 ? 0 : from + t->remaining;
}

static void end_now(struct ns_task *t, enum ns_exec_end_kind kind, int code, int sig)
{
    t->end = (struct ns_exec_end){.kind = kind, .code = code, .sig = sig};
    t->remaining = 0;
    t->paused = false;
    t->end_at = ns_monotonic();
}

static int fake_open(const struct ns_exec_config *cfg, struct ns_executor **out, char *err,
                     size_t errlen)
{
    (void)cfg, (void)err, (void)errlen;
    *out = ns_xcalloc(1, sizeof **out);
    return 0;
}

static void fake_close(struct ns_executor *ex)
{
    while (ex->tasks) {
        struct ns_task *t = ex->tasks;
        ex->tasks = t->next;
        free(t);
    }
    free(ex);
}

static int fake_start(struct ns_executor *ex, const struct ns_launch *l, int64_t attempt_id,
                      void *owner, struct ns_task **out, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    const char *idx = env_get(l->envp, "NIGHTSHIFT_PARTITION");
    const char *n = env_get(l->envp, "NIGHTSHIFT_ATTEMPT");
    struct ns_task *t = ns_xcalloc(1, sizeof *t);
    t->idx = idx ? strtoll(idx, NULL, 10) : -1;
    t->attempt = n ? atoi(n) : -1;
    t->attempt_id = attempt_id;
    t->owner = owner;
    pthread_mutex_lock(&F.mu);
    t->b = F.behave(t->idx, t->attempt);
    if (F.nstarts < MAX_LOG)
        F.starts[F.nstarts++] = (struct start_rec){t->idx, t->attempt, ns_monotonic()};
    if (++F.live > F.max_live)
        F.max_live = F.live;
    pthread_mutex_unlock(&F.mu);
    t->end = (struct ns_exec_end){.kind = t->b.kind, .code = t->b.code, .sig = t->b.sig};
    t->remaining = t->b.after_ms < 0 ? -1 : t->b.after_ms / 1000.0;
    schedule(t, ns_monotonic());
    t->next = ex->tasks;
    ex->tasks = t;
    *out = t;
    return 0;
}

static int fake_flush(struct ns_executor *ex, char *err, size_t errlen)
{
    (void)ex, (void)err, (void)errlen;
    return 0;
}

static int fake_control(struct ns_executor *ex, struct ns_task *t, enum ns_exec_action action)
{
    (void)ex;
    double now = ns_monotonic();
    pthread_mutex_lock(&F.mu);
    if (F.nactions < MAX_LOG)
        F.actions[F.nactions++] = (struct action_rec){t->idx, action, now};
    pthread_mutex_unlock(&F.mu);
    switch (action) {
    case NS_EXEC_PAUSE:
        if (!t->paused && t->end_at > 0)
            t->remaining = t->end_at > now ? t->end_at - now : 0;
        t->paused = true;
        t->end_at = 0;
        break;
    case NS_EXEC_RESUME:
        t->paused = false;
        schedule(t, now);
        break;
    case NS_EXEC_TERMINATE:
        if (!t->b.ignores_term)
            end_now(t, NS_END_SIGNALLED, -1, SIGTERM);
        break;
    case NS_EXEC_KILL:
        end_now(t, NS_END_SIGNALLED, -1, SIGKILL);
        break;
    }
    return 0;
}

static size_t fake_pollfds(struct ns_executor *ex, struct pollfd *pfd, size_t cap)
{
    (void)ex, (void)pfd, (void)cap;
    return 0;
}

/* The loop sleeps until the nearest task end: the fake needs no descriptor. */
static double fake_next_wakeup(const struct ns_executor *ex)
{
    double best = 0;
    for (const struct ns_task *t = ex->tasks; t; t = t->next)
        if (t->end_at > 0 && (best == 0 || t->end_at < best))
            best = t->end_at;
    return best;
}

static void fake_service(struct ns_executor *ex, const struct pollfd *pfd, size_t n,
                         const struct ns_exec_events *ev, void *ctx)
{
    (void)pfd, (void)n;
    double now = ns_monotonic();
    for (struct ns_task **pp = &ex->tasks; *pp;) {
        struct ns_task *t = *pp;
        if (t->end_at == 0 || t->end_at > now) {
            pp = &t->next;
            continue;
        }
        *pp = t->next;
        pthread_mutex_lock(&F.mu);
        F.live--;
        if (F.nends < MAX_LOG)
            F.ends[F.nends++] = (struct end_rec){t->idx, t->attempt, now};
        pthread_mutex_unlock(&F.mu);
        ev->ended(ctx, t->owner, &t->end);
        free(t);
    }
}

static char *fake_locator(const struct ns_executor *ex, const struct ns_task *t)
{
    (void)ex;
    return ns_xasprintf("fake:%lld", (long long)t->attempt_id);
}

static enum ns_recover fake_recover(struct ns_executor *ex, const char *locator, int64_t attempt_id,
                                    int64_t report_offset, int64_t output_offset, void *owner,
                                    struct ns_task **out)
{
    (void)ex, (void)attempt_id, (void)report_offset, (void)output_offset, (void)owner;
    *out = NULL;
    pthread_mutex_lock(&F.mu);
    F.recovers++;
    snprintf(F.recovered_locator, sizeof F.recovered_locator, "%s", locator ? locator : "");
    enum ns_recover r = F.recover_says;
    pthread_mutex_unlock(&F.mu);
    return r;
}

static int fake_end_strays(struct ns_executor *ex)
{
    (void)ex;
    return 0;
}

static void fake_describe(const struct ns_executor *ex, const struct ns_task *t, char *buf,
                          size_t len)
{
    (void)ex;
    snprintf(buf, len, "fake %lld/%d", (long long)t->idx, t->attempt);
}

static const struct ns_executor_ops fake_ops = {
    .name = "fake",
    .caps = NS_EXEC_CAN_PAUSE,
    .open = fake_open,
    .close = fake_close,
    .start = fake_start,
    .flush = fake_flush,
    .control = fake_control,
    .pollfds = fake_pollfds,
    .next_wakeup = fake_next_wakeup,
    .service = fake_service,
    .locator = fake_locator,
    .recover = fake_recover,
    .end_strays = fake_end_strays,
    .describe = fake_describe,
};

/* ---- behaviours -------------------------------------------------------------- */

static struct behaviour exits(int after_ms, int code)
{
    return (struct behaviour){.after_ms = after_ms, .kind = NS_END_EXITED, .code = code};
}

static struct behaviour never(void)
{
    return (struct behaviour){.after_ms = -1, .kind = NS_END_EXITED, .code = 0};
}

static struct behaviour succeed_30ms(int64_t idx, int attempt)
{
    (void)idx, (void)attempt;
    return exits(30, 0);
}

static struct behaviour succeed_at_once(int64_t idx, int attempt)
{
    (void)idx, (void)attempt;
    return exits(0, 0);
}

static struct behaviour never_ends(int64_t idx, int attempt)
{
    (void)idx, (void)attempt;
    return never();
}

static struct behaviour fail_at_once(int64_t idx, int attempt)
{
    (void)idx, (void)attempt;
    return exits(0, 1);
}

/* ---- a run in a temporary directory ------------------------------------------ */

struct fixture {
    char dir[64];
    char db[128];
    struct ns_spec spec;
    struct ns_plan plan;
    struct ns_run_result res;
    char err[1024];
};

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* Loads yaml as a spec, plans it, and creates an empty store for it. */
static void fixture_init(struct fixture *fx, const char *yaml)
{
    memset(fx, 0, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/nightshift-unit-sup-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->db, sizeof fx->db, "%s/ns.db", fx->dir);
    char path[160];
    snprintf(path, sizeof path, "%s/job.yaml", fx->dir);
    struct ns_diags d = {0};
    if (spec_load_buffer(path, yaml, strlen(yaml), &fx->spec, &d) != 0) {
        char *text = diags_format(&d, path);
        fail_msg("spec: %s", text);
    }
    int stopped = 0;
    if (plan_stream(&fx->spec, NULL, 0, NULL, NULL, NULL, &fx->plan, &d, &stopped) != 0) {
        char *text = diags_format(&d, path);
        fail_msg("plan: %s", text);
    }
    diags_release(&d);
    struct ns_store st;
    char err[512];
    if (store_open(&st, fx->db, NS_STORE_WRITER, err, sizeof err) != 0)
        fail_msg("store: %s", err);
    store_close(&st);
}

static void fixture_release(struct fixture *fx)
{
    plan_release(&fx->plan);
    spec_release(&fx->spec);
    free(fx->res.next_command);
    nftw(fx->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* runtime_run on the fake; returns its status (err in fx->err). */
static int fixture_run(struct fixture *fx)
{
    struct ns_runtime_opts opts = {.executor = &fake_ops};
    bool refused = false;
    fx->err[0] = '\0';
    free(fx->res.next_command); /* the previous run's: each run gives its own */
    fx->res.next_command = NULL;
    return runtime_run(&fx->spec, &fx->plan, fx->db, &opts, &fx->res, &refused, fx->err,
                       sizeof fx->err);
}

static void fixture_run_ok(struct fixture *fx)
{
    if (fixture_run(fx) != 0)
        fail_msg("runtime_run: %s", fx->err);
}

/* One integer from the database (its own read connection); -1 if no row. */
__attribute__((format(printf, 2, 3))) static int64_t sql_int(const char *db_path, const char *fmt,
                                                             ...)
{
    char sql[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    sqlite3 *db = NULL;
    int64_t v = -1;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        sqlite3_stmt *s = NULL;
        if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
            fprintf(stderr, "# bad SQL in the test: %s: %s\n", sql, sqlite3_errmsg(db));
        else if (sqlite3_step(s) == SQLITE_ROW)
            v = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
    }
    sqlite3_close(db);
    return v;
}

/* Polls until sql gives want, up to timeout_s. Returns true if it did. */
static bool sql_wait(const char *db_path, double timeout_s, int64_t want, const char *sql)
{
    double deadline = ns_monotonic() + timeout_s;
    for (;;) {
        if (sql_int(db_path, "%s", sql) == want)
            return true;
        if (ns_monotonic() >= deadline)
            return false;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* ---- the operator: a second thread with its own connection --------------------- */

/* Waits until `until` (SQL) gives 1, then holds `hold_ms`, then submits verb. */
struct op_step {
    const char *until;
    int hold_ms;
    const char *verb;
    const char *args;
};

struct operator
{
    pthread_t thread;
    const char *db;
    const struct op_step *steps;
    size_t nsteps;
    size_t done;        /* steps whose command was submitted */
    char failure[1024]; /* set when a wait timed out or a submit failed */
};

static void *operator_main(void *arg)
{
    struct operator* op = arg;
    struct ns_store st;
    char err[512];
    if (store_open(&st, op->db, NS_STORE_CLIENT, err, sizeof err) != 0) {
        snprintf(op->failure, sizeof op->failure, "operator: %s", err);
        return NULL;
    }
    for (size_t i = 0; i < op->nsteps; i++) {
        const struct op_step *s = &op->steps[i];
        if (!sql_wait(op->db, 10, 1, s->until)) {
            snprintf(op->failure, sizeof op->failure, "operator step %zu: timed out on %s", i,
                     s->until);
            break;
        }
        if (s->hold_ms > 0) {
            struct timespec ts = {s->hold_ms / 1000, (long)(s->hold_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
        int64_t run_id = sql_int(op->db, "SELECT max(id) FROM runs");
        int64_t cmd;
        if (control_submit(&st, run_id, s->verb, s->args, "cli", &cmd, err, sizeof err) != 0) {
            snprintf(op->failure, sizeof op->failure, "operator step %zu: %s", i, err);
            break;
        }
        op->done = i + 1;
    }
    store_close(&st);
    return NULL;
}

static void operator_start(struct operator* op, const char *db, const struct op_step *steps,
                           size_t n)
{
    *op = (struct operator){.db = db, .steps = steps, .nsteps = n};
    assert_int_equal(pthread_create(&op->thread, NULL, operator_main, op), 0);
}

/* Joins; the run must have ended only after every command was sent. */
static void operator_join(struct operator* op)
{
    pthread_join(op->thread, NULL);
    if (op->failure[0])
        fail_msg("%s", op->failure);
    assert_int_equal(op->done, op->nsteps);
}

static int count_actions(int64_t idx, enum ns_exec_action action)
{
    int n = 0;
    for (size_t i = 0; i < F.nactions; i++)
        n += F.actions[i].action == action && (idx < 0 || F.actions[i].idx == idx);
    return n;
}

static const struct start_rec *start_of(int64_t idx, int attempt)
{
    for (size_t i = 0; i < F.nstarts; i++)
        if (F.starts[i].idx == idx && F.starts[i].attempt == attempt)
            return &F.starts[i];
    fail_msg("partition %lld attempt %d never started", (long long)idx, attempt);
    return NULL;
}

static const struct end_rec *end_of(int64_t idx, int attempt)
{
    for (size_t i = 0; i < F.nends; i++)
        if (F.ends[i].idx == idx && F.ends[i].attempt == attempt)
            return &F.ends[i];
    fail_msg("partition %lld attempt %d never ended", (long long)idx, attempt);
    return NULL;
}

#define SPEC_HEAD "command: [fake-worker, \"{key}\"]\n"

/* ---- dispatch ------------------------------------------------------------- */

/* Six partitions, two at a time: started in index order, never more than
 * two live, each once, and the run succeeds. */
static void test_dispatch_order_and_bound(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_init(&fx, "name: order\n" SPEC_HEAD "partitions:\n  range: {start: 0, end: 5}\n"
                      "concurrency: 2\n");
    fake_reset(succeed_30ms);
    fixture_run_ok(&fx);
    assert_string_equal(fx.res.state, "succeeded");
    assert_int_equal(F.nstarts, 6);
    for (size_t i = 0; i < F.nstarts; i++) {
        assert_int_equal(F.starts[i].idx, (int64_t)i);
        assert_int_equal(F.starts[i].attempt, 1);
    }
    assert_int_equal(F.max_live, 2); /* the bound, and it was used */
    assert_int_equal(F.live, 0);
    assert_int_equal(sql_int(fx.db, "SELECT count(*) FROM partitions WHERE state = 'succeeded'"),
                     6);
    assert_int_equal(sql_int(fx.db, "SELECT count(*) FROM attempts WHERE outcome = 'succeeded'"),
                     6);
    assert_int_equal(sql_int(fx.db, "SELECT n_succeeded FROM runs"), 6);
    fixture_release(&fx);
}

/* ---- retries and backoff ---------------------------------------------------- */

static struct behaviour fail_twice(int64_t idx, int attempt)
{
    (void)idx;
    return attempt < 3 ? exits(0, 1) : exits(0, 0);
}

/* Fails twice, then succeeds: three attempts, the first retry waited its
 * backoff (150 ms), the second twice that (factor 2, no jitter). */
static void test_retry_with_backoff(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_init(&fx, "name: retry\n" SPEC_HEAD "partitions:\n  list: [a]\n"
                      "retry: {attempts: 3, backoff: 150ms, factor: 2, jitter: 0}\n");
    fake_reset(fail_twice);
    fixture_run_ok(&fx);
    assert_string_equal(fx.res.state, "succeeded");
    assert_int_equal(F.nstarts, 3);
    double wait1 = start_of(0, 2)->at - end_of(0, 1)->at;
    double wait2 = start_of(0, 3)->at - end_of(0, 2)->at;
    printf("# backoff waited %.0f ms, then %.0f ms\n", wait1 * 1000, wait2 * 1000);
    assert_true(wait1 >= 0.150 - 0.002);
    assert_true(wait2 >= 0.300 - 0.002);
    assert_true(wait1 < 0.150 + 2.0 && wait2 < 0.300 + 2.0); /* waited, not stuck */
    assert_int_equal(sql_int(fx.db, "SELECT attempts_total FROM partitions WHERE idx = 0"), 3);
    assert_int_equal(sql_int(fx.db, "SELECT count(*) FROM attempts WHERE outcome = 'failed' "
                                    "AND exit_code = 1"),
                     2);
    assert_int_equal(sql_int(fx.db, "SELECT count(*) FROM attempts WHERE outcome = 'succeeded' "
                                    "AND n = 3"),
                     1);
    fixture_release(&fx);
}

/* Every attempt fails: the partition fails after exactly `attempts`. */
static void test_retry_budget_spent(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_init(&fx, "name: spent\n" SPEC_HEAD "partitions:\n  list: [a]\n"
                      "retry: {attempts: 2, backoff: 10ms, jitter: 0}\n");
    fake_reset(fail_at_once);
    fixture_run_ok(&fx);
    assert_string_equal(fx.res.state, "failed");
    assert_int_equal(F.nstarts, 2);
    assert_int_equal(sql_int(fx.db, "SELECT count(*) FROM partitions WHERE state = 'failed'"), 1);
    assert_int_equal(sql_int(fx.db, "SELECT count(*) FROM attempts"), 2);
    fixture_release(&fx);
}

/* ---- on_exit ---------------------------------------------------------------- */

/* a: exit 3 (mapped to retry) once, then 0; b: exit 4 (fail); c: exit 9
 * (unmapped: retry by default) always. */
static struct behaviour by_exit_code(int64_t idx, int attempt)
{
    switch (idx) {
    case 0:
        return attempt == 1 ? exits(0, 3) : exits(0, 0);
    case 1:
        return exits(0, 4);
    default:
        return exits(0, 9);
    }
}

static void test_on_exit_retry_and_fail(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_init(&fx, "name: onexit\n" SPEC_HEAD "partitions:\n  list: [a, b, c]\n"
                      "retry: {attempts: 3, backoff: 10ms, jitter: 0}\n"
                      "on_exit: {3: retry, 4: fail, 5: halt}\n");
    fake_reset(by_exit_code);
    fixture_run_ok(&fx);
    assert_string_equal(fx.res.state, "failed");
    assert_int_equal(sql_int(fx.db, "SELECT attempts_total FROM partitions WHERE idx = 0"), 2);
    assert_int_equal(sql_int(fx.db, "SELECT state = 'succeeded' FROM partitions WHERE idx = 0"), 1);
    assert_int_equal(sql_int(fx.db, "SELECT attempts_total FROM partitions WHERE idx = 1"), 1);
    assert_int_equal(sql_int(fx.db, "SELECT state = 'failed' FROM partitions WHERE idx = 1"), 1);
    assert_int_equal(sql_int(fx.db, "SELECT attempts_total FROM partitions WHERE idx = 2"), 3);
    assert_int_equal(sql_int(fx.db, "SELECT state = 'failed' FROM partitions WHERE idx = 2"), 1);
    assert_int_equal(F.nstarts, 6);
    assert_int_equal(sql_int(fx.db, "SELECT count(*) FROM runs WHERE state = 'halted'"), 0);
    fixture_release(&fx);
}

/* b exits 5, which on_exit maps to halt: b fails at once, nothing more is
 * dispatched (c, d wait), and the run waits for the operator, who stops it. */
static struct behaviour halts_on_b(int64_t idx, int attempt)
{
    (void)attempt;
    return idx == 1 ? exits(0, 5) : exits(0, 0);
}

static void test_on_exit_halt(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_init(&fx, "name: onhalt\n" SPEC_HEAD "partitions:\n  list: [a, b, c, d]\n"
                      "retry: {attempts: 3, backoff: 10ms, jitter: 0}\n"
                      "on_exit: {5: halt}\n");
    fake_reset(halts_on_b);
    static const struct op_step steps[] = {
        {"SELECT state = 'halted' FROM runs", 200, "stop", "{}"},
    };
    struct operator op;
    operator_start(&op, fx.db, steps, 1);
    fixture_run_ok(&fx);
    operator_join(&op);
    assert_string_equal(fx.res.state, "stopped");
    assert_int_equal(F.nstarts, 2); /* a, b; then halted: c and d never */
    assert_int_equal(sql_int(fx.db, "SELECT attempts_total FROM partitions WHERE idx = 1"), 1);
    assert_int_equal(sql_int(fx.db, "SELECT state = 'failed' FROM partitions WHERE idx = 1"), 1);
    assert_int_equal(sql_int(fx.db, "SELECT count(*) FROM partitions WHERE state = 'pending'"), 2);
    assert_int_equal(sql_int(fx.db, "SELECT count(*) FROM events WHERE kind = 'run_state' AND "
                                    "message LIKE '%%-> halted: %%on_exit maps to halt'"),
                     1);
    fixture_release(&fx);
}

/* ---- timeout ----------------------------------------------------------------- */

/* a never ends by itself: at its timeout the supervisor asks it to
 * terminate, and it does. b ignores the request: stop_grace later it is
 * killed. Both attempts time out; with one attempt each, both fail. */
static struct behaviour b_ignores_term(int64_t idx, int attempt)
{
    (void)attempt;
    struct behaviour b = never();
    b.ignores_term = idx == 1;
    return b;
}

static void test_timeout(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_init(&fx, "name: timeout\n" SPEC_HEAD "partitions:\n  list: [a, b]\n"
                      "concurrency: 2\ntimeout: 200ms\nstop_grace: 150ms\n");
    fake_reset(b_ignores_term);
    fixture_run_ok(&fx);
    assert_string_equal(fx.res.state, "failed");
    assert_int_equal(count_actions(0, NS_EXEC_TERMINATE), 1);
    assert_int_equal(count_actions(0, NS_EXEC_KILL), 0);
    assert_int_equal(count_actions(1, NS_EXEC_TERMINATE), 1);
    assert_int_equal(count_actions(1, NS_EXEC_KILL), 1);
    for (size_t i = 0; i < F.nactions; i++) {
        double since = F.actions[i].at - start_of(F.actions[i].idx, 1)->at;
        double due = F.actions[i].action == NS_EXEC_KILL ? 0.350 : 0.200;
        /* Measured from the fake's start, a moment after the supervisor's
         * own start time (a row read between): a little slack below. */
        assert_true(since >= due - 0.020);
        assert_true(since < due + 2.0);
    }
    assert_int_equal(sql_int(fx.db, "SELECT count(*) FROM attempts WHERE outcome = 'timed_out'"),
                     2);
    assert_int_equal(sql_int(fx.db, "SELECT count(*) FROM partitions WHERE state = 'failed'"), 2);
    fixture_release(&fx);
}

/* ---- operator commands: pause, resume, stop ---------------------------------- */

static struct behaviour run_400ms(int64_t idx, int attempt)
{
    (void)idx, (void)attempt;
    return exits(400, 0);
}

/* Both workers are paused while they run and resumed 300 ms later; the
 * partitions show `paused` meanwhile, and the run still succeeds. */
static void test_pause_and_resume(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_init(&fx, "name: pause\n" SPEC_HEAD "partitions:\n  list: [a, b]\n"
                      "concurrency: 2\ntimeout: 2s\n");
    fake_reset(run_400ms);
    static const struct op_step steps[] = {
        {"SELECT n_running = 2 FROM runs", 0, "pause", "{}"},
        {"SELECT state = 'paused' AND n_paused = 2 FROM runs", 300, "resume", "{}"},
    };
    struct operator op;
    operator_start(&op, fx.db, steps, 2);
    fixture_run_ok(&fx);
    operator_join(&op);
    assert_string_equal(fx.res.state, "succeeded");
    for (int64_t i = 0; i < 2; i++) {
        assert_int_equal(count_actions(i, NS_EXEC_PAUSE), 1);
        assert_int_equal(count_actions(i, NS_EXEC_RESUME), 1);
        assert_int_equal(count_actions(i, NS_EXEC_TERMINATE), 0);
    }
    /* Every pause came before every resume, at least the hold apart. */
    double last_pause = 0, first_resume = 1e18;
    for (size_t i = 0; i < F.nactions; i++) {
        if (F.actions[i].action == NS_EXEC_PAUSE && F.actions[i].at > last_pause)
            last_pause = F.actions[i].at;
        if (F.actions[i].action == NS_EXEC_RESUME && F.actions[i].at < first_resume)
            first_resume = F.actions[i].at;
    }
    assert_true(first_resume - last_pause >= 0.300 - 0.002);
    assert_int_equal(F.nstarts, 2); /* paused, not restarted */
    assert_int_equal(sql_int(fx.db, "SELECT count(*) FROM commands WHERE state = 'applied'"), 2);
    assert_int_equal(sql_int(fx.db, "SELECT count(*) FROM attempts WHERE outcome = 'succeeded'"),
                     2);
    fixture_release(&fx);
}

/* A graceful stop while two of four run: both are asked to terminate, their
 * attempts are interrupted (not counted), nothing else starts, the run ends
 * stopped. A second runtime resumes it and finishes all four. */
static void test_stop_then_resume_run(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_init(&fx, "name: stop\n" SPEC_HEAD "partitions:\n  list: [a, b, c, d]\n"
                      "concurrency: 2\nretry: {attempts: 1}\n");
    fake_reset(never_ends);
    static const struct op_step steps[] = {
        {"SELECT n_running = 2 FROM runs", 0, "stop", "{\"now\":false}"},
    };
    struct operator op;
    operator_start(&op, fx.db, steps, 1);
    fixture_run_ok(&fx);
    operator_join(&op);
    assert_string_equal(fx.res.state, "stopped");
    assert_int_equal(F.nstarts, 2);
    assert_int_equal(count_actions(-1, NS_EXEC_TERMINATE), 2);
    assert_int_equal(count_actions(-1, NS_EXEC_KILL), 0);
    assert_int_equal(sql_int(fx.db, "SELECT count(*) FROM attempts WHERE outcome = "
                                    "'interrupted'"),
                     2);
    assert_int_equal(sql_int(fx.db, "SELECT count(*) FROM partitions WHERE state = 'pending' "
                                    "AND attempts = 0"),
                     4);

    fake_reset(succeed_at_once);
    fixture_run_ok(&fx);
    assert_true(fx.res.resumed);
    assert_string_equal(fx.res.state, "succeeded");
    assert_int_equal(F.nstarts, 4);
    assert_int_equal(start_of(0, 2)->idx, 0); /* its second attempt, within budget */
    assert_int_equal(sql_int(fx.db, "SELECT count(*) FROM partitions WHERE state = 'succeeded'"),
                     4);
    fixture_release(&fx);
}

/* ---- the error budget --------------------------------------------------------- */

/* Every partition fails; halt_when failed_partitions: 2 halts the run after
 * the second failure, and nothing more is dispatched while it is halted. */
static void test_halt_by_error_budget(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_init(&fx, "name: budget\n" SPEC_HEAD "partitions:\n  range: {start: 0, end: 5}\n"
                      "halt_when: {failed_partitions: 2}\n");
    fake_reset(fail_at_once);
    static const struct op_step steps[] = {
        {"SELECT state = 'halted' FROM runs", 300, "stop", "{}"},
    };
    struct operator op;
    operator_start(&op, fx.db, steps, 1);
    fixture_run_ok(&fx);
    operator_join(&op);
    assert_string_equal(fx.res.state, "stopped");
    assert_int_equal(F.nstarts, 2);
    assert_int_equal(sql_int(fx.db, "SELECT count(*) FROM partitions WHERE state = 'failed'"), 2);
    assert_int_equal(sql_int(fx.db, "SELECT count(*) FROM partitions WHERE state = 'pending'"), 4);
    assert_int_equal(sql_int(fx.db, "SELECT count(*) FROM events WHERE kind = 'halt'"), 1);
    fixture_release(&fx);
}

/* ---- reconcile after a crash ---------------------------------------------------- */

/* A runtime (a child process) is killed with SIGKILL while partition a runs
 * and its attempt is committed. The next runtime asks the fake to recover it
 * (by its stored locator): gone. The attempt is closed as interrupted,
 * does not count, and a runs again and succeeds exactly once. */
static void test_reconcile_after_crash(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_init(&fx, "name: crash\n" SPEC_HEAD "partitions:\n  list: [a, b]\n"
                      "retry: {attempts: 1}\n");
    fake_reset(never_ends);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fixture_run(&fx); /* never returns on its own: its attempt never ends */
        _exit(3);
    }
    bool live = sql_wait(fx.db, 10, 1,
                         "SELECT count(*) FROM attempts WHERE idx = 0 AND outcome IS NULL "
                         "AND locator IS NOT NULL");
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(live);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    int64_t orphan = sql_int(fx.db, "SELECT id FROM attempts WHERE outcome IS NULL");
    char want_locator[64];
    snprintf(want_locator, sizeof want_locator, "fake:%lld", (long long)orphan);

    fake_reset(succeed_at_once); /* recover says gone */
    fixture_run_ok(&fx);
    assert_true(fx.res.resumed);
    assert_string_equal(fx.res.state, "succeeded");
    assert_int_equal(F.recovers, 1);
    assert_string_equal(F.recovered_locator, want_locator);
    assert_int_equal(F.nstarts, 2); /* a again, and b */
    assert_int_equal(start_of(0, 2)->idx, 0);
    assert_int_equal(start_of(1, 1)->idx, 1);
    assert_int_equal(sql_int(fx.db, "SELECT outcome = 'interrupted' FROM attempts WHERE id = %lld",
                             (long long)orphan),
                     1);
    assert_int_equal(sql_int(fx.db, "SELECT count(*) FROM attempts WHERE idx = 0 AND "
                                    "outcome = 'succeeded'"),
                     1);
    /* The interrupted attempt did not count: one attempt, one allowed. */
    assert_int_equal(sql_int(fx.db, "SELECT attempts FROM partitions WHERE idx = 0"), 1);
    assert_int_equal(sql_int(fx.db, "SELECT count(*) FROM attempts WHERE outcome IS NULL"), 0);

    /* Done is done: a third runtime finds nothing to run. */
    fake_reset(succeed_at_once);
    fixture_run_ok(&fx);
    assert_true(fx.res.already_succeeded);
    assert_int_equal(F.nstarts, 0);
    fixture_release(&fx);
}

/* A supervisor that never ends a run (a broken stop or timeout) fails the
 * suite instead of hanging it. */
static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "test-supervisor: no end within 60 s: a run hung\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(1);
}

int main(void)
{
    signal(SIGALRM, on_alarm);
    alarm(60);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch_order_and_bound),
        cmocka_unit_test(test_retry_with_backoff),
        cmocka_unit_test(test_retry_budget_spent),
        cmocka_unit_test(test_on_exit_retry_and_fail),
        cmocka_unit_test(test_on_exit_halt),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_pause_and_resume),
        cmocka_unit_test(test_stop_then_resume_run),
        cmocka_unit_test(test_halt_by_error_budget),
        cmocka_unit_test(test_reconcile_after_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
