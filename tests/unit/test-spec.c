/* test-spec.c - the job spec loader: values, defaults, bounds, diagnostics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "nightshift/cli.h"
#include "nightshift/executor.h"
#include "nightshift/spec.h"
#include "nightshift/util.h"

/* Loads yaml and returns the formatted diagnostics ("" when it loaded). */
static char *load_diags(const char *yaml)
{
    struct ns_spec spec;
    struct ns_diags d = {0};
    int rc = spec_load_buffer("s.yaml", yaml, strlen(yaml), &spec, &d);
    char *text = diags_format(&d, "s.yaml");
    if (rc == 0) {
        assert_int_equal(d.len, 0);
        spec_release(&spec);
    } else {
        assert_true(d.len > 0);
    }
    diags_release(&d);
    return text;
}

static void expect_diags(const char *yaml, const char *want)
{
    char *got = load_diags(yaml);
    if (strcmp(got, want) != 0)
        fail_msg("diagnostics differ\n--- want\n%s--- got\n%s", want, got);
    free(got);
}

#define MIN_SPEC "name: j\ncommand: [./w]\npartitions: {list: [a]}\n"

static void test_full_spec(void **state)
{
    (void)state;
    const char *yaml = "name: events-backfill\n"
                       "description: nightly backfill\n"
                       "command: [\"./w.sh\", \"{date}\", \"--region={region}\"]\n"
                       "workdir: \"out/{region}\"\n"
                       "params:\n"
                       "  region: eu\n"
                       "  from: ~\n"
                       "  to:\n"
                       "partitions:\n"
                       "  dates: {from: \"{from}\", to: \"{to}\", step: 1w, format: \"%Y%m%d\"}\n"
                       "concurrency: 4\n"
                       "timeout: 1h30m\n"
                       "retry: {attempts: 3, backoff: 2s, max_backoff: 1m, factor: 1.5, "
                       "jitter: 0}\n"
                       "on_exit: {2: fail, 75: retry, 9: halt}\n"
                       "stop_grace: 30s\n"
                       "env: {REGION: \"{region}\", _X1: plain}\n"
                       "log_limit: 64KiB\n"
                       "halt_when: {failed_partitions: 5%, error_records: 1000}\n"
                       "sla: {max_duration: 2h, deadline: \"06:30\"}\n"
                       "hooks:\n"
                       "  on_success: [mail, -s, ok]\n"
                       "  on_failure: [\"./alert\", \"{region}\"]\n"
                       "  timeout: 5s\n"
                       "durability: full\n"
                       "on_restore: pause\n";
    struct ns_spec s;
    struct ns_diags d = {0};
    int rc = spec_load_buffer("jobs/s.yaml", yaml, strlen(yaml), &s, &d);
    if (rc != 0) {
        char *t = diags_format(&d, "s.yaml");
        fail_msg("%s", t);
    }
    assert_string_equal(s.name, "events-backfill");
    assert_string_equal(s.description, "nightly backfill");
    assert_int_equal(s.command.len, 3);
    assert_string_equal(s.command.items[2].text, "--region={region}");
    assert_int_equal(s.command.items[2].line, 3);
    assert_int_equal(s.command.items[2].col, 31);
    assert_false(s.shell);
    assert_string_equal(s.workdir.text, "out/{region}");
    assert_int_equal(s.params_len, 3);
    assert_string_equal(s.params[0].name, "region");
    assert_string_equal(s.params[0].value, "eu");
    assert_string_equal(s.params[1].name, "from");
    assert_null(s.params[1].value);
    assert_null(s.params[2].value);
    assert_int_equal(s.partitions.kind, NS_PART_DATES);
    assert_string_equal(s.partitions.from.text, "{from}");
    assert_string_equal(s.partitions.step.text, "1w");
    assert_string_equal(s.partitions.format.text, "%Y%m%d");
    assert_int_equal(s.partitions.line, 9);
    assert_int_equal(s.partitions.col, 1);
    assert_int_equal(s.concurrency, 4);
    assert_int_equal(s.timeout_ms, 5400000);
    assert_int_equal(s.retry_attempts, 3);
    assert_int_equal(s.backoff_ms, 2000);
    assert_int_equal(s.max_backoff_ms, 60000);
    assert_true(s.backoff_factor == 1.5);
    assert_true(s.jitter == 0);
    assert_int_equal(s.on_exit_len, 3);
    assert_int_equal(s.on_exit[0].code, 2);
    assert_int_equal(s.on_exit[0].action, NS_EXIT_FAIL);
    assert_int_equal(s.on_exit[1].action, NS_EXIT_RETRY);
    assert_int_equal(s.on_exit[2].code, 9);
    assert_int_equal(s.on_exit[2].action, NS_EXIT_HALT);
    assert_int_equal(s.stop_grace_ms, 30000);
    assert_int_equal(s.env_len, 2);
    assert_string_equal(s.env[0].name, "REGION");
    assert_string_equal(s.env[0].value, "{region}");
    assert_int_equal(s.log_limit, 65536);
    assert_true(s.halt_failed_partitions.set && s.halt_failed_partitions.percent);
    assert_true(s.halt_failed_partitions.value == 5);
    assert_true(s.halt_error_records.set && !s.halt_error_records.percent);
    assert_true(s.halt_error_records.value == 1000);
    assert_int_equal(s.sla_max_duration_ms, 7200000);
    assert_string_equal(s.sla_deadline, "06:30");
    assert_int_equal(s.hooks[NS_HOOK_SUCCESS].len, 3);
    assert_string_equal(s.hooks[NS_HOOK_SUCCESS].items[1].text, "-s");
    assert_int_equal(s.hooks[NS_HOOK_FAILURE].len, 2);
    assert_int_equal(s.hooks[NS_HOOK_HALT].len, 0);
    assert_int_equal(s.hook_timeout_ms, 5000);
    assert_true(s.durability_full);
    assert_true(s.restore_paused);
    assert_non_null(strstr(s.dir, "/jobs"));
    assert_true(s.dir[0] == '/');
    spec_release(&s);
    diags_release(&d);
}

