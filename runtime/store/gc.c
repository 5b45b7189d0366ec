/*
 * gc.c - delete finished runs and reclaim the space (gc.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nightshift/gc.h"
#include "nightshift/query.h"
#include "nightshift/store.h"
#include "store-internal.h"
#include "nightshift/util.h"
#include "nightshift/wake.h"

/* nftw has no context argument: the running total of one removal. */
static int64_t removed_bytes;
static int remove_errors;

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)ftw;
    if (type == FTW_F || type == FTW_SL || type == FTW_SLN)
        removed_bytes += sb->st_size;
    if (remove(path) != 0 && errno != ENOENT)
        remove_errors++;
    return 0;
}

static int remove_tree(const char *dir, int64_t *bytes)
{
    removed_bytes = 0;
    remove_errors = 0;
    if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
        return -1;
    *bytes = removed_bytes;
    return remove_errors ? -1 : 0;
}

/* The run's files beside its directory: its wake-up FIFO and waiters'
 * folder (wake.h), and the log of its last detached runtime - only one
 * that `run --detach` named (runtime-*.log in the data folder), never a
 * path the row merely mentions. */
static void remove_run_files(struct ns_store *st, int64_t run_id, const char *runtime_log,
                             int64_t *bytes)
{
    int64_t b = 0;
    static const enum wake_kind kinds[] = {WAKE_COMMANDS, WAKE_WAITERS};
    for (size_t k = 0; k < NS_ARRAY_LEN(kinds); k++) {
        char *p = wake_path(st, run_id, kinds[k]);
        if (remove_tree(p, &b) == 0)
            *bytes += b;
        free(p);
    }
    size_t dl = strlen(st->data_dir);
    if (runtime_log && strncmp(runtime_log, st->data_dir, dl) == 0 &&
        strncmp(runtime_log + dl, "/runtime-", 9) == 0 && !strchr(runtime_log + dl + 1, '/') &&
        strlen(runtime_log) > 4 && strcmp(runtime_log + strlen(runtime_log) - 4, ".log") == 0) {
        struct stat sb;
        if (lstat(runtime_log, &sb) == 0 && S_ISREG(sb.st_mode) && unlink(runtime_log) == 0)
            *bytes += sb.st_size;
    }
}

int gc_delete_run(struct ns_store *st, int64_t run_id, double cutoff, int64_t *bytes, char *err,
                  size_t errlen)
{
    *bytes = 0;
    char *lock = store_lock_path(st, run_id);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        ns_errf(err, errlen, "%s: %s", lock, strerror(errno));
        free(lock);
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ns_errf(err, errlen, "run %lld: a runtime drives it", (long long)run_id);
        close(fd);
        free(lock);
        return 1;
    }
    int rc = -1;
    char *runtime_log = NULL;
    if (store_begin(st, err, errlen) != 0)
        goto out;
    /* Looked at again under both locks, in the deleting transaction: since
     * it was selected it may have been resumed, or resumed and finished
     * again (then it is as new as its last finish). */
    sqlite3_stmt *s = store_prepare(st, "SELECT state, finished_at IS NOT NULL, finished_at < ?2, "
                                        "runtime_log FROM runs WHERE id = ?1");
    sqlite3_bind_int64(s, 1, run_id);
    sqlite3_bind_double(s, 2, cutoff);
    bool gone = sqlite3_step(s) != SQLITE_ROW;
    bool final = !gone && query_run_final((const char *)sqlite3_column_text(s, 0)) &&
                 sqlite3_column_int(s, 1);
    bool old_enough = final && sqlite3_column_int(s, 2);
    const char *log = gone ? NULL : (const char *)sqlite3_column_text(s, 3);
    runtime_log = log ? ns_xstrdup(log) : NULL;
    sqlite3_finalize(s);
    if (gone || !old_enough) {
        store_rollback(st);
        ns_errf(err, errlen, "run %lld: %s", (long long)run_id,
                gone     ? "already gone"
                : !final ? "not finished any more"
                         : "finished again since gc picked it");
        rc = 1;
        goto out;
    }
    s = store_prepare(st, "DELETE FROM runs WHERE id = ?");
    sqlite3_bind_int64(s, 1, run_id);
    int step = sqlite3_step(s);
    sqlite3_finalize(s);
    if (step != SQLITE_DONE) {
        ns_errf(err, errlen, "%s: %s", st->path, sqlite3_errmsg(store_db(st)));
        store_rollback(st);
        goto out;
    }
    if (store_commit(st, err, errlen) != 0)
        goto out;
    /* The run's directory as store_make_run_dir names it; removed without
     * following a symbolic link anywhere (FTW_PHYS). */
    char *dir = ns_xasprintf("%s/run-%lld", st->data_dir, (long long)run_id);
    if (remove_tree(dir, bytes) != 0) {
        ns_errf(err, errlen, "%s: some files could not be removed", dir);
        free(dir);
        goto out;
    }
    free(dir);
    remove_run_files(st, run_id, runtime_log, bytes);
    store_exit_note_remove(st, run_id);
    unlink(lock); /* while held: a runtime opening it now gets a fresh one */
    rc = 0;
out:
    free(runtime_log);
    close(fd);
    free(lock);
    return rc;
}

static int64_t db_size(struct ns_store *st)
{
    struct stat sb;
    int64_t n = stat(st->path, &sb) == 0 ? sb.st_size : 0;
    char *wal = ns_xasprintf("%s-wal", st->path);
    if (stat(wal, &sb) == 0)
        n += sb.st_size;
    free(wal);
    return n;
}

int gc_reclaim(struct ns_store *st, int64_t *before, int64_t *after, char *err, size_t errlen)
{
    *before = db_size(st);
    int rc = store_exec(st, "VACUUM", err, errlen);
    if (rc == 0)
        rc = store_exec(st, "PRAGMA wal_checkpoint(TRUNCATE)", err, errlen);
    *after = db_size(st);
    return rc;
}
