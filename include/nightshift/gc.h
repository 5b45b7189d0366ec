/*
 * gc.h - housekeeping: delete finished runs and reclaim the space.
 *
 * A run may go only when it is finished (succeeded, failed, stopped) and no
 * runtime holds its lock. gc takes that lock itself while it deletes, so no
 * runtime can start on the run meanwhile - for those moments gc is the run's
 * one writer, as a runtime would be. The rows go in one transaction (the
 * schema's ON DELETE CASCADE takes partitions, attempts, error records,
 * events, commands and samples with the run), then the run's directory of
 * attempt logs. Selection is query-report.h's report_gc_select.
 */
#ifndef NIGHTSHIFT_GC_H
#define NIGHTSHIFT_GC_H

#include <stdint.h>

struct ns_store;

/* Deletes run_id's rows and its files if, under its lock and in the
 * deleting transaction, it is still finished and finished before cutoff
 * (Unix seconds): a run resumed and finished again since it was selected is
 * newer now, and stays. Returns 0 deleted (*bytes: the size of the files
 * removed), 1 skipped because a runtime holds it, it is not finished any
 * more, or it finished after cutoff (err says which), -1 on an error (err
 * filled). st must be opened NS_STORE_CLIENT. */
int gc_delete_run(struct ns_store *st, int64_t run_id, double cutoff, int64_t *bytes, char *err,
                  size_t errlen);

/* Gives the freed pages back to the file system (VACUUM, then a WAL
 * checkpoint). *before and *after are the database's size in bytes.
 * Returns 0, or -1 with err (e.g. another connection is writing: try later). */
int gc_reclaim(struct ns_store *st, int64_t *before, int64_t *after, char *err, size_t errlen);

#endif
