/*
 * spec-canonical.c - the spec as canonical text: one line per setting, in a
 * fixed order, lists and maps sorted where order carries no meaning.
 *
 * Invariant: the text (and so the spec hash stored with each run) changes
 * only when behaviour would; a setting added later is written only when it
 * is not at its default, so older specs keep their hash.
 */
#include <stdlib.h>
#include <string.h>

#include "nightshift/json.h"
#include "nightshift/spec.h"
#include "spec-internal.h"

static void add_json(struct ns_buf *b, const char *s)
{
    if (s)
        json_add_string(b, s, strlen(s));
    else
        buf_adds(b, "null");
}

static void add_argv(struct ns_buf *b, const struct ns_argv *a)
{
    buf_addc(b, '[');
    for (size_t i = 0; i < a->len; i++) {
        if (i)
            buf_adds(b, ", ");
        add_json(b, a->items[i].text);
    }
    buf_addc(b, ']');
}

static void add_ms(struct ns_buf *b, int64_t ms)
{
    if (ms)
        buf_addf(b, "%lldms", (long long)ms);
    else
        buf_adds(b, "none");
}

static void add_limit(struct ns_buf *b, const struct ns_limit *l)
{
    if (!l->set)
        buf_adds(b, "none");
    else
        buf_addf(b, "%.15g%s", l->value, l->percent ? "%" : "");
}

static int cmp_kv_name(const void *a, const void *b)
{
    return strcmp(((const struct ns_kv *)a)->name, ((const struct ns_kv *)b)->name);
}

static int cmp_exit(const void *a, const void *b)
{
    return ((const struct ns_exit_rule *)a)->code - ((const struct ns_exit_rule *)b)->code;
}

char *spec_canonical(const struct ns_spec *s)
{
    struct ns_buf b = NS_BUF_INIT;
    buf_adds(&b, "name: ");
    add_json(&b, s->name);
    buf_adds(&b, "\ncommand: ");
    add_argv(&b, &s->command);
    buf_addf(&b, "\nshell: %s\nworkdir: ", s->shell ? "true" : "false");
    add_json(&b, s->workdir.text);
    buf_addc(&b, '\n');
    for (size_t i = 0; i < s->params_len; i++) {
        buf_addf(&b, "params.%s: ", s->params[i].name);
        if (s->params[i].value)
            add_json(&b, s->params[i].value);
        else
            buf_adds(&b, "required");
        buf_addc(&b, '\n');
    }
    const struct ns_partition_spec *ps = &s->partitions;
    switch (ps->kind) {
    case NS_PART_LIST:
        if (ps->keys_file.text) {
            buf_adds(&b, "partitions.list: file=");
            add_json(&b, ps->keys_file.text);
        } else {
            buf_adds(&b, "partitions.list: [");
            for (size_t i = 0; i < ps->keys_len; i++) {
                if (i)
                    buf_adds(&b, ", ");
                add_json(&b, ps->keys[i].text);
            }
            buf_addc(&b, ']');
        }
        break;
    case NS_PART_RANGE:
        buf_addf(&b, "partitions.range: start=%s end=%s size=%s", ps->start.text, ps->end.text,
                 ps->size.text);
        break;
    case NS_PART_DATES:
        buf_addf(&b, "partitions.dates: from=%s to=%s step=%s format=%s", ps->from.text,
                 ps->to.text, ps->step.text, ps->format.text);
        break;
    case NS_PART_FILES:
        buf_adds(&b, "partitions.files: ");
        add_json(&b, ps->glob.text);
        break;
    }
    buf_addf(&b, "\nconcurrency: %d\ntimeout: ", s->concurrency);
    add_ms(&b, s->timeout_ms);
    buf_addf(&b, "\nretry: attempts=%d backoff=%lldms max_backoff=%lldms factor=%.15g jitter=%.15g",
             s->retry_attempts, (long long)s->backoff_ms, (long long)s->max_backoff_ms,
             s->backoff_factor, s->jitter);
    buf_adds(&b, "\non_exit:");
    struct ns_exit_rule *rules = ns_xcalloc(s->on_exit_len + 1, sizeof(*rules));
    if (s->on_exit_len)
        memcpy(rules, s->on_exit, s->on_exit_len * sizeof(*rules));
    qsort(rules, s->on_exit_len, sizeof(*rules), cmp_exit);
    for (size_t i = 0; i < s->on_exit_len; i++)
        buf_addf(&b, " %d=%s", rules[i].code, spec_exit_action_name(rules[i].action));
    free(rules);
    buf_adds(&b, "\nstop_grace: ");
    add_ms(&b, s->stop_grace_ms);
    buf_addc(&b, '\n');
    struct ns_kv *env = ns_xcalloc(s->env_len + 1, sizeof(*env));
    if (s->env_len)
        memcpy(env, s->env, s->env_len * sizeof(*env));
    qsort(env, s->env_len, sizeof(*env), cmp_kv_name);
    for (size_t i = 0; i < s->env_len; i++) {
        buf_addf(&b, "env.%s: ", env[i].name);
        add_json(&b, env[i].value);
        buf_addc(&b, '\n');
    }
    free(env);
    buf_addf(&b, "log_limit: %lld\nhalt_when: failed_partitions=", (long long)s->log_limit);
    add_limit(&b, &s->halt_failed_partitions);
    buf_adds(&b, " error_records=");
    add_limit(&b, &s->halt_error_records);
    buf_adds(&b, "\nsla: max_duration=");
    add_ms(&b, s->sla_max_duration_ms);
    buf_addf(&b, " deadline=%s\n", s->sla_deadline ? s->sla_deadline : "none");
    for (int i = 0; i < NS_HOOK_COUNT; i++) {
        if (!s->hooks[i].len)
            continue;
        buf_addf(&b, "hooks.%s: ", spec_hook_name((enum ns_hook_event)i));
        add_argv(&b, &s->hooks[i]);
        buf_addc(&b, '\n');
    }
    buf_addf(&b, "hooks.timeout: %lldms\ndurability: %s\non_restore: %s\n",
             (long long)s->hook_timeout_ms, s->durability_full ? "full" : "normal",
             s->restore_paused ? "pause" : "resume");
    /* Only a non-default executor is written, so the hash of every spec
     * written before executors existed stays the same. Its settings are
     * its own to write (executor_canonical, exec/executor.c). */
    if (s->executor && strcmp(s->executor, "local") != 0)
        buf_addf(&b, "executor: %s\n", s->executor);
    spec_pools_canonical(s, &b);
    if (s->order && strcmp(s->order, "newest") == 0)
        buf_addf(&b, "order: newest\n"); /* only when not the default, as executor */
    /* Likewise after: only when given (the hash of a spec without it stays). */
    for (size_t i = 0; i < s->after_len; i++) {
        const struct ns_after *a = &s->after[i];
        buf_addf(&b, "after: job=%s params=%s partitions=%s on_failure=%s missing=%s\n", a->job,
                 a->params, a->partitions, a->on_failure, a->missing);
    }
    return buf_detach(&b);
}
