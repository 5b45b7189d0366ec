/*
 * cmd-errors.c - `nightshift errors RUN`: the error records of a run.
 *
 * Text output is escaped for the terminal; jsonl and csv carry the payload
 * as base64 so its bytes survive exactly; --raw writes one payload's bytes
 * as they are, but never to a terminal. Listing pages with keyset
 * pagination (--after ID), so a million records never load at once.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nightshift/cli.h"
#include "nightshift/escape.h"
#include "nightshift/store.h"
#include "nightshift/util.h"

static const char errors_help[] =
    "usage: nightshift errors RUN [--partition N] [--signature TEXT] [--after ID]\n"
    "                         [--limit N] [--format text|jsonl|csv] [--db PATH]\n"
    "       nightshift errors RUN --group\n"
    "       nightshift errors RUN --raw ID > FILE\n"
    "\n"
    "Lists the error records (bad input records a worker skipped) of RUN, oldest\n"
    "first. Text output escapes control characters; jsonl and csv carry each\n"
    "payload base64-encoded (payload_b64) so its bytes are exact. --group counts\n"
    "records by error signature (numbers, ids and hex masked), the top causes\n"
    "first. --raw writes the payload bytes of record ID unchanged (not to a\n"
    "terminal). --limit defaults to all records (0 = no limit).\n";

enum fmt { FMT_TEXT, FMT_JSONL, FMT_CSV };

/* escape: on a terminal the fields are escaped (escape.h) like text
 * output; to a pipe or a file they are exact. */
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

static bool has_partition(struct ns_store *st, long long run, long long part)
{
    sqlite3_stmt *s = store_prepare(st, "SELECT 1 FROM partitions WHERE run_id = ? AND idx = ?");
    sqlite3_bind_int64(s, 1, run);
    sqlite3_bind_int64(s, 2, part);
    bool found = sqlite3_step(s) == SQLITE_ROW;
    sqlite3_finalize(s);
    return found;
}

static int raw_payload(struct ns_store *st, long long run, long long rec)
{
    if (isatty(STDOUT_FILENO)) {
        cli_error("errors", "--raw writes raw bytes: redirect it to a file or a pipe");
        return NS_EXIT_USAGE;
    }
    sqlite3_stmt *s =
        store_prepare(st, "SELECT payload FROM error_records WHERE run_id = ? AND id = ?");
    sqlite3_bind_int64(s, 1, run);
    sqlite3_bind_int64(s, 2, rec);
    int rc = NS_EXIT_OK;
    if (sqlite3_step(s) == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(s, 0);
        if (n && fwrite(sqlite3_column_blob(s, 0), 1, n, stdout) != n)
            rc = NS_EXIT_ERROR;
    } else {
        cli_error("errors", "run %lld has no error record %lld", run, rec);
        rc = NS_EXIT_ERROR;
    }
    sqlite3_finalize(s);
    return rc;
}

static int group(struct ns_store *st, long long run, long long part)
{
    sqlite3_stmt *s = store_prepare(
        st, "SELECT count(*), signature, min(message), count(DISTINCT idx) FROM error_records "
            "WHERE run_id = ?1 AND (?2 < 0 OR idx = ?2) GROUP BY signature "
            "ORDER BY count(*) DESC, signature");
    sqlite3_bind_int64(s, 1, run);
    sqlite3_bind_int64(s, 2, part);
    printf("%8s %10s  %s\n", "RECORDS", "PARTITIONS", "SIGNATURE (example message)");
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *sig = (const char *)sqlite3_column_text(s, 1);
        const char *ex = (const char *)sqlite3_column_text(s, 2);
        char *esig = escape_dup(sig ? sig : "", sig ? strlen(sig) : 0, 0);
        char *eex = escape_dup(ex ? ex : "", ex ? strlen(ex) : 0, 0);
        printf("%8lld %10lld  %s\n%20s(e.g. %s)\n", sqlite3_column_int64(s, 0),
               sqlite3_column_int64(s, 3), esig, "", eex);
        free(esig);
        free(eex);
    }
    sqlite3_finalize(s);
    return NS_EXIT_OK;
}

