/*
 * report.h - the worker report protocol: an incremental, pure parser.
 *
 * Workers write lines to the report fd (docs/protocol.md):
 *   total N | progress N | checkpoint TOKEN | error KEY MESSAGE |
 *   error/LEN KEY MESSAGE <newline> LEN raw payload bytes | log LEVEL MESSAGE
 * Bytes arrive in arbitrary chunks; the parser keeps what it needs between
 * calls and never fails: anything it cannot read becomes a MALFORMED message
 * carrying the reason, so the caller records it and carries on.
 */
#ifndef NIGHTSHIFT_REPORT_H
#define NIGHTSHIFT_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "nightshift/util.h"

#define NS_REPORT_MAX_LINE (64 * 1024)
#define NS_REPORT_MAX_PAYLOAD (1024 * 1024)
/* The largest `total` or `progress` a partition may report (10^15): a
 * million partitions at that still sum far below INT64_MAX, and the run's
 * sums saturate all the same. A larger number is a malformed line. */
#define NS_REPORT_COUNT_MAX 1000000000000000LL
/* Bytes in one checkpoint (the worker protocol's limit, not the spec's). */
#define NS_CHECKPOINT_MAX 4096

enum ns_report_kind {
    NS_REPORT_TOTAL,
    NS_REPORT_PROGRESS,
    NS_REPORT_CHECKPOINT,
    NS_REPORT_ERROR,
    NS_REPORT_LOG,
    NS_REPORT_MALFORMED,
};

/* One parsed message. Pointers are valid only during the callback. */
struct ns_report_msg {
    enum ns_report_kind kind;
    int64_t number;  /* total, progress */
    const char *key; /* error: record key; log: level */
    size_t key_len;
    const char *text; /* checkpoint token, error/log message, malformed: reason */
    size_t text_len;
    const unsigned char *payload; /* error payload (may hold any bytes) or NULL */
    size_t payload_len;
    const char *raw; /* malformed: the offending bytes (truncated) */
    size_t raw_len;
};

typedef void (*ns_report_cb)(void *ctx, const struct ns_report_msg *msg);

struct ns_report_parser {
    struct ns_buf pending; /* bytes of an incomplete line or payload */
    int64_t payload_need;  /* > 0 while reading an error payload */
    int64_t skip_payload;  /* bytes of an oversized payload still to drop */
    int discarding_line;   /* dropping the rest of an overlong line */
    size_t header_len;     /* length of the error/LEN header kept in pending */
};

void report_parser_init(struct ns_report_parser *p);
/* Feeds len bytes; calls cb for each complete message, in order. */
void report_parser_feed(struct ns_report_parser *p, const void *data, size_t len, ns_report_cb cb,
                        void *ctx);
/* End of stream: a partial last line without newline is parsed; an
 * unfinished payload becomes a MALFORMED message. */
void report_parser_finish(struct ns_report_parser *p, ns_report_cb cb, void *ctx);
void report_parser_release(struct ns_report_parser *p);

const char *report_kind_name(enum ns_report_kind k);

/* Frames one message for the report fd and appends it to out: the single
 * place the protocol's framing is written (`nightshift emit` uses it;
 * nightshift/emit.h mirrors it for C workers). msg->kind is TOTAL, PROGRESS
 * (number >= 0), CHECKPOINT (text: 1..NS_CHECKPOINT_MAX bytes, no newline or
 * NUL, not ending in CR), ERROR (key: NULL/empty for none, else no
 * whitespace or control bytes; text: the message; payload: non-NULL for an
 * error/LEN frame of payload_len <= NS_REPORT_MAX_PAYLOAD bytes, followed by
 * one newline) or LOG (key: debug|info|warn|error; text: the message).
 * Newlines and CRs in a message become spaces. A line may not exceed
 * NS_REPORT_MAX_LINE. Returns 0, or -1 with a sentence in err and out
 * unchanged. */
int report_format(struct ns_buf *out, const struct ns_report_msg *msg, char *err, size_t errlen);

#endif
