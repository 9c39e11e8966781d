/* exec.c and cgroup.c against the real kernel: spawn real programs with each piece of child setup
 * and check what the child saw (through a pipe given as its stdout), what the exec-error pipe
 * reports, and, where pmd may make cgroup v2 groups here, a job group's life cycle. Every wait is
 * bounded (poll on the pidfd with a timeout), and only pids started here are signalled. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec.h"
#include "tests.h"
#include "util/macro.h"
#include "util/strv.h"

#define TIMEOUT_MS 10000

static char *test_env[] = { (char *) "PATH=/usr/local/bin:/usr/bin:/bin", (char *) "FOO=bar baz", NULL };

static JobConfig config_default(void) {
        /* Only the fields exec.c reads; job_config_new() is not needed for that. */
        return (JobConfig) { .umask = 0022 };
}

/* Wait (bounded) for the child behind pidfd; returns the siginfo of its end. */
static siginfo_t wait_child(const ExecChild *c) {
        struct pollfd p = { .fd = c->pidfd, .events = POLLIN };
        siginfo_t si = {};

        ASSERT_EQ(poll(&p, 1, TIMEOUT_MS), 1);
        ASSERT_TRUE(p.revents & POLLIN);
        ASSERT_OK(waitid(P_PIDFD, (id_t) c->pidfd, &si, WEXITED));
        ASSERT_EQ(si.si_pid, c->pid);
        return si;
}

static void child_done(ExecChild *c) {
        safe_close(c->pidfd);
        safe_close(c->error_fd);
}

/* Read fd until EOF (bounded), NUL-terminated. */
static char *read_all(int fd) {
        size_t len = 0, size = 4096;
        char *buf = malloc(size);

        ASSERT_TRUE(buf);
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                ssize_t n;

                ASSERT_EQ(poll(&p, 1, TIMEOUT_MS), 1);
                if (size - len < 2) {
                        size *= 2;
                        buf = realloc(buf, size);
                        ASSERT_TRUE(buf);
                }
                n = read(fd, buf + len, size - len - 1);
                ASSERT_TRUE(n >= 0);
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = '\0';
        return buf;
}

/* Run a request to its end: the child's stdout as a string, its exit status, and the error pipe's
 * verdict (0 = exec happened, 1 = *ret_error filled). */
static char *run(ExecRequest *req, int *ret_status, int *ret_verdict, ExecError *ret_error) {
        int out[2];
        ExecChild c;
        ExecError e = {};
        siginfo_t si;
        char *s;
        int v;

        ASSERT_OK(pipe2(out, O_CLOEXEC));
        req->stdout_fd = out[1];
        ASSERT_OK(exec_spawn(req, &c));
        safe_close(out[1]);
        req->stdout_fd = -1;

        s = read_all(out[0]);
        safe_close(out[0]);
        si = wait_child(&c);
        ASSERT_EQ(si.si_code, CLD_EXITED);
        if (ret_status)
                *ret_status = si.si_status;

        /* The child is gone: the pipe holds a report or is closed. */
        v = exec_read_error(c.error_fd, &e);
        ASSERT_TRUE(v == 0 || v == 1);
        if (v == 1)
                ASSERT_EQ(exec_read_error(c.error_fd, &(ExecError) {}), 0);
        if (ret_verdict)
                *ret_verdict = v;
        if (ret_error)
                *ret_error = e;
        child_done(&c);
        return s;
}

static ExecRequest request(const char *path, char *const *argv, const JobConfig *config) {
        return (ExecRequest) {
                .path = path,
                .argv = argv,
                .envp = test_env,
                .config = config,
                .stdin_fd = -1,
                .stdout_fd = -1,
                .stderr_fd = -1,
                .cgroup_fd = -1,
        };
}

/* Run and expect a clean exec with exit 0; returns stdout. */
static char *run_ok(ExecRequest *req) {
        int status, verdict;
        char *s = run(req, &status, &verdict, NULL);

        ASSERT_EQ(verdict, 0);
        ASSERT_EQ(status, 0);
        return s;
}

