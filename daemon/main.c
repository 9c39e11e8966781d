/* pmd's entry point: options, pmd.conf, logging, then the manager's loop. Command line beats the
 * file beats the default (SPEC §2); a list given on the command line replaces the file's. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "conf-daemon.h"
#include "config.h"
#include "manager.h"
#include "pid1.h"
#include "serialize.h"
#include "util/log.h"
#include "util/strv.h"

/* SPEC §2 fixes /etc/pmd whatever the install prefix is. */
#define PMD_CONFDIR "/etc"

static char *arg_config = NULL;
static char **arg_job_dirs = NULL;
static char *arg_state_dir = NULL;
static char *arg_log_dir = NULL;
static char *arg_socket = NULL;
static char *arg_bus = NULL;
static char *arg_http = NULL;
static char *arg_plugin_dir = NULL;
static bool arg_user = false;
static bool arg_boot = false;
static char **arg_main_argv = NULL;
static int arg_deserialize = -EBADF; /* re-execution: the memfd the old image left (serialize.c) */

static void help(void) {
        printf("pmd — process supervisor\n\n"
               "Usage: pmd [OPTIONS] [-- COMMAND [ARG...]]\n\n"
               "  --config FILE         daemon configuration (default %s/pmd/pmd.conf)\n"
               "  --job-dir DIR         read job files from DIR (repeatable; replaces the file's list)\n"
               "  --state-dir DIR       registry and keys\n"
               "  --log-dir DIR         job logs\n"
               "  --socket PATH         private control socket\n"
               "  --bus system|user|none|ADDRESS\n"
               "  --http ADDR:PORT|off\n"
               "  --plugin-dir DIR      runner plugins\n"
               "  --user                per-user paths (XDG)\n"
               "  --boot                init of a VM: mount API file systems first\n"
               "  --log-level LEVEL     debug, info, notice, warning, err\n"
               "  --version, --help\n",
               PMD_CONFDIR);
}

static int set_string(char **s, const char *v) {
        char *c = strdup(v);
        if (!c)
                return -ENOMEM;
        free(*s);
        *s = c;
        return 0;
}

static int parse_log_level(const char *s) {
        static const char *const names[] = { "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug" };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(s, names[i]))
                        return (int) i;
        if (streq(s, "error"))
                return LOG_ERR;
        if (streq(s, "warn"))
                return LOG_WARNING;
        return -EINVAL;
}

/* 0 go on, 1 exit 0, < 0 usage error. */
static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_CONFIG = 0x100,
                ARG_JOB_DIR,
                ARG_STATE_DIR,
                ARG_LOG_DIR,
                ARG_SOCKET,
                ARG_BUS,
                ARG_HTTP,
                ARG_PLUGIN_DIR,
                ARG_USER,
                ARG_BOOT,
                ARG_LOG_LEVEL,
                ARG_VERSION,
                ARG_DESERIALIZE,
        };
        static const struct option options[] = {
                { "config", required_argument, NULL, ARG_CONFIG },
                { "job-dir", required_argument, NULL, ARG_JOB_DIR },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "log-dir", required_argument, NULL, ARG_LOG_DIR },
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "bus", required_argument, NULL, ARG_BUS },
                { "http", required_argument, NULL, ARG_HTTP },
                { "plugin-dir", required_argument, NULL, ARG_PLUGIN_DIR },
                { "user", no_argument, NULL, ARG_USER },
                { "boot", no_argument, NULL, ARG_BOOT },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "version", no_argument, NULL, ARG_VERSION },
                { "deserialize", required_argument, NULL, ARG_DESERIALIZE },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c, r = 0;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 1;
                case ARG_VERSION:
                        printf("pmd %s\n", PMD_VERSION);
                        return 1;
                case ARG_CONFIG:
                        r = set_string(&arg_config, optarg);
                        break;
                case ARG_JOB_DIR:
                        r = strv_extend(&arg_job_dirs, optarg);
                        break;
                case ARG_STATE_DIR:
                        r = set_string(&arg_state_dir, optarg);
                        break;
                case ARG_LOG_DIR:
                        r = set_string(&arg_log_dir, optarg);
                        break;
                case ARG_SOCKET:
                        r = set_string(&arg_socket, optarg);
                        break;
                case ARG_BUS:
                        r = set_string(&arg_bus, optarg);
                        break;
                case ARG_HTTP:
                        r = set_string(&arg_http, optarg);
                        break;
                case ARG_PLUGIN_DIR:
                        r = set_string(&arg_plugin_dir, optarg);
                        break;
                case ARG_USER:
                        arg_user = true;
                        break;
                case ARG_BOOT:
                        arg_boot = true;
                        break;
                case ARG_LOG_LEVEL:
                        r = parse_log_level(optarg);
                        if (r < 0) {
                                fprintf(stderr, "pmd: invalid log level '%s'\n", optarg);
                                return -EINVAL;
                        }
                        log_set_max_level(r);
                        r = 0;
                        break;
                case ARG_DESERIALIZE: {
                        /* Internal: only pmd's own re-execution passes it. */
                        char *end;
                        long fd = strtol(optarg, &end, 10);
                        if (end == optarg || *end || fd < 3 || fd > INT32_MAX) {
                                fprintf(stderr, "pmd: invalid --deserialize fd '%s'\n", optarg);
                                return -EINVAL;
                        }
                        arg_deserialize = (int) fd;
                        break;
                }
                case '?':
                        return -EINVAL;
                default:
                        assert_not_reached();
                }
                if (r < 0)
                        return r;
        }
        if (optind < argc) {
                /* Anything after "--" is the entrypoint command; getopt stops there. */
                if (!streq(argv[optind - 1], "--")) {
                        fprintf(stderr, "pmd: unexpected argument '%s' (a command goes after --)\n", argv[optind]);
                        return -EINVAL;
                }
                arg_main_argv = strv_copy(argv + optind);
                if (!arg_main_argv)
                        return -ENOMEM;
        }
        return 0;
}

