/*
 * console.c - the console's one event loop, its view stack, and the path of
 * operator actions.
 *
 * Refresh policy: getch() waits at most NIGHTSHIFT_CONSOLE_REFRESH_MS
 * (default 250 ms, 4 Hz). Each turn asks SQLite for PRAGMA data_version,
 * which changes only when another connection committed; the top view
 * re-reads its keyset pages only then (or after a key), so an idle console
 * costs one cheap pragma per turn. Each read is its own implicit transaction
 * that ends before the next getch(): no read transaction is ever held while
 * waiting. The screen is repainted with erase()+refresh(), which lets
 * ncurses send only the differences (no flicker).
 *
 * Actions: control_submit() on a second, client-mode handle; the verdict
 * is polled without blocking and shown on the status line.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nightshift/cli.h"
#include "nightshift/control.h"
#include "nightshift/escape.h"
#include "nightshift/query.h"
#include "tui-internal.h"

/* ---- helpers shared by the views ---- */

char *tui_esc(const struct tui *t, const void *data, size_t len)
{
    if (!data)
        return ns_xstrdup("");
    return escape_dup(data, len, t->esc_flags);
}

char *tui_esc_line(const struct tui *t, const char *s)
{
    size_t n = strlen(s);
    char *copy = ns_xstrndup(s, n);
    while (n > 0 && copy[n - 1] == '\n')
        n--;
    for (size_t i = 0; i < n; i++)
        if (copy[i] == '\n')
            copy[i] = ' ';
    char *e = tui_esc(t, copy, n);
    free(copy);
    return e;
}

size_t tui_cause_cut(const char *msg, size_t len, size_t *from)
{
    /* "exit 3 after 3.0s: cause" -> "exit 3" + ": cause": the duration
     * before the first ": " is boilerplate next to the cause. */
    const char *colon = memchr(msg, ':', len);
    if (!colon) { /* no cause follows: the duration is all there is */
        *from = len;
        return len;
    }
    size_t head = (size_t)(colon - msg);
    static const char after[] = " after ";
    for (size_t i = 0; i + sizeof after - 1 <= head; i++) {
        if (memcmp(msg + i, after, sizeof after - 1) != 0)
            continue;
        size_t j = i + sizeof after - 1;
        size_t k = j;
        while (k < head &&
               (isdigit((unsigned char)msg[k]) || msg[k] == '.' || strchr("hmsdw", msg[k])))
            k++;
        if (k > j && k == head && isdigit((unsigned char)msg[j])) {
            *from = k;
            return i;
        }
    }
    *from = len;
    return len;
}

char *tui_esc_cause(const struct tui *t, const char *msg, size_t len)
{
    size_t from, cut = tui_cause_cut(msg, len, &from);
    if (cut == len)
        return tui_esc(t, msg, len);
    /* The cause first, so a narrow column still shows it: "cause (exit 3)". */
    size_t c = from;
    while (c < len && (msg[c] == ':' || msg[c] == ' '))
        c++;
    struct ns_buf b = NS_BUF_INIT;
    static const char timed_out[] = "timed out";
    if (cut == sizeof timed_out - 1 && memcmp(msg, timed_out, cut) == 0) {
        /* A timeout is the cause; what the worker said last is not: a
         * narrow column must still show "timed out". */
        buf_adds(&b, "timed out: ");
        buf_add(&b, msg + c, len - c);
    } else {
        buf_add(&b, msg + c, len - c);
        buf_adds(&b, " (");
        buf_add(&b, msg, cut);
        buf_addc(&b, ')');
    }
    char *e = tui_esc(t, b.data, b.len);
    buf_release(&b);
    return e;
}

void tui_status(struct tui *t, attr_t attr, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->status, sizeof t->status, fmt, ap);
    va_end(ap);
    t->status_attr = attr;
    t->status_at = ns_monotonic();
    t->status_run = 0;
}

