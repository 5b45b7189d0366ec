/*
 * signature.c - error signatures: a message with its variable parts masked.
 *
 * One left-to-right scan. At the start of each alphanumeric word we try, in
 * order: a UUID (<uuid>), a 0x-prefixed hex number (<hex>), an IPv4 address
 * with an optional :port (<ip>), a whole-word hex run of >= 6 digits that
 * holds at least one decimal digit (<hex>, so "deadbeef" the word survives
 * but "7f3a9c" the id does not). Any other word keeps its letters and has
 * its decimal numbers (with an optional fraction) masked: "user42" ->
 * "user<n>", "1532.5" -> "<n>". A quoted string ('...' or "...", the quote
 * not inside a word, so "don't" is left alone) becomes '<s>' or "<s>".
 * Whitespace runs fold to one space, the ends are trimmed, and the result is
 * cut to SIG_MAX bytes on a UTF-8 character boundary.
 *
 * Pure function over a buffer: no locale, no allocation.
 */
#include <string.h>

#include "nightshift/signature.h"
#include "nightshift/util.h"

#define SIG_MAX 200
_Static_assert(SIGNATURE_BUF >= SIG_MAX + 7 + 1, "a step past the cap, and the NUL, fit");

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_alnum(unsigned char c)
{
    return is_digit(c) || is_alpha(c);
}

static int is_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Length of a UUID (8-4-4-4-12 hex) at s, or 0. */
static size_t match_uuid(const unsigned char *s, size_t n)
{
    static const int groups[] = {8, 4, 4, 4, 12};
    size_t i = 0;
    for (size_t g = 0; g < NS_ARRAY_LEN(groups); g++) {
        if (g > 0) {
            if (i >= n || s[i] != '-')
                return 0;
            i++;
        }
        for (int k = 0; k < groups[g]; k++, i++)
            if (i >= n || !is_hex(s[i]))
                return 0;
    }
    return i < n && is_alnum(s[i]) ? 0 : i;
}

/* Length of "0x" + hex digits ending the word at s, or 0. */
static size_t match_0x(const unsigned char *s, size_t n)
{
    if (n < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || !is_hex(s[2]))
        return 0;
    size_t i = 2;
    while (i < n && is_hex(s[i]))
        i++;
    return i < n && is_alnum(s[i]) ? 0 : i;
}

/* Length of a dotted-quad IPv4 address (each part <= 255) with an optional
 * ":port" at s, or 0. */
static size_t match_ipv4(const unsigned char *s, size_t n)
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= n || s[i] != '.')
                return 0;
            i++;
        }
        unsigned v = 0;
        size_t digits = 0;
        while (i < n && is_digit(s[i]) && digits < 3) {
            v = v * 10 + (unsigned)(s[i] - '0');
            i++, digits++;
        }
        if (digits == 0 || v > 255)
            return 0;
    }
    if (i < n && (is_alnum(s[i]) || (s[i] == '.' && i + 1 < n && is_digit(s[i + 1]))))
        return 0;
    if (i + 1 < n && s[i] == ':' && is_digit(s[i + 1])) {
        i++;
        while (i < n && is_digit(s[i]))
            i++;
    }
    return i;
}

/* Length of a whole-word hex run of >= 6 digits containing both a decimal
 * digit and a letter a-f at s, or 0: "7f3a9c" is hex, "1048576" is a number
 * (masked as <n> elsewhere) and "facade" a word. */
static size_t match_hex_run(const unsigned char *s, size_t n)
{
    size_t i = 0;
    int digit = 0, letter = 0;
    while (i < n && is_hex(s[i])) {
        digit |= is_digit(s[i]);
        letter |= !is_digit(s[i]);
        i++;
    }
    if (i < 6 || !digit || !letter || (i < n && is_alnum(s[i])))
        return 0;
    return i;
}

/* Length of a quoted string opened by s[0] (a quote), closed by the same
 * quote that is not followed by a word character, or 0. */
static size_t match_quoted(const unsigned char *s, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (s[i] == s[0] && (i + 1 >= n || !is_alnum(s[i + 1])))
            return i + 1;
    return 0;
}

/* The signature being written: out has SIGNATURE_BUF bytes. */
struct sig {
    char *out;
    size_t len;
};

static void put(struct sig *g, const char *s, size_t n)
{
    memcpy(g->out + g->len, s, n);
    g->len += n;
}

static void put_char(struct sig *g, char c)
{
    g->out[g->len++] = c;
}

