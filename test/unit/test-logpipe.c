/* Unit tests of the job log writer (logpipe.c): the line framer over any split of the input, the
 * text and json formatters (invalid UTF-8, control characters, long lines), timestamps, the
 * rotation of file names, and a JobLog on a real event loop: pipes read, rotation by size without
 * losing or repeating a line, back-pressure while the directory is gone, recovery after. */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logpipe.h"
#include "tests.h"

typedef struct Lines {
        char *text[64];
        bool partial[64];
        size_t len[64];
        unsigned n;
} Lines;

static int collect(const char *line, size_t len, bool partial, void *userdata) {
        Lines *l = userdata;
        ASSERT_TRUE(l->n < ELEMENTSOF(l->text));
        l->text[l->n] = strndup(line, len);
        l->len[l->n] = len;
        l->partial[l->n] = partial;
        l->n++;
        return 0;
}

static void lines_done(Lines *l) {
        for (unsigned i = 0; i < l->n; i++)
                free(l->text[i]);
        *l = (Lines) {};
}

TEST(framer_pieces) {
        const char *input = "one\ntwo\n\nthree-without-newline";
        size_t n = strlen(input);

        /* Every way to cut the input in two gives the same lines. */
        for (size_t cut = 0; cut <= n; cut++) {
                LogFramer f = {};
                Lines l = {};
                ASSERT_OK(log_framer_feed(&f, input, cut, collect, &l));
                ASSERT_OK(log_framer_feed(&f, input + cut, n - cut, collect, &l));
                ASSERT_EQ(l.n, 3);
                ASSERT_STREQ(l.text[0], "one");
                ASSERT_STREQ(l.text[1], "two");
                ASSERT_STREQ(l.text[2], "");
                ASSERT_EQ(f.carry.len, strlen("three-without-newline"));
                ASSERT_OK(log_framer_flush(&f, collect, &l));
                ASSERT_EQ(l.n, 4);
                ASSERT_STREQ(l.text[3], "three-without-newline");
                ASSERT_TRUE(!l.partial[3]);
                ASSERT_EQ(f.carry.len, 0);
                lines_done(&l);
                log_framer_done(&f);
        }
}

TEST(framer_long_lines) {
        size_t n = 3 * LOG_LINE_MAX + 10;
        char *big = malloc(n + 1);
        LogFramer f = {};
        Lines l = {};

        memset(big, 'x', n);
        big[n] = '\n';
        /* Byte by byte in big pieces, to cross every boundary. */
        for (size_t i = 0; i <= n; i += 4093)
                ASSERT_OK(log_framer_feed(&f, big + i, MIN((size_t) 4093, n + 1 - i), collect, &l));
        ASSERT_EQ(l.n, 4);
        for (int i = 0; i < 3; i++) {
                ASSERT_EQ(l.len[i], LOG_LINE_MAX);
                ASSERT_TRUE(l.partial[i]);
        }
        ASSERT_EQ(l.len[3], 10);
        ASSERT_TRUE(!l.partial[3]);
        lines_done(&l);

        /* Exactly LOG_LINE_MAX bytes and a newline: one whole line, not split. */
        big[LOG_LINE_MAX] = '\n';
        ASSERT_OK(log_framer_feed(&f, big, LOG_LINE_MAX + 1, collect, &l));
        ASSERT_EQ(l.n, 1);
        ASSERT_EQ(l.len[0], LOG_LINE_MAX);
        ASSERT_TRUE(!l.partial[0]);
        lines_done(&l);
        log_framer_done(&f);
        free(big);
}

static int stop_at_second(const char *line, size_t len, bool partial, void *userdata) {
        unsigned *n = userdata;
        return ++*n >= 2 ? 1 : 0;
}

TEST(frame_stop) {
        size_t consumed;
        unsigned n = 0;

        /* emit > 0 stops before the line it refused; it stays unconsumed. */
        ASSERT_OK(log_frame("a\nbb\nccc\n", 9, false, stop_at_second, &n, &consumed));
        ASSERT_EQ(consumed, 2);
}