static void test_defaults(void **state)
{
    (void)state;
    struct ns_spec s;
    struct ns_diags d = {0};
    assert_int_equal(spec_load_buffer("s.yaml", MIN_SPEC, strlen(MIN_SPEC), &s, &d), 0);
    assert_null(s.description);
    assert_null(s.workdir.text);
    assert_false(s.shell);
    assert_int_equal(s.params_len, 0);
    assert_int_equal(s.partitions.kind, NS_PART_LIST);
    assert_int_equal(s.partitions.keys_len, 1);
    assert_string_equal(s.partitions.keys[0].text, "a");
    assert_int_equal(s.concurrency, 1);
    assert_int_equal(s.timeout_ms, 0);
    assert_int_equal(s.retry_attempts, 1);
    assert_int_equal(s.backoff_ms, 1000);
    assert_int_equal(s.max_backoff_ms, 300000);
    assert_true(s.backoff_factor == 2);
    assert_true(s.jitter == 0.1);
    assert_int_equal(s.on_exit_len, 0);
    assert_int_equal(s.stop_grace_ms, 10000);
    assert_int_equal(s.log_limit, 1048576);
    assert_false(s.halt_failed_partitions.set);
    assert_false(s.halt_error_records.set);
    assert_int_equal(s.sla_max_duration_ms, 0);
    assert_null(s.sla_deadline);
    assert_int_equal(s.hook_timeout_ms, 30000);
    assert_false(s.durability_full);
    assert_false(s.restore_paused);
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_string_equal(s.dir, cwd);
    spec_release(&s);
    diags_release(&d);
}

