/* pmctl logs [-n N] [-f] [--json] [--since TIME] [--rotate] JOB…: the job logs, read from the
 * files themselves. pmd is asked (over D-Bus) only where a job's log is (the LogPath property);
 * the lines never pass through pmd, so following costs pmd nothing, goes on across rotations
 * and across a restart of pmd, and works with pmd down (the path is then LOG_DIR/NAME.log, from
 * --log-dir, $PMD_LOG_DIR or the default of the mode).
 *
 * Following uses inotify on the log directory: any change there makes pmctl read what is new in
 * the file it has open; when NAME.log is no longer that file (rotated: renamed to NAME.log.1), the
 * old one is read to its end first, then the new NAME.log from its start, so no line is missed
 * or shown twice. The tail reaches back into NAME.log.1, .2 … when NAME.log holds fewer lines than
 * asked, and following starts where the tail ended. Several jobs are merged by time (the -n tail)
 * or shown as they come (-f), with "NAME | " in front. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

#define DEFAULT_LINES 10
/* An entry that was split by pmd is at most 64 KiB; a line of a foreign file may be longer: it is
 * shown in pieces of this size. */
#define FOLLOW_LINE_MAX (256 * 1024)

const char *arg_since = NULL;
bool arg_rotate = false;
const char *arg_log_dir = NULL;

typedef struct LogSource {
        char *name, *path, *dir;
        int fd;
        dev_t dev;
        ino_t ino;
        char *partial; /* follow: an unfinished line */
        size_t partial_len;
} LogSource;

typedef struct Entry {
        usec_t ts;
        size_t job;
        unsigned gen; /* 0: NAME.log, 1: NAME.log.1 (older) … */
        size_t seq;
        char *line;
} Entry;

static size_t n_sources_shown = 1;

/* ---- timestamps ---- */

/* --since: RFC 3339 UTC ("…Z"), local "YYYY-MM-DD[ HH:MM[:SS]]", or a time span back from now
 * ("10min", "-1h", "2h ago"). */
static int parse_since(const char *s, usec_t *ret) {
        struct tm tm = {};
        usec_t span;
        char *end = NULL;
        _cleanup_free_ char *copy = NULL;

        if (parse_rfc3339(s, ret) >= 0)
                return 0;
        end = strptime(s, "%Y-%m-%d", &tm);
        if (end) {
                if (*end == ' ' || *end == 'T') {
                        char *e2 = strptime(end + 1, "%H:%M:%S", &tm);
                        if (!e2)
                                e2 = strptime(end + 1, "%H:%M", &tm);
                        end = e2;
                }
                if (end && *end == '\0') {
                        time_t t;
                        tm.tm_isdst = -1;
                        t = mktime(&tm);
                        if (t < 0)
                                return -EINVAL;
                        *ret = (usec_t) t * USEC_PER_SEC;
                        return 0;
                }
        }
        copy = strdup(s[0] == '-' ? s + 1 : s);
        if (!copy)
                return -ENOMEM;
        size_t l = strlen(copy);
        if (l > 4 && streq(copy + l - 4, " ago"))
                copy[l - 4] = '\0';
        if (parse_time(copy, &span) < 0 || span == USEC_INFINITY)
                return -EINVAL;
        usec_t now = now_usec(CLOCK_REALTIME);
        *ret = span < now ? now - span : 0;
        return 0;
}

/* The time of a log line: text lines start with it, json lines have "ts". 0 when neither. */
static usec_t line_timestamp(const char *line) {
        usec_t t;
        const char *p;

        if (parse_rfc3339(line, &t) >= 0)
                return t;
        if (line[0] == '{' && (p = strstr(line, "\"ts\":\"")) && parse_rfc3339(p + 6, &t) >= 0)
                return t;
        return 0;
}

/* ---- printing ---- */