TEST(timestamp) {
        char buf[LOG_TIMESTAMP_MAX];
        usec_t t;

        ASSERT_STREQ(format_rfc3339(buf, sizeof(buf), 0), "1970-01-01T00:00:00.000000Z");
        ASSERT_STREQ(format_rfc3339(buf, sizeof(buf), 1714564800123456ULL), "2024-05-01T12:00:00.123456Z");
        ASSERT_OK(parse_rfc3339(buf, &t));
        ASSERT_EQ(t, 1714564800123456ULL);
        ASSERT_OK(parse_rfc3339("2024-05-01T12:00:00Z", &t));
        ASSERT_EQ(t, 1714564800000000ULL);
        ASSERT_OK(parse_rfc3339("2024-05-01T12:00:00.5Z rest", &t));
        ASSERT_EQ(t, 1714564800500000ULL);
        ASSERT_EQ(parse_rfc3339("2024-05-01 12:00:00Z", &t), -EINVAL);
        ASSERT_EQ(parse_rfc3339("garbage", &t), -EINVAL);
}

static char *format(LogFormat fmt, LogStream s, const char *msg, size_t len, bool partial) {
        LogBuffer b = {};
        LogLineHead h = { .format = fmt, .timestamp = "2024-05-01T12:00:00.000001Z", .job = "web", .pid = 42,
                          .stream = s };
        ASSERT_OK(log_format_entry(&b, &h, msg, len, partial));
        ASSERT_OK(log_buffer_reserve(&b, 1));
        b.data[b.len] = '\0';
        return b.data;
}

TEST(format_text) {
        char *s;

        s = format(LOG_FORMAT_TEXT, LOG_STREAM_STDOUT, "hello", 5, false);
        ASSERT_STREQ(s, "2024-05-01T12:00:00.000001Z stdout hello\n");
        free(s);
        s = format(LOG_FORMAT_TEXT, LOG_STREAM_STDERR, "part", 4, true);
        ASSERT_STREQ(s, "2024-05-01T12:00:00.000001Z stderr+ part\n");
        free(s);
}

TEST(format_json) {
        static const char raw[] = "a\"b\\c\td\x01 é \xff\xc3 \xed\xa0\x80 \xf0\x9f\x98\x80 \xc0\xaf";
        json_t *o;
        json_error_t e;
        char *s;

        s = format(LOG_FORMAT_JSON, LOG_STREAM_STDERR, raw, sizeof(raw) - 1, false);
        o = json_loads(s, 0, &e);
        if (!o)
                fprintf(stderr, "%s: %s\n", s, e.text);
        ASSERT_TRUE(o);
        ASSERT_STREQ(json_string_value(json_object_get(o, "ts")), "2024-05-01T12:00:00.000001Z");
        ASSERT_STREQ(json_string_value(json_object_get(o, "job")), "web");
        ASSERT_EQ(json_integer_value(json_object_get(o, "pid")), 42);
        ASSERT_STREQ(json_string_value(json_object_get(o, "stream")), "stderr");
        /* Valid UTF-8 is kept, every invalid byte (a lone continuation, a truncated sequence, a
         * surrogate, an overlong form) is written as \xNN: nothing dropped. */
        ASSERT_STREQ(json_string_value(json_object_get(o, "msg")),
                     "a\"b\\c\td\x01 é \\xff\\xc3 \\xed\\xa0\\x80 \xf0\x9f\x98\x80 \\xc0\\xaf");
        ASSERT_TRUE(!json_object_get(o, "partial"));
        json_decref(o);
        free(s);

        s = format(LOG_FORMAT_JSON, LOG_STREAM_STDOUT, "x", 1, true);
        o = json_loads(s, 0, NULL);
        ASSERT_TRUE(o);
        ASSERT_TRUE(json_is_true(json_object_get(o, "partial")));
        json_decref(o);
        free(s);

        /* A NUL byte in a line is kept too. */
        s = format(LOG_FORMAT_JSON, LOG_STREAM_STDOUT, "a\0b", 3, false);
        ASSERT_TRUE(strstr(s, "\"msg\":\"a\\u0000b\""));
        free(s);
}

/* The escaper scans 16 (or 8) bytes at a time and copies clean runs ahead: every length, every
 * position of a byte that needs care, two of them close together, and the last bytes of a
 * message, against the expected text built a byte at a time. */
