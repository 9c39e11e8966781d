/* Monitoring data about jobs for the HTTP face: resource usage, the JOB object's fields, and the
 * Prometheus text format of /metrics.
 *
 * Usage is sampled for all jobs at once, here only: the D-Bus properties use the same sample (one
 * per loop iteration, manager.c). A job with a cgroup costs two small file reads (where the memory
 * controller is missing, its processes' /proc/PID/statm instead of memory.current); jobs that
 * only have a process group are summed from /proc in one pass for all of them, keyed by process
 * group, because one /proc pass per job would make a scrape with 1000 jobs cost 1000 passes.
 *
 * The exposition follows the text format 0.0.4: every family's samples together under one HELP
 * and one TYPE line, counters ending in _total, label values escaped (backslash, double quote,
 * newline), and the process_* family of the client libraries for pmd itself. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.h"
#include "http.h"
#include "metrics.h"
#include "notify.h"
#include "util/hashmap.h"

/* ---- usage ---- */

typedef struct PgroupSum {
        uint64_t cpu_usec, rss;
} PgroupSum;

/* The fields pmd wants from what follows ") " in /proc/PID/stat: pgrp (3rd), utime, stime, cutime,
 * cstime (12th to 15th: the children a process waited for count, as they do in a cgroup's
 * cpu.stat), rss (22nd); by hand, as sscanf() was the larger part of a scrape with 1000 jobs. */
static int stat_fields(const char *p, long *ret_pgrp, unsigned long *ret_ticks, long *ret_rss) {
        unsigned long long v[22] = {};

        for (unsigned i = 0; i < 22; i++) {
                while (*p == ' ')
                        p++;
                if (!*p)
                        return -EBADMSG;
                if (i == 0)
                        p++; /* the state letter */
                else {
                        bool neg = *p == '-';
                        p += neg;
                        if (*p < '0' || *p > '9')
                                return -EBADMSG;
                        while (*p >= '0' && *p <= '9')
                                v[i] = v[i] * 10 + (unsigned long long) (*p++ - '0');
                        if (neg)
                                v[i] = 0;
                }
                if (*p && *p != ' ' && *p != '\n')
                        return -EBADMSG;
        }
        *ret_pgrp = (long) v[2];
        *ret_ticks = (unsigned long) (v[11] + v[12] + v[13] + v[14]);
        *ret_rss = (long) v[21];
        return 0;
}

/* One pass over /proc: the cpu time and resident memory of every process whose group is in
 * groups (pgid → PgroupSum). */
static int pgroup_scan(Hashmap *groups) {
        _cleanup_(closedirp) DIR *d = opendir("/proc");
        long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
        struct dirent *de;

        if (!d)
                return -errno;
        if (tck <= 0)
                tck = 100;
        while ((de = readdir(d))) {
                char path[64], buf[1024], *p;
                unsigned long ticks;
                long pg, rsspages;
                PgroupSum *sum;
                pid_t q;
                ssize_t k;

                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                q = (pid_t) atol(de->d_name);
                (void) snprintf(path, sizeof(path), "/proc/%d/stat", (int) q);
                _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                k = read(fd, buf, sizeof(buf) - 1);
                if (k <= 0)
                        continue;
                buf[k] = 0;
                p = strrchr(buf, ')');
                /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
                 * utime stime cutime cstime priority nice threads itrealvalue starttime vsize rss */
                if (!p || stat_fields(p + 2, &pg, &ticks, &rsspages) < 0)
                        continue;
                sum = pg > 0 ? hashmap_get(groups, HASHMAP_UINT(pg)) : NULL;
                if (!sum)
                        continue;
                sum->cpu_usec += (uint64_t) ticks * USEC_PER_SEC / (uint64_t) tck;
                sum->rss += (uint64_t) (rsspages > 0 ? rsspages : 0) * (uint64_t) page;
        }
        return 0;
}

/* The resident memory of the processes of a cgroup without the memory controller: the sum of
 * their /proc/PID/statm (statm is cheaper to make than stat, and only these processes are read). */
