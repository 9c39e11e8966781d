/* pmctl's daemon verbs: reload, daemon-reexec, poweroff/reboot/halt, audit, backup, and `user`,
 * which manages the dashboard's users file (STATE_DIR/users, lines "name:role:crypt(3) hash")
 * directly — it needs write access to the state directory, not a running pmd. */

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "ctl.h"
#include "strv.h"

#define USER_NAME_MAX 64
#define PASSWORD_MAX 1024
#define USERS_FILE_MAX (1024 * 1024)

static int simple_call(const char *method, const char *what) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (!ctl_bus())
                return CTL_EXIT_UNREACHABLE;
        r = ctl_call(method, &error, NULL, NULL);
        if (r < 0)
                return ctl_report_error(&error, r, "%s", what);
        return 0;
}

/* reload: re-read the job files; reload JOB…: run their ExecReload= (as systemctl reload). */
int verb_reload(int argc, char **argv) {
        if (argc > 1)
                return verb_reload_jobs(argc, argv);
        return simple_call("Reload", "reload failed");
}

int verb_reexec(int argc, char **argv) {
        return simple_call("Reexecute", "daemon-reexec failed");
}

int verb_poweroff(int argc, char **argv) {
        return simple_call("PowerOff", "poweroff failed");
}

int verb_reboot(int argc, char **argv) {
        return simple_call("Reboot", "reboot failed");
}

int verb_halt(int argc, char **argv) {
        return simple_call("Halt", "halt failed");
}

/* ---- audit ----------------------------------------------------------------------------------- */

int verb_audit(int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        static const char *const headers[] = { "TIME", "ACTOR", "ACTION", "JOB", "OUTCOME" };
        _cleanup_(table_freep) Table *t = NULL;
        json_t *array = NULL;
        const char *actor, *action, *job, *outcome;
        uint64_t ts;
        int r;

        if (!ctl_bus())
                return CTL_EXIT_UNREACHABLE;
        r = ctl_call("ListAudit", &error, &reply, "u", (uint32_t) (arg_lines ?: 50));
        if (r < 0)
                return ctl_report_error(&error, r, "cannot read the audit log");

        if (arg_json)
                array = json_array();
        else {
                t = table_new(headers, ELEMENTSOF(headers));
                if (!t)
                        return ctl_error(CTL_EXIT_FAILED, "out of memory");
        }
        r = sd_bus_message_enter_container(reply, 'a', "(tssss)");
        if (r < 0)
                goto bad;
        while ((r = sd_bus_message_read(reply, "(tssss)", &ts, &actor, &action, &job, &outcome)) > 0) {
                char when[64];

                if (array) {
                        json_t *o = json_object();
                        json_object_set_new(o, "ts", json_string(format_rfc3339(when, sizeof(when), ts)));
                        json_object_set_new(o, "actor", json_string(actor));
                        json_object_set_new(o, "action", json_string(action));
                        json_object_set_new(o, "job", isempty(job) ? json_null() : json_string(job));
                        json_object_set_new(o, "outcome", json_string(outcome));
                        json_array_append_new(array, o);
                } else {
                        const char *cells[] = { ctl_format_local(when, sizeof(when), ts), actor, action,
                                                isempty(job) ? "-" : job, outcome };
                        r = table_add_row(t, cells, -1, NULL);
                        if (r < 0)
                                goto bad;
                }
        }
        if (r < 0)
                goto bad;
        if (array)
                return ctl_print_json(array, false) < 0 ? CTL_EXIT_FAILED : 0;
        return table_print(t) < 0 ? CTL_EXIT_FAILED : 0;
bad:
        json_decref(array);
        return ctl_error(CTL_EXIT_FAILED, "bad reply from pmd: %s", strerror(-r));
}

/* ---- backup ---------------------------------------------------------------------------------- */

int verb_backup(int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *dest = argv[1];
        int r;

        if (!ctl_bus())
                return CTL_EXIT_UNREACHABLE;
        /* pmctl opens the file with its own rights and hands pmd the fd; a temporary name and a
         * rename keep a half-written backup from ever carrying the final name. */
        if (asprintf(&tmp, "%s.XXXXXX", dest) < 0)
                return ctl_error(CTL_EXIT_FAILED, "out of memory");
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return ctl_error(CTL_EXIT_FAILED, "cannot create %s: %s", tmp, strerror(errno));
        r = ctl_call("Backup", &error, NULL, "h", fd);
        if (r < 0) {
                (void) unlink(tmp);
                return ctl_report_error(&error, r, "backup failed");
        }
        if (rename(tmp, dest) < 0) {
                r = -errno;
                (void) unlink(tmp);
                return ctl_error(CTL_EXIT_FAILED, "cannot rename %s to %s: %s", tmp, dest, strerror(-r));
        }
        return 0;
}