static char *xdg_path(const char *var, const char *fallback_suffix, const char *suffix) {
        const char *base = getenv(var), *home = getenv("HOME");
        char *r = NULL;

        if (base && *base) {
                if (asprintf(&r, "%s/%s", base, suffix) < 0)
                        return NULL;
        } else if (asprintf(&r, "%s/%s/%s", home ? home : "/", fallback_suffix, suffix) < 0)
                return NULL;
        return r;
}

static void diag_log(void *userdata, DiagLevel level, const DiagLoc *loc, const char *msg) {
        _cleanup_free_ char *s = diag_format(loc, msg);
        if (level == DIAG_ERROR)
                log_error("%s", s ?: msg);
        else
                log_warning("%s", s ?: msg);
}

/* Defaults of SPEC §2, then pmd.conf, then the command line. */
static int resolve_options(ManagerOptions *o, DaemonConfig *dc) {
        Diag diag = { .func = diag_log };
        _cleanup_free_ char *config = NULL;
        const char *runtime = getenv("XDG_RUNTIME_DIR");
        int r;

        if (arg_user) {
                config = arg_config ? strdup(arg_config) : xdg_path("XDG_CONFIG_HOME", ".config", "pmd/pmd.conf");
                dc->job_dirs = NULL;
                char *jd = xdg_path("XDG_CONFIG_HOME", ".config", "pmd/jobs");
                if (!jd || strv_consume(&dc->job_dirs, jd) < 0)
                        return -ENOMEM;
                dc->state_dir = xdg_path("XDG_STATE_HOME", ".local/state", "pmd");
                dc->log_dir = xdg_path("XDG_STATE_HOME", ".local/state", "pmd/log");
                if (runtime && *runtime) {
                        if (asprintf(&dc->socket_path, "%s/pmd/private", runtime) < 0)
                                return -ENOMEM;
                } else if (asprintf(&dc->socket_path, "/run/user/%u/pmd/private", (unsigned) getuid()) < 0)
                        return -ENOMEM;
        } else {
                if (asprintf(&config, "%s/pmd/pmd.conf", PMD_CONFDIR) < 0 ||
                    (arg_config && set_string(&config, arg_config) < 0))
                        return -ENOMEM;
                if (strv_extend(&dc->job_dirs, "/etc/pmd/jobs") < 0 || strv_extend(&dc->job_dirs, "/run/pmd/jobs") < 0)
                        return -ENOMEM;
                dc->state_dir = strdup("/var/lib/pmd");
                dc->log_dir = strdup("/var/log/pmd");
                dc->socket_path = strdup("/run/pmd/private");
        }
        dc->http = strdup("127.0.0.1:8610");
        dc->plugin_dir = strdup(PLUGINDIR);
        if (!config || !dc->state_dir || !dc->log_dir || !dc->socket_path || !dc->http || !dc->plugin_dir)
                return -ENOMEM;

        _cleanup_free_ char *def_state = strdup(dc->state_dir), *def_log = strdup(dc->log_dir),
                            *def_socket = strdup(dc->socket_path), *def_http = strdup(dc->http),
                            *def_plugin = strdup(dc->plugin_dir);
        if (!def_state || !def_log || !def_socket || !def_http || !def_plugin)
                return -ENOMEM;
        r = daemon_config_load(config, dc, &diag);
        if (r < 0)
                log_error_errno(r, "Failed to read '%s', using defaults and the command line: %m", config);
        /* An empty key in the file means "the default". */
        if (!dc->state_dir)
                dc->state_dir = TAKE_PTR(def_state);
        if (!dc->log_dir)
                dc->log_dir = TAKE_PTR(def_log);
        if (!dc->socket_path)
                dc->socket_path = TAKE_PTR(def_socket);
        if (!dc->http)
                dc->http = TAKE_PTR(def_http);
        if (!dc->plugin_dir)
                dc->plugin_dir = TAKE_PTR(def_plugin);

#define TAKE_ARG(field, arg)                                    \
        if (arg) {                                              \
                free(dc->field);                                \
                dc->field = TAKE_PTR(arg);                      \
        }
        TAKE_ARG(state_dir, arg_state_dir);
        TAKE_ARG(log_dir, arg_log_dir);
        TAKE_ARG(socket_path, arg_socket);
        TAKE_ARG(bus, arg_bus);
        TAKE_ARG(http, arg_http);
        TAKE_ARG(plugin_dir, arg_plugin_dir);
#undef TAKE_ARG
        if (arg_job_dirs) {
                strv_free(dc->job_dirs);
                dc->job_dirs = TAKE_PTR(arg_job_dirs);
        }

        *o = (ManagerOptions) {
                .job_dirs = dc->job_dirs,
                .state_dir = dc->state_dir,
                .log_dir = dc->log_dir,
                .socket_path = dc->socket_path,
                .bus = dc->bus,
                .http = dc->http,
                .plugin_dir = dc->plugin_dir,
                .user_mode = arg_user,
                .main_argv = arg_main_argv,
        };
        return 0;
}

