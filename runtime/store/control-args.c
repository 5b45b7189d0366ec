/*
 * control-args.c - the one builder of operator verbs' JSON args
 * (control.h's control_args_json), shared by the CLI and the console.
 *
 * The bytes are what the runtime's apply.c reads with json_extract: key
 * order and spelling are part of the contract (the audit log shows them),
 * so they are written here once rather than by hand in each caller.
 */
#include <string.h>

#include "nightshift/control.h"
#include "nightshift/json.h"

/* "partitions":[i,...] | "failed":true | "signature":"..." */
static void add_which(const struct ns_control_args *a, bool failed_allowed, struct ns_buf *out)
{
    if (a->signature) {
        buf_adds(out, "\"signature\":");
        json_add_string(out, a->signature, strlen(a->signature));
    } else if (failed_allowed && a->failed) {
        buf_adds(out, "\"failed\":true");
    } else {
        buf_adds(out, "\"partitions\":[");
        for (size_t i = 0; i < a->npartitions; i++)
            buf_addf(out, "%s%lld", i ? "," : "", (long long)a->partitions[i]);
        buf_addc(out, ']');
    }
}

int control_args_json(const char *verb, const struct ns_control_args *a, struct ns_buf *out)
{
    if (strcmp(verb, "resume") == 0 && a->force) {
        buf_adds(out, "{\"force\":true}"); /* outside the run's window */
    } else if (strcmp(verb, "pause") == 0 || strcmp(verb, "resume") == 0) {
        buf_adds(out, "{}");
    } else if (strcmp(verb, "stop") == 0) {
        buf_adds(out, a->now ? "{\"now\":true}" : "{\"now\":false}");
    } else if (strcmp(verb, "set") == 0) {
        buf_addf(out, "{\"concurrency\":%lld}", (long long)a->concurrency);
    } else if (strcmp(verb, "retry") == 0) {
        buf_addc(out, '{');
        add_which(a, true, out);
        buf_adds(out, a->from_scratch ? ",\"from_scratch\":true}" : ",\"from_scratch\":false}");
    } else if (strcmp(verb, "skip") == 0) {
        buf_addc(out, '{');
        add_which(a, false, out);
        if (a->reason) {
            buf_adds(out, ",\"reason\":");
            json_add_string(out, a->reason, strlen(a->reason));
        }
        buf_addc(out, '}');
    } else if (strcmp(verb, "kill") == 0) {
        buf_addc(out, '{');
        add_which(
            &(struct ns_control_args){.partitions = a->partitions, .npartitions = a->npartitions},
            false, out);
        buf_addc(out, '}');
    } else {
        return -1;
    }
    return 0;
}
