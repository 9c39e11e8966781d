/* pmd.conf: the daemon's settings (SPEC 2), read with inih.
 *
 * Debian's libinih has no line numbers in its handler and cuts lines at 200 bytes. So the file is
 * read into memory and fed to ini_parse_stream() through a reader of our own: it counts lines (the
 * handler is always called for the line the reader returned last) and turns a line too long for
 * inih into an empty one with a warning, instead of letting inih parse its tail as a line of its
 * own. Settings go into a scratch DaemonConfig first and are moved into the caller's only when the
 * whole file was read, so a broken file changes nothing. */
#include <ini.h>
#include <stddef.h>
#include <string.h>

#include "conf-daemon.h"
#include "conf-tree.h"
#include "strv.h"

#define DAEMON_CONFIG_SIZE_MAX (1024U * 1024U)

typedef struct DaemonKey {
        const char *section;
        const char *key;
        size_t offset; /* of a char * field in DaemonConfig */
} DaemonKey;

static const DaemonKey daemon_keys[] = {
        { "Daemon", "StateDir", offsetof(DaemonConfig, state_dir) },
        { "Daemon", "LogDir", offsetof(DaemonConfig, log_dir) },
        { "Daemon", "Socket", offsetof(DaemonConfig, socket_path) },
        { "Daemon", "Bus", offsetof(DaemonConfig, bus) },
        { "Daemon", "Http", offsetof(DaemonConfig, http) },
        { "Daemon", "PluginDir", offsetof(DaemonConfig, plugin_dir) },
        { "Auth", "KeyFile", offsetof(DaemonConfig, auth_key_file) },
        { "Auth", "UsersFile", offsetof(DaemonConfig, auth_users_file) },
        { "Auth", "JWKSFile", offsetof(DaemonConfig, auth_jwks_file) },
        { "Auth", "AnonymousRole", offsetof(DaemonConfig, auth_anonymous_role) },
        { "HTTP", "CertFile", offsetof(DaemonConfig, http_cert_file) },
        { "HTTP", "KeyFile", offsetof(DaemonConfig, http_key_file) },
};

#define FIELD(c, k) (*(char **) ((char *) (c) + (k)->offset))

typedef struct LoadState {
        const char *path;
        const Diag *diag;
        const char *data;
        size_t size, pos;
        unsigned line;
        DaemonConfig tmp;
        bool seen[ELEMENTSOF(daemon_keys)];
        int r; /* first failure inside a callback (-ENOMEM) */
} LoadState;

/* fgets() on the buffer: one whole line per call, so s->line is the line inih is looking at. */
static char *reader(char *str, int num, void *stream) {
        LoadState *s = stream;
        const char *start, *nl;
        size_t len;

        if (s->pos >= s->size || num < 2)
                return NULL;
        start = s->data + s->pos;
        nl = memchr(start, '\n', s->size - s->pos);
        len = nl ? (size_t) (nl - start) + 1 : s->size - s->pos;
        s->pos += len;
        s->line++;

        if (len > (size_t) num - 1) {
                DiagLoc loc = { .file = s->path, .line = s->line };

                diag_emit(s->diag, DIAG_WARNING, &loc, "Line too long (more than %d bytes), ignoring", num - 2);
                memcpy(str, "\n", 2);
                return str;
        }
        memcpy(str, start, len);
        str[len] = '\0';
        return str;
}

static int handler(void *user, const char *section, const char *name, const char *value) {
        LoadState *s = user;
        DiagLoc loc = { .file = s->path, .line = s->line };

        if (s->r < 0)
                return 1;

        if (streq(section, "Daemon") && streq(name, "JobDir")) {
                _cleanup_strv_free_ char **words = NULL;

                /* The file's list replaces the default; within the file, lines add up. */
                s->tmp.job_dirs_set = true;
                if (isempty(value)) {
                        s->tmp.job_dirs = strv_free(s->tmp.job_dirs);
                        return 1;
                }
                words = strv_split(value, " \t");
                if (!words) {
                        s->r = -ENOMEM;
                        return 1;
                }
                STRV_FOREACH(w, words)
                        if (strv_extend(&s->tmp.job_dirs, *w) < 0) {
                                s->r = -ENOMEM;
                                return 1;
                        }
                return 1;
        }

        for (size_t i = 0; i < ELEMENTSOF(daemon_keys); i++) {
                const DaemonKey *k = daemon_keys + i;
                char **f = &FIELD(&s->tmp, k);

                if (!streq(section, k->section) || !streq(name, k->key))
                        continue;
                free(*f);
                *f = NULL;
                s->seen[i] = true;
                if (!isempty(value)) {
                        *f = strdup(value);
                        if (!*f)
                                s->r = -ENOMEM;
                }
                return 1;
        }

        if (isempty(section))
                diag_emit(s->diag, DIAG_WARNING, &loc, "Key '%s' outside of any section, ignoring", name);
        else
                diag_emit(s->diag, DIAG_WARNING, &loc, "Unknown key '%s' in section [%s], ignoring", name,
                          section);
        return 1;
}

int daemon_config_load(const char *path, DaemonConfig *c, const Diag *diag) {
        _cleanup_free_ char *data = NULL;
        DiagLoc loc = { .file = path };
        LoadState s = { .path = path, .diag = diag };
        size_t size;
        int r;

        assert(path);
        assert(c);

        r = conf_read_file(path, &data, &size);
        if (r == -ENOENT)
                return 0;
        if (r >= 0 && size > DAEMON_CONFIG_SIZE_MAX)
                r = -EFBIG;
        if (r < 0) {
                if (r != -ENOMEM)
                        diag_emit(diag, DIAG_ERROR, &loc, "%s",
                                  r == -EBADFD ? "Not a regular file" : strerror(-r));
                return r;
        }

        s.data = data;
        s.size = size;
        r = ini_parse_stream(reader, &s, handler, &s);
        if (s.r < 0)
                r = s.r;
        else if (r == -2)
                r = -ENOMEM;
        else if (r != 0) {
                loc.line = r > 0 ? (unsigned) r : 0;
                diag_emit(diag, DIAG_ERROR, &loc, "Invalid line: expected [Section], Key=Value or a comment");
                r = -EINVAL;
        }
        if (r < 0) {
                daemon_config_done(&s.tmp);
                return r;
        }

        /* The whole file was fine: move what it set. */
        if (s.tmp.job_dirs_set) {
                strv_free(c->job_dirs);
                c->job_dirs = TAKE_PTR(s.tmp.job_dirs);
                c->job_dirs_set = true;
        }
        for (size_t i = 0; i < ELEMENTSOF(daemon_keys); i++)
                if (s.seen[i]) {
                        free(FIELD(c, &daemon_keys[i]));
                        FIELD(c, &daemon_keys[i]) = TAKE_PTR(FIELD(&s.tmp, &daemon_keys[i]));
                }
        daemon_config_done(&s.tmp);
        return 0;
}

void daemon_config_done(DaemonConfig *c) {
        if (!c)
                return;
        strv_free(c->job_dirs);
        for (size_t i = 0; i < ELEMENTSOF(daemon_keys); i++)
                free(FIELD(c, &daemon_keys[i]));
        *c = (DaemonConfig) {};
}
