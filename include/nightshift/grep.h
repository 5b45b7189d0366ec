/*
 * grep.h - search a run's attempt logs and error records for a pattern
 * (`nightshift grep`, the console's grep view).
 *
 * A reader: it asks the read model which partitions and attempts there are
 * and reads their log files; it writes nothing. Matches come to a callback
 * in order - by partition index, then attempt (oldest first), each
 * attempt's log lines in order, then the partition's error records by id -
 * holding the raw bytes: the caller escapes them for its output.
 */
#ifndef NIGHTSHIFT_GREP_H
#define NIGHTSHIFT_GREP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nightshift/store.h"

#define NS_GREP_LAST_ATTEMPT (-1)

struct ns_grep_opts {
    int64_t run_id;
    const char *pattern; /* a POSIX extended regular expression */
    bool ignore_case;
    const char *state; /* only partitions in this state word (query.h), or NULL */
    int64_t attempt;   /* 0: every attempt; NS_GREP_LAST_ATTEMPT: each partition's latest; N */
};

struct ns_grep_match {
    int64_t idx;
    const char *key;   /* the partition's key */
    int64_t attempt;   /* its number within the partition; 0 when unknown */
    bool error_record; /* false: a log line */
    int64_t where;     /* the log's line number (from 1), or the error record's id */
    const char *text;  /* the line without its newline, or "key: message" of the record */
    size_t len;
};

/* Returns true to go on, false to stop the search. */
typedef bool (*ns_grep_each)(void *ctx, const struct ns_grep_match *m);

/* Searches run o->run_id; calls each for every match. Returns the number
 * of matches, or -1 with a sentence in err (a pattern that does not
 * compile, a database error). Unreadable logs are skipped silently (a log
 * gc removed, an attempt that printed nothing has none). */
int64_t grep_run(struct ns_store *st, const struct ns_grep_opts *o, ns_grep_each each, void *ctx,
                 char *err, size_t errlen);

#endif
