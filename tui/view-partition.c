/*
 * view-partition.c - one partition: parameters, checkpoint, attempts, the
 * live tail of the selected attempt's log.
 *
 * Attempts are read newest first over attempts_partition (run_id, idx, n),
 * at most 100. The log tail reads only the last 64 KiB of the file and is
 * re-read when the file's size or mtime changes (poll), so it follows a
 * running attempt without the database changing.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nightshift/escape.h"
#include "nightshift/query.h"
#include "tui-internal.h"

#define MAX_ATTEMPTS 100
#define LOG_TAIL (64 * 1024)

struct attempt_row {
    int64_t id, n, pid, exit_code, sig;
    bool has_exit, has_sig;
    double started, ended, duration;
    char *outcome, *log_path, *message;
    char *label; /* "" for local attempts (the pid column says it), else "job 881_4" */
};

struct part_view {
    struct tui_view base;
    struct tui *t;
    int64_t idx;
    bool found;
    char *key, *state, *params, *checkpoint, *skip_reason, *last_message, *signature;
    int pstate; /* enum ns_part_state of state, -1 unknown */
    int64_t attempts, attempts_total, allowed, max_attempts, progress, total, errors, ck_progress;
    bool has_total;
    double ck_at, next_at, started, finished, spent;
    struct attempt_row att[MAX_ATTEMPTS];
    int n_att, cur;
    int64_t cur_id; /* keeps the selection across reloads */
    /* log tail of the selected attempt */
    char *log_file; /* resolved path */
    char *log_text; /* escaped, '\n' separated */
    off_t log_size;
    struct timespec log_mtime;
};

static void clear_attempts(struct part_view *v)
{
    for (int i = 0; i < v->n_att; i++) {
        free(v->att[i].outcome);
        free(v->att[i].log_path);
        free(v->att[i].message);
        free(v->att[i].label);
    }
    v->n_att = 0;
}

static void clear_fields(struct part_view *v)
{
    char **f[] = {&v->key,         &v->state,        &v->params,   &v->checkpoint,
                  &v->skip_reason, &v->last_message, &v->signature};
    for (size_t i = 0; i < NS_ARRAY_LEN(f); i++) {
        free(*f[i]);
        *f[i] = NULL;
    }
}

static void read_log(struct part_view *v)
{
    free(v->log_text);
    v->log_text = NULL;
    v->log_size = -1;
    if (!v->log_file)
        return;
    size_t len;
    struct stat st;
    char *raw = tui_read_tail(v->log_file, LOG_TAIL, &len, &st);
    if (!raw) {
        v->log_text = ns_xstrdup("(no log file yet)");
        return;
    }
    v->log_size = st.st_size;
    v->log_mtime = st.st_mtim;
    v->log_text = escape_dup(raw, len, v->t->esc_flags | NS_ESC_NEWLINES);
    free(raw);
}

/* The log file of an attempt as stored: relative to the data directory. */
static char *log_file_of(const struct tui *t, const char *log_path)
{
    if (!log_path || !log_path[0])
        return NULL;
    return log_path[0] == '/' ? ns_xstrdup(log_path)
                              : ns_xasprintf("%s/%s", t->st.data_dir, log_path);
}

static void select_attempt(struct part_view *v)
{
    free(v->log_file);
    v->log_file = NULL;
    if (v->n_att > 0) {
        struct attempt_row *a = &v->att[v->cur];
        v->cur_id = a->id;
        v->log_file = log_file_of(v->t, a->log_path);
    }
    read_log(v);
}

struct tui_view *view_log_new(struct tui *t, int64_t run_id, int64_t idx, int64_t n)
{
    struct ns_attempt_row a;
    char err[256] = "";
    int found = query_attempt(&t->st, run_id, idx, n, &a, err, sizeof err);
    char *file = found == 1 ? log_file_of(t, a.log_path) : NULL;
    struct tui_view *v = NULL;
    if (file) {
        char title[96];
        snprintf(title, sizeof title, "log of partition %lld attempt %lld", (long long)idx,
                 (long long)a.n);
        v = view_text_new(t, title, NULL, file);
    } else if (found < 0) {
        tui_status(t, term_attr(TUI_C_BAD), "%s", err);
    } else {
        tui_status(t, A_NORMAL, "partition %lld has no attempt log yet", (long long)idx);
    }
    free(file);
    query_attempt_row_release(&a);
    return v;
}

