/*
 * cli.c - helpers shared by the command files (cli.h).
 *
 * Kept out of main.c so that unit tests, which link every runtime object but
 * main.o, can link command files too.
 */
#include <assert.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "nightshift/cli.h"
#include "nightshift/escape.h"
#include "nightshift/spec.h"
#include "nightshift/store.h"
#include "nightshift/util.h"

/* Messages echo what users and workers wrote (spec values, keys, file
 * names, -p names, database paths): escaped wherever they go, a terminal or
 * a log that is later shown on one. Line breaks stay, and so do
 * backslashes: spec.c quotes values escaped already ("\x1b"). */
static void put_escaped(FILE *f, const char *text, size_t len)
{
    struct ns_buf b = NS_BUF_INIT;
    escape_for_terminal(text, len, NS_ESC_NEWLINES | NS_ESC_KEEP_BACKSLASH, &b);
    if (b.len)
        fwrite(b.data, 1, b.len, f);
    buf_release(&b);
}

void cli_say(const char *fmt, ...)
{
    struct ns_buf b = NS_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vaddf(&b, fmt, ap);
    va_end(ap);
    buf_addc(&b, '\n');
    put_escaped(stdout, b.data, b.len);
    buf_release(&b);
}

void cli_error(const char *subject, const char *fmt, ...)
{
    struct ns_buf b = NS_BUF_INIT;
    va_list ap;
    buf_addf(&b, "nightshift: %s: ", subject);
    va_start(ap, fmt);
    buf_vaddf(&b, fmt, ap);
    va_end(ap);
    buf_addc(&b, '\n');
    put_escaped(stderr, b.data, b.len);
    buf_release(&b);
}

#define NS_COMMAND_ENTRY(n) &cmd_##n,
static const struct ns_command *const commands[] = {NS_COMMANDS(NS_COMMAND_ENTRY)};
#undef NS_COMMAND_ENTRY
static const struct ns_command *const hidden[] = {&cmd_launch, &cmd_spec_man, &cmd_complete};

static const struct {
    int code;
    const char *text;
} exit_texts[] = {
#define NS_EXIT_TEXT(name, code, text) {code, text},
    NS_EXITS(NS_EXIT_TEXT)
#undef NS_EXIT_TEXT
};

const struct ns_command *const *cli_commands(size_t *n)
{
    *n = NS_ARRAY_LEN(commands);
    return commands;
}

const struct ns_command *cli_find_command(const char *name)
{
    for (size_t i = 0; i < NS_ARRAY_LEN(commands); i++)
        if (strcmp(name, commands[i]->name) == 0)
            return commands[i];
    for (size_t i = 0; i < NS_ARRAY_LEN(hidden); i++)
        if (strcmp(name, hidden[i]->name) == 0)
            return hidden[i];
    return NULL;
}

/* Writes text after a label that ends at column col, folded at 78
 * columns with every further line starting at column indent. */
static void fold(FILE *f, int col, int indent, const char *text)
{
    if (col > indent) { /* the label is too wide: the text starts below */
        fprintf(f, "\n%*s", indent, "");
        col = indent;
    }
    bool first = true;
    while (*text) {
        size_t w = strcspn(text, " ");
        if (!first && col + 1 + (int)w > 78) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
        } else if (!first) {
            fputc(' ', f);
            col++;
        }
        first = false;
        fwrite(text, 1, w, f);
        col += (int)w;
        text += w;
        while (*text == ' ')
            text++;
    }
    fputc('\n', f);
}

/* "  3  text..." */
static void print_wrapped(FILE *f, int code, const char *text)
{
    int col = fprintf(f, "  %d  ", code);
    fold(f, col, col, text);
}

static const struct cli_option db_option = {
    "db", 0, "PATH", "the database (default $NIGHTSHIFT_DB, else "
                     "$XDG_STATE_HOME/nightshift/nightshift.db)", false};
static const struct cli_option common_options[] = {
    {"help", 'h', NULL, "show this help", false},
    {"version", 0, NULL, "print the version", false},
};

