/* pmctl's shared pieces: global options, exit codes, the connection to pmd, the view of a job
 * that the verbs print, and output helpers. ctl/ sees only daemon/util/ of pmd's own headers. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "macro.h"
#include "time-util.h"

/* Exit status (SPEC §9). */
enum {
        CTL_EXIT_OK = 0,
        CTL_EXIT_FAILED = 1,
        CTL_EXIT_USAGE = 2,
        CTL_EXIT_NOT_RUNNING = 3,
        CTL_EXIT_NO_SUCH_JOB = 4,
        CTL_EXIT_UNREACHABLE = 5,
};

#define PMD_BUS_NAME "org.pmd1"
#define PMD_BUS_PATH "/org/pmd1"
#define PMD_JOB_PREFIX "/org/pmd1/job"
#define PMD_MANAGER_IFACE "org.pmd1.Manager"
#define PMD_JOB_IFACE "org.pmd1.Job"

static inline const char *strempty(const char *s) {
        return s ?: "";
}

/* Options (pmctl.c). */
extern bool arg_user;
extern const char *arg_socket;
extern const char *arg_bus;
extern bool arg_json;
extern bool arg_no_color;
extern bool arg_verbose;
extern bool arg_wait;
extern usec_t arg_timeout;     /* 0: derived from the job's timeouts */
extern const char *arg_signal;
extern unsigned arg_lines;
extern bool arg_follow;
extern const char *arg_role;
extern const char *arg_state_dir;
extern bool arg_names;
/* pmctl logs (ctl-logs.c) */
extern const char *arg_since;
extern bool arg_rotate;
extern const char *arg_log_dir;

/* ctl-bus.c: the connection. The first call connects (private socket of the mode first, then the
 * bus); on failure it prints why and returns NULL — the verb then exits CTL_EXIT_UNREACHABLE. */
sd_bus *ctl_bus(void);
void ctl_bus_close(void);
/* Quiet: a failure to connect is not reported (the caller has a fallback). */
void ctl_bus_set_quiet(bool quiet);
/* Destination for calls: "org.pmd1" on a bus, NULL on the private socket. */
const char *ctl_destination(void);
int ctl_call(const char *member, sd_bus_error *error, sd_bus_message **ret_reply, const char *types, ...);
int ctl_get_manager_property(const char *property, char type, void *ret, sd_bus_error *error);
/* Prints "pmctl: CONTEXT: reason" (reason from the D-Bus error in words) and returns the exit
 * status it means. */
int ctl_report_error(const sd_bus_error *error, int r, const char *fmt, ...) _printf_(3, 4);
/* The same for one of several jobs, folding its exit status into *ret (an unknown job or an
 * unreachable pmd wins over other failures). True when pmd cannot be reached: the other jobs
 * need not be tried. */
bool ctl_report_job_error(const sd_bus_error *error, int r, const char *job, int *ret);
/* Prints "pmctl: message" to stderr, returns ret. */
int ctl_error(int ret, const char *fmt, ...) _printf_(2, 3);

/* What pmctl shows of a job: org.pmd1.Job's properties. */
typedef struct JobInfo {
        char *path;
        char *name, *description, *state, *result, *status_text;
        char *exec_start, *source_path, *log_path, *type;
        uint32_t main_pid, restart_count;
        int32_t exit_status;        /* -1: no run ended yet */
        uint64_t state_change_ts, last_heartbeat_ts, run_start_ts; /* µs since the epoch, 0: never */
        uint64_t cpu_nsec, memory;  /* UINT64_MAX: unknown */
        uint64_t timeout_start_usec, timeout_stop_usec;
        bool enabled;
} JobInfo;

void job_info_done(JobInfo *j);
/* Reads an a{sv} of org.pmd1.Job properties. */
int job_info_read(sd_bus_message *m, JobInfo *j);
/* Fetches one job (GetJob + GetAll). -ENOENT with error set when there is no such job. */
int job_info_get(const char *name, JobInfo *ret, sd_bus_error *error);
/* Every job, sorted by name (one GetManagedObjects call). */
int job_info_list(JobInfo **ret, size_t *ret_n, sd_bus_error *error);
void job_info_list_free(JobInfo *l, size_t n);

/* ctl-output.c */
bool ctl_use_color(void);
const char *ctl_state_color(const char *state); /* "" when no colour */
const char *ctl_color_reset(void);
const char *ctl_color_bold(void);
char *ctl_format_bytes(char *buf, size_t len, uint64_t bytes); /* "12.3M" */
char *ctl_format_local(char *buf, size_t len, usec_t ts);     /* "2024-05-01 14:00:00 CEST" */

typedef struct Table Table;
Table *table_new(const char *const *headers, size_t n_columns);
Table *table_free(Table *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Table *, table_free);
/* Adds a row of n_columns strings (copied). color applies to column color_column (or -1). */
int table_add_row(Table *t, const char *const *cells, int color_column, const char *color);
int table_print(Table *t);

/* JSON of a job, the same object as HTTP's /status (SPEC §10). Returns a jansson json_t *. */
void *ctl_job_json(const JobInfo *j);
/* Prints a json_t (and drops the reference), one line when compact. */
int ctl_print_json(void *json, bool compact);

/* Tail of the first size bytes of an open file: its last n lines, each passed to cb without its
 * newline. */
int ctl_tail_fd(int fd, off_t size, unsigned n, int (*cb)(const char *line, void *userdata), void *userdata);

/* Verbs. Each returns the exit status. */
int verb_list(int argc, char **argv);
int verb_status(int argc, char **argv);
int verb_start(int argc, char **argv);
int verb_stop(int argc, char **argv);
int verb_restart(int argc, char **argv);
int verb_kill(int argc, char **argv);
int verb_enable(int argc, char **argv);
int verb_disable(int argc, char **argv);
int verb_reload_jobs(int argc, char **argv);
int verb_logs_files(int argc, char **argv);
/* The last n lines of path written at or after run_start (µs since the epoch; 0: all), each
 * passed to cb: the current run's lines for `pmctl status`. */
int ctl_tail_run(const char *path, usec_t run_start, unsigned n, int (*cb)(const char *line, void *userdata),
                 void *userdata);
int verb_heartbeat(int argc, char **argv);
int verb_events(int argc, char **argv);
int verb_reload(int argc, char **argv);
int verb_reexec(int argc, char **argv);
int verb_poweroff(int argc, char **argv);
int verb_reboot(int argc, char **argv);
int verb_halt(int argc, char **argv);
int verb_audit(int argc, char **argv);
int verb_backup(int argc, char **argv);
int verb_user(int argc, char **argv);