static void part_load(struct tui_view *vv, struct tui *t)
{
    struct part_view *v = (struct part_view *)vv;
    clear_fields(v);
    struct ns_part_row q;
    char err[256] = "";
    v->found = query_partition(&t->st, vv->run_id, v->idx, &q, err, sizeof err) == 1;
    if (v->found) {
        v->key = tui_esc(t, q.key, strlen(q.key));
        v->state = tui_esc(t, q.state, strlen(q.state));
        v->pstate = query_part_state_of(q.state);
        v->params = tui_esc(t, q.params_json, strlen(q.params_json));
        v->checkpoint = q.checkpoint ? tui_esc(t, q.checkpoint, q.checkpoint_len) : NULL;
        v->skip_reason = tui_esc(t, q.skip_reason, q.skip_reason ? strlen(q.skip_reason) : 0);
        v->last_message = tui_esc(t, q.last_message, q.last_message ? strlen(q.last_message) : 0);
        v->signature =
            tui_esc(t, q.last_signature, q.last_signature ? strlen(q.last_signature) : 0);
        v->attempts = q.attempts;
        v->attempts_total = q.attempts_total;
        v->allowed = query_attempts_allowed(&q);
        v->max_attempts = q.max_attempts;
        v->progress = q.progress;
        v->has_total = q.total >= 0;
        v->total = q.total;
        v->errors = q.errors;
        v->ck_progress = q.checkpoint_progress;
        v->ck_at = q.checkpoint_at;
        v->next_at = q.next_attempt_at;
        v->started = q.started_at;
        v->finished = q.finished_at;
        v->spent = query_attempts_seconds(&q, t->now);
    }
    query_part_row_release(&q);

    clear_attempts(v);
    struct ns_attempt_row rows[MAX_ATTEMPTS];
    int n = query_attempts(&t->st, vv->run_id, v->idx, MAX_ATTEMPTS, rows, err, sizeof err);
    int cur = 0;
    for (int i = 0; i < n; i++) {
        struct attempt_row *a = &v->att[v->n_att];
        const struct ns_attempt_row *r = &rows[i];
        a->id = r->id;
        a->n = r->n;
        a->pid = r->pid;
        a->started = r->started_at;
        a->ended = r->ended_at;
        a->outcome = tui_esc(t, r->outcome, r->outcome ? strlen(r->outcome) : 0);
        a->has_exit = r->has_exit;
        a->exit_code = r->exit_code;
        a->has_sig = r->has_signal;
        a->sig = r->signal;
        a->duration = r->duration;
        /* The path is ours (the runtime chose it): kept raw to open it. */
        a->log_path = ns_xstrdup(r->log_path ? r->log_path : "");
        a->message =
            tui_esc_cause(t, r->message ? r->message : "", r->message ? strlen(r->message) : 0);
        bool remote = r->executor && strcmp(r->executor, "local") != 0 && r->label;
        a->label = remote ? tui_esc(t, r->label, strlen(r->label)) : ns_xstrdup("");
        if (a->id == v->cur_id)
            cur = v->n_att;
        v->n_att++;
        query_attempt_row_release(&rows[i]);
    }
    if (n < 0)
        tui_status(t, term_attr(TUI_C_BAD), "%s", err);
    bool changed = v->n_att == 0 || v->att[cur].id != v->cur_id || !v->log_text;
    v->cur = cur;
    if (changed)
        select_attempt(v);
}

static bool part_poll(struct tui_view *vv, struct tui *t)
{
    struct part_view *v = (struct part_view *)vv;
    (void)t;
    if (!v->log_file)
        return false;
    struct stat st;
    if (stat(v->log_file, &st) != 0)
        return false;
    if (st.st_size == v->log_size && st.st_mtim.tv_sec == v->log_mtime.tv_sec &&
        st.st_mtim.tv_nsec == v->log_mtime.tv_nsec)
        return false;
    read_log(v);
    return true;
}

static const char *sig_name(int64_t sig)
{
    const char *d = sigabbrev_np((int)sig);
    return d ? d : "?";
}

/* The selected attempt's log from screen row `row` to the pane's end (y + h):
 * its heading, then the last lines that fit. */
static void draw_log_tail(struct part_view *v, struct tui *t, int row, int y, int h, int w)
{
    if (row >= y + h)
        return;
    term_fill(row, 0, w, A_BOLD | A_UNDERLINE);
    int x = term_putf(row, 0, w, A_BOLD | A_UNDERLINE, "log of attempt %lld ",
                      v->n_att ? (long long)v->att[v->cur].n : 0LL);
    if (v->log_file) {
        char *safe = tui_esc(t, v->log_file, strlen(v->log_file));
        term_put(row, x, w - x, A_UNDERLINE | A_DIM, safe);
        free(safe);
    }
    row++;
    int lines = y + h - row;
    if (lines <= 0 || !v->log_text)
        return;
    /* The last `lines` lines (long ones truncated, L shows them whole). */
    const char *end = v->log_text + strlen(v->log_text);
    while (end > v->log_text && end[-1] == '\n')
        end--;
    const char *p = end;
    int n = 0;
    while (p > v->log_text && n < lines) {
        p--;
        if (*p == '\n') {
            n++;
            if (n == lines) {
                p++;
                break;
            }
        }
    }
    for (int i = 0; i < lines && p < end; i++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char *line = ns_xstrndup(p, len);
        term_put(row + i, 0, w, A_NORMAL, line);
        free(line);
        p += len + (nl ? 1 : 0);
    }
}

