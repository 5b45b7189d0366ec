/*
 * wake.c - wake-up hints (wake.h): FIFOs poked with one non-blocking byte.
 *
 * A listener opens its FIFO O_RDWR, so it never sees end-of-file and the
 * FIFO always has a reader while it lives; a poker opens O_WRONLY |
 * O_NONBLOCK, which fails with ENXIO when nobody listens, and a full FIFO
 * (EAGAIN) means a poke is pending already. Either way nobody blocks.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nightshift/util.h"
#include "nightshift/wake.h"

char *wake_path(const struct ns_store *st, int64_t run_id, enum wake_kind kind)
{
    return ns_xasprintf("%s/run-%lld.%s", st->data_dir, (long long)run_id,
                        kind == WAKE_COMMANDS ? "wake" : "waiters");
}

int wake_listen(const char *path)
{
    if (mkfifo(path, 0600) != 0 && errno != EEXIST)
        return -1;
    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -1;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISFIFO(sb.st_mode)) {
        close(fd);
        errno = EEXIST;
        return -1;
    }
    return fd;
}

void wake_drain(int fd)
{
    char buf[256];
    while (read(fd, buf, sizeof buf) > 0)
        ;
}

int wake_poke(const char *path)
{
    int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -1;
    struct stat sb;
    int rc = 0;
    if (fstat(fd, &sb) != 0 || !S_ISFIFO(sb.st_mode))
        rc = -1; /* never write into a regular file someone put there */
    else if (write(fd, "!", 1) != 1 && errno != EAGAIN)
        rc = -1;
    close(fd);
    return rc;
}

int wake_waiter_new(const char *dir, char **path_out)
{
    *path_out = NULL;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return -1;
    char *path = ns_xasprintf("%s/%ld", dir, (long)getpid());
    unlink(path); /* a dead process with our pid left it */
    int fd = wake_listen(path);
    if (fd < 0) {
        free(path);
        return -1;
    }
    *path_out = path;
    return fd;
}

void wake_waiter_free(int fd, char *path)
{
    if (fd >= 0)
        close(fd);
    if (path)
        unlink(path);
    free(path);
}

void wake_poke_all(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *path = ns_xasprintf("%s/%s", dir, e->d_name);
        if (wake_poke(path) != 0 && errno == ENXIO)
            unlink(path); /* its waiter exited without removing it */
        free(path);
    }
    closedir(d);
}

double wake_poll_interval(void)
{
    const char *e = getenv("NIGHTSHIFT_POLL_MS");
    char *end;
    long ms = e && *e ? strtol(e, &end, 10) : -1;
    if (ms < 10 || ms > 3600 * 1000 || *end)
        return 1.0;
    return (double)ms / 1000.0;
}