/* Run and expect an exec error at stage; returns its text. */
static char *run_fail(ExecRequest *req, ExecStage stage, int error) {
        int verdict;
        ExecError e;

        free(run(req, NULL, &verdict, &e));
        ASSERT_EQ(verdict, 1);
        ASSERT_STREQ(exec_stage_to_string(e.stage), exec_stage_to_string(stage));
        if (error > 0)
                ASSERT_EQ(e.error, error);
        return exec_error_format(&e, req->path, req->config);
}

TEST(true_eof) {
        char *argv[] = { (char *) "true", NULL };
        ExecRequest req = request("/bin/true", argv, NULL);
        struct pollfd p;
        ExecChild c;
        ExecError e;
        siginfo_t si;
        int r;

        ASSERT_OK(exec_spawn(&req, &c));
        ASSERT_TRUE(c.pid > 0);
        ASSERT_TRUE(c.pidfd >= 0);
        ASSERT_TRUE(fcntl(c.error_fd, F_GETFL) & O_NONBLOCK);
        ASSERT_TRUE(fcntl(c.error_fd, F_GETFD) & FD_CLOEXEC);
        ASSERT_TRUE(fcntl(c.pidfd, F_GETFD) & FD_CLOEXEC);

        /* Not blocking: right after the spawn it is EOF or nothing yet, never a report. */
        r = exec_read_error(c.error_fd, &e);
        ASSERT_TRUE(r == 0 || r == -EAGAIN);

        p = (struct pollfd) { .fd = c.pidfd, .events = POLLIN };
        ASSERT_EQ(poll(&p, 1, TIMEOUT_MS), 1);
        si = wait_child(&c);
        ASSERT_EQ(si.si_code, CLD_EXITED);
        ASSERT_EQ(si.si_status, 0);
        ASSERT_EQ(exec_read_error(c.error_fd, &e), 0);
        ASSERT_EQ(pidfd_kill(c.pidfd, 0), -ESRCH);
        child_done(&c);
}

TEST(missing_executable) {
        char *argv[] = { (char *) "nope", NULL };
        ExecRequest req = request("/no/such", argv, NULL);
        ExecError e = { .stage = EXEC_STAGE_EXEC, .error = ENOENT };
        _cleanup_free_ char *s = run_fail(&req, EXEC_STAGE_EXEC, ENOENT);
        _cleanup_free_ char *s2 = exec_error_to_string(&e, "/no/such");

        ASSERT_STREQ(s, "Failed to execute '/no/such': No such file or directory");
        ASSERT_STREQ(s2, s);
}

TEST(path_lookup) {
        char *argv[] = { (char *) "sh", (char *) "-c", (char *) "echo hello; exit 3", NULL };
        char *no_path_env[] = { (char *) "X=1", NULL };
        ExecRequest req = request("sh", argv, NULL);
        int status, verdict;
        _cleanup_free_ char *out = run(&req, &status, &verdict, NULL);
        _cleanup_free_ char *out2 = NULL, *msg = NULL;

        ASSERT_EQ(verdict, 0);
        ASSERT_EQ(status, 3);
        ASSERT_STREQ(out, "hello\n");

        /* No PATH in the environment: the default one. */
        req.envp = no_path_env;
        out2 = run(&req, &status, &verdict, NULL);
        ASSERT_EQ(verdict, 0);
        ASSERT_EQ(status, 3);

        req.path = "no-such-program-pmd";
        req.envp = test_env;
        msg = run_fail(&req, EXEC_STAGE_EXEC, ENOENT);
        ASSERT_STREQ(msg, "Failed to execute 'no-such-program-pmd': No such file or directory");
}