static void test_partitioners(void **state)
{
    (void)state;
    struct ns_spec s;
    struct ns_diags d = {0};
    const char *range = "name: j\ncommand: [w, \"{start}\", \"{end}\"]\n"
                        "partitions: {range: {start: 1, end: 100, size: 10}}\n";
    assert_int_equal(spec_load_buffer("s.yaml", range, strlen(range), &s, &d), 0);
    assert_int_equal(s.partitions.kind, NS_PART_RANGE);
    assert_string_equal(s.partitions.end.text, "100");
    assert_string_equal(s.partitions.size.text, "10");
    spec_release(&s);
    const char *rdef = "name: j\ncommand: [w]\npartitions: {range: {start: 1, end: 5}}\n";
    assert_int_equal(spec_load_buffer("s.yaml", rdef, strlen(rdef), &s, &d), 0);
    assert_string_equal(s.partitions.size.text, "1");
    spec_release(&s);
    const char *files = "name: j\ncommand: [w, \"{file}\"]\npartitions: {files: \"data/*.csv\"}\n";
    assert_int_equal(spec_load_buffer("s.yaml", files, strlen(files), &s, &d), 0);
    assert_int_equal(s.partitions.kind, NS_PART_FILES);
    assert_string_equal(s.partitions.glob.text, "data/*.csv");
    spec_release(&s);
    const char *kf = "name: j\ncommand: [w]\npartitions:\n  list: {file: keys.txt}\n";
    assert_int_equal(spec_load_buffer("s.yaml", kf, strlen(kf), &s, &d), 0);
    assert_int_equal(s.partitions.kind, NS_PART_LIST);
    assert_string_equal(s.partitions.keys_file.text, "keys.txt");
    assert_int_equal(s.partitions.keys_file.line, 4);
    assert_int_equal(s.partitions.keys_file.col, 16);
    spec_release(&s);
    const char *sh = "name: j\nshell: yes\ncommand: \"echo \\\"$NIGHTSHIFT_P_KEY\\\" ${HOME}\"\n"
                     "partitions: {list: [a]}\n";
    assert_int_equal(spec_load_buffer("s.yaml", sh, strlen(sh), &s, &d), 0);
    assert_true(s.shell);
    assert_int_equal(s.command.len, 1);
    assert_string_equal(s.command.items[0].text, "echo \"$NIGHTSHIFT_P_KEY\" ${HOME}");
    spec_release(&s);
    assert_int_equal(d.len, 0);
    diags_release(&d);
}

static void test_unknown_key_suggestion(void **state)
{
    (void)state;
    expect_diags(MIN_SPEC "concurency: 4\n",
                 "s.yaml:4:1: unknown key \"concurency\" (did you mean \"concurrency\"?)\n");
    expect_diags(MIN_SPEC "retry: {atempts: 2}\n",
                 "s.yaml:4:9: retry: unknown key \"atempts\" (did you mean \"attempts\"?)\n");
    expect_diags(MIN_SPEC "zzzzzz: 1\n", "s.yaml:4:1: unknown key \"zzzzzz\"\n");
}

static void test_wrong_types(void **state)
{
    (void)state;
    expect_diags(MIN_SPEC "retry:\n  attempts: three\n",
                 "s.yaml:5:13: retry.attempts: expected an integer, got \"three\"\n");
    expect_diags(MIN_SPEC "concurrency: [1]\n",
                 "s.yaml:4:14: concurrency: expected an integer, got a list\n");
    expect_diags(MIN_SPEC "concurrency: 0\n",
                 "s.yaml:4:14: concurrency: must be from 1 to 1024, got 0\n");
    expect_diags(MIN_SPEC "shell: maybe\n",
                 "s.yaml:4:8: shell: expected true or false, got \"maybe\"\n");
    expect_diags(MIN_SPEC "retry: {jitter: 2}\n",
                 "s.yaml:4:17: retry.jitter: must be from 0 to 1, got 2\n");
    expect_diags(MIN_SPEC "durability: fast\n",
                 "s.yaml:4:13: durability: expected normal or full, got \"fast\"\n");
    expect_diags(MIN_SPEC "log_limit: 1 MiB\n",
                 "s.yaml:4:12: log_limit: \"1 MiB\" is not a size (examples: 65536, 64KiB, "
                 "1MiB)\n");
    expect_diags(MIN_SPEC "sla: {deadline: \"25:00\"}\n",
                 "s.yaml:4:17: sla.deadline: \"25:00\" is not a time of day HH:MM\n");
    expect_diags(MIN_SPEC "halt_when: {failed_partitions: 150%}\n",
                 "s.yaml:4:32: halt_when.failed_partitions: \"150%\" is not a percentage above 0 "
                 "and at most 100%\n");
    expect_diags("name: \"a b\"\ncommand: [w]\npartitions: {list: [a]}\n",
                 "s.yaml:1:7: name: \"a b\" may only hold letters, digits, \".\", \"_\" and \"-\" "
                 "(1 to 64)\n");
}

