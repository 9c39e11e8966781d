/* cgroup v2 groups for jobs. cgroup_root_open() finds the cgroup2 mount (pure v2 at
 * /sys/fs/cgroup, or the "unified" hierarchy of a hybrid host), pmd's own group in it, and probes
 * once whether pmd may make child groups there and move processes into them. Each job then gets
 * "<own group>/pmd-jobs/NAME.job" (layout documented in exec.h): the child joins it in exec.c before
 * anything else, so KillMode=control-group reaches every descendant, even setsid daemons. When
 * there is no cgroup2 or no permission, the root fails to open and pmd falls back to process
 * groups. Everything works on directory fds (openat), never on paths built per call. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec.h"
#include "util/macro.h"

#define CGROUP_JOBS_DIR "pmd-jobs"
#define CGROUP_JOB_SUFFIX ".job"
/* cgroup files are small, except cgroup.procs of a big group: a bound all the same. */
#define CGROUP_FILE_MAX (4U * 1024U * 1024U)
#define CGROUP_KILL_ROUNDS 8

struct CGroupRoot {
        char *path; /* the directory holding the job groups */
        int dir_fd; /* that directory, O_DIRECTORY|O_CLOEXEC */
};

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s) {
        char *w = s;

        for (char *r = s; *r;) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
                    r[3] <= '7') {
                        *w++ = (char) (((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
                        r += 4;
                } else
                        *w++ = *r++;
        }
        *w = '\0';
}

static bool path_has_prefix(const char *path, const char *prefix) {
        size_t n = strlen(prefix);

        if (streq(prefix, "/"))
                return path[0] == '/';
        return strneq(path, prefix, n) && (path[n] == '\0' || path[n] == '/');
}

/* The cgroup2 mount whose root covers own_path: its mount point and its root within the
 * hierarchy. /sys/fs/cgroup is preferred, then /sys/fs/cgroup/unified, then any other. */
static int find_cgroup2_mount(const char *own_path, char **ret_mountpoint, char **ret_root) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL, *best_mp = NULL, *best_root = NULL;
        int best_rank = INT_MAX;
        size_t size = 0;

        f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                return errno == ENOENT ? -EOPNOTSUPP : -errno;

        while (getline(&line, &size, f) > 0) {
                char *fields[5], *sep, *fstype, *save = NULL, *tok;
                int n = 0, rank;

                /* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS" */
                sep = strstr(line, " - ");
                if (!sep)
                        continue;
                *sep = '\0';
                fstype = strtok_r(sep + 3, " \n", &save);
                if (!fstype || !streq(fstype, "cgroup2"))
                        continue;

                save = NULL;
                for (tok = strtok_r(line, " ", &save); tok && n < 5; tok = strtok_r(NULL, " ", &save))
                        fields[n++] = tok;
                if (n < 5)
                        continue;
                unescape_octal(fields[3]);
                unescape_octal(fields[4]);
                if (!path_has_prefix(own_path, fields[3]))
                        continue;

                if (streq(fields[4], "/sys/fs/cgroup"))
                        rank = 0;
                else if (streq(fields[4], "/sys/fs/cgroup/unified"))
                        rank = 1;
                else
                        rank = 2;
                if (rank >= best_rank)
                        continue;

                free(best_mp);
                free(best_root);
                best_mp = strdup(fields[4]);
                best_root = strdup(fields[3]);
                if (!best_mp || !best_root)
                        return -ENOMEM;
                best_rank = rank;
        }

        if (!best_mp)
                return -EOPNOTSUPP;
        *ret_mountpoint = TAKE_PTR(best_mp);
        *ret_root = TAKE_PTR(best_root);
        return 0;
}

/* pmd's own group in the v2 hierarchy: the "0::/path" line of /proc/self/cgroup. */
static int own_cgroup_path(char **ret) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        ssize_t n;

        f = fopen("/proc/self/cgroup", "re");
        if (!f)
                return errno == ENOENT ? -EOPNOTSUPP : -errno;

        while ((n = getline(&line, &size, f)) > 0) {
                char *p;

                if (!strneq(line, "0::", 3))
                        continue;
                if (line[n - 1] == '\n')
                        line[n - 1] = '\0';
                p = line + 3;
                if (p[0] != '/')
                        return -EOPNOTSUPP; /* e.g. a group outside our cgroup namespace */
                *ret = strdup(p);
                return *ret ? 0 : -ENOMEM;
        }
        return -EOPNOTSUPP;
}

static int errno_to_access(int r) {
        /* Whatever says "not yours" becomes -EACCES, so the caller sees one reason. */
        return r == -EPERM || r == -EROFS ? -EACCES : r;
}

