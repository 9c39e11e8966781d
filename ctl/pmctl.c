/* pmctl, the control tool of pmd (SPEC §9): the global options, the verb table and main(). The
 * verbs live in ctl-jobs.c (jobs) and ctl-admin.c (the daemon, audit, backup, users); they talk
 * to pmd over D-Bus only (ctl-bus.c) and print through ctl-output.c. */

#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

bool arg_user = false;
const char *arg_socket = NULL;
const char *arg_bus = NULL;
bool arg_json = false;
bool arg_no_color = false;
bool arg_verbose = false;
bool arg_wait = false;
usec_t arg_timeout = 0;
const char *arg_signal = NULL;
unsigned arg_lines = 0;
bool arg_follow = false;
const char *arg_role = NULL;
const char *arg_state_dir = NULL;
bool arg_names = false;

typedef struct Verb {
        const char *name;
        int min_args, max_args; /* not counting the verb; -1: no limit */
        int (*run)(int argc, char **argv);
} Verb;

static const Verb verbs[] = {
        { "list", 0, 0, verb_list },
        { "status", 0, -1, verb_status },
        { "start", 1, -1, verb_start },
        { "stop", 1, -1, verb_stop },
        { "restart", 1, -1, verb_restart },
        { "kill", 1, -1, verb_kill },
        { "enable", 1, -1, verb_enable },
        { "disable", 1, -1, verb_disable },
        { "logs", 1, -1, verb_logs_files }, /* ctl-logs.c */
        { "reload", 0, -1, verb_reload },
        { "daemon-reexec", 0, 0, verb_reexec },
        { "poweroff", 0, 0, verb_poweroff },
        { "reboot", 0, 0, verb_reboot },
        { "halt", 0, 0, verb_halt },
        { "heartbeat", 1, 2, verb_heartbeat },
        { "events", 0, 0, verb_events },
        { "audit", 0, 0, verb_audit },
        { "backup", 1, 1, verb_backup },
        { "user", 2, 2, verb_user },
};

static void help(void) {
        printf("pmctl [OPTIONS] COMMAND ...\n\n"
               "Control pmd, the process supervisor.\n\n"
               "Jobs:\n"
               "  list                          Table of all jobs\n"
               "  status [JOB...]               Details of jobs with their last log lines\n"
               "  start|stop|restart JOB...     Queue a start/stop/restart (--wait: wait for the end state)\n"
               "  kill [-s SIGNAL] JOB...       Send a signal to a job's processes (default SIGTERM)\n"
               "  enable|disable JOB...         Start the job when pmd starts, or not\n"
               "  reload JOB...                 Run the jobs' ExecReload= commands\n"
               "  logs [-n N] [-f] [--since TIME] [--rotate] JOB...\n"
               "                                The last N lines of job logs (default 10), -f: follow\n"
               "  heartbeat JOB [STATUS]        Record a heartbeat\n"
               "  events                        Follow state changes\n\n"
               "Daemon:\n"
               "  reload                        Re-read the job files\n"
               "  daemon-reexec                 Re-execute pmd keeping its jobs\n"
               "  poweroff|reboot|halt          Stop every job and end pmd (as SIGRTMIN+4/+5/+3)\n"
               "  audit [-n N]                  Who did what, when (default 50 entries)\n"
               "  backup FILE                   A consistent copy of the registry\n"
               "  user add|del|passwd NAME      People who may log in to the dashboard\n\n"
               "Options:\n"
               "  -h --help                     Show this help\n"
               "     --version                  Show the version\n"
               "     --user                     Talk to the pmd of this user\n"
               "     --socket PATH              Use this private socket\n"
               "     --bus ADDRESS              Use this bus (system, user, an address; none: socket only)\n"
               "     --json                     Print JSON\n"
               "     --no-color                 No colours\n"
               "  -v --verbose                  Say more (D-Bus error names)\n"
               "     --wait                     start/stop/restart: wait for the end state\n"
               "     --timeout TIME             Bound of --wait (e.g. 30s)\n"
               "  -s --signal SIGNAL            kill: the signal (name or number)\n"
               "  -n --lines N                  logs, audit: how many\n"
               "  -f --follow                   logs: follow new lines (across rotations and restarts of pmd)\n"
               "     --since TIME               logs: from TIME on (2024-05-01T12:00:00Z, \"2024-05-01 14:00\", 10min)\n"
               "     --rotate                   logs: have pmd rotate the job logs now\n"
               "     --log-dir DIR              logs: read DIR/JOB.log without asking pmd\n"
               "     --role ROLE                user: admin or viewer\n"
               "     --state-dir DIR            user: pmd's state directory\n\n"
               "Exit status: 0 done, 1 failed, 2 bad usage, 3 a job is not running (status),\n"
               "4 no such job, 5 pmd not reachable.\n");
}

