/* The job state machine (see job.h for the states and transitions). Handlers switch on the
 * state, change the job and append actions; job_set_state() is the only writer of the state and
 * drops what the new state lacks (its timer, its pids) by state-set membership. Time comes in as
 * a parameter. Restart policy and back-off are pure functions. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "job.h"
#include "util/macro.h"

static const char *const job_state_table[_JOB_STATE_MAX] = {
        [JOB_DEAD] = "dead",
        [JOB_START_PRE] = "start-pre",
        [JOB_START] = "start",
        [JOB_START_POST] = "start-post",
        [JOB_RUNNING] = "running",
        [JOB_RELOAD] = "reload",
        [JOB_STOP] = "stop",
        [JOB_STOP_SIGTERM] = "stop-sigterm",
        [JOB_STOP_SIGKILL] = "stop-sigkill",
        [JOB_AUTO_RESTART] = "auto-restart",
        [JOB_EXITED] = "exited",
        [JOB_FAILED] = "failed",
};
DEFINE_STRING_TABLE_LOOKUP(job_state, JobState);

static const char *const job_public_state_table[_JOB_PUBLIC_STATE_MAX] = {
        [JOB_PUBLIC_STOPPED] = "stopped",
        [JOB_PUBLIC_STARTING] = "starting",
        [JOB_PUBLIC_RUNNING] = "running",
        [JOB_PUBLIC_STOPPING] = "stopping",
        [JOB_PUBLIC_BACKOFF] = "backoff",
        [JOB_PUBLIC_EXITED] = "exited",
        [JOB_PUBLIC_FAILED] = "failed",
};
DEFINE_STRING_TABLE_LOOKUP(job_public_state, JobPublicState);

static const char *const job_result_table[_JOB_RESULT_MAX] = {
        [JOB_SUCCESS] = "success",
        [JOB_FAILURE_EXIT_CODE] = "exit-code",
        [JOB_FAILURE_SIGNAL] = "signal",
        [JOB_FAILURE_TIMEOUT] = "timeout",
        [JOB_FAILURE_WATCHDOG] = "watchdog",
        [JOB_FAILURE_START_LIMIT] = "start-limit",
        [JOB_FAILURE_SPAWN_ERROR] = "spawn-error",
        [JOB_FAILURE_DEPENDENCY] = "dependency",
        [JOB_FAILURE_CONFIG] = "config",
};
DEFINE_STRING_TABLE_LOOKUP(job_result, JobResult);

static const char *const job_command_table[_JOB_COMMAND_MAX] = {
        [JOB_COMMAND_START_PRE] = "ExecStartPre",
        [JOB_COMMAND_START] = "ExecStart",
        [JOB_COMMAND_START_POST] = "ExecStartPost",
        [JOB_COMMAND_RELOAD] = "ExecReload",
        [JOB_COMMAND_STOP] = "ExecStop",
};

const char *job_command_to_string(JobCommand c) {
        return c >= 0 && c < _JOB_COMMAND_MAX ? job_command_table[c] : NULL;
}

/* The one table from internal to public states. START of a oneshot job is "running" (SPEC §4:
 * for oneshot, running means its command is running); that is the only exception. */
static const JobPublicState public_state_table[_JOB_STATE_MAX] = {
        [JOB_DEAD] = JOB_PUBLIC_STOPPED,
        [JOB_START_PRE] = JOB_PUBLIC_STARTING,
        [JOB_START] = JOB_PUBLIC_STARTING,
        [JOB_START_POST] = JOB_PUBLIC_STARTING,
        [JOB_RUNNING] = JOB_PUBLIC_RUNNING,
        [JOB_RELOAD] = JOB_PUBLIC_RUNNING,
        [JOB_STOP] = JOB_PUBLIC_STOPPING,
        [JOB_STOP_SIGTERM] = JOB_PUBLIC_STOPPING,
        [JOB_STOP_SIGKILL] = JOB_PUBLIC_STOPPING,
        [JOB_AUTO_RESTART] = JOB_PUBLIC_BACKOFF,
        [JOB_EXITED] = JOB_PUBLIC_EXITED,
        [JOB_FAILED] = JOB_PUBLIC_FAILED,
};

JobPublicState job_public_state(const Job *j) {
        if (j->state == JOB_START && j->config->type == SERVICE_ONESHOT)
                return JOB_PUBLIC_RUNNING;
        return public_state_table[j->state];
}

