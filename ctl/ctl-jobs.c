/* pmctl's job verbs: list, status, start/stop/restart (with --wait), kill, enable/disable, logs,
 * heartbeat and events. --wait follows JobStateChanged signals — subscribed before the call, and
 * the state read once after it, so no change is missed — and is bounded by a timeout. */

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ctl.h"
#include "strv.h"

#define WAIT_STEADY_USEC USEC_PER_SEC      /* running, and still running this much later */
#define WAIT_SLACK_USEC (5 * USEC_PER_SEC)  /* beyond the job's own timeouts */
#define WAIT_DEFAULT_USEC (90 * USEC_PER_SEC)
#define WAIT_INFINITE_USEC (600 * USEC_PER_SEC) /* a job with no timeout: bound the wait anyway */
#define STATUS_LOG_LINES 10

static bool state_is(const char *state, const char *s) {
        return state && streq(state, s);
}

static bool job_is_up(const JobInfo *j) {
        return state_is(j->state, "running") || state_is(j->state, "starting") || state_is(j->state, "stopping");
}

/* ---- list ------------------------------------------------------------------------------------ */

static int list_names(void) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *name;
        int r;

        r = ctl_call("ListJobs", &error, &reply, NULL);
        if (r < 0)
                return ctl_report_error(&error, r, "cannot list jobs");
        r = sd_bus_message_enter_container(reply, 'a', "(sssuut)");
        if (r < 0)
                return ctl_error(CTL_EXIT_FAILED, "bad reply from pmd: %s", strerror(-r));
        while ((r = sd_bus_message_read(reply, "(sssuut)", &name, NULL, NULL, NULL, NULL, NULL)) > 0)
                puts(name);
        return r < 0 ? ctl_error(CTL_EXIT_FAILED, "bad reply from pmd: %s", strerror(-r)) : 0;
}

static void job_uptime(const JobInfo *j, usec_t now, char *buf, size_t len) {
        usec_t since = j->run_start_ts ?: j->state_change_ts;

        if (!job_is_up(j) || since == 0 || since > now)
                snprintf(buf, len, "-");
        else
                format_timespan(buf, len, (now - since) / USEC_PER_SEC * USEC_PER_SEC);
}

int verb_list(int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        static const char *const headers[] = { "NAME", "STATE", "PID", "UPTIME", "RESTARTS", "CPU", "MEM", "STATUS" };
        _cleanup_(table_freep) Table *t = NULL;
        JobInfo *jobs = NULL;
        size_t n = 0;
        usec_t now = now_usec(CLOCK_REALTIME);
        int r;

        if (!ctl_bus())
                return CTL_EXIT_UNREACHABLE;
        if (arg_names)
                return list_names();

        r = job_info_list(&jobs, &n, &error);
        if (r < 0)
                return ctl_report_error(&error, r, "cannot list jobs");

        if (arg_json) {
                _cleanup_free_ char *version = NULL;
                uint64_t startup = 0;
                json_t *o, *a;

                r = ctl_get_manager_property("Version", 's', &version, &error);
                if (r >= 0)
                        r = ctl_get_manager_property("StartupTimestamp", 't', &startup, &error);
                if (r < 0) {
                        job_info_list_free(jobs, n);
                        return ctl_report_error(&error, r, "cannot read pmd's properties");
                }
                o = json_object();
                a = json_array();
                json_object_set_new(o, "version", json_string(version));
                json_object_set_new(o, "uptime_sec",
                                    json_integer(startup > 0 && startup < now ? (json_int_t) ((now - startup) / USEC_PER_SEC) : 0));
                for (size_t i = 0; i < n; i++)
                        json_array_append_new(a, ctl_job_json(&jobs[i]));
                json_object_set_new(o, "jobs", a);
                job_info_list_free(jobs, n);
                return ctl_print_json(o, false) < 0 ? CTL_EXIT_FAILED : 0;
        }

        t = table_new(headers, ELEMENTSOF(headers));
        if (!t) {
                job_info_list_free(jobs, n);
                return ctl_error(CTL_EXIT_FAILED, "out of memory");
        }
        for (size_t i = 0; i < n; i++) {
                const JobInfo *j = &jobs[i];
                char pid[16], uptime[64], restarts[16], cpu[64], mem[32];

                if (j->main_pid > 0)
                        snprintf(pid, sizeof(pid), "%" PRIu32, j->main_pid);
                else
                        snprintf(pid, sizeof(pid), "-");
                job_uptime(j, now, uptime, sizeof(uptime));
                snprintf(restarts, sizeof(restarts), "%" PRIu32, j->restart_count);
                if (j->cpu_nsec == UINT64_MAX)
                        snprintf(cpu, sizeof(cpu), "-");
                else
                        format_timespan(cpu, sizeof(cpu), j->cpu_nsec / 1000 / USEC_PER_MSEC * USEC_PER_MSEC);
                if (j->memory == UINT64_MAX || !job_is_up(j))
                        snprintf(mem, sizeof(mem), "-");
                else
                        ctl_format_bytes(mem, sizeof(mem), j->memory);

                const char *cells[] = { j->name, j->state, pid, uptime, restarts, cpu, mem, j->status_text };
                r = table_add_row(t, cells, 1, ctl_state_color(j->state));
                if (r < 0)
                        break;
        }
        job_info_list_free(jobs, n);
        if (r >= 0)
                r = table_print(t);
        return r < 0 ? ctl_error(CTL_EXIT_FAILED, "cannot print: %s", strerror(-r)) : 0;
}