size_t signature_into(char out[SIGNATURE_BUF], const char *msg, size_t len)
{
    const unsigned char *s = (const unsigned char *)msg;
    struct sig g = {out, 0};
    int space = 0; /* a whitespace run is waiting to be written as one space */
    size_t i = 0;

#define EMIT_SPACE()                                                                               \
    do {                                                                                           \
        if (space && g.len > 0)                                                                    \
            put_char(&g, ' ');                                                                        \
        space = 0;                                                                                 \
    } while (0)

    /* Stop once the cap is passed: the rest would be cut anyway. One step
     * writes at most a space and a 6-byte mask, so SIG_MAX + 7 bytes (and
     * the NUL) fit SIGNATURE_BUF. */
    while (i < len && g.len <= SIG_MAX) {
        unsigned char c = s[i];
        int word_start = i == 0 || !is_alnum(s[i - 1]);
        size_t k;

        if (is_space(c)) {
            space = 1;
            i++;
            continue;
        }
        EMIT_SPACE();
        if ((c == '\'' || c == '"') && word_start && (k = match_quoted(s + i, len - i))) {
            put(&g, c == '\'' ? "'<s>'" : "\"<s>\"", 5);
            i += k;
            continue;
        }
        if (!is_alnum(c)) {
            put_char(&g, (char)c);
            i++;
            continue;
        }
        if (word_start) {
            if ((k = match_uuid(s + i, len - i))) {
                put(&g, "<uuid>", 6);
                i += k;
                continue;
            }
            if ((k = match_0x(s + i, len - i)) || (k = match_hex_run(s + i, len - i))) {
                put(&g, "<hex>", 5);
                i += k;
                continue;
            }
            if ((i == 0 || s[i - 1] != '.') && (k = match_ipv4(s + i, len - i))) {
                put(&g, "<ip>", 4);
                i += k;
                continue;
            }
        }
        if (is_digit(c)) {
            while (i < len && is_digit(s[i]))
                i++;
            if (i + 1 < len && s[i] == '.' && is_digit(s[i + 1])) {
                i++;
                while (i < len && is_digit(s[i]))
                    i++;
            }
            put(&g, "<n>", 3);
            continue;
        }
        put_char(&g, (char)c);
        i++;
    }
#undef EMIT_SPACE

    if (g.len > SIG_MAX) {
        size_t cut = SIG_MAX;
        while (cut > 0 && (out[cut] & 0xC0) == 0x80)
            cut--; /* don't split a UTF-8 character */
        g.len = cut;
    }
    while (g.len > 0 && out[g.len - 1] == ' ')
        g.len--;
    out[g.len] = '\0';
    return g.len;
}

char *signature_of(const char *msg, size_t len)
{
    char out[SIGNATURE_BUF];
    size_t n = signature_into(out, msg, len);
    char *r = ns_xmalloc(n + 1);
    memcpy(r, out, n + 1);
    return r;
}

#define UNKEY_SCAN 512 /* bytes of a cause looked at for keys */
#define UNKEY_PIECE 128 /* the longest key piece tried */

/* Pieces may start and end only where an alphanumeric run does not go on. */
static bool piece_bound(const unsigned char *s, size_t len, size_t at)
{
    return at == 0 || at >= len || !is_alnum(s[at - 1]) || !is_alnum(s[at]);
}

/* Step 1 of signature_unkey: at i, the longest run key standing whole, or 0. */
static size_t key_piece_at(const unsigned char *s, size_t len, size_t i, ns_is_key_fn is_key,
                           void *ctx)
{
    if (!piece_bound(s, len, i) || is_space(s[i]))
        return 0;
    size_t end = i;
    while (end < len && end - i < UNKEY_PIECE && !is_space(s[end]))
        end++;
    for (size_t j = end; j > i; j--)
        if (piece_bound(s, len, j) && is_key(ctx, (const char *)s + i, j - i))
            return j - i;
    return 0;
}

char *signature_unkey(const char *cause, const char *own_key, ns_is_key_fn is_key, void *ctx)
{
    const unsigned char *s = (const unsigned char *)cause;
    size_t len = strlen(cause);
    struct ns_buf runs = NS_BUF_INIT, own = NS_BUF_INIT;
    for (size_t i = 0; i < len;) {
        size_t k = i < UNKEY_SCAN && is_key ? key_piece_at(s, len, i, is_key, ctx) : 0;
        if (k) {
            buf_adds(&runs, "<key>");
            i += k;
        } else {
            buf_addc(&runs, cause[i++]);
        }
    }
    const char *r = runs.data ? runs.data : "";
    size_t rlen = runs.len, klen = strlen(own_key);
    for (size_t i = 0; i < rlen;) {
        if (rlen - i >= 5 && memcmp(r + i, "<key>", 5) == 0) {
            buf_adds(&own, "<key>"); /* step 1's mark is not the key "key" */
            i += 5;
        } else if (klen > 0 && i + klen <= rlen && piece_bound((const unsigned char *)r, rlen, i) &&
            memcmp(r + i, own_key, klen) == 0 &&
            piece_bound((const unsigned char *)r, rlen, i + klen)) {
            buf_adds(&own, "<key>");
            i += klen;
        } else {
            buf_addc(&own, r[i++]);
        }
    }
    buf_release(&runs);
    return own.data ? buf_detach(&own) : ns_xstrdup("");
}
