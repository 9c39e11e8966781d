/* The meaning of every job file key. The INI, YAML and JSON readers only find (section, key,
 * value) assignments; this file turns each into a JobConfig field with systemd's semantics
 * (repeated keys add to lists, an empty value resets, % specifiers), warns about keys and
 * sections pmd does not know and rejects bad values of known keys. All diagnostics go through
 * the caller's Diag sink with the location it passed in; nothing here logs. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "job-config.h"
#include "util/cmdline.h"
#include "util/strv.h"

#define LIST_MAX 4096U /* entries of any list key: every user-controlled size has a limit */
#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL
#define WHITESPACE " \t\n\r"

static const char *const service_type_table[_SERVICE_TYPE_MAX] = {
        [SERVICE_SIMPLE] = "simple",   [SERVICE_EXEC] = "exec",       [SERVICE_NOTIFY] = "notify",
        [SERVICE_ONESHOT] = "oneshot", [SERVICE_FORKING] = "forking",
};
DEFINE_STRING_TABLE_LOOKUP(service_type, ServiceType);

static const char *const restart_policy_table[_RESTART_POLICY_MAX] = {
        [RESTART_NO] = "no",
        [RESTART_ON_FAILURE] = "on-failure",
        [RESTART_ALWAYS] = "always",
};

const char *restart_policy_to_string(RestartPolicy p) {
        if ((int) p < 0 || p >= _RESTART_POLICY_MAX)
                return NULL;
        return restart_policy_table[p];
}

RestartPolicy restart_policy_from_string(const char *s) {
        if (!s)
                return _RESTART_POLICY_INVALID;
        if (streq(s, "never"))
                return RESTART_NO;
        for (size_t i = 0; i < ELEMENTSOF(restart_policy_table); i++)
                if (streq(restart_policy_table[i], s))
                        return (RestartPolicy) i;
        return _RESTART_POLICY_INVALID;
}

static const char *const kill_mode_table[_KILL_MODE_MAX] = {
        [KILL_CONTROL_GROUP] = "control-group",
        [KILL_PROCESS_GROUP] = "process-group",
        [KILL_PROCESS] = "process",
        [KILL_MIXED] = "mixed",
};
DEFINE_STRING_TABLE_LOOKUP(kill_mode, KillMode);

static const char *const notify_access_table[_NOTIFY_ACCESS_MAX] = {
        [NOTIFY_MAIN] = "main",
        [NOTIFY_ALL] = "all",
        [NOTIFY_NONE] = "none",
};
DEFINE_STRING_TABLE_LOOKUP(notify_access, NotifyAccess);

static const char *const log_format_table[_LOG_FORMAT_MAX] = {
        [LOG_FORMAT_TEXT] = "text",
        [LOG_FORMAT_JSON] = "json",
        [LOG_FORMAT_RAW] = "raw",
};
DEFINE_STRING_TABLE_LOOKUP(log_format, LogFormat);

/* Signals */

static const char *const signal_table[] = {
        [SIGHUP] = "SIGHUP",       [SIGINT] = "SIGINT",       [SIGQUIT] = "SIGQUIT",
        [SIGILL] = "SIGILL",       [SIGTRAP] = "SIGTRAP",     [SIGABRT] = "SIGABRT",
        [SIGBUS] = "SIGBUS",       [SIGFPE] = "SIGFPE",       [SIGKILL] = "SIGKILL",
        [SIGUSR1] = "SIGUSR1",     [SIGSEGV] = "SIGSEGV",     [SIGUSR2] = "SIGUSR2",
        [SIGPIPE] = "SIGPIPE",     [SIGALRM] = "SIGALRM",     [SIGTERM] = "SIGTERM",
#ifdef SIGSTKFLT
        [SIGSTKFLT] = "SIGSTKFLT",
#endif
        [SIGCHLD] = "SIGCHLD",     [SIGCONT] = "SIGCONT",     [SIGSTOP] = "SIGSTOP",
        [SIGTSTP] = "SIGTSTP",     [SIGTTIN] = "SIGTTIN",     [SIGTTOU] = "SIGTTOU",
        [SIGURG] = "SIGURG",       [SIGXCPU] = "SIGXCPU",     [SIGXFSZ] = "SIGXFSZ",
        [SIGVTALRM] = "SIGVTALRM", [SIGPROF] = "SIGPROF",     [SIGWINCH] = "SIGWINCH",
        [SIGIO] = "SIGIO",         [SIGPWR] = "SIGPWR",       [SIGSYS] = "SIGSYS",
};

static int parse_small_uint(const char *s, unsigned max, unsigned *ret) {
        unsigned long v;
        char *end;

        if (!s || !isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end || v > max)
                return -ERANGE;
        *ret = (unsigned) v;
        return 0;
}

int signal_from_string(const char *s) {
        const char *n = s;
        unsigned k;

        if (!s)
                return -EINVAL;
        if (isdigit((unsigned char) s[0])) {
                if (parse_small_uint(s, (unsigned) _NSIG - 1, &k) < 0 || k == 0)
                        return -EINVAL;
                return (int) k;
        }
        if (strneq(n, "SIG", 3))
                n += 3;
        for (size_t i = 1; i < ELEMENTSOF(signal_table); i++)
                if (signal_table[i] && streq(signal_table[i] + 3, n))
                        return (int) i;
        if (strneq(n, "RTMIN", 5)) {
                if (n[5] == '\0')
                        return SIGRTMIN;
                if (n[5] == '+' && parse_small_uint(n + 6, (unsigned) (SIGRTMAX - SIGRTMIN), &k) >= 0)
                        return SIGRTMIN + (int) k;
                return -EINVAL;
        }
        if (strneq(n, "RTMAX", 5)) {
                if (n[5] == '\0')
                        return SIGRTMAX;
                if (n[5] == '-' && parse_small_uint(n + 6, (unsigned) (SIGRTMAX - SIGRTMIN), &k) >= 0)
                        return SIGRTMAX - (int) k;
                return -EINVAL;
        }
        return -EINVAL;
}