/* An action's line: shown only in the views of the run it is about. */
static void action_status(struct tui *t, int64_t run_id, attr_t attr, const char *what,
                          const char *word, const char *text)
{
    char *safe = tui_esc(t, text, strlen(text));
    tui_status(t, attr, "%s: %s%s%s", what, word, word[0] ? ": " : "", safe);
    free(safe);
    t->status_run = run_id;
}

char *tui_fmt_dur(double seconds, char *out, size_t len)
{
    if (!(seconds >= 0) || seconds > 1e9) {
        snprintf(out, len, "-");
        return out;
    }
    int64_t s = (int64_t)seconds;
    if (s < 60)
        snprintf(out, len, "%llds", (long long)s);
    else if (s < 3600)
        snprintf(out, len, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
    else if (s < 86400)
        snprintf(out, len, "%lldh%02lldm", (long long)(s / 3600), (long long)(s / 60 % 60));
    else
        snprintf(out, len, "%lldd%02lldh", (long long)(s / 86400), (long long)(s / 3600 % 24));
    return out;
}

char *tui_fmt_rate(double per_s, char *out, size_t len)
{
    if (!(per_s > 0))
        snprintf(out, len, "-");
    else if (per_s >= 10000)
        snprintf(out, len, "%.0fk/s", per_s / 1000);
    else if (per_s >= 100)
        snprintf(out, len, "%.0f/s", per_s);
    else
        snprintf(out, len, "%.1f/s", per_s);
    return out;
}

char *tui_fmt_count(int64_t n, char *out, size_t len)
{
    if (n < 100000)
        snprintf(out, len, "%lld", (long long)n);
    else if (n < 1000000)
        snprintf(out, len, "%.1fk", (double)n / 1e3);
    else
        snprintf(out, len, "%.2fM", (double)n / 1e6);
    return out;
}

char *tui_fmt_clock(double epoch, char *out, size_t len)
{
    if (!(epoch > 0)) {
        snprintf(out, len, "-");
        return out;
    }
    time_t tt = (time_t)epoch;
    struct tm tm;
    localtime_r(&tt, &tm);
    strftime(out, len, "%H:%M:%S", &tm);
    return out;
}

void tui_sparkline(const struct tui *t, int y, int x, int w, const double *vals, int n, attr_t attr)
{
    static const char *const blocks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    static const char ascii[] = "_.-:=+*#";
    if (w <= 0)
        return;
    double max = 0;
    for (int i = 0; i < n; i++)
        if (vals[i] > max)
            max = vals[i];
    char buf[2048];
    size_t o = 0;
    int start = n > w ? n - w : 0;
    for (int i = start; i < n && o + 4 < sizeof buf; i++) {
        int lvl = max > 0 ? (int)(vals[i] / max * 7.0 + 0.5) : 0;
        if (lvl < 0)
            lvl = 0;
        if (lvl > 7)
            lvl = 7;
        if (t->utf8) {
            size_t bl = strlen(blocks[lvl]);
            memcpy(buf + o, blocks[lvl], bl);
            o += bl;
        } else {
            buf[o++] = ascii[lvl];
        }
    }
    buf[o] = '\0';
    term_put(y, x, w, attr, buf);
}

/* ---- status-line dialogs ---- */

static int dialog_key(void)
{
    for (;;) {
        int ch = getch();
        if (term_signal())
            return 27;
        if (ch != ERR && ch != KEY_RESIZE)
            return ch;
    }
}

/* A question (and what is typed) in full, wrapped upwards from the
 * status row at 80 columns; returns the column after its end. */
static int dialog_line(const char *text)
{
    int end = 0;
    term_put_wrapped(LINES - 2, COLS, LINES - 3, term_attr(TUI_C_TITLE) | A_BOLD, true, text,
                     &end);
    refresh();
    return end;
}

int tui_choose(struct tui *t, const char *question, const char *choices)
{
    (void)t;
    dialog_line(question);
    int ch = dialog_key();
    if (ch >= 'A' && ch <= 'Z')
        ch += 'a' - 'A';
    return ch > 0 && ch < 128 && strchr(choices, ch) ? ch : 0;
}

bool tui_confirm(struct tui *t, const char *question)
{
    char *q = ns_xasprintf("%s [y/N] ", question);
    bool yes = tui_choose(t, q, "y") == 'y';
    free(q);
    return yes;
}

bool tui_prompt(struct tui *t, const char *label, char *out, size_t outlen)
{
    size_t len = strlen(out);
    curs_set(1);
    bool ok = false;
    for (;;) {
        char *shown = tui_esc(t, out, len);
        char *line = ns_xasprintf("%s%s", label, shown);
        int tw = dialog_line(line);
        move(LINES - 2, tw < COLS ? tw : COLS - 1);
        free(line);
        free(shown);
        refresh();
        int ch = dialog_key();
        if (ch == 27) {
            break;
        } else if (ch == '\r' || ch == '\n' || ch == KEY_ENTER) {
            ok = true;
            break;
        } else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
            /* Drop a whole UTF-8 character. */
            while (len > 0 && ((unsigned char)out[len - 1] & 0xc0) == 0x80)
                len--;
            if (len > 0)
                len--;
            out[len] = '\0';
        } else if (ch == 21) { /* ^U */
            len = 0;
            out[0] = '\0';
        } else if (ch >= 0x20 && ch < 0x100 && ch != 0x7f && len + 1 < outlen) {
            out[len++] = (char)ch;
            out[len] = '\0';
        }
    }
    curs_set(0);
    return ok;
}