static int cgroup_rss(int cgroup_fd, uint64_t *ret) {
        _cleanup_free_ pid_t *pids = NULL;
        long page = sysconf(_SC_PAGESIZE);
        uint64_t sum = 0;
        size_t n = 0;
        int r;

        r = cgroup_job_pids(cgroup_fd, &pids, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                char path[64], buf[128];
                unsigned long size, resident;
                ssize_t k;

                (void) snprintf(path, sizeof(path), "/proc/%d/statm", (int) pids[i]);
                _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        continue; /* gone meanwhile */
                k = read(fd, buf, sizeof(buf) - 1);
                if (k <= 0)
                        continue;
                buf[k] = '\0';
                if (sscanf(buf, "%lu %lu", &size, &resident) == 2)
                        sum += (uint64_t) resident * (uint64_t) page;
        }
        *ret = sum;
        return 0;
}

int job_usage_sample(Manager *m, Job **jobs, size_t n, JobUsage *ret) {
        _cleanup_(hashmap_freep) Hashmap *groups = NULL;
        _cleanup_free_ PgroupSum *sums = NULL;
        bool need_scan = false;

        for (size_t i = 0; i < n; i++)
                ret[i] = (JobUsage) { .cpu_nsec = UINT64_MAX, .memory_bytes = UINT64_MAX };

        sums = calloc(n ? n : 1, sizeof(PgroupSum));
        groups = hashmap_new_uint64();
        if (!sums || !groups)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                JobRuntime *rt = job_runtime(jobs[i]);
                uint64_t v;
                bool cpu = false, mem = false;

                if (rt->cgroup_fd >= 0) {
                        if (cgroup_job_cpu_usec(rt->cgroup_fd, &v) >= 0) {
                                ret[i].cpu_nsec = v * 1000;
                                cpu = true;
                        }
                        /* Without the memory controller: the group's processes, not a scan. */
                        if (cgroup_job_memory(rt->cgroup_fd, &v) >= 0 || cgroup_rss(rt->cgroup_fd, &v) >= 0) {
                                ret[i].memory_bytes = v;
                                mem = true;
                        }
                }
                if (cpu && mem)
                        continue;
                if (rt->main_pgid <= 0) {
                        /* Nothing of it runs. */
                        if (!cpu)
                                ret[i].cpu_nsec = 0;
                        if (!mem)
                                ret[i].memory_bytes = 0;
                        continue;
                }
                /* Two jobs never share a group: each run leads its own. */
                if (hashmap_put(groups, HASHMAP_UINT(rt->main_pgid), &sums[i]) >= 0)
                        need_scan = true;
        }
        if (need_scan && pgroup_scan(groups) < 0)
                return 0; /* unknown stays unknown */
        for (size_t i = 0; i < n; i++) {
                JobRuntime *rt = job_runtime(jobs[i]);
                if (rt->main_pgid <= 0 || hashmap_get(groups, HASHMAP_UINT(rt->main_pgid)) != &sums[i])
                        continue;
                if (ret[i].cpu_nsec == UINT64_MAX)
                        ret[i].cpu_nsec = sums[i].cpu_usec * 1000;
                if (ret[i].memory_bytes == UINT64_MAX)
                        ret[i].memory_bytes = sums[i].rss;
        }
        return 0;
}

int job_exit_status(const Job *j) {
        if (j->exit_code == CLD_EXITED)
                return j->exit_status;
        if (j->exit_code == CLD_KILLED || j->exit_code == CLD_DUMPED)
                return 128 + j->exit_status;
        return -1;
}

void job_json_info_fill(Manager *m, Job *j, const JobUsage *u, JobJsonInfo *ret) {
        JobRuntime *rt = job_runtime(j);

        *ret = (JobJsonInfo) {
                .name = j->name,
                .description = j->config->description,
                .state = job_public_state_to_string(job_public_state(j)),
                .result = job_result_to_string(j->result),
                .status = rt->status_text,
                .pid = j->main_pid,
                .restarts = j->restart_count,
                .exit_status = job_exit_status(j),
                .since = rt->state_change_realtime,
                .last_heartbeat = rt->last_heartbeat_realtime,
                .cpu_nsec = u ? u->cpu_nsec : UINT64_MAX,
                .memory_bytes = u ? u->memory_bytes : UINT64_MAX,
        };
}

/* ---- the exposition ---- */

/* A label value: \ " and newline escaped. Job names cannot hold them, but a later source of
 * labels might. */