/* ---- status ---------------------------------------------------------------------------------- */

static int print_log_line(const char *line, void *userdata) {
        printf("  %s\n", line);
        return 0;
}

static void print_status(const JobInfo *j, usec_t now) {
        char a[128], b[64];
        const char *color = ctl_state_color(j->state);

        printf("%s%s%s %s%s%s%s%s\n", color, ctl_use_color() ? "●" : "*", ctl_color_reset(), ctl_color_bold(),
               j->name, ctl_color_reset(), isempty(j->description) ? "" : " - ", strempty(j->description));
        printf("     State: %s%s%s", color, j->state, ctl_color_reset());
        if (!isempty(j->result) && !streq(j->result, "success"))
                printf(" (result: %s)", j->result);
        if (j->state_change_ts > 0) {
                printf(" since %s", ctl_format_local(a, sizeof(a), j->state_change_ts));
                if (now >= j->state_change_ts)
                        printf("; %s ago", format_timespan(b, sizeof(b), (now - j->state_change_ts) / USEC_PER_SEC * USEC_PER_SEC));
        }
        putchar('\n');
        if (j->main_pid > 0)
                printf("       PID: %" PRIu32 "\n", j->main_pid);
        printf("  Restarts: %" PRIu32 "\n", j->restart_count);
        if (j->exit_status < 0)
                printf(" Last exit: -\n");
        else if (j->exit_status > 128 && j->exit_status - 128 < NSIG && sigabbrev_np(j->exit_status - 128))
                printf(" Last exit: %" PRIi32 " (killed by SIG%s)\n", j->exit_status, sigabbrev_np(j->exit_status - 128));
        else
                printf(" Last exit: %" PRIi32 "\n", j->exit_status);
        if (!isempty(j->exec_start))
                printf("   Command: %s\n", j->exec_start);
        if (!isempty(j->source_path))
                printf("      File: %s\n", j->source_path);
        printf("   Enabled: %s\n", j->enabled ? "yes" : "no");
        if (!isempty(j->status_text))
                printf("    Status: %s\n", j->status_text);
        if (j->cpu_nsec != UINT64_MAX)
                printf("       CPU: %s\n", format_timespan(a, sizeof(a), j->cpu_nsec / 1000 / USEC_PER_MSEC * USEC_PER_MSEC));
        if (j->memory != UINT64_MAX)
                printf("    Memory: %s\n", ctl_format_bytes(a, sizeof(a), j->memory));
        if (j->last_heartbeat_ts > 0) {
                printf(" Heartbeat: %s", ctl_format_local(a, sizeof(a), j->last_heartbeat_ts));
                if (now >= j->last_heartbeat_ts)
                        printf("; %s ago", format_timespan(b, sizeof(b), (now - j->last_heartbeat_ts) / USEC_PER_SEC * USEC_PER_SEC));
                putchar('\n');
        }
        if (!isempty(j->log_path)) {
                int r;

                printf("\nLog %s:\n", j->log_path);
                fflush(stdout);
                r = ctl_tail_run(j->log_path, j->run_start_ts, STATUS_LOG_LINES, print_log_line, NULL);
                if (r == -ENOENT)
                        printf("  (no log yet)\n");
                else if (r < 0)
                        printf("  (cannot read it: %s)\n", strerror(-r));
        }
}

