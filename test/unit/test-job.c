/* The job state machine driven without fork and without clocks: events in with fake time,
 * states and actions asserted. */
#include <signal.h>
#include <sys/wait.h>

#include "job.h"
#include "tests.h"
#include "util/strv.h"

#define SEC USEC_PER_SEC
#define MSEC USEC_PER_MSEC

static Job *make_job(const char *const *assignments) {
        JobConfig *c;
        Job *j;
        DiagLoc loc = { .file = "test.job", .line = 1 };

        ASSERT_OK(job_config_new("t", "test.job", 1, &c));
        for (const char *const *a = assignments; a && *a; a += 2)
                ASSERT_OK(job_config_assign(c, "Service", a[0], a[1], &loc, NULL));
        ASSERT_OK(job_config_finish(c, &loc, NULL));
        ASSERT_OK(job_new("t", c, &j));
        return j;
}

static const JobAction *find(const JobActions *a, JobActionType t) {
        for (size_t i = 0; i < a->n; i++)
                if (a->items[i].type == t)
                        return &a->items[i];
        return NULL;
}

static bool has_kill(const JobActions *a, int sig, KillWho who) {
        for (size_t i = 0; i < a->n; i++)
                if (a->items[i].type == JOB_ACTION_KILL && a->items[i].signal == sig && a->items[i].who == who)
                        return true;
        return false;
}

#define PUBLIC(j) job_public_state_to_string(job_public_state(j))

/* The manager's part of a spawn: give the process a pid. */
static void spawned(Job *j, const JobActions *a, pid_t pid) {
        const JobAction *s = find(a, JOB_ACTION_SPAWN);
        ASSERT_TRUE(s);
        if (s->main)
                j->main_pid = pid;
        else
                j->control_pid = pid;
}

static void exit_main(Job *j, int code, int status, bool group_empty, usec_t now, JobActions *a) {
        ExitInfo e = { .main = true, .code = code, .status = status, .group_empty = group_empty };
        *a = (JobActions) {};
        ASSERT_OK(job_on_exit(j, &e, now, a));
}

TEST(simple_start_stop) {
        Job *j = make_job((const char *const[]) { "ExecStart", "/bin/sleep 100", NULL });
        JobActions a = {};

        ASSERT_STREQ(PUBLIC(j), "stopped");
        ASSERT_OK(job_start(j, 0, &a));
        ASSERT_STREQ(PUBLIC(j), "running");
        ASSERT_TRUE(find(&a, JOB_ACTION_SPAWN)->main);
        ASSERT_TRUE(find(&a, JOB_ACTION_RUN_BEGIN));
        ASSERT_TRUE(find(&a, JOB_ACTION_STATE_CHANGED));
        /* The spawn comes before the state change, so the change is recorded with the pid. */
        ASSERT_TRUE(find(&a, JOB_ACTION_SPAWN) < find(&a, JOB_ACTION_STATE_CHANGED));
        spawned(j, &a, 100);
        ASSERT_EQ(j->timer_usec, USEC_INFINITY); /* idle: no timer */

        a = (JobActions) {};
        ASSERT_OK(job_start(j, 5 * SEC, &a)); /* already running: nothing */
        ASSERT_EQ(a.n, 0);

        a = (JobActions) {};
        ASSERT_OK(job_stop(j, 10 * SEC, &a));
        ASSERT_STREQ(PUBLIC(j), "stopping");
        ASSERT_TRUE(has_kill(&a, SIGTERM, KILL_WHO_ALL));
        ASSERT_EQ(find(&a, JOB_ACTION_TIMER)->usec, 20 * SEC); /* TimeoutStopSec=10s */

        exit_main(j, CLD_KILLED, SIGTERM, true, 11 * SEC, &a);
        ASSERT_STREQ(PUBLIC(j), "stopped");
        ASSERT_EQ(j->result, JOB_SUCCESS);
        ASSERT_TRUE(find(&a, JOB_ACTION_RUN_END));
        ASSERT_EQ(j->timer_usec, USEC_INFINITY);
        ASSERT_EQ(j->main_pid, 0);

        a = (JobActions) {};
        ASSERT_OK(job_stop(j, 12 * SEC, &a)); /* stop of a stopped job is not an error */
        ASSERT_EQ(a.n, 0);
        job_free(j);
}

