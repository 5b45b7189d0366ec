/*
 * emit.h - report to nightshift from a worker written in C (header only).
 *
 * Copy this file into your project; it needs only libc. Each function writes
 * one message to the fd named by $NIGHTSHIFT_REPORT_FD (read once) and
 * returns 0, or -1 with errno set: EBADF when not run by nightshift (so the
 * calls are harmless no-ops outside it), EINVAL for an argument the protocol
 * cannot carry, or the error of write(). Messages are built in one buffer and
 * written with one write loop, so a line of up to PIPE_BUF bytes is atomic.
 *
 * This mirrors report_format() in nightshift's runtime/base/report.c, which is
 * the reference for the framing (docs/protocol.md):
 *   total N | progress N | checkpoint TOKEN | error KEY MESSAGE |
 *   error/LEN KEY MESSAGE \n <LEN payload bytes> \n | log LEVEL MESSAGE
 *
 *   ns_emit_total(1000);
 *   ns_emit_progress(500);
 *   ns_emit_checkpoint("offset=4096");
 *   ns_emit_error("row-17", "bad date", raw, raw_len); // raw may be NULL
 *   ns_emit_log("warn", "slow disk");
 */
#ifndef NIGHTSHIFT_EMIT_H
#define NIGHTSHIFT_EMIT_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The report fd, or -1 when not under nightshift. */
static inline int ns_emit__fd(void)
{
    static int fd = -2;
    if (fd == -2) {
        const char *s = getenv("NIGHTSHIFT_REPORT_FD");
        char *end;
        long v = s && *s ? strtol(s, &end, 10) : -1;
        fd = s && *s && !*end && v >= 0 && v < 1 << 30 ? (int)v : -1;
    }
    return fd;
}

static inline int ns_emit__write(const char *p, size_t n)
{
    int fd = ns_emit__fd();
    if (fd < 0) {
        errno = EBADF;
        return -1;
    }
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Writes "HEAD WORD TEXT\n" ("HEAD WORD\n" when text is NULL) plus, when
 * payload is non-NULL, the payload and a newline. Newlines and CRs in text
 * become spaces. */
static inline int ns_emit__msg(const char *head, const char *word, const char *text,
                               const void *payload, size_t payload_len)
{
    size_t hn = strlen(head), wn = strlen(word), tn = text ? strlen(text) : 0;
    size_t cap = hn + 24 + wn + tn + payload_len + 4, n;
    char *b = (char *)malloc(cap);
    int rc;
    if (!b)
        return -1;
    if (payload)
        n = (size_t)snprintf(b, cap, "%s/%zu %s%s", head, payload_len, word, text ? " " : "");
    else
        n = (size_t)snprintf(b, cap, "%s %s%s", head, word, text ? " " : "");
    for (size_t i = 0; i < tn; i++)
        b[n++] = text[i] == '\n' || text[i] == '\r' ? ' ' : text[i];
    b[n++] = '\n';
    if (payload) {
        memcpy(b + n, payload, payload_len);
        n += payload_len;
        b[n++] = '\n';
    }
    rc = ns_emit__write(b, n);
    free(b);
    return rc;
}

static inline int ns_emit__number(const char *what, long long v)
{
    char b[48];
    if (v < 0 || v > 1000000000000000LL) { /* 0..10^15: docs/protocol.md */
        errno = EINVAL;
        return -1;
    }
    return ns_emit__write(b, (size_t)snprintf(b, sizeof b, "%s %lld\n", what, v));
}

static inline int ns_emit_total(long long n)
{
    return ns_emit__number("total", n);
}

/* n is the absolute count done in this partition, not a delta. */
static inline int ns_emit_progress(long long n)
{
    return ns_emit__number("progress", n);
}

/* Report a checkpoint only after your output up to it is durable. The token
 * (1..4096 bytes, no newline) comes back in $NIGHTSHIFT_CHECKPOINT. */
static inline int ns_emit_checkpoint(const char *token)
{
    size_t n = strlen(token);
    if (n == 0 || n > 4096 || strchr(token, '\n') || token[n - 1] == '\r') {
        errno = EINVAL;
        return -1;
    }
    return ns_emit__msg("checkpoint", token, NULL, NULL, 0);
}

/* key: record key without whitespace, or NULL; payload: the raw record
 * (any bytes, at most 1 MiB) or NULL. */
static inline int ns_emit_error(const char *key, const char *msg, const void *payload, size_t len)
{
    if (!key || !*key)
        key = "-";
    for (const char *k = key; *k; k++)
        if ((unsigned char)*k <= 0x20 || *k == 0x7f) {
            errno = EINVAL;
            return -1;
        }
    if (payload && len > 1024 * 1024) {
        errno = EINVAL;
        return -1;
    }
    return ns_emit__msg("error", key, msg, payload, len);
}

/* level: "debug", "info", "warn" or "error". */
static inline int ns_emit_log(const char *level, const char *msg)
{
    if (strcmp(level, "debug") && strcmp(level, "info") && strcmp(level, "warn") &&
        strcmp(level, "error")) {
        errno = EINVAL;
        return -1;
    }
    return ns_emit__msg("log", level, msg, NULL, 0);
}

#endif