/* Many jobs mean many pidfds: take the hard limit of open files as our soft one. */
static void raise_nofile(void) {
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) >= 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
}

static void boot_report(const char *what, int r, void *userdata) {
        if (r < 0)
                log_error_errno(r, "Boot: %s failed, carrying on: %m", what);
        else if (r == 0)
                log_info("Boot: %s %s", what, what[0] == '/' ? "mounted" : "set up");
        else
                log_debug("Boot: %s already there", what);
}

/* pmd cannot run its loop. Not PID 1: exit with status. PID 1 must not exit on an error of its own
 * (a VM's kernel panics, a container loses every job): it stays, reaping, until it is told to
 * stop. In a container that is an exit; as a VM's init, reboot(2). */
static int fatal(bool pid1, bool boot, int status) {
        if (!pid1)
                return status;
        log_error("PID 1 cannot supervise: reaping only; SIGTERM/SIGINT/SIGRTMIN+3..5 end %s",
                  boot ? "the system" : "the container");
        return pid1_freeze(boot, status);
}

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        DaemonConfig dc = {};
        ManagerOptions o;
        int r, status = 0;
        bool pid1, boot;
        Pid1Action action;

        log_set_prefix("pmd");
        setvbuf(stderr, NULL, _IOLBF, 0);

        /* Decided before --boot mounts /proc: a kernel's init finds none. */
        pid1 = pid1_is_pid1();
        boot = pid1 && !pid1_in_container();

        r = parse_argv(argc, argv);
        if (r != 0)
                /* A usage error in a container ends it with the message, the runtime shows it;
                 * a VM's init has nobody to show it to and must not exit. */
                return r > 0 ? EXIT_SUCCESS : fatal(boot, boot, 2);
        if (arg_boot && !pid1)
                log_warning("--boot: pmd is not PID 1, ignoring it (it would reboot this machine)");
        else if (arg_boot)
                boot = true;
        if (boot && arg_deserialize < 0) {
                log_info("Booting: PID 1 %s", pid1_in_container() ? "in a container (--boot)" : "of this machine");
                (void) pid1_boot_setup(boot_report, NULL);
        }

        r = resolve_options(&o, &dc);
        if (r < 0) {
                log_error_errno(r, "Failed to set up: %m");
                return fatal(pid1, boot, EXIT_FAILURE);
        }
        raise_nofile();

        r = manager_new(&o, &m);
        if (r < 0) {
                log_error_errno(r, "Failed to create the manager: %m");
                return fatal(pid1, boot, EXIT_FAILURE);
        }
        if (arg_deserialize >= 0) {
                r = deserialize_open(m, TAKE_FD(arg_deserialize));
                if (r < 0)
                        /* Nothing better to do than to go on: the old image's children are still
                         * reaped, but not supervised, and enabled jobs start anew. */
                        log_error_errno(r, "Failed to read the state of the previous image, starting afresh: %m");
        }
        r = manager_startup(m);
        if (r < 0) {
                log_error_errno(r, "Failed to start up: %m");
                /* As PID 1 the loop still reaps and obeys signals, with what could be set up. */
                if (!pid1)
                        return EXIT_FAILURE;
        }
        log_info("pmd %s running%s, %zu job(s)", PMD_VERSION,
                 deserialize_active(m) ? " (re-executed)" : "", manager_n_jobs(m));
        r = manager_run(m, &status);
        if (r < 0) {
                log_error_errno(r, "Event loop failed: %m");
                return fatal(pid1, boot, EXIT_FAILURE);
        }
        action = manager_get_action(m);
        m = manager_free(m);
        if (boot) {
                /* PID 1 of a machine ends it, never exits: a plain stop is a power-off. */
                action = action == PID1_EXIT ? PID1_POWEROFF : action;
                log_info("All jobs stopped, %s", action == PID1_REBOOT ? "rebooting" :
                                                 action == PID1_HALT ? "halting" : "powering off");
                pid1_finish(action);
        }
        daemon_config_done(&dc);
        strv_free(arg_main_argv);
        free(arg_config);
        log_info("pmd exiting with status %d", status);
        return status;
}