/* ---- operator actions ---- */

bool tui_client(struct tui *t, const char *what)
{
    char err[512];
    if (!t->client_open) {
        if (store_open(&t->client, t->st.path, NS_STORE_CLIENT, err, sizeof err) != 0) {
            tui_status(t, term_attr(TUI_C_BAD), "%s: %s", what, err);
            return false;
        }
        t->client_open = true;
    }
    return true;
}

void tui_command(struct tui *t, int64_t run_id, const char *verb, const char *args_json,
                 const char *what)
{
    char err[512];
    if (t->read_only) {
        tui_status(t, term_attr(TUI_C_BAD), "read-only console: %s refused", what);
        return;
    }
    if (run_id <= 0) {
        tui_status(t, term_attr(TUI_C_WAIT), "no run selected");
        return;
    }
    if (!tui_client(t, what))
        return;
    /* The one submit policy, the CLI's words (control.h). */
    struct ns_submit sub;
    if (control_issue(&t->client, run_id, verb, args_json, "console", &sub, err, sizeof err) != 0) {
        tui_status(t, term_attr(TUI_C_BAD), "%s: %s", what, err);
        return;
    }
    if (sub.outcome == NS_SUBMIT_REFUSED) {
        action_status(t, run_id, term_attr(TUI_C_BAD), what, "refused", sub.why);
        return;
    }
    t->submitted++; /* sent or queued: the command will be applied */
    if (sub.outcome == NS_SUBMIT_QUEUED) {
        action_status(t, run_id, term_attr(TUI_C_WAIT), what, "queued", sub.why);
        return;
    }
    t->pending_cmd = sub.cmd_id;
    t->pending_run = run_id;
    snprintf(t->pending_verb, sizeof t->pending_verb, "%s", verb);
    t->pending_since = ns_monotonic();
    snprintf(t->pending_what, sizeof t->pending_what, "%s", what);
    char sent[64];
    snprintf(sent, sizeof sent, "command %lld, waiting for the runtime", (long long)sub.cmd_id);
    action_status(t, run_id, term_attr(TUI_C_WAIT), what, "sent", sent);
}

