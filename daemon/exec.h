/* Spawning job processes: fork with a pidfd, all child setup, and an exec-error pipe that tells
 * the manager precisely what failed in the child (errno + the step) instead of a bare exit 127. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/macro.h"

#include "job-config.h"

typedef enum ExecStage {
        EXEC_STAGE_NONE,
        EXEC_STAGE_FDS,           /* setting up stdin/stdout/stderr */
        EXEC_STAGE_CGROUP,        /* joining the job's cgroup */
        EXEC_STAGE_PROCESS_GROUP, /* setsid/setpgid */
        EXEC_STAGE_RLIMITS,
        EXEC_STAGE_UMASK,
        EXEC_STAGE_USER,          /* looking up User= */
        EXEC_STAGE_GROUP,         /* looking up Group= / SupplementaryGroups= */
        EXEC_STAGE_GROUPS,        /* initgroups/setgroups */
        EXEC_STAGE_SETGID,
        EXEC_STAGE_SETUID,
        EXEC_STAGE_CHDIR,         /* WorkingDirectory= */
        EXEC_STAGE_SIGNALS,       /* resetting signal mask/handlers */
        EXEC_STAGE_EXEC,          /* execve itself / PATH lookup */
        _EXEC_STAGE_MAX,
        _EXEC_STAGE_INVALID = -EINVAL,
} ExecStage;

const char *exec_stage_to_string(ExecStage s); /* "exec", "chdir", "user" … */

/* The environment: envp is the base. When User= applies, HOME, USER, LOGNAME and SHELL of that user
 * are added unless envp already has them (so Environment= wins, as in systemd): do not put pmd's
 * own HOME/USER into envp. */
typedef struct ExecRequest {
        const char *path;        /* executable; no '/' → PATH lookup (in env, else a default) */
        char *const *argv;       /* already expanded */
        char *const *envp;       /* complete environment of the child */
        const JobConfig *config; /* user, group, supplementary groups, umask, rlimits,
                                  * working directory; NULL = none of those */
        bool full_privileges;    /* '+'/'!': ignore User=/Group= */
        int stdin_fd;            /* < 0: /dev/null */
        int stdout_fd;           /* < 0: /dev/null */
        int stderr_fd;           /* < 0: same as stdout */
        pid_t pgid;              /* 0: the child becomes a session and group leader (setsid);
                                  * > 0: joins that process group, which must be in pmd's own
                                  * session (the kernel refuses others: EPERM at stage
                                  * process-group) */
        int cgroup_fd;           /* >= 0: directory fd of a cgroup v2 group the child joins
                                  * before anything else */
        bool foreground_tty;     /* pgid 0: instead of a session of its own, the child makes a
                                  * process group of its own in pmd's session and takes the
                                  * terminal on its stdin as the foreground, if it can */
        bool watchdog_pid;       /* envp has "WATCHDOG_PID=" followed by at least 10 spaces: the
                                  * child writes its pid there (digits, then NUL) before exec */
} ExecRequest;

typedef struct ExecChild {
        pid_t pid;
        int pidfd;      /* for pidfd_send_signal; owned by the caller */
        int error_fd;   /* read end of the exec-error pipe, O_NONBLOCK|O_CLOEXEC; owned by caller */
} ExecChild;

typedef struct ExecError {
        ExecStage stage;
        int error;      /* positive errno; ESRCH at stage user/group: no such user/group */
        int arg;        /* stage group: 0 = Group=, n = the n-th SupplementaryGroups= entry;
                         * stage rlimits: the RLIMIT_* resource; else 0 */
} ExecError;

/* Fork (with a pidfd) and exec. On success the child runs and *ret is filled. Returns < 0 only
 * when no child was made (fork/pipe failure). What fails in the child comes through error_fd. */
int exec_spawn(const ExecRequest *req, ExecChild *ret);

