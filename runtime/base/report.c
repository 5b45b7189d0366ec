/*
 * report.c - the worker report protocol: incremental parser and builders.
 *
 * The parser is a pure state machine over bytes, fed chunk by chunk (one byte
 * at a time works). Invariants:
 *  - memory is bounded: at most one line (NS_REPORT_MAX_LINE) or one header
 *    plus one payload (NS_REPORT_MAX_PAYLOAD) is buffered; an overlong line
 *    and an oversized payload are dropped as they stream past, unbuffered;
 *  - it never fails: whatever cannot be read becomes one MALFORMED message
 *    with a reason, and parsing resumes at the next line (or right after a
 *    payload whose length was readable, so framing stays in sync);
 *  - messages are delivered in stream order; their pointers live only during
 *    the callback, which must not feed the same parser.
 *
 * The builders (report_format_*) are the one place that frames messages for
 * writing; `nightshift emit` uses them and include/nightshift/emit.h mirrors
 * them for C workers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "nightshift/report.h"

#define RAW_MAX 200  /* bytes of an offending line kept in a MALFORMED message */
#define QUOTE_MAX 40 /* bytes of a bad argument quoted in a reason */

static const char *const log_levels[] = {"debug", "info", "warn", "error"};

const char *report_kind_name(enum ns_report_kind k)
{
    static const char *const names[] = {
        [NS_REPORT_TOTAL] = "total",
        [NS_REPORT_PROGRESS] = "progress",
        [NS_REPORT_CHECKPOINT] = "checkpoint",
        [NS_REPORT_ERROR] = "error",
        [NS_REPORT_LOG] = "log",
        [NS_REPORT_MALFORMED] = "malformed",
    };
    if ((unsigned)k < NS_ARRAY_LEN(names) && names[k])
        return names[k];
    return "unknown";
}

void report_parser_init(struct ns_report_parser *p)
{
    memset(p, 0, sizeof *p);
}

void report_parser_release(struct ns_report_parser *p)
{
    buf_release(&p->pending);
    memset(p, 0, sizeof *p);
}

static void malformed(ns_report_cb cb, void *ctx, const char *raw, size_t raw_len, const char *fmt,
                      ...) __attribute__((format(printf, 5, 6)));

static void malformed(ns_report_cb cb, void *ctx, const char *raw, size_t raw_len, const char *fmt,
                      ...)
{
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    else if ((size_t)n >= sizeof reason)
        n = sizeof reason - 1;
    struct ns_report_msg m = {.kind = NS_REPORT_MALFORMED};
    m.text = reason;
    m.text_len = (size_t)n;
    m.raw = raw;
    m.raw_len = raw_len < RAW_MAX ? raw_len : RAW_MAX;
    cb(ctx, &m);
}

/* Writes at most QUOTE_MAX bytes of s[0..n) into out (size QUOTE_MAX + 4),
 * with "..." when cut. The reason may still hold any byte; whoever shows it
 * escapes it, like everything else that came from a worker. */
static const char *quoted(char *out, const char *s, size_t n)
{
    size_t k = n < QUOTE_MAX ? n : QUOTE_MAX;
    if (k) /* s may be NULL when n is 0 (an empty pending buffer) */
        memcpy(out, s, k);
    if (k < n)
        memcpy(out + k, "...", 3), k += 3;
    out[k] = '\0';
    return out;
}

/* A non-negative decimal integer, digits only, that fits an int64. */
/* Digits only, no sign, at most INT64_MAX. Millions of "progress N" lines
 * pass here: accumulated in place, no copy and no strtoll. */
static int parse_count(const char *s, size_t n, int64_t *out)
{
    if (n == 0 || n > 19)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > (uint64_t)INT64_MAX)
        return -1;
    *out = (int64_t)v;
    return 0;
}

/* Splits s[0..n) at the first space: head is before it, tail after it (tail
 * is NULL when there is no space). */
static void split(const char *s, size_t n, size_t *head_len, const char **tail, size_t *tail_len)
{
    const char *sp = memchr(s, ' ', n);
    if (!sp) {
        *head_len = n;
        *tail = NULL;
        *tail_len = 0;
        return;
    }
    *head_len = (size_t)(sp - s);
    *tail = sp + 1;
    *tail_len = n - *head_len - 1;
}

