/*
 * control-cli.h - what the operator command files (cmd-pause.c, cmd-retry.c,
 * ...) share: one option parser, partition resolution, and one "resolve the
 * run, check its runtime, submit, wait, print the verdict" path.
 *
 * The command files stay thin: parse, build the JSON args, ctl_issue(). Only
 * this module and the command files print; control.c (the library side the
 * console also uses) never does.
 */
#ifndef NIGHTSHIFT_CONTROL_CLI_H
#define NIGHTSHIFT_CONTROL_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "nightshift/store.h"
#include "nightshift/util.h"

/* Options a control command may accept beyond the common ones (--db,
 * --timeout, --no-wait, --help); a command names its set in ctl.allowed. */
enum ctl_opt {
    CTL_NOW = 1 << 0,          /* stop --now */
    CTL_FAILED = 1 << 1,       /* retry --failed */
    CTL_SIGNATURE = 1 << 2,    /* retry|skip --signature TEXT */
    CTL_FROM_SCRATCH = 1 << 3, /* retry --from-scratch */
    CTL_START = 1 << 4,        /* retry --start */
    CTL_REASON = 1 << 5,       /* skip --reason TEXT */
    CTL_ARGS = 1 << 6,         /* positional arguments after RUN (PART..., name=value) */
};

/* The options every control command takes, for the end of its --help. */
#define CTL_COMMON_HELP                                                                            \
    "  --db PATH        the database (default $NIGHTSHIFT_DB, else\n"                              \
    "                   $XDG_STATE_HOME/nightshift/nightshift.db)\n"                               \
    "  --timeout S      wait up to S seconds for the runtime's verdict (default 5)\n"              \
    "  --no-wait        return once the command is recorded\n"                                     \
    "\n"                                                                                           \
    "RUN is a run id or a job name (its newest run).\n"

struct ctl {
    /* Set by the command file before ctl_parse. */
    const char *name; /* subcommand, for messages */
    const char *help; /* full --help text */
    unsigned allowed; /* enum ctl_opt bits */
    int min_rest;     /* positional arguments required after RUN */
    /* Filled by ctl_parse. */
    const char *db_opt;
    double timeout_s; /* default 5 */
    bool no_wait;
    bool now, failed, from_scratch, start;
    const char *signature, *reason;
    const char *run_arg;
    char **rest; /* positional arguments after RUN */
    int nrest;
    /* Filled by ctl_open. */
    struct ns_store st;
    bool open;
    int64_t run_id;
    char *run_state;
};

/* Parses argv (argv[0] is the subcommand). Returns -1 to go on, or an exit
 * status to return at once (--help: 0, a usage error: 2, message printed). */
int ctl_parse(struct ctl *c, int argc, char **argv);

/* Opens the store as a client and resolves RUN (id or job name). Returns 0,
 * or an exit status with the message printed. */
int ctl_open(struct ctl *c);

/* Appends "[i,...]" for the PART arguments in c->rest: digits name an index,
 * anything else a partition key ("key:TEXT" forces a key that looks like a
 * number). Returns 0, or an exit status with the message printed. */
int ctl_partitions_json(struct ctl *c, struct ns_buf *out);

/* Submits verb with args_json for c->run_id and reports: waits for the
 * verdict (unless --no-wait), refuses live-only verbs at once when no
 * runtime drives the run (recorded as refused), queues retry/skip for the
 * next `nightshift run` (and starts it with --start). Returns the exit
 * status: 0 applied or queued, 1 refused, 3 database error or no verdict
 * before the timeout. */
int ctl_issue(struct ctl *c, const char *verb, const char *args_json);

/* Closes what ctl_open opened. */
void ctl_close(struct ctl *c);

#endif
