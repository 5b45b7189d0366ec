/* test-spool.c - the files the runtime and the Slurm launcher share: the
 * launch file round trip (any byte in argv, environment and workdir), its
 * damage detection, the exit file's words, atomic writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "nightshift/spool.h"
#include "nightshift/util.h"

static char dir[] = "/tmp/ns-test-spool.XXXXXX";

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char *cmd = ns_xasprintf("rm -rf '%s'", dir);
    int rc = system(cmd);
    free(cmd);
    return rc == 0 ? 0 : -1;
}

static void test_launch_round_trip(void **state)
{
    (void)state;
    char a0[] = "./w.sh", a1[] = "two\nlines", a2[] = "", a3[] = "tab\there \x1b[2J \xff";
    char *argv[] = {a0, a1, a2, a3, NULL};
    char e0[] = "A=1", e1[] = "MULTI=x\ny\n", e2[] = "EMPTY=";
    char *envp[] = {e0, e1, e2, NULL};
    struct ns_launch l = {argv, envp, "/work dir/\nodd"};
    char err[256];
    assert_int_equal(spool_write_launch(dir, &l, err, sizeof err), 0);
    struct spool_launch r;
    assert_int_equal(spool_read_launch(dir, &r, err, sizeof err), 0);
    for (int i = 0; i < 4; i++)
        assert_string_equal(r.argv[i], argv[i]);
    assert_null(r.argv[4]);
    for (int i = 0; i < 3; i++)
        assert_string_equal(r.envp[i], envp[i]);
    assert_null(r.envp[3]);
    assert_string_equal(r.workdir, "/work dir/\nodd");
    spool_launch_release(&r);

    /* No workdir, no environment. */
    struct ns_launch bare = {argv, NULL, NULL};
    assert_int_equal(spool_write_launch(dir, &bare, err, sizeof err), 0);
    assert_int_equal(spool_read_launch(dir, &r, err, sizeof err), 0);
    assert_null(r.workdir);
    assert_null(r.envp[0]);
    spool_launch_release(&r);
}

static void test_launch_damaged(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",                                       /* empty */
        "nightshift-launch 2\nA 1\nx\n",          /* unknown version */
        "nightshift-launch 1\n",                  /* no argv */
        "nightshift-launch 1\nA 5\nab\n",         /* truncated */
        "nightshift-launch 1\nA 1\nxy",           /* no newline after the bytes */
        "nightshift-launch 1\nQ 1\nx\n",          /* unknown tag */
        "nightshift-launch 1\nA -1\nx\n",         /* negative length */
        "nightshift-launch 1\nA 99999999999\nx\n" /* absurd length */
    };
    char err[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(spool_write_file(dir, "launch", bad[i], strlen(bad[i]), err, sizeof err),
                         0);
        struct spool_launch r;
        if (spool_read_launch(dir, &r, err, sizeof err) == 0)
            fail_msg("damaged launch file %zu was accepted", i);
        assert_non_null(strstr(err, "not a launch file"));
        assert_null(r.argv);
    }
}

static void test_exit_words(void **state)
{
    (void)state;
    struct spool_exit x;
    assert_int_equal(spool_parse_exit("exited 0\n", &x), 0);
    assert_int_equal(x.kind, SPOOL_EXITED);
    assert_int_equal(x.value, 0);
    assert_int_equal(spool_parse_exit("exited 75\n", &x), 0);
    assert_int_equal(x.value, 75);
    assert_int_equal(spool_parse_exit("signalled 9\n", &x), 0);
    assert_int_equal(x.kind, SPOOL_SIGNALLED);
    assert_int_equal(x.value, 9);
    assert_int_equal(spool_parse_exit("error ./w.sh: No such file or directory\n", &x), 0);
    assert_int_equal(x.kind, SPOOL_ERROR);
    assert_int_equal(x.value, 127);
    assert_string_equal(x.message, "./w.sh: No such file or directory");
    /* The second line says who wrote it; without it, nothing is claimed. */
    assert_int_equal(spool_parse_exit("exited 0\n", &x), 0);
    assert_string_equal(x.task, "");
    assert_string_equal(x.run, "");
    assert_int_equal(spool_parse_exit("exited 3\ntask 881_4 0123456789abcdef.7.feedface00000000\n", &x), 0);
    assert_int_equal(x.value, 3);
    assert_string_equal(x.task, "881_4");
    assert_string_equal(x.run, "0123456789abcdef.7.feedface00000000");
    assert_int_equal(spool_parse_exit("error no launch\ntask ?_2 k\n", &x), 0);
    assert_string_equal(x.message, "no launch");
    assert_string_equal(x.task, "?_2");
    assert_string_equal(x.run, "k");
    assert_int_equal(spool_parse_exit("exited 0\ntask 881_4\n", &x), 0); /* no run: no claim */
    assert_string_equal(x.task, "");
    static const char *const bad[] = {"",
                                      "exited\n",
                                      "exited \n",
                                      "exited 256\n",
                                      "exited -1\n",
                                      "exited 3x\n",
                                      "killed 9\n",
                                      "signalled 99999999999999999\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (spool_parse_exit(bad[i], &x) == 0)
            fail_msg("\"%s\" parsed as an exit status", bad[i]);
}

static void test_atomic_write(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(spool_write_file(dir, "exit", "exited 3\n", 9, err, sizeof err), 0);
    char *t = spool_read_file(dir, "exit");
    assert_string_equal(t, "exited 3\n");
    free(t);
    char *tmp = ns_xasprintf("%s/.exit.tmp", dir);
    assert_int_not_equal(access(tmp, F_OK), 0); /* no temporary left behind */
    free(tmp);
    assert_null(spool_read_file(dir, "missing"));
    assert_int_equal(spool_write_file("/proc/self/nonexistent/dir", "exit", "x", 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "/proc/self/nonexistent/dir/.exit.tmp: No such file or directory"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_launch_round_trip),
        cmocka_unit_test(test_launch_damaged),
        cmocka_unit_test(test_exit_words),
        cmocka_unit_test(test_atomic_write),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
