/*
 * cmd-grep.c - `nightshift grep RUN PATTERN [--state S] [--attempt last|N]`:
 * the lines of a run's attempt logs and the error records that match an
 * extended regular expression, each with its partition, attempt and line
 * (or record id). The search is grep.h's; this file formats it. Matches
 * are always escaped (escape.h): worker bytes never reach a terminal raw,
 * and a match is one line in a pipe too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nightshift/cli.h"
#include "nightshift/escape.h"
#include "nightshift/grep.h"
#include "nightshift/query.h"
#include "nightshift/util.h"

static const struct cli_option grep_options[] = {
    {.name = "state",
     .arg = "STATE",
     .help = "only partitions in this state (pending running retry_wait paused succeeded failed "
             "skipped)",
     .complete = "pending running retry_wait paused succeeded failed skipped"},
    {.name = "attempt",
     .arg = "N|last",
     .help = "only each partition's latest attempt, or its attempt N (default: every attempt)",
     .complete = "last"},
    {.name = "ignore-case", .short_name = 'i', .help = "letters match either case"},
    {.name = "limit",
     .arg = "N",
     .help = "stop after N matches (default 0: no limit)",
     .flags = CLI_NUMBER,
     .min = 0,
     .max = INT64_MAX},
};

struct out {
    struct ns_buf line;
    int64_t limit, shown;
};

static bool print_match(void *ctx, const struct ns_grep_match *m)
{
    struct out *o = ctx;
    struct ns_buf *b = &o->line;
    buf_reset(b);
    buf_addf(b, "partition %lld (", (long long)m->idx);
    escape_for_terminal(m->key, strlen(m->key), 0, b);
    if (m->attempt > 0)
        buf_addf(b, ") attempt %lld, ", (long long)m->attempt);
    else
        buf_adds(b, "), ");
    buf_addf(b, "%s %lld: ", m->error_record ? "error record" : "log line", (long long)m->where);
    escape_for_terminal(m->text, m->len, 0, b);
    buf_addc(b, '\n');
    fwrite(b->data, 1, b->len, stdout);
    o->shown++;
    return o->limit == 0 || o->shown < o->limit;
}

/* --attempt: "last", or a number from 1. */
static int parse_attempt(const char *s, int64_t *out)
{
    *out = 0;
    if (!s)
        return 0;
    if (strcmp(s, "last") == 0) {
        *out = NS_GREP_LAST_ATTEMPT;
        return 0;
    }
    return ns_parse_int64(s, out) == 0 && *out >= 1 ? 0 : -1;
}

static int grep_check(struct cli *c)
{
    int64_t a;
    if (parse_attempt(cli_opt(c, "attempt"), &a) != 0) {
        cli_error("grep", "--attempt: \"%s\" is not last or a number from 1",
                  cli_opt(c, "attempt"));
        return NS_EXIT_USAGE;
    }
    const char *state = cli_opt(c, "state");
    if (state && query_part_state_of(state) < 0) {
        cli_error("grep", "--state: \"%s\" is not a partition state", state);
        return NS_EXIT_USAGE;
    }
    return 0;
}

static int grep(struct cli *c)
{
    struct ns_grep_opts o = {.run_id = c->run_id,
                             .pattern = c->rest[0],
                             .ignore_case = cli_flag(c, "ignore-case"),
                             .state = cli_opt(c, "state")};
    parse_attempt(cli_opt(c, "attempt"), &o.attempt); /* grep_check read it */
    struct out out = {NS_BUF_INIT, cli_number_opt(c, "limit", 0), 0};
    char err[512] = "";
    int64_t n = grep_run(c->st, &o, print_match, &out, err, sizeof err);
    buf_release(&out.line);
    if (n < 0) {
        cli_error("grep", "%s", err);
        return strstr(err, "not a regular expression") ? NS_EXIT_USAGE : NS_EXIT_ERROR;
    }
    if (fflush(stdout) != 0 || ferror(stdout))
        return NS_EXIT_ERROR;
    return n > 0 ? NS_EXIT_OK : NS_EXIT_FAILED;
}

const struct ns_command cmd_grep = {
    .name = "grep",
    .args = "RUN PATTERN [--state STATE] [--attempt last|N] [-i] [--limit N] [--db PATH]",
    .summary = "search a run's attempt logs and error records",
    .run = grep,
    .check = grep_check,
    .help = "\n"
            "Prints every line of RUN's attempt logs, and every error record (key or\n"
            "message), that matches PATTERN, a POSIX extended regular expression, as\n"
            "  partition 7 (2026-11-07) attempt 2, log line 15: connection reset\n"
            "  partition 7 (2026-11-07) attempt 2, error record 1234: row 17: bad date\n"
            "by partition, then attempt (oldest first), then line; a partition's error\n"
            "records after its logs. Matches are always escaped (control bytes, invalid\n"
            "UTF-8): worker bytes never reach the terminal raw. --state keeps the\n"
            "partitions in one state (--state failed: why did they fail?); --attempt\n"
            "last only each partition's latest attempt, --attempt N its attempt N.\n"
            "Exit status 0 when something matched, 1 when nothing did, 2 for a pattern\n"
            "that is no regular expression.\n",
    .exits = "0123",
    .options = grep_options,
    .noptions = NS_ARRAY_LEN(grep_options),
    .db = true,
    .target = CLI_TARGET_RUN,
    .store = CLI_STORE_READ,
    .min_rest = 1,
    .max_rest = 1,
    .operand = CLI_OPERAND_WORDS,
};