static void print_line(const LogSource *src, const char *line) {
        const char *prefix_sep = n_sources_shown > 1 ? " | " : "";
        const char *prefix = n_sources_shown > 1 ? src->name : "";

        if (line[0] == '{') {
                json_t *o = json_loads(line, JSON_DISABLE_EOF_CHECK, NULL);
                if (o && json_is_object(o)) {
                        if (arg_json) {
                                (void) ctl_print_json(o, true);
                                return;
                        }
                        const char *ts = json_string_value(json_object_get(o, "ts"));
                        const char *stream = json_string_value(json_object_get(o, "stream"));
                        const char *msg = json_string_value(json_object_get(o, "msg"));
                        bool partial = json_is_true(json_object_get(o, "partial"));
                        printf("%s%s%s %s%s %s\n", prefix, prefix_sep, strempty(ts), stream ?: "stdout",
                               partial ? "+" : "", strempty(msg));
                        json_decref(o);
                        return;
                }
                json_decref(o);
        }
        if (!arg_json) {
                printf("%s%s%s\n", prefix, prefix_sep, line);
                return;
        }
        /* A text line "TS STREAM MSG" as the object a json log would hold. */
        json_t *o = json_object();
        const char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
        usec_t t;
        if (sp1 && sp2 && parse_rfc3339(line, &t) >= 0) {
                size_t sl = (size_t) (sp2 - sp1 - 1);
                bool partial = sl > 0 && sp1[sl] == '+';
                json_object_set_new(o, "ts", json_stringn(line, (size_t) (sp1 - line)));
                json_object_set_new(o, "job", json_string(src->name));
                json_object_set_new(o, "stream", json_stringn(sp1 + 1, partial ? sl - 1 : sl));
                json_object_set_new(o, "msg", json_string(sp2 + 1) ?: json_string("(not UTF-8)"));
                if (partial)
                        json_object_set_new(o, "partial", json_true());
        } else {
                json_object_set_new(o, "job", json_string(src->name));
                json_object_set_new(o, "msg", json_string(line) ?: json_string("(not UTF-8)"));
        }
        (void) ctl_print_json(o, true);
}

/* ---- where the logs are ---- */

static char *default_log_dir(void) {
        const char *e = getenv("PMD_LOG_DIR"), *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
        char *d = NULL;

        if (arg_log_dir)
                return strdup(arg_log_dir);
        if (e && *e)
                return strdup(e);
        if (!arg_user)
                return strdup("/var/log/pmd");
        if (state && *state) {
                if (asprintf(&d, "%s/pmd/log", state) < 0)
                        return NULL;
        } else if (asprintf(&d, "%s/.local/state/pmd/log", home ?: "/") < 0)
                return NULL;
        return d;
}

static int sources_resolve(char **names, size_t n, LogSource *sources) {
        _cleanup_free_ char *dir = NULL;
        bool use_bus = !arg_log_dir;

        if (use_bus) {
                ctl_bus_set_quiet(true);
                use_bus = ctl_bus() != NULL;
                ctl_bus_set_quiet(false);
        }
        for (size_t i = 0; i < n; i++) {
                LogSource *s = &sources[i];
                s->fd = -EBADF;
                s->name = names[i];
                if (use_bus) {
                        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                        JobInfo j = {};
                        int r = job_info_get(names[i], &j, &error);
                        if (r < 0)
                                return ctl_report_error(&error, r, "%s", names[i]);
                        if (!isempty(j.log_path))
                                s->path = strdup(j.log_path);
                        job_info_done(&j);
                }
                if (!s->path) {
                        if (!dir && !(dir = default_log_dir()))
                                return ctl_error(CTL_EXIT_FAILED, "out of memory");
                        if (asprintf(&s->path, "%s/%s.log", dir, names[i]) < 0)
                                return ctl_error(CTL_EXIT_FAILED, "out of memory");
                        if (!use_bus && access(s->path, F_OK) < 0 && !arg_follow)
                                return ctl_error(CTL_EXIT_NO_SUCH_JOB, "%s: no log at %s (is pmd running? see --log-dir)",
                                                 names[i], s->path);
                }
                if (!s->path)
                        return ctl_error(CTL_EXIT_FAILED, "out of memory");
                char *slash = strrchr(s->path, '/');
                s->dir = slash ? strndup(s->path, (size_t) (slash == s->path ? 1 : slash - s->path)) : strdup(".");
                if (!s->dir)
                        return ctl_error(CTL_EXIT_FAILED, "out of memory");
        }
        return 0;
}

static void sources_free(LogSource *sources, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(sources[i].path);
                free(sources[i].dir);
                free(sources[i].partial);
                safe_close(sources[i].fd);
        }
        free(sources);
}

/* ---- the tail ---- */

typedef struct TailCollect {
        Entry *entries;
        size_t n, alloc;
        size_t job;
        unsigned gen;
        usec_t since;
        bool reached_since; /* a line older than since was seen: older files need not be read */
} TailCollect;

static int collect_line(const char *line, void *userdata) {
        TailCollect *c = userdata;
        usec_t ts = line_timestamp(line);

        if (c->since > 0 && ts < c->since) {
                c->reached_since = true;
                return 0;
        }
        if (GREEDY_REALLOC(c->entries, c->alloc, c->n + 1, 64) < 0)
                return -ENOMEM;
        c->entries[c->n] = (Entry) { .ts = ts, .job = c->job, .gen = c->gen, .seq = c->n, .line = strdup(line) };
        if (!c->entries[c->n].line)
                return -ENOMEM;
        c->n++;
        return 0;
}

