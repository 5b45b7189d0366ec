/*
 * fuzz-spec.c - the spec loader over a buffer: it accepts or rejects with
 * diagnostics (never both, never neither), within its bounds, and an
 * accepted spec has a canonical text.
 */
#include <string.h>

#include "fuzz.h"
#include "nightshift/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ns_spec spec;
    struct ns_diags d = {0};
    int rc = spec_load_buffer("/nonexistent/fuzz.yaml", (const char *)data, size, &spec, &d);
    if (rc == 0) {
        FUZZ_CHECK(d.len == 0);
        char *canon = spec_canonical(&spec);
        FUZZ_CHECK(canon && *canon);
        free(canon);
        spec_release(&spec);
    } else {
        FUZZ_CHECK(rc == -1 && d.len > 0);
        char *text = diags_format(&d, "fuzz.yaml");
        free(text);
    }
    diags_release(&d);
    return 0;
}
