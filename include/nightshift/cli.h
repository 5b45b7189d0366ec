/*
 * cli.h - the subcommand table and what command files share.
 *
 * Each runtime/cmd-*.c (and tui/cmd-console.c) exports one const
 * struct ns_command; NS_COMMANDS lists them once so main's table and the
 * usage text can never drift. Only command files and main print or exit.
 */
#ifndef NIGHTSHIFT_CLI_H
#define NIGHTSHIFT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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
    X(NS_EXIT_STOPPED, 4, "the run was stopped or halted before it finished")

#define NS_EXIT_ENUM(name, code, text) name = code,
enum ns_exit { NS_EXITS(NS_EXIT_ENUM) };
#undef NS_EXIT_ENUM

/* One option of a command, in its descriptor's table: parsing (cli_parse)
 * and the help's option lines (cli_help) both come from it. --help and
 * --version are every command's; --db is added where the descriptor says. */
struct cli_option {
    const char *name; /* long name, without "--" */
    char short_name;  /* 0: none */
    const char *arg;  /* the value's name ("PATH"), NULL for a flag */
    const char *help; /* one line */
    bool repeat;      /* may be given several times (-p) */
};

#define CLI_MAX_OPTIONS 16

struct ns_command {
    const char *name;
    const char *args;                   /* one-line synopsis after the name */
    const char *summary;                /* what it does, one line */
    int (*main)(int argc, char **argv); /* argv[0] is the subcommand name */
    const char *help;                   /* the --help text: usage, options */
    const char *exits;                  /* the exit codes it can return, e.g. "023" */
    const struct cli_option *options;   /* NULL: the command parses its own */
    size_t noptions;
    bool db;                            /* takes --db PATH (added to options) */
};

/* What cli_parse found: per option (same index as the table) its last
 * value ("" for a flag given), or NULL; repeated options keep every value. */
struct cli_args {
    const char *value[CLI_MAX_OPTIONS];
    const char **values[CLI_MAX_OPTIONS]; /* repeat options: n_values[i] of them */
    size_t n_values[CLI_MAX_OPTIONS];
    const char *db;   /* --db, or NULL */
    char **rest;      /* the positional arguments */
    int nrest;
};

/* Parses argv (argv[0] the subcommand) by cmd's option table. Returns 0, 1
 * when --help was printed (exit 0), -1 after printing a usage error (exit
 * 2). Release with cli_args_release. */
int cli_parse(const struct ns_command *cmd, int argc, char **argv, struct cli_args *a);
void cli_args_release(struct cli_args *a);
/* value (of option --opt of command cmd) as a whole number in [min, max]
 * into *out; NULL leaves *out as it is. Returns 0, or -1 after printing
 * "nightshift: CMD: --OPT wants a whole number from MIN to MAX". */
int cli_number(const char *cmd, const char *opt, const char *value, int64_t min, int64_t max,
               int64_t *out);


/* X-macro: every subcommand, in the order `nightshift --help` lists them. */
#define NS_COMMANDS(X)                                                                             \
    X(run)                                                                                         \
    X(validate)                                                                                    \
    X(plan)                                                                                        \
    X(status)                                                                                      \
    X(errors)                                                                                      \
    X(pause)                                                                                       \
    X(resume)                                                                                      \
    X(stop)                                                                                        \
    X(retry)                                                                                       \
    X(skip)                                                                                        \
    X(kill)                                                                                        \
    X(set)                                                                                         \
    X(audit)                                                                                       \
    X(summary)                                                                                     \
    X(metrics)                                                                                     \
    X(events)                                                                                      \
    X(schedule)                                                                                    \
    X(gc)                                                                                          \
    X(logs)                                                                                        \
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
/* `_complete runs` prints run names for the bash completion. */
extern const struct ns_command cmd_complete;

struct ns_store;

/* Opens the database named by --db (db_opt, may be NULL) or the default one
 * for a command; prints "nightshift: NAME: ..." and returns -1 on failure. */
int cli_open_store(const char *name, const char *db_opt, int mode, struct ns_store *st);

/* Resolves a RUN argument (id or job name) to a run id; prints the error and
 * returns 0 if there is no such run. arg NULL means the newest run. */
long long cli_find_run(const char *name, struct ns_store *st, const char *arg);

/* The arguments of validate and plan: SPEC [-p NAME=VALUE | -pNAME=VALUE |
 * --param NAME=VALUE]... [--json]. given points into argv, except values
 * that were relative dates (cli_resolve_date); release with
 * cli_spec_args_release. */
struct cli_spec_args {
    const char *file;
    char **given;
    size_t ngiven;
    bool json;
    char **owned; /* the resolved NAME=DATE strings */
    size_t nowned;
};
void cli_spec_args_release(struct cli_spec_args *a);

/* If the value of "NAME=VALUE" is a relative date (today, yesterday,
 * today-7d: ns_resolve_relative_date), returns a fresh "NAME=YYYY-MM-DD"
 * (the caller frees); else NULL. Resolved once, when the run is created, so
 * the run's identity and stored parameters hold the date itself. */
char *cli_resolve_date(const char *name_value);

/* Parses them for cmd (json: whether --json is accepted). Returns 0, 1 when
 * --help was printed (exit 0), -1 after printing a usage error (exit 2). */
int cli_parse_spec_args(const struct ns_command *cmd, const char *help, bool json, int argc,
                        char **argv, struct cli_spec_args *out);

struct ns_diags;
/* Prints every spec problem as FILE:LINE:COL: message on stderr, escaped
 * (escape.h; line breaks kept): values from the spec are shown, never sent. */
void cli_print_diags(const struct ns_diags *d, const char *file);

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
/* Prints "usage: nightshift NAME ARGS" for cmd to f. */
void cli_usage(const struct ns_command *cmd, FILE *f);
/* True if argv[i] is -h or --help. */
int cli_is_help(const char *arg);

#endif
