/* The unit-syntax reader and the meaning of every key: every key of SPEC §3.2 with a good and a bad
 * value, every trap of §3.4, and the diagnostics (collected through a test sink) with PATH:LINE. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf-load.h"
#include "strv.h"
#include "tests.h"

/* Diagnostics sink: "W file:line: msg" / "E file:line: msg". */
typedef struct Collected {
        char *msgs[256];
        size_t n;
} Collected;

static void collect(void *userdata, DiagLevel level, const DiagLoc *loc, const char *msg) {
        Collected *c = userdata;
        char *f = diag_format(loc, msg), *s = NULL;

        ASSERT_TRUE(f);
        ASSERT_TRUE(asprintf(&s, "%c %s", level == DIAG_ERROR ? 'E' : 'W', f) > 0);
        free(f);
        if (c->n < ELEMENTSOF(c->msgs))
                c->msgs[c->n++] = s;
        else
                free(s);
}

static Collected col;
static const Diag diag = { .func = collect, .userdata = &col };

static void collected_reset(void) {
        for (size_t i = 0; i < col.n; i++)
                free(col.msgs[i]);
        col.n = 0;
}

static size_t count_diag(const char *needle) {
        size_t k = 0;
        for (size_t i = 0; i < col.n; i++)
                if (strstr(col.msgs[i], needle))
                        k++;
        return k;
}

static void dump_diag(void) {
        for (size_t i = 0; i < col.n; i++)
                fprintf(stderr, "    diag: %s\n", col.msgs[i]);
}

#define ASSERT_DIAG(needle, times)                                   \
        do {                                                         \
                if (count_diag(needle) != (times))                   \
                        dump_diag();                                 \
                ASSERT_EQ(count_diag(needle), (times));              \
        } while (0)

static JobConfig *parse_n(const char *text, size_t n) {
        JobConfig *c = NULL;
        collected_reset();
        ASSERT_OK(conf_unit_parse_string(text, n, "t.service", "t", &diag, &c));
        ASSERT_TRUE(c);
        return c;
}

static JobConfig *parse(const char *text) {
        return parse_n(text, strlen(text));
}

static JobConfig *parse_ok(const char *text) {
        JobConfig *c = parse(text);
        if (c->error) {
                dump_diag();
                fprintf(stderr, "unexpected error: %s\n", c->error);
        }
        ASSERT_TRUE(!c->error);
        return c;
}

/* A [Service] with ExecStart plus one more line. */
static JobConfig *service_with(const char *line) {
        char *text = NULL;
        JobConfig *c;
        ASSERT_TRUE(asprintf(&text, "[Service]\nExecStart=/bin/true\n%s\n", line) > 0);
        c = parse(text);
        free(text);
        return c;
}

static JobConfig *good(const char *line) {
        JobConfig *c = service_with(line);
        if (c->error)
                fprintf(stderr, "'%s' rejected: %s\n", line, c->error);
        ASSERT_TRUE(!c->error);
        return c;
}

/* A bad value is rejected with PATH:LINE (line 3 of service_with()) and the key name. */
static void bad(const char *line) {
        _cleanup_(job_config_freep) JobConfig *c = service_with(line);
        char key[128];

        if (!c->error || !strneq(c->error, "t.service:3: ", 13))
                fprintf(stderr, "'%s': %s\n", line, c->error ? c->error : "accepted");
        ASSERT_TRUE(c->error);
        ASSERT_TRUE(strneq(c->error, "t.service:3: ", 13));
        snprintf(key, sizeof(key), "%.*s", (int) strcspn(line, "="), line);
        ASSERT_TRUE(strstr(c->error, key));
        ASSERT_DIAG("E t.service:3: ", 1);
}

TEST(defaults) {
        _cleanup_(job_config_freep) JobConfig *c = NULL;

        ASSERT_OK(job_config_new("web", "/x/web.job", 1, &c));
        ASSERT_STREQ(c->name, "web");
        ASSERT_EQ(c->type, SERVICE_SIMPLE);
        ASSERT_EQ(c->restart, RESTART_NO);
        ASSERT_EQ(c->restart_usec, USEC_PER_SEC);
        ASSERT_EQ(c->restart_max_delay_usec, 60 * USEC_PER_SEC);
        ASSERT_EQ(c->restart_max_retries, 5);
        ASSERT_EQ(c->restart_reset_usec, 30 * USEC_PER_SEC);
        ASSERT_EQ(c->kill_signal, SIGTERM);
        ASSERT_TRUE(!c->kill_mode_set);
        ASSERT_EQ(c->timeout_stop_usec, 10 * USEC_PER_SEC);
        ASSERT_EQ(c->timeout_start_usec, 90 * USEC_PER_SEC);
        ASSERT_EQ(c->watchdog_usec, 0);
        ASSERT_EQ(c->notify_access, NOTIFY_MAIN);
        ASSERT_EQ(c->umask, 0022);
        ASSERT_TRUE(c->auto_start);
        ASSERT_EQ(c->std_output.kind, OUTPUT_LOG);
        ASSERT_EQ(c->std_error.kind, OUTPUT_LOG);
        ASSERT_EQ(c->log_format, LOG_FORMAT_TEXT);
        ASSERT_EQ(c->log_max_size, 10 * 1024 * 1024);
        ASSERT_EQ(c->log_max_files, 5);
        ASSERT_EQ(c->log_console, -1);
        ASSERT_TRUE(!c->error);
}

