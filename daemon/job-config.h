/* JobConfig: one job's definition, whatever file format it came from. The INI, YAML and JSON
 * readers all feed (section, key, value) assignments into job_config_assign(), so the meaning of a
 * key and its diagnostics live in one place (job-config.c). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "util/diag.h"
#include "util/time-util.h"

typedef enum ServiceType {
        SERVICE_SIMPLE,
        SERVICE_EXEC,
        SERVICE_NOTIFY,
        SERVICE_ONESHOT,
        SERVICE_FORKING,
        _SERVICE_TYPE_MAX,
        _SERVICE_TYPE_INVALID = -EINVAL,
} ServiceType;

typedef enum RestartPolicy {
        RESTART_NO,
        RESTART_ON_FAILURE,
        RESTART_ALWAYS,
        _RESTART_POLICY_MAX,
        _RESTART_POLICY_INVALID = -EINVAL,
} RestartPolicy;

typedef enum KillMode {
        KILL_CONTROL_GROUP,
        KILL_PROCESS_GROUP,
        KILL_PROCESS,
        KILL_MIXED,
        _KILL_MODE_MAX,
        _KILL_MODE_INVALID = -EINVAL,
} KillMode;

typedef enum NotifyAccess {
        NOTIFY_MAIN,
        NOTIFY_ALL,
        NOTIFY_NONE,
        _NOTIFY_ACCESS_MAX,
        _NOTIFY_ACCESS_INVALID = -EINVAL,
} NotifyAccess;

typedef enum OutputKind {
        OUTPUT_LOG, /* also "journal", "syslog", "kmsg" and their "+console" forms */
        OUTPUT_INHERIT,
        OUTPUT_NULL,
        OUTPUT_FILE,   /* file:PATH */
        OUTPUT_APPEND, /* append:PATH */
        _OUTPUT_KIND_MAX,
        _OUTPUT_KIND_INVALID = -EINVAL,
} OutputKind;

typedef enum LogFormat {
        LOG_FORMAT_TEXT,
        LOG_FORMAT_JSON,
        LOG_FORMAT_RAW, /* bytes as written, spliced from the pipe: no framing, no time stamps */
        _LOG_FORMAT_MAX,
        _LOG_FORMAT_INVALID = -EINVAL,
} LogFormat;

/* Prefix flags of an Exec line (systemd's "-@+!"). */
typedef enum ExecCommandFlags {
        EXEC_COMMAND_IGNORE_FAILURE = 1 << 0, /* '-' */
        EXEC_COMMAND_ARGV0 = 1 << 1,          /* '@': argv[0] given separately from path */
        EXEC_COMMAND_FULL_PRIVILEGES = 1 << 2, /* '+': no User=/Group= */
        EXEC_COMMAND_NO_SETUID = 1 << 3,      /* '!' (and "!!"): treated like '+' for the user switch */
        EXEC_COMMAND_NO_ENV_EXPAND = 1 << 4,  /* ':': no $VAR expansion */
} ExecCommandFlags;

typedef struct ExecCommand {
        char *path;              /* the executable as written (may be relative: looked up in PATH) */
        char **argv;             /* unquoted words, NOT yet $VAR-expanded; argv[0] is what the
                                  * program sees as its name */
        ExecCommandFlags flags;
        unsigned line;           /* where it was defined, for messages */
} ExecCommand;

typedef struct ExecCommandList {
        ExecCommand *commands;
        size_t n;
} ExecCommandList;

typedef struct OutputSpec {
        OutputKind kind;
        char *path; /* OUTPUT_FILE / OUTPUT_APPEND */
} OutputSpec;

typedef struct RlimitSetting {
        bool set;
        struct rlimit rlim;
} RlimitSetting;

#define JOB_NAME_MAX 128

