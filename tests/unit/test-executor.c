/* test-executor.c - the executor ops table, driven directly on `local`:
 * start, events (report bytes, output bytes, ended), semantic control,
 * locator/describe and recover, without the supervisor. */
#include <poll.h>
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

#define S(lit) ((char[]){lit})

#include "nightshift/executor.h"
#include "nightshift/util.h"

struct seen {
    struct ns_buf report, output;
    int ended;
    struct ns_exec_end end;
    void *owner;
};

static void on_report(void *ctx, void *owner, const char *buf, size_t n)
{
    struct seen *s = ctx;
    s->owner = owner;
    buf_add(&s->report, buf, n);
}

static void on_output(void *ctx, void *owner, const char *buf, size_t n)
{
    (void)owner;
    buf_add(&((struct seen *)ctx)->output, buf, n);
}

static void on_ended(void *ctx, void *owner, const struct ns_exec_end *end)
{
    struct seen *s = ctx;
    s->owner = owner;
    s->ended++;
    s->end = *end;
}

static const struct ns_exec_events events = {on_report, on_output, NULL, on_ended, NULL, NULL};

/* One supervisor turn, reduced: poll what the executor asks for, reap
 * children and offer them, service. */
static void turn(struct ns_executor *ex, struct seen *s)
{
    const struct ns_executor_ops *ops = &ns_exec_local;
    struct pollfd pfd[16];
    size_t n = ops->pollfds(ex, pfd, 16);
    assert_true(n <= 16);
    poll(pfd, n, 20);
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        ops->child_exited(ex, (int)pid, status);
    ops->service(ex, pfd, n, &events, s);
}

static struct ns_executor *open_local(void)
{
    struct ns_exec_config cfg = {.run_token = "NIGHTSHIFT_RUN_TOKEN=test-executor.1",
                                 .stop_grace_ms = 200,
                                 .concurrency = 2};
    struct ns_executor *ex = NULL;
    char err[256];
    assert_int_equal(ns_exec_local.open(&cfg, &ex, err, sizeof err), 0);
    return ex;
}

static struct ns_task *start(struct ns_executor *ex, const char *script, void *owner)
{
    char *argv[] = {S("/bin/sh"), S("-c"), (char *)script, NULL};
    char *envp[] = {S("PATH=/usr/bin:/bin"), S("NIGHTSHIFT_RUN_TOKEN=test-executor.1"), NULL};
    struct ns_launch l = {argv, envp, NULL};
    struct ns_task *t = NULL;
    char err[256];
    assert_int_equal(ns_exec_local.start(ex, &l, 1, owner, &t, err, sizeof err), 0);
    assert_non_null(t);
    return t;
}

static void test_events_of_one_attempt(void **state)
{
    (void)state;
    struct ns_executor *ex = open_local();
    struct seen s = {NS_BUF_INIT, NS_BUF_INIT, 0, {0}, NULL};
    int owner;
    start(ex, "echo 'progress 5' >&3; echo out; echo err >&2; exit 3", &owner);
    for (int i = 0; i < 250 && !s.ended; i++)
        turn(ex, &s);
    assert_int_equal(s.ended, 1);
    assert_ptr_equal(s.owner, &owner);
    assert_int_equal(s.end.kind, NS_END_EXITED);
    assert_int_equal(s.end.code, 3);
    assert_string_equal(ns_exec_end_name(s.end.kind), "exited");
    assert_int_equal(s.report.len, strlen("progress 5\n"));
    assert_memory_equal(s.report.data, "progress 5\n", s.report.len);
    assert_non_null(strstr(s.output.data, "out\n"));
    assert_non_null(strstr(s.output.data, "err\n"));
    buf_release(&s.report);
    buf_release(&s.output);
    ns_exec_local.close(ex);
}

static char state_of(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return '?';
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    return p ? p[2] : '?';
}

static void test_semantic_control(void **state)
{
    (void)state;
    struct ns_executor *ex = open_local();
    struct seen s = {NS_BUF_INIT, NS_BUF_INIT, 0, {0}, NULL};
    int owner;
    struct ns_task *t = start(ex, "exec sleep 30", &owner);
    char *loc = ns_exec_local.locator(ex, t);
    int pid = 0;
    unsigned long long st = 0;
    assert_int_equal(sscanf(loc, "pid=%d start=%llu", &pid, &st), 2);
    char label[64];
    ns_exec_local.describe(ex, t, label, sizeof label);
    char want[64];
    snprintf(want, sizeof want, "pid %d", pid);
    assert_string_equal(label, want);

    assert_int_equal(ns_exec_local.control(ex, t, NS_EXEC_PAUSE), 0);
    char c = '?';
    for (int i = 0; i < 200 && (c = state_of(pid)) != 'T'; i++)
        usleep(10000);
    assert_int_equal(c, 'T');
    assert_int_equal(ns_exec_local.control(ex, t, NS_EXEC_RESUME), 0);
    for (int i = 0; i < 200 && (c = state_of(pid)) == 'T'; i++)
        usleep(10000);
    assert_true(c != 'T');
    assert_int_equal(ns_exec_local.control(ex, t, NS_EXEC_TERMINATE), 0);
    for (int i = 0; i < 250 && !s.ended; i++)
        turn(ex, &s);
    assert_int_equal(s.ended, 1);
    assert_int_equal(s.end.kind, NS_END_SIGNALLED);
    assert_int_equal(s.end.sig, SIGTERM);
    free(loc);
    buf_release(&s.report);
    buf_release(&s.output);
    ns_exec_local.close(ex);
}

static void test_recover_ends_a_left_worker(void **state)
{
    (void)state;
    /* A worker whose runtime "died": this executor forgets it (close), a new
     * one finds it by its locator and ends it; the same locator later finds
     * nothing. */
    struct ns_executor *ex = open_local();
    int owner;
    struct ns_task *t = start(ex, "exec sleep 30", &owner);
    char *loc = ns_exec_local.locator(ex, t);
    ns_exec_local.close(ex);
    struct ns_executor *ex2 = open_local();
    struct ns_task *adopted = (struct ns_task *)&owner;
    assert_int_equal(ns_exec_local.recover(ex2, loc, 1, 0, 0, &owner, &adopted), NS_RECOVER_ENDED);
    assert_null(adopted);
    int status;
    while (waitpid(-1, &status, WNOHANG) > 0)
        ;
    assert_int_equal(ns_exec_local.recover(ex2, loc, 1, 0, 0, &owner, &adopted), NS_RECOVER_GONE);
    assert_int_equal(ns_exec_local.recover(ex2, NULL, 1, 0, 0, &owner, &adopted), NS_RECOVER_GONE);
    assert_int_equal(ns_exec_local.recover(ex2, "garbage", 1, 0, 0, &owner, &adopted),
                     NS_RECOVER_GONE);
    free(loc);
    ns_exec_local.close(ex2);
}

static void test_table(void **state)
{
    (void)state;
    assert_ptr_equal(executor_find("local"), &ns_exec_local);
    assert_ptr_equal(executor_find(NULL), &ns_exec_local);
    assert_null(executor_find("kubernetes"));
    assert_true(ns_exec_local.caps & NS_EXEC_CAN_PAUSE);
    assert_false(ns_exec_local.caps & NS_EXEC_CAN_ADOPT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_of_one_attempt),
        cmocka_unit_test(test_semantic_control),
        cmocka_unit_test(test_recover_ends_a_left_worker),
        cmocka_unit_test(test_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
