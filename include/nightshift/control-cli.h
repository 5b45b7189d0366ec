/*
 * control-cli.h - what the operator command files (cmd-pause.c, cmd-retry.c,
 * ...) share: their common options, partition lists, and one "check the
 * run's runtime, submit, wait, print the verdict" path.
 *
 * The command files stay thin: their descriptor says the options and the
 * RUN target (cli_dispatch parses them and resolves the run), they fill
 * struct ns_control_args (control.h's one builder) and call ctl_issue().
 * Only this module and the command files print; control.c (the library
 * side the console also uses) never does.
 */
#ifndef NIGHTSHIFT_CONTROL_CLI_H
#define NIGHTSHIFT_CONTROL_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "nightshift/cli.h"
#include "nightshift/control.h"

/* The options every operator verb takes after its own, declared once. */
#define CTL_OPTIONS                                                                                \
    {.name = "timeout",                                                                            \
     .arg = "S",                                                                                   \
     .help = "wait up to S seconds for the verdict (default 5)",                                   \
     .flags = CLI_SECONDS,                                                                         \
     .min = 0,                                                                                     \
     .max = 86400},                                                                                \
    {                                                                                              \
        .name = "no-wait", .help = "return once the command is recorded"                           \
    }

/* What every operator verb's descriptor says: a RUN, a client handle. */
#define CTL_COMMAND .target = CLI_TARGET_RUN, .store = CLI_STORE_CLIENT, .db = true, .exits = "0123"

/* The last paragraph of every operator verb's help. */
#define CTL_RUN_HELP                                                                               \
    "\n"                                                                                           \
    "RUN is a run id or a job name (its newest run); run:N or job:NAME says\n"                     \
    "which when a job's name is a number.\n"

/* The partitions named by c's operands (c->rest: indexes, keys, key:TEXT)
 * into a->partitions, a fresh array the caller frees. Returns 0, or an
 * exit status with the message printed. */
int ctl_partitions(struct cli *c, struct ns_control_args *a);

/* Submits verb with a's JSON for c's run and reports: waits for the
 * verdict (unless --no-wait), refuses live-only verbs at once when no
 * runtime drives the run (recorded as refused), queues retry/skip for the
 * next `nightshift run` (and starts it with start: retry --start). Returns
 * the exit status: 0 applied or queued, 1 refused, 3 database error or no
 * verdict before the timeout. */
int ctl_issue(struct cli *c, const char *verb, const struct ns_control_args *a, bool start);

#endif
