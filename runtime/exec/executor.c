/*
 * executor.c - the table of executors (executor.h): one entry per backend
 * file, looked up by the name a spec gives (`executor: local`).
 */
#include <stdlib.h>
#include <string.h>

#include "nightshift/executor.h"
#include "nightshift/spec.h"
#include "nightshift/util.h"

static const void *slurm_settings(const struct ns_spec *spec)
{
    return &spec->slurm;
}

/* Each backend, and where its settings are in a spec (NULL: it has none). */
static const struct {
    const struct ns_executor_ops *ops;
    const void *(*settings)(const struct ns_spec *spec);
} executors[] = {
    {&ns_exec_local, NULL},
    {&ns_exec_slurm, slurm_settings},
};

const struct ns_executor_ops *executor_find(const char *name)
{
    for (size_t i = 0; i < sizeof executors / sizeof executors[0]; i++)
        if (strcmp(executors[i].ops->name, name ? name : "local") == 0)
            return executors[i].ops;
    return NULL;
}

const void *executor_settings(const struct ns_executor_ops *ops, const struct ns_spec *spec)
{
    for (size_t i = 0; i < sizeof executors / sizeof executors[0]; i++)
        if (executors[i].ops == ops)
            return executors[i].settings ? executors[i].settings(spec) : NULL;
    return NULL;
}

char *executor_canonical(const struct ns_executor_ops *ops, const struct ns_spec *spec)
{
    struct ns_buf b = NS_BUF_INIT;
    char *own = spec_canonical(spec);
    buf_adds(&b, own);
    free(own);
    if (ops && ops->canonical)
        ops->canonical(executor_settings(ops, spec), &b);
    return buf_detach(&b);
}

#define NS_EXEC_END_NAME(e, s) s,
static const char *const end_names[NS_END_NKINDS] = {NS_EXEC_END_KINDS(NS_EXEC_END_NAME)};
#undef NS_EXEC_END_NAME

const char *ns_exec_end_name(enum ns_exec_end_kind kind)
{
    return (unsigned)kind < NS_END_NKINDS ? end_names[kind] : "unknown";
}
