/*
 * checkpointer.h - the runtime's WAL checkpoints, on a thread of their own.
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that crosses its
 * threshold: it copies the WAL into the database and syncs both files while
 * the runtime's loop waits, and meanwhile no worker's pipe is read. Here the
 * writer's commit only signals; a thread with its own connection runs the
 * PASSIVE checkpoint. A checkpoint never changes what a reader sees, so this
 * moves work, not guarantees.
 *
 * A passive checkpoint racing a busy writer may never catch up, and the WAL
 * is reset only after a checkpoint that did: past a hard limit the writer
 * checkpoints at its commit itself, as SQLite would, so the WAL stays bounded.
 */
#ifndef NIGHTSHIFT_CHECKPOINTER_H
#define NIGHTSHIFT_CHECKPOINTER_H

#include "nightshift/store.h"

struct ns_checkpointer;

/* WAL sizes: the thread is woken from the first (SQLite's own automatic
 * threshold is 1000 pages, 4 MiB of its default page), the writer
 * checkpoints itself from the second. */
#define CHECKPOINT_SOFT_BYTES (4 << 20)
#define CHECKPOINT_HARD_BYTES (32 << 20)

/* Takes st's checkpoints off its connection (st stays with the caller's
 * thread). NULL when the thread or its connection cannot be had: then
 * SQLite's own automatic checkpoint stays, which is only slower. */
struct ns_checkpointer *checkpointer_start(struct ns_store *st);

/* Joins the thread (waiting for a checkpoint under way), closes its
 * connection and gives st its automatic checkpoint back (at the soft limit). NULL is a no-op. */
void checkpointer_stop(struct ns_checkpointer *c);

#endif
