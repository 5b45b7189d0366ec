/*
 * tui.h - the operations console (nightshift console).
 *
 * The console is a client: it reads the store through a read-only handle,
 * never holding a read transaction between refreshes, and changes nothing
 * itself; operator actions go through control.h on a second (client) handle
 * and the runtime applies them. All ncurses code lives under tui/.
 */
#ifndef NIGHTSHIFT_TUI_H
#define NIGHTSHIFT_TUI_H

#include <stdbool.h>
#include <stddef.h>

struct tui_options {
    const char *db_path; /* NULL: store_default_path(NULL) */
    const char *run;     /* run id or job name to open at once, or NULL */
    bool read_only;      /* hide and refuse operator actions */
};

/* Runs the console until the operator quits, a terminating signal arrives or
 * the database disappears. Restores the terminal on every path before it
 * returns. Returns an exit status of enum ns_exit; on failure a sentence is
 * in err (the caller prints it). */
int tui_run(const struct tui_options *opt, char *err, size_t errlen);

#endif
