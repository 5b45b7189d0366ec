/*
 * util.c - allocation, buffers, durations, sizes, clock, hashing.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nightshift/util.h"

void *ns_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

void *ns_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        abort();
    return p;
}

void *ns_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        abort();
    return q;
}

char *ns_xstrdup(const char *s)
{
    return ns_xstrndup(s, strlen(s));
}

char *ns_xstrndup(const char *s, size_t n)
{
    char *d = ns_xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *ns_xasprintf(const char *fmt, ...)
{
    struct ns_buf b = NS_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vaddf(&b, fmt, ap);
    va_end(ap);
    return buf_detach(&b);
}

void ns_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void buf_grow(struct ns_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->data = ns_xrealloc(b->data, cap);
    b->cap = cap;
}

void buf_add(struct ns_buf *b, const void *data, size_t len)
{
    buf_grow(b, len);
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void buf_adds(struct ns_buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

void buf_addc(struct ns_buf *b, char c)
{
    buf_add(b, &c, 1);
}

void buf_vaddf(struct ns_buf *b, const char *fmt, va_list ap)
{
    /* Format into the spare room first (most calls fit); measure and retry
     * only when it did not. Avoids vsnprintf(NULL, 0, ...), which gcc 12
     * flags under -fsanitize with -Werror=format-truncation. */
    va_list cp;
    buf_grow(b, 64);
    size_t room = b->cap - b->len;
    va_copy(cp, ap);
    int n = vsnprintf(b->data + b->len, room, fmt, cp);
    va_end(cp);
    if (n < 0) {
        b->data[b->len] = '\0';
        return;
    }
    if ((size_t)n >= room) {
        buf_grow(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    }
    b->len += (size_t)n;
}

void buf_addf(struct ns_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vaddf(b, fmt, ap);
    va_end(ap);
}

void buf_add_base64(struct ns_buf *b, const void *data, size_t len)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = data;
    buf_grow(b, (len + 2) / 3 * 4);
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < len)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        char out[4] = {tab[(v >> 18) & 63], tab[(v >> 12) & 63],
                       i + 1 < len ? tab[(v >> 6) & 63] : '=', i + 2 < len ? tab[v & 63] : '='};
        buf_add(b, out, 4);
    }
}

