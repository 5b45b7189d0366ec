/*
 * cmd-complete.c - `nightshift _complete CWORD WORD...`: the words the bash
 * completion (completion/nightshift.bash) offers for word CWORD of the
 * command line WORD... (WORD 0 is the binary).
 *
 * Everything comes from the command table (cli.h): the commands, each one's
 * options (only those its parser takes), which options take a value and
 * what it is, and what the operands are - a SPEC, a RUN (run ids and job
 * names from the database), partitions (the run's keys). One first line
 * "@file" or "@spec" asks the shell to complete file names instead.
 * The database is read through the public query API, as every command does.
 * Prints nothing, and exits 0, when there is nothing to offer or no
 * database yet: a completion must never print an error into the user's
 * command line. The words arrive as data (they may look like options), so
 * this command reads its own argv.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nightshift/cli.h"
#include "nightshift/escape.h"
#include "nightshift/query-report.h"
#include "nightshift/query.h"
#include "nightshift/store.h"
#include "nightshift/util.h"

#define COMPLETE_RUNS 50
#define COMPLETE_PARTS 200

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* A word the shell can take as it is: no blanks, no control characters. */
static void offer(const char *prefix, const char *word)
{
    for (const unsigned char *p = (const unsigned char *)word; *p; p++)
        if (*p <= ' ' || *p == 0x7f)
            return;
    printf("%s%s\n", prefix, word);
}

/* The option word names (--name, --name=V or -x), or NULL. */
static const struct cli_option *option_of(const struct ns_command *cmd, const char *w)
{
    const struct cli_option *all[CLI_MAX_OPTIONS + 3];
    size_t n = cli_all_options(cmd, all);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(all[i]->name);
        if (w[0] == '-' && w[1] == '-' && strncmp(w + 2, all[i]->name, len) == 0 &&
            (w[2 + len] == '\0' || w[2 + len] == '='))
            return all[i];
        if (all[i]->short_name && w[0] == '-' && w[1] == all[i]->short_name && !w[2])
            return all[i];
    }
    return NULL;
}

struct line {
    const char *db;      /* --db on the line */
    const char *operand; /* the first operand (RUN or SPEC), or NULL */
    int operands;        /* before the word being completed */
};

static void read_line(const struct ns_command *cmd, int cword, char **w, struct line *l)
{
    memset(l, 0, sizeof *l);
    for (int i = 2; i < cword; i++) {
        const struct cli_option *o = option_of(cmd, w[i]);
        if (o && o->arg && !strchr(w[i], '=')) {
            if (strcmp(o->name, "db") == 0 && i + 1 < cword)
                l->db = w[i + 1];
            i++;
        } else if (o && strcmp(o->name, "db") == 0) {
            l->db = strchr(w[i], '=') + 1;
        } else if (w[i][0] != '-' || !w[i][1]) {
            if (!l->operands++)
                l->operand = w[i];
        }
    }
}

static void offer_runs(struct ns_store *st)
{
    char **names = NULL;
    long n = report_job_names(st, 200, &names);
    for (long i = 0; i < n; i++) {
        /* A job named with digits is written job:NAME (cli_find_run). */
        offer(all_digits(names[i]) ? "job:" : "", names[i]);
        free(names[i]);
    }
    free(names);
    struct ns_run_summary rows[COMPLETE_RUNS];
    char err[256];
    int got = query_runs(st, "", NULL, 1, COMPLETE_RUNS, ns_now(), rows, err, sizeof err);
    for (int i = 0; i < got; i++) {
        printf("%lld\n", (long long)rows[i].id);
        query_run_summary_release(&rows[i]);
    }
}