const char *signal_to_string(int sig) {
        static __thread char buf[sizeof("SIGRTMIN+") + 12];

        if (sig > 0 && (size_t) sig < ELEMENTSOF(signal_table) && signal_table[sig])
                return signal_table[sig];
        if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
                if (sig == SIGRTMIN)
                        return "SIGRTMIN";
                snprintf(buf, sizeof(buf), "SIGRTMIN+%d", sig - SIGRTMIN);
                return buf;
        }
        return NULL;
}

bool job_name_is_valid(const char *name) {
        size_t n;

        if (!name)
                return false;
        n = strlen(name);
        if (n == 0 || n > JOB_NAME_MAX || streq(name, ".") || streq(name, ".."))
                return false;
        for (const char *p = name; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr("_.@-", *p))
                        return false;
        return true;
}

/* Life cycle */

int job_config_new(const char *name, const char *source_path, unsigned source_line, JobConfig **ret) {
        _cleanup_(job_config_freep) JobConfig *c = NULL;

        assert(name);
        assert(ret);
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->name = strdup(name);
        if (!c->name)
                return -ENOMEM;
        if (source_path) {
                c->source_path = strdup(source_path);
                if (!c->source_path)
                        return -ENOMEM;
        }
        c->source_line = source_line;
        c->fingerprint = FNV_OFFSET;
        c->type = SERVICE_SIMPLE;
        c->umask = 0022;
        c->restart = RESTART_NO;
        c->restart_usec = 1 * USEC_PER_SEC;
        c->restart_max_delay_usec = 60 * USEC_PER_SEC;
        c->restart_max_retries = 5;
        c->restart_reset_usec = 30 * USEC_PER_SEC;
        c->kill_signal = SIGTERM;
        c->kill_mode = KILL_CONTROL_GROUP;
        c->kill_mode_set = false;
        c->timeout_stop_usec = 10 * USEC_PER_SEC;
        c->timeout_start_usec = 90 * USEC_PER_SEC;
        c->watchdog_usec = 0;
        c->notify_access = NOTIFY_MAIN;
        c->std_output.kind = OUTPUT_LOG;
        c->std_error.kind = OUTPUT_LOG;
        c->auto_start = true;
        c->log_format = LOG_FORMAT_TEXT;
        c->log_max_size = 10 * 1024 * 1024;
        c->log_max_files = 5;
        c->log_console = -1;
        *ret = TAKE_PTR(c);
        return 0;
}

static void exec_command_list_done(ExecCommandList *l) {
        for (size_t i = 0; i < l->n; i++)
                exec_command_done(&l->commands[i]);
        free(l->commands);
        *l = (ExecCommandList) {};
}

JobConfig *job_config_free(JobConfig *c) {
        if (!c)
                return NULL;
        free(c->name);
        free(c->source_path);
        free(c->error);
        free(c->description);
        strv_free(c->after);
        strv_free(c->before);
        strv_free(c->requires);
        strv_free(c->wants);
        exec_command_list_done(&c->exec_start_pre);
        exec_command_list_done(&c->exec_start);
        exec_command_list_done(&c->exec_start_post);
        exec_command_list_done(&c->exec_stop);
        exec_command_list_done(&c->exec_reload);
        free(c->pid_file);
        free(c->working_directory);
        free(c->user);
        free(c->group);
        strv_free(c->supplementary_groups);
        strv_free(c->environment);
        strv_free(c->environment_files);
        free(c->std_output.path);
        free(c->std_error.path);
        free(c->runner);
        strv_free(c->runner_settings);
        free(c);
        return NULL;
}

int job_config_set_error(JobConfig *c, const DiagLoc *loc, const char *msg) {
        char *e;

        assert(c);
        assert(msg);
        if (c->error)
                return 0; /* the first error is the one that counts */
        e = diag_format(loc, msg);
        if (!e)
                return -ENOMEM;
        c->error = e;
        return 0;
}

/* Assignment context and diagnostics */

typedef struct Assign {
        JobConfig *c;
        const char *section;
        const char *key;
        const DiagLoc *loc;
        const Diag *diag;
} Assign;

static int assign_error(const Assign *a, const char *fmt, ...) _printf_(2, 3);
static int assign_error(const Assign *a, const char *fmt, ...) {
        char buf[1024];
        va_list ap;
        int r;

        va_start(ap, fmt);
        (void) vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        diag_emit(a->diag, DIAG_ERROR, a->loc, "%s", buf);
        r = job_config_set_error(a->c, a->loc, buf);
        return r < 0 ? r : -EINVAL;
}

#define assign_warning(a, ...) diag_emit((a)->diag, DIAG_WARNING, (a)->loc, __VA_ARGS__)

static int invalid_value(const Assign *a, const char *value, const char *expected) {
        return assign_error(a, "Invalid value '%s' for %s=: expected %s", value, a->key, expected);
}

/* % specifiers */

static bool path_has_suffix(const char *s, const char *suffix) {
        size_t n, k;
        if (!s)
                return false;
        n = strlen(s);
        k = strlen(suffix);
        return n >= k && streq(s + n - k, suffix);
}

/* systemd's unit name unescaping: "\xNN" is a byte, '-' is '/'. */
static void put_unescaped(FILE *f, const char *s, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '-')
                        fputc('/', f);
                else if (s[i] == '\\' && i + 3 < n && s[i + 1] == 'x' &&
                         isxdigit((unsigned char) s[i + 2]) && isxdigit((unsigned char) s[i + 3])) {
                        char hex[3] = { s[i + 2], s[i + 3], 0 };
                        int v = (int) strtol(hex, NULL, 16);
                        if (v != 0)
                                fputc(v, f);
                        i += 3;
                } else
                        fputc(s[i], f);
        }
}

