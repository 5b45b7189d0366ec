/*
 * signature.h - error signatures: a message with its variable parts masked.
 *
 * "connection reset by peer after 1532 ms (id 7f3a9c)" and the same with
 * other numbers share the signature "connection reset by peer after <n> ms
 * (id <hex>)", so 212 failures with one cause are one group to act on.
 * Masked: decimal numbers, hex runs, UUIDs, quoted strings, IPv4 addresses,
 * paths' digit parts; whitespace is folded; the result is at most 200 bytes.
 */
#ifndef NIGHTSHIFT_SIGNATURE_H
#define NIGHTSHIFT_SIGNATURE_H

#include <stddef.h>

/* Room signature_into() needs: the 200 bytes, what one step may write past
 * them before the cut, and the NUL. */
#define SIGNATURE_BUF 216

/* Writes the signature of msg[0..len) to out, NUL-terminated, and returns
 * its length. No allocation: error records arrive by the hundred thousand. */
size_t signature_into(char out[SIGNATURE_BUF], const char *msg, size_t len);

/* The same as a heap string; the caller frees it. */
char *signature_of(const char *msg, size_t len);

#endif
