/* Re-execution (SPEC §8 Reexecute): pmd writes its state to a memfd, keeps the fds that must
 * survive (pidfds, exec-error pipes, job cgroups, and whatever the other modules register), execs
 * its own binary with `--deserialize FD` and its original arguments, and the new image takes it
 * all back: no job is restarted, children are still its children, timers fire when they would
 * have.
 *
 * The format is text, one `key=value` per line (values C-escaped: `\\`, `\n`), grouped in
 * sections: `[manager]`, `[job NAME]` for each job, then one `[SECTION]` per registered hook.
 *
 * For a module that owns something that must survive (a socket, a pipe, a connection):
 *
 *   writing — register once at setup:
 *         serialize_register(m, "notify", notify_serialize, n);
 *     and in the hook:
 *         static int notify_serialize(Manager *m, Serializer *s, void *userdata) {
 *                 Notify *n = userdata;
 *                 return serialize_fd(s, "socket", n->fd);       // or serialize_item(s, "k", "v")
 *         }
 *
 *   reading — at setup, before making a new one, ask whether the old image left one:
 *         int fd;
 *         if (deserialize_take_fd(m, "notify", "socket", &fd) >= 0)
 *                 … use fd (O_CLOEXEC again, owned by the caller) instead of binding anew …
 *     (deserialize_get() for plain values, deserialize_foreach() for repeated keys; a key may be
 *     repeated, e.g. one "connection" per bus client, and each deserialize_take_fd() call takes
 *     the next one.) Every fd nobody took is closed at the first iteration of the loop. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "util/macro.h"

typedef struct Manager Manager;
typedef struct Serializer Serializer;
typedef struct Reexec Reexec;

/* ---- writing ---- */

int serialize_item(Serializer *s, const char *key, const char *value);
int serialize_item_format(Serializer *s, const char *key, const char *fmt, ...) _printf_(3, 4);
/* Keep fd across the exec (a duplicate without O_CLOEXEC) and write its number under key. A
 * negative fd writes nothing and returns 0. */
int serialize_fd(Serializer *s, const char *key, int fd);

typedef int (*SerializeHook)(Manager *m, Serializer *s, void *userdata);
/* Called at every re-exec, after the jobs, in the order registered; section is unique ("notify",
 * "http", "bus", "logpipe"). A hook that fails makes the re-exec fail: pmd stays as it is. */
int serialize_register(Manager *m, const char *section, SerializeHook hook, void *userdata);
/* Drop a registration (a module torn down before pmd ends). */
void serialize_unregister(Manager *m, const char *section);

/* ---- reading, in the new image ---- */

/* pmd was re-executed and has state to take back. */
bool deserialize_active(Manager *m);
/* The first value of key in section, or NULL. */
const char *deserialize_get(Manager *m, const char *section, const char *key);
/* The same, a decimal number: -ENOENT when there is none, -EINVAL when it is not one. */
int deserialize_get_u64(Manager *m, const char *section, const char *key, uint64_t *ret);
/* Each key=value of section in order; stops at cb's first negative return, which it returns. */
int deserialize_foreach(Manager *m, const char *section,
                        int (*cb)(const char *key, const char *value, void *userdata), void *userdata);
/* The next not-yet-taken fd stored under key: O_CLOEXEC again, owned by the caller. -ENOENT when
 * there is none (left), -EBADF when the value names no fd that crossed the exec. */
int deserialize_take_fd(Manager *m, const char *section, const char *key, int *ret_fd);

/* ---- for main.c and manager.c ---- */

/* main.c, before manager_startup(): read the state the old image left in fd (closed here). */
int deserialize_open(Manager *m, int fd);
/* manager.c, once the job files are loaded and before anything starts: give every job its state,
 * processes and timer back. A job whose file is gone gets SIGKILL to its processes (it cannot be
 * supervised without its definition); its name is appended to *ret_dropped. */
int deserialize_jobs(Manager *m, char ***ret_dropped);
/* manager.c (manager_reexecute): check that the exec can happen and schedule it after the current
 * loop iteration (so that the reply to whoever asked is sent first). */
int reexec_schedule(Manager *m, const char *actor);
/* Serialize and exec now. Returns only on failure (< 0); pmd is then as it was before. */
int reexec_now(Manager *m);

/* The manager's re-exec state (hooks, what the old image left); made by manager_new(). */
Reexec *reexec_new(void);
Reexec *reexec_free(Reexec *r);
