/*
 * sigcount.c - error records counted by (partition, signature) in memory
 * (sigcount.h): an open-addressing hash table over a dense array of pairs,
 * so iterating is a walk of the array and clearing frees a few strings.
 */
#include <stdlib.h>
#include <string.h>

#include "sigcount.h"
#include "nightshift/util.h"

struct pair {
    int64_t idx, n;
    char *signature;
    uint64_t hash;
};

struct ns_sigcount {
    struct pair *pairs; /* dense, in the order first seen */
    size_t n, cap;
    size_t *slots; /* 1 + index into pairs, 0 = empty; a power of two long */
    size_t nslots;
};

struct ns_sigcount *sigcount_new(void)
{
    return ns_xcalloc(1, sizeof(struct ns_sigcount));
}

void sigcount_free(struct ns_sigcount *c)
{
    if (!c)
        return;
    sigcount_clear(c);
    free(c->pairs);
    free(c->slots);
    free(c);
}

static uint64_t pair_hash(int64_t idx, const char *signature)
{
    return ns_hash64(signature, strlen(signature), 0xcbf29ce484222325ULL ^ (uint64_t)idx);
}

/* Doubles the slots (kept at most half full) and places every pair again. */
static void grow_slots(struct ns_sigcount *c)
{
    free(c->slots);
    c->nslots = c->nslots ? c->nslots * 2 : 64;
    c->slots = ns_xcalloc(c->nslots, sizeof *c->slots);
    for (size_t i = 0; i < c->n; i++) {
        size_t s = c->pairs[i].hash & (c->nslots - 1);
        while (c->slots[s])
            s = (s + 1) & (c->nslots - 1);
        c->slots[s] = i + 1;
    }
}

void sigcount_add(struct ns_sigcount *c, int64_t idx, const char *signature)
{
    if (2 * (c->n + 1) > c->nslots)
        grow_slots(c);
    uint64_t h = pair_hash(idx, signature);
    size_t s = h & (c->nslots - 1);
    for (; c->slots[s]; s = (s + 1) & (c->nslots - 1)) {
        struct pair *p = &c->pairs[c->slots[s] - 1];
        if (p->hash == h && p->idx == idx && strcmp(p->signature, signature) == 0) {
            p->n++;
            return;
        }
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->pairs = ns_xrealloc(c->pairs, c->cap * sizeof *c->pairs);
    }
    c->pairs[c->n] = (struct pair){idx, 1, ns_xstrdup(signature), h};
    c->slots[s] = ++c->n;
}

size_t sigcount_len(const struct ns_sigcount *c)
{
    return c->n;
}

void sigcount_get(const struct ns_sigcount *c, size_t i, int64_t *idx, const char **signature,
                  int64_t *n)
{
    *idx = c->pairs[i].idx;
    *signature = c->pairs[i].signature;
    *n = c->pairs[i].n;
}

void sigcount_clear(struct ns_sigcount *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->pairs[i].signature);
    c->n = 0;
    if (c->slots)
        memset(c->slots, 0, c->nslots * sizeof *c->slots);
}
