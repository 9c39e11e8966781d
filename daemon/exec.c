/* Spawning job processes. exec_spawn() works as posix_spawn() does: everything that may allocate or
 * block (user and group lookups, the group list, the environment, the PATH candidates, the rlimits
 * pmd can grant, /dev/null) is prepared in pmd first, then clone(CLONE_VM | CLONE_VFORK |
 * CLONE_PIDFD) starts a child that shares pmd's memory, on a stack of its own, and makes only
 * system calls: it resets what it inherited from pmd (signal handlers and mask, fds), joins the
 * job's cgroup and session, applies rlimits, umask, groups, gid, uid and working directory, and
 * execs. Sharing the memory spares pmd copying its page tables and the copy-on-write faults after
 * every fork, which dominate starting many jobs. pmd waits until the child has exec'd or exited,
 * then has the child's pidfd, which it can watch and signal without pid-reuse races (fork() +
 * pidfd_open() where CLONE_PIDFD is unknown). The first step that fails is written as an ExecError
 * to a CLOEXEC pipe before _exit(127) (a lookup that failed in pmd is reported by the child when it
 * reaches that step); a successful execve closes the pipe, so the manager reads either a report
 * or EOF. Nothing here logs: the child has nowhere to log to, and the parent side only returns
 * errors and texts for the manager to log. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.h"
#include "util/cmdline.h"
#include "util/macro.h"
#include "util/strv.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

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

/* ---- rlimits: shared by exec_spawn() (which has the child apply them) and exec_check_rlimits()
 * (which warns) ---- */