void buf_reset(struct ns_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

char *buf_detach(struct ns_buf *b)
{
    char *s = b->data ? b->data : ns_xstrdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

void buf_release(struct ns_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int ns_parse_int64(const char *s, int64_t *out)
{
    if (!s || !*s || isspace((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int ns_parse_duration(const char *s, int64_t *ms_out)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"ms", 1},      {"s", 1000},     {"m", 60000},
                 {"h", 3600000}, {"d", 86400000}, {"w", 7 * 86400000LL}};
    if (!s || !*s)
        return -1;
    int64_t total = 0;
    const char *p = s;
    int parts = 0;
    while (*p) {
        /* DIGITS[.DIGITS] only: strtod alone would take "1e2", "0x1f",
         * "inf" and "nan" (docs/spec.md allows none of them). */
        size_t whole = strspn(p, "0123456789");
        if (whole == 0 || whole > 15)
            return -1;
        const char *end = p + whole;
        if (*end == '.') {
            size_t frac = strspn(end + 1, "0123456789");
            if (frac == 0 || frac > 3)
                return -1;
            end += 1 + frac;
        }
        char num[24];
        memcpy(num, p, (size_t)(end - p));
        num[end - p] = '\0';
        double v = strtod(num, NULL);
        p = end;
        if (!*p) {
            if (parts > 0)
                return -1; /* "1h30" is ambiguous */
            if (v * 1000 > (double)INT64_MAX / 2)
                return -1;
            total = (int64_t)(v * 1000 + 0.5);
            parts++;
            break;
        }
        size_t best = 0;
        int64_t mul = 0;
        for (size_t i = 0; i < NS_ARRAY_LEN(units); i++) {
            size_t ul = strlen(units[i].unit);
            if (strncmp(p, units[i].unit, ul) == 0 && ul > best && !isalpha((unsigned char)p[ul])) {
                best = ul;
                mul = units[i].ms;
            }
        }
        if (!best)
            return -1;
        if (v * (double)mul > (double)INT64_MAX / 2)
            return -1;
        total += (int64_t)(v * (double)mul + 0.5);
        p += best;
        parts++;
    }
    *ms_out = total;
    return 0;
}

char *ns_format_duration(int64_t ms, char *out, size_t outlen)
{
    if (ms < 0)
        ms = 0;
    if (ms < 10000)
        snprintf(out, outlen, "%.1fs", (double)ms / 1000.0);
    else if (ms < 60000)
        snprintf(out, outlen, "%llds", (long long)(ms / 1000));
    else if (ms < 3600000)
        snprintf(out, outlen, "%lldm%02llds", (long long)(ms / 60000), (long long)(ms / 1000 % 60));
    else if (ms < 86400000)
        snprintf(out, outlen, "%lldh%02lldm", (long long)(ms / 3600000),
                 (long long)(ms / 60000 % 60));
    else
        snprintf(out, outlen, "%lldd%02lldh", (long long)(ms / 86400000),
                 (long long)(ms / 3600000 % 24));
    return out;
}

int ns_parse_rate(const char *s, int *count_out, double *per_s_out)
{
    static const struct {
        const char *unit;
        double s;
    } units[] = {{"s", 1},     {"sec", 1},  {"second", 1}, {"m", 60},      {"min", 60},
                 {"minute", 60}, {"h", 3600}, {"hour", 3600}};
    if (!s)
        return -1;
    size_t digits = strspn(s, "0123456789");
    if (digits == 0 || digits > 7 || s[digits] != '/')
        return -1;
    char num[8];
    memcpy(num, s, digits);
    num[digits] = '\0';
    long n = strtol(num, NULL, 10);
    if (n < 1 || n > 1000000)
        return -1;
    for (size_t i = 0; i < NS_ARRAY_LEN(units); i++) {
        if (strcmp(s + digits + 1, units[i].unit) == 0) {
            *count_out = (int)n;
            *per_s_out = units[i].s;
            return 0;
        }
    }
    return -1;
}

char *ns_format_rate(int count, double per_s, char *out, size_t outlen)
{
    if (per_s == 1)
        snprintf(out, outlen, "%d/s", count);
    else if (per_s == 60)
        snprintf(out, outlen, "%d/min", count);
    else if (per_s == 3600)
        snprintf(out, outlen, "%d/h", count);
    else
        snprintf(out, outlen, "%d/%gs", count, per_s);
    return out;
}

int ns_parse_size(const char *s, int64_t *bytes_out)
{
    static const struct {
        const char *unit;
        int64_t mul;
    } units[] = {{"", 1},          {"B", 1},           {"kB", 1000},
                 {"KB", 1000},     {"KiB", 1024},      {"MB", 1000000},
                 {"MiB", 1 << 20}, {"GB", 1000000000}, {"GiB", 1 << 30}};
    if (!s || !isdigit((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    for (size_t i = 0; i < NS_ARRAY_LEN(units); i++) {
        if (strcmp(end, units[i].unit) == 0) {
            if (v > (unsigned long long)(INT64_MAX / units[i].mul))
                return -1;
            *bytes_out = (int64_t)v * units[i].mul;
            return 0;
        }
    }
    return -1;
}

double ns_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read once per process; tests set it before starting the binary. */
static double test_base_now = -1, test_base_mono;
static pthread_once_t test_clock_once = PTHREAD_ONCE_INIT;

static bool test_clock_frozen;

static void test_clock_init(void)
{
    const char *e = getenv("NIGHTSHIFT_TEST_NOW");
    if (e && *e) {
        char *end;
        double v = strtod(e, &end);
        if (end != e && *end == '\0') {
            test_base_now = v;
            test_base_mono = ns_monotonic();
            const char *f = getenv("NIGHTSHIFT_TEST_CLOCK");
            test_clock_frozen = f && strcmp(f, "frozen") == 0;
        }
    }
}

double ns_now(void)
{
    pthread_once(&test_clock_once, test_clock_init);
    double base_now = test_base_now, base_mono = test_base_mono;
    if (base_now >= 0)
        return test_clock_frozen ? base_now : base_now + (ns_monotonic() - base_mono);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t ns_hash64(const void *data, size_t len, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = seed;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

int ns_create_file(const char *path, mode_t mode)
{
    for (int tries = 0;; tries++) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd >= 0 || errno != EEXIST || tries > 0)
            return fd;
        /* A leftover (a crashed attempt's log, or a planted symlink): unlink
         * removes the name, never what a symlink points to. */
        if (unlink(path) != 0)
            return -1;
    }
}

/* Test-only crash points. Parsed once; hit only from the thread that
 * writes the store (the runtime's loop), so plain counters suffice. */
void ns_crashpoint(const char *name)
{
    static int parsed;
    static char armed[64];
    static long want, hits;
    if (!parsed) {
        parsed = 1;
        const char *env = getenv("NIGHTSHIFT_CRASHPOINT");
        const char *colon = env ? strrchr(env, ':') : NULL;
        if (colon && (size_t)(colon - env) < sizeof armed) {
            memcpy(armed, env, (size_t)(colon - env));
            armed[colon - env] = '\0';
            want = strtol(colon + 1, NULL, 10);
        }
    }
    if (!armed[0] || want <= 0 || strcmp(name, armed) != 0 || ++hits != want)
        return;
    kill(getpid(), SIGKILL); /* as kill -9 would: no cleanup, no flush */
    _exit(137);
}

void ns_waitpoint(const char *name)
{
    const char *env = getenv("NIGHTSHIFT_WAITPOINT");
    const char *colon = env ? strchr(env, ':') : NULL;
    if (!colon || strlen(name) != (size_t)(colon - env) || strncmp(env, name, strlen(name)) != 0)
        return;
    const char *path = colon + 1;
    char *reached = ns_xasprintf("%s.reached", path);
    int fd = open(reached, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0)
        close(fd);
    free(reached);
    double deadline = ns_monotonic() + 60;
    while (access(path, F_OK) != 0 && ns_monotonic() < deadline)
        usleep(10000);
}

int ns_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(thread, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

int ns_write_file_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
    char *tmp = ns_xasprintf("%s.tmp.%ld", path, (long)getpid());
    int fd = ns_create_file(tmp, 0644);
    if (fd < 0) {
        ns_errf(err, errlen, "%s: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            ns_errf(err, errlen, "%s: %s", tmp, n < 0 ? strerror(errno) : "short write");
            goto fail;
        }
        p += n;
        left -= (size_t)n;
    }
    if (fsync(fd) != 0) {
        ns_errf(err, errlen, "%s: %s", tmp, strerror(errno));
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        ns_errf(err, errlen, "%s: %s", tmp, strerror(errno));
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        ns_errf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    free(tmp);
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    free(tmp);
    return -1;
}

char *ns_params_oneline(const char *canon)
{
    char *s = ns_xstrdup(canon);
    size_t n = strlen(s);
    while (n && s[n - 1] == '\n')
        s[--n] = '\0';
    for (char *p = s; *p; p++)
        if (*p == '\n')
            *p = ' ';
    return s;
}

/* The offset of a relative date: "+N" or "-N" then d (days) or w (weeks),
 * at most NS_RELATIVE_DATE_MAX_DAYS days. Returns 0 and *days, or -1. */
static int relative_offset(const char *p, long *days)
{
    if ((*p != '+' && *p != '-') || !isdigit((unsigned char)p[1]))
        return -1;
    const char *d = p + 1;
    size_t nd = strspn(d, "0123456789");
    char unit = (char)tolower((unsigned char)d[nd]);
    if (nd > 6 || (unit != 'd' && unit != 'w') || d[nd + 1] != '\0')
        return -1;
    long n = strtol(d, NULL, 10) * (unit == 'w' ? 7 : 1);
    if (n > NS_RELATIVE_DATE_MAX_DAYS)
        return -1;
    *days = *p == '-' ? -n : n;
    return 0;
}

int ns_resolve_relative_date(const char *value, double now, char *out, size_t outlen)
{
    static const struct {
        const char *word;
        int days;
    } bases[] = {{"today", 0}, {"yesterday", -1}};
    for (size_t i = 0; i < NS_ARRAY_LEN(bases); i++) {
        size_t wl = strlen(bases[i].word);
        if (strncasecmp(value, bases[i].word, wl) != 0)
            continue;
        const char *p = value + wl;
        long offset = 0;
        /* "todayx" is a word of its own; "today+1y", "today -7d" meant a
         * date and must not reach a worker as text. */
        if (*p && !strchr("+- \t", *p))
            return 0;
        if (*p && relative_offset(p, &offset) != 0)
            return -1;
        time_t t = (time_t)now;
        struct tm tm;
        localtime_r(&t, &tm);
        tm.tm_mday += bases[i].days + (int)offset;
        tm.tm_hour = 12; /* noon: no DST edge moves the day */
        tm.tm_min = tm.tm_sec = 0;
        tm.tm_isdst = -1;
        if (mktime(&tm) == (time_t)-1)
            return -1;
        snprintf(out, outlen, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
        return 1;
    }
    return 0;
}

int ns_make_dirs(const char *path, mode_t mode)
{
    char *p = ns_xstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, mode) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *s = '/';
    }
    int rc = (mkdir(p, mode) != 0 && errno != EEXIST) ? -1 : 0;
    free(p);
    return rc;
}

double ns_local_clock_on(double t, int days, int h, int m, int s)
{
    time_t tt = (time_t)t;
    struct tm tm;
    localtime_r(&tt, &tm);
    tm.tm_mday += days;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = s;
    tm.tm_isdst = -1;
    time_t r = mktime(&tm);
    return r == (time_t)-1 ? -1 : (double)r;
}

/* "HH:MM" or "HH:MM:SS", the whole of text, into h, m, s. */
static int parse_clock(const char *text, int *h, int *m, int *s)
{
    int n = 0;
    *s = 0;
    if (sscanf(text, "%2d:%2d%n", h, m, &n) != 2)
        return -1;
    if (text[n] == ':') {
        int n2 = 0;
        if (sscanf(text + n + 1, "%2d%n", s, &n2) != 1)
            return -1;
        n += 1 + n2;
    }
    if (text[n] || !strchr("0123456789", text[0]) || *h > 23 || *m > 59 || *s > 59 || *h < 0 ||
        *m < 0 || *s < 0)
        return -1;
    return 0;
}

int ns_parse_since(const char *text, double now, double *out)
{
    int h, m, s;
    if (!text || !*text)
        return -1;
    if (parse_clock(text, &h, &m, &s) == 0) {
        double t = ns_local_clock_on(now, 0, h, m, s);
        if (t > now)
            t = ns_local_clock_on(now, -1, h, m, s);
        *out = t;
        return t < 0 ? -1 : 0;
    }
    static const struct {
        const char *word;
        int days;
    } days[] = {{"today ", 0}, {"yesterday ", -1}};
    for (size_t i = 0; i < NS_ARRAY_LEN(days); i++) {
        size_t l = strlen(days[i].word);
        if (strncasecmp(text, days[i].word, l) == 0) {
            if (parse_clock(text + l, &h, &m, &s) != 0)
                return -1;
            *out = ns_local_clock_on(now, days[i].days, h, m, s);
            return *out < 0 ? -1 : 0;
        }
    }
    int64_t ms;
    if (ns_parse_duration(text, &ms) == 0) {
        *out = now - (double)ms / 1000.0;
        return 0;
    }
    /* A date, then optionally a clock after a space or a T. */
    int y, mo, d, n = 0;
    if (sscanf(text, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10 || mo < 1 || mo > 12 ||
        d < 1 || d > 31)
        return -1;
    h = m = s = 0;
    if (text[n] && ((text[n] != ' ' && text[n] != 'T') || parse_clock(text + n + 1, &h, &m, &s)))
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                    .tm_min = m, .tm_sec = s, .tm_isdst = -1};
    time_t r = mktime(&tm);
    if (r == (time_t)-1 || tm.tm_mday != d)
        return -1; /* mktime moved an impossible day (02-30) on */
    *out = (double)r;
    return 0;
}