static void offer_parts(struct ns_store *st, const char *run_arg)
{
    int64_t by_id, by_job;
    char err[256];
    int64_t run = run_arg ? cli_lookup_run(st, run_arg, &by_id, &by_job, err, sizeof err) : 0;
    if (run <= 0)
        return;
    struct ns_part_select sel = {.run_id = run, .filter = NS_PF_ALL, .sort = NS_SORT_IDX};
    struct ns_part_row *rows = ns_xcalloc(COMPLETE_PARTS, sizeof *rows);
    int got = query_partitions(st, &sel, NULL, 1, COMPLETE_PARTS, rows, err, sizeof err);
    for (int i = 0; i < got; i++) {
        /* A key made of digits would be read as an index: key:KEY. */
        offer(all_digits(rows[i].key) ? "key:" : "", rows[i].key);
        query_part_row_release(&rows[i]);
    }
    free(rows);
}

/* What the database holds for this word: run names or partition keys. */
static void offer_from_store(const struct line *l, bool parts)
{
    struct ns_store st;
    char err[512];
    char *path = store_default_path(l->db);
    int rc = store_open(&st, path, NS_STORE_READ, err, sizeof err);
    free(path);
    if (rc != 0)
        return;
    if (parts)
        offer_parts(&st, l->operand);
    else
        offer_runs(&st);
    store_close(&st);
}

static void offer_value(const struct cli_option *o, const struct line *l)
{
    if (!o->complete)
        return;
    if (strcmp(o->complete, "@parts") == 0) {
        offer_from_store(l, true);
        return;
    }
    if (o->complete[0] == '@') {
        puts(o->complete);
        return;
    }
    for (const char *p = o->complete; *p;) {
        size_t len = strcspn(p, " ");
        printf("%.*s\n", (int)len, p);
        p += len + (p[len] == ' ');
    }
}

static void offer_commands(void)
{
    size_t n;
    const struct ns_command *const *cmds = cli_commands(&n);
    for (size_t i = 0; i < n; i++)
        puts(cmds[i]->name);
}

static int complete_main(int argc, char **argv)
{
    int64_t cword;
    if (argc < 3 || ns_parse_int64(argv[1], &cword) != 0 || cword < 1)
        return NS_EXIT_OK;
    char **w = argv + 2;
    int nw = argc - 2;
    const char *cur = cword < nw ? w[cword] : "";
    if (cword == 1) {
        offer_commands();
        puts("help");
        return NS_EXIT_OK;
    }
    const struct ns_command *cmd = cli_find_command(w[1]);
    if (strcmp(w[1], "help") == 0) {
        if (cword == 2)
            offer_commands();
        return NS_EXIT_OK;
    }
    if (!cmd || w[1][0] == '_')
        return NS_EXIT_OK;
    const struct cli_option *prev = option_of(cmd, w[cword - 1]);
    struct line l;
    read_line(cmd, (int)(cword < nw ? cword : nw), w, &l);
    if (prev && prev->arg && !strchr(w[cword - 1], '=')) {
        offer_value(prev, &l);
        return NS_EXIT_OK;
    }
    if (cur[0] == '-') {
        const struct cli_option *all[CLI_MAX_OPTIONS + 3];
        size_t n = cli_all_options(cmd, all);
        for (size_t i = 0; i < n; i++)
            printf("--%s\n", all[i]->name);
        return NS_EXIT_OK;
    }
    bool run = cmd->target == CLI_TARGET_RUN || cmd->target == CLI_TARGET_RUN_OPTIONAL;
    if (l.operands == 0 && cmd->target == CLI_TARGET_SPEC)
        puts("@spec");
    else if (l.operands == 0 && run)
        offer_from_store(&l, false);
    else if (l.operands >= 1 && run && cmd->operand == CLI_OPERAND_PARTS &&
             (cmd->max_rest < 0 || l.operands <= cmd->max_rest))
        offer_from_store(&l, true);
    return NS_EXIT_OK;
}

const struct ns_command cmd_complete = {
    .name = "_complete",
    .args = "CWORD WORD...",
    .summary = "(internal) words for shell completion",
    .main = complete_main,
};