TEST(stop_timeout_sigkill) {
        Job *j = make_job((const char *const[]) { "ExecStart", "/bin/sleep 100", "TimeoutStopSec", "3s", NULL });
        JobActions a = {};

        job_start(j, 0, &a);
        spawned(j, &a, 7);
        a = (JobActions) {};
        job_stop(j, SEC, &a);
        a = (JobActions) {};
        ASSERT_OK(job_on_timeout(j, 4 * SEC, &a));
        ASSERT_EQ(j->state, JOB_STOP_SIGKILL);
        ASSERT_TRUE(has_kill(&a, SIGKILL, KILL_WHO_ALL));
        exit_main(j, CLD_KILLED, SIGKILL, true, 4 * SEC + 1, &a);
        ASSERT_STREQ(PUBLIC(j), "stopped");
        ASSERT_STREQ(job_result_to_string(j->result), "timeout"); /* SPEC: stopped with result timeout */
        job_free(j);
}

TEST(leftover_processes_are_waited_for) {
        Job *j = make_job((const char *const[]) { "ExecStart", "/bin/sh -c 'sleep 100 & exit 0'", NULL });
        JobActions a = {};

        job_start(j, 0, &a);
        spawned(j, &a, 7);
        /* main exits cleanly, a grandchild is left in the group: kill it, wait for the group */
        exit_main(j, CLD_EXITED, 0, false, SEC, &a);
        ASSERT_STREQ(PUBLIC(j), "stopping");
        ASSERT_TRUE(has_kill(&a, SIGTERM, KILL_WHO_ALL));
        a = (JobActions) {};
        ASSERT_OK(job_on_group_empty(j, 2 * SEC, &a));
        ASSERT_STREQ(PUBLIC(j), "stopped");
        ASSERT_EQ(j->result, JOB_SUCCESS);
        job_free(j);
}

TEST(restart_backoff_and_start_limit) {
        Job *j = make_job((const char *const[]) {
                "ExecStart", "/bin/false", "Restart", "on-failure", "RestartSec", "1s",
                "RestartMaxDelaySec", "5s", "RestartMaxRetries", "4", NULL });
        JobActions a = {};
        usec_t now = 0;
        const usec_t expect[] = { 1 * SEC, 2 * SEC, 4 * SEC, 5 * SEC };

        job_start(j, now, &a);
        spawned(j, &a, 10);
        for (size_t i = 0; i < ELEMENTSOF(expect); i++) {
                now += 100 * MSEC;
                exit_main(j, CLD_EXITED, 1, true, now, &a);
                ASSERT_STREQ(PUBLIC(j), "backoff");
                ASSERT_EQ(j->result, JOB_FAILURE_EXIT_CODE);
                ASSERT_EQ(find(&a, JOB_ACTION_TIMER)->usec, now + expect[i]);
                now += expect[i];
                a = (JobActions) {};
                ASSERT_OK(job_on_timeout(j, now, &a));
                ASSERT_STREQ(PUBLIC(j), "running");
                ASSERT_EQ(j->restart_count, i + 1);
                ASSERT_TRUE(find(&a, JOB_ACTION_AUDIT_RESTART));
                spawned(j, &a, (pid_t) (11 + i));
        }
        /* The fifth failed run: 1 + 4 runs done, retries spent. */
        exit_main(j, CLD_EXITED, 1, true, now + 1, &a);
        ASSERT_STREQ(PUBLIC(j), "failed");
        ASSERT_STREQ(job_result_to_string(j->result), "start-limit");
        ASSERT_EQ(j->timer_usec, USEC_INFINITY);

        /* A manual start forgets the failures. */
        a = (JobActions) {};
        job_start(j, now + 2, &a);
        ASSERT_STREQ(PUBLIC(j), "running");
        ASSERT_EQ(j->n_failures, 0);
        ASSERT_EQ(j->result, JOB_SUCCESS);
        job_free(j);
}

TEST(restart_reset_after_a_long_run) {
        Job *j = make_job((const char *const[]) {
                "ExecStart", "/bin/false", "Restart", "on-failure", "RestartSec", "1s",
                "RestartResetSec", "30s", NULL });
        JobActions a = {};

        job_start(j, 0, &a);
        spawned(j, &a, 10);
        exit_main(j, CLD_EXITED, 1, true, SEC, &a);
        a = (JobActions) {};
        job_on_timeout(j, 2 * SEC, &a);
        spawned(j, &a, 11);
        exit_main(j, CLD_EXITED, 1, true, 3 * SEC, &a);
        ASSERT_EQ(find(&a, JOB_ACTION_TIMER)->usec, 3 * SEC + 2 * SEC); /* doubled */
        a = (JobActions) {};
        job_on_timeout(j, 5 * SEC, &a);
        spawned(j, &a, 12);
        /* stays up 60 s: the next failure counts as the first again */
        exit_main(j, CLD_EXITED, 1, true, 65 * SEC, &a);
        ASSERT_EQ(j->n_failures, 1);
        ASSERT_EQ(find(&a, JOB_ACTION_TIMER)->usec, 66 * SEC);
        job_free(j);
}

