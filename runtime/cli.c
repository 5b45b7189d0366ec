/*
 * cli.c - helpers shared by the command files (cli.h).
 *
 * Kept out of main.c so that unit tests, which link every runtime object but
 * main.o, can link command files too.
 */
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
static void put_escaped(const char *text, size_t len)
{
    struct ns_buf b = NS_BUF_INIT;
    escape_for_terminal(text, len, NS_ESC_NEWLINES | NS_ESC_KEEP_BACKSLASH, &b);
    if (b.len)
        fwrite(b.data, 1, b.len, stderr);
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
    put_escaped(b.data, b.len);
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

/* "  3  text..." folded at 78 columns under the text's first column. */
static void print_wrapped(FILE *f, int code, const char *text)
{
    int col = fprintf(f, "  %d  ", code);
    const int indent = col;
    while (*text) {
        size_t w = strcspn(text, " ");
        if (col > indent && col + 1 + (int)w > 78) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', f);
            col++;
        }
        fwrite(text, 1, w, f);
        col += (int)w;
        text += w;
        while (*text == ' ')
            text++;
    }
    fputc('\n', f);
}

void cli_help(const struct ns_command *cmd, FILE *f)
{
    if (!cmd->help || strncmp(cmd->help, "usage:", 6) != 0)
        cli_usage(cmd, f);
    if (cmd->help)
        fputs(cmd->help, f);
    if (!cmd->exits)
        return;
    fputs("\nExit status:\n", f);
    for (const char *c = cmd->exits; *c; c++)
        for (size_t i = 0; i < NS_ARRAY_LEN(exit_texts); i++)
            if (exit_texts[i].code == *c - '0')
                print_wrapped(f, exit_texts[i].code, exit_texts[i].text);
    fputs("Every command also takes --help and --version.\n", f);
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

const char *cli_col(sqlite3_stmt *s, int i)
{
    const char *t = (const char *)sqlite3_column_text(s, i);
    return t ? t : "";
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
    put_escaped(text, strlen(text));
    free(text);
}
