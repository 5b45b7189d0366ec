/*
 * cli.h - the subcommand table and what command files share.
 *
 * Each runtime/cli/cmd-*.c (and tui/cmd-console.c) exports one const
 * struct ns_command, as tmux's cmd_entry: its options (name, value, bounds,
 * help) and its target (none, RUN or SPEC). One parser (cli_dispatch)
 * serves them all; help, usage, nightshift(1) and the bash completion are
 * made from the same table. NS_COMMANDS lists the commands once so main's
 * table and the usage text can never drift. Only command files and main
 * print or exit.
 */
#ifndef NIGHTSHIFT_CLI_H
#define NIGHTSHIFT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct ns_store;

/* Exit statuses of the nightshift binary, with what each means - the one
 * table behind every command's --help and docs/cli.md's list. */
#define NS_EXITS(X)                                                                                \
    X(NS_EXIT_OK, 0, "success: the run succeeded, or the command did what was asked")              \
    X(NS_EXIT_FAILED, 1,                                                                           \
      "the run finished with failed partitions; an operator command was refused")                  \
    X(NS_EXIT_USAGE, 2, "bad arguments or an invalid spec (nothing was run or recorded)")          \
    X(NS_EXIT_ERROR, 3,                                                                            \
      "could not do it: no such run, partition or attempt; a database or I/O error; another "      \
      "runtime drives the run; the spec changed; no verdict in time")                              \
    X(NS_EXIT_STOPPED, 4, "the run was stopped or halted before it finished")                     \
    X(NS_EXIT_TIMEOUT, 5, "wait: the run had not ended when --timeout passed")

#define NS_EXIT_ENUM(name, code, text) name = code,
enum ns_exit { NS_EXITS(NS_EXIT_ENUM) };
#undef NS_EXIT_ENUM

/* One option of a command, in its descriptor's table: the one parser
 * (cli_dispatch), the help's option lines, the man page and the shell
 * completion all come from it. --help and --version are every command's;
 * --db is added where the descriptor says (declared once, in cli.c). */
enum cli_option_flags {
    CLI_REPEAT = 1 << 0,  /* may be given several times (-p): every value kept */
    CLI_NUMBER = 1 << 1,  /* a whole number in [min, max] */
    CLI_SECONDS = 1 << 2, /* seconds, a decimal number in [min, max] */
    CLI_DATES = 1 << 3,   /* NAME=VALUE whose relative date is resolved now (cli_resolve_date) */
};

struct cli_option {
    const char *name;     /* long name, without "--" */
    char short_name;      /* 0: none */
    const char *arg;      /* the value's name ("PATH"), NULL for a flag */
    const char *help;     /* one line (folded when printed) */
    unsigned flags;       /* enum cli_option_flags */
    int64_t min, max;     /* bounds of a CLI_NUMBER or CLI_SECONDS value */
    const char *complete; /* completion of the value: "@file", or words "a b c"; NULL: none */
};

#define CLI_MAX_OPTIONS 16

/* -p NAME=VALUE of the commands that take a SPEC and make its plan (run,
 * validate, plan): relative dates resolved once, now. */
#define CLI_PARAM_OPTION                                                                           \
    {                                                                                              \
        .name = "param", .short_name = 'p', .arg = "NAME=VALUE",                                   \
        .help = "a run parameter, usable as {NAME} in the spec (repeatable)",                      \
        .flags = CLI_REPEAT | CLI_DATES                                                            \
    }

/* What a command's first operand is; the parser resolves it once. */
enum cli_target {
    CLI_TARGET_NONE,         /* operands are the command's own (cli.rest) */
    CLI_TARGET_RUN,          /* RUN: run:N, job:NAME, or a bare id or job name */
    CLI_TARGET_RUN_OPTIONAL, /* [RUN]: run_id 0 when it is left out */
    CLI_TARGET_SPEC,         /* SPEC, a job spec file (with -p parameters) */
};

/* What a RUN command opens the database as (store.h's modes). */
enum cli_store {
    CLI_STORE_NONE,   /* the command opens no database (or opens it itself: gc) */
    CLI_STORE_READ,   /* status, errors, ...: reads only */
    CLI_STORE_CLIENT, /* the operator verbs: insert commands */
};

/* What kind of word the operands after the target are (for completion). */
enum cli_operand {
    CLI_OPERAND_NONE,
    CLI_OPERAND_PARTS, /* partition indexes or keys (key:TEXT) */
    CLI_OPERAND_WORDS, /* the command's own words */
};

struct cli;
struct ns_buf;