/* By time; lines of the same time in file order (an older file first). */
static int entry_compare(const void *a, const void *b) {
        const Entry *x = a, *y = b;
        if (x->ts != y->ts)
                return x->ts < y->ts ? -1 : 1;
        if (x->gen != y->gen)
                return x->gen > y->gen ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Rotated files kept beside NAME.log are looked at up to this one. */
#define ROTATED_MAX 1000

/* One job's part of the tail into c: its last n lines (every line since c->since when n is 0)
 * from NAME.log and, where that does not hold enough, from NAME.log.1, .2 … before it. NAME.log
 * stays open in s->fd, at the offset where its tail ended, so that following goes on from
 * exactly there: a line written meanwhile is neither missed nor shown twice. */
static int source_tail(LogSource *s, unsigned n, TailCollect *c) {
        size_t got = 0;

        for (unsigned gen = 0; gen <= ROTATED_MAX; gen++) {
                _cleanup_free_ char *rotated = NULL;
                _cleanup_close_ int fd = -EBADF;
                struct stat st;
                size_t before = c->n;
                int r;

                if (gen > 0 && asprintf(&rotated, "%s.%u", s->path, gen) < 0)
                        return -ENOMEM;
                fd = open(rotated ?: s->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0) {
                        if (errno == ENOENT && gen == 0)
                                continue; /* rotated away, the new one not made yet */
                        if (errno == ENOENT)
                                return 0;
                        return -errno;
                }
                if (fstat(fd, &st) < 0)
                        return -errno;
                if (!S_ISREG(st.st_mode))
                        return -EBADFD;
                c->gen = gen;
                c->reached_since = false;
                r = ctl_tail_fd(fd, st.st_size, n > 0 ? n - (unsigned) got : UINT_MAX, collect_line, c);
                if (r < 0)
                        return r;
                if (gen == 0) {
                        if (lseek(fd, st.st_size, SEEK_SET) < 0)
                                return -errno;
                        safe_close(s->fd);
                        s->fd = TAKE_FD(fd);
                        s->dev = st.st_dev;
                        s->ino = st.st_ino;
                }
                got += c->n - before;
                if ((n > 0 && got >= n) || c->reached_since)
                        return 0;
        }
        return 0;
}

static void tail_done(TailCollect *c) {
        for (size_t i = 0; i < c->n; i++)
                free(c->entries[i].line);
        free(c->entries);
}

/* The last n lines of the jobs (each job's last n, merged by time, then the last n of those). */
static int show_tail(LogSource *sources, size_t n_sources, unsigned n, usec_t since) {
        TailCollect c = { .since = since };
        int r = 0;

        for (size_t i = 0; i < n_sources && r >= 0; i++) {
                c.job = i;
                r = source_tail(&sources[i], n, &c);
                if (r < 0)
                        r = ctl_error(-CTL_EXIT_FAILED, "cannot read %s: %s", sources[i].path, strerror(-r));
        }
        if (r >= 0) {
                if (c.n > 0)
                        qsort(c.entries, c.n, sizeof(Entry), entry_compare);
                for (size_t i = c.n > n && n > 0 ? c.n - n : 0; i < c.n; i++)
                        print_line(&sources[c.entries[i].job], c.entries[i].line);
        }
        tail_done(&c);
        return r < 0 ? -r : 0;
}

int ctl_tail_run(const char *path, usec_t run_start, unsigned n, int (*cb)(const char *line, void *userdata),
                 void *userdata) {
        /* Lines before the run began belong to an earlier run. */
        LogSource s = { .path = (char *) path, .fd = -EBADF };
        TailCollect c = { .since = run_start };
        int r;

        r = source_tail(&s, n, &c);
        safe_close(s.fd);
        if (r >= 0) {
                if (c.n > 0)
                        qsort(c.entries, c.n, sizeof(Entry), entry_compare);
                for (size_t i = c.n > n ? c.n - n : 0; i < c.n && r >= 0; i++)
                        r = cb(c.entries[i].line, userdata);
        }
        tail_done(&c);
        return r;
}

/* ---- following ---- */

static int source_open(LogSource *s) {
        struct stat st;
        int fd;

        fd = open(s->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                safe_close(fd);
                return -errno;
        }
        safe_close(s->fd);
        s->fd = fd;
        s->dev = st.st_dev;
        s->ino = st.st_ino;
        return 0;
}

/* Print every complete line that is new in the open file. */
static int source_read(LogSource *s, usec_t since) {
        char buf[65536];

        if (s->fd < 0)
                return 0;
        for (;;) {
                ssize_t k = read(s->fd, buf, sizeof(buf));
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return 0;
                char *p = realloc(s->partial, s->partial_len + (size_t) k + 1);
                if (!p)
                        return -ENOMEM;
                s->partial = p;
                memcpy(p + s->partial_len, buf, (size_t) k);
                s->partial_len += (size_t) k;
                size_t start = 0;
                for (size_t i = 0; i < s->partial_len; i++)
                        if (p[i] == '\n' || i - start >= FOLLOW_LINE_MAX) {
                                char saved = p[i];
                                p[i] = '\0';
                                if (since == 0 || line_timestamp(p + start) >= since)
                                        print_line(s, p + start);
                                p[i] = saved;
                                start = i + (saved == '\n');
                        }
                memmove(p, p + start, s->partial_len - start);
                s->partial_len -= start;
                fflush(stdout);
        }
}

/* After something changed in the directory: read on, and switch to a new NAME.log when the one
 * open is not it any more (read the old one to its end first). */
static int source_check(LogSource *s, usec_t since) {
        struct stat st;
        int r;

        r = source_read(s, since);
        if (r < 0)
                return r;
        if (stat(s->path, &st) < 0)
                return 0; /* rotated away, the new one not made yet: wait for it */
        if (s->fd >= 0 && st.st_dev == s->dev && st.st_ino == s->ino)
                return 0;
        r = source_open(s);
        if (r < 0)
                return 0;
        s->partial_len = 0;
        return source_read(s, since);
}

static int follow(LogSource *sources, size_t n, usec_t since) {
        _cleanup_close_ int ifd = -EBADF;
        int *wds;
        int r = 0;

        ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (ifd < 0)
                return ctl_error(CTL_EXIT_FAILED, "inotify: %s", strerror(errno));
        wds = calloc(n, sizeof(int));
        if (!wds)
                return ctl_error(CTL_EXIT_FAILED, "out of memory");
        for (size_t i = 0; i < n; i++)
                wds[i] = -1;
        fflush(stdout);

        for (;;) {
                bool missing = false;

                /* (Re)watch the directories; a directory that is gone is looked for again every
                 * second until it is back. */
                for (size_t i = 0; i < n; i++) {
                        if (wds[i] < 0) {
                                wds[i] = inotify_add_watch(ifd, sources[i].dir,
                                                           IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM |
                                                           IN_DELETE | IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF |
                                                           IN_MOVE_SELF | IN_ONLYDIR);
                                if (wds[i] < 0)
                                        missing = true;
                        }
                        if (source_check(&sources[i], since) < 0)
                                r = CTL_EXIT_FAILED;
                }
                fflush(stdout);
                if (ferror(stdout))
                        break;

                struct pollfd p = { .fd = ifd, .events = POLLIN };
                if (poll(&p, 1, missing ? 1000 : -1) < 0 && errno != EINTR) {
                        r = ctl_error(CTL_EXIT_FAILED, "poll: %s", strerror(errno));
                        break;
                }
                char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
                ssize_t k;
                while ((k = read(ifd, ev, sizeof(ev))) > 0)
                        for (char *q = ev; q < ev + k;) {
                                struct inotify_event *e = (struct inotify_event *) q;
                                if (e->mask & IN_IGNORED)
                                        for (size_t i = 0; i < n; i++)
                                                if (wds[i] == e->wd)
                                                        wds[i] = -1;
                                q += sizeof(struct inotify_event) + e->len;
                        }
        }
        free(wds);
        return r;
}

static int rotate(char **names, size_t n) {
        int ret = 0;

        if (!ctl_bus())
                return CTL_EXIT_UNREACHABLE;
        for (size_t i = 0; i < n; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                int r = ctl_call("RotateLogs", &error, NULL, "as", 1, names[i]);
                if (r < 0) {
                        if (sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_METHOD))
                                return ctl_error(CTL_EXIT_FAILED, "this pmd cannot rotate logs over D-Bus; "
                                                 "send it SIGUSR1 instead");
                        if (ctl_report_job_error(&error, r, names[i], &ret))
                                break;
                }
        }
        return ret;
}

int verb_logs_files(int argc, char **argv) {
        size_t n = (size_t) argc - 1;
        LogSource *sources;
        usec_t since = 0;
        int r;

        if (arg_since && parse_since(arg_since, &since) < 0)
                return ctl_error(CTL_EXIT_USAGE, "invalid --since: %s", arg_since);
        if (arg_rotate)
                return rotate(argv + 1, n);

        sources = calloc(n, sizeof(LogSource));
        if (!sources)
                return ctl_error(CTL_EXIT_FAILED, "out of memory");
        r = sources_resolve(argv + 1, n, sources);
        if (r != 0) {
                sources_free(sources, n);
                return r;
        }
        n_sources_shown = n;

        /* The tail, then the follow from where the tail ended in each file. */
        r = show_tail(sources, n, arg_since && !arg_lines ? 0 : (arg_lines ?: DEFAULT_LINES), since);
        if (r == 0 && arg_follow)
                r = follow(sources, n, since);
        sources_free(sources, n);
        return r;
}
