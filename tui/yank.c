/*
 * yank.c - y: the selected key, the error text, or the exact command that
 * retries or resumes the run, to the clipboard over OSC 52.
 *
 * OSC 52 is the one way that works over ssh: the terminal the operator
 * sits at sets its clipboard. Inside tmux the sequence is sent twice:
 * plain, which tmux takes into a paste buffer (and passes on) with
 * `set-clipboard on`, and wrapped in tmux's DCS passthrough, which reaches
 * the outer terminal with `allow-passthrough on`. The commands come from
 * the one builder (control_resume_command) and are also shown in full in
 * a text view, as the status line would cut them.
 *
 * Worker bytes (keys, messages) are yanked as the console shows them,
 * escaped: no control byte reaches a clipboard and then a shell.
 */
#include <stdlib.h>
#include <string.h>

#include "nightshift/control.h"
#include "tui-internal.h"

/* At most this many partitions' keys or messages in one yank. */
enum { YANK_MAX_ROWS = 1000 };

void tui_clipboard(const char *text, size_t len)
{
    struct ns_buf b64 = NS_BUF_INIT, seq = NS_BUF_INIT;
    buf_add_base64(&b64, text, len);
    buf_adds(&seq, "\033]52;c;");
    buf_add(&seq, b64.data ? b64.data : "", b64.len);
    buf_adds(&seq, "\a");
    const char *tmux = getenv("TMUX");
    if (tmux && *tmux) {
        /* DCS passthrough: every ESC inside doubled. */
        buf_adds(&seq, "\033Ptmux;\033\033]52;c;");
        buf_add(&seq, b64.data ? b64.data : "", b64.len);
        buf_adds(&seq, "\a\033\\");
    }
    term_send(seq.data);
    buf_release(&seq);
    buf_release(&b64);
}

/* True when s holds a control byte (it would reach a shell raw). */
static bool has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

/* The keys or the messages of idx[0..n), one a line, escaped. */
static int collect(struct tui *t, int64_t run_id, const int64_t *idx, size_t n, bool messages,
                   struct ns_buf *out)
{
    int got = 0;
    for (size_t i = 0; i < n && i < YANK_MAX_ROWS; i++) {
        struct ns_part_row q;
        char err[256];
        if (query_partition(&t->st, run_id, idx[i], &q, err, sizeof err) == 1) {
            const char *s = messages ? (q.last_message ? q.last_message : "") : q.key;
            char *e = tui_esc(t, s, strlen(s));
            if (got)
                buf_addc(out, '\n');
            if (messages && n > 1)
                buf_addf(out, "#%lld: ", (long long)idx[i]);
            buf_adds(out, e);
            free(e);
            got++;
        }
        query_part_row_release(&q);
    }
    return got;
}

enum tui_result tui_yank(struct tui *t, int64_t run_id, const int64_t *idx, size_t n)
{
    int c = tui_choose(t,
                       "yank: [k]ey [e]rror text [r]etry command (failed partitions) "
                       "[c]ommand that resumes the run ",
                       "kerc");
    if (!c) {
        tui_status(t, A_NORMAL, "cancelled");
        return TUI_REDRAW;
    }
    if (c == 'k' || c == 'e') {
        if (n == 0) {
            tui_status(t, term_attr(TUI_C_WAIT), "no partition selected");
            return TUI_REDRAW;
        }
        struct ns_buf text = NS_BUF_INIT;
        int got = collect(t, run_id, idx, n, c == 'e', &text);
        tui_clipboard(text.data ? text.data : "", text.len);
        const char *what = c == 'k' ? "key" : "error text";
        if (got == 1)
            tui_status(t, A_NORMAL, "yanked the %s of partition %lld (%zu bytes) to the clipboard",
                       what, (long long)idx[0], text.len);
        else
            tui_status(t, A_NORMAL, "yanked the %s of %d partitions (%zu bytes) to the clipboard",
                       what, got, text.len);
        buf_release(&text);
        return TUI_REDRAW;
    }
    char *cmd = control_resume_command(&t->st, run_id, c == 'r' ? "--retry-failed" : NULL);
    bool raw = has_control(cmd);
    char *shown = tui_esc(t, cmd, strlen(cmd));
    if (!raw)
        tui_clipboard(cmd, strlen(cmd));
    struct ns_buf text = NS_BUF_INIT;
    buf_addf(&text, "%s\n\n%s\n\n%s\n",
             c == 'r' ? "Retries the run's failed partitions (a runtime for the run):"
                      : "Resumes the run (a runtime for the run):",
             shown,
             raw ? "Not yanked: it holds control bytes (shown escaped above)."
                 : "Yanked to the clipboard (OSC 52). q: back.");
    free(shown);
    free(cmd);
    t->pushed = view_text_new(t, c == 'r' ? "retry command" : "resume command",
                              buf_detach(&text), NULL);
    tui_status(t, raw ? term_attr(TUI_C_WAIT) : A_NORMAL, "%s",
               raw ? "the command holds control bytes: not yanked"
                   : "yanked the command to the clipboard");
    return TUI_PUSH;
}