/* Checks the verdict of the pending command without waiting. */
static bool poll_command(struct tui *t)
{
    if (!t->pending_cmd)
        return false;
    char result[1200];
    int r = control_verdict(&t->client, t->pending_run, t->pending_cmd, t->pending_verb, 0, result,
                            sizeof result);
    if (r == 2) {
        /* A live runtime has not decided yet: say so once, after a while. */
        if (ns_monotonic() - t->pending_since > 10 && !strstr(t->status, "not decided yet")) {
            char more[96];
            snprintf(more, sizeof more, "not decided yet (command %lld; the runtime is alive)",
                     (long long)t->pending_cmd);
            action_status(t, t->pending_run, term_attr(TUI_C_WAIT), t->pending_what, "", more);
            return true;
        }
        return false;
    }
    static const struct {
        const char *word;
        enum tui_color color;
    } verdicts[] = {
        {"refused", TUI_C_BAD}, {"applied", TUI_C_OK}, {"", TUI_C_BAD}, {"queued", TUI_C_WAIT}};
    int k = r == 0 ? 0 : r == 1 ? 1 : r == 3 ? 3 : 2;
    action_status(t, t->pending_run, term_attr(verdicts[k].color), t->pending_what,
                  verdicts[k].word, result);
    t->pending_cmd = 0;
    return true;
}

/* verb with args (the one builder, control.h) against run_id. */
static void tui_verb(struct tui *t, int64_t run_id, const char *verb,
                     const struct ns_control_args *args, const char *what)
{
    struct ns_buf json = NS_BUF_INIT;
    control_args_json(verb, args, &json);
    tui_command(t, run_id, verb, json.data, what);
    buf_release(&json);
}

bool tui_partition_action(struct tui *t, int64_t run_id, enum tui_cmd cmd, const int64_t *idx,
                          size_t n, const char *signature)
{
    if (cmd != TUI_CMD_RETRY && cmd != TUI_CMD_RETRY_SCRATCH && cmd != TUI_CMD_KILL &&
        cmd != TUI_CMD_SKIP)
        return false;
    if (!signature && n == 0) {
        tui_status(t, term_attr(TUI_C_WAIT), "no partition selected");
        return true;
    }
    struct ns_buf what = NS_BUF_INIT;
    struct ns_control_args args = {.partitions = idx, .npartitions = n, .signature = signature};
    int64_t touch = (int64_t)n; /* partitions the action will touch */
    if (signature) {
        /* The group retry|skip --signature acts on: the one definition. */
        touch = query_failure_group_count(&t->st, run_id, signature);
        char *safe = tui_esc(t, signature, strlen(signature));
        buf_addf(&what, "%lld partition%s of group \"%.60s\"", (long long)touch,
                 touch == 1 ? "" : "s", safe);
        free(safe);
    } else if (n == 1) {
        buf_addf(&what, "partition %lld", (long long)idx[0]);
    } else {
        buf_addf(&what, "%zu marked partitions", n);
    }
    if (signature && touch <= 0) {
        tui_status(t, term_attr(TUI_C_WAIT), "no partition is in this group now");
        buf_release(&what);
        return true;
    }
    char q[600], words[300];
    char reason[256] = "";
    const char *verb = NULL;
    switch (cmd) {
    case TUI_CMD_RETRY:
        snprintf(q, sizeof q, "Retry %s from %s checkpoint?", what.data,
                 touch == 1 ? "its" : "their");
        if (touch == 1) {
            /* One partition: retrying is not destructive, no question. */
        } else if (!tui_confirm(t, q)) {
            goto cancel;
        }
        verb = "retry";
        snprintf(words, sizeof words, "retry %s", what.data);
        break;
    case TUI_CMD_RETRY_SCRATCH:
        snprintf(q, sizeof q, "Retry %s FROM SCRATCH (checkpoint discarded)?", what.data);
        if (!tui_confirm(t, q))
            goto cancel;
        verb = "retry";
        args.from_scratch = true;
        snprintf(words, sizeof words, "retry from scratch %s", what.data);
        break;
    case TUI_CMD_KILL:
        if (signature) {
            tui_status(t, term_attr(TUI_C_WAIT), "kill works on partitions, not on groups");
            goto out;
        }
        snprintf(q, sizeof q, "Kill the running attempt of %s?", what.data);
        if (!tui_confirm(t, q))
            goto cancel;
        verb = "kill";
        snprintf(words, sizeof words, "kill %s", what.data);
        break;
    default: /* SKIP */
        snprintf(q, sizeof q, "Skip %s - reason: ", what.data);
        if (!tui_prompt(t, q, reason, sizeof reason) || !reason[0])
            goto cancel;
        snprintf(q, sizeof q, "Skip %s (it will not run again)?", what.data);
        if (!tui_confirm(t, q))
            goto cancel;
        args.reason = reason;
        verb = "skip";
        snprintf(words, sizeof words, "skip %s", what.data);
        break;
    }
    tui_verb(t, run_id, verb, &args, words);
    goto out;
cancel:
    tui_status(t, A_NORMAL, "cancelled");
out:
    buf_release(&what);
    return true;
}