static int expand_specifiers(const Assign *a, const char *value, char **ret) {
        const JobConfig *c = a->c;
        const char *at = strchr(c->name, '@');
        size_t prefix_len = at ? (size_t) (at - c->name) : strlen(c->name);
        const char *instance = at ? at + 1 : "";
        char *out = NULL;
        size_t out_len = 0;
        FILE *f;

        if (!strchr(value, '%')) {
                *ret = strdup(value);
                return *ret ? 0 : -ENOMEM;
        }
        f = open_memstream(&out, &out_len);
        if (!f)
                return -ENOMEM;
        for (const char *p = value; *p; p++) {
                if (*p != '%') {
                        fputc(*p, f);
                        continue;
                }
                p++;
                switch (*p) {
                case '%':
                        fputc('%', f);
                        break;
                case 'n':
                        fputs(c->name, f);
                        if (path_has_suffix(c->source_path, ".service"))
                                fputs(".service", f);
                        break;
                case 'N':
                        fputs(c->name, f);
                        break;
                case 'p':
                        fwrite(c->name, 1, prefix_len, f);
                        break;
                case 'P':
                        put_unescaped(f, c->name, prefix_len);
                        break;
                case 'i':
                        fputs(instance, f);
                        break;
                case 'I':
                        put_unescaped(f, instance, strlen(instance));
                        break;
                case 'f':
                        fputc('/', f);
                        if (at)
                                put_unescaped(f, instance, strlen(instance));
                        else
                                put_unescaped(f, c->name, prefix_len);
                        break;
                case 'j':
                case 'J': {
                        const char *dash = memrchr(c->name, '-', prefix_len);
                        const char *s = dash ? dash + 1 : c->name;
                        size_t n = prefix_len - (size_t) (s - c->name);
                        if (*p == 'j')
                                fwrite(s, 1, n, f);
                        else
                                put_unescaped(f, s, n);
                        break;
                }
                case 't':
                        fputs("/run", f);
                        break;
                case 'S':
                        fputs("/var/lib", f);
                        break;
                case 'C':
                        fputs("/var/cache", f);
                        break;
                case 'L':
                        fputs("/var/log", f);
                        break;
                case 'E':
                        fputs("/etc", f);
                        break;
                case 'T':
                        fputs("/tmp", f);
                        break;
                case 'V':
                        fputs("/var/tmp", f);
                        break;
                case 'h':
                        fputs("/root", f);
                        break;
                case 's':
                        fputs("/bin/sh", f);
                        break;
                case 'u':
                        fputs(c->user ? c->user : "root", f);
                        break;
                case 'g':
                        fputs(c->group ? c->group : "root", f);
                        break;
                case 'y':
                        fputs(c->source_path ? c->source_path : "", f);
                        break;
                case 'Y': {
                        const char *s = c->source_path ? c->source_path : "";
                        const char *slash = strrchr(s, '/');
                        if (!slash)
                                fputc('.', f);
                        else if (slash == s)
                                fputc('/', f);
                        else
                                fwrite(s, 1, (size_t) (slash - s), f);
                        break;
                }
                case 'H':
                case 'l': {
                        char host[256] = "localhost";
                        if (gethostname(host, sizeof(host) - 1) < 0)
                                strcpy(host, "localhost");
                        host[sizeof(host) - 1] = '\0';
                        if (*p == 'l')
                                host[strcspn(host, ".")] = '\0';
                        fputs(host, f);
                        break;
                }
                case 'v': {
                        struct utsname u;
                        if (uname(&u) >= 0)
                                fputs(u.release, f);
                        break;
                }
                case 'U':
                case 'G':
                        if ((*p == 'U' && (!c->user || streq(c->user, "root") || streq(c->user, "0"))) ||
                            (*p == 'G' && (!c->group || streq(c->group, "root") || streq(c->group, "0")))) {
                                fputc('0', f);
                                break;
                        }
                        __attribute__((fallthrough));
                default:
                        if (*p == '\0') {
                                assign_warning(a, "Trailing '%%' in %s=, keeping it", a->key);
                                fputc('%', f);
                                p--;
                                break;
                        }
                        assign_warning(a, "Unknown or unsupported specifier '%%%c' in %s=, keeping it as is",
                                       *p, a->key);
                        fputc('%', f);
                        fputc(*p, f);
                }
        }
        if (fclose(f) != 0 || !out) {
                free(out);
                return -ENOMEM;
        }
        *ret = out;
        return 0;
}

/* Value helpers */

static const char *strprefix_or_null(const char *s, const char *prefix) {
        size_t n = strlen(prefix);
        return strneq(s, prefix, n) ? s + n : NULL;
}

static int parse_bool(const char *s) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };
        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(s, yes[i]) == 0)
                        return 1;
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(s, no[i]) == 0)
                        return 0;
        return -EINVAL;
}

static bool path_is_absolute(const char *p) {
        return p && p[0] == '/';
}

/* User and group names: systemd's relaxed rules, and nothing that would confuse getpwnam(). */
static bool user_group_name_is_valid(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 256 || streq(s, ".") || streq(s, "..") || s[0] == '-')
                return false;
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f || strchr(" \t:/,", *p))
                        return false;
        return true;
}

static int list_add(const Assign *a, char ***l, const char *s) {
        if (strv_contains(*l, s))
                return 0;
        if (strv_length(*l) >= LIST_MAX)
                return assign_error(a, "Too many entries for %s=", a->key);
        return strv_extend(l, s);
}

/* Key handlers */

typedef int (*AssignFunc)(const Assign *a, const char *value, size_t offset);

#define FIELD(type, c, off) ((type *) ((uint8_t *) (c) + (off)))

static int assign_string(const Assign *a, const char *value, size_t offset) {
        char **field = FIELD(char *, a->c, offset);
        char *s = NULL;
        int r;

        if (isempty(value)) {
                free(*field);
                *field = NULL;
                return 0;
        }
        r = expand_specifiers(a, value, &s);
        if (r < 0)
                return r;
        free(*field);
        *field = s;
        return 0;
}

