/*
 * gate.h - the write gate: SQLite's write lock handed over fairly between
 * the nightshift processes that share a database (runtime/store/gate.c).
 *
 * store_begin / store_commit / store_rollback and the journal take it around
 * every write transaction; nothing else needs to. Writers go in the order they
 * asked: one that commits and begins again at once goes behind the waiters.
 */
#ifndef NIGHTSHIFT_GATE_H
#define NIGHTSHIFT_GATE_H

#include <stdbool.h>

#include <stdint.h>

struct ns_gate {
    bool on;        /* false (a zeroed struct too): no gate, entering always succeeds */
    int fd;         /* <data_dir>/write.gate */
    int64_t ticket; /* ours while we wait or write; 0: none drawn */
    bool held;      /* our turn: our write transaction may begin */
};

/* Opens data_dir/write.gate (create: make it, 0600). Without it the gate
 * is off: entering always succeeds. */
void gate_open(struct ns_gate *g, const char *data_dir, bool create);
void gate_close(struct ns_gate *g);

/* Never blocks. Draws a ticket if we hold none; true when it is our turn
 * (every earlier ticket committed or died); false keeps the ticket, our
 * place in line, for the next try: try again soon. */
bool gate_try_enter(struct ns_gate *g);

/* Tries every millisecond for at most timeout_s; false at the deadline (the
 * caller may go on: SQLite's lock still decides). */
bool gate_enter(struct ns_gate *g, double timeout_s);

/* After COMMIT or ROLLBACK: the next writer in line may begin. */
void gate_leave(struct ns_gate *g);

/* While we hold the gate: true if another nightshift process has drawn a
 * ticket after ours and waits in line for it. */
bool gate_others_in_line(const struct ns_gate *g);

#endif