static int write_string_at(int dir_fd, const char *name, const char *s) {
        ssize_t n;
        int fd, r = 0;

        fd = openat(dir_fd, name, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        n = write(fd, s, strlen(s));
        if (n < 0)
                r = -errno;
        else if ((size_t) n != strlen(s))
                r = -EIO;
        safe_close(fd);
        return r;
}

/* Read a whole (small) file below dir_fd, NUL-terminated. */
static int read_string_at(int dir_fd, const char *name, char **ret) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t len = 0, size = 0;

        fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;

        for (;;) {
                ssize_t n;

                if (size - len < 2) {
                        char *b;

                        if (size >= CGROUP_FILE_MAX)
                                return -EFBIG;
                        size = size ? size * 2 : 4096;
                        b = realloc(buf, size);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                }
                n = read(fd, buf + len, size - len - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

/* "KEY VALUE" lines (cgroup.events, cpu.stat): the value of key. */
static int read_keyed_at(int dir_fd, const char *name, const char *key, uint64_t *ret) {
        _cleanup_free_ char *s = NULL;
        size_t n = strlen(key);
        int r;

        r = read_string_at(dir_fd, name, &s);
        if (r < 0)
                return r;
        for (char *p = s; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
                if (strneq(p, key, n) && p[n] == ' ') {
                        char *end;

                        errno = 0;
                        *ret = strtoull(p + n + 1, &end, 10);
                        if (errno != 0 || end == p + n + 1)
                                return -EBADMSG;
                        return 0;
                }
        return -ENODATA;
}

int cgroup_root_open(const char *instance, CGroupRoot **ret) {
        _cleanup_free_ char *own = NULL, *mountpoint = NULL, *mount_root = NULL, *own_dir = NULL;
        _cleanup_free_ char *probe = NULL;
        _cleanup_close_ int own_fd = -EBADF, jobs_fd = -EBADF;
        CGroupRoot *root;
        const char *rel;
        int r;

        _cleanup_free_ char *jobs_dir = NULL;

        assert(ret);
        assert(instance && !strchr(instance, '/'));

        /* One group per pmd instance: two pmds in one cgroup must never share (and so kill) the
         * groups of jobs that happen to have the same name. */
        if (asprintf(&jobs_dir, "%s-%s", CGROUP_JOBS_DIR, instance) < 0)
                return -ENOMEM;

        r = own_cgroup_path(&own);
        if (r < 0)
                return r;
        r = find_cgroup2_mount(own, &mountpoint, &mount_root);
        if (r < 0)
                return r;

        rel = streq(mount_root, "/") ? own : own + strlen(mount_root);
        if (isempty(rel) || streq(rel, "/"))
                own_dir = strdup(mountpoint);
        else if (asprintf(&own_dir, "%s%s", streq(mountpoint, "/") ? "" : mountpoint, rel) < 0)
                own_dir = NULL;
        if (!own_dir)
                return -ENOMEM;

        own_fd = open(own_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (own_fd < 0)
                return errno == ENOENT ? -EOPNOTSUPP : -errno;

        /* Moving a process between two groups needs write access to cgroup.procs of their common
         * ancestor, here pmd's own group: writing our own pid back to it checks exactly that,
         * and changes nothing. */
        r = write_string_at(own_fd, "cgroup.procs", "0");
        if (r < 0)
                return errno_to_access(r);

        if (mkdirat(own_fd, jobs_dir, 0755) < 0 && errno != EEXIST)
                return errno_to_access(-errno);
        jobs_fd = openat(own_fd, jobs_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (jobs_fd < 0)
                return -errno;

        /* A probe child group: can we make one, and write to its cgroup.procs? */
        if (asprintf(&probe, "probe-%ld" CGROUP_JOB_SUFFIX ".tmp", (long) getpid()) < 0)
                return -ENOMEM;
        if (mkdirat(jobs_fd, probe, 0755) < 0 && errno != EEXIST)
                return errno_to_access(-errno);
        r = faccessat(jobs_fd, probe, F_OK, 0) < 0 ? -errno : 0;
        if (r >= 0) {
                _cleanup_free_ char *procs = NULL;

                if (asprintf(&procs, "%s/cgroup.procs", probe) < 0)
                        r = -ENOMEM;
                else if (faccessat(jobs_fd, procs, W_OK, AT_EACCESS) < 0)
                        r = errno_to_access(-errno);
        }
        (void) unlinkat(jobs_fd, probe, AT_REMOVEDIR);
        if (r < 0)
                return r;

        root = calloc(1, sizeof(*root));
        if (!root)
                return -ENOMEM;
        if (asprintf(&root->path, "%s/%s", streq(own_dir, "/") ? "" : own_dir, jobs_dir) < 0) {
                free(root);
                return -ENOMEM;
        }
        root->dir_fd = TAKE_FD(jobs_fd);
        *ret = root;
        return 0;
}

CGroupRoot *cgroup_root_free(CGroupRoot *r) {
        if (!r)
                return NULL;
        /* Not reached on a re-exec (pmd execs with this open). On the way out the jobs' groups
         * are gone already; the instance's own group goes too, so that pmds with ever new state
         * directories (tests, containers) do not leave one each behind. A group that still holds
         * something (a job that outlived its stop) is not empty and stays. */
        safe_close(r->dir_fd);
        if (r->path)
                (void) rmdir(r->path);
        free(r->path);
        free(r);
        return NULL;
}

const char *cgroup_root_path(const CGroupRoot *r) {
        return r ? r->path : NULL;
}

static int job_dir_name(const char *name, char **ret) {
        if (isempty(name) || strchr(name, '/') || strlen(name) > JOB_NAME_MAX)
                return -EINVAL;
        if (asprintf(ret, "%s" CGROUP_JOB_SUFFIX, name) < 0)
                return -ENOMEM;
        return 0;
}

int cgroup_job_open(CGroupRoot *r, const char *name, int *ret_fd) {
        _cleanup_free_ char *dir = NULL;
        int fd, k;

        assert(r);
        assert(ret_fd);

        k = job_dir_name(name, &dir);
        if (k < 0)
                return k;
        if (mkdirat(r->dir_fd, dir, 0755) < 0 && errno != EEXIST)
                return errno_to_access(-errno);
        fd = openat(r->dir_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

int cgroup_job_remove(CGroupRoot *r, const char *name) {
        _cleanup_free_ char *dir = NULL;
        int k;

        assert(r);

        k = job_dir_name(name, &dir);
        if (k < 0)
                return k;
        if (unlinkat(r->dir_fd, dir, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int cgroup_job_pids(int cgroup_fd, pid_t **ret, size_t *ret_n) {
        _cleanup_free_ char *s = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0, allocated = 0;
        int r;

        assert(ret);
        assert(ret_n);

        r = read_string_at(cgroup_fd, "cgroup.procs", &s);
        if (r < 0)
                return r;

        for (char *p = s, *end; *p; p = end) {
                long v;

                if (*p == '\n') {
                        end = p + 1;
                        continue;
                }
                errno = 0;
                v = strtol(p, &end, 10);
                if (errno != 0 || end == p || v <= 0 || v > INT_MAX || (*end && *end != '\n'))
                        return -EBADMSG;
                if (GREEDY_REALLOC(pids, allocated, n + 1, 16) < 0)
                        return -ENOMEM;
                pids[n++] = (pid_t) v;
        }

        *ret = TAKE_PTR(pids);
        *ret_n = n;
        return 0;
}

static bool pid_in(const pid_t *l, size_t n, pid_t pid) {
        for (size_t i = 0; i < n; i++)
                if (l[i] == pid)
                        return true;
        return false;
}

int cgroup_job_kill(int cgroup_fd, int sig) {
        _cleanup_free_ pid_t *done = NULL;
        size_t n_done = 0;
        pid_t self = getpid();
        int r, ret = 0;

        if (sig == SIGKILL) {
                /* Where it fails (ENOENT before 5.14, EOPNOTSUPP on threaded groups), the loop
                 * below still does the job. */
                if (write_string_at(cgroup_fd, "cgroup.kill", "1") >= 0)
                        return 0;
        }

        /* No cgroup.kill (before 5.14) or another signal: signal what is listed, again while new
         * pids show up (forks racing with us), for a bounded number of rounds. */
        for (int round = 0; round < CGROUP_KILL_ROUNDS; round++) {
                _cleanup_free_ pid_t *pids = NULL;
                size_t n = 0;
                bool any = false;

                r = cgroup_job_pids(cgroup_fd, &pids, &n);
                if (r < 0)
                        return r;

                for (size_t i = 0; i < n; i++) {
                        pid_t *nd;

                        if (pids[i] == self || pid_in(done, n_done, pids[i]))
                                continue;
                        if (kill(pids[i], sig) < 0 && errno != ESRCH && ret == 0)
                                ret = -errno;
                        nd = realloc(done, (n_done + 1) * sizeof(pid_t));
                        if (!nd)
                                return -ENOMEM;
                        done = nd;
                        done[n_done++] = pids[i];
                        any = true;
                }
                if (!any)
                        break;
        }
        return ret;
}

int cgroup_job_populated(int cgroup_fd) {
        uint64_t v;
        int r;

        r = read_keyed_at(cgroup_fd, "cgroup.events", "populated", &v);
        if (r < 0)
                return r;
        return v > 0;
}

int cgroup_job_cpu_usec(int cgroup_fd, uint64_t *ret) {
        uint64_t v;
        int r;

        assert(ret);

        r = read_keyed_at(cgroup_fd, "cpu.stat", "usage_usec", &v);
        if (r < 0)
                return r;
        *ret = v;
        return 0;
}

int cgroup_job_memory(int cgroup_fd, uint64_t *ret) {
        _cleanup_free_ char *s = NULL;
        char *end;
        uint64_t v;
        int r;

        assert(ret);

        r = read_string_at(cgroup_fd, "memory.current", &s);
        if (r == -ENOENT)
                return -ENODATA; /* no memory controller on this group */
        if (r < 0)
                return r;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || end == s)
                return -EBADMSG;
        *ret = v;
        return 0;
}