TEST(json_escape_positions) {
        static const struct {
                const char *in, *out;
        } special[] = {
                { "\"", "\\\"" }, { "\\", "\\\\" }, { "\n", "\\n" },     { "\x01", "\\u0001" },
                { "\x1f", "\\u001f" }, { "\x7f", "\x7f" }, { "\xff", "\\\\xff" }, { "\xc3\xa9", "\xc3\xa9" },
                { "\xe2\x82", "\\\\xe2\\\\x82" }, { " ", " " },
        };
        char in[128], want[512];

        for (size_t len = 0; len <= 70; len++)
                for (size_t i = 0; i < len; i++)
                        for (size_t k = 0; k < ELEMENTSOF(special); k++)
                                for (size_t gap = 0; gap < 3; gap++) {
                                        size_t n = 0, w = 0, sl = strlen(special[k].in);
                                        LogBuffer b = {};

                                        if (i + sl > len)
                                                continue;
                                        memset(in, 'a', len);
                                        memcpy(in + i, special[k].in, sl);
                                        n = len;
                                        /* The same byte again a little further on. */
                                        if (gap > 0 && i + sl + gap + sl <= len)
                                                memcpy(in + i + sl + gap, special[k].in, sl);
                                        else if (gap > 0)
                                                continue;
                                        for (size_t j = 0; j < n;) {
                                                if ((j == i || (gap > 0 && j == i + sl + gap)) &&
                                                    memcmp(in + j, special[k].in, sl) == 0) {
                                                        size_t ol = strlen(special[k].out);
                                                        memcpy(want + w, special[k].out, ol);
                                                        w += ol;
                                                        j += sl;
                                                } else
                                                        want[w++] = in[j++];
                                        }
                                        ASSERT_OK(log_json_escape(&b, in, n));
                                        if (b.len != w || memcmp(b.data, want, w) != 0) {
                                                fprintf(stderr, "len %zu pos %zu special %zu gap %zu: %.*s\n", len, i,
                                                        k, gap, (int) b.len, b.data);
                                                ASSERT_TRUE(false);
                                        }
                                        log_buffer_done(&b);
                                }
}

static char tmpdir[] = "/tmp/test-logpipe-XXXXXX";

static void write_file(const char *path, const char *s) {
        FILE *f = fopen(path, "we");
        ASSERT_TRUE(f);
        fputs(s, f);
        fclose(f);
}

static char *read_file(const char *path) {
        FILE *f = fopen(path, "re");
        char *s = NULL;
        size_t n = 0;
        if (!f)
                return NULL;
        ASSERT_TRUE(getdelim(&s, &n, '\0', f) >= 0 || feof(f));
        fclose(f);
        return s ?: strdup("");
}

TEST(rotate_files) {
        char p[256], q[512];
        char *s;

        snprintf(p, sizeof p, "%s/r.log", tmpdir);
        write_file(p, "0");
        ASSERT_OK(log_rotate_files(p, 2, NULL));
        write_file(p, "1");
        ASSERT_OK(log_rotate_files(p, 2, NULL));
        write_file(p, "2");
        ASSERT_OK(log_rotate_files(p, 2, NULL));
        /* r.log gone, r.log.1 = "2", r.log.2 = "1", "0" dropped */
        ASSERT_TRUE(access(p, F_OK) < 0);
        snprintf(q, sizeof q, "%s.1", p);
        s = read_file(q);
        ASSERT_STREQ(s, "2");
        free(s);
        snprintf(q, sizeof q, "%s.2", p);
        s = read_file(q);
        ASSERT_STREQ(s, "1");
        free(s);
        snprintf(q, sizeof q, "%s.3", p);
        ASSERT_TRUE(access(q, F_OK) < 0);
        ASSERT_OK(log_rotate_files(p, 0, NULL)); /* nothing there: fine */
}

/* A sparse file of size bytes at path. */
static void make_sized(const char *path, off_t size) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(ftruncate(fd, size));
        safe_close(fd);
}