int verb_status(int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        usec_t now = now_usec(CLOCK_REALTIME);
        json_t *array = NULL;
        JobInfo *jobs = NULL;
        size_t n = 0;
        int r, ret = 0;

        if (!ctl_bus())
                return CTL_EXIT_UNREACHABLE;

        if (argc <= 1) {
                r = job_info_list(&jobs, &n, &error);
                if (r < 0)
                        return ctl_report_error(&error, r, "cannot list jobs");
        } else {
                jobs = calloc((size_t) argc - 1, sizeof(JobInfo));
                if (!jobs)
                        return ctl_error(CTL_EXIT_FAILED, "out of memory");
                for (int i = 1; i < argc; i++) {
                        sd_bus_error_free(&error);
                        r = job_info_get(argv[i], &jobs[n], &error);
                        if (r < 0) {
                                if (ctl_report_job_error(&error, r, argv[i], &ret))
                                        break;
                                continue;
                        }
                        n++;
                }
        }

        if (arg_json)
                array = json_array();
        for (size_t i = 0; i < n; i++) {
                if (array)
                        json_array_append_new(array, ctl_job_json(&jobs[i]));
                else {
                        if (i > 0)
                                putchar('\n');
                        print_status(&jobs[i], now);
                }
                if (argc > 1 && !state_is(jobs[i].state, "running") && ret == 0)
                        ret = CTL_EXIT_NOT_RUNNING;
        }
        job_info_list_free(jobs, n);
        if (array && ctl_print_json(array, false) < 0 && ret == 0)
                ret = CTL_EXIT_FAILED;
        return ret;
}

/* ---- start, stop, restart -------------------------------------------------------------------- */

typedef enum WaitKind {
        WAIT_START,
        WAIT_STOP,
        WAIT_RESTART,
} WaitKind;

typedef struct Waiter {
        const char *name;
        WaitKind kind;
        bool oneshot;
        char *state, *result;
        bool seen_active;     /* starting/running since the call */
        bool seen_transition; /* restart: the old run is over */
        usec_t running_since; /* monotonic */
        usec_t deadline;      /* monotonic */
        int outcome;          /* 0 pending, 1 reached, -1 failed */
} Waiter;

typedef struct WaitContext {
        Waiter *waiters;
        size_t n;
} WaitContext;

static void waiter_update(Waiter *w, const char *state, const char *result, usec_t now) {
        char *s = strdup(state);

        if (w->outcome != 0 || !s)
                return free(s);
        free(w->state);
        w->state = s;
        if (result) {
                free(w->result);
                w->result = strdup(result);
        }

        if (w->kind == WAIT_STOP) {
                if (state_is(state, "stopped") || state_is(state, "failed") || state_is(state, "exited"))
                        w->outcome = 1;
                return;
        }

        if (w->kind == WAIT_RESTART && !w->seen_transition) {
                if (state_is(state, "running"))
                        return; /* still the old run */
                w->seen_transition = true;
        }
        if (state_is(state, "starting") || state_is(state, "running"))
                w->seen_active = true;

        if (state_is(state, "running")) {
                if (w->running_since == 0)
                        w->running_since = now;
                return;
        }
        w->running_since = 0;
        if (state_is(state, "exited"))
                w->outcome = w->oneshot ? 1 : (w->seen_active ? -1 : 0);
        else if (state_is(state, "failed") || state_is(state, "backoff"))
                w->outcome = -1;
        else if (state_is(state, "stopped") && w->seen_active)
                w->outcome = -1;
}

