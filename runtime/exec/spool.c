/*
 * spool.c - the spool files shared by the runtime and the launcher (spool.h).
 *
 * Pure file handling: no Slurm, no processes. The launch file is a sequence
 * of records "<tag> <length>\n<bytes>\n" with tag A (argv element), E
 * (environment entry) or W (workdir), after a "nightshift-launch 1\n" line.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nightshift/spool.h"
#include "nightshift/util.h"

#define LAUNCH_MAGIC "nightshift-launch 1\n"
#define SPOOL_READ_MAX (64 * 1024)
#define LAUNCH_READ_MAX (8 * 1024 * 1024)

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int spool_write_file(const char *dir, const char *name, const char *text, size_t len, char *err,
                     size_t errlen)
{
    char tmp[PATH_MAX], final[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    snprintf(final, sizeof final, "%s/%s", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        ns_errf(err, errlen, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    int rc = write_all(fd, text, len);
    int saved = errno;
    if (close(fd) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc == 0 && rename(tmp, final) != 0) {
        rc = -1;
        saved = errno;
    }
    if (rc != 0) {
        unlink(tmp);
        ns_errf(err, errlen, "%s: %s", final, strerror(saved));
    }
    return rc;
}

/* Reads at most max bytes of path; NULL if it cannot. *len_out gets the size. */
static char *read_path(const char *path, size_t max, size_t *len_out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct ns_buf b = NS_BUF_INIT;
    char chunk[8192];
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            close(fd);
            buf_release(&b);
            return NULL;
        }
        if (r == 0)
            break;
        buf_add(&b, chunk, (size_t)r);
        if (b.len > max)
            break;
    }
    close(fd);
    if (len_out)
        *len_out = b.len;
    return buf_detach(&b);
}

char *spool_read_file(const char *dir, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return read_path(path, SPOOL_READ_MAX, NULL);
}

static void add_record(struct ns_buf *b, char tag, const char *s)
{
    size_t n = strlen(s);
    buf_addf(b, "%c %zu\n", tag, n);
    buf_add(b, s, n);
    buf_addc(b, '\n');
}

int spool_write_launch(const char *dir, const struct ns_launch *l, char *err, size_t errlen)
{
    struct ns_buf b = NS_BUF_INIT;
    buf_adds(&b, LAUNCH_MAGIC);
    for (char *const *a = l->argv; *a; a++)
        add_record(&b, 'A', *a);
    for (char *const *e = l->envp; e && *e; e++)
        add_record(&b, 'E', *e);
    if (l->workdir)
        add_record(&b, 'W', l->workdir);
    int rc = spool_write_file(dir, "launch", b.data, b.len, err, errlen);
    buf_release(&b);
    return rc;
}

static void strv_push(char ***v, size_t *n, char *s)
{
    *v = ns_xrealloc(*v, (*n + 2) * sizeof(**v));
    (*v)[(*n)++] = s;
    (*v)[*n] = NULL;
}

