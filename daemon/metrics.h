/* What the HTTP face reports about jobs: their resource usage sampled in one pass, the JOB object
 * of SPEC §10 filled from a job, and the Prometheus text of /metrics. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "manager.h"
#include "util/job-json.h"

/* Usage of jobs[0..n) into ret[0..n): the job's cgroup where pmd made one (cpu.stat, and
 * memory.current or, without the memory controller, the statm of its processes), otherwise the
 * sum over its process group (CPU including the children they waited for), read in one pass over
 * /proc for all such jobs together (not one pass per job). A job with nothing running has 0. The
 * only place usage is read: HTTP and D-Bus show the same numbers. */
int job_usage_sample(Manager *m, Job **jobs, size_t n, JobUsage *ret);

/* The exit status as the JOB object and the D-Bus ExitStatus show it: the status, 128+N for a
 * signal N, -1 when no run ended yet. */
int job_exit_status(const Job *j);

/* The fields of the JOB object of j (pointers into the job, valid while it is unchanged). */
void job_json_info_fill(Manager *m, Job *j, const JobUsage *u, JobJsonInfo *ret);

/* The Prometheus text exposition (version 0.0.4) of every job in jobs[0..n) and of pmd itself;
 * *ret is malloc()ed. */
int metrics_format(Manager *m, Job **jobs, size_t n, const JobUsage *usage, char **ret, size_t *ret_size);