static rlim_t read_nr_open(void) {
        uint64_t v;
        return read_file_u64("/proc/sys/fs/nr_open", &v) >= 0 ? (rlim_t) v : 0;
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

/* ---- user and group lookups (parent side) ---- */

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

/* ---- the parent: everything the child will do, decided before the clone ----
 *
 * The child shares pmd's memory until it execs (see exec_spawn()), so whatever may allocate, lock,
 * block or talk to NSS daemons happens here: user and group lookups, the group list, the
 * environment, the PATH candidates, the rlimits pmd can grant, /dev/null. */

typedef struct ExecPlan {
        const ExecRequest *req;
        int error_fd;                   /* write end of the error pipe */
        int null_fd;                    /* /dev/null for a missing stdio fd, or -EBADF */
        struct sigaction default_action;
        sigset_t empty_mask;

        /* The first failure met while preparing (unknown user, ENOMEM …). Preparing stops there,
         * and the child reports it when it reaches that step, so the manager sees the same report,
         * after the same earlier steps, as when the child made the lookups itself. */
        ExecStage fail_stage;
        int fail_error;                 /* positive errno */
        int fail_arg;

        struct rlimit rlimits[RLIM_NLIMITS];
        bool rlimit_set[RLIM_NLIMITS];
        bool set_umask;
        mode_t umask;

        bool set_groups;
        gid_t *groups;
        size_t n_groups;
        bool set_gid;
        gid_t gid;
        bool set_uid;
        uid_t uid;

        const char *wd;                 /* chdir() there; NULL: stay */
        const char *wd_fallback;        /* … or there when that fails; NULL: none */
        bool wd_optional;               /* a failing chdir() is no error ('-') */

        char *const *argv;
        char *const *envp;
        const char *const *candidates;  /* execve() each in turn */
        bool path_search;               /* candidates come from PATH: go on after ENOENT & co */

        /* Owned, freed by plan_done() once the child has exec'd or exited. */
        UserCreds creds, own;
        char **env;
        char **path_candidates;
        char *fallback_argv[2];
        char *empty_env[1];
        const char *single[2];
} ExecPlan;

static void plan_done(ExecPlan *p) {
        free(p->creds.buf);
        free(p->own.buf);
        free(p->groups);
        strv_free(p->env);
        strv_free(p->path_candidates);
        p->null_fd = safe_close(p->null_fd);
}

static int plan_fail(ExecPlan *p, ExecStage stage, int arg, int r) {
        assert(r < 0);
        p->fail_stage = stage;
        p->fail_error = -r;
        p->fail_arg = arg;
        return r;
}

static int plan_fds(ExecPlan *p) {
        const ExecRequest *req = p->req;

        /* A missing stderr is stdout's copy: only stdin and stdout need /dev/null. */
        if (req->stdin_fd >= 0 && req->stdout_fd >= 0)
                return 0;
        p->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (p->null_fd < 0)
                return plan_fail(p, EXEC_STAGE_FDS, 0, -errno);
        return 0;
}

static int plan_rlimits(ExecPlan *p) {
        const JobConfig *c = p->req->config;

        for (int i = 0; i < RLIM_NLIMITS; i++) {
                int r;

                if (!c->rlimits[i].set)
                        continue;
                r = rlimit_grantable(i, &c->rlimits[i].rlim, &p->rlimits[i]);
                if (r < 0)
                        return plan_fail(p, EXEC_STAGE_RLIMITS, i, r);
                p->rlimit_set[i] = true;
        }
        return 0;
}

/* The groups initgroups(name, gid) would set (SPEC: User= drops privileges with initgroups): the
 * child cannot consult the group database, so it gets the list and calls setgroups(). Capped at
 * max, as initgroups() caps it. */
static int user_group_list(const char *name, gid_t gid, size_t extra, size_t max, gid_t **ret, size_t *ret_n) {
        _cleanup_free_ gid_t *list = NULL;
        int n = 64;

        for (;;) {
                gid_t *l = realloc(list, ((size_t) n + extra) * sizeof(gid_t));
                int want = n;

                if (!l)
                        return -ENOMEM;
                list = l;
                if (getgrouplist(name, gid, list, &want) >= 0) {
                        n = want;
                        break;
                }
                /* Too small: want is the size needed (glibc); grow at least twofold anyway. */
                if ((size_t) n >= max) {
                        n = (int) max;
                        break;
                }
                n = (int) MIN((size_t) MAX(want, 2 * n), max);
        }

        *ret_n = (size_t) MIN((size_t) n, max);
        *ret = TAKE_PTR(list);
        return 0;
}

/* User=, Group=, SupplementaryGroups=: the group list, gid and uid to set. A privileged pmd always
 * sets the group list; an unprivileged one only attempts what changes something, so User= naming
 * pmd's own user works without privileges. */
static int plan_credentials(ExecPlan *p, bool *ret_have_user) {
        const ExecRequest *req = p->req;
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
                r = lookup_user(c->user, &p->creds);
                if (r < 0)
                        return plan_fail(p, EXEC_STAGE_USER, 0, r);
                *ret_have_user = true;
        }

        if (!isempty(c->group)) {
                r = lookup_group(c->group, &gid);
                if (r < 0)
                        return plan_fail(p, EXEC_STAGE_GROUP, 0, r);
        } else
                gid = want_user ? p->creds.gid : getgid();

        privileged = geteuid() == 0;

        if (privileged || n_supp > 0) {
                long max = sysconf(_SC_NGROUPS_MAX);
                size_t n = 0;

                if (max <= 0)
                        max = 65536;
                if (want_user && p->creds.found) {
                        r = user_group_list(p->creds.name, gid, n_supp, (size_t) max, &p->groups, &n);
                        if (r < 0)
                                return plan_fail(p, EXEC_STAGE_GROUPS, 0, r);
                } else if (n_supp > 0) {
                        /* No passwd entry to take the list from: only the extra groups, dropping
                         * pmd's own. */
                        p->groups = calloc(n_supp, sizeof(gid_t));
                        if (!p->groups)
                                return plan_fail(p, EXEC_STAGE_GROUPS, 0, -ENOMEM);
                }
                for (size_t i = 0; i < n_supp; i++) {
                        gid_t g;

                        r = lookup_group(c->supplementary_groups[i], &g);
                        if (r < 0)
                                return plan_fail(p, EXEC_STAGE_GROUP, (int) i + 1, r);
                        if (n >= (size_t) max)
                                return plan_fail(p, EXEC_STAGE_GROUPS, 0, -E2BIG);
                        p->groups[n++] = g;
                }
                p->set_groups = true;
                p->n_groups = n;
        }

        p->gid = gid;
        p->set_gid = privileged || gid != getgid() || gid != getegid();
        p->uid = p->creds.uid;
        p->set_uid = want_user && (p->creds.uid != getuid() || p->creds.uid != geteuid());
        return 0;
}

