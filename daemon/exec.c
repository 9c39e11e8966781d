/* Spawning job processes. exec_spawn() forks with clone3(CLONE_PIDFD) (fork() + pidfd_open() where
 * clone3 is refused), so the manager gets a pidfd it can watch and signal without pid-reuse races,
 * and never waits for the child. The child resets what it inherited from pmd (signal mask and
 * handlers, fds), joins the job's cgroup and session, applies rlimits, umask, user, groups and
 * working directory, and execs. The first step that fails is written as an ExecError to a CLOEXEC
 * pipe before _exit(127); a successful execve closes the pipe, so the manager reads either a report
 * or EOF. Nothing here logs: the child has nowhere to log to, and the parent side only returns
 * errors and texts for the manager to log. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.h"
#include "util/macro.h"
#include "util/strv.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The first fields of the kernel's struct clone_args (CLONE_ARGS_SIZE_VER0); spelled out here so
 * that <linux/sched.h> and glibc's <sched.h> need not meet. */
struct pmd_clone_args {
        uint64_t flags;
        uint64_t pidfd;
        uint64_t child_tid;
        uint64_t parent_tid;
        uint64_t exit_signal;
        uint64_t stack;
        uint64_t stack_size;
        uint64_t tls;
};

static const char *const exec_stage_table[_EXEC_STAGE_MAX] = {
        [EXEC_STAGE_NONE] = "none",
        [EXEC_STAGE_FDS] = "fds",
        [EXEC_STAGE_CGROUP] = "cgroup",
        [EXEC_STAGE_PROCESS_GROUP] = "process-group",
        [EXEC_STAGE_RLIMITS] = "rlimits",
        [EXEC_STAGE_UMASK] = "umask",
        [EXEC_STAGE_USER] = "user",
        [EXEC_STAGE_GROUP] = "group",
        [EXEC_STAGE_GROUPS] = "groups",
        [EXEC_STAGE_SETGID] = "setgid",
        [EXEC_STAGE_SETUID] = "setuid",
        [EXEC_STAGE_CHDIR] = "chdir",
        [EXEC_STAGE_SIGNALS] = "signals",
        [EXEC_STAGE_EXEC] = "exec",
};

const char *exec_stage_to_string(ExecStage s) {
        if ((int) s < 0 || (size_t) s >= ELEMENTSOF(exec_stage_table))
                return NULL;
        return exec_stage_table[s];
}

static const char *const rlimit_table[RLIM_NLIMITS] = {
        [RLIMIT_CPU] = "LimitCPU",
        [RLIMIT_FSIZE] = "LimitFSIZE",
        [RLIMIT_DATA] = "LimitDATA",
        [RLIMIT_STACK] = "LimitSTACK",
        [RLIMIT_CORE] = "LimitCORE",
        [RLIMIT_RSS] = "LimitRSS",
        [RLIMIT_NPROC] = "LimitNPROC",
        [RLIMIT_NOFILE] = "LimitNOFILE",
        [RLIMIT_MEMLOCK] = "LimitMEMLOCK",
        [RLIMIT_AS] = "LimitAS",
        [RLIMIT_LOCKS] = "LimitLOCKS",
        [RLIMIT_SIGPENDING] = "LimitSIGPENDING",
        [RLIMIT_MSGQUEUE] = "LimitMSGQUEUE",
        [RLIMIT_NICE] = "LimitNICE",
        [RLIMIT_RTPRIO] = "LimitRTPRIO",
        [RLIMIT_RTTIME] = "LimitRTTIME",
};

const char *rlimit_to_string(int resource) {
        if (resource < 0 || (size_t) resource >= ELEMENTSOF(rlimit_table))
                return NULL;
        return rlimit_table[resource];
}

int pidfd_kill(int pidfd, int sig) {
        if (pidfd < 0)
                return -EBADF;
        if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
                return -errno;
        return 0;
}

/* ---- rlimits: shared by the child (which applies) and exec_check_rlimits() (which warns) ---- */