/* State sets. */
#define STATE_BIT(s) (1u << (s))
static const unsigned states_with_timer = STATE_BIT(JOB_START_PRE) | STATE_BIT(JOB_START) |
        STATE_BIT(JOB_START_POST) | STATE_BIT(JOB_RELOAD) | STATE_BIT(JOB_STOP) |
        STATE_BIT(JOB_STOP_SIGTERM) | STATE_BIT(JOB_STOP_SIGKILL) | STATE_BIT(JOB_AUTO_RESTART) |
        STATE_BIT(JOB_RUNNING); /* RUNNING keeps the watchdog deadline */
static const unsigned states_with_main = STATE_BIT(JOB_START) | STATE_BIT(JOB_START_POST) |
        STATE_BIT(JOB_RUNNING) | STATE_BIT(JOB_RELOAD) | STATE_BIT(JOB_STOP) |
        STATE_BIT(JOB_STOP_SIGTERM) | STATE_BIT(JOB_STOP_SIGKILL);
static const unsigned states_with_control = STATE_BIT(JOB_START_PRE) | STATE_BIT(JOB_START_POST) |
        STATE_BIT(JOB_RELOAD) | STATE_BIT(JOB_STOP) | STATE_BIT(JOB_STOP_SIGTERM) |
        STATE_BIT(JOB_STOP_SIGKILL);
static const unsigned states_active = STATE_BIT(JOB_START_PRE) | STATE_BIT(JOB_START) |
        STATE_BIT(JOB_START_POST) | STATE_BIT(JOB_RUNNING) | STATE_BIT(JOB_RELOAD);
static const unsigned states_inactive = STATE_BIT(JOB_DEAD) | STATE_BIT(JOB_EXITED) |
        STATE_BIT(JOB_FAILED) | STATE_BIT(JOB_AUTO_RESTART);

static bool in_set(JobState s, unsigned set) {
        return (set & STATE_BIT(s)) != 0;
}

bool job_is_active(const Job *j) {
        return in_set(j->state, states_active);
}

bool job_is_inactive(const Job *j) {
        return in_set(j->state, states_inactive);
}

int job_new(const char *name, JobConfig *config, Job **ret) {
        Job *j;

        assert(name);
        assert(config);
        assert(ret);

        j = calloc(1, sizeof(Job));
        if (!j)
                return -ENOMEM;
        j->name = strdup(name);
        if (!j->name) {
                free(j);
                return -ENOMEM;
        }
        j->config = config;
        j->state = JOB_DEAD;
        j->target = JOB_TARGET_STOPPED;
        j->result = JOB_SUCCESS;
        j->timer_usec = USEC_INFINITY;
        *ret = j;
        return 0;
}

Job *job_free(Job *j) {
        if (!j)
                return NULL;
        job_order_clear(j);
        job_config_free(j->config);
        free(j->name);
        free(j);
        return NULL;
}

const ExecCommandList *job_command_list(const Job *j, JobCommand c) {
        switch (c) {
        case JOB_COMMAND_START_PRE:
                return &j->config->exec_start_pre;
        case JOB_COMMAND_START:
                return &j->config->exec_start;
        case JOB_COMMAND_START_POST:
                return &j->config->exec_start_post;
        case JOB_COMMAND_RELOAD:
                return &j->config->exec_reload;
        case JOB_COMMAND_STOP:
                return &j->config->exec_stop;
        default:
                assert_not_reached();
        }
}

bool job_shall_restart(const JobConfig *c, JobResult result) {
        switch (c->restart) {
        case RESTART_NO:
                return false;
        case RESTART_ALWAYS:
                return result != JOB_FAILURE_CONFIG && result != JOB_FAILURE_DEPENDENCY;
        case RESTART_ON_FAILURE:
                return result != JOB_SUCCESS && result != JOB_FAILURE_CONFIG &&
                        result != JOB_FAILURE_DEPENDENCY;
        default:
                assert_not_reached();
        }
}

/* RestartSec= doubled after each failed run, capped at RestartMaxDelaySec=. n_failures counts
 * the failed run that just ended (1 for the first). */
usec_t job_restart_delay(const JobConfig *c, unsigned n_failures) {
        usec_t d = c->restart_usec, cap = MAX(c->restart_max_delay_usec, c->restart_usec);

        for (unsigned i = 1; i < n_failures && d < cap; i++)
                d = d > cap / 2 ? cap : d * 2;
        return MIN(d, cap);
}

static void push(JobActions *a, JobAction act) {
        /* The handlers append at most a handful of actions per event; overflowing is a bug. */
        assert(a->n < JOB_ACTIONS_MAX);
        a->items[a->n++] = act;
}

static void push_timer(Job *j, JobActions *a, usec_t usec) {
        if (j->timer_usec == usec)
                return;
        j->timer_usec = usec;
        push(a, (JobAction) { .type = JOB_ACTION_TIMER, .usec = usec });
}