TEST(tables) {
        ASSERT_EQ(service_type_from_string("forking"), SERVICE_FORKING);
        ASSERT_STREQ(service_type_to_string(SERVICE_ONESHOT), "oneshot");
        ASSERT_EQ(service_type_from_string("dbus"), -EINVAL);
        ASSERT_EQ(restart_policy_from_string("never"), RESTART_NO);
        ASSERT_EQ(restart_policy_from_string("no"), RESTART_NO);
        ASSERT_EQ(restart_policy_from_string("always"), RESTART_ALWAYS);
        ASSERT_EQ(restart_policy_from_string(NULL), -EINVAL);
        ASSERT_STREQ(restart_policy_to_string(RESTART_ON_FAILURE), "on-failure");
        ASSERT_TRUE(restart_policy_to_string(_RESTART_POLICY_MAX) == NULL);
        ASSERT_EQ(kill_mode_from_string("process-group"), KILL_PROCESS_GROUP);
        ASSERT_STREQ(notify_access_to_string(NOTIFY_NONE), "none");
        ASSERT_EQ(log_format_from_string("json"), LOG_FORMAT_JSON);
        ASSERT_EQ(log_format_from_string("xml"), -EINVAL);
}

TEST(signals) {
        ASSERT_EQ(signal_from_string("SIGTERM"), SIGTERM);
        ASSERT_EQ(signal_from_string("TERM"), SIGTERM);
        ASSERT_EQ(signal_from_string("15"), 15);
        ASSERT_EQ(signal_from_string("SIGKILL"), SIGKILL);
        ASSERT_EQ(signal_from_string("SIGRTMIN"), SIGRTMIN);
        ASSERT_EQ(signal_from_string("SIGRTMIN+3"), SIGRTMIN + 3);
        ASSERT_EQ(signal_from_string("RTMIN+2"), SIGRTMIN + 2);
        ASSERT_EQ(signal_from_string("RTMAX-1"), SIGRTMAX - 1);
        ASSERT_EQ(signal_from_string("0"), -EINVAL);
        ASSERT_EQ(signal_from_string("99"), -EINVAL);
        ASSERT_EQ(signal_from_string("SIGFOO"), -EINVAL);
        ASSERT_EQ(signal_from_string("SIG15"), -EINVAL);
        ASSERT_EQ(signal_from_string("RTMIN+99"), -EINVAL);
        ASSERT_EQ(signal_from_string(""), -EINVAL);
        ASSERT_STREQ(signal_to_string(SIGTERM), "SIGTERM");
        ASSERT_STREQ(signal_to_string(SIGRTMIN + 4), "SIGRTMIN+4");
        ASSERT_TRUE(signal_to_string(0) == NULL);
        ASSERT_TRUE(signal_to_string(1000) == NULL);
}

TEST(names) {
        char long_name[JOB_NAME_MAX + 2];

        ASSERT_TRUE(job_name_is_valid("web"));
        ASSERT_TRUE(job_name_is_valid("getty@tty1"));
        ASSERT_TRUE(job_name_is_valid("a.b_c-d"));
        ASSERT_TRUE(!job_name_is_valid(""));
        ASSERT_TRUE(!job_name_is_valid("."));
        ASSERT_TRUE(!job_name_is_valid(".."));
        ASSERT_TRUE(!job_name_is_valid("a/b"));
        ASSERT_TRUE(!job_name_is_valid("a b"));
        ASSERT_TRUE(!job_name_is_valid(NULL));
        memset(long_name, 'a', sizeof(long_name));
        long_name[JOB_NAME_MAX] = '\0';
        ASSERT_TRUE(job_name_is_valid(long_name));
        long_name[JOB_NAME_MAX] = 'a';
        long_name[JOB_NAME_MAX + 1] = '\0';
        ASSERT_TRUE(!job_name_is_valid(long_name));
}

