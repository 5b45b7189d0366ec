/*
 * escape.h - make untrusted bytes safe to show on a terminal.
 *
 * Everything a worker wrote (keys, messages, payloads, log tails) passes
 * through here before it reaches a screen or a plain-text CLI listing. C0 and
 * C1 controls, DEL, bidi overrides (U+202A-202E, U+2066-2069), zero-width and
 * other invisible format characters and invalid UTF-8 become visible escapes
 * ("\x1b", "\r", "<U+202E>"); a backslash becomes "\\" so the output is
 * unambiguous. The result contains only printable characters (and, with
 * NS_ESC_ASCII, only printable ASCII).
 */
#ifndef NIGHTSHIFT_ESCAPE_H
#define NIGHTSHIFT_ESCAPE_H

#include <stddef.h>

#include "nightshift/util.h"

enum {
    NS_ESC_ASCII = 1 << 0,   /* escape every non-ASCII character as <U+XXXX> */
    NS_ESC_NEWLINES = 1 << 1,      /* keep '\n' as a line break instead of "\n" */
    NS_ESC_KEEP_BACKSLASH = 1 << 2 /* '\' stays '\': for messages whose quoted values
                                      are escaped already (spec.c), not for data */
};

/* Appends the escaped form of data[0..len) to out. */
void escape_for_terminal(const void *data, size_t len, int flags, struct ns_buf *out);
/* Convenience: returns a heap string; the caller frees it. */
char *escape_dup(const void *data, size_t len, int flags);
/* For text that is stored to be escaped when shown (an event's message,
 * which cannot hold a NUL): the bytes unchanged but each NUL, which becomes
 * U+2400 (the picture of NUL, shown as such or as <U+2400>), so what is
 * shown is escaped once. The caller frees. */
char *escape_nuls_dup(const void *data, size_t len);
/* For a stream read in pieces (logs --follow): the length of the longest
 * prefix of data[0..len) that does not end inside a UTF-8 sequence which
 * the next piece may complete (at most 3 bytes are held back; bytes that can
 * never be valid are not). Escape that prefix, keep the rest for later. */
size_t escape_stream_prefix(const void *data, size_t len);
/* Appends a classic hex dump (offset, 16 bytes hex, ASCII column with '.'). */
void escape_hexdump(const void *data, size_t len, struct ns_buf *out);

#endif