static usec_t add_saturating(usec_t now, usec_t d) {
        return d >= USEC_INFINITY - now ? USEC_INFINITY : now + d;
}

/* Timeouts: 0 and infinity mean no limit. */
static usec_t deadline(usec_t now, usec_t timeout) {
        if (timeout == USEC_INFINITY || timeout == 0)
                return USEC_INFINITY;
        return add_saturating(now, timeout);
}

static void set_result(Job *j, JobResult r) {
        /* First failure wins. */
        if (j->result == JOB_SUCCESS)
                j->result = r;
}

static void job_set_state(Job *j, JobState s, usec_t now, JobActions *a) {
        JobState old = j->state;

        if (old == JOB_RELOAD && s != JOB_RELOAD)
                j->reloads_ended++;
        j->state = s;
        if (!in_set(s, states_with_timer))
                push_timer(j, a, USEC_INFINITY);
        if (!in_set(s, states_with_main))
                j->main_pid = 0;
        if (!in_set(s, states_with_control))
                j->control_pid = 0;
        if (old != s || s == JOB_AUTO_RESTART) {
                j->state_changed = now;
                push(a, (JobAction) { .type = JOB_ACTION_STATE_CHANGED });
        }
}

static void spawn(Job *j, JobCommand c, size_t index, bool main, JobActions *a) {
        if (!main) {
                j->control_command = c;
        }
        j->command_index = index;
        push(a, (JobAction) { .type = JOB_ACTION_SPAWN, .command = c, .index = index, .main = main });
        if (main && c == JOB_COMMAND_START && index == 0)
                push(a, (JobAction) { .type = JOB_ACTION_RUN_BEGIN });
}

static void enter_stop_sigterm(Job *j, usec_t now, JobActions *a);
static void enter_run_end(Job *j, usec_t now, JobActions *a);
static void enter_running(Job *j, usec_t now, JobActions *a);
static void enter_start_post(Job *j, size_t index, usec_t now, JobActions *a);

static void enter_start_main(Job *j, usec_t now, JobActions *a) {
        ServiceType t = j->config->type;

        if (j->config->exec_start.n == 0) {
                /* A oneshot with nothing to run (ExecStop=/SuccessAction= only): done at once. */
                job_set_state(j, JOB_START, now, a);
                enter_start_post(j, 0, now, a);
                return;
        }

        /* Spawn first, then change state: the state change is persisted with the new pid. */
        spawn(j, JOB_COMMAND_START, 0, true, a);
        if (t == SERVICE_SIMPLE) {
                /* Up as soon as it is spawned; ExecStartPost= runs beside it. */
                j->run_started = now;
                enter_start_post(j, 0, now, a);
                return;
        }
        job_set_state(j, JOB_START, now, a);
        push_timer(j, a, deadline(now, j->config->timeout_start_usec));
}

static void enter_start_pre(Job *j, size_t index, usec_t now, JobActions *a) {
        if (index >= j->config->exec_start_pre.n) {
                enter_start_main(j, now, a);
                return;
        }
        spawn(j, JOB_COMMAND_START_PRE, index, false, a);
        if (j->state != JOB_START_PRE) {
                job_set_state(j, JOB_START_PRE, now, a);
                push_timer(j, a, deadline(now, j->config->timeout_start_usec));
        }
}

static void enter_start_post(Job *j, size_t index, usec_t now, JobActions *a) {
        if (index >= j->config->exec_start_post.n) {
                if (j->config->type == SERVICE_ONESHOT) {
                        job_set_state(j, JOB_EXITED, now, a);
                        push(a, (JobAction) { .type = JOB_ACTION_RUN_END });
                        j->n_failures = 0;
                } else
                        enter_running(j, now, a);
                return;
        }
        spawn(j, JOB_COMMAND_START_POST, index, false, a);
        if (j->state != JOB_START_POST) {
                job_set_state(j, JOB_START_POST, now, a);
                push_timer(j, a, deadline(now, j->config->timeout_start_usec));
        }
}

usec_t job_watchdog_usec(const Job *j) {
        return j->watchdog_override_usec > 0 ? j->watchdog_override_usec : j->config->watchdog_usec;
}

/* The watchdog deadline from now, or none. */
static usec_t watchdog_deadline(const Job *j, usec_t now) {
        usec_t w = job_watchdog_usec(j);
        return w > 0 ? add_saturating(now, w) : USEC_INFINITY;
}

static void enter_running(Job *j, usec_t now, JobActions *a) {
        job_set_state(j, JOB_RUNNING, now, a);
        j->run_started = now;
        push_timer(j, a, watchdog_deadline(j, now));
}