/* What a parsed line asks of the parser. */
enum line_action {
    LINE_DONE,    /* handled (delivered or reported) */
    LINE_PAYLOAD, /* an error/LEN header: read LEN payload bytes next */
    LINE_SKIP,    /* drop LEN payload bytes (bad header or too large) */
};

/* Parses "error/LEN KEY MESSAGE" (or "error KEY MESSAGE" when slash is 0).
 * args points after "error/" or "error ". */
struct error_header {
    int64_t len;
    const char *key, *msg;
    size_t key_len, msg_len;
};

static int parse_error_args(const char *s, size_t n, struct error_header *h)
{
    size_t key_len;
    split(s, n, &key_len, &h->msg, &h->msg_len);
    if (key_len == 0)
        return -1;
    h->key = s;
    h->key_len = key_len;
    if (!h->msg)
        h->msg = s + n; /* "error KEY": empty message */
    if (key_len == 1 && s[0] == '-') {
        h->key = NULL; /* "-" means no key */
        h->key_len = 0;
    }
    return 0;
}

static void deliver_error(const struct error_header *h, const unsigned char *payload,
                          size_t payload_len, ns_report_cb cb, void *ctx)
{
    struct ns_report_msg m = {.kind = NS_REPORT_ERROR};
    m.key = h->key;
    m.key_len = h->key_len;
    m.text = h->msg;
    m.text_len = h->msg_len;
    m.payload = payload;
    m.payload_len = payload_len;
    cb(ctx, &m);
}

/* Parses the header of an error/LEN line (line starts with "error/"). Returns
 * 0 with h filled, or -1 after reporting it; *skip is set to LEN when the
 * length was readable, so the caller can stay in sync. */
static int parse_payload_header(const char *line, size_t n, struct error_header *h, int64_t *skip,
                                ns_report_cb cb, void *ctx)
{
    char q[QUOTE_MAX + 4];
    const char *args = line + 6, *rest;
    size_t args_len = n - 6, len_len, rest_len;

    *skip = 0;
    split(args, args_len, &len_len, &rest, &rest_len);
    if (parse_count(args, len_len, &h->len) < 0) {
        malformed(cb, ctx, line, n, "error: payload length \"%s\" is not a number",
                  quoted(q, args, len_len));
        return -1;
    }
    *skip = h->len;
    if (h->len > NS_REPORT_MAX_PAYLOAD) {
        malformed(cb, ctx, line, n, "error: payload of %lld bytes exceeds %d", (long long)h->len,
                  NS_REPORT_MAX_PAYLOAD);
        return -1;
    }
    if (!rest || parse_error_args(rest, rest_len, h) < 0) {
        malformed(cb, ctx, line, n, "error: missing record key (use - for none)");
        return -1;
    }
    return 0;
}

