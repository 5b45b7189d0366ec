/*
 * fuzz-values.c - the small value parsers: durations, sizes, integers,
 * dates and templates. The input is split at its first NUL: the text to
 * parse, then (for templates) parameter values.
 */
#include <string.h>
#include <time.h>

#include "../../runtime/spec/spec-internal.h"
#include "fuzz.h"
#include "nightshift/plan.h"
#include "nightshift/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = ns_xstrndup((const char *)data, size); /* stops at a NUL */
    size_t tlen = strlen(text);
    const char *rest = tlen < size ? (const char *)data + tlen + 1 : "";
    char *value = ns_xstrndup(rest, size - (tlen < size ? tlen + 1 : size));

    int64_t ms = -1, bytes = -1, n = 0;
    if (ns_parse_duration(text, &ms) == 0) {
        FUZZ_CHECK(ms >= 0);
        char out[64];
        ns_format_duration(ms, out, sizeof out);
        FUZZ_CHECK(strlen(out) < sizeof out);
    }
    if (ns_parse_size(text, &bytes) == 0)
        FUZZ_CHECK(bytes >= 0);
    (void)ns_parse_int64(text, &n);
    time_t t;
    (void)plan_parse_date(text, &t);
    int64_t days;
    if (plan_parse_step(text, &days) == 0)
        FUZZ_CHECK(days > 0);

    struct ns_kv params[2] = {{(char *)"key", value}, {(char *)"date", (char *)"2026-12-01"}};
    struct ns_buf out = NS_BUF_INIT;
    char err[256];
    if (tmpl_expand(text, params, 2, &out, err, sizeof err) != 0)
        FUZZ_CHECK(strlen(err) < sizeof err);
    buf_release(&out);
    free(text);
    free(value);
    return 0;
}