TEST(restart_policies) {
        JobConfig *c;
        ASSERT_OK(job_config_new("x", NULL, 0, &c));
        c->restart = RESTART_NO;
        ASSERT_TRUE(!job_shall_restart(c, JOB_FAILURE_EXIT_CODE));
        c->restart = RESTART_ON_FAILURE;
        ASSERT_TRUE(job_shall_restart(c, JOB_FAILURE_EXIT_CODE));
        ASSERT_TRUE(job_shall_restart(c, JOB_FAILURE_SIGNAL));
        ASSERT_TRUE(job_shall_restart(c, JOB_FAILURE_TIMEOUT));
        ASSERT_TRUE(job_shall_restart(c, JOB_FAILURE_WATCHDOG));
        ASSERT_TRUE(!job_shall_restart(c, JOB_SUCCESS));
        c->restart = RESTART_ALWAYS;
        ASSERT_TRUE(job_shall_restart(c, JOB_SUCCESS));
        ASSERT_TRUE(!job_shall_restart(c, JOB_FAILURE_DEPENDENCY));

        c->restart_usec = SEC;
        c->restart_max_delay_usec = 60 * SEC;
        ASSERT_EQ(job_restart_delay(c, 1), SEC);
        ASSERT_EQ(job_restart_delay(c, 2), 2 * SEC);
        ASSERT_EQ(job_restart_delay(c, 6), 32 * SEC);
        ASSERT_EQ(job_restart_delay(c, 7), 60 * SEC);
        ASSERT_EQ(job_restart_delay(c, 1000000), 60 * SEC); /* no overflow */
        c->restart_usec = 90 * SEC; /* RestartSec= above the cap: the cap does not shorten it */
        ASSERT_EQ(job_restart_delay(c, 3), 90 * SEC);
        job_config_free(c);
}

TEST(clean_signals_are_success) {
        Job *j = make_job((const char *const[]) { "ExecStart", "/bin/sleep 1", "Restart", "on-failure", NULL });
        JobActions a = {};

        job_start(j, 0, &a);
        spawned(j, &a, 10);
        exit_main(j, CLD_KILLED, SIGTERM, true, SEC, &a);
        ASSERT_STREQ(PUBLIC(j), "stopped"); /* SIGTERM is clean: no restart */
        a = (JobActions) {};
        job_start(j, 2 * SEC, &a);
        spawned(j, &a, 11);
        exit_main(j, CLD_DUMPED, SIGSEGV, true, 3 * SEC, &a);
        ASSERT_STREQ(PUBLIC(j), "backoff");
        ASSERT_STREQ(job_result_to_string(j->result), "signal");
        job_free(j);
}

TEST(always_restarts_clean_exits) {
        Job *j = make_job((const char *const[]) { "ExecStart", "/bin/true", "Restart", "always", NULL });
        JobActions a = {};

        job_start(j, 0, &a);
        spawned(j, &a, 10);
        exit_main(j, CLD_EXITED, 0, true, SEC, &a);
        ASSERT_STREQ(PUBLIC(j), "backoff");
        ASSERT_EQ(j->n_failures, 0);
        ASSERT_EQ(find(&a, JOB_ACTION_TIMER)->usec, 2 * SEC);
        /* A stop during backoff cancels the restart. */
        a = (JobActions) {};
        job_stop(j, SEC + 1, &a);
        ASSERT_STREQ(PUBLIC(j), "stopped");
        ASSERT_EQ(j->timer_usec, USEC_INFINITY);
        job_free(j);
}

TEST(spawn_error) {
        Job *j = make_job((const char *const[]) { "ExecStart", "/no/such", NULL });
        JobActions a = {};
        ExitInfo e = { .main = true, .spawn_error = true, .group_empty = true };

        job_start(j, 0, &a);
        spawned(j, &a, 10);
        a = (JobActions) {};
        job_on_exit(j, &e, 1, &a);
        ASSERT_STREQ(PUBLIC(j), "failed");
        ASSERT_STREQ(job_result_to_string(j->result), "spawn-error");
        job_free(j);
}