TEST(rotate_files_removed) {
        char p[256], q[512];
        struct stat st;
        int fd;

        /* The large file that drops out comes back open and unlinked; the others move as before. */
        snprintf(p, sizeof p, "%s/big.log", tmpdir);
        snprintf(q, sizeof q, "%s.2", p);
        make_sized(q, 40 << 20);
        snprintf(q, sizeof q, "%s.1", p);
        write_file(q, "1");
        write_file(p, "0");
        ASSERT_OK(log_rotate_files(p, 2, &fd));
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(fstat(fd, &st));
        ASSERT_EQ(st.st_nlink, 0);
        ASSERT_EQ(st.st_size, 40 << 20);
        safe_close(fd);
        snprintf(q, sizeof q, "%s.2", p);
        char *t = read_file(q);
        ASSERT_STREQ(t, "1");
        free(t);

        /* A small one is just replaced. */
        ASSERT_OK(log_rotate_files(p, 2, &fd));
        ASSERT_EQ(fd, -EBADF);

        /* MaxFiles=0: NAME.log itself drops out. */
        make_sized(p, 20 << 20);
        ASSERT_OK(log_rotate_files(p, 0, &fd));
        ASSERT_TRUE(fd >= 0);
        ASSERT_TRUE(access(p, F_OK) < 0);
        safe_close(fd);
        ASSERT_OK(log_rotate_files(p, 0, &fd));
        ASSERT_EQ(fd, -EBADF);
}

typedef struct Events {
        unsigned blocked, resumed, rotated;
        int error;
} Events;

static void on_event(JobLog *l, JobLogEvent ev, int error, void *userdata) {
        Events *e = userdata;
        if (ev == JOB_LOG_BLOCKED) {
                e->blocked++;
                e->error = error;
        } else if (ev == JOB_LOG_RESUMED)
                e->resumed++;
        else if (ev == JOB_LOG_ROTATED)
                e->rotated++;
}

/* Run the loop until it has nothing to do for a moment. */
static void settle(sd_event *e) {
        while (sd_event_run(e, 20 * USEC_PER_MSEC) > 0)
                ;
}

/* Count the lines "N" of every file of the job: each must be there exactly once. */
static void check_all_lines(const char *dir, unsigned files, unsigned n) {
        unsigned char *seen = calloc(n, 1);
        for (unsigned k = 0; k <= files; k++) {
                char p[512];
                if (k == 0)
                        snprintf(p, sizeof p, "%s/job.log", dir);
                else
                        snprintf(p, sizeof p, "%s/job.log.%u", dir, k);
                char *s = read_file(p);
                if (!s)
                        continue;
                for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
                        char *msg = strrchr(line, ' ');
                        ASSERT_TRUE(msg);
                        unsigned v = (unsigned) atoi(msg + 1);
                        ASSERT_TRUE(v < n);
                        ASSERT_EQ(seen[v], 0);
                        seen[v] = 1;
                }
                free(s);
        }
        for (unsigned i = 0; i < n; i++)
                ASSERT_EQ(seen[i], 1);
        free(seen);
}

/* A log in tmpdir/SUB, live: its event loop, its context (unless the test makes one), the log
 * with settings s (dir set here), and the write end of its stdout. */
typedef struct Live {
        sd_event *e;
        LogContext *c;
        JobLog *l;
        Events ev;
        char dir[128], path[256]; /* path: dir/job.log */
        int fd;
} Live;

static void live_dir(Live *t, const char *sub) {
        *t = (Live) { .fd = -EBADF };
        snprintf(t->dir, sizeof t->dir, "%s/%s", tmpdir, sub);
        snprintf(t->path, sizeof t->path, "%s/job.log", t->dir);
        ASSERT_OK(mkdir(t->dir, 0755));
        ASSERT_OK(sd_event_new(&t->e));
}

static void live_open(Live *t, JobLogSettings s) {
        if (!t->c)
                ASSERT_OK(log_context_new(t->e, &t->c));
        s.dir = t->dir;
        s.name = "job";
        ASSERT_OK(job_log_new(t->c, &s, on_event, &t->ev, &t->l));
        ASSERT_OK(job_log_open_fd(t->l, LOG_STREAM_STDOUT, &t->fd));
}

