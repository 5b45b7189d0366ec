/*
 * check.c - the internal-error abort behind NS_BUG (check.h).
 *
 * The one place outside the command files that writes to stderr: an
 * internal error is a bug, the process cannot go on, and no caller could
 * do better with an error buffer. abort() leaves a core for the bug report.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "nightshift/check.h"

void ns_bug_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "nightshift: internal error at %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(stderr);
    abort();
}
