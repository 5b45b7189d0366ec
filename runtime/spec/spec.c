/*
 * spec.c - load a job spec with libyaml's event API: the public entry points
 * and the diagnostics they collect.
 *
 * Two passes. The first turns events into a small node tree while enforcing
 * the hard bounds (size, depth, event count; no anchors, aliases, duplicate
 * keys, or second document) so nothing unbounded is ever built
 * (spec-tree.c). The second walks the tree against the key TABLES (name,
 * type, default, bounds, help; spec-keys.c): one generic walker, one
 * converter per type, then cross-key checks (spec-check.c).
 * Every problem is added to the diags with the node's 1-based position and
 * the full key path; loading goes on after a problem so the user sees all of
 * them at once. Defaults are written as text in the tables and go through the
 * same converters as the file's values, so docs and behaviour cannot drift.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nightshift/spec.h"
#include "spec-internal.h"

/* ---- diagnostics -------------------------------------------------------- */

void diags_add(struct ns_diags *d, int line, int col, const char *fmt, ...)
{
    if (d->len == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 8;
        d->items = ns_xrealloc(d->items, d->cap * sizeof(*d->items));
    }
    struct ns_buf b = NS_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vaddf(&b, fmt, ap);
    va_end(ap);
    d->items[d->len++] = (struct ns_diag){line, col, buf_detach(&b)};
}

char *diags_format(const struct ns_diags *d, const char *file)
{
    struct ns_buf b = NS_BUF_INIT;
    for (size_t i = 0; i < d->len; i++) {
        if (d->items[i].line > 0)
            buf_addf(&b, "%s:%d:%d: %s\n", file, d->items[i].line, d->items[i].col,
                     d->items[i].message);
        else
            buf_addf(&b, "%s: %s\n", file, d->items[i].message);
    }
    return buf_detach(&b);
}

void diags_release(struct ns_diags *d)
{
    for (size_t i = 0; i < d->len; i++)
        free(d->items[i].message);
    free(d->items);
    memset(d, 0, sizeof(*d));
}

static int cmp_diag(const void *a, const void *b)
{
    const struct ns_diag *x = a, *y = b;
    /* Position-less problems (line 0) come last; diags_sort is stable, so
     * problems at one position keep the order they were found in. */
    long kx = x->line ? (long)x->line * 100000 + x->col : LONG_MAX;
    long ky = y->line ? (long)y->line * 100000 + y->col : LONG_MAX;
    return kx < ky ? -1 : kx > ky;
}

/* Insertion sort: stable, and diag lists are short. */
static void diags_sort(struct ns_diags *d, size_t from)
{
    for (size_t i = from + 1; i < d->len; i++) {
        struct ns_diag t = d->items[i];
        size_t j = i;
        while (j > from && cmp_diag(&d->items[j - 1], &t) > 0) {
            d->items[j] = d->items[j - 1];
            j--;
        }
        d->items[j] = t;
    }
}

/* ---- public ------------------------------------------------------------- */

static char *spec_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir =
        slash ? ns_xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : ns_xstrdup(".");
    char *real = realpath(dir, NULL);
    if (real) {
        free(dir);
        return real;
    }
    if (dir[0] != '/') {
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof cwd)) {
            char *abs = strcmp(dir, ".") == 0 ? ns_xstrdup(cwd) : ns_xasprintf("%s/%s", cwd, dir);
            free(dir);
            return abs;
        }
    }
    return dir;
}

int spec_load_buffer(const char *path, const char *data, size_t len, struct ns_spec *out,
                     struct ns_diags *diags)
{
    memset(out, 0, sizeof(*out));
    size_t first = diags->len;
    if (len > NS_SPEC_MAX_BYTES) {
        diags_add(diags, 0, 0, "spec is larger than %d bytes (1 MiB)", NS_SPEC_MAX_BYTES);
        return -1;
    }
    struct node *root = spec_tree_parse(data, len, diags);
    if (!root) {
        diags_sort(diags, first);
        return -1;
    }
    out->path = ns_xstrdup(path);
    out->dir = spec_dir_of(path);
    struct spec_loader L = {out, diags, NULL, NULL, 0, NULL, NULL, 0, 0, (char *)out};
    spec_keys_read(&L, root);
    spec_check(&L, root);
    free(L.env_pos);
    spec_tree_free(root);
    diags_sort(diags, first);
    if (diags->len > first) {
        spec_release(out);
        return -1;
    }
    return 0;
}

int spec_load(const char *path, struct ns_spec *out, struct ns_diags *diags)
{
    memset(out, 0, sizeof(*out));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        diags_add(diags, 0, 0, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        diags_add(diags, 0, 0, "not a regular file");
        close(fd);
        return -1;
    }
    /* Read at most one byte past the limit: a file that grows meanwhile is
     * still refused without reading it all. */
    size_t cap = NS_SPEC_MAX_BYTES + 1, len = 0;
    char *data = ns_xmalloc(cap);
    for (;;) {
        ssize_t n = read(fd, data + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            diags_add(diags, 0, 0, "cannot read: %s", strerror(errno));
            free(data);
            close(fd);
            return -1;
        }
        if (n == 0 || (len += (size_t)n) == cap)
            break;
    }
    close(fd);
    int rc = spec_load_buffer(path, data, len, out, diags);
    free(data);
    return rc;
}

void spec_release(struct ns_spec *s)
{
    free(s->path);
    free(s->dir);
    free(s->name);
    free(s->description);
    spec_argv_release(&s->command);
    free(s->workdir.text);
    free(s->metrics_textfile.text);
    spec_kvs_free(s->params, s->params_len);
    struct ns_partition_spec *ps = &s->partitions;
    for (size_t i = 0; i < ps->keys_len; i++)
        free(ps->keys[i].text);
    free(ps->keys);
    struct ns_tmpl *ts[] = {&ps->keys_file, &ps->start, &ps->end,    &ps->size, &ps->from,
                            &ps->to,        &ps->step,  &ps->format, &ps->glob};
    for (size_t i = 0; i < NS_ARRAY_LEN(ts); i++)
        free(ts[i]->text);
    free(s->on_exit);
    spec_kvs_free(s->env, s->env_len);
    free(s->sla_deadline);
    for (int i = 0; i < NS_HOOK_COUNT; i++)
        spec_argv_release(&s->hooks[i]);
    free(s->executor);
    spec_after_free(s->after, s->after_len);
    free(s->order);
    struct ns_spec_slurm *sl = &s->slurm;
    char *strs[] = {sl->partition, sl->account, sl->qos, sl->mem, sl->spool};
    for (size_t i = 0; i < NS_ARRAY_LEN(strs); i++)
        free(strs[i]);
    spec_argv_release(&sl->extra_args);
    spec_pools_release(s);
    free(s->window.start);
    free(s->window.end);
    free(s->window.on_close);
    free(s->window.tz);
    memset(s, 0, sizeof(*s));
}

const char *spec_exit_action_name(enum ns_exit_action a)
{
    static const char *const names[] = {"retry", "fail", "halt"};
    return (unsigned)a < NS_ARRAY_LEN(names) ? names[a] : "?";
}

const char *spec_hook_name(enum ns_hook_event e)
{
    static const char *const names[] = {"on_success", "on_failure", "on_halt", "on_sla_risk",
                                         "on_straggler"};
    return (unsigned)e < NS_ARRAY_LEN(names) ? names[e] : "?";
}
