/*
 * json.h - the one JSON encoder: every JSON document nightshift prints
 * (status --json, errors --format jsonl, audit --json, the console's export,
 * summary --format json) is written through it. docs/json.md is the schema.
 *
 * Output is always valid UTF-8 and safe to print on a terminal: C0 and C1
 * controls, DEL, bidi overrides and embeddings (U+202A-202E, U+2066-2069),
 * zero-width and line/paragraph separators are written as \uXXXX escapes;
 * a byte that is not UTF-8 becomes U+FFFD in the text, and a field written
 * with json_field_bytes() then also carries "<name>_b64" with the exact
 * bytes, so "bad \xff byte" and "bad \xc3\xbf byte" stay distinguishable.
 *
 * The writer tracks nesting and commas; values go into an ns_buf the caller
 * owns. Keys are our own ASCII names.
 */
#ifndef NIGHTSHIFT_JSON_H
#define NIGHTSHIFT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nightshift/util.h"

/* The version of the documented schemas (docs/json.md); every top-level
 * object carries "schema": "nightshift.<document>/<version>" (the
 * convention summary and events started), e.g. "nightshift.status/1". */
#define NS_JSON_SCHEMA 1

#define NS_JSON_MAX_DEPTH 16

struct ns_json {
    struct ns_buf *out;
    int depth;
    bool has_item[NS_JSON_MAX_DEPTH]; /* a comma is due before the next item */
};

void json_init(struct ns_json *j, struct ns_buf *out);

/* Starts a top-level document: json_init, "{" and "schema":
 * "nightshift.<document>/NS_JSON_SCHEMA". json_end_document closes it and
 * appends a newline. */
void json_begin_document(struct ns_json *j, struct ns_buf *out, const char *document);
/* The "schema" member alone, for documents opened otherwise. */
void json_field_schema(struct ns_json *j, const char *document);
void json_end_document(struct ns_json *j);

/* Containers; key is NULL inside an array (or for the top level). */
void json_open_object(struct ns_json *j, const char *key);
void json_close_object(struct ns_json *j);
void json_open_array(struct ns_json *j, const char *key);
void json_close_array(struct ns_json *j);

/* Scalars; key is NULL inside an array. */
void json_field_int(struct ns_json *j, const char *key, int64_t v);
/* A finite number (%.17g trimmed to what round-trips is not needed: %.6f
 * for times and rates is enough); NaN and infinities are written as null. */
void json_field_real(struct ns_json *j, const char *key, double v);
/* A time or a duration that 0 means "none" for: 0 is written as null. */
void json_field_time(struct ns_json *j, const char *key, double v);
void json_field_bool(struct ns_json *j, const char *key, bool v);
void json_field_null(struct ns_json *j, const char *key);
/* v when has, else null (a figure that may not exist: an exit code). */
void json_field_int_or_null(struct ns_json *j, const char *key, bool has, int64_t v);
/* Our own text or NULL (null). Invalid UTF-8 becomes U+FFFD. */
void json_field_str(struct ns_json *j, const char *key, const char *s);
/* Bytes from outside (worker text, keys): the text as json_field_str
 * writes it, plus "<key>_b64" (standard base64) when the bytes are not
 * valid UTF-8. s == NULL writes null and no _b64 field. Object members only. */
void json_field_bytes(struct ns_json *j, const char *key, const void *s, size_t len);
/* Exact bytes as "<key>_b64" (null when s is NULL). */
void json_field_b64(struct ns_json *j, const char *key, const void *s, size_t len);
/* A JSON text we stored ourselves (params_json, command args): embedded as
 * a value when it is one complete JSON value, with any non-ASCII character
 * re-encoded by the rules above; else written as a string. */
void json_field_raw(struct ns_json *j, const char *key, const char *json);

/* Appends bytes s[0..len) as one JSON string literal (with quotes) by the
 * rules above; what json_field_str writes after its key. */
void json_add_string(struct ns_buf *b, const void *s, size_t len);

/* True if data[0..len) is valid UTF-8 (no overlongs, no surrogates). */
bool json_utf8_valid(const void *data, size_t len);

#endif
