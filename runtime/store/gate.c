/*
 * gate.c - the write gate: SQLite's write lock handed over in turn between
 * the nightshift processes of one database (gate.h).
 *
 * SQLite's busy handler lets a waiting writer sleep and retry; a runtime
 * that commits and begins again at once wins every time, so one busy run
 * starved every other writer in its database (issue 18). Here writers take
 * tickets and go in ticket order, as at a bakery counter: a writer that has
 * just committed draws a new ticket behind everyone already waiting.
 *
 * One file beside the database, write.gate: its first 8 bytes count the
 * tickets drawn (read and advanced under a flock of the whole file, held
 * for microseconds); a writer holding ticket T keeps an open-file-
 * description lock on byte T until it has committed. It is T's turn when no
 * byte below T is locked: every earlier ticket has committed, or its process
 * died (the kernel drops the locks of a process however it ends, so a crash
 * never blocks the line). Everything is non-blocking: a runtime's loop asks
 * "my turn?" each turn and keeps its ticket between asks; a client asks
 * every millisecond up to its deadline.
 *
 * A process that is not nightshift (the sqlite3 shell) draws no ticket;
 * SQLite's own lock and busy timeout keep it correct.
 *
 * Ownership: the thread that begins and commits the store's transactions.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include "store-internal.h"
#include "nightshift/gate.h"
#include "nightshift/util.h"

#define GATE_SPIN_US 1000
#define COUNTER_BYTES 8 /* tickets are the byte offsets after the counter */

void gate_open(struct ns_gate *g, const char *data_dir, bool create)
{
    *g = (struct ns_gate){.fd = -1};
    char *path = ns_xasprintf("%s/write.gate", data_dir);
    g->fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0600);
    free(path);
    g->on = g->fd >= 0;
}

void gate_close(struct ns_gate *g)
{
    if (g->on)
        close(g->fd);
    *g = (struct ns_gate){.fd = -1};
}

/* An open-file-description lock on [start, start + len): F_WRLCK or F_UNLCK. */
static int byte_lock(int fd, int cmd, short type, int64_t start, int64_t len, struct flock *out)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    int rc;
    while ((rc = fcntl(fd, cmd, &fl)) != 0 && errno == EINTR) {
    }
    if (out)
        *out = fl;
    return rc;
}

/* Draws the next ticket and marks it ours before anyone can draw after it.
 * 0 if the file cannot be used (the gate then stays open for us). */
static int64_t draw_ticket(int fd)
{
    while (flock(fd, LOCK_EX) != 0)
        if (errno != EINTR)
            return 0;
    unsigned char b[COUNTER_BYTES] = {0};
    uint64_t n = 0;
    if (pread(fd, b, sizeof b, 0) == (ssize_t)sizeof b)
        for (int i = 0; i < COUNTER_BYTES; i++)
            n = n << 8 | b[i];
    int64_t ticket = COUNTER_BYTES + (int64_t)(n % ((uint64_t)1 << 60));
    n++;
    for (int i = COUNTER_BYTES - 1; i >= 0; i--, n >>= 8)
        b[i] = (unsigned char)(n & 0xff);
    bool ok = pwrite(fd, b, sizeof b, 0) == (ssize_t)sizeof b &&
              byte_lock(fd, F_OFD_SETLK, F_WRLCK, ticket, 1, NULL) == 0;
    flock(fd, LOCK_UN);
    return ok ? ticket : 0;
}

/* Whether no ticket below ours is still held. */
static bool my_turn(const struct ns_gate *g)
{
    struct flock fl;
    if (byte_lock(g->fd, F_OFD_GETLK, F_WRLCK, COUNTER_BYTES, g->ticket - COUNTER_BYTES, &fl) != 0)
        return true; /* cannot tell: SQLite's lock still decides */
    return fl.l_type == F_UNLCK;
}

bool gate_try_enter(struct ns_gate *g)
{
    if (!g->on || g->held)
        return true;
    if (!g->ticket)
        g->ticket = draw_ticket(g->fd);
    if (g->ticket && g->ticket > COUNTER_BYTES && !my_turn(g))
        return false; /* in line: our ticket is kept for the next ask */
    g->held = true;
    return true;
}

bool gate_enter(struct ns_gate *g, double timeout_s)
{
    double deadline = ns_monotonic() + timeout_s;
    while (!gate_try_enter(g)) {
        if (ns_monotonic() >= deadline) {
            /* Out of line, not holding it up: SQLite's lock decides now. */
            byte_lock(g->fd, F_OFD_SETLK, F_UNLCK, g->ticket, 1, NULL);
            g->ticket = 0;
            return false;
        }
        usleep(GATE_SPIN_US);
    }
    return true;
}

void gate_leave(struct ns_gate *g)
{
    if (!g->held)
        return;
    if (g->ticket)
        byte_lock(g->fd, F_OFD_SETLK, F_UNLCK, g->ticket, 1, NULL);
    g->ticket = 0;
    g->held = false;
}

bool gate_others_in_line(const struct ns_gate *g)
{
    if (!g->on || !g->held || !g->ticket)
        return false;
    struct flock fl;
    /* l_len 0: every ticket after ours, however many were drawn. */
    if (byte_lock(g->fd, F_OFD_GETLK, F_WRLCK, g->ticket + 1, 0, &fl) != 0)
        return false;
    return fl.l_type != F_UNLCK;
}