static void put_label(FILE *f, const char *s) {
        if (!strpbrk(s, "\\\"\n")) {
                fputs(s, f);
                return;
        }
        for (; *s; s++)
                switch (*s) {
                case '\\':
                        fputs("\\\\", f);
                        break;
                case '"':
                        fputs("\\\"", f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                default:
                        fputc(*s, f);
                }
}

static void family(FILE *f, const char *name, const char *type, const char *help) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample_job(FILE *f, const char *name, const Job *j, const char *fmt, ...) _printf_(4, 5);
static void sample_job(FILE *f, const char *name, const Job *j, const char *fmt, ...) {
        va_list ap;

        fprintf(f, "%s{job=\"", name);
        put_label(f, j->name);
        fputs("\"} ", f);
        va_start(ap, fmt);
        vfprintf(f, fmt, ap);
        va_end(ap);
        fputc('\n', f);
}

/* The process_* family of pmd itself, as the Prometheus client libraries export it. */
static void process_metrics(FILE *f) {
        struct rusage ru;
        struct rlimit rl;
        long page = sysconf(_SC_PAGESIZE), tck = sysconf(_SC_CLK_TCK);
        unsigned long long vsize_pages = 0, rss_pages = 0, starttime = 0, btime = 0;
        unsigned n_fds = 0;

        if (getrusage(RUSAGE_SELF, &ru) >= 0) {
                family(f, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
                fprintf(f, "process_cpu_seconds_total %.6f\n",
                        (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                                (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
        }
        {
                _cleanup_fclose_ FILE *s = fopen("/proc/self/statm", "re");
                if (s && fscanf(s, "%llu %llu", &vsize_pages, &rss_pages) == 2) {
                        family(f, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
                        fprintf(f, "process_virtual_memory_bytes %llu\n", vsize_pages * (unsigned long long) page);
                        family(f, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
                        fprintf(f, "process_resident_memory_bytes %llu\n", rss_pages * (unsigned long long) page);
                }
        }
        {
                /* Linux ≥ 6.2 gives the number of open fds as the size of /proc/self/fd: one stat()
                 * instead of listing thousands of entries (pmd holds a few per job). */
                struct stat st;
                bool ok = stat("/proc/self/fd", &st) >= 0 && st.st_size > 0;
                if (ok)
                        n_fds = (unsigned) st.st_size;
                else {
                        _cleanup_(closedirp) DIR *d = opendir("/proc/self/fd");
                        struct dirent *de;
                        if (d) {
                                while ((de = readdir(d)))
                                        if (de->d_name[0] != '.')
                                                n_fds++;
                                n_fds--; /* the directory's own fd */
                                ok = true;
                        }
                }
                if (ok) {
                        family(f, "process_open_fds", "gauge", "Number of open file descriptors.");
                        fprintf(f, "process_open_fds %u\n", n_fds);
                }
        }
        if (getrlimit(RLIMIT_NOFILE, &rl) >= 0) {
                family(f, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
                fprintf(f, "process_max_fds %llu\n", (unsigned long long) rl.rlim_cur);
        }
        {
                _cleanup_fclose_ FILE *s = fopen("/proc/self/stat", "re");
                _cleanup_fclose_ FILE *st = fopen("/proc/stat", "re");
                char buf[1024], *p;
                if (s && fgets(buf, sizeof(buf), s) && (p = strrchr(buf, ')')) &&
                    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                           &starttime) == 1 && st) {
                        while (fgets(buf, sizeof(buf), st))
                                if (sscanf(buf, "btime %llu", &btime) == 1)
                                        break;
                }
                if (btime > 0 && tck > 0) {
                        family(f, "process_start_time_seconds", "gauge",
                               "Start time of the process since unix epoch in seconds.");
                        fprintf(f, "process_start_time_seconds %.2f\n",
                                (double) btime + (double) starttime / (double) tck);
                }
        }
}

int metrics_format(Manager *m, Job **jobs, size_t n, const JobUsage *usage, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;
        usec_t now = now_usec(CLOCK_REALTIME);
        NotifyServer *ns = manager_get_notify(m);
        HttpServer *hs = manager_get_http(m);

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        /* One thread writes: no locking per call (~17000 of them with 1000 jobs). */
        (void) __fsetlocking(f, FSETLOCKING_BYCALLER);

        family(f, "pmd_build_info", "gauge", "pmd's version; always 1.");
        fprintf(f, "pmd_build_info{version=\"%s\"} 1\n", PMD_VERSION);
        family(f, "pmd_jobs", "gauge", "Jobs loaded.");
        fprintf(f, "pmd_jobs %zu\n", n);

        family(f, "pmd_job_up", "gauge", "1 when the job is running (SPEC state running), else 0.");
        for (size_t i = 0; i < n; i++)
                sample_job(f, "pmd_job_up", jobs[i], "%d", job_public_state(jobs[i]) == JOB_PUBLIC_RUNNING);

        family(f, "pmd_job_state", "gauge", "1 for the state the job is in, 0 for the others.");
        for (size_t i = 0; i < n; i++) {
                JobPublicState st = job_public_state(jobs[i]);
                for (JobPublicState s = 0; s < _JOB_PUBLIC_STATE_MAX; s++) {
                        fputs("pmd_job_state{job=\"", f);
                        put_label(f, jobs[i]->name);
                        fprintf(f, "\",state=\"%s\"} %d\n", job_public_state_to_string(s), s == st);
                }
        }

        family(f, "pmd_job_restarts_total", "counter", "Automatic restarts of the job since it was loaded.");
        for (size_t i = 0; i < n; i++)
                sample_job(f, "pmd_job_restarts_total", jobs[i], "%u", jobs[i]->restart_count);

        family(f, "pmd_job_cpu_seconds_total", "counter",
               "CPU time of all processes of the job (its cgroup, else its process group).");
        for (size_t i = 0; i < n; i++)
                if (usage[i].cpu_nsec != UINT64_MAX)
                        sample_job(f, "pmd_job_cpu_seconds_total", jobs[i], "%.6f", (double) usage[i].cpu_nsec / 1e9);

        family(f, "pmd_job_memory_rss_bytes", "gauge",
               "Memory of all processes of the job (cgroup memory.current, else the sum of their RSS).");
        for (size_t i = 0; i < n; i++)
                if (usage[i].memory_bytes != UINT64_MAX)
                        sample_job(f, "pmd_job_memory_rss_bytes", jobs[i], "%llu",
                                   (unsigned long long) usage[i].memory_bytes);

        family(f, "pmd_job_uptime_seconds", "gauge", "Seconds since the current run started; 0 when not running.");
        for (size_t i = 0; i < n; i++) {
                JobRuntime *rt = job_runtime(jobs[i]);
                bool up = job_public_state(jobs[i]) == JOB_PUBLIC_RUNNING && rt->run_start_realtime > 0 &&
                        rt->run_start_realtime <= now;
                sample_job(f, "pmd_job_uptime_seconds", jobs[i], "%.3f",
                           up ? (double) (now - rt->run_start_realtime) / 1e6 : 0.0);
        }

        family(f, "pmd_job_last_exit_status", "gauge",
               "Exit status of the last run (128+N for a signal N); -1 before any run ended.");
        for (size_t i = 0; i < n; i++)
                sample_job(f, "pmd_job_last_exit_status", jobs[i], "%d", job_exit_status(jobs[i]));

        family(f, "pmd_job_last_heartbeat_timestamp_seconds", "gauge",
               "Time of the last heartbeat (notify WATCHDOG=1, HTTP, D-Bus) since the epoch; 0 for none.");
        for (size_t i = 0; i < n; i++)
                sample_job(f, "pmd_job_last_heartbeat_timestamp_seconds", jobs[i], "%.6f",
                           (double) job_runtime(jobs[i])->last_heartbeat_realtime / 1e6);

        family(f, "pmd_job_watchdog_seconds", "gauge", "The watchdog interval in force; 0 for none.");
        for (size_t i = 0; i < n; i++)
                sample_job(f, "pmd_job_watchdog_seconds", jobs[i], "%.6f", (double) job_watchdog_usec(jobs[i]) / 1e6);

        family(f, "pmd_notify_datagrams_total", "counter",
               "Datagrams on the notify socket: accepted, or dropped (no credentials, not from a job, "
               "refused by NotifyAccess=, malformed, too long).");
        fprintf(f, "pmd_notify_datagrams_total{outcome=\"accepted\"} %llu\n",
                (unsigned long long) notify_server_n_received(ns));
        fprintf(f, "pmd_notify_datagrams_total{outcome=\"dropped\"} %llu\n",
                (unsigned long long) notify_server_n_dropped(ns));

        if (hs) {
                family(f, "pmd_http_requests_total", "counter", "HTTP requests answered.");
                fprintf(f, "pmd_http_requests_total %llu\n", (unsigned long long) http_server_n_requests(hs));
                family(f, "pmd_http_connections", "gauge", "HTTP connections open now.");
                fprintf(f, "pmd_http_connections %u\n", http_server_n_connections(hs));
        }

        process_metrics(f);

        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}