TEST(path_lookup_not_executable) {
        char dir[] = "/tmp/test-exec-XXXXXX", file[64], path_env[80];
        char *argv[] = { (char *) "notexec", NULL };
        char *env[] = { path_env, NULL };
        ExecRequest req = request("notexec", argv, NULL);
        _cleanup_free_ char *msg = NULL;
        int fd;

        ASSERT_TRUE(mkdtemp(dir));
        snprintf(file, sizeof(file), "%s/notexec", dir);
        snprintf(path_env, sizeof(path_env), "PATH=%s:/usr/bin:/bin", dir);
        fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(write(fd, "#!/bin/sh\n", 10), 10);
        safe_close(fd);

        req.envp = env;
        msg = run_fail(&req, EXEC_STAGE_EXEC, EACCES);
        ASSERT_TRUE(strstr(msg, "Permission denied"));

        ASSERT_OK(unlink(file));
        ASSERT_OK(rmdir(dir));
}

TEST(unknown_user) {
        char *argv[] = { (char *) "true", NULL };
        JobConfig c = config_default();
        ExecRequest req = request("/bin/true", argv, &c);
        _cleanup_free_ char *msg = NULL, *msg2 = NULL;

        c.user = (char *) "nobodyx";
        msg = run_fail(&req, EXEC_STAGE_USER, ESRCH);
        ASSERT_STREQ(msg, "Failed to look up user 'nobodyx': No such user");

        /* '+': User= ignored. */
        req.full_privileges = true;
        free(run_ok(&req));

        req.full_privileges = false;
        c.user = NULL;
        c.group = (char *) "nogroupx";
        msg2 = run_fail(&req, EXEC_STAGE_GROUP, ESRCH);
        ASSERT_STREQ(msg2, "Failed to look up group 'nogroupx': No such group");
}

TEST(working_directory) {
        char *argv[] = { (char *) "pwd", NULL };
        JobConfig c = config_default();
        ExecRequest req = request("pwd", argv, &c);
        _cleanup_free_ char *msg = NULL, *out = NULL, *out2 = NULL;
        char cwd[4096];

        c.working_directory = (char *) "/nonexistent-pmd-dir";
        msg = run_fail(&req, EXEC_STAGE_CHDIR, ENOENT);
        ASSERT_STREQ(msg, "Failed to change to working directory '/nonexistent-pmd-dir': No such file or directory");

        /* '-': ignored, the child stays in our directory. */
        c.working_directory_optional = true;
        out = run_ok(&req);
        ASSERT_TRUE(getcwd(cwd, sizeof(cwd) - 1));
        strcat(cwd, "\n");
        ASSERT_STREQ(out, cwd);

        c.working_directory = (char *) "/tmp";
        c.working_directory_optional = false;
        out2 = run_ok(&req);
        ASSERT_STREQ(out2, "/tmp\n");
}

TEST(user_nobody) {
        char *argv[] = { (char *) "sh", (char *) "-c", (char *) "id -u; id -g; id -G; echo \"$HOME $USER $LOGNAME\"; pwd",
                         NULL };
        JobConfig c = config_default();
        ExecRequest req = request("sh", argv, &c);
        _cleanup_free_ char *out = NULL, *expected = NULL;
        struct passwd *pw;

        if (geteuid() != 0) {
                _cleanup_free_ char *own = NULL, *exp_own = NULL;
                char *argv_id[] = { (char *) "id", (char *) "-u", NULL };
                char uid[16];

                /* Unprivileged, User= naming ourselves works: nothing to change. */
                snprintf(uid, sizeof(uid), "%u", (unsigned) getuid());
                c.user = uid;
                req.argv = argv_id;
                req.path = "id";
                own = run_ok(&req);
                ASSERT_TRUE(asprintf(&exp_own, "%s\n", uid) > 0);
                ASSERT_STREQ(own, exp_own);
                fprintf(stderr, "    not root: skipping User=nobody\n");
                return;
        }
        pw = getpwnam("nobody");
        if (!pw) {
                fprintf(stderr, "    no user nobody: skipping\n");
                return;
        }

        c.user = (char *) "nobody";
        out = run_ok(&req);
        /* nobody's home /nonexistent does not exist: the working directory falls back to "/". */
        ASSERT_TRUE(asprintf(&expected, "%u\n%u\n%u\n%s nobody nobody\n%s\n", (unsigned) pw->pw_uid,
                             (unsigned) pw->pw_gid, (unsigned) pw->pw_gid, pw->pw_dir,
                             access(pw->pw_dir, F_OK) == 0 ? pw->pw_dir : "/") > 0);
        ASSERT_STREQ(out, expected);

        /* Numeric User= and a supplementary group. */
        {
                _cleanup_free_ char *out2 = NULL, *exp2 = NULL;
                char *supp[] = { (char *) "0", NULL };
                char *argv2[] = { (char *) "sh", (char *) "-c", (char *) "id -u; id -G", NULL };

                c.user = (char *) "65534";
                c.supplementary_groups = supp;
                req.argv = argv2;
                out2 = run_ok(&req);
                ASSERT_TRUE(asprintf(&exp2, "%u\n%u 0\n", (unsigned) pw->pw_uid, (unsigned) pw->pw_gid) > 0);
                ASSERT_STREQ(out2, exp2);
        }
}