TEST(full_fixture) {
        _cleanup_(job_config_freep) JobConfig *c = NULL;

        collected_reset();
        ASSERT_OK(conf_unit_parse_file("fixtures/unit/full.service", "full", &diag, &c));
        if (c->error)
                fprintf(stderr, "%s\n", c->error);
        ASSERT_TRUE(!c->error);
        ASSERT_STREQ(c->description, "Full example for full.service");
        ASSERT_EQ(strv_length(c->after), 2);
        ASSERT_STREQ(c->after[0], "db");
        ASSERT_STREQ(c->after[1], "cache");
        ASSERT_STREQ(c->before[0], "late");
        ASSERT_STREQ(c->requires[0], "db");
        ASSERT_EQ(strv_length(c->wants), 1);
        ASSERT_DIAG("W fixtures/unit/full.service:4: After= refers to systemd units that are not jobs, ignoring: network.target", 1);
        ASSERT_DIAG("W fixtures/unit/full.service:7: Wants= refers to systemd units that are not jobs, ignoring: sockets.target", 1);
        ASSERT_DIAG("W fixtures/unit/full.service:8: Unknown key 'Documentation' in section [Unit], ignoring", 1);
        ASSERT_DIAG("W fixtures/unit/full.service:45: Unknown key 'PrivateTmp' in section [Service], ignoring", 1);
        ASSERT_EQ(col.n, 4);

        ASSERT_EQ(c->type, SERVICE_NOTIFY);
        ASSERT_EQ(c->exec_start_pre.n, 1);
        ASSERT_TRUE(c->exec_start_pre.commands[0].flags & EXEC_COMMAND_IGNORE_FAILURE);
        ASSERT_EQ(c->exec_start.n, 1);
        ASSERT_STREQ(c->exec_start.commands[0].path, "/usr/bin/full");
        ASSERT_EQ(c->exec_start.commands[0].line, 13);
        ASSERT_EQ(strv_length(c->exec_start.commands[0].argv), 4);
        ASSERT_STREQ(c->exec_start.commands[0].argv[3], "--verbose");
        ASSERT_EQ(c->exec_start_post.n, 1);
        ASSERT_EQ(c->exec_stop.n, 1);
        ASSERT_STREQ(c->exec_stop.commands[0].argv[2], "$MAINPID");
        ASSERT_EQ(c->exec_reload.n, 1);
        ASSERT_STREQ(c->pid_file, "/run/full.pid");
        ASSERT_STREQ(c->working_directory, "/srv/full");
        ASSERT_TRUE(c->working_directory_optional);
        ASSERT_STREQ(c->user, "nobody");
        ASSERT_STREQ(c->group, "nogroup");
        ASSERT_EQ(strv_length(c->supplementary_groups), 2);
        ASSERT_EQ(c->umask, 0027);
        ASSERT_STREQ(strv_env_get(c->environment, "A"), "1");
        ASSERT_STREQ(strv_env_get(c->environment, "B"), "2 3");
        ASSERT_STREQ(strv_env_get(c->environment, "C"), "full");
        ASSERT_STREQ(c->environment_files[0], "-/etc/default/full");
        ASSERT_EQ(c->restart, RESTART_ON_FAILURE);
        ASSERT_EQ(c->restart_usec, 500 * USEC_PER_MSEC);
        ASSERT_EQ(c->restart_max_delay_usec, 120 * USEC_PER_SEC);
        ASSERT_EQ(c->restart_max_retries, 3);
        ASSERT_EQ(c->restart_reset_usec, 3600 * USEC_PER_SEC);
        ASSERT_EQ(c->kill_signal, SIGINT);
        ASSERT_EQ(c->kill_mode, KILL_MIXED);
        ASSERT_TRUE(c->kill_mode_set);
        ASSERT_EQ(c->timeout_stop_usec, USEC_INFINITY);
        ASSERT_EQ(c->timeout_start_usec, 5 * USEC_PER_SEC);
        ASSERT_EQ(c->watchdog_usec, 30 * USEC_PER_SEC);
        ASSERT_EQ(c->notify_access, NOTIFY_ALL);
        ASSERT_TRUE(c->rlimits[RLIMIT_NOFILE].set);
        ASSERT_EQ(c->rlimits[RLIMIT_NOFILE].rlim.rlim_cur, 1024);
        ASSERT_EQ(c->rlimits[RLIMIT_NOFILE].rlim.rlim_max, 4096);
        ASSERT_TRUE(c->rlimits[RLIMIT_CORE].rlim.rlim_max == RLIM_INFINITY);
        ASSERT_EQ(c->rlimits[RLIMIT_NPROC].rlim.rlim_cur, 100);
        ASSERT_TRUE(!c->rlimits[RLIMIT_AS].set);
        ASSERT_EQ(c->std_output.kind, OUTPUT_APPEND);
        ASSERT_STREQ(c->std_output.path, "/var/log/full.out");
        ASSERT_EQ(c->std_error.kind, OUTPUT_NULL);
        ASSERT_TRUE(!c->auto_start);
        ASSERT_STREQ(c->runner, "docker");
        ASSERT_EQ(c->log_format, LOG_FORMAT_JSON);
        ASSERT_EQ(c->log_max_size, 50 * 1024 * 1024);
        ASSERT_EQ(c->log_max_files, 3);
        ASSERT_EQ(c->log_console, 1);
        ASSERT_STREQ(c->runner_settings[0], "Image=debian:12");
}