void job_reset_counters(Job *j) {
        j->n_failures = 0;
        j->restart_count = 0;
}

static void begin_start(Job *j, usec_t now, JobActions *a) {
        j->result = JOB_SUCCESS;
        j->exit_code = 0;
        j->exit_status = 0;
        j->restart_requested = false;
        j->watchdog_override_usec = 0; /* WATCHDOG_USEC= holds for the run that sent it */
        enter_start_pre(j, 0, now, a);
}

int job_start(Job *j, usec_t now, JobActions *a) {
        j->target = JOB_TARGET_RUNNING;

        switch (j->state) {
        case JOB_DEAD:
        case JOB_EXITED:
        case JOB_FAILED:
        case JOB_AUTO_RESTART:
                /* A start asked for by someone is a fresh start: forget the failures. */
                job_reset_counters(j);
                begin_start(j, now, a);
                return 0;
        case JOB_START_PRE:
        case JOB_START:
        case JOB_START_POST:
        case JOB_RUNNING:
        case JOB_RELOAD:
                return 0;
        case JOB_STOP:
        case JOB_STOP_SIGTERM:
        case JOB_STOP_SIGKILL:
                /* Let the stop finish, then start again. */
                j->restart_requested = true;
                return 0;
        default:
                assert_not_reached();
        }
}

static void enter_stop(Job *j, usec_t now, JobActions *a) {
        if (j->main_pid > 0 && j->config->exec_stop.n > 0) {
                spawn(j, JOB_COMMAND_STOP, 0, false, a);
                job_set_state(j, JOB_STOP, now, a);
                push_timer(j, a, deadline(now, j->config->timeout_stop_usec));
                return;
        }
        enter_stop_sigterm(j, now, a);
}

int job_stop(Job *j, usec_t now, JobActions *a) {
        j->target = JOB_TARGET_STOPPED;
        j->restart_requested = false;

        switch (j->state) {
        case JOB_DEAD:
        case JOB_EXITED:
        case JOB_FAILED:
                return 0;
        case JOB_AUTO_RESTART:
                job_set_state(j, JOB_DEAD, now, a);
                return 0;
        case JOB_START_PRE:
        case JOB_START:
        case JOB_START_POST:
        case JOB_RELOAD:
                /* Not up yet (or reloading): no ExecStop=, straight to the signals. */
                enter_stop_sigterm(j, now, a);
                return 0;
        case JOB_RUNNING:
                enter_stop(j, now, a);
                return 0;
        case JOB_STOP:
        case JOB_STOP_SIGTERM:
        case JOB_STOP_SIGKILL:
                return 0;
        default:
                assert_not_reached();
        }
}

int job_restart(Job *j, usec_t now, JobActions *a) {
        switch (j->state) {
        case JOB_DEAD:
        case JOB_EXITED:
        case JOB_FAILED:
        case JOB_AUTO_RESTART:
                return job_start(j, now, a);
        case JOB_START_PRE:
        case JOB_START:
        case JOB_START_POST:
        case JOB_RUNNING:
        case JOB_RELOAD:
        case JOB_STOP:
        case JOB_STOP_SIGTERM:
        case JOB_STOP_SIGKILL:
                job_stop(j, now, a);
                j->target = JOB_TARGET_RUNNING;
                j->restart_requested = true;
                job_reset_counters(j);
                return 0;
        default:
                assert_not_reached();
        }
}

int job_reload(Job *j, usec_t now, JobActions *a) {
        switch (j->state) {
        case JOB_RUNNING:
                if (j->config->exec_reload.n == 0)
                        return -EOPNOTSUPP;
                j->reload_result = _JOB_RESULT_INVALID; /* until it ends as it should */
                spawn(j, JOB_COMMAND_RELOAD, 0, false, a);
                job_set_state(j, JOB_RELOAD, now, a);
                push_timer(j, a, deadline(now, j->config->timeout_start_usec));
                return 0;
        case JOB_DEAD:
        case JOB_START_PRE:
        case JOB_START:
        case JOB_START_POST:
        case JOB_RELOAD:
        case JOB_STOP:
        case JOB_STOP_SIGTERM:
        case JOB_STOP_SIGKILL:
        case JOB_AUTO_RESTART:
        case JOB_EXITED:
        case JOB_FAILED:
                return -EBUSY;
        default:
                assert_not_reached();
        }
}