static enum line_action parse_line(const char *line, size_t n, int64_t *payload_len,
                                   ns_report_cb cb, void *ctx)
{
    char q[QUOTE_MAX + 4];
    size_t verb_len, arg_len;
    const char *arg;
    struct ns_report_msg m = {0};

    if (!line || n == 0) /* callers pass n > 0; said here for gcc -fanalyzer */
        return LINE_DONE;
    if (n >= 6 && memcmp(line, "error/", 6) == 0) {
        struct error_header h;
        int rc = parse_payload_header(line, n, &h, payload_len, cb, ctx);
        if (rc < 0)
            return *payload_len > 0 ? LINE_SKIP : LINE_DONE;
        if (h.len == 0) {
            deliver_error(&h, (const unsigned char *)"", 0, cb, ctx);
            return LINE_DONE;
        }
        return LINE_PAYLOAD;
    }

    split(line, n, &verb_len, &arg, &arg_len);
#define VERB(s) (verb_len == sizeof(s) - 1 && memcmp(line, s, verb_len) == 0)
    if (VERB("total") || VERB("progress")) {
        const char *what = VERB("total") ? "total" : "progress";
        m.kind = VERB("total") ? NS_REPORT_TOTAL : NS_REPORT_PROGRESS;
        if (!arg)
            malformed(cb, ctx, line, n, "%s: missing number", what);
        else if (parse_count(arg, arg_len, &m.number) < 0)
            malformed(cb, ctx, line, n, "%s: \"%s\" is not a number", what,
                      quoted(q, arg, arg_len));
        else if (m.number > NS_REPORT_COUNT_MAX)
            malformed(cb, ctx, line, n, "%s: %lld is over %lld, the most a partition may report",
                      what, (long long)m.number, (long long)NS_REPORT_COUNT_MAX);
        else
            cb(ctx, &m);
    } else if (VERB("checkpoint")) {
        if (!arg || arg_len == 0)
            malformed(cb, ctx, line, n, "checkpoint: missing token");
        else if (arg_len > NS_CHECKPOINT_MAX)
            malformed(cb, ctx, line, n, "checkpoint: token of %zu bytes exceeds %d", arg_len,
                      NS_CHECKPOINT_MAX);
        else if (memchr(arg, '\0', arg_len))
            malformed(cb, ctx, line, n, "checkpoint: token contains a NUL byte");
        else {
            m.kind = NS_REPORT_CHECKPOINT;
            m.text = arg;
            m.text_len = arg_len;
            cb(ctx, &m);
        }
    } else if (VERB("error")) {
        struct error_header h;
        if (!arg || parse_error_args(arg, arg_len, &h) < 0)
            malformed(cb, ctx, line, n, "error: missing record key (use - for none)");
        else
            deliver_error(&h, NULL, 0, cb, ctx);
    } else if (VERB("log")) {
        size_t level_len = 0, msg_len = 0;
        const char *msg = NULL;
        int ok = 0;
        if (arg) {
            split(arg, arg_len, &level_len, &msg, &msg_len);
            for (size_t i = 0; i < NS_ARRAY_LEN(log_levels); i++)
                if (strlen(log_levels[i]) == level_len &&
                    memcmp(log_levels[i], arg, level_len) == 0)
                    ok = 1;
        }
        if (!arg || level_len == 0)
            malformed(cb, ctx, line, n, "log: missing level");
        else if (!ok)
            malformed(cb, ctx, line, n,
                      "log: unknown level \"%s\" (expected debug, info, warn or error)",
                      quoted(q, arg, level_len));
        else if (msg && memchr(msg, '\0', msg_len))
            malformed(cb, ctx, line, n, "log: message contains a NUL byte"); /* as checkpoint */
        else {
            m.kind = NS_REPORT_LOG;
            m.key = arg;
            m.key_len = level_len;
            m.text = msg ? msg : arg + arg_len;
            m.text_len = msg_len;
            cb(ctx, &m);
        }
    } else {
        malformed(cb, ctx, line, n, "unknown message \"%s\"", quoted(q, line, verb_len));
    }
#undef VERB
    return LINE_DONE;
}

/* Handles one complete line (without its '\n'). line is either inside the
 * caller's chunk or is p->pending's data. */
static void handle_line(struct ns_report_parser *p, const char *line, size_t n, ns_report_cb cb,
                        void *ctx)
{
    int in_pending = p->pending.data && line == p->pending.data;
    int64_t len = 0;

    if (n > 0 && line[n - 1] == '\r')
        n--;
    enum line_action act = n ? parse_line(line, n, &len, cb, ctx) : LINE_DONE;
    switch (act) {
    case LINE_PAYLOAD:
        /* Keep the header in pending; the payload is appended after it. */
        if (in_pending) {
            p->pending.len = n;
            p->pending.data[n] = '\0';
        } else {
            buf_reset(&p->pending);
            buf_add(&p->pending, line, n);
        }
        p->header_len = n;
        p->payload_need = len;
        return;
    case LINE_SKIP:
        p->skip_payload = len;
        break;
    case LINE_DONE:
        break;
    }
    if (in_pending)
        buf_reset(&p->pending);
}

static void payload_complete(struct ns_report_parser *p, ns_report_cb cb, void *ctx)
{
    struct error_header h;
    int64_t skip;
    /* The header was validated when it arrived; parsing it again cannot fail
     * and avoids keeping pointers into a buffer that may have moved. */
    int rc = parse_payload_header(p->pending.data, p->header_len, &h, &skip, cb, ctx);
    if (rc == 0)
        deliver_error(&h, (const unsigned char *)p->pending.data + p->header_len,
                      (size_t)p->payload_need, cb, ctx);
    p->payload_need = 0;
    p->header_len = 0;
    if (p->pending.cap > 4 * (size_t)NS_REPORT_MAX_LINE)
        buf_release(&p->pending); /* don't keep a megabyte around */
    else
        buf_reset(&p->pending);
}

/* The line a worker sends most, by the million: "progress N\n" whole at
 * s[0..n). Delivered here in one pass and its length returned, or 0 for the
 * general path (which also says what is wrong with a bad one). */