/* Whether run_id waits for its window (its runtime says so in the reason:
 * window.c), and then the question that forces it open (resume --force, as
 * the CLI asks for it). The runtime still decides: forced in an open window
 * is an ordinary resume. */
static bool waits_for_window(struct tui *t, int64_t run_id, char *q, size_t qlen)
{
    struct ns_run_summary r;
    char err[256];
    if (query_run_summary(&t->st, run_id, t->now, &r, err, sizeof err) != 1)
        return false;
    const char *why = r.alive && r.state_reason ? r.state_reason : "";
    bool waits = strstr(why, "waiting for window") || strstr(why, "(on_close: pause)");
    if (waits) {
        char *safe = tui_esc(t, why, strlen(why));
        snprintf(q, qlen, "Run %lld: %.100s. Start it now, outside its window (forced, audited)?",
                 (long long)run_id, safe);
        free(safe);
    }
    query_run_summary_release(&r);
    return waits;
}

/* Run-level actions, the same from every view that knows its run. */
static void run_action(struct tui *t, int64_t run_id, enum tui_cmd cmd)
{
    char q[200], what[100];
    switch (cmd) {
    case TUI_CMD_PAUSE:
        snprintf(what, sizeof what, "pause run %lld", (long long)run_id);
        tui_verb(t, run_id, "pause", &(struct ns_control_args){0}, what);
        break;
    case TUI_CMD_RESUME: {
        bool force = false;
        if (waits_for_window(t, run_id, q, sizeof q)) {
            if (!tui_confirm(t, q)) {
                tui_status(t, A_NORMAL, "cancelled");
                break;
            }
            force = true;
        }
        snprintf(what, sizeof what, "resume%s run %lld", force ? " --force" : "",
                 (long long)run_id);
        tui_verb(t, run_id, "resume", &(struct ns_control_args){.force = force}, what);
        break;
    }
    case TUI_CMD_STOP:
    case TUI_CMD_STOP_NOW: {
        bool now = cmd == TUI_CMD_STOP_NOW;
        snprintf(q, sizeof q, "%s run %lld?",
                 now ? "Stop NOW (workers killed)" : "Stop gracefully (SIGTERM, grace, kill)",
                 (long long)run_id);
        if (!tui_confirm(t, q)) {
            tui_status(t, A_NORMAL, "cancelled");
            break;
        }
        snprintf(what, sizeof what, "stop%s run %lld", now ? " now" : "", (long long)run_id);
        tui_verb(t, run_id, "stop", &(struct ns_control_args){.now = now}, what);
        break;
    }
    case TUI_CMD_CONCURRENCY: {
        char num[16] = "";
        snprintf(q, sizeof q, "concurrency for run %lld: ", (long long)run_id);
        int64_t n = 0;
        if (!tui_prompt(t, q, num, sizeof num) || !num[0]) {
            tui_status(t, A_NORMAL, "cancelled");
            break;
        }
        if (ns_parse_int64(num, &n) != 0 || n < 1 || n > 100000) {
            tui_status(t, term_attr(TUI_C_BAD), "concurrency must be a whole number >= 1");
            break;
        }
        snprintf(what, sizeof what, "set concurrency=%lld on run %lld", (long long)n,
                 (long long)run_id);
        tui_verb(t, run_id, "set", &(struct ns_control_args){.concurrency = n}, what);
        break;
    }
    case TUI_CMD_RETRY_FAILED: {
        struct ns_part_select failed = {.run_id = run_id, .filter = NS_PF_FAILED};
        int64_t nf = query_partition_count(&t->st, &failed);
        snprintf(q, sizeof q,
                 "Retry ALL %lld failed partition%s of run %lld? [y] from checkpoint, [s] from "
                 "scratch, [N]o ",
                 (long long)nf, nf == 1 ? "" : "s", (long long)run_id);
        int c = tui_choose(t, q, "ys");
        if (!c) {
            tui_status(t, A_NORMAL, "cancelled");
            break;
        }
        snprintf(what, sizeof what, "retry all failed of run %lld%s", (long long)run_id,
                 c == 's' ? " from scratch" : "");
        tui_verb(t, run_id, "retry",
                 &(struct ns_control_args){.failed = true, .from_scratch = c == 's'}, what);
        break;
    }
    default:
        break;
    }
}