static void live_done(Live *t) {
        safe_close(t->fd);
        t->l = job_log_free(t->l);
        t->c = log_context_free(t->c);
        sd_event_unref(t->e);
}

TEST(job_log_live) {
        Live t;
        int efd;
        struct stat st;

        live_dir(&t, "live");
        live_open(&t, (JobLogSettings) { .format = LOG_FORMAT_TEXT, .max_size = 4096, .max_files = 50 });
        ASSERT_OK(job_log_open_fd(t.l, LOG_STREAM_STDERR, &efd));
        job_log_set_pid(t.l, 7);

        /* Lines written in pieces, rotation at 4 KiB: every line exactly once over the files. */
        for (unsigned i = 0; i < 2000; i++) {
                char b[32];
                int k = snprintf(b, sizeof b, "line %u\n", i);
                ASSERT_EQ(write(t.fd, b, 3), 3);
                ASSERT_EQ(write(t.fd, b + 3, (size_t) k - 3), k - 3);
                if (i % 100 == 0)
                        settle(t.e);
        }
        settle(t.e);
        ASSERT_TRUE(t.ev.rotated > 5);
        ASSERT_OK(stat(t.path, &st));
        ASSERT_TRUE(st.st_size <= 4096);
        check_all_lines(t.dir, 50, 2000);

        /* The directory goes away: pmd blocks, keeps what it has, and recovers once it is back. */
        char cmd[512];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", t.dir);
        ASSERT_EQ(system(cmd), 0);
        ASSERT_EQ(write(efd, "held back\n", 10), 10);
        settle(t.e);
        ASSERT_EQ(t.ev.blocked, 1);
        ASSERT_EQ(t.ev.error, -ENOENT);
        ASSERT_EQ(job_log_error(t.l), -ENOENT);
        ASSERT_EQ(write(efd, "also held\n", 10), 10);
        ASSERT_OK(mkdir(t.dir, 0755));
        /* The retry timer fires within a second or so. */
        for (int i = 0; i < 100 && t.ev.resumed == 0; i++)
                (void) sd_event_run(t.e, 50 * USEC_PER_MSEC);
        settle(t.e);
        ASSERT_EQ(t.ev.resumed, 1);
        ASSERT_EQ(job_log_error(t.l), 0);
        char *text = read_file(t.path);
        ASSERT_TRUE(text);
        ASSERT_TRUE(strstr(text, " stderr held back\n"));
        ASSERT_TRUE(strstr(text, " stderr also held\n"));
        free(text);

        /* An unfinished line is written at the end of the run. */
        ASSERT_EQ(write(t.fd, "no newline", 10), 10);
        settle(t.e);
        ASSERT_OK(job_log_flush(t.l));
        text = read_file(t.path);
        ASSERT_TRUE(strstr(text, " stdout no newline\n"));
        free(text);

        /* Rotate on request (SIGUSR1): NAME.log starts anew. */
        unsigned before = t.ev.rotated;
        ASSERT_OK(job_log_rotate(t.l, true)); /* SIGUSR1: not moved, nothing to do */
        ASSERT_EQ(t.ev.rotated, before);
        ASSERT_OK(job_log_rotate(t.l, false));
        ASSERT_EQ(t.ev.rotated, before + 1);
        ASSERT_EQ(job_log_offset(t.l), 0);

        safe_close(efd);
        live_done(&t);
}

/* Our fds on a removed file whose name contains name, and the size of the first. */
static unsigned removed_fds(const char *name, off_t *ret_size) {
        unsigned n = 0;
        for (int fd = 3; fd < 1024; fd++) {
                char link[64], target[512];
                struct stat st;
                snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
                ssize_t k = readlink(link, target, sizeof target - 1);
                if (k < 0)
                        continue;
                target[k] = 0;
                if (!strstr(target, name) || !strstr(target, " (deleted)") || fstat(fd, &st) < 0)
                        continue;
                if (n++ == 0)
                        *ret_size = st.st_size;
        }
        return n;
}

