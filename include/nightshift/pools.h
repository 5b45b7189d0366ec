/*
 * pools.h - pools shared by every run of one database (runtime/store/pools.c):
 * a name, a number of slots, an optional start rate.
 *
 * Rows: `pools` (size, rate, the rate's next allowed start), `pool_holds`
 * (one per live attempt and pool it uses: run, attempt, weight),
 * `pool_waiters` (a run whose next attempt waits for a pool, since when),
 * `pool_commands` (the audit of `nightshift pool set`).
 *
 * Invariants: a grant reads the holds and writes the new ones inside the
 * runtime's one write transaction (BEGIN IMMEDIATE), so two runtimes racing
 * for the last slot cannot both win; a hold is written in the transaction
 * that writes its attempt's start and deleted (journal_pool_release) in the
 * one that writes its end. A hold of a run whose run lock is free (its
 * runtime died) is dropped by the next runtime that needs the slot; a hold
 * of a runtime that may still live is never dropped.
 *
 * Fairness: a pool's waiters are served by priority (the spec's, higher
 * first), then oldest first. The first waiter that can fit the pool at all
 * reserves what it needs: a request after it is granted only if it leaves
 * the head's weight free, so a wide request is never starved by a stream
 * of narrow ones (of its priority or lower).
 */
#ifndef NIGHTSHIFT_POOLS_H
#define NIGHTSHIFT_POOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nightshift/spec.h"
#include "nightshift/store.h"

/* ---- the runtime's side: one run's grants -------------------------------- */

struct ns_pools;

/* Writes the spec's pool defaults in a transaction of their own: a pool
 * not in the store is made; one whose size came from a spec takes this
 * spec's size and rate; one an operator set keeps the operator's. Returns
 * 0, or -1 with err. */
int pools_declare(struct ns_store *st, const struct ns_pool_decl *d, size_t n, char *err,
                  size_t errlen);

/* A runtime of run_id whose spec uses no pool (any more): holds and waits
 * a predecessor left for the run are dropped (only read when there are
 * none). Returns 0, or -1 with err. */
int pools_forget_run(struct ns_store *st, int64_t run_id, char *err, size_t errlen);

/* The grants of run_id, whose attempts each hold uses[0..n) (the spec's:
 * borrowed for the life of the result). Never NULL. */
struct ns_pools *pools_new(struct ns_store *st, int64_t run_id, const struct ns_pool_use *uses,
                           size_t n);
void pools_free(struct ns_pools *p);

/* The run's spec priority (default 0): its waits are served before those of
 * lower priority, ties oldest first. */
void pools_set_priority(struct ns_pools *p, int priority);

enum pools_verdict { POOLS_GRANTED, POOLS_FULL, POOLS_RATE };

/* Why a grant was refused, and what a dead runtime gave back meanwhile. */
struct pools_answer {
    enum pools_verdict verdict;
    char pool[72];      /* the pool that refused */
    int used, slots;    /* its slots in use and its size, when it refused */
    double retry_at;    /* POOLS_RATE: the wall-clock time of its next start */
    int reclaimed;      /* slots dropped of runs whose runtime is gone */
    int64_t reclaimed_from; /* one such run (for the event) */
};

/* Asks for one attempt's slots of every pool the run uses, at wall-clock
 * time now. Must be called inside the caller's open write transaction (the
 * journal's: journal_ready). Granted: every pool's start rate is charged and
 * the run stops waiting; the caller then launches the attempt and calls
 * pools_hold with its id in the same transaction. Refused: the run waits
 * (pool_waiters) for the first pool that refused. Returns 0, or -1 on a
 * database error (err filled; nothing granted). */
int pools_try_grant(struct ns_pools *p, double now, struct pools_answer *ans, char *err,
                    size_t errlen);

/* The granted slots are held by attempt_id (same transaction as its start). */
void pools_hold(struct ns_pools *p, int64_t attempt_id, double now);

/* After a restart, in the caller's write transaction: the run's holds are
 * made to match its live attempts (live_ids: adopted ones); holds of
 * attempts that ended with the dead runtime are dropped. */