static rlim_t read_nr_open(void) {
        char buf[32];
        ssize_t n;
        int fd;

        fd = open("/proc/sys/fs/nr_open", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        n = read(fd, buf, sizeof(buf) - 1);
        safe_close(fd);
        if (n <= 0)
                return 0;
        buf[n] = '\0';
        return (rlim_t) strtoull(buf, NULL, 10);
}

/* What of want this process can grant. Lowering is always allowed; raising a hard limit needs
 * CAP_SYS_RESOURCE, which only trying tells (a root in a user namespace lacks it), and
 * RLIMIT_NOFILE never goes above fs.nr_open. The probe raises only the hard limit, keeping the soft
 * one, so nothing (SIGXCPU, a failed allocation) can hit the caller; the old limits are restored. */
static int rlimit_grantable(int resource, const struct rlimit *want, struct rlimit *ret) {
        struct rlimit old, granted = *want;

        if (getrlimit(resource, &old) < 0)
                return -errno;

        if (granted.rlim_max > old.rlim_max) {
                struct rlimit probe = { .rlim_cur = old.rlim_cur, .rlim_max = granted.rlim_max };

                if (setrlimit(resource, &probe) < 0) {
                        rlim_t cap = old.rlim_max;

                        if (errno != EPERM)
                                return -errno;
                        if (resource == RLIMIT_NOFILE) {
                                rlim_t nr_open = read_nr_open();

                                probe.rlim_max = nr_open;
                                if (nr_open > old.rlim_max && setrlimit(resource, &probe) >= 0)
                                        cap = nr_open;
                        }
                        granted.rlim_max = cap;
                }
                (void) setrlimit(resource, &old);
        }
        granted.rlim_cur = MIN(granted.rlim_cur, granted.rlim_max);

        *ret = granted;
        return 0;
}

static void format_rlim(char *buf, size_t size, const struct rlimit *r) {
        char cur[32], max[32];

        if (r->rlim_cur == RLIM_INFINITY)
                snprintf(cur, sizeof(cur), "infinity");
        else
                snprintf(cur, sizeof(cur), "%llu", (unsigned long long) r->rlim_cur);
        if (r->rlim_max == RLIM_INFINITY)
                snprintf(max, sizeof(max), "infinity");
        else
                snprintf(max, sizeof(max), "%llu", (unsigned long long) r->rlim_max);

        if (r->rlim_cur == r->rlim_max)
                snprintf(buf, size, "%s", cur);
        else
                snprintf(buf, size, "%s:%s", cur, max);
}

int exec_check_rlimits(const JobConfig *c, char ***ret_warnings) {
        _cleanup_strv_free_ char **warnings = NULL;
        int n = 0, r;

        assert(ret_warnings);

        if (c)
                for (int i = 0; i < RLIM_NLIMITS; i++) {
                        struct rlimit granted;
                        char want_s[80], granted_s[80];
                        char *w;

                        if (!c->rlimits[i].set)
                                continue;
                        r = rlimit_grantable(i, &c->rlimits[i].rlim, &granted);
                        if (r < 0)
                                return r;
                        if (granted.rlim_cur == c->rlimits[i].rlim.rlim_cur &&
                            granted.rlim_max == c->rlimits[i].rlim.rlim_max)
                                continue;

                        format_rlim(want_s, sizeof(want_s), &c->rlimits[i].rlim);
                        format_rlim(granted_s, sizeof(granted_s), &granted);
                        if (asprintf(&w, "%s=%s exceeds what pmd can grant, capped to %s",
                                     rlimit_to_string(i) ?: "Limit?", want_s, granted_s) < 0)
                                return -ENOMEM;
                        r = strv_consume(&warnings, w);
                        if (r < 0)
                                return r;
                        n++;
                }

        *ret_warnings = TAKE_PTR(warnings);
        return n;
}

/* ---- the child ---- */

static void child_report(int fd, ExecStage stage, int error, int arg) {
        ExecError e = {
                .stage = stage,
                .error = error > 0 ? error : EIO,
                .arg = arg,
        };
        ssize_t n;

        /* One write below PIPE_BUF is atomic; retry only on EINTR. */
        do
                n = write(fd, &e, sizeof(e));
        while (n < 0 && errno == EINTR);
}

static int child_reset_signals(void) {
        struct sigaction sa = { .sa_handler = SIG_DFL };
        sigset_t none;

        /* Handlers first, then the mask: a signal pending for pmd's signalfd must not run a
         * handler that was meant for pmd. Numbers glibc reserves fail with EINVAL: ignored. */
        sigemptyset(&sa.sa_mask);
        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) sigaction(sig, &sa, NULL);

        sigemptyset(&none);
        if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
                return -errno;
        return 0;
}