static int assign_user_group(const Assign *a, const char *value, size_t offset) {
        _cleanup_free_ char *s = NULL;
        char **field = FIELD(char *, a->c, offset);
        int r;

        if (isempty(value)) {
                free(*field);
                *field = NULL;
                return 0;
        }
        r = expand_specifiers(a, value, &s);
        if (r < 0)
                return r;
        if (isempty(s)) {
                /* "User=%i" in a template loaded without an instance. */
                free(*field);
                *field = NULL;
                return 0;
        }
        if (!user_group_name_is_valid(s))
                return invalid_value(a, value, "a user or group name or a numeric id");
        free(*field);
        *field = TAKE_PTR(s);
        return 0;
}

static const char *const unit_suffixes_ignored[] = {
        ".target", ".socket", ".mount", ".slice", ".device", ".path",
        ".timer",  ".scope",  ".swap",  ".automount",
};

static int assign_deps(const Assign *a, const char *value, size_t offset) {
        char ***field = FIELD(char **, a->c, offset);
        _cleanup_free_ char *expanded = NULL, *ignored = NULL;
        _cleanup_strv_free_ char **words = NULL;
        int r;

        if (isempty(value)) {
                *field = strv_free(*field);
                return 0;
        }
        r = expand_specifiers(a, value, &expanded);
        if (r < 0)
                return r;
        words = strv_split(expanded, WHITESPACE);
        if (!words)
                return -ENOMEM;
        STRV_FOREACH(w, words) {
                bool unit = false;
                size_t n = strlen(*w);

                for (size_t i = 0; i < ELEMENTSOF(unit_suffixes_ignored); i++)
                        if (path_has_suffix(*w, unit_suffixes_ignored[i]))
                                unit = true;
                if (unit) {
                        /* Collect them for one warning per line. */
                        char *t = NULL;
                        if (asprintf(&t, "%s%s%s", ignored ? ignored : "", ignored ? " " : "", *w) < 0)
                                return -ENOMEM;
                        free(ignored);
                        ignored = t;
                        continue;
                }
                if (path_has_suffix(*w, ".service"))
                        (*w)[n - strlen(".service")] = '\0';
                else if (path_has_suffix(*w, ".job"))
                        (*w)[n - strlen(".job")] = '\0';
                if (!job_name_is_valid(*w)) {
                        assign_warning(a, "Invalid job name '%s' in %s=, ignoring", *w, a->key);
                        continue;
                }
                r = list_add(a, field, *w);
                if (r < 0)
                        return r;
        }
        if (ignored)
                assign_warning(a, "%s= refers to systemd units that are not jobs, ignoring: %s", a->key,
                               ignored);
        return 0;
}

static int assign_exec(const Assign *a, const char *value, size_t offset) {
        ExecCommandList *l = FIELD(ExecCommandList, a->c, offset);
        _cleanup_free_ char *expanded = NULL;
        ExecCommand cmd = {};
        ExecCommand *t;
        const char *reason = NULL;
        int r;

        if (isempty(value)) {
                exec_command_list_done(l);
                return 0;
        }
        if (l->n >= LIST_MAX)
                return assign_error(a, "Too many %s= lines", a->key);
        r = expand_specifiers(a, value, &expanded);
        if (r < 0)
                return r;
        r = exec_command_parse(expanded, &cmd, &reason);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return assign_error(a, "Invalid command line in %s=: %s", a->key, reason ? reason : "invalid");
        t = realloc(l->commands, (l->n + 1) * sizeof(ExecCommand));
        if (!t) {
                exec_command_done(&cmd);
                return -ENOMEM;
        }
        cmd.line = a->loc ? a->loc->line : 0;
        l->commands = t;
        l->commands[l->n++] = cmd;
        return 0;
}

static int assign_type(const Assign *a, const char *value, size_t offset) {
        ServiceType t = service_type_from_string(value);

        if (t < 0) {
                if (streq(value, "dbus") || streq(value, "idle"))
                        t = SERVICE_SIMPLE;
                else if (streq(value, "notify-reload"))
                        t = SERVICE_NOTIFY;
                else
                        return invalid_value(a, value, "simple, exec, notify, oneshot or forking");
                assign_warning(a, "Type=%s is not supported, using Type=%s", value, service_type_to_string(t));
        }
        a->c->type = t;
        return 0;
}

static int assign_restart(const Assign *a, const char *value, size_t offset) {
        RestartPolicy p = restart_policy_from_string(value);

        if (p < 0) {
                if (streq(value, "on-abnormal") || streq(value, "on-abort") || streq(value, "on-watchdog"))
                        p = RESTART_ON_FAILURE;
                else if (streq(value, "on-success"))
                        p = RESTART_ALWAYS;
                else
                        return invalid_value(a, value, "no, on-failure or always");
                assign_warning(a, "Restart=%s is not supported, using Restart=%s", value,
                               restart_policy_to_string(p));
        }
        a->c->restart = p;
        return 0;
}

static int assign_kill_mode(const Assign *a, const char *value, size_t offset) {
        KillMode m = kill_mode_from_string(value);

        if (isempty(value)) {
                a->c->kill_mode_set = false;
                return 0;
        }
        if (m < 0) {
                if (!streq(value, "none"))
                        return invalid_value(a, value, "control-group, process-group, process or mixed");
                m = KILL_PROCESS;
                assign_warning(a, "KillMode=none is not supported, using KillMode=process");
        }
        a->c->kill_mode = m;
        a->c->kill_mode_set = true;
        return 0;
}

static int assign_notify_access(const Assign *a, const char *value, size_t offset) {
        NotifyAccess n = notify_access_from_string(value);

        if (n < 0) {
                if (!streq(value, "exec"))
                        return invalid_value(a, value, "main, all or none");
                n = NOTIFY_ALL;
                assign_warning(a, "NotifyAccess=exec is not supported, using NotifyAccess=all");
        }
        a->c->notify_access = n;
        return 0;
}

static int assign_log_format(const Assign *a, const char *value, size_t offset) {
        LogFormat f = log_format_from_string(value);

        if (f < 0)
                return invalid_value(a, value, "text, json or raw");
        a->c->log_format = f;
        return 0;
}

