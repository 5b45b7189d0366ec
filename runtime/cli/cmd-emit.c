/*
 * cmd-emit.c - `nightshift emit`: send one report message from a worker.
 *
 * For shell workers: frames one message with report_format() (the one place
 * framing lives) and writes it to $NIGHTSHIFT_REPORT_FD in one buffer, so a
 * message up to PIPE_BUF bytes lands atomically even when several processes
 * of one worker report at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nightshift/cli.h"
#include "nightshift/report.h"
#include "nightshift/util.h"

/* Declared for the help, the man page and the completion; emit reads its
 * own argv (parse_error): a worker's words are data, and an option may come
 * after them (docs/protocol.md). */
static const struct cli_option emit_options[] = {
    {.name = "payload-file",
     .arg = "F",
     .help = "error: attach the bytes of file F (at most 1 MiB)",
     .complete = "@file"},
    {.name = "payload-stdin",
     .help = "error: attach the bytes read from standard input (at most 1 MiB)"},
    {.name = "payload", .arg = "TEXT", .help = "error: attach TEXT itself"},
};

/* Reads all of fd, refusing more than NS_REPORT_MAX_PAYLOAD bytes. */
static int read_payload(int fd, const char *what, struct ns_buf *out)
{
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            cli_error("emit", "%s: %s", what, strerror(errno));
            return -1;
        }
        if (n == 0)
            return 0;
        if (out->len + (size_t)n > NS_REPORT_MAX_PAYLOAD) {
            cli_error("emit", "%s: payload of more than %d bytes (the limit is 1 MiB)", what,
                      NS_REPORT_MAX_PAYLOAD);
            return -1;
        }
        buf_add(out, chunk, (size_t)n);
    }
}

static int write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The report fd from the environment, or -1 after saying why. */
static int report_fd(void)
{
    const char *s = getenv("NIGHTSHIFT_REPORT_FD");
    int64_t fd;
    if (!s || !*s) {
        cli_error("emit", "NIGHTSHIFT_REPORT_FD is not set (run this from a nightshift worker)");
        return -1;
    }
    if (ns_parse_int64(s, &fd) < 0 || fd < 0 || fd > INT_MAX) {
        cli_error("emit", "NIGHTSHIFT_REPORT_FD is not a file descriptor number: \"%s\"", s);
        return -1;
    }
    return (int)fd;
}

static int parse_number(const char *what, int argc, char **argv, int64_t *n)
{
    if (argc != 3) {
        cli_error("emit", "%s takes exactly one number (see 'nightshift emit --help')", what);
        return -1;
    }
    const char *s = argv[2];
    if (!*s || strspn(s, "0123456789") != strlen(s) || ns_parse_int64(s, n) < 0) {
        cli_error("emit", "%s: \"%s\" is not a non-negative integer", what, s);
        return -1;
    }
    return 0;
}

/* Joins argv[from..argc) with spaces. */
static void join_words(struct ns_buf *b, int from, int argc, char **argv)
{
    for (int i = from; i < argc; i++) {
        if (i > from)
            buf_addc(b, ' ');
        buf_adds(b, argv[i]);
    }
}

/* Parses `error KEY MESSAGE... [payload option]` into msg; text and payload
 * point into the given buffers. */
static int parse_error(int argc, char **argv, struct ns_report_msg *msg, struct ns_buf *text,
                       struct ns_buf *payload)
{
    int have_payload = 0, words = 0, no_more_options = 0;
    const char *key = NULL;

    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int is_opt = !no_more_options && a[0] == '-' && a[1] == '-';
        if (is_opt && strcmp(a, "--") == 0) {
            no_more_options = 1;
            continue;
        }
        if (is_opt) {
            if (strcmp(a, "--payload-file") && strcmp(a, "--payload-stdin") &&
                strcmp(a, "--payload")) {
                cli_error("emit", "unknown option %s (see 'nightshift emit --help')", a);
                return -1;
            }
            if (have_payload) {
                cli_error("emit", "give at most one of --payload-file, --payload-stdin, "
                                  "--payload");
                return -1;
            }
            have_payload = 1;
            if (strcmp(a, "--payload-stdin") == 0) {
                if (read_payload(STDIN_FILENO, "standard input", payload) < 0)
                    return -1;
                continue;
            }
            if (i + 1 >= argc) {
                cli_error("emit", "%s needs a value", a);
                return -1;
            }
            const char *v = argv[++i];
            if (strcmp(a, "--payload") == 0) {
                buf_adds(payload, v);
                continue;
            }
            int fd = open(v, O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                cli_error("emit", "%s: %s", v, strerror(errno));
                return -1;
            }
            int rc = read_payload(fd, v, payload);
            close(fd);
            if (rc < 0)
                return -1;
            continue;
        }
        if (!key) {
            key = a;
            continue;
        }
        if (words++)
            buf_addc(text, ' ');
        buf_adds(text, a);
    }
    if (!key) {
        cli_error("emit", "error needs a record KEY (use - for none)");
        return -1;
    }
    msg->key = strcmp(key, "-") == 0 ? NULL : key;
    msg->key_len = msg->key ? strlen(key) : 0;
    msg->text = text->data ? text->data : "";
    msg->text_len = text->len;
    if (have_payload) {
        msg->payload =
            payload->data ? (const unsigned char *)payload->data : (const unsigned char *)"";
        msg->payload_len = payload->len;
    }
    return 0;
}