/* Read the error pipe without blocking: 1 and *ret filled when the child reported a failure;
 * 0 when the pipe is closed without a report (exec succeeded); -EAGAIN when nothing yet. */
int exec_read_error(int error_fd, ExecError *ret);

/* "Failed to execute '/usr/bin/foo': No such file or directory" and the like; newly allocated
 * (NULL on OOM). Without the config, user and group names are left out of the text. */
char *exec_error_to_string(const ExecError *e, const char *path);
/* The same, naming the user, group or directory from config (the request's config, may be NULL):
 * "Failed to look up user 'nobodyx': No such user". */
char *exec_error_format(const ExecError *e, const char *path, const JobConfig *config);

/* Parent side of the rlimit capping: a Limit*= above what pmd can grant (raising a hard limit needs
 * CAP_SYS_RESOURCE; LimitNOFILE= stays within fs.nr_open) is capped in the child, silently. This
 * says which of config's limits would be: returns their number and, in *ret_warnings, one text
 * each ("LimitNOFILE=infinity exceeds what pmd can grant, capped to 1048576"), or NULL when none.
 * Probes by raising pmd's own hard limit and restoring it; never changes a soft limit. */
int exec_check_rlimits(const JobConfig *c, char ***ret_warnings);
/* "LimitNOFILE" for RLIMIT_NOFILE …; NULL when out of range. */
const char *rlimit_to_string(int resource);

/* Send sig to the process behind pidfd; -ESRCH when it is gone. */
int pidfd_kill(int pidfd, int sig);

/* cgroup v2 support. pmd's own group and whether it may create children in it: probed once.
 *
 * Layout: the cgroup2 mount (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts) + pmd's own
 * group from /proc/self/cgroup + "pmd-jobs-INSTANCE/NAME.job". pmd itself stays in its own group; the
 * "pmd-jobs-INSTANCE" level keeps the jobs apart from whatever else lives there, and the ".job" suffix
 * keeps a job name from ever meeting a cgroup interface file ("cgroup.procs", "cpu.stat"). No
 * controllers are enabled, so the no-internal-processes rule does not bite. */
typedef struct CGroupRoot CGroupRoot;
/* Returns 0 and a root when pmd can make per-job groups, -EOPNOTSUPP/-EACCES/... otherwise.
 * instance names this pmd (derived from its state directory, which one pmd holds at a time):
 * job groups live in "<own group>/pmd-jobs-INSTANCE/NAME.job". */
int cgroup_root_open(const char *instance, CGroupRoot **ret);
CGroupRoot *cgroup_root_free(CGroupRoot *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(CGroupRoot *, cgroup_root_free);
/* The directory that holds the job groups, for messages. */
const char *cgroup_root_path(const CGroupRoot *r);
/* Create (or reuse) the group of job name; returns its directory fd (O_DIRECTORY|O_CLOEXEC). */
int cgroup_job_open(CGroupRoot *r, const char *name, int *ret_fd);
/* Remove an empty job group (-EBUSY if not empty, also for a moment after its last process died,
 * until the kernel lets go of it: retry later); 0 when it is gone already. */
int cgroup_job_remove(CGroupRoot *r, const char *name);
/* Signal every process in the group (cgroup.kill for SIGKILL where the kernel has it; otherwise
 * cgroup.procs is read and each pid signalled, for a few rounds while new pids appear; pmd's own
 * pid is never signalled). */
int cgroup_job_kill(int cgroup_fd, int sig);
/* 1 if any process is in the group, 0 if empty. */
int cgroup_job_populated(int cgroup_fd);
/* Pids in the group (cgroup.procs), for "the single child left" of Type=forking. */
int cgroup_job_pids(int cgroup_fd, pid_t **ret, size_t *ret_n);
/* usage_usec from cpu.stat; memory.current (-ENODATA without the memory controller). */
int cgroup_job_cpu_usec(int cgroup_fd, uint64_t *ret);
int cgroup_job_memory(int cgroup_fd, uint64_t *ret);