TEST(every_key_good_and_bad) {
        JobConfig *c;

        c = good("Type=simple"); job_config_free(c);
        c = good("Type=exec"); job_config_free(c);
        c = good("Type=forking"); job_config_free(c);
        c = good("Type=dbus"); ASSERT_EQ(c->type, SERVICE_SIMPLE); job_config_free(c);
        ASSERT_DIAG("W t.service:3: Type=dbus is not supported", 1);
        bad("Type=fast");
        c = good("ExecStartPre=/bin/a"); job_config_free(c);
        bad("ExecStartPre=/bin/a 'x");
        bad("ExecStart=-");
        c = good("ExecStartPost=/bin/a"); job_config_free(c);
        bad("ExecStartPost=echo a ; echo b");
        c = good("ExecStop=/bin/a"); job_config_free(c);
        bad("ExecStop=\"\"");
        c = good("ExecReload=/bin/a"); job_config_free(c);
        bad("ExecReload=@/bin/a");
        c = good("PIDFile=/run/x.pid"); ASSERT_STREQ(c->pid_file, "/run/x.pid"); job_config_free(c);
        c = good("WorkingDirectory=~"); ASSERT_TRUE(c->working_directory_home); job_config_free(c);
        c = good("WorkingDirectory=/tmp"); ASSERT_STREQ(c->working_directory, "/tmp"); job_config_free(c);
        bad("WorkingDirectory=relative/dir");
        c = good("User=www-data"); job_config_free(c);
        c = good("User=1000"); job_config_free(c);
        bad("User=a:b");
        c = good("Group=adm"); job_config_free(c);
        bad("Group=a b");
        c = good("SupplementaryGroups=a b"); job_config_free(c);
        bad("SupplementaryGroups=a:b");
        c = good("UMask=077"); ASSERT_EQ(c->umask, 077); job_config_free(c);
        bad("UMask=0999");
        bad("UMask=01777");
        c = good("Environment=X=1"); job_config_free(c);
        bad("Environment=\"X=1");
        c = good("Environment=novalue"); ASSERT_EQ(strv_length(c->environment), 0); job_config_free(c);
        ASSERT_DIAG("W t.service:3: Invalid environment assignment 'novalue', ignoring", 1);
        c = good("EnvironmentFile=/etc/x"); job_config_free(c);
        bad("EnvironmentFile=relative");
        c = good("Restart=always"); ASSERT_EQ(c->restart, RESTART_ALWAYS); job_config_free(c);
        c = good("Restart=never"); ASSERT_EQ(c->restart, RESTART_NO); job_config_free(c);
        c = good("Restart=on-abnormal"); ASSERT_EQ(c->restart, RESTART_ON_FAILURE); job_config_free(c);
        bad("Restart=sometimes");
        ASSERT_DIAG("Invalid value 'sometimes' for Restart=: expected no, on-failure or always", 1);
        c = good("RestartSec=2"); ASSERT_EQ(c->restart_usec, 2 * USEC_PER_SEC); job_config_free(c);
        bad("RestartSec=soon");
        c = good("RestartMaxDelaySec=5min"); job_config_free(c);
        bad("RestartMaxDelaySec=5 parsecs");
        c = good("RestartMaxRetries=0"); ASSERT_EQ(c->restart_max_retries, 0); job_config_free(c);
        bad("RestartMaxRetries=-1");
        c = good("StartLimitBurst=7"); ASSERT_EQ(c->restart_max_retries, 7); job_config_free(c);
        bad("StartLimitBurst=many");
        c = good("RestartResetSec=10s"); job_config_free(c);
        bad("RestartResetSec=10q");
        c = good("KillSignal=SIGKILL"); ASSERT_EQ(c->kill_signal, SIGKILL); job_config_free(c);
        c = good("KillSignal=9"); ASSERT_EQ(c->kill_signal, 9); job_config_free(c);
        bad("KillSignal=SIGNOPE");
        c = good("KillMode=process"); ASSERT_EQ(c->kill_mode, KILL_PROCESS); job_config_free(c);
        c = good("KillMode=control-group"); ASSERT_TRUE(c->kill_mode_set); job_config_free(c);
        bad("KillMode=everything");
        c = good("TimeoutStopSec=0"); ASSERT_EQ(c->timeout_stop_usec, USEC_INFINITY); job_config_free(c);
        bad("TimeoutStopSec=never");
        c = good("TimeoutStartSec=infinity"); ASSERT_EQ(c->timeout_start_usec, USEC_INFINITY); job_config_free(c);
        bad("TimeoutStartSec=x");
        c = good("TimeoutSec=7"); ASSERT_EQ(c->timeout_start_usec, 7 * USEC_PER_SEC);
        ASSERT_EQ(c->timeout_stop_usec, 7 * USEC_PER_SEC); job_config_free(c);
        bad("TimeoutSec=y");
        c = good("WatchdogSec=0"); ASSERT_EQ(c->watchdog_usec, 0); job_config_free(c);
        bad("WatchdogSec=fast");
        c = good("NotifyAccess=none"); ASSERT_EQ(c->notify_access, NOTIFY_NONE); job_config_free(c);
        bad("NotifyAccess=some");
        c = good("StandardOutput=journal"); ASSERT_EQ(c->std_output.kind, OUTPUT_LOG); job_config_free(c);
        c = good("StandardOutput=syslog+console"); ASSERT_EQ(c->std_output.kind, OUTPUT_LOG); job_config_free(c);
        c = good("StandardOutput=inherit"); ASSERT_EQ(c->std_output.kind, OUTPUT_INHERIT); job_config_free(c);
        c = good("StandardOutput=file:/tmp/o"); ASSERT_EQ(c->std_output.kind, OUTPUT_FILE); job_config_free(c);
        c = good("StandardOutput=tty"); ASSERT_EQ(c->std_output.kind, OUTPUT_LOG); job_config_free(c);
        ASSERT_DIAG("W t.service:3: StandardOutput=tty is not supported, using log", 1);
        bad("StandardOutput=file:relative");
        bad("StandardOutput=printer");
        c = good("StandardError=append:/tmp/e"); ASSERT_EQ(c->std_error.kind, OUTPUT_APPEND); job_config_free(c);
        bad("StandardError=somewhere");
        c = good("AutoStart=false"); ASSERT_TRUE(!c->auto_start); job_config_free(c);
        bad("AutoStart=maybe");
        c = good("Runner=oci"); ASSERT_STREQ(c->runner, "oci"); job_config_free(c);
        c = good("LimitNOFILE=65536"); ASSERT_EQ(c->rlimits[RLIMIT_NOFILE].rlim.rlim_max, 65536); job_config_free(c);
        bad("LimitNOFILE=lots");
        bad("LimitNOFILE=10:5");
        c = good("LimitCORE=1G:infinity"); ASSERT_EQ(c->rlimits[RLIMIT_CORE].rlim.rlim_cur, 1ULL << 30);
        ASSERT_TRUE(c->rlimits[RLIMIT_CORE].rlim.rlim_max == RLIM_INFINITY); job_config_free(c);
        bad("LimitCORE=infinity:1G");
        c = good("LimitCPU=1min"); ASSERT_EQ(c->rlimits[RLIMIT_CPU].rlim.rlim_cur, 60); job_config_free(c);
        c = good("LimitCPU=1500ms"); ASSERT_EQ(c->rlimits[RLIMIT_CPU].rlim.rlim_cur, 2); job_config_free(c);
        bad("LimitCPU=1parsec");
        c = good("LimitRTTIME=20"); ASSERT_EQ(c->rlimits[RLIMIT_RTTIME].rlim.rlim_cur, 20); job_config_free(c);
        c = good("LimitNICE=-5"); ASSERT_EQ(c->rlimits[RLIMIT_NICE].rlim.rlim_cur, 25); job_config_free(c);
        c = good("LimitNICE=30"); ASSERT_EQ(c->rlimits[RLIMIT_NICE].rlim.rlim_cur, 30); job_config_free(c);
        bad("LimitNICE=-21");
        c = good("LimitMEMLOCK=64K"); job_config_free(c);
        c = good("LimitFSIZE=infinity"); job_config_free(c);
        c = good("LimitDATA=1G"); job_config_free(c);
        c = good("LimitSTACK=8M"); job_config_free(c);
        c = good("LimitRSS=1G"); job_config_free(c);
        c = good("LimitAS=infinity"); job_config_free(c);
        c = good("LimitNPROC=10:20"); job_config_free(c);
        c = good("LimitLOCKS=100"); job_config_free(c);
        c = good("LimitSIGPENDING=100"); job_config_free(c);
        c = good("LimitMSGQUEUE=800K"); job_config_free(c);
        c = good("LimitRTPRIO=10"); job_config_free(c);
        bad("LimitRTPRIO=high");
}