static int child_join_cgroup(int cgroup_fd) {
        static const char zero[] = "0";
        int fd;

        fd = openat(cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, zero, strlen(zero)) < 0) {
                int r = -errno;
                safe_close(fd);
                return r;
        }
        safe_close(fd);
        return 0;
}

/* Move fd to a number >= 3 (CLOEXEC), so that dup2() onto 0/1/2 can neither clobber it nor be a
 * no-op that keeps a CLOEXEC flag. */
static int fd_move_above_stdio(int fd) {
        int nfd;

        if (fd >= 3)
                return fd;
        nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (nfd < 0)
                return -errno;
        return nfd;
}

static void close_all_but(int keep) {
        /* Everything from 3 up, except the error pipe (CLOEXEC: execve closes it). */
        if (keep > 3)
                (void) close_range(3, (unsigned) keep - 1, 0);
        if (close_range((unsigned) keep + 1, ~0U, 0) < 0) {
                struct rlimit rl;
                rlim_t max = 65536;

                if (getrlimit(RLIMIT_NOFILE, &rl) >= 0 && rl.rlim_cur != RLIM_INFINITY)
                        max = MIN(rl.rlim_cur, (rlim_t) 1 << 20);
                for (rlim_t fd = (rlim_t) keep + 1; fd < max; fd++)
                        (void) close((int) fd);
        }
}

static int child_setup_fds(const ExecRequest *req, int *error_fd) {
        int fds[3] = {
                req->stdin_fd,
                req->stdout_fd,
                req->stderr_fd >= 0 ? req->stderr_fd : req->stdout_fd,
        };
        int null_fd = -EBADF, r;

        r = fd_move_above_stdio(*error_fd);
        if (r < 0)
                return r;
        *error_fd = r;

        if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0) {
                null_fd = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
                if (null_fd < 0)
                        return -errno;
                r = fd_move_above_stdio(null_fd);
                if (r < 0)
                        return r;
                null_fd = r;
        }

        for (int i = 0; i < 3; i++) {
                int old = fds[i];

                if (old < 0) {
                        fds[i] = null_fd;
                        continue;
                }
                if (old >= 3)
                        continue;
                r = fd_move_above_stdio(old);
                if (r < 0)
                        return r;
                for (int j = i; j < 3; j++)
                        if (fds[j] == old)
                                fds[j] = r;
        }

        for (int i = 0; i < 3; i++)
                if (dup2(fds[i], i) < 0)
                        return -errno;

        close_all_but(*error_fd);
        return 0;
}

static int child_rlimits(const JobConfig *c, int *ret_resource) {
        for (int i = 0; i < RLIM_NLIMITS; i++) {
                struct rlimit granted;
                int r;

                if (!c->rlimits[i].set)
                        continue;
                r = rlimit_grantable(i, &c->rlimits[i].rlim, &granted);
                if (r >= 0 && setrlimit(i, &granted) < 0)
                        r = -errno;
                if (r < 0) {
                        *ret_resource = i;
                        return r;
                }
        }
        return 0;
}

static bool parse_id(const char *s, unsigned *ret) {
        unsigned long v;
        char *end;

        if (!s || !(*s >= '0' && *s <= '9'))
                return false;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end || v >= UINT32_MAX)
                return false;
        *ret = (unsigned) v;
        return true;
}

static size_t nss_buffer_size(int name) {
        long n = sysconf(name);
        return n > 0 ? (size_t) n : 16384;
}

typedef struct UserCreds {
        uid_t uid;
        gid_t gid;
        char *name, *home, *shell; /* point into buf, or are static */
        char *buf;
        bool found;                /* from the passwd database (not a bare number) */
} UserCreds;

/* User= as a name or a number; a number without a passwd entry is allowed (gid = the same number,
 * home "/"). -ESRCH when a name is unknown. */
