/*
 * fuzz-report.c - the report-protocol parser, fed in chunks whose sizes come
 * from the input: it never fails, every message it hands out lies within
 * the protocol's bounds, and chunking never changes what is parsed.
 */
#include <string.h>

#include "fuzz.h"
#include "nightshift/report.h"
#include "nightshift/util.h"

struct seen {
    struct ns_buf log; /* a digest of every message, to compare chunkings */
    size_t count;
};

static void on_msg(void *ctx, const struct ns_report_msg *m)
{
    struct seen *s = ctx;
    FUZZ_CHECK(m->kind <= NS_REPORT_MALFORMED);
    FUZZ_CHECK(m->key_len <= NS_REPORT_MAX_LINE && m->text_len <= NS_REPORT_MAX_LINE);
    FUZZ_CHECK(m->payload_len <= NS_REPORT_MAX_PAYLOAD);
    FUZZ_CHECK(!m->payload_len || m->payload);
    FUZZ_CHECK(!m->key_len || m->key);
    FUZZ_CHECK(!m->text_len || m->text);
    if (m->kind == NS_REPORT_TOTAL || m->kind == NS_REPORT_PROGRESS)
        FUZZ_CHECK(m->number >= 0);
    buf_addf(&s->log, "%d %lld %zu %zu %zu|", (int)m->kind, (long long)m->number, m->key_len,
             m->text_len, m->payload_len);
    if (m->key_len)
        buf_add(&s->log, m->key, m->key_len);
    if (m->text_len)
        buf_add(&s->log, m->text, m->text_len);
    if (m->payload_len)
        buf_add(&s->log, m->payload, m->payload_len);
    buf_addc(&s->log, '\n');
    s->count++;
}

static void parse(const uint8_t *data, size_t size, size_t chunk, struct seen *out)
{
    struct ns_report_parser p;
    report_parser_init(&p);
    for (size_t off = 0; off < size;) {
        size_t n = size - off < chunk ? size - off : chunk;
        report_parser_feed(&p, data + off, n, on_msg, out);
        off += n;
    }
    report_parser_finish(&p, on_msg, out);
    report_parser_release(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t chunk = size ? (size_t)data[0] % 17 + 1 : 1;
    struct seen whole = {NS_BUF_INIT, 0}, pieces = {NS_BUF_INIT, 0};
    parse(data, size, size ? size : 1, &whole);
    parse(data, size, chunk, &pieces);
    FUZZ_CHECK(whole.count == pieces.count);
    FUZZ_CHECK(whole.log.len == pieces.log.len &&
               (!whole.log.len || memcmp(whole.log.data, pieces.log.data, whole.log.len) == 0));
    buf_release(&whole.log);
    buf_release(&pieces.log);
    return 0;
}