TEST(job_log_removed_large) {
        Live t;
        off_t size = 0, last;
        unsigned steps = 0;
        int mine;

        live_dir(&t, "removed");
        make_sized(t.path, 40 << 20);
        live_open(&t, (JobLogSettings) { .format = LOG_FORMAT_TEXT });
        ASSERT_EQ(write(t.fd, "one\n", 4), 4);
        settle(t.e);

        /* Removed under pmd: the next line goes to a new file, and the old one is freed 16 MiB a
         * dispatch, not in one call. */
        ASSERT_OK(unlink(t.path));
        ASSERT_EQ(write(t.fd, "two\n", 4), 4);
        last = (off_t) 1 << 62;
        for (int i = 0; i < 100 && removed_fds("job.log", &size) > 0; i++) {
                if (size != last) {
                        ASSERT_TRUE(steps == 0 || size == last - (16 << 20));
                        steps++;
                        last = size;
                }
                ASSERT_TRUE(sd_event_run(t.e, 0) >= 0);
        }
        ASSERT_EQ(removed_fds("job.log", &size), 0);
        ASSERT_EQ(steps, 3); /* 40 MiB and some, 24, 8: then closed */
        char *text = read_file(t.path);
        ASSERT_TRUE(text && strstr(text, " stdout two\n"));
        free(text);

        /* Held by someone else too: closed at once, their close frees it. */
        make_sized(t.path, 40 << 20);
        ASSERT_OK(job_log_rotate(t.l, true)); /* reopen: the new 40 MiB file */
        ASSERT_EQ(write(t.fd, "three\n", 6), 6);
        settle(t.e);
        mine = open(t.path, O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(mine >= 0);
        ASSERT_OK(unlink(t.path));
        ASSERT_EQ(write(t.fd, "four\n", 5), 5);
        ASSERT_TRUE(sd_event_run(t.e, 0) >= 0);
        settle(t.e);
        ASSERT_EQ(removed_fds("job.log", &size), 1); /* mine */
        ASSERT_EQ(size, (40 << 20) + (off_t) strlen("2026-01-01T00:00:00.000000Z stdout three\n"));
        safe_close(mine);

        live_done(&t);
}

/* The lowest free fd. */
static int lowest_free_fd(void) {
        int fd = dup(0);
        ASSERT_TRUE(fd >= 0);
        safe_close(fd);
        return fd;
}

TEST(job_log_relay) {
        /* Read through the relay (a pipe of pmd's own), and, when it cannot be made (here: one fd
         * left under RLIMIT_NOFILE), straight from the job's pipe: the same lines either way. */
        for (int with = 1; with >= 0; with--) {
                struct rlimit old, low;
                char sub[16];
                int free_fd;
                Live t;

                snprintf(sub, sizeof sub, "relay%d", with);
                live_dir(&t, sub);
                free_fd = lowest_free_fd();
                ASSERT_OK(getrlimit(RLIMIT_NOFILE, &old));
                low = old;
                low.rlim_cur = (rlim_t) free_fd + 1;
                if (!with)
                        ASSERT_OK(setrlimit(RLIMIT_NOFILE, &low));
                ASSERT_OK(log_context_new(t.e, &t.c));
                ASSERT_OK(setrlimit(RLIMIT_NOFILE, &old));
                ASSERT_EQ(lowest_free_fd(), with ? free_fd + 2 : free_fd);

                live_open(&t, (JobLogSettings) { .format = LOG_FORMAT_TEXT });
                for (unsigned i = 0; i < 20000; i++) {
                        char b[32];
                        int k = snprintf(b, sizeof b, "%u\n", i);
                        ASSERT_EQ(write(t.fd, b, (size_t) k), k);
                        if (i % 5000 == 0)
                                settle(t.e);
                }
                settle(t.e);
                check_all_lines(t.dir, 0, 20000);
                live_done(&t);
        }
}

int main(void) {
        char cmd[256];

        ASSERT_TRUE(mkdtemp(tmpdir));
        RUN(framer_pieces);
        RUN(framer_long_lines);
        RUN(frame_stop);
        RUN(timestamp);
        RUN(format_text);
        RUN(format_json);
        RUN(json_escape_positions);
        RUN(rotate_files);
        RUN(rotate_files_removed);
        RUN(job_log_live);
        RUN(job_log_removed_large);
        RUN(job_log_relay);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        (void) system(cmd);
        return 0;
}