static void test_bad_duration(void **state)
{
    (void)state;
    expect_diags(MIN_SPEC "timeout: 10x\n",
                 "s.yaml:4:10: timeout: \"10x\" is not a duration (examples: 30s, 10m, 1h30m)\n");
}

static void test_duplicate_key(void **state)
{
    (void)state;
    expect_diags(MIN_SPEC "concurrency: 2\nconcurrency: 3\n",
                 "s.yaml:5:1: duplicate key \"concurrency\" (lines 4 and 5)\n");
    expect_diags(MIN_SPEC "retry:\n  attempts: 2\n  backoff: 1s\n  attempts: 3\n",
                 "s.yaml:7:3: duplicate key \"retry.attempts\" (lines 5 and 7)\n");
}

static void test_alias_rejected(void **state)
{
    (void)state;
    expect_diags("name: &n j\ncommand: [w]\npartitions: {list: [*n]}\n",
                 "s.yaml:1:7: anchors and aliases are not supported\n"
                 "s.yaml:3:21: anchors and aliases are not supported\n");
}

static void test_depth_bomb(void **state)
{
    (void)state;
    char yaml[256] = "x: ";
    size_t n = strlen(yaml);
    for (int i = 0; i < 100; i++)
        yaml[n++] = '[';
    for (int i = 0; i < 100; i++)
        yaml[n++] = ']';
    yaml[n++] = '\n';
    yaml[n] = '\0';
    /* Root mapping is level 1, so the 64th "[" is level 65 at column 4 + 63. */
    expect_diags(yaml, "s.yaml:1:67: spec is nested deeper than 64 levels\n");
}

static void test_oversized(void **state)
{
    (void)state;
    size_t len = NS_SPEC_MAX_BYTES + 1;
    char *big = malloc(len + 1);
    memset(big, '#', len);
    big[len] = '\0';
    struct ns_spec s;
    struct ns_diags d = {0};
    assert_int_equal(spec_load_buffer("s.yaml", big, len, &s, &d), -1);
    char *t = diags_format(&d, "s.yaml");
    assert_string_equal(t, "s.yaml: spec is larger than 1048576 bytes (1 MiB)\n");
    free(t);
    diags_release(&d);
    /* Through the file path too. */
    char path[] = "/tmp/ns-test-spec-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, big, len), (ssize_t)len);
    close(fd);
    assert_int_equal(spec_load(path, &s, &d), -1);
    assert_int_equal(d.len, 1);
    assert_non_null(strstr(d.items[0].message, "larger than"));
    diags_release(&d);
    unlink(path);
    free(big);
}

static void test_too_many_events(void **state)
{
    (void)state;
    struct ns_buf b = NS_BUF_INIT;
    buf_adds(&b, "x: [");
    for (int i = 0; i < NS_SPEC_MAX_EVENTS; i++)
        buf_adds(&b, "1,");
    buf_adds(&b, "1]\n");
    assert_true(b.len < NS_SPEC_MAX_BYTES);
    struct ns_spec s;
    struct ns_diags d = {0};
    assert_int_equal(spec_load_buffer("s.yaml", b.data, b.len, &s, &d), -1);
    assert_int_equal(d.len, 1);
    assert_string_equal(d.items[0].message, "spec has too many YAML nodes (limit 200000)");
    diags_release(&d);
    buf_release(&b);
}

static void test_structure_errors(void **state)
{
    (void)state;
    expect_diags("name: j\npartitions: {list: [a]}\n", "s.yaml:1:1: command: required\n");
    expect_diags("command: [w]\n", "s.yaml:1:1: name: required\n"
                                   "s.yaml:1:1: partitions: required\n");
    expect_diags("name: j\ncommand: []\npartitions: {list: [a]}\n",
                 "s.yaml:2:10: command: the list of arguments is empty\n");
    expect_diags("name: j\ncommand: ./w.sh\npartitions: {list: [a]}\n",
                 "s.yaml:2:10: command: expected a list of arguments, e.g. [\"./work.sh\", "
                 "\"{key}\"] (or set shell: true to run a shell command line)\n");
    expect_diags("", "s.yaml: spec is empty\n");
    expect_diags("- a\n", "s.yaml:1:1: a spec is a mapping of keys (name: ..., command: ...)\n");
    expect_diags(MIN_SPEC "---\nname: k\n",
                 "s.yaml:4:1: a spec holds one YAML document, found more\n");
    expect_diags("name: j\ncommand: [w\n",
                 "s.yaml:3:1: YAML syntax error: did not find expected ',' or ']' while "
                 "parsing a flow sequence\n");
}