static int list(struct ns_store *st, long long run, long long part, const char *signature,
                long long after, long long limit, enum fmt fmt)
{
    sqlite3_stmt *s = store_prepare(
        st, "SELECT e.id, e.idx, p.key, e.attempt_id, e.at, e.key, e.message, e.signature, "
            "e.payload FROM error_records e JOIN partitions p ON p.run_id = e.run_id AND "
            "p.idx = e.idx WHERE e.run_id = ?1 AND e.id > ?2 AND (?3 < 0 OR e.idx = ?3) AND "
            "(?4 IS NULL OR e.signature = ?4) ORDER BY e.id LIMIT ?5");
    sqlite3_bind_int64(s, 1, run);
    sqlite3_bind_int64(s, 2, after);
    sqlite3_bind_int64(s, 3, part);
    if (signature)
        sqlite3_bind_text(s, 4, signature, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, limit > 0 ? limit : -1);
    struct ns_buf b = NS_BUF_INIT;
    bool tty = isatty(STDOUT_FILENO);
    if (fmt == FMT_CSV)
        puts("id,partition,partition_key,attempt_id,at,key,message,signature,payload_b64");
    else if (fmt == FMT_TEXT)
        printf("%8s %6s  %-16s %-40s %s\n", "ID", "PART", "KEY", "MESSAGE", "PAYLOAD");
    long long n = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *pkey = (const char *)sqlite3_column_text(s, 2);
        const char *key = (const char *)sqlite3_column_text(s, 5);
        size_t key_len = (size_t)sqlite3_column_bytes(s, 5);
        const char *msg = (const char *)sqlite3_column_text(s, 6);
        size_t msg_len = (size_t)sqlite3_column_bytes(s, 6);
        const char *sig = (const char *)sqlite3_column_text(s, 7);
        const void *payload = sqlite3_column_blob(s, 8);
        size_t plen = (size_t)sqlite3_column_bytes(s, 8);
        bool has_payload = sqlite3_column_type(s, 8) != SQLITE_NULL;
        buf_reset(&b);
        if (fmt == FMT_TEXT) {
            char *ek = escape_dup(key, key_len, 0);
            char *em = escape_dup(msg, msg_len, 0);
            buf_addf(&b, "%8lld %6lld  %-16s %-40s ", sqlite3_column_int64(s, 0),
                     sqlite3_column_int64(s, 1), ek, em);
            if (has_payload) {
                char *ep = escape_dup(payload, plen > 60 ? 60 : plen, 0);
                buf_addf(&b, "%zu bytes: %s%s", plen, ep, plen > 60 ? "..." : "");
                free(ep);
            }
            free(ek);
            free(em);
        } else if (fmt == FMT_JSONL) {
            buf_addf(&b, "{\"id\":%lld,\"partition\":%lld,\"partition_key\":",
                     sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1));
            buf_add_json_string(&b, pkey ? pkey : "", pkey ? strlen(pkey) : 0);
            buf_addf(&b, ",\"attempt_id\":%lld,\"at\":%.3f,\"key\":", sqlite3_column_int64(s, 3),
                     sqlite3_column_double(s, 4));
            buf_add_json_string(&b, key, key_len);
            buf_adds(&b, ",\"message\":");
            buf_add_json_string(&b, msg, msg_len);
            buf_adds(&b, ",\"signature\":");
            buf_add_json_string(&b, sig ? sig : "", sig ? strlen(sig) : 0);
            buf_adds(&b, ",\"payload_b64\":");
            if (has_payload) {
                buf_addc(&b, '"');
                buf_add_base64(&b, payload, plen);
                buf_addc(&b, '"');
            } else {
                buf_adds(&b, "null");
            }
            buf_addc(&b, '}');
        } else {
            buf_addf(&b, "%lld,%lld,", sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1));
            csv_field(&b, pkey ? pkey : "", pkey ? strlen(pkey) : 0, tty);
            buf_addf(&b, ",%lld,%.3f,", sqlite3_column_int64(s, 3), sqlite3_column_double(s, 4));
            csv_field(&b, key, key_len, tty);
            buf_addc(&b, ',');
            csv_field(&b, msg, msg_len, tty);
            buf_addc(&b, ',');
            csv_field(&b, sig ? sig : "", sig ? strlen(sig) : 0, tty);
            buf_addc(&b, ',');
            if (has_payload)
                buf_add_base64(&b, payload, plen);
        }
        buf_addc(&b, '\n');
        fwrite(b.data, 1, b.len, stdout);
        n++;
    }
    sqlite3_finalize(s);
    buf_release(&b);
    if (fmt == FMT_TEXT && n == 0)
        printf("(no error records)\n");
    return NS_EXIT_OK;
}