static int lookup_user(const char *user, UserCreds *ret) {
        struct passwd pw, *res = NULL;
        size_t size = nss_buffer_size(_SC_GETPW_R_SIZE_MAX);
        unsigned id;
        bool numeric = parse_id(user, &id);
        int r;

        for (;;) {
                free(ret->buf);
                ret->buf = malloc(size);
                if (!ret->buf)
                        return -ENOMEM;
                if (numeric)
                        r = getpwuid_r((uid_t) id, &pw, ret->buf, size, &res);
                else
                        r = getpwnam_r(user, &pw, ret->buf, size, &res);
                if (r != ERANGE || size > (1U << 20))
                        break;
                size *= 2;
        }
        if (r != 0 && r != ENOENT && r != ESRCH)
                return -r;
        if (!res) {
                if (!numeric)
                        return -ESRCH;
                ret->uid = (uid_t) id;
                ret->gid = (gid_t) id;
                ret->name = (char *) user;
                ret->home = (char *) "/";
                ret->shell = (char *) "/bin/sh";
                return 0;
        }
        ret->found = true;
        ret->uid = pw.pw_uid;
        ret->gid = pw.pw_gid;
        ret->name = pw.pw_name;
        ret->home = isempty(pw.pw_dir) ? (char *) "/" : pw.pw_dir;
        ret->shell = isempty(pw.pw_shell) ? (char *) "/bin/sh" : pw.pw_shell;
        return 0;
}

static int lookup_group(const char *group, gid_t *ret) {
        struct group gr, *res = NULL;
        size_t size = nss_buffer_size(_SC_GETGR_R_SIZE_MAX);
        _cleanup_free_ char *buf = NULL;
        unsigned id;
        int r;

        if (parse_id(group, &id)) {
                *ret = (gid_t) id;
                return 0;
        }
        for (;;) {
                free(buf);
                buf = malloc(size);
                if (!buf)
                        return -ENOMEM;
                r = getgrnam_r(group, &gr, buf, size, &res);
                if (r != ERANGE || size > (1U << 20))
                        break;
                size *= 2;
        }
        if (r != 0 && r != ENOENT && r != ESRCH)
                return -r;
        if (!res)
                return -ESRCH;
        *ret = gr.gr_gid;
        return 0;
}

/* Home of the user pmd runs as, for WorkingDirectory=~ without User=. */
static const char *own_home(UserCreds *creds) {
        char id[16];

        snprintf(id, sizeof(id), "%u", (unsigned) getuid());
        if (lookup_user(id, creds) >= 0 && creds->found)
                return creds->home;
        return "/";
}

typedef struct ChildFailure {
        ExecStage stage;
        int arg;
} ChildFailure;

#define FAIL(f, s, a, r)                    \
        ({                                  \
                (f)->stage = (s);           \
                (f)->arg = (a);             \
                (r);                        \
        })

/* User=, Group=, SupplementaryGroups=: initgroups (plus the extra groups), setgid, setuid. A
 * privileged pmd always sets the group list; an unprivileged one only attempts what changes
 * something, so User= naming pmd's own user works without privileges. */