static void test_shell_placeholder(void **state)
{
    (void)state;
    expect_diags("name: j\nshell: true\ncommand: \"./w.sh {key}\"\npartitions: {list: [a]}\n",
                 "s.yaml:3:10: command: placeholders are not expanded with shell: true (a value "
                 "could inject commands); use \"$NIGHTSHIFT_P_KEY\" instead of {key}\n");
    expect_diags("name: j\nshell: true\ncommand: [a, b]\npartitions: {list: [a]}\n",
                 "s.yaml:3:10: command: with shell: true give one string, run by /bin/sh -c\n");
}

static void test_partitioner_choice(void **state)
{
    (void)state;
    expect_diags("name: j\ncommand: [w]\npartitions:\n  list: [a]\n  files: \"*.csv\"\n",
                 "s.yaml:3:1: partitions: give exactly one of list, range, dates, files\n");
    expect_diags("name: j\ncommand: [w]\npartitions: {}\n",
                 "s.yaml:3:1: partitions: give exactly one of list, range, dates, files\n");
    expect_diags("name: j\ncommand: [w]\npartitions: {range: {end: 3}}\n",
                 "s.yaml:3:21: partitions.range.start: required\n");
    expect_diags("name: j\ncommand: [w]\npartitions: {dates: {from: 2026-02-30, to: x, step: "
                 "36h}}\n",
                 "s.yaml:3:28: partitions.dates.from: \"2026-02-30\" is not a date (YYYY-MM-DD)\n"
                 "s.yaml:3:44: partitions.dates.to: \"x\" is not a date (YYYY-MM-DD)\n"
                 "s.yaml:3:53: partitions.dates.step: \"36h\" is not a whole number of days "
                 "(examples: 1d, 7d, 1w)\n");
}

static void test_on_exit(void **state)
{
    (void)state;
    expect_diags(MIN_SPEC "on_exit: {2: explode}\n",
                 "s.yaml:4:14: on_exit.2: expected retry, fail or halt, got \"explode\"\n");
    expect_diags(MIN_SPEC "on_exit: {75: retyr, 0: fail}\n",
                 "s.yaml:4:15: on_exit.75: expected retry, fail or halt, got \"retyr\" (did you "
                 "mean \"retry\"?)\n"
                 "s.yaml:4:22: on_exit: exit code \"0\" must be an integer from 1 to 255\n");
}

static void test_templates_checked(void **state)
{
    (void)state;
    expect_diags("name: j\ncommand: [w, \"{dat}\"]\npartitions: {dates: {from: 2026-01-01, to: "
                 "2026-01-02}}\n",
                 "s.yaml:2:14: command[1]: unknown placeholder {dat} (did you mean {date}?)\n");
    /* {date} belongs to the dates partitioner only. */
    expect_diags("name: j\ncommand: [w, \"{date}\"]\npartitions: {list: [a]}\n",
                 "s.yaml:2:14: command[1]: unknown placeholder {date}\n");
    expect_diags(MIN_SPEC "workdir: \"out/{\"\nenv: {A: \"}\"}\n",
                 "s.yaml:4:10: workdir: unbalanced \"{\" (write {{ for a literal brace)\n"
                 "s.yaml:5:10: env.A: unbalanced \"}\" (write }} for a literal brace)\n");
    /* Partition values may only use run parameters. */
    expect_diags("name: j\ncommand: [w]\nparams: {n: 3}\npartitions: {range: {start: 1, end: "
                 "\"{key}\"}}\n",
                 "s.yaml:4:37: partitions.range.end: unknown placeholder {key}\n");
}

