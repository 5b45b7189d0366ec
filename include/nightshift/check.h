/*
 * check.h - invariants and internal errors, in SQLite's style.
 *
 * ALWAYS(x) and NEVER(x) state conditions the design promises (one live
 * attempt per partition, live attempts within concurrency, counters equal
 * to rows). In checked builds (-DNS_CHECKED: make check-asan, check-tsan
 * and the unit tests) a broken promise is an internal error; otherwise they
 * are just their argument, so the code around them still handles the case:
 *
 *     if (NEVER(p->live != NULL))   // checked: abort; else: skip safely
 *         return;
 *
 * NS_BUG(fmt, ...) is the one internal-error abort: it names the file and
 * line, says what broke on stderr and aborts. It is for bugs only (a caller
 * that broke a contract, SQL text of our own that does not prepare), never
 * for a failure the world can cause (a full disk, a missing file): those
 * return an error.
 */
#ifndef NIGHTSHIFT_CHECK_H
#define NIGHTSHIFT_CHECK_H

/* Prints "nightshift: internal error at FILE:LINE: message" on stderr and
 * aborts. Use through NS_BUG. */
_Noreturn void ns_bug_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define NS_BUG(...) ns_bug_at(__FILE__, __LINE__, __VA_ARGS__)

#ifdef NS_CHECKED
#define ALWAYS(x) ((x) ? 1 : (NS_BUG("ALWAYS(%s) does not hold", #x), 0))
#define NEVER(x) ((x) ? (NS_BUG("NEVER(%s) happened", #x), 1) : 0)
#else
#define ALWAYS(x) (x)
#define NEVER(x) (x)
#endif

#endif
