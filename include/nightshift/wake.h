/*
 * wake.h - wake-up hints beside the database, so operator commands take
 * effect in milliseconds without anyone polling fast.
 *
 * The rows stay the truth (commands, and their verdicts); a hint only says
 * "look now", and losing one costs latency, never correctness: both sides
 * keep a slow poll as the fallback. A hint is one byte written without
 * blocking into a FIFO whose listener holds it open; a FIFO nobody reads
 * refuses the writer at once (ENXIO), so a poke never waits. In the data
 * directory:
 *
 *   <db>.d/run-N.wake         the runtime driving run N listens; a client
 *                             pokes it after committing a command row;
 *   <db>.d/run-N.waiters/PID  one per client waiting for a verdict; the
 *                             runtime pokes every one after it committed
 *                             verdicts, and removes those nobody reads.
 *
 * (FIFOs rather than inotify: closing an inotify descriptor costs ~10 ms in
 * the kernel, longer than the whole command should take.) Nothing here
 * prints or exits; a failure only makes the caller fall back to polling.
 */
#ifndef NIGHTSHIFT_WAKE_H
#define NIGHTSHIFT_WAKE_H

#include <stdint.h>

#include "nightshift/store.h"

enum wake_kind { WAKE_COMMANDS, WAKE_WAITERS };

/* "<data_dir>/run-<id>.wake" (a FIFO) or "<data_dir>/run-<id>.waiters" (a
 * directory of FIFOs). Caller frees. */
char *wake_path(const struct ns_store *st, int64_t run_id, enum wake_kind kind);

/* Makes the FIFO at path (0600; an existing FIFO is reused) and opens it for
 * listening: a non-blocking fd that becomes readable when poked, or -1 with
 * errno set (also when path exists and is not a FIFO). Caller closes. */
int wake_listen(const char *path);

/* Consumes the pending pokes of a wake_listen() fd (non-blocking). */
void wake_drain(int fd);

/* Pokes the FIFO at path if someone listens; never blocks. Returns 0 if
 * poked (or already pending), -1 if nobody listens or path is missing. */
int wake_poke(const char *path);

/* A waiter's FIFO in dir (created 0700 if missing), named by our pid: the
 * listening fd, or -1. *path_out gets its path for wake_waiter_free. */
int wake_waiter_new(const char *dir, char **path_out);

/* Closes and removes a wake_waiter_new() FIFO; frees path. */
void wake_waiter_free(int fd, char *path);

/* Pokes every FIFO in dir; removes the ones nobody listens to (their waiter
 * is gone). A missing dir is no waiter. */
void wake_poke_all(const char *dir);

/* Seconds between the slow polls behind the hints (runtime: looking for
 * commands; a waiting client: re-reading its command), 1.0 unless
 * $NIGHTSHIFT_POLL_MS says otherwise (10 ms to 1 h; tests use a huge value to
 * prove that the hints alone carry a command). */
double wake_poll_interval(void);

#endif