static void kill_all(Job *j, int sig, JobActions *a) {
        KillMode m = j->config->kill_mode;

        if (m == KILL_PROCESS || (m == KILL_MIXED && sig != SIGKILL)) {
                if (j->main_pid > 0)
                        push(a, (JobAction) { .type = JOB_ACTION_KILL, .signal = sig, .who = KILL_WHO_MAIN });
                if (j->control_pid > 0)
                        push(a, (JobAction) { .type = JOB_ACTION_KILL, .signal = sig, .who = KILL_WHO_CONTROL });
                return;
        }
        push(a, (JobAction) { .type = JOB_ACTION_KILL, .signal = sig, .who = KILL_WHO_ALL });
}

static void enter_stop_sigterm(Job *j, usec_t now, JobActions *a) {
        job_set_state(j, JOB_STOP_SIGTERM, now, a);
        kill_all(j, j->config->kill_signal, a);
        if (j->config->kill_signal != SIGKILL)
                kill_all(j, SIGCONT, a); /* a stopped process must wake up to die */
        push_timer(j, a, deadline(now, j->config->timeout_stop_usec));
}

static void enter_stop_sigkill(Job *j, usec_t now, JobActions *a) {
        job_set_state(j, JOB_STOP_SIGKILL, now, a);
        kill_all(j, SIGKILL, a);
        /* Give the kernel the same time again to deliver; then we stop waiting. */
        push_timer(j, a, deadline(now, j->config->timeout_stop_usec == USEC_INFINITY ?
                                               10 * USEC_PER_SEC : j->config->timeout_stop_usec));
}

/* The run is over and nothing of it is left: decide what comes next. */
static void enter_run_end(Job *j, usec_t now, JobActions *a) {
        bool failed = j->result != JOB_SUCCESS;

        push(a, (JobAction) { .type = JOB_ACTION_RUN_END });

        if (j->restart_requested) {
                begin_start(j, now, a);
                return;
        }

        if (j->target == JOB_TARGET_STOPPED) {
                /* A stop someone asked for ends "stopped", whatever the result (a SIGKILL after
                 * the timeout leaves result "timeout" to say so). */
                job_set_state(j, JOB_DEAD, now, a);
                return;
        }

        if (failed) {
                /* A run that stayed up long enough starts the count afresh. */
                if (j->run_started != USEC_INFINITY && j->run_started > 0 &&
                    now - j->run_started >= j->config->restart_reset_usec)
                        j->n_failures = 0;
                j->n_failures++;
        } else
                j->n_failures = 0;

        if (job_shall_restart(j->config, j->result)) {
                if (failed && j->config->restart_max_retries > 0 &&
                    j->n_failures > j->config->restart_max_retries) {
                        j->result = JOB_FAILURE_START_LIMIT;
                        j->target = JOB_TARGET_STOPPED;
                        job_set_state(j, JOB_FAILED, now, a);
                        return;
                }
                job_set_state(j, JOB_AUTO_RESTART, now, a);
                push_timer(j, a, add_saturating(now, job_restart_delay(j->config, MAX(j->n_failures, 1u))));
                return;
        }

        j->target = JOB_TARGET_STOPPED;
        if (failed)
                job_set_state(j, JOB_FAILED, now, a);
        else if (j->config->type == SERVICE_ONESHOT)
                job_set_state(j, JOB_EXITED, now, a);
        else
                job_set_state(j, JOB_DEAD, now, a);
}

/* The main process ended (or the start failed) and the run must end: kill what is left first. */
static void end_run(Job *j, bool group_empty, usec_t now, JobActions *a) {
        if (group_empty && j->main_pid == 0 && j->control_pid == 0)
                enter_run_end(j, now, a);
        else
                enter_stop_sigterm(j, now, a);
}

static JobResult result_of_exit(const ExitInfo *e) {
        if (e->spawn_error)
                return JOB_FAILURE_SPAWN_ERROR;
        if (e->code == CLD_EXITED)
                return e->status == 0 ? JOB_SUCCESS : JOB_FAILURE_EXIT_CODE;
        /* systemd's notion of clean: these signals are how a service is asked to end. */
        if (e->code == CLD_KILLED && (e->status == SIGHUP || e->status == SIGINT ||
                                      e->status == SIGTERM || e->status == SIGPIPE))
                return JOB_SUCCESS;
        return JOB_FAILURE_SIGNAL;
}

static bool ignore_failure(const Job *j, JobCommand c, size_t index) {
        const ExecCommandList *l = job_command_list(j, c);
        return index < l->n && (l->commands[index].flags & EXEC_COMMAND_IGNORE_FAILURE);
}