/* ---- the loop ---- */

static void draw(struct tui *t)
{
    erase();
    int w = COLS, h = LINES;
    struct tui_view *top = t->stack[t->depth - 1];

    /* Breadcrumbs. */
    attr_t title = term_attr(TUI_C_TITLE);
    term_fill(0, 0, w, title);
    struct ns_buf crumbs = NS_BUF_INIT;
    for (int i = 0; i < t->depth; i++) {
        if (i)
            buf_adds(&crumbs, " > ");
        t->stack[i]->ops->crumb(t->stack[i], &crumbs);
    }
    char right[80], clock[16];
    snprintf(right, sizeof right, "%s%s %s", t->frozen ? "FROZEN " : "",
             t->read_only ? "read-only" : "", tui_fmt_clock(t->now, clock, sizeof clock));
    int rw = term_width(right);
    /* Keep the end of long breadcrumbs: that is where the operator is. */
    const char *c = crumbs.data ? crumbs.data : "";
    int avail = w - rw - 2;
    while (term_width(c) > avail && *c) {
        c++;
        while ((*c & 0xc0) == 0x80)
            c++;
    }
    term_put(0, 0, avail, title, c);
    if (rw < w)
        term_put(0, w - rw, rw, t->frozen ? (title | A_BLINK | A_BOLD) : title, right);
    buf_release(&crumbs);

    /* The view. */
    int vh = h - 3;
    if (vh > 0) {
        top->height = vh;
        top->ops->draw(top, t, 1, vh, w);
    }

    /* Status line. */
    if (t->status[0] && !t->pending_cmd && ns_monotonic() - t->status_at > 10)
        t->status[0] = '\0';
    /* An action's line stays with its run: not carried into another's view. */
    bool other_run = t->status_run && top->run_id && top->run_id != t->status_run;
    /* Whole, wrapped over the view's last rows: a refusal's command is
     * read to be typed. */
    if (t->status[0] && !other_run)
        term_put_wrapped(h - 2, w, h / 2, t->status_attr, true, t->status, NULL);

    /* Function-key bar, generated from the key table. */
    int x = 0;
    unsigned scope = top->ops->scope;
    term_fill(h - 1, 0, w, term_attr(TUI_C_TITLE));
    for (size_t i = 0; i < tui_n_bindings && x < w; i++) {
        const struct tui_binding *b = &tui_bindings[i];
        if (!b->bar || !(b->scope & scope))
            continue;
        if (t->read_only && (b->flags & TUI_KEY_WRITES))
            continue;
        int kw = term_width(b->keyname), lw = term_width(b->bar);
        if (x + kw + lw > w)
            break;
        x += term_put(h - 1, x, w - x, term_attr(TUI_C_KEY), b->keyname);
        x += term_put(h - 1, x, w - x, term_attr(TUI_C_TITLE), b->bar);
        x += 1;
    }
    const char *tail = t->frozen ? "f:FROZEN" : "f:freeze ?:keys";
    int tw = term_width(tail);
    if (x + tw < w)
        term_put(h - 1, w - tw, tw, term_attr(TUI_C_TITLE) | (t->frozen ? A_BOLD : 0), tail);
    refresh();
}

