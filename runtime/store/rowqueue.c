/*
 * rowqueue.c - rowbatches written by a thread of their own (rowqueue.h).
 *
 * batch[] is a ring: the queued batches are batch[head .. head + queued),
 * the filling one is batch[(head + queued) % DEPTH]. The thread owns the
 * queued ones, the caller the filling one; head and queued change under mu,
 * and a batch changes hands only there. filling is the caller's alone (only
 * submit, on its thread, moves it), so adding a row takes no lock.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "store-internal.h"
#include "rowqueue.h"
#include "nightshift/util.h"

struct ns_rowqueue {
    sqlite3 *db;
    struct ns_rowbatch *batch[ROWQUEUE_DEPTH];
    struct ns_rowbatch *filling;
    bool threaded;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* batches queued, written, or stopping */
    /* Under mu: */
    size_t head, queued;
    bool stopping;
    size_t rows_written;
    int rc; /* the first failure since the last settle */
    char err[512];
};

/* Writes b, noting its rows and the first failure (under mu: the caller). */
static void write_batch(struct ns_rowqueue *q, struct ns_rowbatch *b, bool locked_elsewhere)
{
    size_t n = rowbatch_rows(b);
    /* The connection's own mutex held across the batch: its error message,
     * if it fails, is still this batch's when it is read. */
    sqlite3_mutex *dbmu = sqlite3_db_mutex(q->db);
    sqlite3_mutex_enter(dbmu);
    int rc = rowbatch_flush(b);
    char err[sizeof q->err] = "";
    if (rc != SQLITE_OK)
        snprintf(err, sizeof err, "%s", sqlite3_errmsg(q->db));
    sqlite3_mutex_leave(dbmu);
    if (!locked_elsewhere)
        pthread_mutex_lock(&q->mu);
    q->rows_written += n;
    if (rc != SQLITE_OK && q->rc == SQLITE_OK) {
        q->rc = rc;
        snprintf(q->err, sizeof q->err, "%s", err);
    }
    if (!locked_elsewhere)
        pthread_mutex_unlock(&q->mu);
}

static void *write_loop(void *arg)
{
    struct ns_rowqueue *q = arg;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (!q->queued && !q->stopping)
            pthread_cond_wait(&q->cv, &q->mu);
        if (!q->queued)
            break; /* stopping, and everything is written */
        struct ns_rowbatch *b = q->batch[q->head];
        pthread_mutex_unlock(&q->mu);
        write_batch(q, b, false);
        pthread_mutex_lock(&q->mu);
        q->head = (q->head + 1) % ROWQUEUE_DEPTH;
        q->queued--;
        pthread_cond_broadcast(&q->cv);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

struct ns_rowqueue *rowqueue_new(sqlite3 *db, const char *head, const char *row)
{
    struct ns_rowqueue *q = ns_xcalloc(1, sizeof *q);
    q->db = db;
    for (int i = 0; i < ROWQUEUE_DEPTH; i++)
        q->batch[i] = rowbatch_new(db, head, row);
    q->filling = q->batch[0];
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    q->threaded = ns_thread_start(&q->thread, write_loop, q) == 0;
    return q;
}

void rowqueue_free(struct ns_rowqueue *q)
{
    if (!q)
        return;
    if (q->threaded) {
        pthread_mutex_lock(&q->mu);
        q->stopping = true;
        pthread_cond_broadcast(&q->cv);
        pthread_mutex_unlock(&q->mu);
        pthread_join(q->thread, NULL);
    }
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    for (int i = 0; i < ROWQUEUE_DEPTH; i++)
        rowbatch_free(q->batch[i]);
    free(q);
}

struct ns_rowbatch *rowqueue_filling(struct ns_rowqueue *q)
{
    return q->filling;
}

void rowqueue_submit(struct ns_rowqueue *q)
{
    pthread_mutex_lock(&q->mu);
    if (!q->threaded) {
        write_batch(q, q->filling, true);
        pthread_mutex_unlock(&q->mu);
        return;
    }
    while (q->queued == ROWQUEUE_DEPTH - 1)
        pthread_cond_wait(&q->cv, &q->mu);
    q->queued++;
    q->filling = q->batch[(q->head + q->queued) % ROWQUEUE_DEPTH];
    pthread_cond_signal(&q->cv); /* only the thread waits for a queued batch */
    pthread_mutex_unlock(&q->mu);
}

int rowqueue_settle(struct ns_rowqueue *q, size_t *rows, char *err, size_t errlen)
{
    pthread_mutex_lock(&q->mu);
    while (q->queued)
        pthread_cond_wait(&q->cv, &q->mu);
    int rc = q->rc;
    if (rc != SQLITE_OK && err && errlen)
        snprintf(err, errlen, "%s", q->err);
    *rows = q->rows_written;
    q->rows_written = 0;
    q->rc = SQLITE_OK;
    pthread_mutex_unlock(&q->mu);
    return rc;
}
