/*
 * store-internal.h - what only the store wing sees: SQLite itself.
 *
 * Every file under runtime/store/ that runs SQL includes this; nothing
 * outside the wing does (make check-layout: sqlite3 appears only here).
 * The rest of the program holds a struct ns_store and asks typed
 * questions (query.h, runs.h, control.h ...).
 */
#ifndef NIGHTSHIFT_STORE_INTERNAL_H
#define NIGHTSHIFT_STORE_INTERNAL_H

#include <sqlite3.h>

#include "nightshift/store.h"

/* The store's connection: struct ns_store names it by an opaque type so
 * that store.h needs no <sqlite3.h>. */
static inline sqlite3 *store_db(const struct ns_store *st)
{
    return (sqlite3 *)(void *)st->db;
}

/* One write in autocommit (a client's single INSERT), taken in its turn at
 * the write gate like a transaction (gate.h). Returns sqlite3_step's code. */
int store_step_write(struct ns_store *st, sqlite3_stmt *s);

/* Prepares sql or aborts with a message: our own SQL failing to prepare is a
 * programming error, not a run-time condition. Caller finalizes. */
sqlite3_stmt *store_prepare(struct ns_store *st, const char *sql);

#endif