static JobConfig *log_with(const char *line) {
        char *text = NULL;
        JobConfig *c;
        ASSERT_TRUE(asprintf(&text, "[Service]\nExecStart=/bin/true\n[Log]\n%s\n", line) > 0);
        c = parse(text);
        free(text);
        return c;
}

TEST(log_and_unit_keys) {
        JobConfig *c;

        c = log_with("Format=text"); ASSERT_TRUE(!c->error); job_config_free(c);
        c = log_with("Format=xml"); ASSERT_TRUE(c->error); ASSERT_TRUE(strneq(c->error, "t.service:4: ", 13));
        job_config_free(c);
        c = log_with("MaxSize=1G"); ASSERT_EQ(c->log_max_size, 1ULL << 30); job_config_free(c);
        c = log_with("MaxSize=big"); ASSERT_TRUE(c->error); job_config_free(c);
        c = log_with("MaxFiles=0"); ASSERT_EQ(c->log_max_files, 0); job_config_free(c);
        c = log_with("MaxFiles=x"); ASSERT_TRUE(c->error); job_config_free(c);
        c = log_with("Console=no"); ASSERT_EQ(c->log_console, 0); job_config_free(c);
        c = log_with("Console=loud"); ASSERT_TRUE(c->error); job_config_free(c);
        c = log_with("OnWriteError=drop"); ASSERT_TRUE(c->log_drop_on_error); job_config_free(c);
        c = log_with("OnWriteError=block"); ASSERT_TRUE(!c->log_drop_on_error && !c->error); job_config_free(c);
        c = log_with("OnWriteError=later"); ASSERT_TRUE(c->error); job_config_free(c);
        c = log_with("ExecStart=/bin/x"); ASSERT_TRUE(!c->error); job_config_free(c);
        ASSERT_DIAG("W t.service:4: Unknown key 'ExecStart' in section [Log], ignoring", 1);

        c = parse_ok("[Job]\nDescription=alias\nAfter=a.job b.service c.socket bad/name\n"
                     "[Service]\nExecStart=/bin/true\n");
        ASSERT_STREQ(c->description, "alias");
        ASSERT_EQ(strv_length(c->after), 2);
        ASSERT_DIAG("W t.service:3: Invalid job name 'bad/name' in After=, ignoring", 1);
        ASSERT_DIAG("W t.service:3: After= refers to systemd units that are not jobs, ignoring: c.socket", 1);
        job_config_free(c);

        /* Install is silent, Runner keeps raw assignments. */
        c = parse_ok("[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=x.target\nAlias=y\n"
                     "[Runner]\nA = b c\n");
        ASSERT_EQ(col.n, 0);
        ASSERT_STREQ(c->runner_settings[0], "A=b c");
        job_config_free(c);
}