TEST(umask) {
        char *argv[] = { (char *) "sh", (char *) "-c", (char *) "umask", NULL };
        JobConfig c = config_default();
        ExecRequest req = request("sh", argv, &c);
        _cleanup_free_ char *out = NULL;

        c.umask = 0027;
        out = run_ok(&req);
        ASSERT_STREQ(out, "0027\n");
}

TEST(rlimits) {
        char *argv[] = { (char *) "sh", (char *) "-c", (char *) "ulimit -n; ulimit -Hn", NULL };
        JobConfig c = config_default();
        ExecRequest req = request("sh", argv, &c);
        _cleanup_free_ char *out = NULL, *out2 = NULL;
        _cleanup_strv_free_ char **warnings = NULL;
        struct rlimit before, after;
        unsigned long long soft, hard, nr_open = 0;
        FILE *f;

        ASSERT_OK(getrlimit(RLIMIT_NOFILE, &before));

        c.rlimits[RLIMIT_NOFILE] = (RlimitSetting) { .set = true, .rlim = { 1000, 1000 } };
        ASSERT_EQ(exec_check_rlimits(&c, &warnings), 0);
        ASSERT_TRUE(!warnings);
        out = run_ok(&req);
        ASSERT_STREQ(out, "1000\n1000\n");

        /* Above what can be granted: capped (to fs.nr_open when privileged, else to our hard
         * limit), and the parent-side check says so. */
        c.rlimits[RLIMIT_NOFILE] = (RlimitSetting) { .set = true, .rlim = { RLIM_INFINITY, RLIM_INFINITY } };
        ASSERT_EQ(exec_check_rlimits(&c, &warnings), 1);
        fprintf(stderr, "    %s\n", warnings[0]);
        ASSERT_TRUE(strneq(warnings[0], "LimitNOFILE=infinity exceeds what pmd can grant, capped to ", 59));

        /* The probe leaves our own limits as they were. */
        ASSERT_OK(getrlimit(RLIMIT_NOFILE, &after));
        ASSERT_EQ(after.rlim_cur, before.rlim_cur);
        ASSERT_EQ(after.rlim_max, before.rlim_max);

        out2 = run_ok(&req);
        ASSERT_EQ(sscanf(out2, "%llu\n%llu", &soft, &hard), 2);
        ASSERT_EQ(soft, hard);
        f = fopen("/proc/sys/fs/nr_open", "re");
        if (f) {
                ASSERT_EQ(fscanf(f, "%llu", &nr_open), 1);
                fclose(f);
        }
        ASSERT_TRUE(hard == nr_open || hard == (unsigned long long) before.rlim_max);
}

/* Fields 1 (pid), 5 (pgrp) and 6 (session) of a /proc/PID/stat line. */
static void parse_stat(const char *s, long *pid, long *pgrp, long *sid) {
        const char *p = strrchr(s, ')');
        char state;
        long ppid;

        ASSERT_EQ(sscanf(s, "%ld", pid), 1);
        ASSERT_TRUE(p);
        ASSERT_EQ(sscanf(p + 1, " %c %ld %ld %ld", &state, &ppid, pgrp, sid), 4);
}

