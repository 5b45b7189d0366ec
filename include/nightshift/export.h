/*
 * export.h - the one writer of error-record exports, used by `nightshift
 * errors` and by the console's `w`.
 *
 * Formats (docs/json.md describes the JSONL object, "nightshift.error/1"):
 *   text   a table for people, every worker byte escaped (escape.h);
 *   jsonl  one JSON object per line through the one encoder (json.h);
 *   csv    RFC 4180 with a header line, fields quoted; escaped (escape.h)
 *          when f is a terminal, exact otherwise.
 * JSONL and CSV carry the same columns: id, partition, partition_key,
 * attempt_id, at, key, message, signature, payload_b64 (the payload's
 * exact bytes, standard base64). Lines end with LF in every format.
 * Records are read by keyset pages of 1000, never all at once.
 */
#ifndef NIGHTSHIFT_EXPORT_H
#define NIGHTSHIFT_EXPORT_H

#include <stdint.h>
#include <stdio.h>

#include "nightshift/query.h"

#define NS_EXPORT_FORMATS(X)                                                                       \
    X(TEXT, "text", ".txt")                                                                        \
    X(JSONL, "jsonl", ".jsonl")                                                                    \
    X(CSV, "csv", ".csv")
#define NS_EXPORT_ENUM(e, name, ext) NS_EXPORT_##e,
enum ns_export_format { NS_EXPORT_FORMATS(NS_EXPORT_ENUM) NS_EXPORT_COUNT };
#undef NS_EXPORT_ENUM

/* The format called name ("text", "jsonl", "csv"), or -1. */
int export_format_of(const char *name);
/* The format a file name asks for by its extension (.csv, .txt; anything
 * else is JSONL). */
enum ns_export_format export_format_for_path(const char *path);

/* Writes the records of sel with an id above after (at most limit; <= 0:
 * all) to f in fmt. Returns 0 and the number written in *count, or -1 with
 * err filled (database or write error). */
int export_errors(struct ns_store *st, const struct ns_error_select *sel, int64_t after,
                  int64_t limit, enum ns_export_format fmt, FILE *f, int64_t *count, char *err,
                  size_t errlen);

/* export_errors into path, atomically: a temporary file beside it, fsync,
 * rename; an existing file is replaced, a failure leaves no file. */
int export_errors_to_file(struct ns_store *st, const struct ns_error_select *sel,
                          enum ns_export_format fmt, const char *path, int64_t *count, char *err,
                          size_t errlen);

#endif
