/*
 * sigcount.h - error records counted by (partition, signature) in memory,
 * for the journal's running counts of the groups (error_signatures,
 * error_signature_parts).
 *
 * A flood of records from one worker is thousands of records of a handful
 * of signatures: counting them here and writing one UPSERT per (partition,
 * signature) at the commit costs a hash lookup per record, where a row
 * trigger would cost two B-tree writes. The journal writes the counts in the
 * transaction that holds the records, so both are durable together or not
 * at all. Private to the store wing; one thread (the journal's) uses it.
 */
#ifndef NIGHTSHIFT_SIGCOUNT_H
#define NIGHTSHIFT_SIGCOUNT_H

#include <stddef.h>
#include <stdint.h>

struct ns_sigcount;

struct ns_sigcount *sigcount_new(void);
void sigcount_free(struct ns_sigcount *c);
/* One more record of signature (copied) in partition idx. */
void sigcount_add(struct ns_sigcount *c, int64_t idx, const char *signature);
/* Pairs counted so far. */
size_t sigcount_len(const struct ns_sigcount *c);
/* The i-th pair (i < sigcount_len), in no particular order. */
void sigcount_get(const struct ns_sigcount *c, size_t i, int64_t *idx, const char **signature,
                  int64_t *n);
/* Forgets every pair (after they were written, or the transaction was
 * rolled back). */
void sigcount_clear(struct ns_sigcount *c);

#endif