TEST(new_session) {
        char *argv[] = { (char *) "cat", (char *) "/proc/self/stat", NULL };
        ExecRequest req = request("cat", argv, NULL);
        _cleanup_free_ char *out = NULL;
        long pid, pgrp, sid;

        out = run_ok(&req);
        parse_stat(out, &pid, &pgrp, &sid);
        ASSERT_EQ(sid, pid);
        ASSERT_EQ(pgrp, pid);
        ASSERT_TRUE(sid != getsid(0));
}

TEST(join_process_group) {
        char *argv[] = { (char *) "cat", (char *) "/proc/self/stat", NULL };
        ExecRequest req = request("cat", argv, NULL);
        _cleanup_free_ char *out = NULL, *msg = NULL;
        long pid, pgrp, sid;
        int status;
        pid_t leader;

        /* A group leader in our session (the kernel lets a process join only those). */
        leader = fork();
        ASSERT_TRUE(leader >= 0);
        if (leader == 0) {
                (void) setpgid(0, 0);
                pause();
                _exit(0);
        }
        (void) setpgid(leader, leader);

        req.pgid = leader;
        out = run_ok(&req);
        parse_stat(out, &pid, &pgrp, &sid);
        ASSERT_EQ(pgrp, leader);
        ASSERT_EQ(sid, getsid(0));

        ASSERT_OK(kill(leader, SIGKILL));
        ASSERT_EQ(waitpid(leader, &status, 0), leader);

        /* The group is gone now: EPERM/ESRCH at stage process-group. */
        msg = run_fail(&req, EXEC_STAGE_PROCESS_GROUP, 0);
        ASSERT_TRUE(strneq(msg, "Failed to set up the session or process group: ", 47));
}

TEST(environment) {
        char *argv[] = { (char *) "sh", (char *) "-c", (char *) "echo \"$FOO|$HOME\"", NULL };
        ExecRequest req = request("sh", argv, NULL);
        _cleanup_free_ char *out = NULL;

        out = run_ok(&req);
        ASSERT_STREQ(out, "bar baz|\n");
}

TEST(signals_reset) {
        char *argv[] = { (char *) "cat", (char *) "/proc/self/status", NULL };
        ExecRequest req = request("cat", argv, NULL);
        _cleanup_free_ char *out = NULL;
        sigset_t block, old;
        struct sigaction ign = { .sa_handler = SIG_IGN }, old_pipe, old_usr2;
        const char *p;

        /* As pmd: signals blocked for signalfd, SIGPIPE ignored. */
        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        sigaddset(&block, SIGCHLD);
        sigaddset(&block, SIGHUP);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGRTMIN + 3);
        ASSERT_OK(sigprocmask(SIG_BLOCK, &block, &old));
        ASSERT_OK(sigaction(SIGPIPE, &ign, &old_pipe));
        ASSERT_OK(sigaction(SIGUSR2, &ign, &old_usr2));

        out = run_ok(&req);

        ASSERT_OK(sigprocmask(SIG_SETMASK, &old, NULL));
        ASSERT_OK(sigaction(SIGPIPE, &old_pipe, NULL));
        ASSERT_OK(sigaction(SIGUSR2, &old_usr2, NULL));

        p = strstr(out, "\nSigBlk:\t");
        ASSERT_TRUE(p);
        ASSERT_TRUE(strneq(p + 9, "0000000000000000\n", 17));
        p = strstr(out, "\nSigIgn:\t");
        ASSERT_TRUE(p);
        ASSERT_TRUE(strneq(p + 9, "0000000000000000\n", 17));
}