void pools_resync(struct ns_pools *p, const int64_t *live_ids, size_t n, double now);

/* After our commit freed slots: the runs other than ours that wait for a
 * pool ours uses and that the free slots can serve now, oldest first as the
 * grants serve them (the head, then the next while their weights fit), so
 * only those are woken - not every waiter, which would each ask, be refused
 * and queue at the write gate before the runtime that can use the slot.
 * *ids is the caller's to free; returns n (0: nothing is free now, e.g. our
 * own next attempt took the slot in the same transaction). */
size_t pools_waiters_to_wake(struct ns_pools *p, int64_t **ids);

/* The invariant, for checked builds: the run's holds are exactly one per
 * pool used for each of its live attempts (nlive). Returns 0, or -1 with
 * what differs in err. */
int pools_check_holds(struct ns_pools *p, size_t nlive, char *err, size_t errlen);

/* ---- the read model: nightshift pool, status, the console ---------------- */

struct ns_pool_row {
    char *name;
    int slots, used;  /* used: slots held by live attempts */
    int holders;      /* runs holding some */
    int waiting;      /* runs waiting for it */
    int rate_n;       /* 0: no start rate */
    double rate_per;  /* seconds */
    char *set_by;     /* spec or operator */
    double updated_at;
};

/* Every pool, by name. Returns the count (*rows the caller's, pools_rows_free),
 * or -1 with err. */
long pools_list(struct ns_store *st, struct ns_pool_row **rows, char *err, size_t errlen);
void pools_rows_free(struct ns_pool_row *rows, long n);

/* A run's part in a pool: the slots it holds, or its wait. */
struct ns_pool_party {
    char *pool, *job; /* job: the run's job name (user text: escape it) */
    int64_t run_id;
    bool waiting;    /* false: it holds slots */
    int weight;      /* slots held (in all), or wanted by its next attempt */
    int attempts;    /* live attempts holding them (0 for a waiter) */
    double since;    /* the oldest hold, or when the wait began */
    int priority;    /* a waiter's spec priority (0 for a holder) */
};

/* Every run holding or waiting for a pool, by pool, holders first, then
 * waiters in the order slots go in (higher priority, then oldest, first). Returns the count (*rows
 * the caller's, pools_parties_free), or -1 with err. */
long pools_parties(struct ns_store *st, struct ns_pool_party **rows, char *err, size_t errlen);
void pools_parties_free(struct ns_pool_party *rows, long n);

/* What run_id's next attempt waits for, as status says it ("waiting for pool
 * warehouse (4/4 in use)", "waiting for pool api's start rate (10/s)"), or
 * NULL if it waits for no pool. Caller frees. */
char *pools_run_waiting(struct ns_store *st, int64_t run_id);

/* ---- operators: nightshift pool set -------------------------------------- */

/* One row of pool_commands: a pool set, who, when, what it changed. */
struct ns_pool_command {
    int64_t id;
    char *pool, *user, *source, *verb, *args, *result; /* args: a JSON object */
    int64_t uid;
    double issued_at;
};

/* The audit of pool set, oldest first. Returns the count (*rows the
 * caller's, pools_commands_free), or -1 with err. */
long pools_commands(struct ns_store *st, struct ns_pool_command **rows, char *err, size_t errlen);
void pools_commands_free(struct ns_pool_command *rows, long n);

/* Sets pool name's size (slots > 0) and, if rate_n >= 0, its start rate
 * (0: none); a pool not in the store is made. Audited (pool_commands: who,
 * when, what, source "cli" or "console"), in one transaction; then every
 * runtime waiting for the pool is poked so growth takes effect at once.
 * *result gets the change in words ("warehouse: 4 -> 6 slots"). Returns 0,
 * or -1 with err. */
int pools_set(struct ns_store *st, const char *name, int slots, int rate_n, double rate_per,
              const char *source, char *result, size_t rlen, char *err, size_t errlen);

#endif