static int on_main_exit(Job *j, const ExitInfo *e, usec_t now, JobActions *a) {
        JobResult r = result_of_exit(e);

        j->main_pid = 0;
        j->exit_code = e->code;
        j->exit_status = e->status;
        if (r != JOB_SUCCESS && j->state == JOB_START && j->config->type == SERVICE_ONESHOT &&
            ignore_failure(j, JOB_COMMAND_START, j->command_index))
                r = JOB_SUCCESS;

        switch (j->state) {
        case JOB_START:
                if (r == JOB_SUCCESS && j->config->type == SERVICE_ONESHOT) {
                        if (j->command_index + 1 < j->config->exec_start.n) {
                                spawn(j, JOB_COMMAND_START, j->command_index + 1, true, a);
                                return 0;
                        }
                        enter_start_post(j, 0, now, a);
                        return 0;
                }
                if (r == JOB_SUCCESS && j->config->type == SERVICE_FORKING) {
                        push(a, (JobAction) { .type = JOB_ACTION_RESOLVE_MAIN_PID });
                        return 0;
                }
                /* Ended before it was ready. A clean exit is still a failed start. */
                set_result(j, r == JOB_SUCCESS ? JOB_FAILURE_EXIT_CODE : r);
                end_run(j, e->group_empty, now, a);
                return 0;
        case JOB_START_POST:
        case JOB_RUNNING:
        case JOB_RELOAD:
                set_result(j, r);
                end_run(j, e->group_empty, now, a);
                return 0;
        case JOB_STOP:
                /* Ended while ExecStop= ran: fine, let the stop command finish. */
                if (j->result == JOB_SUCCESS && r != JOB_SUCCESS && j->target != JOB_TARGET_STOPPED)
                        set_result(j, r);
                return 0;
        case JOB_STOP_SIGTERM:
        case JOB_STOP_SIGKILL:
                if (j->target != JOB_TARGET_STOPPED && !j->restart_requested)
                        set_result(j, r);
                if (e->group_empty && j->control_pid == 0)
                        enter_run_end(j, now, a);
                return 0;
        case JOB_DEAD:
        case JOB_START_PRE:
        case JOB_AUTO_RESTART:
        case JOB_EXITED:
        case JOB_FAILED:
                /* A main pid in these states is a manager bug: nothing to do. */
                return 0;
        default:
                assert_not_reached();
        }
}

static int on_control_exit(Job *j, const ExitInfo *e, usec_t now, JobActions *a) {
        JobResult r = result_of_exit(e);

        j->control_pid = 0;
        if (r != JOB_SUCCESS && ignore_failure(j, j->control_command, j->command_index))
                r = JOB_SUCCESS;

        switch (j->state) {
        case JOB_START_PRE:
                if (r == JOB_SUCCESS) {
                        enter_start_pre(j, j->command_index + 1, now, a);
                        return 0;
                }
                set_result(j, r);
                end_run(j, e->group_empty, now, a);
                return 0;
        case JOB_START_POST:
                if (r == JOB_SUCCESS) {
                        enter_start_post(j, j->command_index + 1, now, a);
                        return 0;
                }
                set_result(j, r);
                enter_stop_sigterm(j, now, a);
                return 0;
        case JOB_RELOAD:
                if (r == JOB_SUCCESS && j->command_index + 1 < j->config->exec_reload.n) {
                        spawn(j, JOB_COMMAND_RELOAD, j->command_index + 1, false, a);
                        return 0;
                }
                /* Done, or a command failed: the job runs on either way, as with systemd. */
                j->reload_result = r;
                enter_running(j, now, a);
                return 0;
        case JOB_STOP:
                if (r == JOB_SUCCESS && j->command_index + 1 < j->config->exec_stop.n) {
                        spawn(j, JOB_COMMAND_STOP, j->command_index + 1, false, a);
                        return 0;
                }
                if (j->main_pid == 0 && e->group_empty)
                        enter_run_end(j, now, a);
                else
                        enter_stop_sigterm(j, now, a);
                return 0;
        case JOB_STOP_SIGTERM:
        case JOB_STOP_SIGKILL:
                if (j->main_pid == 0 && e->group_empty)
                        enter_run_end(j, now, a);
                return 0;
        case JOB_DEAD:
        case JOB_START:
        case JOB_RUNNING:
        case JOB_AUTO_RESTART:
        case JOB_EXITED:
        case JOB_FAILED:
                return 0;
        default:
                assert_not_reached();
        }
}

int job_on_exit(Job *j, const ExitInfo *e, usec_t now, JobActions *a) {
        return e->main ? on_main_exit(j, e, now, a) : on_control_exit(j, e, now, a);
}