static void waiter_check_time(Waiter *w, usec_t now) {
        if (w->outcome != 0)
                return;
        if (!w->oneshot && w->running_since > 0 && now >= w->running_since + WAIT_STEADY_USEC)
                w->outcome = 1;
        else if (now >= w->deadline)
                w->outcome = -1;
}

static int on_job_state_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        WaitContext *ctx = userdata;
        const char *name, *state, *result;
        uint32_t pid;
        usec_t now = now_usec(CLOCK_MONOTONIC);

        if (sd_bus_message_read(m, "sssu", &name, &state, &result, &pid) < 0)
                return 0;
        for (size_t i = 0; i < ctx->n; i++)
                if (streq(ctx->waiters[i].name, name))
                        waiter_update(&ctx->waiters[i], state, result, now);
        return 0;
}

static usec_t timeout_or_default(uint64_t t) {
        if (t == 0)
                return WAIT_DEFAULT_USEC;
        if (t == USEC_INFINITY || t > WAIT_INFINITE_USEC)
                return WAIT_INFINITE_USEC;
        return t;
}

static int wait_for_jobs(sd_bus *bus, WaitContext *ctx) {
        int ret = 0;

        for (;;) {
                usec_t now = now_usec(CLOCK_MONOTONIC), next = USEC_INFINITY;
                bool pending = false;
                int r;

                r = sd_bus_process(bus, NULL);
                if (r < 0) {
                        ctl_error(0, "lost the connection to pmd while waiting: %s", strerror(-r));
                        return CTL_EXIT_UNREACHABLE;
                }
                if (r > 0)
                        continue;

                for (size_t i = 0; i < ctx->n; i++) {
                        Waiter *w = &ctx->waiters[i];
                        waiter_check_time(w, now);
                        if (w->outcome != 0)
                                continue;
                        pending = true;
                        next = MIN(next, w->deadline);
                        if (w->running_since > 0)
                                next = MIN(next, w->running_since + WAIT_STEADY_USEC);
                }
                if (!pending)
                        break;
                r = sd_bus_wait(bus, next > now ? next - now : 0);
                if (r < 0 && r != -EINTR) {
                        ctl_error(0, "lost the connection to pmd while waiting: %s", strerror(-r));
                        return CTL_EXIT_UNREACHABLE;
                }
        }

        for (size_t i = 0; i < ctx->n; i++) {
                Waiter *w = &ctx->waiters[i];
                static const char *const what[] = { "start", "stop", "restart" };

                if (w->outcome > 0)
                        continue;
                if (now_usec(CLOCK_MONOTONIC) >= w->deadline && !state_is(w->state, "failed") &&
                    !state_is(w->state, "backoff"))
                        ctl_error(0, "%s: timed out waiting for the %s (state %s)", w->name, what[w->kind],
                                  w->state ?: "unknown");
                else
                        ctl_error(0, "%s: %s failed: state %s%s%s%s", w->name, what[w->kind], w->state ?: "unknown",
                                  w->result ? " (result " : "", w->result ?: "", w->result ? ")" : "");
                ret = CTL_EXIT_FAILED;
        }
        return ret;
}

/* pmd answers ReloadJob once the reload has ended, which may take the job's TimeoutStartSec=. */
static void reload_call_timeout(sd_bus *bus, const char *name) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        JobInfo j = {};
        usec_t t = arg_timeout;

        if (t == 0 && job_info_get(name, &j, &error) >= 0)
                t = timeout_or_default(j.timeout_start_usec) + WAIT_SLACK_USEC;
        job_info_done(&j);
        if (t > 0)
                (void) sd_bus_set_method_call_timeout(bus, t);
}