static int errors(int argc, char **argv)
{
    static const struct option longopts[] = {{"db", required_argument, NULL, 'd'},
                                             {"partition", required_argument, NULL, 'P'},
                                             {"signature", required_argument, NULL, 's'},
                                             {"after", required_argument, NULL, 'a'},
                                             {"limit", required_argument, NULL, 'l'},
                                             {"format", required_argument, NULL, 'f'},
                                             {"group", no_argument, NULL, 'g'},
                                             {"raw", required_argument, NULL, 'r'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *db_opt = NULL, *signature = NULL;
    int64_t part = -1, after = 0, limit = 0, raw = -1;
    bool grouped = false;
    enum fmt fmt = FMT_TEXT;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        int64_t *target = NULL;
        switch (c) {
        case 'd':
            db_opt = optarg;
            break;
        case 'P':
            target = &part;
            break;
        case 'a':
            target = &after;
            break;
        case 'l':
            target = &limit;
            break;
        case 'r':
            target = &raw;
            break;
        case 's':
            signature = optarg;
            break;
        case 'g':
            grouped = true;
            break;
        case 'f':
            if (strcmp(optarg, "text") == 0)
                fmt = FMT_TEXT;
            else if (strcmp(optarg, "jsonl") == 0)
                fmt = FMT_JSONL;
            else if (strcmp(optarg, "csv") == 0)
                fmt = FMT_CSV;
            else {
                cli_error("errors", "--format: \"%s\" is not text, jsonl or csv", optarg);
                return NS_EXIT_USAGE;
            }
            break;
        case 'h':
            fputs(errors_help, stdout);
            return NS_EXIT_OK;
        default:
            fputs(errors_help, stderr);
            return NS_EXIT_USAGE;
        }
        if (target && (ns_parse_int64(optarg, target) != 0 || *target < 0)) {
            cli_error("errors", "\"%s\" is not a non-negative number", optarg);
            return NS_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        fputs(errors_help, stderr);
        return NS_EXIT_USAGE;
    }
    struct ns_store st;
    if (cli_open_store("errors", db_opt, NS_STORE_READ, &st) != 0)
        return NS_EXIT_ERROR;
    long long run = cli_find_run("errors", &st, argv[optind]);
    int rc = NS_EXIT_ERROR;
    if (run && part >= 0 && !has_partition(&st, run, part)) {
        cli_error("errors", "run %lld has no partition %lld", run, (long long)part);
        rc = NS_EXIT_USAGE; /* as retry, kill and skip say of an unknown partition */
    } else if (run) {
        if (raw >= 0)
            rc = raw_payload(&st, run, raw);
        else if (grouped)
            rc = group(&st, run, part);
        else
            rc = list(&st, run, part, signature, after, limit, fmt);
    }
    store_close(&st);
    return rc;
}

const struct ns_command cmd_errors = {"errors", "RUN [--partition N] [--format text|jsonl|csv]",
                                      "list a run's error records", errors};
