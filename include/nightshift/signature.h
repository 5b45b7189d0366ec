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

#include <stdbool.h>
#include <stddef.h>

/* Room signature_into() needs: the 200 bytes, what one step may write past
 * them before the cut, and the NUL. */
#define SIGNATURE_BUF 216

/* Writes the signature of msg[0..len) to out, NUL-terminated, and returns
 * its length. No allocation: error records arrive by the hundred thousand. */
size_t signature_into(char out[SIGNATURE_BUF], const char *msg, size_t len);

/* The same as a heap string; the caller frees it. */
char *signature_of(const char *msg, size_t len);

/* Says whether s[0..n) is the key of one of the run's partitions. */
typedef bool (*ns_is_key_fn)(void *ctx, const char *s, size_t n);

/* A failure's cause with the partition keys it names replaced by <key>, so
 * that one cause is one group whichever partition failed (workers often
 * name their partition: "cannot load eu-west"). Two steps:
 *   1. every piece that is the key of any partition of the run (is_key)
 *      and stands whole - not inside a word, no whitespace in it - becomes
 *      <key>, the longest first from each start;
 *   2. then own_key (the failed partition's, may hold spaces), where it
 *      still stands whole.
 * So key "peer" and key "connection reset by peer" both leave "connection
 * reset by <key>", as every other partition's "connection reset by peer"
 * does. Only the first 512 bytes are looked at (a signature keeps 200); a
 * piece is at most 128 bytes. The caller frees the result. */
char *signature_unkey(const char *cause, const char *own_key, ns_is_key_fn is_key, void *ctx);

#endif