/* ---- user ------------------------------------------------------------------------------------ */

static bool user_name_is_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > USER_NAME_MAX)
                return false;
        for (; *s; s++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.@-", *s))
                        return false;
        return true;
}

static char *default_state_dir(void) {
        const char *e;
        char *p = NULL;

        if (!arg_user)
                return strdup("/var/lib/pmd");
        e = getenv("XDG_STATE_HOME");
        if (!isempty(e))
                return asprintf(&p, "%s/pmd", e) < 0 ? NULL : p;
        e = getenv("HOME");
        if (isempty(e))
                return NULL;
        return asprintf(&p, "%s/.local/state/pmd", e) < 0 ? NULL : p;
}

static int read_password(char **ret) {
        _cleanup_free_ char *a = NULL, *b = NULL;
        size_t na = 0, nb = 0;
        bool tty = isatty(STDIN_FILENO);
        struct termios old, quiet;
        ssize_t k;

        if (tty) {
                if (tcgetattr(STDIN_FILENO, &old) < 0)
                        return -errno;
                quiet = old;
                quiet.c_lflag &= ~(tcflag_t) ECHO;
                quiet.c_lflag |= ECHONL;
                fputs("Password: ", stderr);
                if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) < 0)
                        return -errno;
                k = getline(&a, &na, stdin);
                if (k >= 0) {
                        fputs("Repeat password: ", stderr);
                        k = getline(&b, &nb, stdin);
                }
                (void) tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
                if (k < 0)
                        return -EIO;
        } else if (getline(&a, &na, stdin) < 0)
                return -ENODATA;

        a[strcspn(a, "\r\n")] = '\0';
        if (b) {
                b[strcspn(b, "\r\n")] = '\0';
                if (!streq(a, b)) {
                        explicit_bzero(a, strlen(a));
                        explicit_bzero(b, strlen(b));
                        return -EBADMSG;
                }
                explicit_bzero(b, strlen(b));
        }
        if (isempty(a))
                return -ENODATA;
        if (strlen(a) > PASSWORD_MAX) {
                explicit_bzero(a, strlen(a));
                return -E2BIG;
        }
        *ret = TAKE_PTR(a);
        return 0;
}

static int hash_password(const char *password, char **ret) {
        _cleanup_free_ struct crypt_data *cd = calloc(1, sizeof(struct crypt_data));
        _cleanup_free_ char *setting = NULL;
        const char *h;

        if (!cd)
                return -ENOMEM;
        /* libxcrypt's preferred method (yescrypt on Debian 12), else SHA-512. */
        setting = crypt_gensalt_ra(NULL, 0, NULL, 0);
        if (!setting)
                setting = crypt_gensalt_ra("$6$", 0, NULL, 0);
        if (!setting)
                return -errno ?: -EINVAL;
        h = crypt_r(password, setting, cd);
        if (!h || h[0] == '*')
                return -EINVAL;
        *ret = strdup(h);
        explicit_bzero(cd, sizeof(*cd));
        return *ret ? 0 : -ENOMEM;
}