static size_t progress_line(const char *s, size_t n, ns_report_cb cb, void *ctx)
{
    enum { VERB = sizeof "progress " - 1, DIGITS_MAX = 19 };
    if (n <= VERB + 1 || s[0] != 'p' || memcmp(s, "progress ", VERB) != 0)
        return 0;
    /* The digits leave room for the newline; 19 of them fit a uint64_t. */
    size_t i = VERB, lim = n - 1 < VERB + DIGITS_MAX ? n - 1 : VERB + DIGITS_MAX;
    uint64_t v = 0;
    while (i < lim && s[i] >= '0' && s[i] <= '9')
        v = v * 10 + (uint64_t)(s[i++] - '0');
    if (i == VERB || s[i] != '\n' || v > (uint64_t)NS_REPORT_COUNT_MAX)
        return 0; /* the general path says what is wrong */
    struct ns_report_msg m = {.kind = NS_REPORT_PROGRESS, .number = (int64_t)v};
    cb(ctx, &m);
    return i + 1;
}

void report_parser_feed(struct ns_report_parser *p, const void *data, size_t len, ns_report_cb cb,
                        void *ctx)
{
    const char *d = data;

    while (len > 0) {
        if (p->skip_payload > 0) {
            size_t k = (uint64_t)p->skip_payload < len ? (size_t)p->skip_payload : len;
            p->skip_payload -= (int64_t)k;
            d += k, len -= k;
            continue;
        }
        if (p->payload_need > 0) {
            size_t have = p->pending.len - p->header_len;
            size_t want = (size_t)p->payload_need - have;
            size_t k = want < len ? want : len;
            buf_add(&p->pending, d, k);
            d += k, len -= k;
            if (k == want)
                payload_complete(p, cb, ctx);
            continue;
        }
        size_t fast = p->discarding_line || p->pending.len ? 0 : progress_line(d, len, cb, ctx);
        if (fast) {
            d += fast, len -= fast;
            continue;
        }
        const char *nl = memchr(d, '\n', len);
        if (p->discarding_line) {
            if (!nl)
                return;
            p->discarding_line = 0;
            len -= (size_t)(nl + 1 - d);
            d = nl + 1;
            continue;
        }
        size_t seg = nl ? (size_t)(nl - d) : len;
        if (p->pending.len + seg > NS_REPORT_MAX_LINE) {
            char raw[RAW_MAX];
            size_t r = p->pending.len < RAW_MAX ? p->pending.len : RAW_MAX;
            if (r)
                memcpy(raw, p->pending.data, r);
            size_t more = RAW_MAX - r < seg ? RAW_MAX - r : seg;
            memcpy(raw + r, d, more);
            malformed(cb, ctx, raw, r + more, "line of more than %d bytes", NS_REPORT_MAX_LINE);
            buf_release(&p->pending);
            if (!nl) {
                p->discarding_line = 1;
                return;
            }
            len -= seg + 1;
            d = nl + 1;
            continue;
        }
        if (!nl) {
            buf_add(&p->pending, d, len);
            return;
        }
        if (p->pending.len == 0) {
            handle_line(p, d, seg, cb, ctx); /* whole line in this chunk: no copy */
        } else {
            buf_add(&p->pending, d, seg);
            handle_line(p, p->pending.data, p->pending.len, cb, ctx);
        }
        len -= seg + 1;
        d = nl + 1;
    }
}

void report_parser_finish(struct ns_report_parser *p, ns_report_cb cb, void *ctx)
{
    if (p->payload_need > 0) {
        malformed(cb, ctx, p->pending.data, p->header_len,
                  "stream ended inside a payload: got %zu of %lld bytes",
                  p->pending.len - p->header_len, (long long)p->payload_need);
    } else if (p->pending.len > 0 && !p->discarding_line && p->skip_payload == 0) {
        handle_line(p, p->pending.data, p->pending.len, cb, ctx);
        if (p->payload_need > 0) /* a final "error/LEN ..." header and nothing after it */
            malformed(cb, ctx, p->pending.data, p->header_len,
                      "stream ended inside a payload: got 0 of %lld bytes",
                      (long long)p->payload_need);
    }
    buf_release(&p->pending);
    p->payload_need = 0;
    p->skip_payload = 0;
    p->discarding_line = 0;
    p->header_len = 0;
}

/* Appends s[0..n) with '\n' and '\r' turned into spaces, so a message can
 * never end its line early. */
