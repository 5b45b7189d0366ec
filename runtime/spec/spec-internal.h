/*
 * spec-internal.h - what spec.c and plan.c share but nobody else needs:
 * the template walker and the parsers of partition values, so a literal
 * value is checked at load time by exactly the code that uses it at plan time.
 */
#ifndef NIGHTSHIFT_SPEC_INTERNAL_H
#define NIGHTSHIFT_SPEC_INTERNAL_H

#include <stdint.h>
#include <time.h>

#include "nightshift/util.h"

/* Returns the value of placeholder name[0..len), or NULL if it is unknown. */
typedef const char *(*tmpl_lookup_fn)(void *ctx, const char *name, size_t len);

/* tmpl_expand with a lookup function. out may be NULL to only check text.
 * Returns 0, or -1 with a message in err (unknown placeholder, unbalanced
 * brace, malformed placeholder). */
int tmpl_expand_with(const char *text, tmpl_lookup_fn lookup, void *ctx, struct ns_buf *out,
                     char *err, size_t errlen);

/* True if name matches [A-Za-z_][A-Za-z0-9_]* (len bytes). */
int tmpl_is_name(const char *name, size_t len);

/* "YYYY-MM-DD" to the UTC midnight that starts it. Returns 0 or -1. */
int plan_parse_date(const char *s, time_t *out);
/* A step in whole days ("1d", "7d", "1w"). Returns 0 or -1. */
int plan_parse_step(const char *s, int64_t *days_out);

#define NS_PLAN_MAX_KEY 1024 /* bytes in one partition key */

#endif
