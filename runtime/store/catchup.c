/*
 * catchup.c - what earlier runs of a job did with a partition key
 * (catchup.h). A key is looked up in every earlier run of the same job and
 * spec file, newest first: a success anywhere wins, then a run that holds it
 * unfinished with a live runtime, then the newest result that ran.
 */
#include <stdio.h>
#include <string.h>

#include "store-internal.h"
#include "nightshift/catchup.h"
#include "nightshift/query.h"

int catchup_only_of(const char *word)
{
    static const char *const words[] = {"missing", "failed", "all"};
    if (!word)
        return NS_ONLY_NONE;
    for (int i = 0; i < 3; i++)
        if (strcmp(word, words[i]) == 0)
            return NS_ONLY_MISSING + i;
    return -1;
}

bool catchup_runs(enum ns_only only, enum ns_key_past past)
{
    switch (past) {
    case NS_KEY_NEW:
        return true;
    case NS_KEY_FAILED:
        return only == NS_ONLY_FAILED || only == NS_ONLY_ALL || only == NS_ONLY_NONE;
    case NS_KEY_SUCCEEDED:
        return only == NS_ONLY_ALL || only == NS_ONLY_NONE;
    case NS_KEY_RUNNING:
        return only == NS_ONLY_NONE; /* no key runs in two runs at once */
    }
    return true;
}

enum ns_key_past catchup_classify(struct ns_store *st, const char *job, const char *spec_path,
                                  int64_t exclude_run, const char *key, int64_t *run_out)
{
    sqlite3_stmt *s = store_prepare(
        st, "SELECT q.state, r.id, r.state FROM runs r JOIN partitions q ON q.run_id = r.id "
            "WHERE r.job = ? AND r.spec_path = ? AND r.id != ? AND q.key = ? ORDER BY r.id DESC");
    sqlite3_bind_text(s, 1, job, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, spec_path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, exclude_run);
    sqlite3_bind_text(s, 4, key, -1, SQLITE_STATIC);
    enum ns_key_past past = NS_KEY_NEW;
    int64_t failed_run = 0, running_run = 0;
    *run_out = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        int state = query_part_state_of((const char *)sqlite3_column_text(s, 0));
        int64_t run = sqlite3_column_int64(s, 1);
        int run_state = query_run_state_of((const char *)sqlite3_column_text(s, 2));
        if (state == NS_PS_SUCCEEDED) {
            past = NS_KEY_SUCCEEDED;
            *run_out = run;
            break;
        }
        if (state == NS_PS_FAILED || state == NS_PS_SKIPPED) {
            if (!failed_run)
                failed_run = run;
        } else if (!running_run && !query_run_state_final(run_state) &&
                   query_runtime_alive(st, run)) {
            running_run = run;
        }
    }
    sqlite3_finalize(s);
    if (past == NS_KEY_SUCCEEDED)
        return past;
    if (running_run) {
        *run_out = running_run;
        return NS_KEY_RUNNING;
    }
    if (failed_run) {
        *run_out = failed_run;
        return NS_KEY_FAILED;
    }
    return NS_KEY_NEW;
}

const char *catchup_past_word(enum ns_key_past past)
{
    static const char *const words[] = {"new", "failed", "succeeded", "running"};
    return past <= NS_KEY_RUNNING ? words[past] : "?";
}

void catchup_words(enum ns_only only, enum ns_key_past past, int64_t run, char *out, size_t len)
{
    bool runs = catchup_runs(only, past);
    switch (past) {
    case NS_KEY_NEW:
        snprintf(out, len, "runs");
        break;
    case NS_KEY_FAILED:
        snprintf(out, len, runs ? "runs again (failed in run %lld)"
                                : "left alone (failed in run %lld; --only failed runs it)",
                 (long long)run);
        break;
    case NS_KEY_SUCCEEDED:
        snprintf(out, len, runs ? "runs again (succeeded in run %lld)"
                                : "left alone (succeeded in run %lld)",
                 (long long)run);
        break;
    case NS_KEY_RUNNING:
        snprintf(out, len, "untouched (running now in run %lld)", (long long)run);
        break;
    }
}
