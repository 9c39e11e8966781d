/* The JOB object of SPEC §10, built in one place: pmd's HTTP /status and `pmctl --json` both fill
 * a JobJsonInfo and call job_json_new(), so field names, types and time formats cannot drift. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "time-util.h"

typedef struct JobJsonInfo {
        const char *name, *description, *state, *result, *status; /* NULL → "" */
        pid_t pid;                /* 0: none → null */
        unsigned restarts;
        int exit_status;          /* of the last run, 128+N for a signal N; < 0: none → null */
        usec_t since;             /* µs since the epoch of the last state change; 0 → null */
        usec_t last_heartbeat;    /* µs since the epoch; 0 → null */
        uint64_t cpu_nsec;        /* UINT64_MAX: unknown → null */
        uint64_t memory_bytes;    /* UINT64_MAX: unknown → null */
} JobJsonInfo;

/* A new jansson object (json_t *, returned as void * so that includers need not know jansson), or
 * NULL when out of memory. */
void *job_json_new(const JobJsonInfo *i);

/* "2024-05-01T12:00:00.123456Z": UTC with microseconds, as the JOB object and the logs write it. */
