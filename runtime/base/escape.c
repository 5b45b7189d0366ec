/*
 * escape.c - make untrusted bytes safe to show on a terminal.
 *
 * Invariant: whatever the input, the output holds only printable ASCII and
 * well-formed UTF-8 of printable, visible code points (plus '\n' when the
 * caller asked for NS_ESC_NEWLINES). Everything else is written as a visible
 * escape: "\n", "\t", "\r", "\\", "\xNN" for control bytes, DEL and each byte
 * of invalid UTF-8, and "<U+XXXX>" for code points that would be invisible,
 * reorder text, act as controls (C1) or that are not characters at all.
 *
 * The UTF-8 decoder is strict (RFC 3629 / Unicode table 3-7): no overlong
 * forms, no surrogates, nothing above U+10FFFF. A bad sequence is escaped one
 * byte at a time, so a truncated sequence at the end of the buffer shows as
 * its individual bytes and decoding resynchronises on the next byte.
 */
#include <stdint.h>
#include <string.h>

#include "nightshift/escape.h"

/* Code point ranges rendered as <U+XXXX> even though they are valid UTF-8:
 * C1 controls, bidi controls, zero-width and other invisible format
 * characters, separators that break lines, and blank fillers. */
static const struct {
    uint32_t lo, hi;
} hidden_ranges[] = {
    {0x0080, 0x009F},   /* C1 controls (0x9B is CSI on some terminals) */
    {0x00AD, 0x00AD},   /* soft hyphen */
    {0x034F, 0x034F},   /* combining grapheme joiner */
    {0x061C, 0x061C},   /* arabic letter mark */
    {0x115F, 0x1160},   /* hangul fillers */
    {0x17B4, 0x17B5},   /* khmer invisible vowels */
    {0x180B, 0x180F},   /* mongolian variation selectors, vowel separator */
    {0x200B, 0x200F},   /* zero width space/non-joiner/joiner, LRM, RLM */
    {0x2028, 0x2029},   /* line and paragraph separators */
    {0x202A, 0x202E},   /* bidi embeddings and overrides */
    {0x2060, 0x206F},   /* word joiner, invisible operators, bidi isolates */
    {0x3164, 0x3164},   /* hangul filler */
    {0xFE00, 0xFE0F},   /* variation selectors */
    {0xFEFF, 0xFEFF},   /* zero width no-break space / BOM */
    {0xFFA0, 0xFFA0},   /* halfwidth hangul filler */
    {0xFFF9, 0xFFFB},   /* interlinear annotation controls */
    {0x1BCA0, 0x1BCA3}, /* shorthand format controls */
    {0x1D173, 0x1D17A}, /* musical symbol format controls */
    {0xE0000, 0xE0FFF}, /* tags and variation selectors supplement */
};

static int is_hidden(uint32_t cp)
{
    if ((cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE)
        return 1; /* non-characters */
    if (cp >= 0xD800 && cp <= 0xDFFF)
        return 1; /* surrogates (the decoder never yields them; belt and braces) */
    for (size_t i = 0; i < NS_ARRAY_LEN(hidden_ranges); i++)
        if (cp >= hidden_ranges[i].lo && cp <= hidden_ranges[i].hi)
            return 1;
    return 0;
}

/* Decodes one strict UTF-8 sequence at s[0..n) (s[0] >= 0x80). Returns its
 * length and stores the code point, or returns 0 if the sequence is invalid
 * or truncated. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* bounds for the second byte */
    uint32_t v;

    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        v = c & 0x0F;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        v = c & 0x07;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* > U+10FFFF */
    } else {
        return 0; /* continuation byte, overlong C0/C1, or F5..FF */
    }
    if (n < len)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    v = (v << 6) | (s[1] & 0x3F);
    for (size_t i = 2; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    *cp = v;
    return len;
}

static void add_hex_byte(struct ns_buf *out, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 0xF]};
    buf_add(out, esc, sizeof esc);
}

void escape_for_terminal(const void *data, size_t len, int flags, struct ns_buf *out)
{
    const unsigned char *s = data;
    size_t i = 0;

    buf_grow(out, len);
    out->data[out->len] = '\0'; /* terminated even when nothing is added */
    while (i < len) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x7F) {
            /* Copy the longest run of plain printable ASCII at once. */
            size_t j = i;
            while (j < len && s[j] >= 0x20 && s[j] < 0x7F &&
                   (s[j] != '\\' || (flags & NS_ESC_KEEP_BACKSLASH)))
                j++;
            if (j > i) {
                buf_add(out, s + i, j - i);
                i = j;
                continue;
            }
            buf_add(out, "\\\\", 2); /* c == '\\' */
            i++;
            continue;
        }
        if (c < 0x80) {
            switch (c) {
            case '\n':
                if (flags & NS_ESC_NEWLINES)
                    buf_addc(out, '\n');
                else
                    buf_add(out, "\\n", 2);
                break;
            case '\t':
                buf_add(out, "\\t", 2);
                break;
            case '\r':
                buf_add(out, "\\r", 2);
                break;
            default: /* other C0 controls and DEL */
                add_hex_byte(out, c);
            }
            i++;
            continue;
        }
        uint32_t cp;
        size_t n = utf8_decode(s + i, len - i, &cp);
        if (n == 0) {
            add_hex_byte(out, c);
            i++;
            continue;
        }
        if ((flags & NS_ESC_ASCII) || is_hidden(cp))
            buf_addf(out, "<U+%04X>", (unsigned)cp);
        else
            buf_add(out, s + i, n);
        i += n;
    }
}

char *escape_dup(const void *data, size_t len, int flags)
{
    struct ns_buf b = NS_BUF_INIT;
    escape_for_terminal(data, len, flags, &b);
    return buf_detach(&b);
}

void escape_hexdump(const void *data, size_t len, struct ns_buf *out)
{
    const unsigned char *s = data;

    for (size_t off = 0; off < len; off += 16) {
        size_t n = len - off < 16 ? len - off : 16;
        buf_addf(out, "%08zx ", off);
        for (size_t i = 0; i < 16; i++) {
            if (i == 8)
                buf_addc(out, ' ');
            if (i < n)
                buf_addf(out, " %02x", s[off + i]);
            else
                buf_add(out, "   ", 3);
        }
        buf_add(out, "  |", 3);
        for (size_t i = 0; i < n; i++) {
            unsigned char c = s[off + i];
            buf_addc(out, c >= 0x20 && c < 0x7F ? (char)c : '.');
        }
        buf_add(out, "|\n", 2);
    }
}

size_t escape_stream_prefix(const void *data, size_t len)
{
    const unsigned char *s = data;
    /* Look back at most 3 bytes for the lead byte of an unfinished sequence. */
    for (size_t back = 1; back <= 3 && back <= len; back++) {
        unsigned char c = s[len - back];
        if ((c & 0xC0) == 0x80)
            continue; /* a continuation byte: the lead is further back */
        size_t need = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 1;
        if (c >= 0xF5)
            need = 1;
        return need > back ? len - back : len;
    }
    return len;
}

char *escape_nuls_dup(const void *data, size_t len)
{
    const char *s = data;
    struct ns_buf b = NS_BUF_INIT;
    for (size_t i = 0; i < len; i++) {
        if (s[i])
            buf_addc(&b, s[i]);
        else
            buf_adds(&b, "\xe2\x90\x80"); /* U+2400 SYMBOL FOR NULL */
    }
    return b.data ? buf_detach(&b) : ns_xstrdup("");
}
