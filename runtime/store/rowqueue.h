/*
 * rowqueue.h - rowbatches written, in order, by a thread of their own.
 *
 * The runtime's loop reads workers' pipes; a flood of error records would
 * make it alternate between parsing and inserting, and the worker's pipe
 * waits while it inserts. Here the loop fills one batch while the thread
 * writes the full ones before it (up to ROWQUEUE_DEPTH - 1 of them), so a
 * pipe waits for SQLite only when the thread is that far behind.
 *
 * The connection is shared: it must be serialized (SQLITE_OPEN_FULLMUTEX),
 * which keeps the two threads' calls apart. What keeps the *order* of writes
 * is the caller: rowqueue_settle() before any other write that must follow
 * these rows (the COMMIT, a DELETE of them). Ownership: the filling batch is
 * the caller's thread's; a submitted one is the queue thread's until
 * written. Without a thread (it could not be started) submit writes inline.
 */
#ifndef NIGHTSHIFT_ROWQUEUE_H
#define NIGHTSHIFT_ROWQUEUE_H

#include "rowbatch.h"

#define ROWQUEUE_DEPTH 8 /* batches: one filling, the rest queued */

struct ns_rowqueue;

/* As rowbatch_new; the thread's signals are blocked (ns_thread_start). */
struct ns_rowqueue *rowqueue_new(sqlite3 *db, const char *head, const char *row);
/* Settles (see below) and stops the thread. NULL is a no-op. */
void rowqueue_free(struct ns_rowqueue *q);

/* The batch to add rows to. */
struct ns_rowbatch *rowqueue_filling(struct ns_rowqueue *q);
/* Queues the filling batch for writing and makes another one the filling
 * one; waits only while ROWQUEUE_DEPTH - 1 batches are queued. */
void rowqueue_submit(struct ns_rowqueue *q);
/* Waits until every submitted batch is written. Returns SQLITE_OK or the
 * first failure since the last settle (its message in err); *rows is how
 * many rows the batches written since then held, a refused one's too. The
 * filling batch is left to the caller. */
int rowqueue_settle(struct ns_rowqueue *q, size_t *rows, char *err, size_t errlen);

#endif