struct ns_command {
    const char *name;
    /* Optional: more man(7) text for the command's entry in nightshift(1)
     * (the console's keys, from its key table). */
    void (*man_more)(struct ns_buf *b);
    const char *args;    /* synopsis after the name; "\n" separates further forms */
    const char *summary; /* what it does, one line */
    /* A command whose arguments are data (emit: a worker's words) or that is
     * internal (_launch) parses its own argv (argv[0] is the subcommand);
     * every other one is called by cli_dispatch with what it parsed. */
    int (*main)(int argc, char **argv);
    int (*run)(struct cli *c);
    /* Optional: checks the operands and option values before the database
     * is opened; returns 0, or an exit status with the message printed. */
    int (*check)(struct cli *c);
    const char *help;  /* prose after the usage: what it does */
    const char *exits; /* the exit codes it can return, e.g. "023" */
    const struct cli_option *options;
    size_t noptions;
    bool db; /* takes --db PATH */
    enum cli_target target;
    enum cli_store store;   /* for a RUN or [RUN] target */
    int min_rest, max_rest; /* operands after the target (max -1: any number) */
    enum cli_operand operand;
};

/* One invocation, as cli_dispatch parsed it. Lives for the command's run. */
struct cli {
    const struct ns_command *cmd;
    const char *value[CLI_MAX_OPTIONS];   /* per option: its last value, "" for a flag, or NULL */
    const char **values[CLI_MAX_OPTIONS]; /* CLI_REPEAT options: n_values[i] of them */
    size_t n_values[CLI_MAX_OPTIONS];
    int64_t number[CLI_MAX_OPTIONS]; /* CLI_NUMBER values */
    double seconds[CLI_MAX_OPTIONS]; /* CLI_SECONDS values */
    const char *db;                  /* --db, or NULL */
    const char *target;              /* the RUN or SPEC operand, or NULL */
    char **rest;                     /* the operands after the target */
    int nrest;
    /* CLI_TARGET_SPEC: the -p values, relative dates resolved (CLI_DATES). */
    char **params;
    size_t nparams;
    /* A RUN or [RUN] target with a store: the open database and the run. */
    struct ns_store *st;
    int64_t run_id; /* 0: [RUN] left out */
};

/* Parses argv (argv[0] the subcommand) by cmd's table, checks it, opens the
 * database and resolves RUN as the descriptor says, and calls cmd->run (or
 * cmd->main for a command that parses its own). Returns the exit status;
 * every message is printed. */
int cli_dispatch(const struct ns_command *cmd, int argc, char **argv);

/* The value of option name of c's command: NULL when it was not given, ""
 * for a flag given. name must be in the command's table. */
const char *cli_opt(const struct cli *c, const char *name);
/* True if flag name was given. */
bool cli_flag(const struct cli *c, const char *name);
/* A CLI_NUMBER option's value, or def when it was not given. */
int64_t cli_number_opt(const struct cli *c, const char *name, int64_t def);
/* A CLI_SECONDS option's value, or def when it was not given. */
double cli_seconds_opt(const struct cli *c, const char *name, double def);
/* Every value of a CLI_REPEAT option; *n gets the count. */
const char *const *cli_opt_values(const struct cli *c, const char *name, size_t *n);

/* The partition index that arg names in c's run: digits are an index,
 * key:TEXT (or any other word) a key. Returns it, or -1 after printing why
 * ("run N has no partition ..."). */
int64_t cli_find_partition(const struct cli *c, const char *arg);

/* True when argv (after the subcommand) asks for the version: a --version
 * before any "--", not the value of the option before it. */
bool cli_wants_version(const struct ns_command *cmd, int argc, char **argv);

/* X-macro: every subcommand, in the order `nightshift --help` lists them. */
#define NS_COMMANDS(X)                                                                             \
    X(run)                                                                                         \
    X(validate)                                                                                    \
    X(plan)                                                                                        \
    X(status)                                                                                      \
    X(errors)                                                                                      \
    X(attempts)                                                                                    \
    X(pause)                                                                                       \
    X(resume)                                                                                      \
    X(stop)                                                                                        \
    X(retry)                                                                                       \
    X(skip)                                                                                        \
    X(kill)                                                                                        \
    X(set)                                                                                         \
    X(pool)                                                                                        \
    X(audit)                                                                                       \
    X(summary)                                                                                     \
    X(compare)                                                                                     \
    X(metrics)                                                                                     \
    X(events)                                                                                      \
    X(wait)                                                                                        \
    X(schedule)                                                                                    \
    X(gc)                                                                                          \
    X(logs)                                                                                        \
    X(grep)                                                                                        \
    X(emit)                                                                                        \
    X(console)

#define NS_DECLARE_COMMAND(n) extern const struct ns_command cmd_##n;
NS_COMMANDS(NS_DECLARE_COMMAND)
#undef NS_DECLARE_COMMAND

/* Hidden commands: run by nightshift itself, not listed by --help.
 * `_launch` starts a worker on a Slurm node (cmd-launch.c). */
extern const struct ns_command cmd_launch;
/* `_spec-man` writes nightshift-spec(5) from the spec's key table (make). */
extern const struct ns_command cmd_spec_man;
/* `_complete` prints the words the bash completion offers. */
extern const struct ns_command cmd_complete;
/* `_man` writes nightshift(1) from this table (docs/nightshift.1). */
extern const struct ns_command cmd_man;

/* Opens the database named by --db (db_opt, may be NULL) or the default one
 * for a command; prints "nightshift: NAME: ..." and returns -1 on failure. */
