/*
 * only.c - run --only missing|failed|all: a new catch-up run skips, before
 * anything is dispatched, the partitions that are not due - each with the
 * words the dry run printed for it (catchup_words), so the run does exactly
 * what `--dry-run` said. A key that another live run holds unfinished is
 * never run here: no key runs in two runs at once.
 */
#include <stdio.h>
#include <stdlib.h>

#include "supervisor.h"
#include "nightshift/catchup.h"
#include "nightshift/util.h"

static const char *only_word(int only)
{
    return only == NS_ONLY_MISSING ? "missing" : only == NS_ONLY_FAILED ? "failed" : "all";
}

void rt_apply_only(struct rt *rt)
{
    char *spec_path = realpath(rt->spec->path, NULL);
    int64_t n[4] = {0}, ran = 0;
    for (size_t i = 0; i < rt->nparts; i++) {
        char *key = ns_xstrdup(rt_part_key(rt, (int64_t)i));
        int64_t run;
        enum ns_key_past past = catchup_classify(&rt->st, rt->spec->name,
                                                 spec_path ? spec_path : rt->spec->path,
                                                 rt->run_id, key, &run);
        n[past]++;
        if (catchup_runs((enum ns_only)rt->opts->only, past)) {
            ran++;
        } else {
            char words[160], why[200];
            catchup_words((enum ns_only)rt->opts->only, past, run, words, sizeof words);
            snprintf(why, sizeof why, "--only %s: %s", only_word(rt->opts->only), words);
            rt_settle_partition(rt, (int64_t)i, P_SKIPPED, why);
        }
        free(key);
    }
    free(spec_path);
    rt_event(rt, -1, 0, "catchup",
             "run %lld: --only %s: %lld of %zu partitions run (%lld new, %lld failed before, %lld "
             "succeeded before, %lld running in another run)",
             (long long)rt->run_id, only_word(rt->opts->only), (long long)ran, rt->nparts,
             (long long)n[NS_KEY_NEW], (long long)n[NS_KEY_FAILED], (long long)n[NS_KEY_SUCCEEDED],
             (long long)n[NS_KEY_RUNNING]);
}
