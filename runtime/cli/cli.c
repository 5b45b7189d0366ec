/*
 * cli.c - helpers shared by the command files (cli.h).
 *
 * Kept out of main.c so that unit tests, which link every runtime object but
 * main.o, can link command files too. The help is made here from the
 * descriptor's table (cli.h); the parser is cli-parse.c.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "nightshift/cli.h"
#include "nightshift/json.h"
#include "nightshift/escape.h"
#include "nightshift/query.h"
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
static const struct ns_command *const hidden[] = {&cmd_launch, &cmd_spec_man, &cmd_complete,
                                                  &cmd_man};

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

/* --db is declared here, once, for every command whose descriptor says db. */
static const struct cli_option db_option = {
    .name = "db",
    .arg = "PATH",
    .help = "the database (default $NIGHTSHIFT_DB, else $XDG_STATE_HOME/nightshift/nightshift.db)",
    .complete = "@file"};
static const struct cli_option common_options[] = {
    {.name = "help", .short_name = 'h', .help = "show this help"},
    {.name = "version", .help = "print the version"},
};

size_t cli_all_options(const struct ns_command *cmd, const struct cli_option **out)
{
    size_t n = 0;
    for (size_t i = 0; i < cmd->noptions; i++)
        out[n++] = &cmd->options[i];
    if (cmd->db)
        out[n++] = &db_option;
    for (size_t i = 0; i < NS_ARRAY_LEN(common_options); i++)
        out[n++] = &common_options[i];
    return n;
}

/* "  -x, --name ARG    help", the help folded under its column. */
static void print_option(FILE *f, const struct cli_option *o)
{
    char left[64];
    snprintf(left, sizeof left, "%s%c%s--%s%s%s", o->short_name ? "-" : "",
             o->short_name ? o->short_name : ' ', o->short_name ? ", " : "   ", o->name,
             o->arg ? " " : "", o->arg ? o->arg : "");
    int col = fprintf(f, "  %-20s", left);
    /* A label that fills its column: the help goes below, not glued on. */
    fold(f, strlen(left) >= 20 ? col + 1 : col, 22, o->help);
}

void cli_help(const struct ns_command *cmd, FILE *f)
{
    cli_usage(cmd, f);
    if (cmd->help)
        fputs(cmd->help, f);
    const struct cli_option *all[CLI_MAX_OPTIONS + 3];
    size_t n = cli_all_options(cmd, all);
    fputs("\nOptions:\n", f);
    for (size_t i = 0; i < n; i++)
        print_option(f, all[i]);
    if (cmd->exits) {
        fputs("\nExit status:\n", f);
        for (const char *c = cmd->exits; *c; c++)
            for (size_t i = 0; i < NS_ARRAY_LEN(exit_texts); i++)
                if (exit_texts[i].code == *c - '0')
                    print_wrapped(f, exit_texts[i].code, exit_texts[i].text);
    }
    /* An installed user has no docs/: the manuals are where to read on. */
    fprintf(f, "\nMore: man nightshift (its %s entry)%s\n", cmd->name,
            cmd->target == CLI_TARGET_SPEC      ? "; the job spec: man nightshift-spec"
            : strcmp(cmd->name, "emit") == 0 ? "; the worker contract: man nightshift-protocol"
                                               : "");
}

