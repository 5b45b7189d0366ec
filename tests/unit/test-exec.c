/* test-exec.c - the local executor: process identity, groups, clean launch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* -Wwrite-strings: a writable copy of a literal. */
#define S(lit) ((char[]){lit})

#include "nightshift/exec.h"

/* Field 22 of /proc/PID/stat, read independently with sscanf. */
static unsigned long long starttime_of(pid_t pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')') + 2;
    unsigned long long v = 0;
    /* fields 3..21 skipped, 22 read */
    int got = sscanf(p,
                     "%*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
                     "%*s %*s %llu",
                     &v);
    assert_int_equal(got, 1);
    return v;
}

static void test_start_time_identifies_a_process(void **state)
{
    (void)state;
    uint64_t st = exec_start_time(getpid());
    assert_true(st > 0);
    assert_int_equal(st, starttime_of(getpid()));
    assert_true(exec_same_process(getpid(), st));
    assert_false(exec_same_process(getpid(), st + 1)); /* a recycled pid */
    assert_int_equal(exec_start_time(0), 0);
}

static void test_worker_gets_its_own_group_and_fd3(void **state)
{
    (void)state;
    char *argv[] = {S("sh"), S("-c"), S("echo out; echo report >&3; kill -0 0"), NULL};
    char *envp[] = {S("PATH=/usr/bin:/bin"), NULL};
    struct ns_launch l = {argv, envp, NULL};
    struct ns_proc p;
    char err[256];
    assert_int_equal(exec_start(&l, &p, err, sizeof err), 0);
    assert_true(p.start_time > 0);
    assert_int_equal(getpgid(p.pid), p.pid);
    int status;
    assert_int_equal(waitpid(p.pid, &status, 0), p.pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char buf[64];
    ssize_t n = read(p.report_fd, buf, sizeof buf);
    assert_int_equal(n, 7);
    assert_memory_equal(buf, "report\n", 7);
    n = read(p.output_fd, buf, sizeof buf);
    assert_int_equal(n, 4);
    close(p.report_fd);
    close(p.output_fd);
}

/* The start time a worker is given (the boot clock, or /proc when the
 * clock ticked during the spawn) is the one /proc shows, spawn after spawn. */
static void test_start_time_of_each_worker_is_the_kernels(void **state)
{
    (void)state;
    char *argv[] = {S("sleep"), S("5"), NULL};
    char *envp[] = {S("PATH=/usr/bin:/bin"), NULL};
    struct ns_launch l = {argv, envp, NULL};
    for (int i = 0; i < 300; i++) {
        struct ns_proc p;
        char err[256];
        assert_int_equal(exec_start(&l, &p, err, sizeof err), 0);
        assert_true(p.start_time > 0);
        assert_int_equal(p.start_time, starttime_of(p.pid));
        assert_true(exec_same_process(p.pid, p.start_time));
        kill(p.pid, SIGKILL);
        assert_int_equal(waitpid(p.pid, NULL, 0), p.pid);
        close(p.report_fd);
        close(p.output_fd);
    }
}

static void test_missing_command_is_an_error_at_start(void **state)
{
    (void)state;
    char *argv[] = {S("./no-such-worker.sh"), NULL};
    char *envp[] = {NULL};
    struct ns_launch l = {argv, envp, NULL};
    struct ns_proc p;
    char err[256] = "";
    assert_int_equal(exec_start(&l, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "No such file or directory"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_time_identifies_a_process),
        cmocka_unit_test(test_worker_gets_its_own_group_and_fd3),
        cmocka_unit_test(test_start_time_of_each_worker_is_the_kernels),
        cmocka_unit_test(test_missing_command_is_an_error_at_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