typedef struct JobConfig {
        char *name;
        char *source_path;   /* the file it came from */
        unsigned source_line; /* line where the job starts (YAML/JSON), 1 for INI files */
        char *error;         /* set: the job was rejected; "PATH:LINE[:COL]: reason" */
        uint64_t fingerprint; /* hash of every assignment: equal files give equal fingerprints */

        /* [Unit] / [Job] */
        char *description;
        char **after, **before, **requires, **wants; /* job names; systemd unit refs filtered out */

        /* [Service] */
        ServiceType type;
        ExecCommandList exec_start_pre, exec_start, exec_start_post, exec_stop, exec_reload;
        char *pid_file;
        char *working_directory;      /* NULL: pmd's own (or "/" when running as another User=) */
        bool working_directory_optional; /* '-' prefix */
        bool working_directory_home;  /* "~" */
        char *user, *group;
        char **supplementary_groups;
        mode_t umask;                 /* default 0022 */
        char **environment;           /* "KEY=VALUE", in order, later wins */
        char **environment_files;     /* paths; a leading '-' marks an optional file */
        RestartPolicy restart;
        usec_t restart_usec;          /* RestartSec=, default 1s */
        usec_t restart_max_delay_usec; /* RestartMaxDelaySec=, default 60s */
        unsigned restart_max_retries; /* RestartMaxRetries= / StartLimitBurst=, default 5, 0 = unlimited */
        usec_t restart_reset_usec;    /* RestartResetSec=, default 30s */
        int kill_signal;              /* default SIGTERM */
        KillMode kill_mode;
        bool kill_mode_set;           /* false: the manager picks control-group or process-group */
        usec_t timeout_stop_usec;     /* default 10s; USEC_INFINITY for 0/infinity */
        usec_t timeout_start_usec;    /* default 90s; USEC_INFINITY for 0/infinity */
        usec_t watchdog_usec;         /* 0 = off */
        NotifyAccess notify_access;
        RlimitSetting rlimits[RLIM_NLIMITS];
        OutputSpec std_output, std_error;
        bool stdin_inherit;           /* not a key: the entrypoint's main reads pmd's own stdin and,
                                       * when that is a terminal, is its foreground (as with tini) */
        bool auto_start;              /* AutoStart=, default yes */
        char *runner;                 /* Runner= */
        bool has_success_action;      /* SuccessAction= was set (unsupported, but it makes a unit
                                       * without ExecStart= valid, as in systemd) */

        /* [Log] */
        LogFormat log_format;
        uint64_t log_max_size;        /* default 10M */
        unsigned log_max_files;       /* default 5 */
        int log_console;              /* -1: default (yes when PID 1 in a container), 0, 1 */
        bool log_drop_on_error;       /* OnWriteError=drop: lose lines rather than hold the job */

        /* [Runner]: kept as "KEY=VALUE" for the plugin */
        char **runner_settings;
} JobConfig;

const char *service_type_to_string(ServiceType t);
ServiceType service_type_from_string(const char *s);
const char *restart_policy_to_string(RestartPolicy p);
RestartPolicy restart_policy_from_string(const char *s); /* accepts "never" for "no" */
const char *kill_mode_to_string(KillMode m);
KillMode kill_mode_from_string(const char *s);
const char *notify_access_to_string(NotifyAccess n);
NotifyAccess notify_access_from_string(const char *s);
const char *log_format_to_string(LogFormat f);
LogFormat log_format_from_string(const char *s);

/* Signal names "SIGTERM", "TERM", "15", "SIGRTMIN+3" → number; -EINVAL otherwise. */
int signal_from_string(const char *s);
/* "SIGTERM" etc.; "SIGRTMIN+n"; NULL for out of range. Returns a static string or buf. */
const char *signal_to_string(int sig);

bool job_name_is_valid(const char *name);

/* A new config with every default set. */
int job_config_new(const char *name, const char *source_path, unsigned source_line, JobConfig **ret);
JobConfig *job_config_free(JobConfig *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(JobConfig *, job_config_free);

/* Apply one assignment from any format. section is "Unit", "Job" (alias of Unit), "Service",
 * "Log", "Runner", "Install", …. An empty value resets a list key, as systemd does. Unknown
 * sections/keys: one warning with loc, returns 0. A bad value of a known key: an error through
 * diag and a return < 0 (-EINVAL); the error text ("loc: msg") is also recorded in c->error (the
 * first error is kept, so a later job_config_set_error() does not replace it). */
int job_config_assign(JobConfig *c, const char *section, const char *key, const char *value,
                      const DiagLoc *loc, const Diag *diag);

/* Whether a key adds to a list when repeated (Exec*, Environment, EnvironmentFile, After, Before,
 * Requires, Wants, SupplementaryGroups): a YAML/JSON list for it is applied as one assignment per
 * item; for other keys a list is one space-separated value. */
bool job_config_key_is_list(const char *section, const char *key);
/* The section ("Unit", "Service" or "Log") a key belongs to, for flat YAML/JSON keys; NULL if
 * unknown. */
const char *job_config_key_section(const char *key);
/* Unit, Job, Service, Log, Runner and Install. */
bool job_config_section_is_known(const char *section);

/* After the last assignment: check what needs the whole job (ExecStart present, Type= fits the
 * number of ExecStart lines …) and finalise the fingerprint. Returns < 0 with an error through
 * diag, recorded in c->error too. */
int job_config_finish(JobConfig *c, const DiagLoc *loc, const Diag *diag);

/* Record the rejection text (formats "loc: msg"); used by the loaders when a job is rejected.
 * Keeps an earlier error if there is one. */
int job_config_set_error(JobConfig *c, const DiagLoc *loc, const char *msg);