static int child_credentials(const ExecRequest *req, UserCreds *creds, bool *ret_have_user, ChildFailure *f) {
        const JobConfig *c = req->config;
        bool want_user, want_group, privileged;
        size_t n_supp;
        gid_t gid;
        int r;

        *ret_have_user = false;
        if (!c || req->full_privileges)
                return 0;

        n_supp = strv_length(c->supplementary_groups);
        want_user = !isempty(c->user);
        want_group = !isempty(c->group) || n_supp > 0;
        if (!want_user && !want_group)
                return 0;

        if (want_user) {
                r = lookup_user(c->user, creds);
                if (r < 0)
                        return FAIL(f, EXEC_STAGE_USER, 0, r);
                *ret_have_user = true;
        }

        if (!isempty(c->group)) {
                r = lookup_group(c->group, &gid);
                if (r < 0)
                        return FAIL(f, EXEC_STAGE_GROUP, 0, r);
        } else
                gid = want_user ? creds->gid : getgid();

        privileged = geteuid() == 0;

        if (privileged || n_supp > 0) {
                _cleanup_free_ gid_t *list = NULL;
                long max = sysconf(_SC_NGROUPS_MAX);
                int n = 0;

                if (max <= 0)
                        max = 65536;
                list = calloc((size_t) max, sizeof(gid_t));
                if (!list)
                        return FAIL(f, EXEC_STAGE_GROUPS, 0, -ENOMEM);

                if (want_user && creds->found) {
                        /* The user's groups from the group database, as SPEC asks. */
                        if (initgroups(creds->name, gid) < 0)
                                return FAIL(f, EXEC_STAGE_GROUPS, 0, -errno);
                        n = getgroups((int) max, list);
                        if (n < 0)
                                return FAIL(f, EXEC_STAGE_GROUPS, 0, -errno);
                }
                for (size_t i = 0; i < n_supp; i++) {
                        gid_t g;

                        r = lookup_group(c->supplementary_groups[i], &g);
                        if (r < 0)
                                return FAIL(f, EXEC_STAGE_GROUP, (int) i + 1, r);
                        if (n >= max)
                                return FAIL(f, EXEC_STAGE_GROUPS, 0, -E2BIG);
                        list[n++] = g;
                }
                /* initgroups() has set the list already unless there is more to add, or no
                 * passwd entry to take it from (then: only the extra groups, dropping pmd's). */
                if (n_supp > 0 || !(want_user && creds->found))
                        if (setgroups((size_t) n, list) < 0)
                                return FAIL(f, EXEC_STAGE_GROUPS, 0, -errno);
        }

        if (privileged || gid != getgid() || gid != getegid())
                if (setresgid(gid, gid, gid) < 0)
                        return FAIL(f, EXEC_STAGE_SETGID, 0, -errno);

        if (want_user && (creds->uid != getuid() || creds->uid != geteuid()))
                if (setresuid(creds->uid, creds->uid, creds->uid) < 0)
                        return FAIL(f, EXEC_STAGE_SETUID, 0, -errno);

        return 0;
}

static int child_chdir(const ExecRequest *req, const UserCreds *creds, bool have_user) {
        const JobConfig *c = req->config;
        UserCreds own = {};
        const char *wd;
        int r = 0;

        if (!c)
                return 0;

        if (c->working_directory_home) {
                wd = have_user ? creds->home : own_home(&own);
                if (chdir(wd) < 0 && !c->working_directory_optional)
                        r = -errno;
                free(own.buf);
                return r;
        }
        if (c->working_directory) {
                if (chdir(c->working_directory) < 0 && !c->working_directory_optional)
                        return -errno;
                return 0;
        }
        if (have_user && chdir(creds->home) < 0 && chdir("/") < 0)
                return -errno;
        return 0;
}

static int env_add_default(char ***env, const char *key, const char *value) {
        _cleanup_free_ char *s = NULL;

        if (strv_env_get(*env, key))
                return 0;
        if (asprintf(&s, "%s=%s", key, value) < 0)
                return -ENOMEM;
        return strv_consume(env, TAKE_PTR(s));
}

static int child_exec(const char *path, char *const *argv, char *const *envp) {
        const char *search, *p;
        bool seen_eacces = false;

        if (strchr(path, '/')) {
                execve(path, argv, envp);
                return -errno;
        }
        if (isempty(path))
                return -ENOENT;

        search = strv_env_get(envp, "PATH");
        if (!search)
                search = DEFAULT_PATH;

        for (p = search;; ) {
                size_t len = strcspn(p, ":");
                _cleanup_free_ char *candidate = NULL;

                /* An empty element means the current directory, as in execvp(). */
                if (asprintf(&candidate, "%.*s%s%s", (int) len, p, len > 0 ? "/" : "", path) < 0)
                        return -ENOMEM;
                execve(candidate, argv, envp);
                switch (errno) {
                case EACCES:
                        seen_eacces = true;
                        break;
                case ENOENT:
                case ENOTDIR:
                case ESTALE:
                case ELOOP:
                case ENAMETOOLONG:
                case ENODEV:
                case ETIMEDOUT:
                        break;
                default:
                        return -errno;
                }
                if (!p[len])
                        break;
                p += len + 1;
        }
        return seen_eacces ? -EACCES : -ENOENT;
}

