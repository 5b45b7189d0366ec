/*
 * catchup.h - catch-up of missing days: what earlier runs of the same job
 * (from the same spec file) did with a partition key, so that `run --only
 * missing|failed|all` runs only what is due, and `--dry-run` says so first.
 *
 * One classification (catchup_classify), used by the dry run's listing and by
 * the runtime that applies --only, so what the dry run said is what the run
 * does. Nothing here prints or exits.
 */
#ifndef NIGHTSHIFT_CATCHUP_H
#define NIGHTSHIFT_CATCHUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nightshift/store.h"

/* --only: which keys a catch-up run runs. */
enum ns_only { NS_ONLY_NONE, NS_ONLY_MISSING, NS_ONLY_FAILED, NS_ONLY_ALL };

/* What earlier runs did with a key, in the order a key is judged. */
enum ns_key_past {
    NS_KEY_NEW,       /* no earlier run ran it (none had it, or never started it) */
    NS_KEY_FAILED,    /* its last result in an earlier run was a failure (or a skip) */
    NS_KEY_SUCCEEDED, /* an earlier run succeeded it: left alone */
    NS_KEY_RUNNING,   /* a run with a live runtime has it unfinished now: untouched */
};

/* The --only word's value (NS_ONLY_NONE for NULL), or -1 for another word. */
int catchup_only_of(const char *word);

/* What the earlier runs of job from spec_path (every run but exclude_run)
 * did with key; *run_out gets the run that says so (0 for NEW). */
enum ns_key_past catchup_classify(struct ns_store *st, const char *job, const char *spec_path,
                                  int64_t exclude_run, const char *key, int64_t *run_out);

/* True when a key of that past runs under --only. */
bool catchup_runs(enum ns_only only, enum ns_key_past past);

/* The words for a key of that past under --only, as the dry run prints them
 * and a skipped partition's reason keeps them: "runs", "runs again (failed
 * in run 2)", "left alone (succeeded in run 2)", "left alone (failed in run
 * 2; --only failed runs it)", "untouched (running now in run 5)". */
void catchup_words(enum ns_only only, enum ns_key_past past, int64_t run, char *out, size_t len);

/* "new", "failed", "succeeded", "running". */
const char *catchup_past_word(enum ns_key_past past);

#endif