static int parse_unsigned(const char *s, unsigned *ret) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end || s[0] == '-' || v > UINT32_MAX)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

static int parse_argv(int argc, char **argv) {
        enum {
                ARG_VERSION = 0x100,
                ARG_USER,
                ARG_SOCKET,
                ARG_BUS,
                ARG_JSON,
                ARG_NO_COLOR,
                ARG_WAIT,
                ARG_TIMEOUT,
                ARG_ROLE,
                ARG_STATE_DIR,
                ARG_NAMES,
                ARG_SINCE,
                ARG_ROTATE,
                ARG_LOG_DIR,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "user", no_argument, NULL, ARG_USER },
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "bus", required_argument, NULL, ARG_BUS },
                { "json", no_argument, NULL, ARG_JSON },
                { "no-color", no_argument, NULL, ARG_NO_COLOR },
                { "no-colour", no_argument, NULL, ARG_NO_COLOR },
                { "verbose", no_argument, NULL, 'v' },
                { "wait", no_argument, NULL, ARG_WAIT },
                { "timeout", required_argument, NULL, ARG_TIMEOUT },
                { "signal", required_argument, NULL, 's' },
                { "lines", required_argument, NULL, 'n' },
                { "follow", no_argument, NULL, 'f' },
                { "role", required_argument, NULL, ARG_ROLE },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "names", no_argument, NULL, ARG_NAMES }, /* for shell completion */
                { "since", required_argument, NULL, ARG_SINCE },
                { "rotate", no_argument, NULL, ARG_ROTATE },
                { "log-dir", required_argument, NULL, ARG_LOG_DIR },
                {}
        };
        int c;

        opterr = 0;
        while ((c = getopt_long(argc, argv, ":hvs:n:f", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("pmctl %s\n", PMD_VERSION);
                        return 0;
                case ARG_USER:
                        arg_user = true;
                        break;
                case ARG_SOCKET:
                        arg_socket = optarg;
                        break;
                case ARG_BUS:
                        arg_bus = optarg;
                        break;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_NO_COLOR:
                        arg_no_color = true;
                        break;
                case 'v':
                        arg_verbose = true;
                        break;
                case ARG_WAIT:
                        arg_wait = true;
                        break;
                case ARG_TIMEOUT:
                        if (parse_time(optarg, &arg_timeout) < 0 || arg_timeout == 0)
                                return ctl_error(-CTL_EXIT_USAGE, "invalid --timeout: %s", optarg);
                        break;
                case 's':
                        arg_signal = optarg;
                        break;
                case 'n':
                        if (parse_unsigned(optarg, &arg_lines) < 0)
                                return ctl_error(-CTL_EXIT_USAGE, "invalid number of lines: %s", optarg);
                        break;
                case 'f':
                        arg_follow = true;
                        break;
                case ARG_ROLE:
                        arg_role = optarg;
                        break;
                case ARG_STATE_DIR:
                        arg_state_dir = optarg;
                        break;
                case ARG_NAMES:
                        arg_names = true;
                        break;
                case ARG_SINCE:
                        arg_since = optarg;
                        break;
                case ARG_ROTATE:
                        arg_rotate = true;
                        break;
                case ARG_LOG_DIR:
                        arg_log_dir = optarg;
                        break;
                case ':':
                        return ctl_error(-CTL_EXIT_USAGE, "option %s needs an argument", argv[optind - 1]);
                case '?':
                        if (optopt)
                                return ctl_error(-CTL_EXIT_USAGE, "unknown option -%c (see pmctl --help)", optopt);
                        return ctl_error(-CTL_EXIT_USAGE, "unknown option %s (see pmctl --help)", argv[optind - 1]);
                default:
                        assert_not_reached();
                }
        return 1;
}

int main(int argc, char **argv) {
        const Verb *verb = NULL;
        int r, n_args;

        setlocale(LC_ALL, "");
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? -r : 0;

        if (optind >= argc)
                return ctl_error(CTL_EXIT_USAGE, "no command given (see pmctl --help)");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, argv[optind]))
                        verb = &verbs[i];
        if (!verb)
                return ctl_error(CTL_EXIT_USAGE, "unknown command '%s' (see pmctl --help)", argv[optind]);

        n_args = argc - optind - 1;
        if (n_args < verb->min_args)
                return ctl_error(CTL_EXIT_USAGE, "%s: missing argument (see pmctl --help)", verb->name);
        if (verb->max_args >= 0 && n_args > verb->max_args)
                return ctl_error(CTL_EXIT_USAGE, "%s: too many arguments (see pmctl --help)", verb->name);

        r = verb->run(argc - optind, argv + optind);
        ctl_bus_close();
        if (fflush(stdout) != 0 && r == 0)
                r = CTL_EXIT_FAILED;
        return r;
}