static void test_params_and_env(void **state)
{
    (void)state;
    expect_diags(MIN_SPEC "params: {date: ~, Bad: 1, ok: [1]}\n",
                 "s.yaml:4:10: params.date: clashes with the partition parameter {date}; choose "
                 "another name\n"
                 "s.yaml:4:19: params: \"Bad\" is not a parameter name (lowercase letters, digits "
                 "and _, not starting with a digit)\n"
                 "s.yaml:4:31: params.ok: expected a default value, or ~ for a required "
                 "parameter, got a list\n");
    expect_diags(MIN_SPEC "env: {NIGHTSHIFT_RUN_ID: x, 1A: y}\n",
                 "s.yaml:4:7: env.NIGHTSHIFT_RUN_ID: NIGHTSHIFT_ variables are set by nightshift "
                 "itself\n"
                 "s.yaml:4:29: env: \"1A\" is not a variable name (letters, digits and _, not "
                 "starting with a digit)\n");
}

static void test_many_problems_at_once(void **state)
{
    (void)state;
    char *got = load_diags("name: j\n"
                           "command: [w]\n"
                           "concurency: 4\n"
                           "timeout: 10x\n"
                           "retry: {attempts: three}\n"
                           "partitions: {list: [a], range: {start: 1, end: 2}}\n"
                           "on_exit: {2: explode}\n");
    assert_string_equal(got,
                        "s.yaml:3:1: unknown key \"concurency\" (did you mean \"concurrency\"?)\n"
                        "s.yaml:4:10: timeout: \"10x\" is not a duration (examples: 30s, 10m, "
                        "1h30m)\n"
                        "s.yaml:5:19: retry.attempts: expected an integer, got \"three\"\n"
                        "s.yaml:6:1: partitions: give exactly one of list, range, dates, files\n"
                        "s.yaml:7:14: on_exit.2: expected retry, fail or halt, got \"explode\"\n");
    free(got);
}

static void test_canonical(void **state)
{
    (void)state;
    const char *a = "name: j\ndescription: one\ncommand: [\"./w.sh\", \"{date}\"]\n"
                    "partitions: {dates: {from: 2026-11-01, to: 2026-11-30}}\n"
                    "concurrency: 4\nretry: {attempts: 3}\non_exit: {75: retry, 2: fail}\n"
                    "env: {B: b, A: a}\n";
    struct ns_spec s;
    struct ns_diags d = {0};
    assert_int_equal(spec_load_buffer("s.yaml", a, strlen(a), &s, &d), 0);
    char *c1 = spec_canonical(&s);
    assert_string_equal(c1, "name: \"j\"\n"
                            "command: [\"./w.sh\", \"{date}\"]\n"
                            "shell: false\n"
                            "workdir: null\n"
                            "partitions.dates: from=2026-11-01 to=2026-11-30 step=1d "
                            "format=%Y-%m-%d\n"
                            "concurrency: 4\n"
                            "timeout: none\n"
                            "retry: attempts=3 backoff=1000ms max_backoff=300000ms factor=2 "
                            "jitter=0.1\n"
                            "on_exit: 2=fail 75=retry\n"
                            "stop_grace: 10000ms\n"
                            "env.A: \"a\"\n"
                            "env.B: \"b\"\n"
                            "log_limit: 1048576\n"
                            "halt_when: failed_partitions=none error_records=none\n"
                            "sla: max_duration=none deadline=none\n"
                            "hooks.timeout: 30000ms\n"
                            "durability: normal\n"
                            "on_restore: resume\n");
    spec_release(&s);
    /* The description does not count; concurrency does. */
    const char *b = "name: j\ndescription: two\ncommand: [\"./w.sh\", \"{date}\"]\n"
                    "partitions: {dates: {from: 2026-11-01, to: 2026-11-30}}\n"
                    "concurrency: 4\nretry: {attempts: 3}\non_exit: {2: fail, 75: retry}\n"
                    "env: {A: a, B: b}\n";
    assert_int_equal(spec_load_buffer("s.yaml", b, strlen(b), &s, &d), 0);
    char *c2 = spec_canonical(&s);
    assert_string_equal(c1, c2);
    spec_release(&s);
    free(c2);
    free(c1);
    diags_release(&d);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(spec_exit_action_name(NS_EXIT_HALT), "halt");
    assert_string_equal(spec_hook_name(NS_HOOK_SLA_RISK), "on_sla_risk");
}