static void plan_working_directory(ExecPlan *p, bool have_user) {
        const JobConfig *c = p->req->config;

        if (!c)
                return;
        if (c->working_directory_home) {
                p->wd = have_user ? p->creds.home : own_home(&p->own);
                p->wd_optional = c->working_directory_optional;
        } else if (c->working_directory) {
                p->wd = c->working_directory;
                p->wd_optional = c->working_directory_optional;
        } else if (have_user) {
                /* A home that does not exist (nobody's /nonexistent) is no error: "/" then. */
                p->wd = p->creds.home;
                p->wd_fallback = "/";
        }
}

static int env_add_default(char ***env, const char *key, const char *value) {
        _cleanup_free_ char *s = NULL;

        if (strv_env_get(*env, key))
                return 0;
        if (asprintf(&s, "%s=%s", key, value) < 0)
                return -ENOMEM;
        return strv_consume(env, TAKE_PTR(s));
}

static int plan_environment(ExecPlan *p, bool have_user) {
        p->envp = p->req->envp ?: p->empty_env;
        if (!have_user)
                return 0;

        p->env = strv_copy(p->envp);
        if (!p->env ||
            env_add_default(&p->env, "HOME", p->creds.home) < 0 ||
            env_add_default(&p->env, "USER", p->creds.name) < 0 ||
            env_add_default(&p->env, "LOGNAME", p->creds.name) < 0 ||
            env_add_default(&p->env, "SHELL", p->creds.shell) < 0)
                return plan_fail(p, EXEC_STAGE_USER, 0, -ENOMEM);
        p->envp = p->env;
        return 0;
}

/* The PATH lookup as execvp() does it: each candidate in turn. Only execve() in the child tells
 * what works: it runs with the job's credentials and working directory (an empty element means the
 * current directory, the child's), so the list is made here and tried there. */
static int plan_executable(ExecPlan *p) {
        const char *path = p->req->path, *search;

        if (strchr(path, '/')) {
                p->single[0] = path;
                p->candidates = p->single;
                return 0;
        }
        if (isempty(path))
                return plan_fail(p, EXEC_STAGE_EXEC, 0, -ENOENT);

        search = strv_env_get(p->envp, "PATH");
        if (!search)
                search = DEFAULT_PATH;

        for (const char *s = search;;) {
                size_t len = strcspn(s, ":");
                char *candidate;

                if (asprintf(&candidate, "%.*s%s%s", (int) len, s, len > 0 ? "/" : "", path) < 0 ||
                    strv_consume(&p->path_candidates, candidate) < 0)
                        return plan_fail(p, EXEC_STAGE_EXEC, 0, -ENOMEM);
                if (!s[len])
                        break;
                s += len + 1;
        }
        p->candidates = (const char *const *) p->path_candidates;
        p->path_search = true;
        return 0;
}

/* In the order the child takes the steps: the first failure ends the preparation. */
static void plan_prepare(ExecPlan *p) {
        const JobConfig *c = p->req->config;
        bool have_user = false;

        p->default_action.sa_handler = SIG_DFL;
        sigemptyset(&p->default_action.sa_mask);
        sigemptyset(&p->empty_mask);
        p->fallback_argv[0] = (char *) p->req->path;
        p->argv = p->req->argv ?: p->fallback_argv;

        if (plan_fds(p) < 0)
                return;
        if (c) {
                if (plan_rlimits(p) < 0)
                        return;
                p->set_umask = true;
                p->umask = c->umask & 07777;
        }
        if (plan_credentials(p, &have_user) < 0)
                return;
        plan_working_directory(p, have_user);
        if (plan_environment(p, have_user) < 0)
                return;
        (void) plan_executable(p);
}

