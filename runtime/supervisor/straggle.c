/*
 * straggle.c - stragglers (the long tail): the runtime's half of query.h's
 * rule. It keeps the durations of the run's succeeded attempts as counts in
 * log-spaced buckets (2 % wide: a median to within 1 % in 10 KiB, however
 * many partitions), stores the threshold they give (runs.straggler_after)
 * when it moves, and once a second tests its live attempts against it:
 * each partition that becomes a straggler gets an event and, once per
 * runtime, the spec's on_straggler hook. Readers apply the same rule to the
 * stored threshold (query_is_straggler), so all of them flag the same
 * partitions. Owned by the loop's thread, like the rest of struct rt.
 */
#include <math.h>
#include <stdlib.h>

#include "supervisor.h"
#include "nightshift/util.h"

#define BUCKET_MIN_S 0.001 /* bucket 0: up to a millisecond */
#define BUCKET_RATIO 1.02
#define NBUCKETS 1400      /* 0.001 s * 1.02^1400: about 10^9 s */
#define REWRITE_RATIO 0.02 /* the stored threshold is rewritten when it moves by more */

static int bucket_of(double seconds)
{
    if (!(seconds > BUCKET_MIN_S))
        return 0;
    double b = log(seconds / BUCKET_MIN_S) / log(BUCKET_RATIO);
    return b >= NBUCKETS - 1 ? NBUCKETS - 1 : (int)b;
}

static void add_duration(void *ctx, double seconds)
{
    struct straggle *s = ctx;
    s->buckets[bucket_of(seconds)]++;
    s->n++;
}

/* The median of the durations seen: the middle of its bucket. */
static double median_of(const struct straggle *s)
{
    int64_t want = (s->n + 1) / 2, seen = 0;
    for (int b = 0; b < NBUCKETS; b++) {
        seen += s->buckets[b];
        if (seen >= want)
            return BUCKET_MIN_S * pow(BUCKET_RATIO, b + 0.5);
    }
    return 0;
}

void straggle_init(struct rt *rt)
{
    struct straggle *s = &rt->straggle;
    s->buckets = ns_xcalloc(NBUCKETS, sizeof *s->buckets);
    s->told = ns_xcalloc(rt->nparts / 8 + 1, 1);
    runs_succeeded_durations(rt->runs, add_duration, s);
    s->n_seen = -1; /* work the threshold out at the first check */
}

void straggle_release(struct rt *rt)
{
    free(rt->straggle.buckets);
    free(rt->straggle.told);
    rt->straggle.buckets = NULL;
    rt->straggle.told = NULL;
}

void straggle_succeeded(struct rt *rt, double seconds)
{
    if (rt->straggle.buckets)
        add_duration(&rt->straggle, seconds);
}

/* The threshold, worked out again when attempts succeeded since; stored
 * when it moved by more than REWRITE_RATIO (or appeared). */
static void update_threshold(struct rt *rt)
{
    struct straggle *s = &rt->straggle;
    if (s->n == s->n_seen)
        return;
    s->n_seen = s->n;
    s->median = s->n ? median_of(s) : 0;
    double after = query_straggler_after(s->median, s->n);
    if (after > 0 && s->after > 0 && fabs(after - s->after) <= REWRITE_RATIO * s->after)
        return;
    if (after == s->after)
        return;
    s->after = after;
    journal_straggler_after(rt->j, after);
}

void straggle_check(struct rt *rt, double now)
{
    struct straggle *s = &rt->straggle;
    if (!s->buckets)
        return;
    update_threshold(rt);
    if (s->after <= 0)
        return;
    for (size_t i = 0; i < rt->nlive; i++) {
        const struct attempt *a = rt->live[i];
        if (!a->started || (s->told[a->idx / 8] & (1u << (a->idx % 8))))
            continue;
        if (!query_is_straggler(s->after, rt->pstate[a->idx], a->started_wall, now))
            continue;
        s->told[a->idx / 8] |= (uint8_t)(1u << (a->idx % 8));
        char running[32], median[32];
        ns_format_duration((int64_t)((now - a->started_wall) * 1000), running, sizeof running);
        ns_format_duration((int64_t)(s->median * 1000), median, sizeof median);
        struct hook_part part = {a->idx, rt_part_key(rt, a->idx), now - a->started_wall, s->median};
        rt_event(rt, a->idx, a->id, "straggler",
                 "partition %lld (%s) is a straggler: attempt %d has run %s, over %.0fx the median "
                 "%s of the %lld succeeded attempts",
                 (long long)a->idx, part.key, a->n, running, NS_STRAGGLER_FACTOR, median,
                 (long long)s->n);
        hooks_fire_part(rt, NS_HOOK_STRAGGLER, &part);
    }
}