static int job_call_many(int argc, char **argv, const char *method, int kind) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        WaitContext ctx = {};
        sd_bus *bus = ctl_bus();
        int r, ret = 0;

        if (!bus)
                return CTL_EXIT_UNREACHABLE;

        if (arg_wait && kind >= 0) {
                /* Subscribe before the call, so that no change can slip between. */
                r = sd_bus_match_signal(bus, &slot, ctl_destination(), PMD_BUS_PATH, PMD_MANAGER_IFACE,
                                        "JobStateChanged", on_job_state_changed, &ctx);
                if (r < 0)
                        return ctl_error(CTL_EXIT_FAILED, "cannot subscribe to state changes: %s", strerror(-r));
                ctx.waiters = calloc((size_t) argc, sizeof(Waiter));
                if (!ctx.waiters)
                        return ctl_error(CTL_EXIT_FAILED, "out of memory");
        }

        for (int i = 1; i < argc; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                if (streq(method, "ReloadJob"))
                        reload_call_timeout(bus, argv[i]);
                r = ctl_call(method, &error, NULL, "s", argv[i]);
                if (r < 0) {
                        if (ctl_report_job_error(&error, r, argv[i], &ret))
                                break;
                        continue;
                }
                if (ctx.waiters) {
                        JobInfo j = {};
                        Waiter *w = &ctx.waiters[ctx.n];
                        usec_t now = now_usec(CLOCK_MONOTONIC), t;

                        /* Read the state once: it may have been reached already. */
                        sd_bus_error_free(&error);
                        r = job_info_get(argv[i], &j, &error);
                        if (r < 0) {
                                ret = ctl_report_error(&error, r, "%s", argv[i]);
                                continue;
                        }
                        w->name = argv[i];
                        w->kind = kind;
                        w->oneshot = state_is(j.type, "oneshot");
                        if (arg_timeout > 0)
                                t = arg_timeout;
                        else if (kind == WAIT_START)
                                t = timeout_or_default(j.timeout_start_usec) + WAIT_STEADY_USEC + WAIT_SLACK_USEC;
                        else if (kind == WAIT_STOP)
                                t = 2 * timeout_or_default(j.timeout_stop_usec) + WAIT_SLACK_USEC;
                        else
                                t = timeout_or_default(j.timeout_start_usec) + 2 * timeout_or_default(j.timeout_stop_usec) +
                                    WAIT_STEADY_USEC + WAIT_SLACK_USEC;
                        w->deadline = now + t;
                        ctx.n++;
                        waiter_update(w, j.state ?: "", j.result, now);
                        job_info_done(&j);
                }
        }

        if (ctx.n > 0) {
                int k = wait_for_jobs(bus, &ctx);
                if (ret == 0)
                        ret = k;
        }
        for (size_t i = 0; i < ctx.n; i++) {
                free(ctx.waiters[i].state);
                free(ctx.waiters[i].result);
        }
        free(ctx.waiters);
        return ret;
}

int verb_start(int argc, char **argv) {
        return job_call_many(argc, argv, "StartJob", WAIT_START);
}

int verb_stop(int argc, char **argv) {
        return job_call_many(argc, argv, "StopJob", WAIT_STOP);
}

int verb_restart(int argc, char **argv) {
        return job_call_many(argc, argv, "RestartJob", WAIT_RESTART);
}

int verb_reload_jobs(int argc, char **argv) {
        return job_call_many(argc, argv, "ReloadJob", -1);
}

int verb_enable(int argc, char **argv) {
        return job_call_many(argc, argv, "EnableJob", -1);
}

int verb_disable(int argc, char **argv) {
        return job_call_many(argc, argv, "DisableJob", -1);
}

/* ---- kill ------------------------------------------------------------------------------------ */