/* ---- the child ----
 *
 * Runs in pmd's memory, on a stack of its own, while pmd waits: only system calls, no malloc, no
 * stdio, no locks, writing no shared memory but errno (pmd's, harmless: pmd is suspended). The
 * set*id() calls go to the kernel directly: glibc's wrappers would, were pmd multi-threaded, signal
 * pmd's threads to change their ids too. Not instrumented by the sanitizers: ASan's bookkeeping
 * (shadow writes, stack unpoisoning at noreturn calls) would think the child's stack is pmd's
 * thread's; what the child does reach of ASan (the write() and sigaction() interceptors) only
 * reads. */

#define _child_ __attribute__((no_sanitize("address", "undefined")))

#if defined(SYS_setresuid32)
/* 32-bit x86 and others whose plain calls take 16-bit ids. */
#define CHILD_SYS_setgroups SYS_setgroups32
#define CHILD_SYS_setresgid SYS_setresgid32
#define CHILD_SYS_setresuid SYS_setresuid32
#else
#define CHILD_SYS_setgroups SYS_setgroups
#define CHILD_SYS_setresgid SYS_setresgid
#define CHILD_SYS_setresuid SYS_setresuid
#endif

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

/* The failure the parent met preparing, now that the child has got as far as its step. */
#define FAIL_PLANNED(f, p) FAIL(f, (p)->fail_stage, (p)->fail_arg, -(p)->fail_error)

static _child_ void child_report(int fd, ExecStage stage, int error, int arg) {
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

static _child_ int child_reset_signals(const ExecPlan *p) {
        /* Handlers first, then the mask: a signal pending for pmd's signalfd must not run a
         * handler that was meant for pmd (on the child's stack, in pmd's memory). The raw system
         * call, because glibc's sigaction() refuses the real-time signals it reserves (32, 33),
         * and a pmd started with those ignored (make does that) must not pass that on. */
        struct {
                void *handler;
                unsigned long flags;
                void *restorer;
                uint64_t mask;
        } dfl = { .handler = SIG_DFL };
        (void) p;
        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(dfl.mask));

        if (sigprocmask(SIG_SETMASK, &p->empty_mask, NULL) < 0)
                return -errno;
        return 0;
}

/* Make the child's process group the foreground of the terminal on fd (as a shell does for a job
 * it runs, and tini for its child). A background group that does so gets SIGTTOU: ignored for
 * that moment. No terminal, or not pmd's: nothing happens. */
static _child_ void child_take_terminal(int fd) {
        struct {
                void *handler;
                unsigned long flags;
                void *restorer;
                uint64_t mask;
        } ign = { .handler = SIG_IGN }, dfl = { .handler = SIG_DFL };

        if (fd < 0)
                return;
        (void) syscall(SYS_rt_sigaction, SIGTTOU, &ign, NULL, sizeof(ign.mask));
        (void) tcsetpgrp(fd, getpid());
        (void) syscall(SYS_rt_sigaction, SIGTTOU, &dfl, NULL, sizeof(dfl.mask));
}

static _child_ int child_join_cgroup(int cgroup_fd) {
        int fd, r = 0;

        fd = openat(cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, "0", 1) < 0)
                r = -errno;
        (void) close(fd);
        return r;
}

/* Move fd to a number >= 3 (CLOEXEC), so that dup2() onto 0/1/2 can neither clobber it nor be a
 * no-op that keeps a CLOEXEC flag. */
static _child_ int fd_move_above_stdio(int fd) {
        int nfd;

        if (fd >= 3)
                return fd;
        nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (nfd < 0)
                return -errno;
        return nfd;
}