int job_on_group_empty(Job *j, usec_t now, JobActions *a) {
        switch (j->state) {
        case JOB_STOP_SIGTERM:
        case JOB_STOP_SIGKILL:
                if (j->main_pid == 0 && j->control_pid == 0)
                        enter_run_end(j, now, a);
                return 0;
        case JOB_DEAD:
        case JOB_START_PRE:
        case JOB_START:
        case JOB_START_POST:
        case JOB_RUNNING:
        case JOB_RELOAD:
        case JOB_STOP:
        case JOB_AUTO_RESTART:
        case JOB_EXITED:
        case JOB_FAILED:
                return 0;
        default:
                assert_not_reached();
        }
}

int job_on_timeout(Job *j, usec_t now, JobActions *a) {
        j->timer_usec = USEC_INFINITY; /* it fired */

        switch (j->state) {
        case JOB_START_PRE:
        case JOB_START:
        case JOB_START_POST:
                set_result(j, JOB_FAILURE_TIMEOUT);
                enter_stop_sigterm(j, now, a);
                return 0;
        case JOB_RUNNING:
                /* RUNNING's timer is the watchdog deadline; without a watchdog it is stale. */
                if (job_watchdog_usec(j) == 0)
                        return 0;
                return job_on_watchdog(j, now, a);
        case JOB_RELOAD:
                /* The reload command hangs: kill it, keep the job. */
                push(a, (JobAction) { .type = JOB_ACTION_KILL, .signal = SIGKILL, .who = KILL_WHO_CONTROL });
                j->reload_result = JOB_FAILURE_TIMEOUT;
                enter_running(j, now, a);
                return 0;
        case JOB_STOP:
                enter_stop_sigterm(j, now, a);
                return 0;
        case JOB_STOP_SIGTERM:
                set_result(j, JOB_FAILURE_TIMEOUT);
                enter_stop_sigkill(j, now, a);
                return 0;
        case JOB_STOP_SIGKILL:
                /* Something survived SIGKILL (D state, or it left the group): stop waiting. */
                j->main_pid = 0;
                j->control_pid = 0;
                enter_run_end(j, now, a);
                return 0;
        case JOB_AUTO_RESTART:
                j->restart_count++;
                push(a, (JobAction) { .type = JOB_ACTION_AUDIT_RESTART });
                begin_start(j, now, a);
                return 0;
        case JOB_DEAD:
        case JOB_EXITED:
        case JOB_FAILED:
                return 0;
        default:
                assert_not_reached();
        }
}

int job_on_watchdog(Job *j, usec_t now, JobActions *a) {
        switch (j->state) {
        case JOB_RUNNING:
                set_result(j, JOB_FAILURE_WATCHDOG);
                /* SIGABRT, so that the program can dump core (systemd's default WatchdogSignal=),
                 * to the processes KillMode= names, then nothing but SIGKILL after
                 * TimeoutStopSec=. Not KillSignal= at once: a fatal signal that dumps no core
                 * ends the process as soon as it is sent, before it has taken the SIGABRT. */
                job_set_state(j, JOB_STOP_SIGTERM, now, a);
                kill_all(j, SIGABRT, a);
                push_timer(j, a, deadline(now, j->config->timeout_stop_usec));
                return 0;
        case JOB_DEAD:
        case JOB_START_PRE:
        case JOB_START:
        case JOB_START_POST:
        case JOB_RELOAD:
        case JOB_STOP:
        case JOB_STOP_SIGTERM:
        case JOB_STOP_SIGKILL:
        case JOB_AUTO_RESTART:
        case JOB_EXITED:
        case JOB_FAILED:
                return 0;
        default:
                assert_not_reached();
        }
}

int job_on_ready(Job *j, usec_t now, JobActions *a) {
        switch (j->state) {
        case JOB_START:
                if (j->config->type == SERVICE_ONESHOT)
                        return 0; /* a oneshot is done when its command exits */
                enter_start_post(j, 0, now, a);
                return 0;
        case JOB_RUNNING:
                /* A heartbeat: push the watchdog deadline. */
                push_timer(j, a, watchdog_deadline(j, now));
                return 0;
        case JOB_DEAD:
        case JOB_START_PRE:
        case JOB_START_POST:
        case JOB_RELOAD:
        case JOB_STOP:
        case JOB_STOP_SIGTERM:
        case JOB_STOP_SIGKILL:
        case JOB_AUTO_RESTART:
        case JOB_EXITED:
        case JOB_FAILED:
                return 0;
        default:
                assert_not_reached();
        }
}

