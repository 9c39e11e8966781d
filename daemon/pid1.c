/* What pmd does because it is PID 1, outside the event loop. A PID 1 has two homes that want
 * opposite things: in a container, the runtime already mounted everything and pmd's exit ends the
 * container (so pmd exits, with main's status in the entrypoint form); as the init of a VM
 * (--boot), nothing is mounted yet and an exit panics the kernel (so pmd mounts the API file
 * systems itself and ends with reboot(2), never with exit). pid1_in_container() tells the two
 * apart once, before anything is mounted.
 *
 * This file does not log (STYLE: only the faces and main.c do): the set-up reports each step to
 * a callback, and the end of the system is announced by main.c before pid1_finish() runs. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pid1.h"
#include "util/strv.h"

/* The inode of the kernel's first PID namespace (PROC_PID_INIT_INO), fixed since Linux 3.8. */
#define PID_NS_INIT_INO 0xEFFFFFFCU

static const char *const pid1_action_table[_PID1_ACTION_MAX] = {
        [PID1_EXIT] = "exit",
        [PID1_HALT] = "halt",
        [PID1_POWEROFF] = "poweroff",
        [PID1_REBOOT] = "reboot",
};
DEFINE_STRING_TABLE_LOOKUP(pid1_action, Pid1Action);

bool pid1_is_pid1(void) {
        return getpid() == 1;
}

static bool detect_container(void) {
        const char *e = getenv("container");
        struct stat st;

        if (e && *e)
                return true;
        if (access("/.dockerenv", F_OK) >= 0 || access("/run/.containerenv", F_OK) >= 0)
                return true;
        /* Without /proc we are a kernel's init: no container manager starts one without it. */
        if (stat("/proc/self/ns/pid", &st) < 0)
                return false;
        return st.st_ino != PID_NS_INIT_INO;
}

bool pid1_in_container(void) {
        /* Cached: after --boot mounted /proc the answer must not change. */
        static int cached = -1;
        if (cached < 0)
                cached = detect_container();
        return cached;
}

bool pid1_console_default(void) {
        return pid1_is_pid1() && pid1_in_container();
}

/* ---- --boot set-up ---- */

typedef struct ApiMount {
        const char *what, *where, *type, *options;
        unsigned long flags;
        mode_t mode;
} ApiMount;

static const ApiMount api_mounts[] = {
        { "proc", "/proc", "proc", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC, 0555 },
        { "sysfs", "/sys", "sysfs", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC, 0555 },
        { "devtmpfs", "/dev", "devtmpfs", "mode=0755", MS_NOSUID, 0755 },
        { "devpts", "/dev/pts", "devpts", "mode=0620,ptmxmode=0666", MS_NOSUID | MS_NOEXEC, 0755 },
        { "tmpfs", "/dev/shm", "tmpfs", "mode=1777", MS_NOSUID | MS_NODEV, 01777 },
        { "tmpfs", "/run", "tmpfs", "mode=0755", MS_NOSUID | MS_NODEV, 0755 },
};

/* A mount point has another device than its parent. Good enough here: pmd runs before anything
 * could have bind-mounted a directory onto its own file system. */
static int is_mount_point(const char *path) {
        _cleanup_free_ char *parent = strdup(path);
        struct stat a, b;
        char *slash;

        if (!parent)
                return -ENOMEM;
        slash = strrchr(parent, '/');
        if (slash == parent)
                slash[1] = 0;
        else
                *slash = 0;
        if (stat(path, &a) < 0)
                return -errno;
        if (stat(parent, &b) < 0)
                return -errno;
        return a.st_dev != b.st_dev;
}

static int mount_api(const ApiMount *m) {
        int r;

        if (mkdir(m->where, m->mode) < 0 && errno != EEXIST)
                return -errno;
        r = is_mount_point(m->where);
        if (r != 0)
                return r; /* mounted already: nothing to do (1), or an error */
        if (mount(m->what, m->where, m->type, m->flags, m->options) < 0)
                return -errno;
        return 0;
}

static int set_hostname(void) {
        _cleanup_fclose_ FILE *f = fopen("/etc/hostname", "re");
        char buf[256];
        size_t n;

        if (!f)
                return errno == ENOENT ? 1 : -errno;
        if (!fgets(buf, sizeof(buf), f))
                return 1;
        n = strcspn(buf, " \t\r\n#");
        buf[n] = 0;
        if (n == 0)
                return 1;
        if (sethostname(buf, n) < 0)
                return -errno;
        return 0;
}

static int loopback_up(void) {
        _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr = {};

        if (fd < 0)
                return -errno;
        strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                return -errno;
        if (ifr.ifr_flags & IFF_UP)
                return 1;
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                return -errno;
        return 0;
}

int pid1_boot_setup(Pid1Report report, void *userdata) {
        int r, first = 0;

        for (size_t i = 0; i < ELEMENTSOF(api_mounts); i++) {
                r = mount_api(&api_mounts[i]);
                if (report)
                        report(api_mounts[i].where, r, userdata);
                if (r < 0 && first == 0)
                        first = r;
        }
        r = set_hostname();
        if (report)
                report("hostname", r, userdata);
        if (r < 0 && first == 0)
                first = r;
        r = loopback_up();
        if (report)
                report("loopback", r, userdata);
        if (r < 0 && first == 0)
                first = r;
        /* Ctrl-Alt-Del becomes SIGINT to us (a reboot request) instead of an immediate reboot. */
        (void) reboot(RB_DISABLE_CAD);
        return first;
}