TEST(fds_closed) {
        char *argv[] = { (char *) "ls", (char *) "/proc/self/fd", NULL };
        ExecRequest req = request("ls", argv, NULL);
        _cleanup_free_ char *out = NULL;
        int leak, leak2, fd;

        /* fds pmd might leak: one without CLOEXEC, one high. */
        fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        leak = fcntl(fd, F_DUPFD, 20);
        leak2 = fcntl(fd, F_DUPFD, 1000);
        ASSERT_TRUE(leak >= 20 && leak2 >= 1000);

        out = run_ok(&req);
        /* 0, 1, 2 and the directory ls reads (3). */
        ASSERT_STREQ(out, "0\n1\n2\n3\n");

        safe_close(fd);
        safe_close(leak);
        safe_close(leak2);
}

TEST(stdio_fds) {
        /* stdin from a pipe; stderr given separately; the fds passed are at odd numbers. */
        char *argv[] = { (char *) "sh", (char *) "-c", (char *) "read x; echo \"out:$x\"; echo \"err:$x\" >&2", NULL };
        ExecRequest req = request("sh", argv, NULL);
        int in[2], err[2], status, verdict;
        _cleanup_free_ char *out = NULL, *errs = NULL;

        ASSERT_OK(pipe2(in, O_CLOEXEC));
        ASSERT_OK(pipe2(err, O_CLOEXEC));
        ASSERT_EQ(write(in[1], "hi\n", 3), 3);
        safe_close(in[1]);
        req.stdin_fd = in[0];
        req.stderr_fd = err[1];

        out = run(&req, &status, &verdict, NULL);
        safe_close(in[0]);
        safe_close(err[1]);
        errs = read_all(err[0]);
        safe_close(err[0]);

        ASSERT_EQ(verdict, 0);
        ASSERT_EQ(status, 0);
        ASSERT_STREQ(out, "out:hi\n");
        ASSERT_STREQ(errs, "err:hi\n");
}

TEST(strings) {
        ExecError e = { .stage = EXEC_STAGE_GROUP, .error = ESRCH, .arg = 2 };
        char *supp[] = { (char *) "a", (char *) "bgrp", NULL };
        JobConfig c = config_default();
        _cleanup_free_ char *s = NULL, *s2 = NULL;

        ASSERT_STREQ(exec_stage_to_string(EXEC_STAGE_EXEC), "exec");
        ASSERT_STREQ(exec_stage_to_string(EXEC_STAGE_CHDIR), "chdir");
        ASSERT_STREQ(exec_stage_to_string(EXEC_STAGE_USER), "user");
        ASSERT_TRUE(!exec_stage_to_string(_EXEC_STAGE_MAX));
        ASSERT_STREQ(rlimit_to_string(RLIMIT_NOFILE), "LimitNOFILE");

        c.supplementary_groups = supp;
        s = exec_error_format(&e, "/bin/x", &c);
        ASSERT_STREQ(s, "Failed to look up supplementary group 'bgrp': No such group");

        e = (ExecError) { .stage = EXEC_STAGE_RLIMITS, .error = EPERM, .arg = RLIMIT_CORE };
        s2 = exec_error_to_string(&e, "/bin/x");
        ASSERT_STREQ(s2, "Failed to set LimitCORE: Operation not permitted");
}

TEST(many_children) {
        char *argv[] = { (char *) "true", NULL };
        ExecRequest req = request("/bin/true", argv, NULL);
        struct timespec t0, t1;
        ExecChild c[100];
        long ms;

        /* Spawns share our memory until the exec: a thousand in a row (in rounds of 100, two fds
         * each, within a soft RLIMIT_NOFILE of 1024), each child reaped with exit 0 and its pipe
         * closed without a report; nothing in between may leak or mix them up. */
        ASSERT_OK(clock_gettime(CLOCK_MONOTONIC, &t0));
        for (int round = 0; round < 10; round++) {
                for (size_t i = 0; i < ELEMENTSOF(c); i++)
                        ASSERT_OK(exec_spawn(&req, &c[i]));
                for (size_t i = 0; i < ELEMENTSOF(c); i++) {
                        siginfo_t si = wait_child(&c[i]);
                        ExecError e;

                        ASSERT_EQ(si.si_code, CLD_EXITED);
                        ASSERT_EQ(si.si_status, 0);
                        ASSERT_EQ(exec_read_error(c[i].error_fd, &e), 0);
                        child_done(&c[i]);
                }
        }
        ASSERT_OK(clock_gettime(CLOCK_MONOTONIC, &t1));
        ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        fprintf(stderr, "    1000 spawns of /bin/true, run to their end, in %ld ms\n", ms);
        /* Generous, for loaded CI machines (and ASan): it catches a spawn that blocks. */
        ASSERT_TRUE(ms < 20000);
}