static void push(struct tui *t, struct tui_view *v)
{
    if (t->depth == TUI_MAX_DEPTH) {
        /* Drop the oldest view above the runs list to make room. */
        t->stack[1]->ops->free(t->stack[1]);
        memmove(&t->stack[1], &t->stack[2], sizeof t->stack[0] * (size_t)(t->depth - 2));
        t->depth--;
    }
    t->stack[t->depth++] = v;
}

static int refresh_ms_from_env(void)
{
    const char *e = getenv("NIGHTSHIFT_CONSOLE_REFRESH_MS");
    int64_t v;
    if (e && ns_parse_int64(e, &v) == 0 && v >= 20 && v <= 10000)
        return (int)v;
    return 250;
}

/* What the loop carries from one turn to the next. */
struct loop {
    int64_t last_dv;     /* the database's data_version last seen */
    bool reload, redraw; /* the top view must re-read / the screen be drawn */
    bool stale, changed; /* data changed while frozen / since the last read */
    /* A view whose reload is expensive (a text filter scanning a million
     * error records) re-reads after a data change at most every 10x its
     * own cost, so a live run can never keep the console busy; a key
     * always re-reads at once. */
    double next_auto_reload;
    double last_draw;
    int last_timeout;
};

/* Reads what changed and draws when something did. */
static void loop_refresh(struct tui *t, struct loop *l)
{
    struct tui_view *top = t->stack[t->depth - 1];
    int64_t v = query_data_version(&t->st);
    if (v != l->last_dv) {
        l->last_dv = v;
        if (t->frozen)
            l->stale = true;
        else
            l->changed = true;
    }
    if (l->changed && ns_monotonic() >= l->next_auto_reload)
        l->reload = true;
    if (poll_command(t))
        l->redraw = true;
    if (!t->frozen && top->ops->poll && top->ops->poll(top, t))
        l->redraw = true;
    if (l->reload) {
        double t0 = ns_monotonic();
        top->ops->load(top, t);
        double cost = ns_monotonic() - t0;
        l->next_auto_reload = t0 + cost + 10 * cost;
        l->reload = l->changed = false;
        l->redraw = true;
    }
    /* Clocks (elapsed, ETA, heartbeat age) move once a second. */
    if (!t->frozen && t->now - l->last_draw >= 1.0)
        l->redraw = true;
    if (l->redraw) {
        draw(t);
        l->last_draw = t->now;
        l->redraw = false;
    }
}

