/*
 * checkpointer.c - WAL checkpoints off the runtime's loop (checkpointer.h).
 *
 * The writer's WAL hook runs after each of its commits with the WAL's size in
 * frames. From SOFT_FRAMES on it wakes the thread; from HARD_FRAMES on it
 * checkpoints itself (a passive checkpoint between two transactions can
 * finish, after which SQLite restarts the WAL from its beginning).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "store-internal.h"
#include "nightshift/checkpointer.h"
#include "nightshift/util.h"

struct ns_checkpointer {
    struct ns_store *st;
    sqlite3 *db; /* the thread's own connection */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool wanted, running, stopping; /* under mu */
    int soft_frames, hard_frames;   /* the limits in pages of this database */
};

static void *checkpoint_loop(void *arg)
{
    struct ns_checkpointer *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->wanted && !c->stopping)
            pthread_cond_wait(&c->cv, &c->mu);
        if (c->stopping)
            break;
        c->wanted = false;
        c->running = true;
        pthread_mutex_unlock(&c->mu);
        /* PASSIVE: never waits for the writer, never blocks it. */
        sqlite3_wal_checkpoint_v2(c->db, "main", SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&c->mu);
        c->running = false;
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static int on_wal_commit(void *arg, sqlite3 *db, const char *schema, int frames)
{
    struct ns_checkpointer *c = arg;
    if (frames < c->soft_frames)
        return SQLITE_OK;
    pthread_mutex_lock(&c->mu);
    if (frames >= c->hard_frames) {
        /* The thread's checkpoint holds SQLite's checkpoint lock, and ours
         * would just be refused: wait for it (it has copied most of the WAL
         * already), then copy the rest between two transactions. */
        while (c->running)
            pthread_cond_wait(&c->cv, &c->mu);
        sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    } else {
        c->wanted = true;
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
    return SQLITE_OK;
}

struct ns_checkpointer *checkpointer_start(struct ns_store *st)
{
    struct ns_checkpointer *c = ns_xcalloc(1, sizeof *c);
    c->st = st;
    /* A connection finds the WAL on its first read: until then it has
     * nothing to checkpoint. */
    if (sqlite3_open_v2(st->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(c->db, "SELECT 1 FROM sqlite_schema LIMIT 1", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_close(c->db);
        free(c);
        return NULL;
    }
    int page = store_page_size(st);
    c->soft_frames = CHECKPOINT_SOFT_BYTES / page;
    c->hard_frames = CHECKPOINT_HARD_BYTES / page;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    if (ns_thread_start(&c->thread, checkpoint_loop, c) != 0) {
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
        sqlite3_close(c->db);
        free(c);
        return NULL;
    }
    sqlite3_wal_hook(store_db(st), on_wal_commit, c); /* replaces the automatic checkpoint */
    return c;
}

void checkpointer_stop(struct ns_checkpointer *c)
{
    if (!c)
        return;
    sqlite3_wal_autocheckpoint(store_db(c->st), c->soft_frames); /* the hook no longer names c */
    pthread_mutex_lock(&c->mu);
    c->stopping = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    sqlite3_close(c->db);
    free(c);
}