int job_on_main_pid(Job *j, pid_t pid, usec_t now, JobActions *a) {
        switch (j->state) {
        case JOB_START:
                if (pid <= 0) {
                        set_result(j, JOB_FAILURE_EXIT_CODE);
                        end_run(j, false, now, a);
                        return 0;
                }
                j->main_pid = pid;
                enter_start_post(j, 0, now, a);
                return 0;
        case JOB_DEAD:
        case JOB_START_PRE:
        case JOB_START_POST:
        case JOB_RUNNING:
        case JOB_RELOAD:
        case JOB_STOP:
        case JOB_STOP_SIGTERM:
        case JOB_STOP_SIGKILL:
        case JOB_AUTO_RESTART:
        case JOB_EXITED:
        case JOB_FAILED:
                return 0;
        default:
                assert_not_reached();
        }
}

int job_fail_dependency(Job *j, usec_t now, JobActions *a) {
        if (!job_is_inactive(j))
                return 0;
        j->target = JOB_TARGET_STOPPED;
        j->result = JOB_FAILURE_DEPENDENCY;
        job_set_state(j, JOB_FAILED, now, a);
        return 0;
}

int job_on_heartbeat(Job *j, usec_t now, JobActions *a) {
        switch (j->state) {
        case JOB_RUNNING:
                /* Push the watchdog deadline: the one timer moves, nothing scans. */
                push_timer(j, a, watchdog_deadline(j, now));
                return 0;
        case JOB_DEAD:
        case JOB_START_PRE:
        case JOB_START:
        case JOB_START_POST:
        case JOB_RELOAD:
        case JOB_STOP:
        case JOB_STOP_SIGTERM:
        case JOB_STOP_SIGKILL:
        case JOB_AUTO_RESTART:
        case JOB_EXITED:
        case JOB_FAILED:
                /* The watchdog only watches a running job; a heartbeat is still recorded by the
                 * manager. */
                return 0;
        default:
                assert_not_reached();
        }
}

int job_set_watchdog(Job *j, usec_t usec, usec_t now, JobActions *a) {
        if (usec == 0 || usec == USEC_INFINITY)
                return -EINVAL;
        switch (j->state) {
        case JOB_START:
        case JOB_START_POST:
                /* Takes effect when the job is up. */
                j->watchdog_override_usec = usec;
                return 0;
        case JOB_RUNNING:
                /* As systemd: a new interval also restarts the count. */
                j->watchdog_override_usec = usec;
                push_timer(j, a, watchdog_deadline(j, now));
                return 0;
        case JOB_DEAD:
        case JOB_START_PRE:
        case JOB_RELOAD:
        case JOB_STOP:
        case JOB_STOP_SIGTERM:
        case JOB_STOP_SIGKILL:
        case JOB_AUTO_RESTART:
        case JOB_EXITED:
        case JOB_FAILED:
                return 0;
        default:
                assert_not_reached();
        }
}

int job_on_extend_timeout(Job *j, usec_t extend, usec_t now, JobActions *a) {
        usec_t d;

        switch (j->state) {
        case JOB_START_PRE:
        case JOB_START:
        case JOB_START_POST:
        case JOB_RELOAD:
        case JOB_STOP:
        case JOB_STOP_SIGTERM:
                /* Only ever later: the job asks for more time, it cannot shorten the limit. A
                 * deadline of "none" stays none. */
                d = add_saturating(now, extend);
                if (j->timer_usec != USEC_INFINITY && d > j->timer_usec)
                        push_timer(j, a, d);
                return 0;
        case JOB_DEAD:
        case JOB_RUNNING:
        case JOB_STOP_SIGKILL:
        case JOB_AUTO_RESTART:
        case JOB_EXITED:
        case JOB_FAILED:
                /* RUNNING's timer is the watchdog, which this does not extend (as systemd);
                 * after SIGKILL there is nothing left to wait for. */
                return 0;
        default:
                assert_not_reached();
        }
}

int job_on_stopping(Job *j, usec_t now, JobActions *a) {
        switch (j->state) {
        case JOB_START_POST:
        case JOB_RUNNING:
        case JOB_RELOAD:
                /* The job stops on its own: no signal yet, only the stop deadline, after which
                 * it gets SIGKILL as any stop would (systemd's stop-by-notify). Its exit is then
                 * judged by Restart= as usual. */
                job_set_state(j, JOB_STOP_SIGTERM, now, a);
                push_timer(j, a, deadline(now, j->config->timeout_stop_usec));
                return 0;
        case JOB_DEAD:
        case JOB_START_PRE:
        case JOB_START:
        case JOB_STOP:
        case JOB_STOP_SIGTERM:
        case JOB_STOP_SIGKILL:
        case JOB_AUTO_RESTART:
        case JOB_EXITED:
        case JOB_FAILED:
                return 0;
        default:
                assert_not_reached();
        }
}