TEST(traps) {
        JobConfig *c;
        char *big, *text;
        size_t n = 100 * 1024;

        /* No inline comments. */
        c = parse_ok("[Service]\nExecStart=sh -c 'echo a ; echo b' # not a comment\n");
        ASSERT_STREQ(c->exec_start.commands[0].argv[2], "echo a ; echo b");
        ASSERT_STREQ(c->exec_start.commands[0].argv[3], "#");
        job_config_free(c);
        c = parse_ok("[Unit]\nDescription=a ; b # c\n[Service]\nExecStart=/bin/true\n");
        ASSERT_STREQ(c->description, "a ; b # c");
        job_config_free(c);

        /* A 100 KiB line. */
        big = malloc(n + 1);
        ASSERT_TRUE(big);
        memset(big, 'x', n);
        big[n] = '\0';
        ASSERT_TRUE(asprintf(&text, "[Service]\nExecStart=/bin/echo %s\n", big) > 0);
        c = parse_ok(text);
        ASSERT_EQ(strlen(c->exec_start.commands[0].argv[1]), n);
        job_config_free(c);
        free(text);
        free(big);

        /* CRLF, BOM, no final newline. */
        c = parse_ok("\xef\xbb\xbf[Unit]\r\nDescription=crlf\r\n[Service]\r\nExecStart=/bin/true x\r\nRestart=always");
        ASSERT_STREQ(c->description, "crlf");
        ASSERT_STREQ(c->exec_start.commands[0].argv[1], "x");
        ASSERT_EQ(c->restart, RESTART_ALWAYS);
        job_config_free(c);

        /* Continuation: joined with a space, comment lines inside skipped, CRLF too. */
        c = parse_ok("[Service]\nExecStart=/bin/echo a \\\n# skipped\n; skipped\n   b\\\r\nc\nRestart=always\\\n");
        ASSERT_EQ(strv_length(c->exec_start.commands[0].argv), 4);
        ASSERT_STREQ(c->exec_start.commands[0].argv[2], "b");
        ASSERT_STREQ(c->exec_start.commands[0].argv[3], "c");
        ASSERT_EQ(c->exec_start.commands[0].line, 2);
        ASSERT_EQ(c->restart, RESTART_ALWAYS);
        job_config_free(c);
        /* An escaped backslash at the end is not a continuation. */
        c = parse_ok("[Service]\nExecStart=/bin/echo a\\\\\nRestart=always\n");
        ASSERT_STREQ(c->exec_start.commands[0].argv[1], "a\\");
        ASSERT_EQ(c->restart, RESTART_ALWAYS);
        job_config_free(c);
        /* A comment ending in a backslash does not swallow the next line. */
        c = parse_ok("[Service]\n# comment \\\nExecStart=/bin/true\n");
        ASSERT_EQ(c->exec_start.n, 1);
        job_config_free(c);

        /* Repeated keys add, an empty value resets. */
        c = parse_ok("[Unit]\nAfter=a\nAfter=b c\n[Service]\nType=oneshot\nExecStart=/bin/a\nExecStart=/bin/b\n"
                     "Environment=A=1\nEnvironment=B=2\nExecStartPre=/bin/x\nExecStartPre=\nExecStartPre=/bin/y\n"
                     "SupplementaryGroups=a\nSupplementaryGroups=\nEnvironmentFile=/a\nEnvironmentFile=/b\n");
        ASSERT_EQ(strv_length(c->after), 3);
        ASSERT_EQ(c->exec_start.n, 2);
        ASSERT_EQ(strv_length(c->environment), 2);
        ASSERT_EQ(c->exec_start_pre.n, 1);
        ASSERT_STREQ(c->exec_start_pre.commands[0].path, "/bin/y");
        ASSERT_EQ(strv_length(c->supplementary_groups), 0);
        ASSERT_EQ(strv_length(c->environment_files), 2);
        job_config_free(c);
        c = parse_ok("[Unit]\nAfter=a\nAfter=\n[Service]\nExecStart=/bin/a\nEnvironment=A=1\nEnvironment=\n");
        ASSERT_EQ(strv_length(c->after), 0);
        ASSERT_EQ(strv_length(c->environment), 0);
        job_config_free(c);

        /* Whitespace around key and value. */
        c = parse_ok("  [Service]  \n  ExecStart  =   /bin/true   \n\tRestart\t=\talways\t\n");
        ASSERT_STREQ(c->exec_start.commands[0].path, "/bin/true");
        ASSERT_EQ(c->restart, RESTART_ALWAYS);
        job_config_free(c);
}

