/* The SQLite registry (SPEC §11): jobs and their enable state, every run, heartbeats, the audit
 * log. No SQL leaves registry.c. Writes are batched: the first write opens a transaction, the
 * manager commits once per event-loop iteration (registry_commit), so starting 1000 jobs costs a
 * few commits. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/macro.h"
#include "util/time-util.h"

typedef struct Registry Registry;

/* Opens (creating) path in WAL mode, synchronous=FULL, runs migrations up to the current
 * PRAGMA user_version, and closes runs left open by a pmd that was killed (end time = now,
 * result "abandoned"); *ret_n_abandoned says how many. */
int registry_open(const char *path, usec_t now_realtime, Registry **ret, unsigned *ret_n_abandoned);
Registry *registry_free(Registry *r); /* commits what is pending, then closes */
DEFINE_TRIVIAL_CLEANUP_FUNC(Registry *, registry_free);

/* Commit the open batch, if any. Cheap when nothing is pending. */
int registry_commit(Registry *r);

/* Job rows: current state snapshot. */
int registry_job_update(Registry *r, const char *name, const char *state, const char *result,
                        pid_t pid, unsigned restarts, usec_t since_realtime, const char *status_text);
int registry_job_delete(Registry *r, const char *name); /* job file removed; runs/audit stay */
/* Enable state set with pmctl enable/disable: *ret = 1/0, or -1 when never set. */
int registry_job_get_enabled(Registry *r, const char *name, int *ret);
int registry_job_set_enabled(Registry *r, const char *name, bool enabled);

/* Runs. exit_code is CLD_EXITED/CLD_KILLED/CLD_DUMPED (0 when it never ran), status the exit
 * status or signal. */
int registry_run_begin(Registry *r, const char *name, pid_t pid, usec_t start_realtime, int64_t *ret_id);
int registry_run_end(Registry *r, int64_t id, usec_t end_realtime, int exit_code, int exit_status,
                     const char *result);

/* Audit: actor is "uid:0", "pmd", "http:alice" …; outcome "ok" or an error text. */
int registry_audit(Registry *r, usec_t ts_realtime, const char *actor, const char *action,
                   const char *job, const char *outcome);

typedef struct RegistryAuditEntry {
        int64_t id;
        usec_t ts;
        const char *actor, *action, *job, *outcome;
} RegistryAuditEntry;
/* The last n entries, oldest first. */
int registry_audit_list(Registry *r, unsigned n,
                        int (*cb)(const RegistryAuditEntry *e, void *userdata), void *userdata);

typedef struct RegistryRun {
        int64_t id;
        const char *job;
        pid_t pid;
        usec_t start, end; /* end 0 = still running */
        int exit_code, exit_status;
        const char *result;
} RegistryRun;
/* The last n runs of a job (or all jobs when job is NULL), oldest first. */
int registry_run_list(Registry *r, const char *job, unsigned n,
                      int (*cb)(const RegistryRun *e, void *userdata), void *userdata);

/* A consistent copy (SQLite online backup) to path. */
int registry_backup(Registry *r, const char *path);