static int child_run(const ExecRequest *req, int *error_fd, ChildFailure *f) {
        const JobConfig *c = req->config;
        _cleanup_strv_free_ char **env = NULL;
        char *const *envp = req->envp;
        char *fallback_argv[2] = { (char *) req->path, NULL };
        char *empty_env[1] = { NULL };
        UserCreds creds = {};
        bool have_user = false;
        int r;

        r = child_reset_signals();
        if (r < 0)
                return FAIL(f, EXEC_STAGE_SIGNALS, 0, r);

        if (req->cgroup_fd >= 0) {
                r = child_join_cgroup(req->cgroup_fd);
                if (r < 0)
                        return FAIL(f, EXEC_STAGE_CGROUP, 0, r);
        }

        if (req->pgid > 0)
                r = setpgid(0, req->pgid) < 0 ? -errno : 0;
        else
                r = setsid() < 0 ? -errno : 0;
        if (r < 0)
                return FAIL(f, EXEC_STAGE_PROCESS_GROUP, 0, r);

        r = child_setup_fds(req, error_fd);
        if (r < 0)
                return FAIL(f, EXEC_STAGE_FDS, 0, r);

        if (c) {
                int resource = 0;

                r = child_rlimits(c, &resource);
                if (r < 0)
                        return FAIL(f, EXEC_STAGE_RLIMITS, resource, r);

                (void) umask(c->umask & 07777);
        }

        r = child_credentials(req, &creds, &have_user, f);
        if (r < 0)
                return r;

        r = child_chdir(req, &creds, have_user);
        if (r < 0)
                return FAIL(f, EXEC_STAGE_CHDIR, 0, r);

        if (!envp)
                envp = empty_env;
        if (have_user) {
                env = strv_copy(envp);
                if (!env)
                        return FAIL(f, EXEC_STAGE_USER, 0, -ENOMEM);
                if (env_add_default(&env, "HOME", creds.home) < 0 ||
                    env_add_default(&env, "USER", creds.name) < 0 ||
                    env_add_default(&env, "LOGNAME", creds.name) < 0 ||
                    env_add_default(&env, "SHELL", creds.shell) < 0)
                        return FAIL(f, EXEC_STAGE_USER, 0, -ENOMEM);
                envp = env;
        }

        r = child_exec(req->path, req->argv ?: fallback_argv, envp);
        free(creds.buf);
        return FAIL(f, EXEC_STAGE_EXEC, 0, r);
}

static _noreturn_ void child_main(const ExecRequest *req, int error_fd) {
        ChildFailure f = { .stage = EXEC_STAGE_NONE };
        int r;

        r = child_run(req, &error_fd, &f);
        child_report(error_fd, f.stage, -r, f.arg);
        _exit(127);
}

/* ---- the parent ---- */

static pid_t clone_with_pidfd(int *ret_pidfd) {
        struct pmd_clone_args args = {
                .flags = CLONE_PIDFD,
                .exit_signal = SIGCHLD,
        };
        int pidfd = -1;
        long pid;

        args.pidfd = (uint64_t) (uintptr_t) &pidfd;
        pid = syscall(SYS_clone3, &args, sizeof(args));
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                *ret_pidfd = -1;
                return 0;
        }
        *ret_pidfd = pidfd;
        return (pid_t) pid;
}

int exec_spawn(const ExecRequest *req, ExecChild *ret) {
        _cleanup_close_ int read_fd = -EBADF, write_fd = -EBADF, pidfd = -EBADF;
        int pipefd[2];
        pid_t pid;

        assert(req);
        assert(req->path);
        assert(ret);

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        read_fd = pipefd[0];
        write_fd = pipefd[1];
        if (fcntl(read_fd, F_SETFL, O_NONBLOCK) < 0)
                return -errno;

        pid = clone_with_pidfd(&pidfd);
        if (pid == -ENOSYS || pid == -EPERM) {
                /* No clone3 (old kernel, or a seccomp filter refusing it): fork, then open a pidfd.
                 * No reaping happens in between: pmd is single-threaded. */
                pid = fork();
                if (pid < 0)
                        return -errno;
                if (pid > 0) {
                        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
                        if (pidfd < 0) {
                                int r = -errno;
                                (void) kill(pid, SIGKILL);
                                (void) waitpid(pid, NULL, 0);
                                return r;
                        }
                }
        } else if (pid < 0)
                return pid;

        if (pid == 0) {
                safe_close(read_fd);
                child_main(req, write_fd);
        }

        *ret = (ExecChild) {
                .pid = pid,
                .pidfd = TAKE_FD(pidfd),
                .error_fd = TAKE_FD(read_fd),
        };
        return 0;
}

