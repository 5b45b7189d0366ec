/*
 * waits.c - what held an attempt before it started: a pool's slots, the
 * run's window, an upstream run. The runtime writes it beside the attempt's
 * row, in the journal's open transaction (the one that inserted the row,
 * as store/pools.c's hold is), so the two are durable together; the
 * report's timeline reads it back (query-times.c).
 */
#include <stddef.h>

#include "store-internal.h"
#include "nightshift/store.h"

void store_attempt_waited(struct ns_store *st, int64_t attempt_id, double waited_s,
                          const char *why)
{
    sqlite3_stmt *s =
        store_prepare(st, "UPDATE attempts SET waited_s = ?2, waited_for = ?3 WHERE id = ?1");
    sqlite3_bind_int64(s, 1, attempt_id);
    sqlite3_bind_double(s, 2, waited_s);
    sqlite3_bind_text(s, 3, why, -1, SQLITE_STATIC);
    sqlite3_step(s); /* a failure shows at the journal's commit, as the row's own would */
    sqlite3_finalize(s);
}