TEST(oneshot) {
        Job *j = make_job((const char *const[]) {
                "Type", "oneshot", "ExecStart", "/bin/true", "ExecStart", "-/bin/false", "ExecStart", "/bin/true",
                NULL });
        JobActions a = {};

        job_start(j, 0, &a);
        ASSERT_STREQ(PUBLIC(j), "running"); /* oneshot: running while its command runs */
        ASSERT_EQ(find(&a, JOB_ACTION_TIMER)->usec, 90 * SEC); /* TimeoutStartSec */
        spawned(j, &a, 10);
        exit_main(j, CLD_EXITED, 0, true, SEC, &a);
        ASSERT_EQ(find(&a, JOB_ACTION_SPAWN)->index, 1);
        spawned(j, &a, 11);
        exit_main(j, CLD_EXITED, 1, true, SEC, &a); /* '-': failure ignored */
        ASSERT_EQ(find(&a, JOB_ACTION_SPAWN)->index, 2);
        spawned(j, &a, 12);
        exit_main(j, CLD_EXITED, 0, true, 2 * SEC, &a);
        ASSERT_STREQ(PUBLIC(j), "exited");
        ASSERT_EQ(j->result, JOB_SUCCESS);
        ASSERT_EQ(j->timer_usec, USEC_INFINITY);
        job_free(j);
}

TEST(oneshot_without_command) {
        /* ExecStop= only: systemd takes it as a oneshot with nothing to start. */
        Job *j = make_job((const char *const[]) { "ExecStop", "/bin/true", NULL });
        JobActions a = {};

        ASSERT_EQ(j->config->type, SERVICE_ONESHOT);
        job_start(j, 0, &a);
        ASSERT_STREQ(PUBLIC(j), "exited");
        ASSERT_TRUE(!find(&a, JOB_ACTION_SPAWN));
        ASSERT_EQ(j->timer_usec, USEC_INFINITY);
        job_free(j);
}

TEST(oneshot_failure_and_timeout) {
        Job *j = make_job((const char *const[]) { "Type", "oneshot", "ExecStart", "/bin/false",
                                                  "TimeoutStartSec", "5s", NULL });
        JobActions a = {};

        job_start(j, 0, &a);
        spawned(j, &a, 10);
        exit_main(j, CLD_EXITED, 2, true, SEC, &a);
        ASSERT_STREQ(PUBLIC(j), "failed");
        ASSERT_STREQ(job_result_to_string(j->result), "exit-code");

        a = (JobActions) {};
        job_start(j, 10 * SEC, &a);
        spawned(j, &a, 11);
        a = (JobActions) {};
        job_on_timeout(j, 15 * SEC, &a);
        ASSERT_STREQ(PUBLIC(j), "stopping");
        ASSERT_TRUE(has_kill(&a, SIGTERM, KILL_WHO_ALL));
        exit_main(j, CLD_KILLED, SIGTERM, true, 16 * SEC, &a);
        ASSERT_STREQ(PUBLIC(j), "failed");
        ASSERT_STREQ(job_result_to_string(j->result), "timeout");
        job_free(j);
}

TEST(start_pre_and_post) {
        Job *j = make_job((const char *const[]) {
                "ExecStartPre", "/bin/true", "ExecStartPre", "/bin/true", "ExecStart", "/bin/sleep 10",
                "ExecStartPost", "/bin/true", NULL });
        JobActions a = {};
        ExitInfo ok = { .main = false, .code = CLD_EXITED, .status = 0, .group_empty = true };

        job_start(j, 0, &a);
        ASSERT_EQ(j->state, JOB_START_PRE);
        ASSERT_TRUE(!find(&a, JOB_ACTION_SPAWN)->main);
        spawned(j, &a, 10);
        a = (JobActions) {};
        job_on_exit(j, &ok, 1, &a);
        ASSERT_EQ(j->state, JOB_START_PRE);
        ASSERT_EQ(find(&a, JOB_ACTION_SPAWN)->index, 1);
        spawned(j, &a, 11);
        a = (JobActions) {};
        job_on_exit(j, &ok, 2, &a);
        /* simple: the main process is up at once, ExecStartPost= runs beside it */
        ASSERT_EQ(j->state, JOB_START_POST);
        ASSERT_EQ(a.items[0].type, JOB_ACTION_SPAWN);
        ASSERT_TRUE(a.items[0].main);
        j->main_pid = 12;
        ASSERT_TRUE(a.items[2].type == JOB_ACTION_SPAWN && !a.items[2].main);
        j->control_pid = 13;
        a = (JobActions) {};
        job_on_exit(j, &ok, 3, &a);
        ASSERT_EQ(j->state, JOB_RUNNING);
        ASSERT_EQ(j->main_pid, 12);
        job_free(j);
}