int exec_read_error(int error_fd, ExecError *ret) {
        ExecError e;
        ssize_t n;

        assert(ret);

        do
                n = read(error_fd, &e, sizeof(e));
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        if (n == 0)
                return 0;
        if ((size_t) n != sizeof(e) || (int) e.stage < 0 || e.stage >= _EXEC_STAGE_MAX || e.error <= 0)
                return -EBADMSG;

        *ret = e;
        return 1;
}

static const char *group_name(const ExecError *e, const JobConfig *c) {
        if (!c)
                return NULL;
        if (e->arg == 0)
                return c->group;
        if (e->arg > 0 && (size_t) e->arg <= strv_length(c->supplementary_groups))
                return c->supplementary_groups[e->arg - 1];
        return NULL;
}

static char *format(const char *fmt, ...) _printf_(1, 2);
static char *format(const char *fmt, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        return r < 0 ? NULL : s;
}

/* "'name'" (with a leading space) or "" when unknown. */
static const char *quoted(char *buf, size_t size, const char *s) {
        if (isempty(s))
                return "";
        snprintf(buf, size, " '%s'", s);
        return buf;
}

char *exec_error_format(const ExecError *e, const char *path, const JobConfig *c) {
        const char *err, *user = c ? c->user : NULL, *what;
        char q[PATH_MAX + 8];

        assert(e);

        err = strerror(e->error);
        switch (e->stage) {
        case EXEC_STAGE_FDS:
                return format("Failed to set up standard input/output: %s", err);
        case EXEC_STAGE_CGROUP:
                return format("Failed to join the job's control group: %s", err);
        case EXEC_STAGE_PROCESS_GROUP:
                return format("Failed to set up the session or process group: %s", err);
        case EXEC_STAGE_RLIMITS:
                return format("Failed to set %s: %s", rlimit_to_string(e->arg) ?: "resource limits", err);
        case EXEC_STAGE_UMASK:
                return format("Failed to set the umask: %s", err);
        case EXEC_STAGE_USER:
                return format("Failed to look up user%s: %s", quoted(q, sizeof(q), user),
                              e->error == ESRCH ? "No such user" : err);
        case EXEC_STAGE_GROUP:
                what = e->arg == 0 ? "group" : "supplementary group";
                return format("Failed to look up %s%s: %s", what, quoted(q, sizeof(q), group_name(e, c)),
                              e->error == ESRCH ? "No such group" : err);
        case EXEC_STAGE_GROUPS:
                return format("Failed to set the supplementary groups%s%s: %s", user ? " of user" : "",
                              quoted(q, sizeof(q), user), err);
        case EXEC_STAGE_SETGID:
                return format("Failed to change to group%s: %s",
                              quoted(q, sizeof(q), c && c->group ? c->group : user), err);
        case EXEC_STAGE_SETUID:
                return format("Failed to change to user%s: %s", quoted(q, sizeof(q), user), err);
        case EXEC_STAGE_CHDIR:
                if (c && c->working_directory_home)
                        what = "~";
                else if (c && c->working_directory)
                        what = c->working_directory;
                else
                        what = "/";
                return format("Failed to change to working directory%s: %s", quoted(q, sizeof(q), what), err);
        case EXEC_STAGE_SIGNALS:
                return format("Failed to reset signal handling: %s", err);
        case EXEC_STAGE_EXEC:
                return format("Failed to execute%s: %s", quoted(q, sizeof(q), path), err);
        case EXEC_STAGE_NONE:
        default:
                return format("Failed to start%s: %s", quoted(q, sizeof(q), path), err);
        }
}

char *exec_error_to_string(const ExecError *e, const char *path) {
        return exec_error_format(e, path, NULL);
}