/* Time keys; "infinity" and, where 0 means "no limit", 0 give USEC_INFINITY. */
static int assign_time(const Assign *a, const char *value, size_t offset) {
        usec_t t;

        if (parse_time(value, &t) < 0)
                return invalid_value(a, value, "a time span such as 500ms, 10s, 2min or 1h 30s");
        *FIELD(usec_t, a->c, offset) = t;
        return 0;
}

static int assign_timeout(const Assign *a, const char *value, size_t offset) {
        usec_t t;

        if (parse_time(value, &t) < 0)
                return invalid_value(a, value, "a time span such as 10s or 2min, 0 or infinity");
        if (t == 0)
                t = USEC_INFINITY;
        if (streq(a->key, "TimeoutSec")) {
                a->c->timeout_start_usec = t;
                a->c->timeout_stop_usec = t;
        } else
                *FIELD(usec_t, a->c, offset) = t;
        return 0;
}

static int assign_watchdog(const Assign *a, const char *value, size_t offset) {
        usec_t t;

        if (parse_time(value, &t) < 0)
                return invalid_value(a, value, "a time span such as 30s, or 0 for off");
        a->c->watchdog_usec = t == USEC_INFINITY ? 0 : t;
        return 0;
}

static int assign_retries(const Assign *a, const char *value, size_t offset) {
        unsigned n;

        if (streq(value, "infinity"))
                n = 0;
        else if (parse_small_uint(value, 1000000, &n) < 0)
                return invalid_value(a, value, "a number of restarts (0 = unlimited)");
        a->c->restart_max_retries = n;
        return 0;
}

static int assign_unsigned(const Assign *a, const char *value, size_t offset) {
        unsigned n;

        if (parse_small_uint(value, 1000000, &n) < 0)
                return invalid_value(a, value, "a number");
        *FIELD(unsigned, a->c, offset) = n;
        return 0;
}

static int assign_size(const Assign *a, const char *value, size_t offset) {
        uint64_t v;

        if (parse_size(value, &v) < 0)
                return invalid_value(a, value, "a size such as 512K, 10M or 1G");
        *FIELD(uint64_t, a->c, offset) = v;
        return 0;
}

static int assign_auto_start(const Assign *a, const char *value, size_t offset) {
        int b = parse_bool(value);

        if (b < 0)
                return invalid_value(a, value, "yes or no");
        a->c->auto_start = b;
        return 0;
}

static int assign_console(const Assign *a, const char *value, size_t offset) {
        int b;

        if (isempty(value)) {
                a->c->log_console = -1;
                return 0;
        }
        b = parse_bool(value);
        if (b < 0)
                return invalid_value(a, value, "yes or no");
        a->c->log_console = b;
        return 0;
}

static int assign_on_write_error(const Assign *a, const char *value, size_t offset) {
        if (streq(value, "block") || isempty(value))
                a->c->log_drop_on_error = false;
        else if (streq(value, "drop"))
                a->c->log_drop_on_error = true;
        else
                return invalid_value(a, value, "block or drop");
        return 0;
}

static int assign_signal(const Assign *a, const char *value, size_t offset) {
        int s = signal_from_string(value);

        if (s < 0)
                return invalid_value(a, value, "a signal name such as SIGTERM, TERM or 15");
        a->c->kill_signal = s;
        return 0;
}

static int assign_umask(const Assign *a, const char *value, size_t offset) {
        unsigned long m;
        char *end;

        if (isempty(value) || !isdigit((unsigned char) value[0]))
                return invalid_value(a, value, "an octal mode such as 0022");
        errno = 0;
        m = strtoul(value, &end, 8);
        if (errno != 0 || *end || m > 0777)
                return invalid_value(a, value, "an octal mode such as 0022");
        a->c->umask = (mode_t) m;
        return 0;
}

static int assign_pid_file(const Assign *a, const char *value, size_t offset) {
        _cleanup_free_ char *s = NULL;
        int r;

        if (isempty(value)) {
                free(a->c->pid_file);
                a->c->pid_file = NULL;
                return 0;
        }
        r = expand_specifiers(a, value, &s);
        if (r < 0)
                return r;
        if (!path_is_absolute(s)) {
                /* As systemd: a relative PIDFile= is below /run. */
                char *t = NULL;
                if (asprintf(&t, "/run/%s", s) < 0)
                        return -ENOMEM;
                free(s);
                s = t;
        }
        free(a->c->pid_file);
        a->c->pid_file = TAKE_PTR(s);
        return 0;
}

static int assign_working_directory(const Assign *a, const char *value, size_t offset) {
        _cleanup_free_ char *s = NULL;
        JobConfig *c = a->c;
        bool optional = false;
        const char *p;
        int r;

        if (isempty(value)) {
                free(c->working_directory);
                c->working_directory = NULL;
                c->working_directory_optional = c->working_directory_home = false;
                return 0;
        }
        r = expand_specifiers(a, value, &s);
        if (r < 0)
                return r;
        p = s;
        if (*p == '-') {
                optional = true;
                p++;
        }
        if (streq(p, "~")) {
                free(c->working_directory);
                c->working_directory = NULL;
                c->working_directory_home = true;
                c->working_directory_optional = optional;
                return 0;
        }
        if (!path_is_absolute(p))
                return invalid_value(a, value, "an absolute path or ~");
        free(c->working_directory);
        c->working_directory = strdup(p);
        if (!c->working_directory)
                return -ENOMEM;
        c->working_directory_home = false;
        c->working_directory_optional = optional;
        return 0;
}