TEST(start_pre_failure) {
        Job *j = make_job((const char *const[]) { "ExecStartPre", "/bin/false", "ExecStart", "/bin/sleep 10", NULL });
        JobActions a = {};
        ExitInfo bad = { .main = false, .code = CLD_EXITED, .status = 1, .group_empty = true };

        job_start(j, 0, &a);
        spawned(j, &a, 10);
        a = (JobActions) {};
        job_on_exit(j, &bad, 1, &a);
        ASSERT_STREQ(PUBLIC(j), "failed");
        ASSERT_TRUE(!find(&a, JOB_ACTION_SPAWN)); /* main never started */
        job_free(j);
}

TEST(exec_and_notify_wait_for_ready) {
        Job *j = make_job((const char *const[]) { "Type", "notify", "ExecStart", "/bin/x", "TimeoutStartSec", "2s", NULL });
        JobActions a = {};

        job_start(j, 0, &a);
        ASSERT_STREQ(PUBLIC(j), "starting");
        spawned(j, &a, 10);
        a = (JobActions) {};
        job_on_ready(j, SEC, &a);
        ASSERT_STREQ(PUBLIC(j), "running");
        ASSERT_EQ(j->timer_usec, USEC_INFINITY);
        job_free(j);

        j = make_job((const char *const[]) { "Type", "notify", "ExecStart", "/bin/x", "TimeoutStartSec", "2s",
                                             "Restart", "on-failure", NULL });
        a = (JobActions) {};
        job_start(j, 0, &a);
        spawned(j, &a, 10);
        a = (JobActions) {};
        job_on_timeout(j, 2 * SEC, &a); /* never ready */
        ASSERT_STREQ(PUBLIC(j), "stopping");
        exit_main(j, CLD_KILLED, SIGTERM, true, 3 * SEC, &a);
        ASSERT_STREQ(PUBLIC(j), "backoff"); /* a start timeout is unclean */
        ASSERT_STREQ(job_result_to_string(j->result), "timeout");
        job_free(j);
}

TEST(forking) {
        Job *j = make_job((const char *const[]) { "Type", "forking", "ExecStart", "/usr/sbin/daemon", NULL });
        JobActions a = {};

        job_start(j, 0, &a);
        spawned(j, &a, 10);
        exit_main(j, CLD_EXITED, 0, false, SEC, &a);
        ASSERT_TRUE(find(&a, JOB_ACTION_RESOLVE_MAIN_PID));
        ASSERT_STREQ(PUBLIC(j), "starting");
        a = (JobActions) {};
        job_on_main_pid(j, 42, SEC, &a);
        ASSERT_STREQ(PUBLIC(j), "running");
        ASSERT_EQ(j->main_pid, 42);
        job_free(j);

        j = make_job((const char *const[]) { "Type", "forking", "ExecStart", "/usr/sbin/daemon", NULL });
        a = (JobActions) {};
        job_start(j, 0, &a);
        spawned(j, &a, 10);
        exit_main(j, CLD_EXITED, 0, true, SEC, &a);
        a = (JobActions) {};
        job_on_main_pid(j, 0, SEC, &a); /* no daemon found: kill what may be left, then fail */
        ASSERT_STREQ(PUBLIC(j), "stopping");
        a = (JobActions) {};
        job_on_group_empty(j, 2 * SEC, &a);
        ASSERT_STREQ(PUBLIC(j), "failed");
        job_free(j);
}

TEST(exec_stop_then_signals) {
        Job *j = make_job((const char *const[]) { "ExecStart", "/bin/sleep 100", "ExecStop", "/bin/kill $MAINPID", NULL });
        JobActions a = {};
        ExitInfo ok = { .main = false, .code = CLD_EXITED, .status = 0, .group_empty = false };

        job_start(j, 0, &a);
        spawned(j, &a, 10);
        a = (JobActions) {};
        job_stop(j, SEC, &a);
        ASSERT_EQ(j->state, JOB_STOP);
        ASSERT_TRUE(!find(&a, JOB_ACTION_SPAWN)->main);
        spawned(j, &a, 11);
        exit_main(j, CLD_KILLED, SIGTERM, false, 2 * SEC, &a); /* ExecStop killed main */
        ASSERT_EQ(j->state, JOB_STOP);
        ok.group_empty = true;
        a = (JobActions) {};
        job_on_exit(j, &ok, 2 * SEC, &a);
        ASSERT_STREQ(PUBLIC(j), "stopped");
        job_free(j);
}

