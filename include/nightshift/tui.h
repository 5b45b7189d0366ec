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
#include <stdint.h>

struct ns_store;

struct tui_options {
    struct ns_store *store; /* open read-only; tui_run takes it over and closes it */
    int64_t run_id;         /* the run to open at once (cli_find_run resolved it), or 0 */
    bool read_only;         /* hide and refuse operator actions */
    const char *theme;      /* --theme (NULL: $NIGHTSHIFT_THEME, else default) */
};

/* Runs the console until the operator quits, a terminating signal arrives or
 * the database disappears. Restores the terminal on every path before it
 * returns. Returns an exit status of enum ns_exit; on failure a sentence is
 * in err (the caller prints it). */
int tui_run(const struct tui_options *opt, char *err, size_t errlen);

#endif