static int emit(int argc, char **argv)
{
    struct ns_report_msg msg = {0};
    struct ns_buf text = NS_BUF_INIT, payload = NS_BUF_INIT, out = NS_BUF_INIT;
    char err[256];
    int rc = NS_EXIT_USAGE;

    if (argc >= 2 && cli_is_help(argv[1])) {
        cli_help(&cmd_emit, stdout);
        return NS_EXIT_OK;
    }
    if (argc < 2) {
        cli_usage(&cmd_emit, stderr);
        return NS_EXIT_USAGE;
    }
    const char *what = argv[1];
    if (strcmp(what, "total") == 0 || strcmp(what, "progress") == 0) {
        msg.kind = what[0] == 't' ? NS_REPORT_TOTAL : NS_REPORT_PROGRESS;
        if (parse_number(what, argc, argv, &msg.number) < 0)
            goto done;
    } else if (strcmp(what, "checkpoint") == 0) {
        if (argc != 3) {
            cli_error("emit", "checkpoint takes exactly one TOKEN (quote it if it has spaces)");
            goto done;
        }
        msg.kind = NS_REPORT_CHECKPOINT;
        msg.text = argv[2];
        msg.text_len = strlen(argv[2]);
    } else if (strcmp(what, "error") == 0) {
        msg.kind = NS_REPORT_ERROR;
        if (parse_error(argc, argv, &msg, &text, &payload) < 0)
            goto done;
    } else if (strcmp(what, "log") == 0) {
        if (argc < 3) {
            cli_error("emit", "log needs a LEVEL (debug, info, warn or error)");
            goto done;
        }
        msg.kind = NS_REPORT_LOG;
        msg.key = argv[2];
        msg.key_len = strlen(argv[2]);
        join_words(&text, 3, argc, argv);
        msg.text = text.data ? text.data : "";
        msg.text_len = text.len;
    } else {
        cli_error("emit", "unknown message kind \"%s\" (see 'nightshift emit --help')", what);
        goto done;
    }

    if (report_format(&out, &msg, err, sizeof err) < 0) {
        cli_error("emit", "%s", err);
        goto done;
    }
    int fd = report_fd();
    if (fd < 0)
        goto done;
    /* A closed pipe is an error to report, not a reason to die silently. */
    signal(SIGPIPE, SIG_IGN);
    if (write_all(fd, out.data, out.len) < 0) {
        cli_error("emit", "writing to NIGHTSHIFT_REPORT_FD %d: %s", fd, strerror(errno));
        rc = NS_EXIT_ERROR;
        goto done;
    }
    rc = NS_EXIT_OK;
done:
    buf_release(&text);
    buf_release(&payload);
    buf_release(&out);
    return rc;
}

const struct ns_command cmd_emit = {
    .name = "emit",
    .args = "total N\n"
            "progress N\n"
            "checkpoint TOKEN\n"
            "error KEY [MESSAGE...] [--payload-file F | --payload-stdin | --payload TEXT]\n"
            "log debug|info|warn|error MESSAGE...",
    .summary = "report to the runtime from inside a worker",
    .main = emit,
    .help = "\n"
            "Sends one message to the nightshift runtime from inside a worker (it writes\n"
            "to the file descriptor in $NIGHTSHIFT_REPORT_FD).\n"
            "\n"
            "  total N          the number of items this partition will process\n"
            "  progress N       items done so far in this partition (absolute, not a delta)\n"
            "  checkpoint TOKEN resume point, 1-4096 bytes; report it only once your output\n"
            "                   up to it is durable. The next attempt finds it in\n"
            "                   $NIGHTSHIFT_CHECKPOINT\n"
            "  error KEY MSG    one bad input record that was skipped; KEY identifies it\n"
            "                   (no spaces; - for none); the raw record may be attached\n"
            "  log LEVEL MSG    a line for the run's event log\n"
            "\n"
            "MESSAGE words are joined with spaces; newlines in them become spaces.\n"
            "docs/protocol.md describes the protocol.\n",
    .exits = "023",
    .options = emit_options,
    .noptions = NS_ARRAY_LEN(emit_options),
    .operand = CLI_OPERAND_WORDS,
};