TEST(manual_restart) {
        Job *j = make_job((const char *const[]) { "ExecStart", "/bin/sleep 100", NULL });
        JobActions a = {};

        job_start(j, 0, &a);
        spawned(j, &a, 10);
        a = (JobActions) {};
        job_restart(j, SEC, &a);
        ASSERT_STREQ(PUBLIC(j), "stopping");
        exit_main(j, CLD_KILLED, SIGTERM, true, 2 * SEC, &a);
        ASSERT_STREQ(PUBLIC(j), "running");
        ASSERT_TRUE(find(&a, JOB_ACTION_SPAWN));
        ASSERT_TRUE(find(&a, JOB_ACTION_RUN_END) < find(&a, JOB_ACTION_SPAWN));
        job_free(j);
}

TEST(kill_modes) {
        Job *j = make_job((const char *const[]) { "ExecStart", "/bin/sleep 100", "KillMode", "mixed",
                                                  "KillSignal", "SIGINT", NULL });
        JobActions a = {};

        job_start(j, 0, &a);
        spawned(j, &a, 10);
        a = (JobActions) {};
        job_stop(j, SEC, &a);
        ASSERT_TRUE(has_kill(&a, SIGINT, KILL_WHO_MAIN));
        ASSERT_TRUE(!has_kill(&a, SIGINT, KILL_WHO_ALL));
        a = (JobActions) {};
        job_on_timeout(j, 20 * SEC, &a);
        ASSERT_TRUE(has_kill(&a, SIGKILL, KILL_WHO_ALL)); /* mixed: SIGKILL to all */
        job_free(j);
}

TEST(watchdog) {
        Job *j = make_job((const char *const[]) { "ExecStart", "/bin/sleep 100", "WatchdogSec", "2s",
                                                  "Restart", "on-failure", NULL });
        JobActions a = {};

        job_start(j, 0, &a);
        spawned(j, &a, 10);
        ASSERT_EQ(j->timer_usec, 2 * SEC);
        a = (JobActions) {};
        job_on_ready(j, SEC, &a); /* a heartbeat pushes the deadline: one timer, no scan */
        ASSERT_EQ(j->timer_usec, 3 * SEC);
        a = (JobActions) {};
        job_on_timeout(j, 3 * SEC, &a);
        ASSERT_TRUE(has_kill(&a, SIGABRT, KILL_WHO_ALL));
        /* No SIGTERM with it: it would end the process before it takes the SIGABRT. */
        ASSERT_TRUE(!has_kill(&a, SIGTERM, KILL_WHO_ALL));
        ASSERT_TRUE(!has_kill(&a, SIGTERM, KILL_WHO_MAIN));
        exit_main(j, CLD_DUMPED, SIGABRT, true, 4 * SEC, &a);
        ASSERT_STREQ(PUBLIC(j), "backoff");
        ASSERT_STREQ(job_result_to_string(j->result), "watchdog");
        job_free(j);
}

TEST(heartbeat_and_watchdog_usec) {
        Job *j = make_job((const char *const[]) { "ExecStart", "/bin/sleep 100", "Type", "notify", "Restart", "on-failure", NULL });
        JobActions a = {};

        /* No WatchdogSec=: a heartbeat arms nothing, a stale RUNNING timer does nothing. */
        job_start(j, 0, &a);
        spawned(j, &a, 10);
        ASSERT_STREQ(PUBLIC(j), "starting");
        a = (JobActions) {};
        ASSERT_OK(job_on_heartbeat(j, SEC, &a)); /* not ready: a heartbeat is no READY=1 */
        ASSERT_STREQ(PUBLIC(j), "starting");
        a = (JobActions) {};
        ASSERT_OK(job_set_watchdog(j, 5 * SEC, SEC, &a)); /* WATCHDOG_USEC= before READY=1 */
        ASSERT_EQ(job_watchdog_usec(j), 5 * SEC);
        a = (JobActions) {};
        job_on_ready(j, 2 * SEC, &a);
        ASSERT_STREQ(PUBLIC(j), "running");
        ASSERT_EQ(j->timer_usec, 7 * SEC); /* the override applies once running */
        a = (JobActions) {};
        ASSERT_OK(job_on_heartbeat(j, 4 * SEC, &a));
        ASSERT_EQ(j->timer_usec, 9 * SEC);
        a = (JobActions) {};
        ASSERT_OK(job_set_watchdog(j, 1 * SEC, 5 * SEC, &a)); /* a new interval restarts the count */
        ASSERT_EQ(j->timer_usec, 6 * SEC);
        ASSERT_EQ(job_set_watchdog(j, 0, 5 * SEC, &a), -EINVAL);
        a = (JobActions) {};
        job_on_timeout(j, 6 * SEC, &a);
        ASSERT_TRUE(has_kill(&a, SIGABRT, KILL_WHO_ALL));
        ASSERT_STREQ(job_result_to_string(j->result), "watchdog");
        exit_main(j, CLD_DUMPED, SIGABRT, true, 6 * SEC, &a);
        ASSERT_STREQ(PUBLIC(j), "backoff");
        /* The next run is back to WatchdogSec= (none). */
        a = (JobActions) {};
        job_on_timeout(j, 8 * SEC, &a);
        ASSERT_EQ(job_watchdog_usec(j), 0);
        job_free(j);
}