static int assign_supplementary_groups(const Assign *a, const char *value, size_t offset) {
        _cleanup_free_ char *s = NULL;
        _cleanup_strv_free_ char **words = NULL;
        int r;

        if (isempty(value)) {
                a->c->supplementary_groups = strv_free(a->c->supplementary_groups);
                return 0;
        }
        r = expand_specifiers(a, value, &s);
        if (r < 0)
                return r;
        words = strv_split(s, WHITESPACE);
        if (!words)
                return -ENOMEM;
        STRV_FOREACH(w, words)
                if (!user_group_name_is_valid(*w))
                        return invalid_value(a, *w, "group names");
        STRV_FOREACH(w, words) {
                r = list_add(a, &a->c->supplementary_groups, *w);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool env_assignment_is_valid(const char *s) {
        const char *eq = strchr(s, '=');

        if (!eq || eq == s)
                return false;
        for (const char *p = s; p < eq; p++)
                if ((unsigned char) *p <= ' ' || *p == 0x7f)
                        return false;
        return true;
}

static int assign_environment(const Assign *a, const char *value, size_t offset) {
        _cleanup_free_ char *s = NULL;
        _cleanup_strv_free_ char **words = NULL;
        const char *reason = NULL;
        int r;

        if (isempty(value)) {
                a->c->environment = strv_free(a->c->environment);
                return 0;
        }
        r = expand_specifiers(a, value, &s);
        if (r < 0)
                return r;
        r = cmdline_split_words(s, &words, &reason);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return assign_error(a, "Invalid value '%s' for Environment=: %s", value, reason);
        STRV_FOREACH(w, words) {
                if (!env_assignment_is_valid(*w)) {
                        assign_warning(a, "Invalid environment assignment '%s', ignoring", *w);
                        continue;
                }
                if (strv_length(a->c->environment) >= LIST_MAX)
                        return assign_error(a, "Too many entries for %s=", a->key);
                r = strv_env_set(&a->c->environment, *w);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int assign_environment_file(const Assign *a, const char *value, size_t offset) {
        _cleanup_free_ char *s = NULL;
        int r;

        if (isempty(value)) {
                a->c->environment_files = strv_free(a->c->environment_files);
                return 0;
        }
        r = expand_specifiers(a, value, &s);
        if (r < 0)
                return r;
        if (!path_is_absolute(s[0] == '-' ? s + 1 : s))
                return invalid_value(a, value, "an absolute path, optionally prefixed with '-'");
        return list_add(a, &a->c->environment_files, s);
}

static int assign_output(const Assign *a, const char *value, size_t offset) {
        OutputSpec *o = FIELD(OutputSpec, a->c, offset);
        static const char *const log_like[] = {
                "log", "journal", "syslog", "kmsg", "journal+console", "syslog+console", "kmsg+console",
        };
        _cleanup_free_ char *path = NULL;
        OutputKind kind = _OUTPUT_KIND_INVALID;
        const char *p = NULL;
        int r;

        if (isempty(value))
                kind = OUTPUT_LOG;
        for (size_t i = 0; kind < 0 && i < ELEMENTSOF(log_like); i++)
                if (streq(value, log_like[i]))
                        kind = OUTPUT_LOG;
        if (kind >= 0)
                ;
        else if (streq(value, "inherit"))
                kind = OUTPUT_INHERIT;
        else if (streq(value, "null"))
                kind = OUTPUT_NULL;
        else if ((p = strprefix_or_null(value, "file:")) || (p = strprefix_or_null(value, "truncate:")))
                kind = OUTPUT_FILE;
        else if ((p = strprefix_or_null(value, "append:")))
                kind = OUTPUT_APPEND;
        else if (streq(value, "tty") || streq(value, "socket") || streq(value, "console") ||
                 strprefix_or_null(value, "fd:") || streq(value, "fd")) {
                assign_warning(a, "%s=%s is not supported, using log", a->key, value);
                kind = OUTPUT_LOG;
        } else
                return invalid_value(a, value, "log, journal, syslog, inherit, null, file:PATH or append:PATH");

        if (p) {
                r = expand_specifiers(a, p, &path);
                if (r < 0)
                        return r;
                if (!path_is_absolute(path))
                        return invalid_value(a, value, "an absolute path after file: or append:");
        }
        free(o->path);
        o->kind = kind;
        o->path = TAKE_PTR(path);
        return 0;
}

/* Limit*= keys */

typedef enum LimitKind {
        LIMIT_NUMBER,
        LIMIT_BYTES,
        LIMIT_SECONDS, /* LimitCPU=: time, rounded up to whole seconds */
        LIMIT_USEC,    /* LimitRTTIME=: time, bare numbers are µs */
        LIMIT_NICE,
} LimitKind;

static const struct {
        const char *key;
        int resource;
        LimitKind kind;
} limit_table[] = {
        { "LimitCPU", RLIMIT_CPU, LIMIT_SECONDS },
        { "LimitFSIZE", RLIMIT_FSIZE, LIMIT_BYTES },
        { "LimitDATA", RLIMIT_DATA, LIMIT_BYTES },
        { "LimitSTACK", RLIMIT_STACK, LIMIT_BYTES },
        { "LimitCORE", RLIMIT_CORE, LIMIT_BYTES },
        { "LimitRSS", RLIMIT_RSS, LIMIT_BYTES },
        { "LimitNOFILE", RLIMIT_NOFILE, LIMIT_NUMBER },
        { "LimitAS", RLIMIT_AS, LIMIT_BYTES },
        { "LimitNPROC", RLIMIT_NPROC, LIMIT_NUMBER },
        { "LimitMEMLOCK", RLIMIT_MEMLOCK, LIMIT_BYTES },
        { "LimitLOCKS", RLIMIT_LOCKS, LIMIT_NUMBER },
        { "LimitSIGPENDING", RLIMIT_SIGPENDING, LIMIT_NUMBER },
        { "LimitMSGQUEUE", RLIMIT_MSGQUEUE, LIMIT_BYTES },
        { "LimitNICE", RLIMIT_NICE, LIMIT_NICE },
        { "LimitRTPRIO", RLIMIT_RTPRIO, LIMIT_NUMBER },
        { "LimitRTTIME", RLIMIT_RTTIME, LIMIT_USEC },
};

static int parse_rlim_value(const char *s, LimitKind kind, rlim_t *ret) {
        uint64_t v;
        usec_t t;
        char *end;
        int r;

        if (streq(s, "infinity")) {
                *ret = RLIM_INFINITY;
                return 0;
        }
        switch (kind) {
        case LIMIT_NUMBER:
                if (!isdigit((unsigned char) s[0]))
                        return -EINVAL;
                errno = 0;
                v = strtoull(s, &end, 10);
                if (errno != 0 || *end)
                        return -EINVAL;
                break;
        case LIMIT_BYTES:
                r = parse_size(s, &v);
                if (r < 0)
                        return r;
                break;
        case LIMIT_SECONDS:
                r = parse_time(s, &t);
                if (r < 0)
                        return r;
                v = t == USEC_INFINITY ? RLIM_INFINITY : (t + USEC_PER_SEC - 1) / USEC_PER_SEC;
                break;
        case LIMIT_USEC:
                r = parse_time_unit(s, 1, &t);
                if (r < 0)
                        return r;
                v = t == USEC_INFINITY ? RLIM_INFINITY : t;
                break;
        case LIMIT_NICE: {
                long n;
                /* A signed value is a nice level (-20…19), an unsigned one the raw limit (0…40). */
                errno = 0;
                n = strtol(s, &end, 10);
                if (errno != 0 || *end || end == s)
                        return -EINVAL;
                if (s[0] == '-' || s[0] == '+') {
                        if (n < -20 || n > 19)
                                return -ERANGE;
                        v = (uint64_t) (20 - n);
                } else {
                        if (n < 0 || n > 40)
                                return -ERANGE;
                        v = (uint64_t) n;
                }
                break;
        }
        default:
                assert_not_reached();
        }
        *ret = (rlim_t) v;
        return 0;
}

static int assign_limit(const Assign *a, const char *value, size_t offset) {
        RlimitSetting *l = &a->c->rlimits[offset];
        LimitKind kind = LIMIT_NUMBER;
        _cleanup_free_ char *soft = NULL;
        const char *colon;
        rlim_t s, h;

        for (size_t i = 0; i < ELEMENTSOF(limit_table); i++)
                if (limit_table[i].resource == (int) offset)
                        kind = limit_table[i].kind;
        if (isempty(value)) {
                *l = (RlimitSetting) {};
                return 0;
        }
        colon = strchr(value, ':');
        soft = colon ? strndup(value, (size_t) (colon - value)) : strdup(value);
        if (!soft)
                return -ENOMEM;
        if (parse_rlim_value(soft, kind, &s) < 0 || parse_rlim_value(colon ? colon + 1 : soft, kind, &h) < 0)
                return invalid_value(a, value, kind == LIMIT_BYTES ? "a size, SOFT:HARD or infinity" :
                                                   kind == LIMIT_SECONDS || kind == LIMIT_USEC ?
                                                                      "a time, SOFT:HARD or infinity" :
                                                                      "a number, SOFT:HARD or infinity");
        if (s != RLIM_INFINITY && (h == RLIM_INFINITY ? false : s > h))
                return assign_error(a, "Invalid value '%s' for %s=: soft limit above hard limit", value, a->key);
        if (s == RLIM_INFINITY && h != RLIM_INFINITY)
                return assign_error(a, "Invalid value '%s' for %s=: soft limit above hard limit", value, a->key);
        l->set = true;
        l->rlim.rlim_cur = s;
        l->rlim.rlim_max = h;
        return 0;
}

/* The key table */

enum {
        SEC_UNIT = 1 << 0,
        SEC_SERVICE = 1 << 1,
        SEC_LOG = 1 << 2,
};

typedef struct KeyInfo {
        const char *key;
        unsigned sections;
        AssignFunc func;
        size_t offset;
        bool list;
} KeyInfo;

#define OFF(f) offsetof(JobConfig, f)

static const KeyInfo key_table[] = {
        { "Description", SEC_UNIT, assign_string, OFF(description), false },
        { "After", SEC_UNIT, assign_deps, OFF(after), true },
        { "Before", SEC_UNIT, assign_deps, OFF(before), true },
        { "Requires", SEC_UNIT, assign_deps, OFF(requires), true },
        { "Wants", SEC_UNIT, assign_deps, OFF(wants), true },
        { "StartLimitBurst", SEC_UNIT | SEC_SERVICE, assign_retries, 0, false },

        { "Type", SEC_SERVICE, assign_type, 0, false },
        { "ExecStart", SEC_SERVICE, assign_exec, OFF(exec_start), true },
        { "ExecStartPre", SEC_SERVICE, assign_exec, OFF(exec_start_pre), true },
        { "ExecStartPost", SEC_SERVICE, assign_exec, OFF(exec_start_post), true },
        { "ExecStop", SEC_SERVICE, assign_exec, OFF(exec_stop), true },
        { "ExecReload", SEC_SERVICE, assign_exec, OFF(exec_reload), true },
        { "PIDFile", SEC_SERVICE, assign_pid_file, 0, false },
        { "WorkingDirectory", SEC_SERVICE, assign_working_directory, 0, false },
        { "User", SEC_SERVICE, assign_user_group, OFF(user), false },
        { "Group", SEC_SERVICE, assign_user_group, OFF(group), false },
        { "SupplementaryGroups", SEC_SERVICE, assign_supplementary_groups, 0, true },
        { "UMask", SEC_SERVICE, assign_umask, 0, false },
        { "Environment", SEC_SERVICE, assign_environment, 0, true },
        { "EnvironmentFile", SEC_SERVICE, assign_environment_file, 0, true },
        { "Restart", SEC_SERVICE, assign_restart, 0, false },
        { "RestartSec", SEC_SERVICE, assign_time, OFF(restart_usec), false },
        { "RestartMaxDelaySec", SEC_SERVICE, assign_time, OFF(restart_max_delay_usec), false },
        { "RestartMaxRetries", SEC_SERVICE, assign_retries, 0, false },
        { "RestartResetSec", SEC_SERVICE, assign_time, OFF(restart_reset_usec), false },
        { "KillSignal", SEC_SERVICE, assign_signal, 0, false },
        { "KillMode", SEC_SERVICE, assign_kill_mode, 0, false },
        { "TimeoutStopSec", SEC_SERVICE, assign_timeout, OFF(timeout_stop_usec), false },
        { "TimeoutStartSec", SEC_SERVICE, assign_timeout, OFF(timeout_start_usec), false },
        { "TimeoutSec", SEC_SERVICE, assign_timeout, 0, false },
        { "WatchdogSec", SEC_SERVICE, assign_watchdog, 0, false },
        { "NotifyAccess", SEC_SERVICE, assign_notify_access, 0, false },
        { "StandardOutput", SEC_SERVICE, assign_output, OFF(std_output), false },
        { "StandardError", SEC_SERVICE, assign_output, OFF(std_error), false },
        { "AutoStart", SEC_SERVICE, assign_auto_start, 0, false },
        { "Runner", SEC_SERVICE, assign_string, OFF(runner), false },

        { "Format", SEC_LOG, assign_log_format, 0, false },
        { "MaxSize", SEC_LOG, assign_size, OFF(log_max_size), false },
        { "MaxFiles", SEC_LOG, assign_unsigned, OFF(log_max_files), false },
        { "Console", SEC_LOG, assign_console, 0, false },
        { "OnWriteError", SEC_LOG, assign_on_write_error, 0, false },
};

static unsigned section_flag(const char *section) {
        if (streq(section, "Unit") || streq(section, "Job"))
                return SEC_UNIT;
        if (streq(section, "Service"))
                return SEC_SERVICE;
        if (streq(section, "Log"))
                return SEC_LOG;
        return 0;
}

bool job_config_section_is_known(const char *section) {
        return section && (section_flag(section) != 0 || streq(section, "Runner") || streq(section, "Install"));
}

static bool find_key(unsigned sec, const char *key, KeyInfo *ret) {
        for (size_t i = 0; i < ELEMENTSOF(key_table); i++)
                if ((key_table[i].sections & sec) && streq(key_table[i].key, key)) {
                        *ret = key_table[i];
                        return true;
                }
        for (size_t i = 0; i < ELEMENTSOF(limit_table); i++)
                if ((sec & SEC_SERVICE) && streq(limit_table[i].key, key)) {
                        *ret = (KeyInfo) { limit_table[i].key, SEC_SERVICE, assign_limit,
                                           (size_t) limit_table[i].resource, false };
                        return true;
                }
        return false;
}

bool job_config_key_is_list(const char *section, const char *key) {
        KeyInfo k;

        if (!section || !key)
                return false;
        return find_key(section_flag(section), key, &k) && k.list;
}

const char *job_config_key_section(const char *key) {
        KeyInfo k;

        if (!key)
                return NULL;
        if (find_key(SEC_UNIT, key, &k))
                return "Unit";
        if (find_key(SEC_SERVICE, key, &k))
                return "Service";
        if (find_key(SEC_LOG, key, &k))
                return "Log";
        return NULL;
}

static void fingerprint_add(JobConfig *c, const char *s) {
        for (const unsigned char *p = (const unsigned char *) s;; p++) {
                c->fingerprint ^= *p;
                c->fingerprint *= FNV_PRIME;
                if (!*p)
                        break; /* the NUL separates fields */
        }
}

int job_config_assign(JobConfig *c, const char *section, const char *key, const char *value,
                      const DiagLoc *loc, const Diag *diag) {
        Assign a = { .c = c, .section = section, .key = key, .loc = loc, .diag = diag };
        unsigned sec;
        KeyInfo k;

        assert(c);
        assert(section);
        assert(key);
        assert(value);

        fingerprint_add(c, streq(section, "Job") ? "Unit" : section);
        fingerprint_add(c, key);
        fingerprint_add(c, value);

        if (streq(section, "Install"))
                return 0;
        if (streq(section, "Runner")) {
                _cleanup_free_ char *s = NULL;
                if (strv_length(c->runner_settings) >= LIST_MAX)
                        return assign_error(&a, "Too many [Runner] settings");
                if (asprintf(&s, "%s=%s", key, value) < 0)
                        return -ENOMEM;
                return strv_consume(&c->runner_settings, TAKE_PTR(s));
        }
        sec = section_flag(section);
        if (sec == 0) {
                diag_emit(diag, DIAG_WARNING, loc, "Unknown section [%s], ignoring", section);
                return 0;
        }
        if (!find_key(sec, key, &k)) {
                /* Not supported, but it decides whether a unit without ExecStart= is valid. */
                if (streq(key, "SuccessAction") && !isempty(value))
                        c->has_success_action = true;
                diag_emit(diag, DIAG_WARNING, loc, "Unknown key '%s' in section [%s], ignoring", key, section);
                return 0;
        }
        return k.func(&a, value, k.offset);
}

int job_config_finish(JobConfig *c, const DiagLoc *loc, const Diag *diag) {
        Assign a = { .c = c, .section = "Service", .key = "ExecStart", .loc = loc, .diag = diag };

        assert(c);
        fingerprint_add(c, c->name);
        if (c->error)
                return -EINVAL;
        if (c->exec_start.n == 0) {
                /* systemd's rule: without ExecStart= a unit needs ExecStop= or SuccessAction=, and
                 * is then a oneshot with nothing to run (stock units such as
                 * systemd-poweroff.service are like this). */
                if ((c->exec_stop.n == 0 && !c->has_success_action) ||
                    (c->type != SERVICE_SIMPLE && c->type != SERVICE_ONESHOT))
                        return assign_error(&a, "Missing ExecStart=");
                c->type = SERVICE_ONESHOT;
        }
        if (c->exec_start.n > 1 && c->type != SERVICE_ONESHOT)
                return assign_error(&a, "More than one ExecStart= is only allowed with Type=oneshot");
        return 0;
}
