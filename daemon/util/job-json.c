/* The JOB JSON object of SPEC §10 (see job-json.h). This lives in the util library, which pmctl
 * links too, so the daemon's HTTP face and pmctl's --json print the very same object: times as
 * RFC 3339 UTC strings with microseconds, absent values as null rather than 0 (a pid of 0 or an
 * exit status of 0 would lie). */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "job-json.h"

/* Text from a job (STATUS=, a description) need not be UTF-8, which JSON strings must be: then
 * every non-ASCII byte becomes '?', rather than losing the whole object. */
static json_t *text(const char *s) {
        json_t *v;
        char *c;

        s = s ?: "";
        v = json_string(s);
        if (v || !(c = strdup(s)))
                return v;
        for (char *p = c; *p; p++)
                if ((unsigned char) *p >= 0x80)
                        *p = '?';
        v = json_string(c);
        free(c);
        return v;
}

static json_t *time_or_null(usec_t ts) {
        char buf[64];

        if (ts == 0 || ts == USEC_INFINITY)
                return json_null();
        return json_string(format_rfc3339(buf, sizeof(buf), ts));
}

void *job_json_new(const JobJsonInfo *i) {
        json_t *o = json_object();

        if (!o)
                return NULL;
        /* json_object_set_new() takes the value even on failure, so a NULL from a failed
         * allocation is no leak; the result is checked once at the end. */
        if (json_object_set_new(o, "name", text(i->name)) < 0 ||
            json_object_set_new(o, "description", text(i->description)) < 0 ||
            json_object_set_new(o, "state", text(i->state)) < 0 ||
            json_object_set_new(o, "result", text(i->result)) < 0 ||
            json_object_set_new(o, "pid", i->pid > 0 ? json_integer(i->pid) : json_null()) < 0 ||
            json_object_set_new(o, "restarts", json_integer(i->restarts)) < 0 ||
            json_object_set_new(o, "exit_status", i->exit_status >= 0 ? json_integer(i->exit_status) : json_null()) < 0 ||
            json_object_set_new(o, "since", time_or_null(i->since)) < 0 ||
            json_object_set_new(o, "last_heartbeat", time_or_null(i->last_heartbeat)) < 0 ||
            json_object_set_new(o, "status", text(i->status)) < 0 ||
            json_object_set_new(o, "cpu_seconds", i->cpu_nsec == UINT64_MAX ? json_null() :
                                                  json_real((double) i->cpu_nsec / 1e9)) < 0 ||
            json_object_set_new(o, "memory_bytes", i->memory_bytes == UINT64_MAX ? json_null() :
                                                   json_integer((json_int_t) i->memory_bytes)) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}