TEST(watchdog_trigger) {
        Job *j = make_job((const char *const[]) { "ExecStart", "/bin/sleep 100", NULL });
        JobActions a = {};

        job_start(j, 0, &a);
        spawned(j, &a, 10);
        a = (JobActions) {};
        ASSERT_OK(job_on_timeout(j, SEC, &a)); /* no watchdog: a stray RUNNING timeout is nothing */
        ASSERT_STREQ(PUBLIC(j), "running");
        ASSERT_EQ(a.n, 0);
        ASSERT_OK(job_on_watchdog(j, SEC, &a)); /* WATCHDOG=trigger works without WatchdogSec= */
        ASSERT_TRUE(has_kill(&a, SIGABRT, KILL_WHO_ALL));
        ASSERT_STREQ(PUBLIC(j), "stopping");
        ASSERT_STREQ(job_result_to_string(j->result), "watchdog");
        job_free(j);

        /* KillMode=mixed: the main process only, as its KillSignal= would be. */
        j = make_job((const char *const[]) { "ExecStart", "/bin/sleep 100", "KillMode", "mixed", NULL });
        a = (JobActions) {};
        job_start(j, 0, &a);
        spawned(j, &a, 10);
        a = (JobActions) {};
        ASSERT_OK(job_on_watchdog(j, SEC, &a));
        ASSERT_TRUE(has_kill(&a, SIGABRT, KILL_WHO_MAIN));
        ASSERT_TRUE(!has_kill(&a, SIGABRT, KILL_WHO_ALL));
        job_free(j);
}

TEST(extend_timeout) {
        Job *j = make_job((const char *const[]) { "ExecStart", "/bin/x", "Type", "notify", "TimeoutStartSec", "2s",
                                                  "TimeoutStopSec", "3s", NULL });
        JobActions a = {};

        job_start(j, 0, &a);
        spawned(j, &a, 10);
        ASSERT_EQ(j->timer_usec, 2 * SEC);
        a = (JobActions) {};
        ASSERT_OK(job_on_extend_timeout(j, 5 * SEC, SEC, &a));
        ASSERT_EQ(j->timer_usec, 6 * SEC);
        ASSERT_TRUE(find(&a, JOB_ACTION_TIMER));
        a = (JobActions) {};
        ASSERT_OK(job_on_extend_timeout(j, SEC, 2 * SEC, &a)); /* never earlier */
        ASSERT_EQ(j->timer_usec, 6 * SEC);
        ASSERT_EQ(a.n, 0);
        a = (JobActions) {};
        job_on_timeout(j, 6 * SEC, &a);
        ASSERT_STREQ(job_result_to_string(j->result), "timeout");
        ASSERT_STREQ(PUBLIC(j), "stopping");
        /* A stop can be extended too. */
        a = (JobActions) {};
        ASSERT_OK(job_on_extend_timeout(j, 10 * SEC, 7 * SEC, &a));
        ASSERT_EQ(j->timer_usec, 17 * SEC);
        job_free(j);
}

TEST(stopping_notified) {
        Job *j = make_job((const char *const[]) { "ExecStart", "/bin/x", "Restart", "always", "TimeoutStopSec", "3s", NULL });
        JobActions a = {};

        job_start(j, 0, &a);
        spawned(j, &a, 10);
        a = (JobActions) {};
        ASSERT_OK(job_on_stopping(j, SEC, &a));
        ASSERT_STREQ(PUBLIC(j), "stopping");
        ASSERT_TRUE(!find(&a, JOB_ACTION_KILL)); /* it stops by itself: no signal */
        ASSERT_EQ(j->timer_usec, 4 * SEC);
        exit_main(j, CLD_EXITED, 0, true, 2 * SEC, &a);
        ASSERT_STREQ(PUBLIC(j), "backoff"); /* Restart=always: back it comes */
        job_free(j);
}