TEST(warnings) {
        JobConfig *c;

        c = parse_ok("Description=before\n[Service]\nExecStart=/bin/true\nProtectSystem=full\nPrivateTmp=yes\n"
                     "ProtectSystem=strict\njunk line\n[Socket]\nListenStream=80\nAccept=no\n[X-Foo]\nA=b\n"
                     "[Unit]\nConditionPathExists=/x\nStartLimitIntervalSec=10\n");
        ASSERT_DIAG("W t.service:1: Assignment outside of a section, ignoring", 1);
        ASSERT_DIAG("W t.service:4: Unknown key 'ProtectSystem' in section [Service], ignoring", 1);
        ASSERT_DIAG("W t.service:5: Unknown key 'PrivateTmp' in section [Service], ignoring", 1);
        ASSERT_DIAG("W t.service:6: Unknown key 'ProtectSystem' in section [Service], ignoring", 1);
        ASSERT_DIAG("W t.service:7: Missing '=', ignoring", 1);
        ASSERT_DIAG("W t.service:8: Unknown section [Socket], ignoring", 1);
        ASSERT_DIAG("ListenStream", 0);
        ASSERT_DIAG("W t.service:11: Unknown section [X-Foo], ignoring", 1);
        ASSERT_DIAG("W t.service:14: Unknown key 'ConditionPathExists' in section [Unit]", 1);
        ASSERT_DIAG("W t.service:15: Unknown key 'StartLimitIntervalSec' in section [Unit]", 1);
        ASSERT_EQ(col.n, 9);
        job_config_free(c);
}

TEST(errors) {
        JobConfig *c;

        c = parse("[Service]\nRestart=sometimes\nExecStart=/bin/true\nType=bad\n");
        ASSERT_STREQ(c->error, "t.service:2: Invalid value 'sometimes' for Restart=: expected no, on-failure or always");
        ASSERT_DIAG("E ", 1); /* stops at the first error */
        job_config_free(c);

        c = parse("[Unit]\nDescription=x\n");
        ASSERT_STREQ(c->error, "t.service: Missing ExecStart=");
        ASSERT_DIAG("E t.service: Missing ExecStart=", 1);
        job_config_free(c);

        c = parse("[Service]\nExecStart=/bin/a\nExecStart=/bin/b\n");
        ASSERT_TRUE(strstr(c->error, "Type=oneshot"));
        job_config_free(c);

        c = parse("[Service\nExecStart=/bin/a\n");
        ASSERT_STREQ(c->error, "t.service:1: Invalid section header '[Service'");
        job_config_free(c);

        c = parse_n("[Service]\nExecStart=/bin/a\0b\n", sizeof("[Service]\nExecStart=/bin/a\0b\n") - 1);
        ASSERT_STREQ(c->error, "t.service:2: Line contains a NUL byte");
        job_config_free(c);

        c = parse("[Service]\nExecStart=/bin/true\nDescription=\xff\xfe\n");
        ASSERT_STREQ(c->error, "t.service:3: Line is not valid UTF-8");
        job_config_free(c);
        c = parse("[Service]\nExecStart=/bin/echo \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\n");
        ASSERT_TRUE(!c->error);
        job_config_free(c);
        c = parse("[Service]\nExecStart=/bin/echo \xc0\xaf\n"); /* overlong '/' */
        ASSERT_TRUE(c->error);
        job_config_free(c);

        collected_reset();
        ASSERT_OK(conf_unit_parse_string("", 0, "t.service", "bad name", &diag, &c));
        ASSERT_TRUE(strstr(c->error, "Invalid job name"));
        job_config_free(c);

        c = parse("");
        ASSERT_STREQ(c->error, "t.service: Missing ExecStart=");
        job_config_free(c);
}

TEST(file_errors) {
        JobConfig *c = NULL;
        char dir[] = "/tmp/test-config-unit-XXXXXX";
        char *p = NULL;
        int fd;

        collected_reset();
        ASSERT_OK(conf_unit_parse_file("fixtures/unit/does-not-exist.service", "x", &diag, &c));
        ASSERT_STREQ(c->error, "fixtures/unit/does-not-exist.service: No such file or directory");
        ASSERT_DIAG("E fixtures/unit/does-not-exist.service: No such file or directory", 1);
        job_config_free(c);

        ASSERT_OK(conf_unit_parse_file("fixtures/unit", "x", &diag, &c));
        ASSERT_STREQ(c->error, "fixtures/unit: Is a directory");
        job_config_free(c);

        ASSERT_OK(conf_unit_parse_file("fixtures/unit/bad-value.service", "bad-value", &diag, &c));
        ASSERT_STREQ(c->error, "fixtures/unit/bad-value.service:3: Invalid value 'sometimes' for Restart=: "
                               "expected no, on-failure or always");
        job_config_free(c);
        ASSERT_OK(conf_unit_parse_file("fixtures/unit/no-exec.service", "no-exec", &diag, &c));
        ASSERT_STREQ(c->error, "fixtures/unit/no-exec.service: Missing ExecStart=");
        job_config_free(c);

        if (geteuid() != 0) {
                ASSERT_TRUE(mkdtemp(dir));
                ASSERT_TRUE(asprintf(&p, "%s/secret.service", dir) > 0);
                fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0000);
                ASSERT_TRUE(fd >= 0);
                close(fd);
                ASSERT_OK(conf_unit_parse_file(p, "secret", &diag, &c));
                ASSERT_TRUE(strstr(c->error, ": Permission denied"));
                job_config_free(c);
                unlink(p);
                rmdir(dir);
                free(p);
        }
}

