/*
 * fuzz-escape.c - the terminal escaper: whatever the input, the output holds
 * no raw control byte (C0, DEL; '\n' only with NS_ESC_NEWLINES), no C1
 * control, bidi override or other hidden code point, only well-formed UTF-8
 * (only ASCII with NS_ESC_ASCII), and escaping is deterministic.
 */
#include <string.h>

#include "fuzz.h"
#include "nightshift/escape.h"
#include "nightshift/util.h"

/* Length of the strict UTF-8 sequence at s (the checker's own decoder,
 * independent of escape.c's), 0 if invalid; *cp gets the code point. */
static size_t utf8_len(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t len = s[0] < 0xC2 ? 0 : s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : s[0] < 0xF5 ? 4 : 0;
    if (len == 0 || n < len)
        return 0;
    uint32_t v = s[0] & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

static int visible(uint32_t cp)
{
    return !((cp >= 0x80 && cp <= 0x9F) || (cp >= 0x200B && cp <= 0x200F) ||
             (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x206F) ||
             cp == 0xFEFF || cp == 0x2028 || cp == 0x2029 || (cp & 0xFFFE) == 0xFFFE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int flags = size ? data[0] & (NS_ESC_ASCII | NS_ESC_NEWLINES) : 0;
    struct ns_buf a = NS_BUF_INIT, b = NS_BUF_INIT;
    escape_for_terminal(data, size, flags, &a);
    escape_for_terminal(data, size, flags, &b);
    FUZZ_CHECK(a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0));
    const unsigned char *s = (const unsigned char *)a.data;
    for (size_t i = 0; i < a.len;) {
        unsigned char c = s[i];
        if (c < 0x80) {
            FUZZ_CHECK(c != 0x7F);
            FUZZ_CHECK(c >= 0x20 || (c == '\n' && (flags & NS_ESC_NEWLINES)));
            i++;
            continue;
        }
        FUZZ_CHECK(!(flags & NS_ESC_ASCII));
        uint32_t cp = 0;
        size_t n = utf8_len(s + i, a.len - i, &cp);
        FUZZ_CHECK(n > 0);
        FUZZ_CHECK(visible(cp));
        i += n;
    }
    FUZZ_CHECK(a.len == 0 || a.data[a.len] == '\0');
    buf_release(&a);
    buf_release(&b);
    return 0;
}