int cli_open_store(const char *name, const char *db_opt, int mode, struct ns_store *st);

/* Resolves a RUN argument to a run id: "run:N" is run N, "job:NAME" the
 * newest run of job NAME, a bare word either - refused when it names both a
 * run and a job whose newest run is another one. arg NULL means the newest
 * run. Prints the error and returns 0 (no such run), -2 (ambiguous: a usage
 * error) or -1 (database error). */
int64_t cli_find_run(const char *name, struct ns_store *st, const char *arg);

/* cli_find_run's reading of a RUN word, printing nothing (the completion's):
 * the run id, 0 if none, CLI_RUN_MALFORMED (run:X, X not a number),
 * CLI_RUN_AMBIGUOUS (*by_id and *by_job then name the two runs), or -1 on a
 * database error (err filled). */
#define CLI_RUN_MALFORMED (-2)
#define CLI_RUN_AMBIGUOUS (-3)
int64_t cli_lookup_run(struct ns_store *st, const char *arg, int64_t *by_id, int64_t *by_job,
                       char *err, size_t errlen);

/* If the value of "NAME=VALUE" is a relative date (today, yesterday,
 * today-7d, today+1w: ns_resolve_relative_date), sets *out to a fresh
 * "NAME=YYYY-MM-DD" (the caller frees) and returns 1; else *out is NULL and
 * it returns 0, or -1 for a value that looks like a relative date but is
 * not one ("today+1y"; said on stderr for command name). Resolved once, when the run is created, so the
 * run's identity and stored parameters hold the date itself. */
int cli_resolve_date(const char *name, const char *name_value, char **out);

struct ns_spec;
/* The spec's params: defaults that are relative dates (from: today-7d),
 * resolved now as -p values are, and added to c->params unless -p gave
 * that parameter: so a default resolves once, at the start, like the
 * command line. Returns 0, or NS_EXIT_USAGE after printing why (a default
 * that looks like a relative date and is not one). */
int cli_resolve_default_dates(struct cli *c, const struct ns_spec *spec);

/* The exit status that tells how a run ended, as `run` and `events
 * --follow` return it: 0 succeeded, 1 failed, 4 stopped or halted; 3 for a
 * run that has not ended (a state that is not final). run_state is an enum
 * ns_run_state (query.h) or -1. */
int cli_exit_for_run_state(int run_state);

struct ns_diags;
/* Prints every spec problem as FILE:LINE:COL: message on stderr, escaped
 * (escape.h; line breaks kept): values from the spec are shown, never sent. */
void cli_print_diags(const struct ns_diags *d, const char *file);

struct ns_buf;
/* Appends s as man(7) text: backslashes and hyphens escaped, and a leading
 * dot or quote cannot start a request. */
void cli_roff(struct ns_buf *b, const char *s);
/* cli_roff, then a line break; folded at spaces so that no source line
 * passes 78 bytes (man(7) style). */
void cli_roff_lines(struct ns_buf *b, const char *s);
/* Appends text as unfilled man(7) lines (.nf ... .fi), each escaped as
 * cli_roff does: a help text or a table kept as it prints. */
void cli_roff_unfilled(struct ns_buf *b, const char *text);
/* Appends text (already roff) and a line break, folded at spaces so that no
 * man(7) source line is over 78 bytes. */
void cli_fold_lines(struct ns_buf *b, const char *text);

struct ns_json;
/* An operator command's who, when and what as JSON fields (audit --json,
 * pool audit --json): issued_at, user, uid, source, verb, args (a JSON
 * object's text). */
void cli_json_issued(struct ns_json *j, double issued_at, const char *user, int64_t uid,
                     const char *source, const char *verb, const char *args_json);

/* Worker or user text made safe for the terminal; the caller frees. */
char *cli_escape(const char *s);
/* Local "YYYY-MM-DD HH:MM:SS", or "-" when t <= 0. */
void cli_format_time(double t, char *out, size_t len);

/* One line on stdout, escaped as cli_error: for messages that echo values
 * (paths, keys, a runtime's verdict). */
void cli_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "nightshift: <subject>: <message>" on stderr, escaped as cli_print_diags. */
void cli_error(const char *subject, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The command named name (hidden ones included), or NULL. */
const struct ns_command *cli_find_command(const char *name);
/* The commands `nightshift --help` lists, in order; *n gets the count. */
const struct ns_command *const *cli_commands(size_t *n);
/* Prints cmd's help - its text, then its exit codes from NS_EXITS - to f:
 * what `nightshift CMD --help` and `nightshift help CMD` both print. */
void cli_help(const struct ns_command *cmd, FILE *f);
/* Prints "usage: nightshift NAME ARGS" for cmd to f (a line per form). */
void cli_usage(const struct ns_command *cmd, FILE *f);
/* The options cmd takes, in help order: its table, then --db (if it takes
 * it), --help and --version. Returns their count (at most CLI_MAX_OPTIONS + 3). */
size_t cli_all_options(const struct ns_command *cmd, const struct cli_option **out);
/* True if argv[i] is -h or --help. */
int cli_is_help(const char *arg);

#endif