/* "TERM", "SIGTERM", "sigterm", "15", "RTMIN+3", "SIGRTMAX-1" → number; -EINVAL otherwise. */
static int parse_signal(const char *s) {
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (*s && !*end && errno == 0)
                return (v > 0 && v < NSIG) ? (int) v : -EINVAL;
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        for (int i = 1; i < SIGRTMIN; i++) {
                const char *abbrev = sigabbrev_np(i);
                if (abbrev && strcasecmp(abbrev, s) == 0)
                        return i;
        }
        if (strncasecmp(s, "RTMIN", 5) == 0 || strncasecmp(s, "RTMAX", 5) == 0) {
                bool min = strncasecmp(s, "RTMIN", 5) == 0;
                int base = min ? SIGRTMIN : SIGRTMAX, sig;

                s += 5;
                if (!*s)
                        return base;
                if (*s != (min ? '+' : '-'))
                        return -EINVAL;
                errno = 0;
                v = strtol(s + 1, &end, 10);
                if (!s[1] || *end || errno != 0 || v < 0 || v > SIGRTMAX - SIGRTMIN)
                        return -EINVAL;
                sig = min ? base + (int) v : base - (int) v;
                return (sig >= SIGRTMIN && sig <= SIGRTMAX) ? sig : -EINVAL;
        }
        return -EINVAL;
}

int verb_kill(int argc, char **argv) {
        int sig = SIGTERM, ret = 0;

        if (arg_signal) {
                sig = parse_signal(arg_signal);
                if (sig < 0)
                        return ctl_error(CTL_EXIT_USAGE, "invalid signal: %s", arg_signal);
        }
        if (!ctl_bus())
                return CTL_EXIT_UNREACHABLE;
        for (int i = 1; i < argc; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                int r = ctl_call("KillJob", &error, NULL, "si", argv[i], (int32_t) sig);
                if (r < 0 && ctl_report_job_error(&error, r, argv[i], &ret))
                        break;
        }
        return ret;
}

/* ---- heartbeat, events ----------------------------------------------------------------------- */

int verb_heartbeat(int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = ctl_call("Heartbeat", &error, NULL, "ss", argv[1], argc > 2 ? argv[2] : "");
        if (r == -ENOTCONN && !sd_bus_error_is_set(&error))
                return CTL_EXIT_UNREACHABLE;
        if (r < 0)
                return ctl_report_error(&error, r, "%s", argv[1]);
        return 0;
}

static int on_event(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *name, *state, *result;
        uint32_t pid;
        char ts[64];

        if (sd_bus_message_read(m, "sssu", &name, &state, &result, &pid) < 0)
                return 0;
        format_rfc3339(ts, sizeof(ts), now_usec(CLOCK_REALTIME));
        if (arg_json) {
                json_t *o = json_object();
                json_object_set_new(o, "ts", json_string(ts));
                json_object_set_new(o, "job", json_string(name));
                json_object_set_new(o, "state", json_string(state));
                json_object_set_new(o, "result", json_string(result));
                json_object_set_new(o, "pid", pid > 0 ? json_integer(pid) : json_null());
                (void) ctl_print_json(o, true);
        } else {
                printf("%s %s %s%s%s %s", ts, name, ctl_state_color(state), state, ctl_color_reset(), result);
                if (pid > 0)
                        printf(" pid=%" PRIu32, pid);
                putchar('\n');
                fflush(stdout);
        }
        return 0;
}

int verb_events(int argc, char **argv) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        sd_bus *bus = ctl_bus();
        int r;

        if (!bus)
                return CTL_EXIT_UNREACHABLE;
        r = sd_bus_match_signal(bus, &slot, ctl_destination(), PMD_BUS_PATH, PMD_MANAGER_IFACE, "JobStateChanged",
                                on_event, NULL);
        if (r < 0)
                return ctl_error(CTL_EXIT_UNREACHABLE, "cannot subscribe to state changes: %s", strerror(-r));
        /* On the private socket nothing has been said yet: a call completes the handshake, so that
         * pmd starts sending signals (and a dead pmd shows now). */
        {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                uint32_t n;
                r = ctl_get_manager_property("Jobs", 'u', &n, &error);
                if (r < 0)
                        return ctl_report_error(&error, r, "cannot reach pmd");
        }
        for (;;) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return ctl_error(CTL_EXIT_UNREACHABLE, "lost the connection to pmd: %s", strerror(-r));
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, UINT64_MAX);
                if (r < 0 && r != -EINTR)
                        return ctl_error(CTL_EXIT_UNREACHABLE, "lost the connection to pmd: %s", strerror(-r));
        }
}