/* The lines of path ("" when it does not exist yet). */
static int read_lines(const char *path, char ***ret) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *line = NULL;
        size_t n = 0, total = 0;
        ssize_t k;

        f = fopen(path, "re");
        if (!f) {
                if (errno != ENOENT)
                        return -errno;
                *ret = NULL;
                return 0;
        }
        while ((k = getline(&line, &n, f)) >= 0) {
                total += (size_t) k;
                if (total > USERS_FILE_MAX)
                        return -EFBIG;
                line[strcspn(line, "\n")] = '\0';
                if (strv_extend(&l, line) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int write_lines(const char *path, char *const *lines) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        int fd, r;

        if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* Password hashes: readable by their owner only (pmd runs as root). */
        if (fchmod(fd, 0600) < 0) {
                r = -errno;
                close(fd);
                goto fail;
        }
        f = fdopen(fd, "w");
        if (!f) {
                r = -errno;
                close(fd);
                goto fail;
        }
        STRV_FOREACH(l, lines)
                fprintf(f, "%s\n", *l);
        if (fflush(f) != 0 || fsync(fileno(f)) < 0) {
                r = -errno;
                goto fail;
        }
        if (rename(tmp, path) < 0) {
                r = -errno;
                goto fail;
        }
        return 0;
fail:
        (void) unlink(tmp);
        return r;
}

static char **find_user(char **lines, const char *name) {
        size_t n = strlen(name);

        STRV_FOREACH(l, lines)
                if (strneq(*l, name, n) && (*l)[n] == ':')
                        return (char **) l;
        return NULL;
}

int verb_user(int argc, char **argv) {
        const char *action = argv[1], *name = argv[2];
        _cleanup_free_ char *dir = NULL, *path = NULL, *password = NULL, *hash = NULL, *line = NULL;
        _cleanup_strv_free_ char **lines = NULL;
        char **entry;
        int r;

        if (!streq(action, "add") && !streq(action, "del") && !streq(action, "passwd"))
                return ctl_error(CTL_EXIT_USAGE, "user: unknown action '%s' (add, del or passwd)", action);
        if (!user_name_is_valid(name))
                return ctl_error(CTL_EXIT_USAGE, "user: invalid name '%s' (letters, digits, _.@-, at most %d)", name,
                                 USER_NAME_MAX);
        if (arg_role && !streq(arg_role, "admin") && !streq(arg_role, "viewer"))
                return ctl_error(CTL_EXIT_USAGE, "user: invalid role '%s' (admin or viewer)", arg_role);

        if (arg_state_dir)
                dir = strdup(arg_state_dir);
        else {
                /* Ask the running pmd where its state is; else the default of the mode. */
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                ctl_bus_set_quiet(true);
                if (ctl_bus() && ctl_get_manager_property("StateDir", 's', &dir, &error) >= 0 && isempty(dir)) {
                        free(dir);
                        dir = NULL;
                }
                ctl_bus_set_quiet(false);
                if (!dir)
                        dir = default_state_dir();
        }
        if (!dir || asprintf(&path, "%s/users", dir) < 0)
                return ctl_error(CTL_EXIT_FAILED, "cannot find pmd's state directory (use --state-dir)");

        r = read_lines(path, &lines);
        if (r < 0)
                return ctl_error(CTL_EXIT_FAILED, "cannot read %s: %s", path, strerror(-r));
        entry = find_user(lines, name);

        if (streq(action, "del")) {
                if (!entry)
                        return ctl_error(CTL_EXIT_FAILED, "user: no user '%s' in %s", name, path);
                free(*entry);
                memmove(entry, entry + 1, (strv_length(entry + 1) + 1) * sizeof(char *));
        } else {
                const char *role = arg_role;

                if (streq(action, "add") && entry)
                        return ctl_error(CTL_EXIT_FAILED, "user: '%s' exists already (use passwd)", name);
                if (streq(action, "passwd") && !entry)
                        return ctl_error(CTL_EXIT_FAILED, "user: no user '%s' in %s", name, path);
                if (!role && entry) {
                        /* Keep the role: "name:role:hash". */
                        const char *p = *entry + strlen(name) + 1, *e = strchr(p, ':');
                        static char kept[32];
                        snprintf(kept, sizeof(kept), "%.*s", e ? (int) MIN((size_t) (e - p), sizeof(kept) - 1) : 0, p);
                        role = kept;
                }
                if (isempty(role))
                        role = "viewer";

                r = read_password(&password);
                if (r == -EBADMSG)
                        return ctl_error(CTL_EXIT_FAILED, "user: the passwords differ");
                if (r < 0)
                        return ctl_error(CTL_EXIT_FAILED, "user: no password given%s",
                                         r == -E2BIG ? " (too long)" : " (type it, or its first line on stdin)");
                r = hash_password(password, &hash);
                explicit_bzero(password, strlen(password));
                if (r < 0)
                        return ctl_error(CTL_EXIT_FAILED, "user: cannot hash the password: %s", strerror(-r));
                if (asprintf(&line, "%s:%s:%s", name, role, hash) < 0)
                        return ctl_error(CTL_EXIT_FAILED, "out of memory");
                if (entry) {
                        free(*entry);
                        *entry = TAKE_PTR(line);
                } else if (strv_consume(&lines, TAKE_PTR(line)) < 0)
                        return ctl_error(CTL_EXIT_FAILED, "out of memory");
        }

        r = write_lines(path, lines);
        if (r < 0)
                return ctl_error(CTL_EXIT_FAILED, "cannot write %s: %s", path, strerror(-r));
        return 0;
}
