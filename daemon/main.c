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

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        DaemonConfig dc = {};
        ManagerOptions o;
        int r, status = 0;

        log_set_prefix("pmd");
        setvbuf(stderr, NULL, _IOLBF, 0);

        r = parse_argv(argc, argv);
        if (r != 0)
                return r > 0 ? EXIT_SUCCESS : 2;

        r = resolve_options(&o, &dc);
        if (r < 0) {
                log_error_errno(r, "Failed to set up: %m");
                return EXIT_FAILURE;
        }
        if (arg_boot)
                log_warning("--boot is not supported yet, ignoring");
        if (arg_main_argv)
                log_warning("The entrypoint form (-- COMMAND) is not supported yet, ignoring the command");
        raise_nofile();

        r = manager_new(&o, &m);
        if (r < 0) {
                log_error_errno(r, "Failed to create the manager: %m");
                return EXIT_FAILURE;
        }
        r = manager_startup(m);
        if (r < 0) {
                log_error_errno(r, "Failed to start up: %m");
                return EXIT_FAILURE;
        }
        log_info("pmd %s running, %zu job(s)", PMD_VERSION, manager_n_jobs(m));
        r = manager_run(m, &status);
        if (r < 0) {
                log_error_errno(r, "Event loop failed: %m");
                return EXIT_FAILURE;
        }
        m = manager_free(m);
        daemon_config_done(&dc);
        strv_free(arg_main_argv);
        free(arg_config);
        log_info("pmd exiting with status %d", status);
        return status;
}