TEST(specifiers) {
        JobConfig *c = NULL;

        collected_reset();
        ASSERT_OK(conf_unit_parse_string("[Unit]\nDescription=%n %N %p %i %I %t %S %L %h %u %% %q\n"
                                         "[Service]\nUser=alice\nExecStart=/bin/echo %i %f\n"
                                         "Environment=DIR=%t/%p\nWorkingDirectory=%S/%p\n",
                                         strlen("[Unit]\nDescription=%n %N %p %i %I %t %S %L %h %u %% %q\n"
                                                "[Service]\nUser=alice\nExecStart=/bin/echo %i %f\n"
                                                "Environment=DIR=%t/%p\nWorkingDirectory=%S/%p\n"),
                                         "/etc/pmd/getty@tty-1.service", "getty@tty-1", &diag, &c));
        ASSERT_TRUE(!c->error);
        /* %u is expanded before User= is read: the Description line comes first. */
        ASSERT_STREQ(c->description, "getty@tty-1.service getty@tty-1 getty tty-1 tty/1 /run /var/lib /var/log "
                                     "/root root % %q");
        ASSERT_DIAG("W /etc/pmd/getty@tty-1.service:2: Unknown or unsupported specifier '%q' in Description=", 1);
        ASSERT_STREQ(c->exec_start.commands[0].argv[1], "tty-1");
        ASSERT_STREQ(c->exec_start.commands[0].argv[2], "/tty/1");
        ASSERT_STREQ(strv_env_get(c->environment, "DIR"), "/run/getty");
        ASSERT_STREQ(c->working_directory, "/var/lib/getty");
        job_config_free(c);

        c = parse_ok("[Unit]\nDescription=trailing %\n[Service]\nExecStart=/bin/echo 100%%\n");
        ASSERT_STREQ(c->description, "trailing %");
        ASSERT_STREQ(c->exec_start.commands[0].argv[1], "100%");
        job_config_free(c);
}

TEST(fingerprint) {
        JobConfig *a, *b, *d, *e;

        a = parse_ok("[Service]\nExecStart=/bin/true\nRestart=always\n");
        b = parse_ok("# same assignments, other layout\n[Service]\n  ExecStart = /bin/true\r\nRestart=always");
        d = parse_ok("[Service]\nExecStart=/bin/true\nRestart=on-failure\n");
        e = parse_ok("[Service]\nExecStart=/bin/true\nRestart=always\nPrivateTmp=yes\n");
        ASSERT_TRUE(a->fingerprint == b->fingerprint);
        ASSERT_TRUE(a->fingerprint != d->fingerprint);
        ASSERT_TRUE(a->fingerprint != e->fingerprint);
        job_config_free(a);
        job_config_free(b);
        job_config_free(d);
        job_config_free(e);
}

TEST(assign_api) {
        _cleanup_(job_config_freep) JobConfig *c = NULL;
        DiagLoc loc = { .file = "jobs.yaml", .line = 7, .column = 5 };

        ASSERT_OK(job_config_new("w", "jobs.yaml", 3, &c));
        collected_reset();
        ASSERT_OK(job_config_assign(c, "Service", "ExecStart", "/bin/true", &loc, &diag));
        ASSERT_OK(job_config_assign(c, "Nope", "A", "b", &loc, &diag));
        ASSERT_DIAG("W jobs.yaml:7:5: Unknown section [Nope], ignoring", 1);
        ASSERT_EQ(job_config_assign(c, "Service", "Restart", "x", &loc, &diag), -EINVAL);
        ASSERT_TRUE(strneq(c->error, "jobs.yaml:7:5: Invalid value 'x'", 32));
        ASSERT_OK(job_config_set_error(c, NULL, "later"));
        ASSERT_TRUE(strneq(c->error, "jobs.yaml:7:5:", 14)); /* the first error stays */

        ASSERT_TRUE(job_config_key_is_list("Service", "ExecStart"));
        ASSERT_TRUE(job_config_key_is_list("Service", "Environment"));
        ASSERT_TRUE(job_config_key_is_list("Unit", "After"));
        ASSERT_TRUE(job_config_key_is_list("Job", "Wants"));
        ASSERT_TRUE(job_config_key_is_list("Service", "SupplementaryGroups"));
        ASSERT_TRUE(!job_config_key_is_list("Service", "Restart"));
        ASSERT_TRUE(!job_config_key_is_list("Log", "ExecStart"));
        ASSERT_STREQ(job_config_key_section("ExecStart"), "Service");
        ASSERT_STREQ(job_config_key_section("Requires"), "Unit");
        ASSERT_STREQ(job_config_key_section("MaxFiles"), "Log");
        ASSERT_STREQ(job_config_key_section("LimitNOFILE"), "Service");
        ASSERT_TRUE(job_config_key_section("PrivateTmp") == NULL);
        ASSERT_TRUE(job_config_section_is_known("Install"));
        ASSERT_TRUE(!job_config_section_is_known("Socket"));
}

int main(void) {
        RUN(defaults);
        RUN(tables);
        RUN(signals);
        RUN(names);
        RUN(full_fixture);
        RUN(every_key_good_and_bad);
        RUN(log_and_unit_keys);
        RUN(traps);
        RUN(warnings);
        RUN(errors);
        RUN(file_errors);
        RUN(specifiers);
        RUN(fingerprint);
        RUN(assign_api);
        collected_reset();
        return 0;
}