/* "Groups:" of /proc/self/status as a sorted, space-separated list. */
static int gid_cmp(const void *a, const void *b) {
        gid_t x = *(const gid_t *) a, y = *(const gid_t *) b;
        return x < y ? -1 : x > y;
}

static char *format_groups(gid_t *l, size_t n) {
        char *s = calloc(n + 1, 12), *p;

        ASSERT_TRUE(s);
        qsort(l, n, sizeof(gid_t), gid_cmp);
        p = s;
        for (size_t i = 0; i < n; i++)
                if (i == 0 || l[i] != l[i - 1])
                        p += sprintf(p, "%s%u", p == s ? "" : " ", (unsigned) l[i]);
        return s;
}

static char *groups_line(const char *status) {
        gid_t l[256];
        size_t n = 0;
        const char *p = strstr(status, "\nGroups:");
        char *end;

        ASSERT_TRUE(p);
        p += 8;
        for (;;) {
                unsigned long v = strtoul(p, &end, 10);
                if (end == p)
                        break;
                ASSERT_TRUE(n < ELEMENTSOF(l));
                l[n++] = (gid_t) v;
                p = end;
        }
        return format_groups(l, n);
}

TEST(user_supplementary_groups) {
        char *argv[] = { (char *) "cat", (char *) "/proc/self/status", NULL };
        JobConfig c = config_default();
        ExecRequest req = request("cat", argv, &c);
        _cleanup_free_ char *out = NULL, *got = NULL, *want = NULL, *name = NULL;
        gid_t list[256], own_extra[] = { 0, 4242 }, saved[256];
        int n = ELEMENTSOF(list), n_saved, best = 0;
        struct passwd *pw;

        if (geteuid() != 0) {
                fprintf(stderr, "    not root: skipping\n");
                return;
        }

        /* A user with the most supplementary groups in the group database (postgres is in
         * ssl-cert on Debian), else nobody. */
        setpwent();
        while ((pw = getpwent())) {
                int k = ELEMENTSOF(list);

                if (getgrouplist(pw->pw_name, pw->pw_gid, list, &k) >= 0 && k > best) {
                        best = k;
                        free(name);
                        name = strdup(pw->pw_name);
                        ASSERT_TRUE(name);
                }
        }
        endpwent();
        if (!name || best <= 1) {
                free(name);
                name = strdup("nobody");
        }
        pw = getpwnam(name);
        if (!pw) {
                fprintf(stderr, "    no user to test with: skipping\n");
                return;
        }
        ASSERT_TRUE(getgrouplist(name, pw->pw_gid, list, &n) >= 0);
        want = format_groups(list, (size_t) n);
        fprintf(stderr, "    User=%s: groups %s\n", name, want);

        /* Groups of our own that the child must not keep. */
        n_saved = getgroups(ELEMENTSOF(saved), saved);
        ASSERT_TRUE(n_saved >= 0);
        ASSERT_OK(setgroups(ELEMENTSOF(own_extra), own_extra));

        c.user = name;
        out = run_ok(&req);
        ASSERT_OK(setgroups((size_t) n_saved, saved));

        got = groups_line(out);
        ASSERT_STREQ(got, want);
}

static int wait_populated(int fd, int want) {
        for (int i = 0; i < 500; i++) {
                int r = cgroup_job_populated(fd);
                if (r < 0 || r == want)
                        return r;
                usleep(10000);
        }
        return -ETIMEDOUT;
}

