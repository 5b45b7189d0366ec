/*
 * cmd-spec-man.c - `nightshift _spec-man`: writes nightshift-spec(5), the
 * job spec's manual page, from the spec's key table (spec_describe_keys), so
 * the page lists every key with its type and default and cannot drift from
 * what the loader accepts. The Makefile builds it; make install installs it.
 */
#include <stdio.h>
#include <string.h>

#include "nightshift/cli.h"
#include "nightshift/spec.h"
#include "nightshift/util.h"

static void roff(struct ns_buf *b, const char *s)
{
    cli_roff(b, s);
}

static void key_row(void *ctx, const struct ns_spec_key *k)
{
    struct ns_buf *b = ctx;
    buf_adds(b, ".TP\n.B ");
    roff(b, k->path);
    buf_adds(b, "\n");
    roff(b, k->type);
    if (k->choices) {
        buf_adds(b, ": ");
        roff(b, k->choices);
    }
    if (k->bounds) {
        buf_adds(b, ", ");
        roff(b, k->bounds);
    }
    buf_adds(b, "; ");
    if (k->required)
        buf_adds(b, "required");
    else if (k->def) {
        buf_adds(b, "default \\fB");
        roff(b, k->def);
        buf_adds(b, "\\fR");
    } else {
        buf_adds(b, "no default");
    }
    buf_adds(b, ".\n");
    /* man(7) source lines stay under 80 bytes: fold the help at spaces. */
    struct ns_buf h = NS_BUF_INIT;
    roff(&h, k->help);
    buf_addc(&h, '.');
    cli_fold_lines(b, h.data);
    buf_release(&h);
}

static const char head[] =
    ".TH NIGHTSHIFT-SPEC 5 \"2026-12-01\" \"nightshift " NS_VERSION "\" \"File Formats\"\n"
    ".SH NAME\n"
    "nightshift-spec \\- the YAML job spec of nightshift\n"
    ".SH SYNOPSIS\n"
    ".B nightshift run\n"
    ".I SPEC.yaml\n"
    ".RB [ \\-p\n"
    ".IR NAME = VALUE ]...\n"
    ".SH DESCRIPTION\n"
    "A job spec says what to run and how its work splits into partitions. It is\n"
    "one YAML mapping (at most 1 MiB, nesting depth 64; anchors, aliases and\n"
    "duplicate keys are refused). Unknown keys are errors. A key present with no\n"
    "value is the same as a key left out.\n"
    ".PP\n"
    "Durations are written 500ms, 30s, 10m, 3h, 2d, 1w or combined (1h30m); a bare\n"
    "number is seconds; at most three decimals (1.5s). Sizes are bytes or with a\n"
    "unit: kB, KiB, MB, MiB, GB, GiB. Templates may hold {param} placeholders: the\n"
    "run parameters, and in the worker's command, environment and directory the\n"
    "partition's own (index, key, start, end, date, file); {{ is a brace.\n"
    "Relative dates given with \\-p (today, yesterday, today\\-7d) are resolved\n"
    "once, when the run is created.\n"
    ".SH KEYS\n"
    "Every key, from the loader's own table:\n";

static const char tail[] =
    ".SH EXAMPLE\n"
    ".EX\n"
    "name: backfill\n"
    "params:\n"
    "  from: \"2026\\-11\\-01\"\n"
    "  to: \"2026\\-11\\-14\"\n"
    "command: [sh, workers/backfill.sh, \\-\\-date, \"{date}\"]\n"
    "partitions:\n"
    "  dates: {from: \"{from}\", to: \"{to}\", step: 1d}\n"
    "concurrency: 4\n"
    "timeout: 5m\n"
    "retry: {attempts: 3, backoff: 2s, max_backoff: 1m}\n"
    "on_exit: {75: retry, 2: fail}\n"
    "halt_when: {failed_partitions: 50%}\n"
    "sla: {max_duration: 15m, deadline: \"06:30\"}\n"
    "metrics: {textfile: /var/lib/node_exporter/backfill.prom}\n"
    "hooks:\n"
    "  on_failure: [sh, \\-c, 'mail \\-s failed ops < \"$NIGHTSHIFT_SUMMARY\"']\n"
    ".EE\n"
    ".PP\n"
    "More examples are installed under\n"
    ".IR share/nightshift/examples .\n"
    ".SH SEE ALSO\n"
    ".BR nightshift (1)\n";

static int spec_man_main(struct cli *c)
{
    (void)c;
    struct ns_buf b = NS_BUF_INIT;
    buf_adds(&b, head);
    spec_describe_keys(key_row, &b);
    buf_adds(&b, tail);
    fwrite(b.data, 1, b.len, stdout);
    buf_release(&b);
    return ferror(stdout) ? NS_EXIT_ERROR : NS_EXIT_OK;
}

const struct ns_command cmd_spec_man = {
    .name = "_spec-man",
    .args = "",
    .summary = "(internal) write the nightshift-spec(5) manual page",
    .run = spec_man_main,
};