/* One key. Returns false when the console is to end. */
static bool loop_key(struct tui *t, struct loop *l, int ch)
{
    struct tui_view *top = t->stack[t->depth - 1];
    enum tui_cmd cmd = keys_lookup(ch, top->ops->scope);
    l->redraw = true;
    const struct tui_binding *b = NULL;
    for (size_t i = 0; i < tui_n_bindings && !b; i++)
        if (tui_bindings[i].key == ch && (tui_bindings[i].scope & top->ops->scope))
            b = &tui_bindings[i];
    if (b && (b->flags & TUI_KEY_WRITES) && t->read_only) {
        tui_status(t, term_attr(TUI_C_WAIT), "read-only console: actions are disabled");
        return true;
    }
    enum tui_result res = TUI_OK;
    switch (cmd) {
    case TUI_CMD_QUIT:
        return false;
    case TUI_CMD_HELP: {
        struct ns_buf help = NS_BUF_INIT;
        keys_help_text(top->ops->scope, t->read_only, &help);
        t->pushed = view_text_new(t, "help", buf_detach(&help), NULL);
        res = TUI_PUSH;
        break;
    }
    case TUI_CMD_POOLS:
        t->pushed = view_pools_new(t);
        res = TUI_PUSH;
        break;
    case TUI_CMD_GREP:
        t->pushed = tui_grep_view(t, top->run_id);
        res = t->pushed ? TUI_PUSH : TUI_OK;
        break;
    case TUI_CMD_FREEZE:
        t->frozen = !t->frozen;
        tui_status(t, A_NORMAL, "%s",
                   t->frozen ? "display frozen: press f to resume updates"
                             : "live updates resumed");
        if (!t->frozen && l->stale) {
            l->reload = true;
            l->stale = false;
        }
        break;
    case TUI_CMD_REDRAW:
        clearok(curscr, TRUE);
        l->reload = true;
        break;
    case TUI_CMD_PAUSE:
    case TUI_CMD_RESUME:
    case TUI_CMD_STOP:
    case TUI_CMD_STOP_NOW:
    case TUI_CMD_RETRY_FAILED:
    case TUI_CMD_CONCURRENCY:
        run_action(t, top->run_id, cmd);
        break;
    default:
        res = top->ops->key(top, t, cmd, ch);
        break;
    }
    switch (res) {
    case TUI_QUIT:
        return false;
    case TUI_RELOAD:
        l->reload = true;
        break;
    case TUI_PUSH:
        if (t->pushed) {
            push(t, t->pushed);
            t->pushed = NULL;
            l->reload = true;
        }
        break;
    case TUI_POP:
        if (t->depth == 1)
            return false;
        top->ops->free(top);
        t->depth--;
        l->reload = true;
        break;
    default:
        break;
    }
    return true;
}

int tui_run(const struct tui_options *opt, char *err, size_t errlen)
{
    struct tui t;
    memset(&t, 0, sizeof t);
    t.st = *opt->store;
    const char *path = t.st.path;
    t.read_only = opt->read_only;
    t.refresh_ms = refresh_ms_from_env();
    const struct tui_theme *theme = theme_choose(opt->theme, err, errlen);
    if (!theme) {
        store_close(&t.st);
        return NS_EXIT_USAGE;
    }
    if (term_init(theme, &t.utf8, &t.color, err, errlen) != 0) {
        store_close(&t.st);
        return NS_EXIT_ERROR;
    }
    t.esc_flags = t.utf8 ? 0 : NS_ESC_ASCII;
    push(&t, view_runs_new(&t));
    if (opt->run_id > 0)
        push(&t, view_run_new(&t, opt->run_id));
    struct loop l = {.last_dv = -2, .reload = true, .redraw = true, .last_timeout = -1};
    int status = NS_EXIT_OK;
    err[0] = '\0';
    for (;;) {
        t.now = ns_now();
        if (term_signal())
            break;
        if (access(path, F_OK) != 0 && errno == ENOENT) {
            ns_errf(err, errlen, "database %s disappeared", path);
            status = NS_EXIT_ERROR;
            break;
        }
        loop_refresh(&t, &l);
        int to = t.pending_cmd ? 50 : t.refresh_ms;
        if (to != l.last_timeout) {
            timeout(to);
            l.last_timeout = to;
        }
        int ch = getch();
        if (ch == ERR)
            continue;
        if (ch == KEY_RESIZE) {
            l.redraw = true;
            l.reload = true; /* page heights changed */
            continue;
        }
        if (!loop_key(&t, &l, ch))
            break;
    }
    term_restore();
    for (int i = t.depth - 1; i >= 0; i--)
        t.stack[i]->ops->free(t.stack[i]);
    if (t.client_open)
        store_close(&t.client);
    store_close(&t.st);
    return status;
}