static void test_executor_slurm(void **state)
{
    (void)state;
    const char *yaml = MIN_SPEC "executor: slurm\n"
                                "slurm: {partition: debug, account: a1, qos: low, time: 90s,\n"
                                "        mem: 4G, cpus_per_task: 2, spool: sp,\n"
                                "        extra_args: [--nice=5]}\n";
    struct ns_spec s;
    struct ns_diags d = {0};
    assert_int_equal(spec_load_buffer("/x/s.yaml", yaml, strlen(yaml), &s, &d), 0);
    assert_string_equal(s.executor, "slurm");
    assert_string_equal(s.slurm.partition, "debug");
    assert_string_equal(s.slurm.account, "a1");
    assert_string_equal(s.slurm.qos, "low");
    assert_int_equal(s.slurm.time_ms, 90000);
    assert_string_equal(s.slurm.mem, "4G");
    assert_int_equal(s.slurm.cpus_per_task, 2);
    assert_string_equal(s.slurm.spool, "/x/sp"); /* relative to the spec */
    assert_int_equal(s.slurm.extra_args.len, 1);
    assert_string_equal(s.slurm.extra_args.items[0].text, "--nice=5");
    char *canon = spec_canonical(&s);
    assert_non_null(strstr(canon, "executor: slurm\n"));
    assert_null(strstr(canon, "slurm: ")); /* the backend writes its own settings */
    free(canon);
    /* ... the same bytes as before the move, so no run's spec hash changed. */
    canon = executor_canonical(&ns_exec_slurm, &s);
    assert_non_null(strstr(canon, "executor: slurm\nslurm: partition=\"debug\" account=\"a1\" "
                                  "qos=\"low\" mem=\"4G\" spool=\"/x/sp\" time=90000ms "
                                  "cpus_per_task=2 extra_args=[\"--nice=5\"]\n"));
    free(canon);
    spec_release(&s);
    diags_release(&d);

    assert_int_equal(spec_load_buffer("s.yaml", MIN_SPEC, strlen(MIN_SPEC), &s, &d), 0);
    assert_string_equal(s.executor, "local");
    canon = spec_canonical(&s);
    assert_null(strstr(canon, "executor")); /* old specs keep their hash */
    free(canon);
    spec_release(&s);

    expect_diags(MIN_SPEC "executor: k8s\nslurm: {mem: 4X, cpus_per_task: 0, queue: a}\n",
                 "s.yaml:4:11: executor: expected local or slurm, got \"k8s\"\n"
                 "s.yaml:5:14: slurm.mem: \"4X\" is not a Slurm memory size (examples: 500M, "
                 "4G)\n"
                 "s.yaml:5:33: slurm.cpus_per_task: must be from 1 to 4096, got 0\n"
                 "s.yaml:5:36: slurm: unknown key \"queue\"\n");
}

