/*
 * export.c - the one error-record export writer (see export.h).
 *
 * Each record is formatted into a buffer, then written with one fwrite, so
 * a record never reaches the file half-encoded.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nightshift/escape.h"
#include "nightshift/export.h"
#include "nightshift/json.h"
#include "nightshift/util.h"

#define EXPORT_PAGE 1000

static const struct {
    const char *name, *ext;
} formats[NS_EXPORT_COUNT] = {
#define NS_EXPORT_ROW(e, name, ext) [NS_EXPORT_##e] = {name, ext},
    NS_EXPORT_FORMATS(NS_EXPORT_ROW)
#undef NS_EXPORT_ROW
};

int export_format_of(const char *name)
{
    for (int i = 0; i < NS_EXPORT_COUNT; i++)
        if (name && strcmp(name, formats[i].name) == 0)
            return i;
    return -1;
}

enum ns_export_format export_format_for_path(const char *path)
{
    size_t pl = strlen(path);
    for (int i = 0; i < NS_EXPORT_COUNT; i++) {
        size_t el = strlen(formats[i].ext);
        if (pl > el && strcmp(path + pl - el, formats[i].ext) == 0)
            return (enum ns_export_format)i;
    }
    return NS_EXPORT_JSONL;
}

/* escape: the export goes to a terminal, where worker bytes are shown
 * escaped (escape.h) as in text; to a pipe or a file they are exact. */
static void csv_field(struct ns_buf *b, const char *s, size_t len, bool escape)
{
    char *esc = escape ? escape_dup(s, len, 0) : NULL;
    if (esc) {
        s = esc;
        len = strlen(esc);
    }
    buf_addc(b, '"');
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"')
            buf_addc(b, '"');
        buf_addc(b, s[i]);
    }
    buf_addc(b, '"');
    free(esc);
}

static void header(struct ns_buf *b, enum ns_export_format fmt)
{
    if (fmt == NS_EXPORT_CSV)
        buf_adds(b, "id,partition,partition_key,attempt_id,at,key,message,signature,payload_b64\n");
    else if (fmt == NS_EXPORT_TEXT)
        buf_addf(b, "%8s %6s  %-16s %-40s %s\n", "ID", "PART", "KEY", "MESSAGE", "PAYLOAD");
}

static void record(struct ns_buf *b, enum ns_export_format fmt, const struct ns_error_row *r,
                   bool tty)
{
    if (fmt == NS_EXPORT_TEXT) {
        char *ek = escape_dup(r->key, r->key_len, 0);
        char *em = escape_dup(r->message, r->message_len, 0);
        buf_addf(b, "%8lld %6lld  %-16s %-40s ", (long long)r->id, (long long)r->idx, ek, em);
        if (r->payload) {
            size_t show = r->payload_len > 60 ? 60 : r->payload_len;
            char *ep = escape_dup(r->payload, show, 0);
            buf_addf(b, "%zu bytes: %s%s", r->payload_len, ep, r->payload_len > 60 ? "..." : "");
            free(ep);
        }
        free(ek);
        free(em);
    } else if (fmt == NS_EXPORT_JSONL) {
        struct ns_json j;
        json_init(&j, b);
        json_open_object(&j, NULL);
        json_field_schema(&j, "error");
        json_field_int(&j, "id", r->id);
        json_field_int(&j, "partition", r->idx);
        json_field_bytes(&j, "partition_key", r->partition_key, strlen(r->partition_key));
        json_field_int(&j, "attempt_id", r->attempt_id);
        json_field_real(&j, "at", r->at);
        json_field_bytes(&j, "key", r->key, r->key_len);
        json_field_bytes(&j, "message", r->message, r->message_len);
        json_field_bytes(&j, "signature", r->signature, strlen(r->signature));
        json_field_b64(&j, "payload", r->payload, r->payload_len);
        json_close_object(&j);
    } else {
        buf_addf(b, "%lld,%lld,", (long long)r->id, (long long)r->idx);
        csv_field(b, r->partition_key, strlen(r->partition_key), tty);
        buf_addf(b, ",%lld,%.3f,", (long long)r->attempt_id, r->at);
        csv_field(b, r->key, r->key_len, tty);
        buf_addc(b, ',');
        csv_field(b, r->message, r->message_len, tty);
        buf_addc(b, ',');
        csv_field(b, r->signature, strlen(r->signature), tty);
        buf_addc(b, ',');
        if (r->payload)
            buf_add_base64(b, r->payload, r->payload_len);
    }
    buf_addc(b, '\n');
}

int export_errors(struct ns_store *st, const struct ns_error_select *sel, int64_t after,
                  int64_t limit, enum ns_export_format fmt, FILE *f, int64_t *count, char *err,
                  size_t errlen)
{
    struct ns_error_row *rows = ns_xcalloc(EXPORT_PAGE, sizeof *rows);
    struct ns_error_row anchor = {.id = after};
    struct ns_buf b = NS_BUF_INIT;
    int64_t n = 0;
    int rc = 0;
    bool tty = isatty(fileno(f));
    header(&b, fmt);
    for (;;) {
        int want = EXPORT_PAGE;
        if (limit > 0 && limit - n < want)
            want = (int)(limit - n);
        if (want <= 0)
            break;
        int got = query_errors(st, sel, &anchor, 1, want, true, rows, err, errlen);
        if (got < 0) {
            rc = -1;
            break;
        }
        for (int i = 0; i < got; i++) {
            record(&b, fmt, &rows[i], tty);
            anchor.id = rows[i].id;
            query_error_row_release(&rows[i]);
        }
        n += got;
        if (b.len && fwrite(b.data, 1, b.len, f) != b.len) {
            ns_errf(err, errlen, "writing: %s", strerror(errno));
            rc = -1;
            break;
        }
        buf_reset(&b);
        if (got < want)
            break;
    }
    if (rc == 0 && fmt == NS_EXPORT_TEXT && n == 0)
        buf_adds(&b, "(no error records)\n");
    if (rc == 0 && b.len && fwrite(b.data, 1, b.len, f) != b.len) {
        ns_errf(err, errlen, "writing: %s", strerror(errno));
        rc = -1;
    }
    buf_release(&b);
    free(rows);
    *count = n;
    return rc;
}

int export_errors_to_file(struct ns_store *st, const struct ns_error_select *sel,
                          enum ns_export_format fmt, const char *path, int64_t *count, char *err,
                          size_t errlen)
{
    char *tmp = ns_xasprintf("%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wx");
    if (!f) {
        ns_errf(err, errlen, "%s: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    char werr[256] = "";
    int rc = export_errors(st, sel, 0, 0, fmt, f, count, werr, sizeof werr);
    if (rc != 0)
        ns_errf(err, errlen, "%s: %s", tmp, werr);
    if (rc == 0 && (ferror(f) | (fflush(f) != 0) | (fsync(fileno(f)) != 0))) {
        ns_errf(err, errlen, "%s: %s", tmp, strerror(errno));
        rc = -1;
    }
    if (fclose(f) != 0 && rc == 0) {
        ns_errf(err, errlen, "%s: %s", tmp, strerror(errno));
        rc = -1;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        ns_errf(err, errlen, "%s: %s", path, strerror(errno));
        rc = -1;
    }
    if (rc != 0)
        unlink(tmp);
    free(tmp);
    return rc;
}