TEST(cgroup) {
        _cleanup_(cgroup_root_freep) CGroupRoot *root = NULL;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ pid_t *pids = NULL;
        char *argv[] = { (char *) "sleep", (char *) "100", NULL };
        char *argv2[] = { (char *) "sh", (char *) "-c", (char *) "sleep 100 & sleep 100", NULL };
        char name[64];
        ExecRequest req = request("sleep", argv, NULL);
        ExecChild c;
        ExecError e;
        siginfo_t si;
        size_t n;
        uint64_t usec, mem;
        int r;

        r = cgroup_root_open("test-exec", &root);
        if (r < 0) {
                fprintf(stderr, "    cgroup v2 not usable here (%s): skipping\n", strerror(-r));
                return;
        }
        fprintf(stderr, "    job groups in %s\n", cgroup_root_path(root));

        snprintf(name, sizeof(name), "test-exec-%ld", (long) getpid());
        ASSERT_EQ(cgroup_job_open(root, "a/b", &fd), -EINVAL);
        ASSERT_OK(cgroup_job_open(root, name, &fd));
        ASSERT_EQ(cgroup_job_populated(fd), 0);

        req.cgroup_fd = fd;
        ASSERT_OK(exec_spawn(&req, &c));
        ASSERT_EQ(wait_populated(fd, 1), 1);
        ASSERT_OK(cgroup_job_pids(fd, &pids, &n));
        ASSERT_EQ(n, 1);
        ASSERT_EQ(pids[0], c.pid);
        ASSERT_OK(cgroup_job_cpu_usec(fd, &usec));
        r = cgroup_job_memory(fd, &mem);
        ASSERT_TRUE(r == 0 || r == -ENODATA);
        ASSERT_EQ(cgroup_job_remove(root, name), -EBUSY);

        ASSERT_OK(cgroup_job_kill(fd, SIGKILL));
        si = wait_child(&c);
        ASSERT_EQ(si.si_code, CLD_KILLED);
        ASSERT_EQ(si.si_status, SIGKILL);
        ASSERT_EQ(exec_read_error(c.error_fd, &e), 0);
        child_done(&c);
        ASSERT_EQ(wait_populated(fd, 0), 0);

        /* A descendant that is not our child: reached by the group, with SIGTERM (the cgroup.procs
         * path). Its shell is our child; the background sleep is reaped by nobody here, as it is
         * reparented to init (or a subreaper) once the shell dies. */
        req.path = "sh";
        req.argv = argv2;
        ASSERT_OK(exec_spawn(&req, &c));
        for (int i = 0; i < 500; i++) {
                free(pids);
                pids = NULL;
                ASSERT_OK(cgroup_job_pids(fd, &pids, &n));
                if (n >= 2)
                        break;
                usleep(10000);
        }
        /* The shell (or the last sleep it exec'd into) and the background sleep, maybe both. */
        ASSERT_TRUE(n >= 2);
        ASSERT_OK(cgroup_job_kill(fd, SIGTERM));
        si = wait_child(&c);
        ASSERT_EQ(si.si_code, CLD_KILLED);
        ASSERT_EQ(si.si_status, SIGTERM);
        child_done(&c);
        ASSERT_EQ(wait_populated(fd, 0), 0);

        /* Empty: it goes (the kernel may take a moment to drop exited tasks). */
        for (int i = 0; i < 100; i++) {
                r = cgroup_job_remove(root, name);
                if (r != -EBUSY)
                        break;
                usleep(10000);
        }
        ASSERT_OK(r);
        ASSERT_OK(cgroup_job_remove(root, name));
}

int main(void) {
        RUN(true_eof);
        RUN(missing_executable);
        RUN(path_lookup);
        RUN(path_lookup_not_executable);
        RUN(unknown_user);
        RUN(working_directory);
        RUN(user_nobody);
        RUN(umask);
        RUN(rlimits);
        RUN(new_session);
        RUN(join_process_group);
        RUN(environment);
        RUN(signals_reset);
        RUN(fds_closed);
        RUN(stdio_fds);
        RUN(strings);
        RUN(many_children);
        RUN(user_supplementary_groups);
        RUN(cgroup);
        return 0;
}