void cli_usage(const struct ns_command *cmd, FILE *f)
{
    /* One line per form, each folded under its own start at 78 columns. */
    const char *form = cmd->args;
    for (bool first = true;; first = false) {
        size_t len = strcspn(form, "\n");
        char *one = ns_xasprintf("%.*s", (int)len, form);
        int col = fprintf(f, "%s nightshift %s%s", first ? "usage:" : "      ", cmd->name,
                          len ? " " : "");
        if (len)
            fold(f, col, col, one);
        else
            fputc('\n', f);
        free(one);
        if (!form[len])
            break;
        form += len + 1;
    }
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

int cli_resolve_date(const char *name, const char *name_value, char **out)
{
    const char *eq = strchr(name_value, '=');
    char date[16];
    int rc = eq ? ns_resolve_relative_date(eq + 1, ns_now(), date, sizeof date) : 0;
    *out = rc == 1 ? ns_xasprintf("%.*s=%s", (int)(eq - name_value), name_value, date) : NULL;
    if (rc < 0) {
        char *shown = cli_escape(name_value);
        cli_error(name,
                  "-p %s: not a date: a relative date is today or yesterday, then optionally "
                  "+N or -N with d (days) or w (weeks), at most %d days",
                  shown, NS_RELATIVE_DATE_MAX_DAYS);
        free(shown);
    }
    return rc;
}

int cli_exit_for_run_state(int run_state)
{
    switch (run_state) {
    case NS_RS_SUCCEEDED:
        return NS_EXIT_OK;
    case NS_RS_FAILED:
        return NS_EXIT_FAILED;
    case NS_RS_STOPPED:
    case NS_RS_HALTED:
        return NS_EXIT_STOPPED;
    default:
        return NS_EXIT_ERROR;
    }
}

void cli_roff(struct ns_buf *b, const char *s)
{
    if (*s == '.' || *s == '\'')
        buf_adds(b, "\\&");
    for (; *s; s++) {
        if (*s == '\\')
            buf_adds(b, "\\e");
        else if (*s == '-')
            buf_adds(b, "\\-");
        else
            buf_addc(b, *s);
    }
}

void cli_roff_lines(struct ns_buf *b, const char *s)
{
    struct ns_buf h = NS_BUF_INIT;
    cli_roff(&h, s);
    cli_fold_lines(b, h.data ? h.data : "");
    buf_release(&h);
}

void cli_roff_unfilled(struct ns_buf *b, const char *text)
{
    buf_adds(b, ".nf\n");
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, "\n");
        char *line = ns_xasprintf("%.*s", (int)len, p);
        cli_roff(b, line);
        buf_addc(b, '\n');
        free(line);
        p += len + (p[len] == '\n');
    }
    buf_adds(b, ".fi\n");
}

void cli_fold_lines(struct ns_buf *b, const char *p)
{
    while (strlen(p) > 78) {
        const char *cut = p + 78;
        while (cut > p && *cut != ' ')
            cut--;
        if (cut == p)
            break;
        buf_add(b, p, (size_t)(cut - p));
        buf_addc(b, '\n');
        p = cut + 1;
    }
    buf_adds(b, p);
    buf_addc(b, '\n');
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

int cli_resolve_default_dates(struct cli *c, const struct ns_spec *spec)
{
    for (size_t i = 0; i < spec->params_len; i++) {
        const struct ns_kv *kv = &spec->params[i];
        size_t len = strlen(kv->name);
        bool given = false;
        for (size_t j = 0; j < c->nparams && !given; j++)
            given = strncmp(c->params[j], kv->name, len) == 0 && c->params[j][len] == '=';
        if (given || !kv->value)
            continue;
        char date[16];
        int rc = ns_resolve_relative_date(kv->value, ns_now(), date, sizeof date);
        if (rc < 0) {
            char *shown = cli_escape(kv->value);
            cli_error(c->cmd->name,
                      "%s: params.%s: \"%s\" is not a date: a relative date is today or "
                      "yesterday, then optionally +N or -N with d (days) or w (weeks)",
                      spec->path, kv->name, shown);
            free(shown);
            return NS_EXIT_USAGE;
        }
        if (rc == 1) {
            c->params = ns_xrealloc(c->params, (c->nparams + 1) * sizeof *c->params);
            c->params[c->nparams++] = ns_xasprintf("%s=%s", kv->name, date);
        }
    }
    return 0;
}

void cli_json_issued(struct ns_json *j, double issued_at, const char *user, int64_t uid,
                     const char *source, const char *verb, const char *args_json)
{
    json_field_real(j, "issued_at", issued_at);
    json_field_bytes(j, "user", user, strlen(user));
    json_field_int(j, "uid", uid);
    json_field_str(j, "source", source);
    json_field_str(j, "verb", verb);
    json_field_raw(j, "args", args_json);
}