static _child_ void close_all_but(int keep) {
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

static _child_ int child_setup_fds(const ExecPlan *p, int *error_fd) {
        const ExecRequest *req = p->req;
        int fds[3] = {
                req->stdin_fd,
                req->stdout_fd,
                req->stderr_fd >= 0 ? req->stderr_fd : req->stdout_fd,
        };
        int null_fd = p->null_fd, r;

        r = fd_move_above_stdio(*error_fd);
        if (r < 0)
                return r;
        *error_fd = r;

        if (null_fd >= 0) {
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

static _child_ int child_credentials(const ExecPlan *p, ChildFailure *f) {
        if (p->set_groups && syscall(CHILD_SYS_setgroups, p->n_groups, p->groups) < 0)
                return FAIL(f, EXEC_STAGE_GROUPS, 0, -errno);
        if (p->set_gid && syscall(CHILD_SYS_setresgid, p->gid, p->gid, p->gid) < 0)
                return FAIL(f, EXEC_STAGE_SETGID, 0, -errno);
        if (p->set_uid && syscall(CHILD_SYS_setresuid, p->uid, p->uid, p->uid) < 0)
                return FAIL(f, EXEC_STAGE_SETUID, 0, -errno);
        return 0;
}

static _child_ int child_chdir(const ExecPlan *p) {
        if (!p->wd || chdir(p->wd) >= 0)
                return 0;
        if (p->wd_fallback)
                return chdir(p->wd_fallback) < 0 ? -errno : 0;
        return p->wd_optional ? 0 : -errno;
}

static _child_ int child_exec(const ExecPlan *p) {
        bool seen_eacces = false;

        for (size_t i = 0; p->candidates[i]; i++) {
                execve(p->candidates[i], p->argv, p->envp);
                if (!p->path_search)
                        return -errno;
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
        }
        return seen_eacces ? -EACCES : -ENOENT;
}

/* WATCHDOG_PID= must name the process that reads it, which only the child knows before exec: the
 * entry was made with room for the digits (exec.h), they are written in place. */
static _child_ void child_set_watchdog_pid(const ExecPlan *p) {
        static const char key[] = "WATCHDOG_PID=";
        char digits[16];
        long pid = syscall(SYS_getpid);
        size_t n = 0;

        do
                digits[n++] = (char) ('0' + pid % 10);
        while ((pid /= 10) > 0 && n < sizeof(digits));
        for (char *const *e = p->envp; e && *e; e++) {
                size_t k = 0, room = 0;

                while (k < sizeof(key) - 1 && (*e)[k] == key[k])
                        k++;
                if (k < sizeof(key) - 1)
                        continue;
                while ((*e)[k + room])
                        room++;
                if (room < n)
                        return;
                for (size_t i = 0; i < n; i++)
                        (*e)[k + i] = digits[n - 1 - i];
                (*e)[k + n] = 0;
                return;
        }
}

static _child_ int child_run(const ExecPlan *p, int *error_fd, ChildFailure *f) {
        const ExecRequest *req = p->req;
        int r;

        r = child_reset_signals(p);
        if (r < 0)
                return FAIL(f, EXEC_STAGE_SIGNALS, 0, r);

        if (req->cgroup_fd >= 0) {
                r = child_join_cgroup(req->cgroup_fd);
                if (r < 0)
                        return FAIL(f, EXEC_STAGE_CGROUP, 0, r);
        }

        if (req->pgid > 0)
                r = setpgid(0, req->pgid) < 0 ? -errno : 0;
        else if (req->foreground_tty)
                r = setpgid(0, 0) < 0 ? -errno : 0;
        else
                r = setsid() < 0 ? -errno : 0;
        if (r < 0)
                return FAIL(f, EXEC_STAGE_PROCESS_GROUP, 0, r);
        if (req->foreground_tty && req->pgid == 0)
                child_take_terminal(req->stdin_fd);

        if (p->fail_stage == EXEC_STAGE_FDS)
                return FAIL_PLANNED(f, p);
        r = child_setup_fds(p, error_fd);
        if (r < 0)
                return FAIL(f, EXEC_STAGE_FDS, 0, r);

        if (p->fail_stage == EXEC_STAGE_RLIMITS)
                return FAIL_PLANNED(f, p);
        for (int i = 0; i < RLIM_NLIMITS; i++)
                if (p->rlimit_set[i] && setrlimit(i, &p->rlimits[i]) < 0)
                        return FAIL(f, EXEC_STAGE_RLIMITS, i, -errno);

        if (p->set_umask)
                (void) umask(p->umask);

        if (p->fail_stage == EXEC_STAGE_USER || p->fail_stage == EXEC_STAGE_GROUP ||
            p->fail_stage == EXEC_STAGE_GROUPS)
                return FAIL_PLANNED(f, p);
        r = child_credentials(p, f);
        if (r < 0)
                return r;

        r = child_chdir(p);
        if (r < 0)
                return FAIL(f, EXEC_STAGE_CHDIR, 0, r);

        if (req->watchdog_pid)
                child_set_watchdog_pid(p);

        if (p->fail_stage == EXEC_STAGE_EXEC)
                return FAIL_PLANNED(f, p);
        return FAIL(f, EXEC_STAGE_EXEC, 0, child_exec(p));
}

static _child_ _noreturn_ void child_main(const ExecPlan *p) {
        ChildFailure f = { .stage = EXEC_STAGE_NONE };
        int error_fd = p->error_fd, r;

        r = child_run(p, &error_fd, &f);
        child_report(error_fd, f.stage, -r, f.arg);
        _exit(127);
}

static _child_ int child_entry(void *userdata) {
        child_main(userdata);
}

/* ---- the parent ---- */

/* 256 KiB is far more than the child's few frames and libc's system call wrappers (also under
 * ASan) need; a PROT_NONE page below makes an overflow fault instead of writing into whatever is
 * mapped there. Made once and kept: the child only runs while pmd waits in clone(), so one stack
 * serves every spawn. */
#define CHILD_STACK_SIZE (256U * 1024U)

static void *child_stack_top(void) {
        static uint8_t *top = NULL;
        size_t page;
        uint8_t *base;

        if (top)
                return top;

        page = (size_t) sysconf(_SC_PAGESIZE);
        base = mmap(NULL, page + CHILD_STACK_SIZE, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
        if (base == MAP_FAILED)
                return NULL;
        if (mprotect(base, page, PROT_NONE) < 0) {
                (void) munmap(base, page + CHILD_STACK_SIZE);
                return NULL;
        }
        top = base + page + CHILD_STACK_SIZE;
        return top;
}

/* vfork-style: the child shares pmd's memory (CLONE_VM), so no page tables are copied and no
 * copy-on-write faults follow in pmd, whose heap (SQLite's page cache …) is large; pmd is
 * suspended (CLONE_VFORK) until the child has exec'd or exited. */
static pid_t clone_vm(ExecPlan *p, int *ret_pidfd) {
        void *stack = child_stack_top();
        int pidfd = -EBADF;
        pid_t pid;

        if (!stack)
                return -ENOMEM;
        pid = clone(child_entry, stack, CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, p, &pidfd, NULL, NULL);
        if (pid < 0)
                return -errno;
        *ret_pidfd = pidfd;
        return pid;
}

int exec_spawn(const ExecRequest *req, ExecChild *ret) {
        _cleanup_close_ int read_fd = -EBADF, write_fd = -EBADF, pidfd = -EBADF;
        _cleanup_(plan_done) ExecPlan plan = {
                .req = req,
                .null_fd = -EBADF,
                .fail_stage = EXEC_STAGE_NONE,
        };
        sigset_t all, saved;
        int pipefd[2], r;
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

        plan.error_fd = write_fd;
        plan_prepare(&plan);

        /* Every signal blocked across the clone, as the child starts with pmd's handlers: none
         * may run before it has reset them (pmd has all it handles blocked for its signalfd
         * anyway; this covers the rest). */
        sigfillset(&all);
        if (sigprocmask(SIG_SETMASK, &all, &saved) < 0)
                return -errno;

        pid = clone_vm(&plan, &pidfd);
        if (pid == -EINVAL || pid == -ENOSYS) {
                /* No CLONE_PIDFD (before Linux 5.2): fork, then open a pidfd. No reaping happens
                 * in between: pmd is single-threaded. */
                pid = fork();
                if (pid == 0)
                        child_main(&plan);
                if (pid < 0)
                        pid = -errno;
                else {
                        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
                        if (pidfd < 0) {
                                r = -errno;
                                (void) kill(pid, SIGKILL);
                                (void) waitpid(pid, NULL, 0);
                                pid = r;
                        }
                }
        }

        r = pid < 0 ? pid : 0;
        (void) sigprocmask(SIG_SETMASK, &saved, NULL);
        if (r < 0)
                return r;

        /* The child has exec'd or exited: a failure report, if any, is in the pipe already, and
         * stays there for the manager to read as before. */
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