/* Puts one printf-formatted figure at *x on row y if it fits whole in w;
 * once one does not, *room turns false and the rest are left out too. */
static void put_whole(int y, int *x, int w, attr_t attr, bool *room, const char *fmt, ...)
{
    if (!*room)
        return;
    char buf[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (term_width(buf) > w - *x) {
        *room = false;
        return;
    }
    *x += term_put(y, *x, w - *x, attr, buf);
}

static void part_draw(struct tui_view *vv, struct tui *t, int y, int h, int w)
{
    struct part_view *v = (struct part_view *)vv;
    char a[48], b[48];
    if (!v->found) {
        term_put(y, 0, w, A_BOLD, "this partition is not in the database");
        return;
    }
    int x = term_putf(y, 0, w, A_BOLD, "partition %lld  ", (long long)v->idx);
    x += term_put(y, x, w - x, A_BOLD, v->key);
    x += term_put(y, x, w - x, A_NORMAL, "  ");
    x += term_put(y, x, w - x, term_attr(term_state_color(v->state)) | A_BOLD, v->state);
    /* The figures, each whole or not at all (a cut "time 1" for 12s would
     * lie), the most telling first. Attempts used of those allowed so far,
     * across operator retries. */
    bool room = true;
    put_whole(y, &x, w, A_NORMAL, &room, "  attempts %lld/%lld", (long long)v->attempts_total,
              (long long)v->allowed);
    put_whole(y, &x, w, A_NORMAL, &room, "  time %s",
              tui_fmt_dur(v->attempts_total ? v->spent : -1, b, sizeof b));
    if (v->has_total)
        put_whole(y, &x, w, A_NORMAL, &room, "  progress %lld/%lld", (long long)v->progress,
                  (long long)v->total);
    else
        put_whole(y, &x, w, A_NORMAL, &room, "  progress %lld", (long long)v->progress);
    put_whole(y, &x, w, A_NORMAL, &room, "  errors %lld", (long long)v->errors);
    if (v->next_at > 0 && v->pstate == NS_PS_RETRY_WAIT)
        put_whole(y, &x, w, A_NORMAL, &room, "  next attempt in %s",
                  tui_fmt_dur(v->next_at - t->now, a, sizeof a));
    if (v->attempts_total > v->attempts)
        put_whole(y, &x, w, A_DIM, &room, "  (%lld/%lld attempts since the last retry)",
                  (long long)v->attempts, (long long)v->max_attempts);
    int row = y + 1;
    x = term_put(row, 0, w, A_DIM, "params     ");
    term_put(row, x, w - x, A_NORMAL, v->params);
    row++;
    x = term_put(row, 0, w, A_DIM, "checkpoint ");
    if (v->checkpoint) {
        x += term_putf(row, x, w - x, A_NORMAL, "(%s, progress %lld) ",
                       tui_fmt_clock(v->ck_at, a, sizeof a), (long long)v->ck_progress);
        term_put(row, x, w - x, A_NORMAL, v->checkpoint);
    } else {
        term_put(row, x, w - x, A_DIM, "none (starts fresh)");
    }
    row++;
    if (v->skip_reason[0]) {
        x = term_put(row, 0, w, A_DIM, "skipped    ");
        term_put(row, x, w - x, term_attr(TUI_C_SKIP), v->skip_reason);
    } else {
        x = term_put(row, 0, w, A_DIM, "message    ");
        term_put(row, x, w - x, A_NORMAL, v->last_message);
    }
    row++;

    /* Attempts. */
    int att_rows = v->n_att < 6 ? v->n_att : 6;
    if (h - (row - y) < 8)
        att_rows = v->n_att < 2 ? v->n_att : 2;
    term_fill(row, 0, w, A_BOLD | A_UNDERLINE);
    bool remote = v->n_att > 0 && v->att[0].label[0];
    term_put(row, 0, w, A_BOLD | A_UNDERLINE,
             remote ? "  N  STARTED   DURATION  WHERE    OUTCOME      EXIT      MESSAGE"
                    : "  N  STARTED   DURATION  PID      OUTCOME      EXIT      MESSAGE");
    row++;
    int first = v->cur - att_rows + 1;
    if (first < 0)
        first = 0;
    for (int i = first; i < v->n_att && i < first + att_rows; i++, row++) {
        struct attempt_row *at = &v->att[i];
        attr_t base = i == v->cur ? A_REVERSE : A_NORMAL;
        if (i == v->cur)
            term_fill(row, 0, w, base);
        /* An ended attempt without a duration: its end is not known (a
         * crash); "-", not a time that grows. */
        double dur = at->duration >= 0 ? at->duration
                     : at->outcome[0]  ? -1
                                       : (at->ended > 0 ? at->ended : t->now) - at->started;
        char exitw[32] = "";
        if (at->has_sig && at->sig)
            snprintf(exitw, sizeof exitw, "SIG%s", sig_name(at->sig));
        else if (at->has_exit)
            snprintf(exitw, sizeof exitw, "%lld", (long long)at->exit_code);
        char where[32];
        if (at->label[0])
            snprintf(where, sizeof where, "%s", at->label); /* another executor's id */
        else
            snprintf(where, sizeof where, "%lld", (long long)at->pid);
        x = term_putf(row, 0, w, base, "%3lld  %-8s  %-8s  %-7s  ", (long long)at->n,
                      tui_fmt_clock(at->started, a, sizeof a), tui_fmt_dur(dur, b, sizeof b),
                      where);
        x += term_putf(row, x, w - x, base | term_attr(term_state_color(at->outcome)), "%-11s",
                       at->outcome[0] ? at->outcome : "live");
        x += term_putf(row, x, w - x, base, "  %-8s  ", exitw);
        term_put(row, x, w - x, base, at->message);
    }
    if (v->n_att == 0)
        term_put(row++, 2, w - 2, A_DIM, "no attempt yet");

    draw_log_tail(v, t, row, y, h, w); /* the selected attempt's log tail */
}

static enum tui_result part_key(struct tui_view *vv, struct tui *t, enum tui_cmd cmd, int ch)
{
    struct part_view *v = (struct part_view *)vv;
    (void)ch;
    switch (cmd) {
    case TUI_CMD_UP:
        if (v->cur > 0) {
            v->cur--;
            select_attempt(v);
        }
        return TUI_REDRAW;
    case TUI_CMD_DOWN:
        if (v->cur < v->n_att - 1) {
            v->cur++;
            select_attempt(v);
        }
        return TUI_REDRAW;
    case TUI_CMD_HOME:
        v->cur = 0;
        select_attempt(v);
        return TUI_REDRAW;
    case TUI_CMD_END:
        v->cur = v->n_att > 0 ? v->n_att - 1 : 0;
        select_attempt(v);
        return TUI_REDRAW;
    case TUI_CMD_BACK:
        return TUI_POP;
    case TUI_CMD_OPEN:
    case TUI_CMD_LOG: {
        if (!v->log_file) {
            tui_status(t, A_NORMAL, "this attempt has no log");
            return TUI_REDRAW;
        }
        char title[64];
        snprintf(title, sizeof title, "log of attempt %lld", (long long)v->att[v->cur].n);
        t->pushed = view_text_new(t, title, NULL, v->log_file);
        return TUI_PUSH;
    }
    case TUI_CMD_ERRORS:
        t->pushed = view_errors_new(t, vv->run_id, v->idx, false);
        return TUI_PUSH;
    case TUI_CMD_YANK:
        return tui_yank(t, vv->run_id, &v->idx, 1);
    case TUI_CMD_RETRY:
    case TUI_CMD_RETRY_SCRATCH:
    case TUI_CMD_KILL:
    case TUI_CMD_SKIP:
        tui_partition_action(t, vv->run_id, cmd, &v->idx, 1, NULL);
        return TUI_RELOAD;
    default:
        return TUI_OK;
    }
}

static void part_crumb(struct tui_view *vv, struct ns_buf *out)
{
    struct part_view *v = (struct part_view *)vv;
    buf_addf(out, "partition %lld", (long long)v->idx);
}

static void part_free(struct tui_view *vv)
{
    struct part_view *v = (struct part_view *)vv;
    clear_fields(v);
    clear_attempts(v);
    free(v->log_file);
    free(v->log_text);
    free(v);
}

static const struct tui_view_ops part_ops = {
    "partition", TUI_SCOPE_PART, part_free, part_load, part_poll, part_draw, part_key, part_crumb,
};

struct tui_view *view_partition_new(struct tui *t, int64_t run_id, int64_t idx)
{
    struct part_view *v = ns_xcalloc(1, sizeof *v);
    v->base.ops = &part_ops;
    v->base.run_id = run_id;
    v->t = t;
    v->idx = idx;
    v->cur_id = -1;
    return &v->base;
}
