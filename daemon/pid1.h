/* What pmd does because it is PID 1 (SPEC §6): telling a container from a VM, the --boot set-up
 * of the API file systems, the hostname and the loopback interface, the final halt, power-off or
 * reboot, the job "main" of the entrypoint form, and the last-resort loop that keeps PID 1 alive
 * when the manager cannot run. */
#pragma once

#include <stdbool.h>

#include "job-config.h"
#include "util/macro.h"

typedef enum Pid1Action {
        PID1_EXIT,     /* leave main() (a container, or pmd not PID 1) */
        PID1_HALT,
        PID1_POWEROFF,
        PID1_REBOOT,
        _PID1_ACTION_MAX,
        _PID1_ACTION_INVALID = -EINVAL,
} Pid1Action;

const char *pid1_action_to_string(Pid1Action a); /* "exit", "halt", "poweroff", "reboot" */
Pid1Action pid1_action_from_string(const char *s);

/* pmd is PID 1 of its PID namespace. */
bool pid1_is_pid1(void);
/* pmd runs in a container: $container set (podman, nspawn, LXC), /.dockerenv, /run/.containerenv,
 * or a PID namespace other than the kernel's first one. Probed once and cached; /proc not being
 * mounted at all counts as "not a container" (a container manager always mounts it, a kernel
 * starting init does not). */
bool pid1_in_container(void);
/* The default of [Log] Console= (job output copied to pmd's stdout prefixed "NAME | "): yes when
 * pmd is PID 1 in a container, so `docker logs` shows every job. */
bool pid1_console_default(void);

/* One step of the --boot set-up: what, and r (0 done, > 0 nothing to do, < 0 -errno). */
typedef void (*Pid1Report)(const char *what, int r, void *userdata);
/* Mount /proc, /sys, /dev (devtmpfs), /dev/pts, /run where nothing is mounted yet, set the
 * hostname from /etc/hostname and bring the loopback interface up. Every step is tried whatever
 * the others did and reported through report; returns the first error, or 0. */
int pid1_boot_setup(Pid1Report report, void *userdata);

/* The end of a --boot pmd, after every job stopped: SIGTERM then SIGKILL to every process left,
 * sync, unmount (read-only where busy) every file system, and reboot(2) with the action (PID1_EXIT
 * means power-off: PID 1 must not exit). Never returns: if reboot(2) fails, freezes. */
_noreturn_ void pid1_finish(Pid1Action action);

/* The last resort when the manager cannot run while pmd is PID 1: reap every child, until
 * SIGTERM/SIGINT/SIGRTMIN+3..5; then kill every process and, in a container, return exit_status
 * for main() to exit with; in --boot mode never return: sync and reboot(2) as pid1_finish(). */
int pid1_freeze(bool boot, int exit_status);

/* The job "main" of `pmd -- COMMAND ARGS`: Type=simple, Restart=no, output to pmd's own stdout
 * and stderr, argv taken literally (no $VAR or specifier expansion). */
#define PID1_MAIN_JOB "main"
int pid1_main_config(char *const *argv, JobConfig **ret);
/* What pmd exits with when main ended: its exit status, 128+N when killed by signal N, 127 when it
 * could not be started at all (as a shell does for a command it cannot run). */
int pid1_main_exit_status(int exit_code, int exit_status, bool spawn_error);