/* Begin a reload of j at now, its command getting pid; a is cleared for what comes next. */
static void reload_begin(Job *j, usec_t now, pid_t pid, JobActions *a) {
        *a = (JobActions) {};
        ASSERT_OK(job_reload(j, now, a));
        spawned(j, a, pid);
        *a = (JobActions) {};
}

/* The reload has ended: the job runs on, the count and the result say how it went. */
static void reload_ended(const Job *j, uint64_t n, JobResult result) {
        ASSERT_EQ(j->state, JOB_RUNNING);
        ASSERT_EQ(j->reloads_ended, n);
        ASSERT_EQ(j->reload_result, result);
}

TEST(reload_results) {
        Job *j = make_job((const char *const[]) { "ExecStart", "/bin/sleep 100", "ExecReload", "/bin/a",
                                                  "ExecReload", "/bin/b", "TimeoutStartSec", "5s", NULL });
        JobActions a = {};
        ExitInfo ok = { .main = false, .code = CLD_EXITED, .status = 0, .group_empty = false };
        ExitInfo bad = { .main = false, .code = CLD_EXITED, .status = 3, .group_empty = false };

        job_start(j, 0, &a);
        spawned(j, &a, 10);
        /* Both commands succeed: one reload begun and ended, with success. */
        reload_begin(j, SEC, 11, &a);
        ASSERT_EQ(j->reloads_ended, 0);
        ASSERT_EQ(job_reload(j, SEC, &a), -EBUSY); /* one at a time: the waiters count on it */
        job_on_exit(j, &ok, SEC, &a);
        ASSERT_EQ(j->state, JOB_RELOAD); /* the second command */
        ASSERT_EQ(j->reloads_ended, 0);
        spawned(j, &a, 12);
        a = (JobActions) {};
        job_on_exit(j, &ok, SEC, &a);
        reload_ended(j, 1, JOB_SUCCESS);
        /* The first command fails: the reload ends there, with its result. */
        reload_begin(j, 2 * SEC, 13, &a);
        job_on_exit(j, &bad, 2 * SEC, &a);
        reload_ended(j, 2, JOB_FAILURE_EXIT_CODE);
        /* Past TimeoutStartSec=: timeout. */
        reload_begin(j, 3 * SEC, 14, &a);
        job_on_timeout(j, 8 * SEC, &a);
        reload_ended(j, 3, JOB_FAILURE_TIMEOUT);
        /* Stopped during a reload: ended, without a result of its own. */
        reload_begin(j, 9 * SEC, 15, &a);
        job_stop(j, 9 * SEC, &a);
        ASSERT_EQ(j->reloads_ended, 4);
        ASSERT_EQ(j->reload_result, _JOB_RESULT_INVALID);
        job_free(j);
}

TEST(dependency_failure) {
        Job *j = make_job((const char *const[]) { "ExecStart", "/bin/true", NULL });
        JobActions a = {};

        ASSERT_OK(job_fail_dependency(j, 0, &a));
        ASSERT_STREQ(PUBLIC(j), "failed");
        ASSERT_STREQ(job_result_to_string(j->result), "dependency");
        job_free(j);
}

TEST(tables) {
        for (int s = 0; s < _JOB_PUBLIC_STATE_MAX; s++)
                ASSERT_EQ(job_public_state_from_string(job_public_state_to_string(s)), s);
        for (int r = 0; r < _JOB_RESULT_MAX; r++)
                ASSERT_EQ(job_result_from_string(job_result_to_string(r)), r);
        ASSERT_EQ(job_result_from_string("nope"), -EINVAL);
}

int main(void) {
        RUN(simple_start_stop);
        RUN(stop_timeout_sigkill);
        RUN(leftover_processes_are_waited_for);
        RUN(restart_backoff_and_start_limit);
        RUN(restart_reset_after_a_long_run);
        RUN(restart_policies);
        RUN(clean_signals_are_success);
        RUN(always_restarts_clean_exits);
        RUN(spawn_error);
        RUN(oneshot);
        RUN(oneshot_without_command);
        RUN(oneshot_failure_and_timeout);
        RUN(start_pre_and_post);
        RUN(start_pre_failure);
        RUN(exec_and_notify_wait_for_ready);
        RUN(forking);
        RUN(exec_stop_then_signals);
        RUN(manual_restart);
        RUN(kill_modes);
        RUN(watchdog);
        RUN(heartbeat_and_watchdog_usec);
        RUN(watchdog_trigger);
        RUN(extend_timeout);
        RUN(stopping_notified);
        RUN(reload_results);
        RUN(dependency_failure);
        RUN(tables);
        return 0;
}
