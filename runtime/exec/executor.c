/*
 * executor.c - the table of executors (executor.h): one entry per backend
 * file, looked up by the name a spec gives (`executor: local`).
 */
#include <string.h>

#include "nightshift/executor.h"

static const struct ns_executor_ops *const executors[] = {
    &ns_exec_local,
    &ns_exec_slurm,
};

const struct ns_executor_ops *executor_find(const char *name)
{
    for (size_t i = 0; i < sizeof executors / sizeof executors[0]; i++)
        if (strcmp(executors[i]->name, name ? name : "local") == 0)
            return executors[i];
    return NULL;
}

#define NS_EXEC_END_NAME(e, s) s,
static const char *const end_names[NS_END_NKINDS] = {NS_EXEC_END_KINDS(NS_EXEC_END_NAME)};
#undef NS_EXEC_END_NAME

const char *ns_exec_end_name(enum ns_exec_end_kind kind)
{
    return (unsigned)kind < NS_END_NKINDS ? end_names[kind] : "unknown";
}