int spool_read_launch(const char *dir, struct spool_launch *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/launch", dir);
    size_t len = 0;
    char *data = read_path(path, LAUNCH_READ_MAX, &len);
    if (!data) {
        ns_errf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t na = 0, ne = 0, magic = strlen(LAUNCH_MAGIC);
    size_t pos = magic;
    if (len < magic || memcmp(data, LAUNCH_MAGIC, magic) != 0)
        goto bad;
    while (pos < len) {
        char tag = data[pos];
        char *nl = memchr(data + pos, '\n', len - pos);
        if (!nl || pos + 2 > len || data[pos + 1] != ' ')
            goto bad;
        *nl = '\0';
        int64_t n;
        if (ns_parse_int64(data + pos + 2, &n) < 0 || n < 0 ||
            (size_t)n + 1 > len - (size_t)(nl + 1 - data))
            goto bad;
        char *s = ns_xstrndup(nl + 1, (size_t)n);
        pos = (size_t)(nl + 1 - data) + (size_t)n + 1;
        if (data[pos - 1] != '\n') {
            free(s);
            goto bad;
        }
        if (tag == 'A') {
            strv_push(&out->argv, &na, s);
        } else if (tag == 'E') {
            strv_push(&out->envp, &ne, s);
        } else if (tag == 'W' && !out->workdir) {
            out->workdir = s;
        } else {
            free(s);
            goto bad;
        }
    }
    if (!out->argv)
        goto bad;
    if (!out->envp)
        out->envp = ns_xcalloc(1, sizeof(*out->envp));
    free(data);
    return 0;
bad:
    free(data);
    spool_launch_release(out);
    ns_errf(err, errlen, "%s: not a launch file (damaged?)", path);
    return -1;
}

void spool_launch_release(struct spool_launch *l)
{
    char **vs[] = {l->argv, l->envp};
    for (size_t i = 0; i < NS_ARRAY_LEN(vs); i++) {
        for (char **p = vs[i]; p && *p; p++)
            free(*p);
        free(vs[i]);
    }
    free(l->workdir);
    memset(l, 0, sizeof(*l));
}

/* The exit file's second line, "task J_T RUN", after the first one's end. */
static void parse_exit_whose(const char *nl, struct spool_exit *out)
{
    if (*nl != '\n' || strncmp(nl + 1, "task ", 5) != 0)
        return;
    const char *p = nl + 6;
    size_t tl = strcspn(p, " \n");
    if (p[tl] != ' ' || tl == 0 || tl >= sizeof out->task)
        return;
    const char *r = p + tl + 1;
    size_t rl = strcspn(r, " \n");
    if (rl == 0 || rl >= sizeof out->run)
        return;
    memcpy(out->task, p, tl);
    out->task[tl] = '\0';
    memcpy(out->run, r, rl);
    out->run[rl] = '\0';
}

int spool_parse_exit(const char *text, struct spool_exit *out)
{
    memset(out, 0, sizeof(*out));
    static const struct {
        const char *word;
        int kind;
    } words[] = {
        {"exited ", SPOOL_EXITED}, {"signalled ", SPOOL_SIGNALLED}, {"error ", SPOOL_ERROR}};
    for (size_t i = 0; i < NS_ARRAY_LEN(words); i++) {
        size_t wl = strlen(words[i].word);
        if (strncmp(text, words[i].word, wl) != 0)
            continue;
        const char *rest = text + wl;
        size_t rl = strcspn(rest, "\n");
        out->kind = words[i].kind;
        parse_exit_whose(rest + rl, out);
        if (out->kind == SPOOL_ERROR) {
            snprintf(out->message, sizeof out->message, "%.*s", (int)rl, rest);
            out->value = 127;
            return 0;
        }
        char num[16];
        if (rl == 0 || rl >= sizeof num)
            return -1;
        memcpy(num, rest, rl);
        num[rl] = '\0';
        int64_t v;
        if (ns_parse_int64(num, &v) < 0 || v < 0 || v > 255)
            return -1;
        out->value = (int)v;
        return 0;
    }
    return -1;
}

int spool_fence_path(const char *adir, char *const *envp, char *out, size_t len)
{
    static const char var[] = "NIGHTSHIFT_PARTITION=";
    const char *part = NULL;
    for (char *const *e = envp; e && *e && !part; e++)
        if (strncmp(*e, var, sizeof var - 1) == 0)
            part = *e + sizeof var - 1;
    const char *slash = strrchr(adir, '/');
    if (!part || !*part || strspn(part, "0123456789") != strlen(part) || !slash)
        return -1;
    int n = snprintf(out, len, "%.*s/p%s.live", (int)(slash - adir), adir, part);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

int spool_fence_held(const char *path)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    int rc = fcntl(fd, F_OFD_GETLK, &fl);
    close(fd);
    if (rc != 0)
        return -1;
    return fl.l_type != F_UNLCK;
}