/* ---- the end ---- */

static void reap_all(void) {
        while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
}

/* SIGTERM to everything, up to timeout_ms for it to go, then SIGKILL. Blocking is what PID 1
 * must do here: the loop is over. */
static void kill_all(unsigned timeout_ms) {
        struct timespec tick = { .tv_nsec = 10 * 1000 * 1000 };

        if (kill(-1, SIGTERM) < 0 && errno == ESRCH)
                return;
        (void) kill(-1, SIGCONT);
        for (unsigned waited = 0; waited < timeout_ms; waited += 10) {
                reap_all();
                if (kill(-1, 0) < 0 && errno == ESRCH)
                        return;
                (void) nanosleep(&tick, NULL);
        }
        (void) kill(-1, SIGKILL);
        for (unsigned waited = 0; waited < 1000; waited += 10) {
                reap_all();
                if (waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD)
                        return;
                (void) nanosleep(&tick, NULL);
        }
}

/* Unmount everything but the root, deepest first (mountinfo lists parents before children); what
 * stays busy is made read-only, so that nothing is left half-written. */
static void unmount_all(void) {
        _cleanup_strv_free_ char **points = NULL;
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        char line[4096];

        if (f) {
                while (fgets(line, sizeof(line), f)) {
                        char where[4096];
                        /* id parent major:minor root mount-point … */
                        if (sscanf(line, "%*d %*d %*s %*s %4095s", where) != 1)
                                continue;
                        if (streq(where, "/"))
                                continue;
                        if (strv_extend(&points, where) < 0)
                                break;
                }
                /* Closed now: an open file under /proc would keep it busy. */
                fclose(TAKE_PTR(f));
        }
        for (int pass = 0; pass < 2; pass++)
                for (size_t n = strv_length(points); n > 0; n--) {
                        const char *p = points[n - 1];
                        if (!p[0])
                                continue;
                        if (umount2(p, 0) >= 0 || errno == EINVAL || errno == ENOENT) {
                                points[n - 1][0] = 0;
                                continue;
                        }
                        if (pass == 1)
                                (void) mount(NULL, p, NULL, MS_REMOUNT | MS_RDONLY, NULL);
                }
        (void) mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL);
}

_noreturn_ static void freeze_forever(void) {
        for (;;) {
                reap_all();
                (void) pause();
        }
}

_noreturn_ void pid1_finish(Pid1Action action) {
        int cmd = action == PID1_REBOOT ? RB_AUTOBOOT : action == PID1_HALT ? RB_HALT_SYSTEM : RB_POWER_OFF;

        kill_all(3000);
        sync();
        unmount_all();
        sync();
        (void) reboot(cmd);
        /* Still here: not allowed to end the system, and not allowed to exit either. */
        freeze_forever();
}

int pid1_freeze(bool boot, int exit_status) {
        sigset_t mask;
        int sig;

        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        for (int i = 3; i <= 5; i++)
                sigaddset(&mask, SIGRTMIN + i);
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);

        for (;;) {
                reap_all();
                sig = sigwaitinfo(&mask, NULL);
                if (sig < 0 || sig == SIGCHLD)
                        continue;
                if (boot)
                        pid1_finish(sig == SIGRTMIN + 3 ? PID1_HALT :
                                    sig == SIGRTMIN + 5 || sig == SIGINT ? PID1_REBOOT : PID1_POWEROFF);
                kill_all(3000);
                return exit_status;
        }
}

/* ---- the entrypoint's job ---- */

int pid1_main_config(char *const *argv, JobConfig **ret) {
        _cleanup_(job_config_freep) JobConfig *c = NULL;
        ExecCommand *cmd;
        int r;

        if (!argv || !argv[0])
                return -EINVAL;
        r = job_config_new(PID1_MAIN_JOB, NULL, 0, &c);
        if (r < 0)
                return r;
        c->description = strdup("the entrypoint command");
        cmd = calloc(1, sizeof(ExecCommand));
        if (!c->description || !cmd)
                return -ENOMEM;
        c->exec_start.commands = cmd;
        c->exec_start.n = 1;
        cmd->path = strdup(argv[0]);
        cmd->argv = strv_copy(argv);
        if (!cmd->path || !cmd->argv)
                return -ENOMEM;
        /* The command line is the user's, word for word, as tini and docker pass it. */
        cmd->flags = EXEC_COMMAND_NO_ENV_EXPAND;
        c->type = SERVICE_SIMPLE;
        c->restart = RESTART_NO;
        /* main talks to the container's console itself; nothing to prefix. `docker run -i`
         * pipes into it, `docker run -it … bash` is interactive. */
        c->stdin_inherit = true;
        c->std_output.kind = OUTPUT_INHERIT;
        c->std_error.kind = OUTPUT_INHERIT;
        c->log_console = 0;
        c->auto_start = true;
        *ret = TAKE_PTR(c);
        return 0;
}

int pid1_main_exit_status(int exit_code, int exit_status, bool spawn_error) {
        if (spawn_error)
                return 127;
        if (exit_code == CLD_EXITED)
                return exit_status & 0xff;
        if (exit_code == CLD_KILLED || exit_code == CLD_DUMPED)
                return 128 + exit_status;
        return 0;
}