/* "  -x, --name ARG    help", the help folded under its column. */
static void print_option(FILE *f, const struct cli_option *o)
{
    char left[64];
    snprintf(left, sizeof left, "%s%c%s--%s%s%s", o->short_name ? "-" : "",
             o->short_name ? o->short_name : ' ', o->short_name ? ", " : "   ", o->name,
             o->arg ? " " : "", o->arg ? o->arg : "");
    fold(f, fprintf(f, "  %-20s", left), 22, o->help);
}

void cli_help(const struct ns_command *cmd, FILE *f)
{
    if (!cmd->help || strncmp(cmd->help, "usage:", 6) != 0)
        cli_usage(cmd, f);
    if (cmd->help)
        fputs(cmd->help, f);
    if (cmd->options || cmd->db) {
        fputs("\nOptions:\n", f);
        for (size_t i = 0; i < cmd->noptions; i++)
            print_option(f, &cmd->options[i]);
        if (cmd->db)
            print_option(f, &db_option);
        for (size_t i = 0; i < NS_ARRAY_LEN(common_options); i++)
            print_option(f, &common_options[i]);
    }
    if (!cmd->exits)
        return;
    fputs("\nExit status:\n", f);
    for (const char *c = cmd->exits; *c; c++)
        for (size_t i = 0; i < NS_ARRAY_LEN(exit_texts); i++)
            if (exit_texts[i].code == *c - '0')
                print_wrapped(f, exit_texts[i].code, exit_texts[i].text);
    if (!cmd->options)
        fputs("Every command also takes --help and --version.\n", f);
}

int cli_parse(const struct ns_command *cmd, int argc, char **argv, struct cli_args *a)
{
    memset(a, 0, sizeof *a);
    assert(cmd->noptions + 1 < CLI_MAX_OPTIONS);
    struct option longopts[CLI_MAX_OPTIONS + 4];
    char shorts[2 * CLI_MAX_OPTIONS + 4] = "h";
    size_t n = 0, ns = 1;
    for (; n < cmd->noptions; n++) {
        const struct cli_option *o = &cmd->options[n];
        longopts[n] = (struct option){o->name, o->arg ? required_argument : no_argument, NULL,
                                      256 + (int)n};
        if (o->short_name) {
            shorts[ns++] = o->short_name;
            if (o->arg)
                shorts[ns++] = ':';
        }
    }
    size_t fixed = n;
    if (cmd->db)
        longopts[n++] = (struct option){"db", required_argument, NULL, 'd'};
    longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[n] = (struct option){NULL, 0, NULL, 0};
    shorts[ns] = '\0';
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
        int i = c >= 256 ? c - 256 : -1;
        for (size_t k = 0; i < 0 && k < fixed; k++)
            if (cmd->options[k].short_name == c)
                i = (int)k;
        if (c == 'h' && i < 0) {
            cli_help(cmd, stdout);
            cli_args_release(a);
            return 1;
        }
        if (c == 'd' && i < 0) {
            a->db = optarg;
            continue;
        }
        if (i < 0) { /* getopt said what was wrong */
            cli_usage(cmd, stderr);
            fprintf(stderr, "('nightshift help %s' lists the options)\n", cmd->name);
            cli_args_release(a);
            return -1;
        }
        const char *v = cmd->options[i].arg ? optarg : "";
        a->value[i] = v;
        if (cmd->options[i].repeat) {
            a->values[i] = ns_xrealloc(a->values[i], (a->n_values[i] + 1) * sizeof(char *));
            a->values[i][a->n_values[i]++] = v;
        }
    }
    a->rest = argv + optind;
    a->nrest = argc - optind;
    return 0;
}

int cli_number(const char *cmd, const char *opt, const char *value, int64_t min, int64_t max,
               int64_t *out)
{
    int64_t v;
    if (!value)
        return 0;
    if (ns_parse_int64(value, &v) != 0 || v < min || v > max) {
        cli_error(cmd, "--%s wants a whole number from %lld to %lld (got \"%s\")", opt,
                  (long long)min, (long long)max, value);
        return -1;
    }
    *out = v;
    return 0;
}