/* pools: and uses: (issue 19): values, and every pool used declared. */
static void test_pools(void **state)
{
    (void)state;
    const char *yaml = MIN_SPEC "pools:\n  wh: {slots: 4}\n  api: {slots: 8, rate: 60/min}\n"
                                "  gpu: 2\nuses: {wh: 1, gpu: 2}\n";
    struct ns_spec spec;
    struct ns_diags d = {0};
    assert_int_equal(spec_load_buffer("s.yaml", yaml, strlen(yaml), &spec, &d), 0);
    assert_int_equal(spec.pools_len, 3);
    assert_string_equal(spec.pools[1].name, "api");
    assert_int_equal(spec.pools[1].slots, 8);
    assert_int_equal(spec.pools[1].rate_n, 60);
    assert_true(spec.pools[1].rate_per_s == 60);
    assert_int_equal(spec.pools[2].slots, 2);
    assert_int_equal(spec.uses_len, 2);
    assert_string_equal(spec.uses[1].pool, "gpu");
    assert_int_equal(spec.uses[1].weight, 2);
    char *canon = spec_canonical(&spec);
    assert_non_null(strstr(canon, "pools.wh: slots=4\npools.api: slots=8 rate=60/min\n"
                                  "pools.gpu: slots=2\nuses.wh: 1\nuses.gpu: 2\n"));
    free(canon);
    spec_release(&spec);
    diags_release(&d);
    expect_diags(MIN_SPEC "pools: {wh: {slots: 2}}\nuses: {wh: 1, whx: 1}\n",
                 "s.yaml:5:15: uses.whx: pool \"whx\" is not declared; declare it with its size: "
                 "pools: {whx: {slots: N}}\n");
    expect_diags(MIN_SPEC "pools: {wh: {slots: 2}}\nuses: {wh: 3}\n",
                 "s.yaml:5:8: uses.wh: each attempt would hold 3 slots of a pool of 2: none could "
                 "ever start\n");
    expect_diags(MIN_SPEC "pools: {wh: {slots: 0}}\n",
                 "s.yaml:4:21: pools.wh.slots: must be from 1 to 100000, got 0\n");
    expect_diags(MIN_SPEC "pools: {wh: {slots: 2, rate: fast}}\n",
                 "s.yaml:4:30: pools.wh.rate: expected a start rate like 10/s, 60/min or 500/h, "
                 "got \"fast\"\n");
    expect_diags(MIN_SPEC "pools: {\"w h\": 1}\n",
                 "s.yaml:4:9: pools: \"w h\" is not a pool name (letters, digits, \".\", \"_\" "
                 "and \"-\", 1 to 64)\n");
    /* A spec without pools keeps the canonical text (and hash) it had. */
    const char *plain = MIN_SPEC;
    assert_int_equal(spec_load_buffer("s.yaml", plain, strlen(plain), &spec, &d), 0);
    canon = spec_canonical(&spec);
    assert_null(strstr(canon, "pools"));
    assert_null(strstr(canon, "uses"));
    free(canon);
    spec_release(&spec);
    diags_release(&d);
}

/* window: (issue 19): its keys, the three on_close words, and its checks. */
static void test_window(void **state)
{
    (void)state;
    const char *yaml = MIN_SPEC "window: {start: \"22:00\", end: \"06:00\", on_close: pause, tz: "
                                "Europe/Paris}\n";
    struct ns_spec spec;
    struct ns_diags d = {0};
    assert_int_equal(spec_load_buffer("s.yaml", yaml, strlen(yaml), &spec, &d), 0);
    assert_string_equal(spec.window.start, "22:00");
    assert_string_equal(spec.window.end, "06:00");
    assert_string_equal(spec.window.on_close, "pause");
    assert_string_equal(spec.window.tz, "Europe/Paris");
    char *canon = spec_canonical(&spec);
    assert_non_null(
        strstr(canon, "window: start=22:00 end=06:00 on_close=pause tz=Europe/Paris\n"));
    free(canon);
    spec_release(&spec);
    diags_release(&d);
    expect_diags(MIN_SPEC "window: {start: \"22:00\", end: \"06:00\", on_close: wait}\n",
                 "s.yaml:4:50: window.on_close: expected drain, pause or stop, got \"wait\"\n");
    expect_diags(MIN_SPEC "window: {start: \"22:00\"}\n", "s.yaml:4:9: window.end: required\n");
    expect_diags(MIN_SPEC "window: {start: \"22:00\", end: \"22:00\"}\n",
                 "s.yaml:1:1: window: start and end are both 22:00: leave window out for a run "
                 "that may always start\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_spec),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_partitioners),
        cmocka_unit_test(test_unknown_key_suggestion),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_bad_duration),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_alias_rejected),
        cmocka_unit_test(test_depth_bomb),
        cmocka_unit_test(test_oversized),
        cmocka_unit_test(test_too_many_events),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_shell_placeholder),
        cmocka_unit_test(test_partitioner_choice),
        cmocka_unit_test(test_on_exit),
        cmocka_unit_test(test_templates_checked),
        cmocka_unit_test(test_params_and_env),
        cmocka_unit_test(test_many_problems_at_once),
        cmocka_unit_test(test_canonical),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_executor_slurm),
        cmocka_unit_test(test_pools),
        cmocka_unit_test(test_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