static void add_one_line(struct ns_buf *out, const char *s, size_t n)
{
    size_t start = out->len;
    buf_add(out, s, n);
    for (size_t i = start; i < out->len; i++)
        if (out->data[i] == '\n' || out->data[i] == '\r')
            out->data[i] = ' ';
}

static int check_key(const char *key, size_t n, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c <= 0x20 || c == 0x7f) {
            ns_errf(err, errlen, "record key may not contain %s (byte %zu is 0x%02x)",
                    c == ' ' || c == '\t' ? "whitespace" : "control characters", i + 1, c);
            return -1;
        }
    }
    return 0;
}

int report_format(struct ns_buf *out, const struct ns_report_msg *msg, char *err, size_t errlen)
{
    size_t start = out->len;
    const char *text = msg->text ? msg->text : "";

    switch (msg->kind) {
    case NS_REPORT_TOTAL:
    case NS_REPORT_PROGRESS:
        if (msg->number < 0) {
            ns_errf(err, errlen, "%s must not be negative", report_kind_name(msg->kind));
            return -1;
        }
        if (msg->number > NS_REPORT_COUNT_MAX) {
            ns_errf(err, errlen, "%s %lld is over %lld, the most a partition may report",
                    report_kind_name(msg->kind), (long long)msg->number,
                    (long long)NS_REPORT_COUNT_MAX);
            return -1;
        }
        buf_addf(out, "%s %lld\n", report_kind_name(msg->kind), (long long)msg->number);
        return 0;
    case NS_REPORT_CHECKPOINT:
        if (msg->text_len == 0) {
            ns_errf(err, errlen, "checkpoint token is empty");
            return -1;
        }
        if (msg->text_len > NS_CHECKPOINT_MAX) {
            ns_errf(err, errlen, "checkpoint token of %zu bytes exceeds %d", msg->text_len,
                    NS_CHECKPOINT_MAX);
            return -1;
        }
        if (memchr(text, '\n', msg->text_len) || memchr(text, '\0', msg->text_len) ||
            text[msg->text_len - 1] == '\r') {
            ns_errf(err, errlen, "checkpoint token may not contain a newline or NUL byte");
            return -1;
        }
        buf_add(out, "checkpoint ", 11);
        buf_add(out, text, msg->text_len);
        buf_addc(out, '\n');
        return 0;
    case NS_REPORT_ERROR: {
        const char *key = msg->key_len ? msg->key : "-";
        size_t key_len = msg->key_len ? msg->key_len : 1;
        if (check_key(key, key_len, err, errlen) < 0)
            return -1;
        if (msg->payload && msg->payload_len > NS_REPORT_MAX_PAYLOAD) {
            ns_errf(err, errlen, "payload of %zu bytes exceeds %d", msg->payload_len,
                    NS_REPORT_MAX_PAYLOAD);
            return -1;
        }
        if (msg->payload)
            buf_addf(out, "error/%zu ", msg->payload_len);
        else
            buf_add(out, "error ", 6);
        buf_add(out, key, key_len);
        buf_addc(out, ' ');
        add_one_line(out, text, msg->text_len);
        break;
    }
    case NS_REPORT_LOG: {
        int ok = 0;
        for (size_t i = 0; i < NS_ARRAY_LEN(log_levels); i++)
            if (msg->key && strlen(log_levels[i]) == msg->key_len &&
                memcmp(log_levels[i], msg->key, msg->key_len) == 0)
                ok = 1;
        if (!ok) {
            ns_errf(err, errlen, "log level must be debug, info, warn or error");
            return -1;
        }
        buf_add(out, "log ", 4);
        buf_add(out, msg->key, msg->key_len);
        buf_addc(out, ' ');
        add_one_line(out, text, msg->text_len);
        break;
    }
    default:
        ns_errf(err, errlen, "a %s message cannot be sent", report_kind_name(msg->kind));
        return -1;
    }

    /* error and log: one line, then for error/LEN the payload. */
    if (out->len - start > NS_REPORT_MAX_LINE) {
        ns_errf(err, errlen, "message of %zu bytes exceeds the line limit of %d bytes",
                out->len - start, NS_REPORT_MAX_LINE);
        out->len = start;
        out->data[start] = '\0';
        return -1;
    }
    buf_addc(out, '\n');
    if (msg->kind == NS_REPORT_ERROR && msg->payload) {
        buf_add(out, msg->payload, msg->payload_len);
        buf_addc(out, '\n');
    }
    return 0;
}