void cli_args_release(struct cli_args *a)
{
    for (size_t i = 0; i < CLI_MAX_OPTIONS; i++)
        free(a->values[i]);
    memset(a, 0, sizeof *a);
}

void cli_usage(const struct ns_command *cmd, FILE *f)
{
    fprintf(f, "usage: nightshift %s %s\n", cmd->name, cmd->args);
}

int cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int cli_open_store(const char *name, const char *db_opt, int mode, struct ns_store *st)
{
    char err[1024];
    char *path = store_default_path(db_opt);
    int rc = store_open(st, path, (enum ns_store_mode)mode, err, sizeof err);
    free(path);
    if (rc != 0)
        cli_error(name, "%s", err);
    return rc;
}

long long cli_find_run(const char *name, struct ns_store *st, const char *arg)
{
    char err[512] = "";
    int64_t id = arg ? store_find_run(st, arg, err, sizeof err) : store_latest_run(st);
    if (id < 0)
        cli_error(name, "%s", err);
    else if (id == 0 && arg)
        cli_error(name,
                  "no run \"%s\" in %s (give a run id or a job name; 'nightshift status' "
                  "lists them)",
                  arg, st->path);
    else if (id == 0)
        cli_error(name, "no runs in %s yet", st->path);
    return id > 0 ? id : 0;
}

char *cli_resolve_date(const char *name_value)
{
    const char *eq = strchr(name_value, '=');
    char date[16];
    if (!eq || ns_resolve_relative_date(eq + 1, ns_now(), date, sizeof date) != 1)
        return NULL;
    return ns_xasprintf("%.*s=%s", (int)(eq - name_value), name_value, date);
}

static void add_given(struct cli_spec_args *a, char *p)
{
    char *resolved = cli_resolve_date(p);
    if (resolved) {
        a->owned = ns_xrealloc(a->owned, (a->nowned + 1) * sizeof *a->owned);
        a->owned[a->nowned++] = resolved;
        p = resolved;
    }
    a->given[a->ngiven++] = p;
}

void cli_spec_args_release(struct cli_spec_args *a)
{
    for (size_t i = 0; i < a->nowned; i++)
        free(a->owned[i]);
    free(a->owned);
    free(a->given);
    memset(a, 0, sizeof *a);
}

int cli_parse_spec_args(const struct ns_command *cmd, const char *help, bool json, int argc,
                        char **argv, struct cli_spec_args *out)
{
    memset(out, 0, sizeof *out);
    out->given = calloc((size_t)argc + 1, sizeof(char *));
    if (!out->given)
        abort();
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            (void)help; /* the descriptor's, through cli_help */
            cli_help(cmd, stdout);
            return 1;
        } else if (json && strcmp(argv[i], "--json") == 0) {
            out->json = true;
        } else if (strcmp(argv[i], "-p") == 0 || strcmp(argv[i], "--param") == 0) {
            if (++i == argc) {
                cli_error(argv[0], "%s needs NAME=VALUE", argv[i - 1]);
                return -1;
            }
            add_given(out, argv[i]);
        } else if (strncmp(argv[i], "-p", 2) == 0 && argv[i][2]) {
            add_given(out, argv[i] + 2);
        } else if (argv[i][0] == '-' && argv[i][1]) {
            cli_error(argv[0], "unknown option %s", argv[i]);
            cli_usage(cmd, stderr);
            return -1;
        } else if (!out->file) {
            out->file = argv[i];
        } else {
            cli_error(argv[0], "one spec at a time (got %s and %s)", out->file, argv[i]);
            return -1;
        }
    }
    if (!out->file) {
        cli_usage(cmd, stderr);
        return -1;
    }
    return 0;
}

char *cli_escape(const char *s)
{
    return escape_dup(s, strlen(s), 0);
}

void cli_format_time(double t, char *out, size_t len)
{
    if (t <= 0) {
        snprintf(out, len, "-");
        return;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    localtime_r(&tt, &tm);
    strftime(out, len, "%Y-%m-%d %H:%M:%S", &tm);
}

void cli_print_diags(const struct ns_diags *d, const char *file)
{
    char *text = diags_format(d, file);
    put_escaped(stderr, text, strlen(text));
    free(text);
}
