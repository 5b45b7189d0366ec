/*
 * util.h - small shared helpers: growable byte buffers, checked allocation,
 * durations and sizes, the clock, JSON string quoting.
 *
 * Everything here is pure or nearly so (the clock reads the environment once)
 * so parsers built on it stay easy to unit-test and to fuzz.
 */
#ifndef NIGHTSHIFT_UTIL_H
#define NIGHTSHIFT_UTIL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation that never returns NULL: out of memory aborts, because no caller
 * could do anything more useful than crash cleanly. */
void *ns_xmalloc(size_t n);
void *ns_xcalloc(size_t n, size_t size);
void *ns_xrealloc(void *p, size_t n);
char *ns_xstrdup(const char *s);
char *ns_xstrndup(const char *s, size_t n);
/* printf into a fresh heap string; the caller frees it. */
char *ns_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* snprintf into a caller's error buffer (err may be NULL). */
void ns_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A growable byte buffer, always NUL-terminated (data may hold NULs too). */
struct ns_buf {
    char *data;
    size_t len;
    size_t cap;
};
#define NS_BUF_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void buf_grow(struct ns_buf *b, size_t extra);
void buf_add(struct ns_buf *b, const void *data, size_t len);
void buf_adds(struct ns_buf *b, const char *s);
void buf_addc(struct ns_buf *b, char c);
void buf_addf(struct ns_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vaddf(struct ns_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* The old name of json_add_string (json.h), defined in json.c. New code
 * calls json_add_string; this stays only until its last callers
 * (supervisor/runtime.c, cli/cmd-set.c, cmd-skip.c, cmd-retry.c,
 * tui/console.c) move. */
void buf_add_json_string(struct ns_buf *b, const char *s, size_t len);
/* Appends the standard base64 (RFC 4648, padded) of data. */
void buf_add_base64(struct ns_buf *b, const void *data, size_t len);
void buf_reset(struct ns_buf *b);
/* Hands the heap string to the caller (never NULL) and empties the buffer. */
char *buf_detach(struct ns_buf *b);
void buf_release(struct ns_buf *b);

/* "500ms", "30s", "10m", "3h", "2d", "1w", "1h30m", bare "45" = seconds.
 * Returns 0 and stores milliseconds, or -1 if the text is not a duration. */
int ns_parse_duration(const char *s, int64_t *ms_out);
/* Formats milliseconds compactly ("1h02m", "3.2s") into out; returns out. */
char *ns_format_duration(int64_t ms, char *out, size_t outlen);
/* A start rate: "10/s", "60/min", "500/h" (also "/sec", "/m", "/hour").
 * Returns 0 with the count (1 to 1000000) and the period in seconds, or -1. */
int ns_parse_rate(const char *s, int *count_out, double *per_s_out);
/* "10/s", "60/min" or "500/h" back from a count and a period (1, 60 or
 * 3600 s; another period is written in seconds, "7/90s"). Returns out. */
char *ns_format_rate(int count, double per_s, char *out, size_t outlen);
/* "1048576", "64KiB", "1MiB", "2GiB", "10kB", "5MB". Returns 0 or -1. */
int ns_parse_size(const char *s, int64_t *bytes_out);
/* Strict decimal integer (optional sign), whole string. Returns 0 or -1. */
int ns_parse_int64(const char *s, int64_t *out);

/* Wall-clock time in seconds. Tests may set NIGHTSHIFT_TEST_NOW=<epoch
 * seconds>: the clock then starts there at process start and advances with
 * real elapsed time, so deadlines can be placed seconds away; with
 * NIGHTSHIFT_TEST_CLOCK=frozen as well it stays there (whole-screen dumps
 * of the console compare byte for byte). */
double ns_now(void);
/* Creates path afresh for writing with mode, never through a symlink: a
 * file or symlink already there is unlinked first (O_EXCL | O_NOFOLLOW).
 * Returns the fd (close-on-exec) or -1 with errno. */
int ns_create_file(const char *path, mode_t mode);

/* A named crash point, for tests only: when NIGHTSHIFT_CRASHPOINT is
 * "NAME:N", the Nth call of ns_crashpoint(NAME) kills the process with
 * SIGKILL, as kill -9 would. Unset (always, outside tests), it does nothing.
 * The points ("state.before", "commit.after", ...) are listed in
 * docs/cli.md; only the runtime's loop thread calls it. */
void ns_crashpoint(const char *name);
/* A named wait point, for tests only: when NIGHTSHIFT_WAITPOINT is
 * "NAME:PATH", a call of ns_waitpoint(NAME) creates PATH.reached, then
 * waits (at most 60 s) until PATH exists, so a test can act inside a
 * window that is otherwise too short to hit. Unset, it does nothing. */
void ns_waitpoint(const char *name);
/* pthread_create with every signal blocked in the new thread: signals are
 * the loop's (its signalfd), never a helper thread's. 0 or an errno. */
int ns_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg);
/* a + b for counts that must never wrap: stops at INT64_MAX (or INT64_MIN). */
static inline int64_t ns_add_sat(int64_t a, int64_t b)
{
    int64_t sum;
    if (__builtin_add_overflow(a, b, &sum))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return sum;
}
/* Monotonic seconds, for timeouts and rates. */
double ns_monotonic(void);

/* Run parameters on one line: canonical "a=1\nb=2\n" becomes "a=1 b=2".
 * Not escaped (the values are the user's). The caller frees. */
char *ns_params_oneline(const char *canon);

/* Relative dates for run parameters: "today", "yesterday" (any case),
 * optionally with a whole number of days or weeks added or taken away
 * ("today-7d", "yesterday+1d", "today+2w"; at most
 * NS_RELATIVE_DATE_MAX_DAYS days) become the local date YYYY-MM-DD as of
 * now (Unix seconds) in out (at least 11 bytes). Returns 1 when value was
 * such a word, 0 when it is not one (out untouched: "todayx", "2026-11-30"),
 * -1 when it looks like one but cannot be read ("today+1y", "today-7",
 * "today -7d", "today+99999999999d"): a caller refuses it rather than pass
 * the word on. */
#define NS_RELATIVE_DATE_MAX_DAYS 100000
int ns_resolve_relative_date(const char *value, double now, char *out, size_t outlen);

/* The local time h:m:s on the day of t (Unix seconds) moved by days
 * (mktime normalises a day out of range, and finds the DST offset of that
 * moment), as Unix seconds; -1 when the clock cannot say. */
double ns_local_clock_on(double t, int days, int h, int m, int s);
/* The start of a period an operator names (`summary --since`, the
 * console's night view), as Unix seconds, read at now in local time:
 *   "18:00"              the latest 18:00 at or before now;
 *   "today 18:00", "yesterday 18:00"  that day's;
 *   "24h", "7d", "90m"   now less that duration (ns_parse_duration);
 *   "2026-11-03", "2026-11-03 18:00", "2026-11-03T18:00:30"  that moment.
 * Returns 0 with *out set, or -1 when text is none of these. */
int ns_parse_since(const char *text, double now, double *out);

/* mkdir -p: creates path and its missing parents with mode (less the
 * umask); an existing one is fine. Returns 0, or -1 with errno. */
int ns_make_dirs(const char *path, mode_t mode);

/* Writes len bytes to path through "<path>.tmp.<pid>" + fsync + rename(),
 * so a reader sees the old file or the new one, never half of one; the file
 * is created with mode 0644 less the umask. Returns 0, or -1 with err. */
int ns_write_file_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen);

/* 64-bit FNV-1a, for change detection (not security). */
uint64_t ns_hash64(const void *data, size_t len, uint64_t seed);
#define NS_HASH_SEED 0xcbf29ce484222325ULL

#endif
