/* The per-job log writer. Each job whose StandardOutput=/StandardError= is "log" gets a pipe per
 * stream; the children get the write ends, pmd keeps one copy of each write end too, so the pipes
 * outlive a run and no byte is lost between runs (or, later, across a re-exec). pmd reads the
 * read ends from its event loop, frames lines, formats them (text or NDJSON) and appends them to
 * LOG_DIR/NAME.log, rotating by size.
 *
 * Fairness: the pipe sources run at a priority below everything else of the manager (state
 * changes, bus calls, the registry commit), and every dispatch reads at most LOG_READ_MAX bytes,
 * so a job writing as fast as it can costs the others one bounded batch; sources of the same
 * priority are taken in turn by sd-event.
 *
 * Batches: one read, one timestamp, one write() of the formatted entries (more when the batch
 * crosses a rotation or LOG_OUT_FLUSH). A line is never split between two files: rotation happens
 * between entries.
 *
 * The relay: a read(2) of a pipe holds the pipe's lock while it copies, up to LOG_READ_MAX, and a
 * job writing meanwhile waits for the lock, spinning on a CPU of its own. So pmd reads through a
 * pipe of its own: splice(2) moves the job's pipe pages into it (no copy: the job's pipe is held
 * only that long), and the copy is made from the relay, which nobody else writes. Without a relay
 * (it could not be made LOG_PIPE_SIZE large) pipes are read directly.
 *
 * Back-pressure: when the file cannot be written (disk full, directory gone or unwritable), the
 * unwritten entries are kept, the pipe sources are switched off so the job blocks in write(2)
 * once its pipe is full, and a timer retries every LOG_RETRY_USEC. Nothing is dropped and
 * nothing polls while healthy. [Log] OnWriteError=drop is the alternative: read on and drop (and
 * count) what cannot be written, whole entries only.
 *
 * Write-behind: a log is written once and seldom read back, so it must not fill the page cache and
 * push out what the jobs need. Every LOG_WRITEBEHIND bytes pmd starts the write-back of the step
 * it has just written (sync_file_range(2) queues the I/O without waiting for it to be done) and
 * drops the steps before it from the cache (POSIX_FADV_DONTNEED), up to LOG_WRITEBEHIND_TRIES
 * steps back: that leaves alone what is still dirty or being written, so nothing waits for the
 * disk, and a step the disk had not finished is dropped at a later try. The last one to two steps
 * stay cached, for pmctl logs and tail -f. The kernel's own write-back would start the same I/O
 * only once a tenth of the memory is dirty, or after 30 s. At most LOG_INFLIGHT_MAX of a log is
 * being written at a time (cachestat(2) tells): what pmd starts goes into the disk's queue, and
 * everything else written to that disk, the registry's commit first, waits behind it; a disk
 * slower than the job would otherwise get the whole log queued (here up to 1 GiB: 256 requests
 * of 4 MiB), and each commit, so pmd's loop, would wait for all of it. The rest stays dirty, for
 * later steps or the kernel.
 *
 * The disk's pace: when jobs write faster than the disk, the kernel lets their pages pile up,
 * dirty or queued for the disk, up to a fifth of the memory, and then holds the writer (pmd, for
 * every job) in write(2), 200 ms at a time. So at each step pmd asks cachestat(2) how much of the
 * log is not on disk yet; past LOG_BACKLOG_MAX, if the system's is past what the kernel writes in
 * the background too (short of where it holds writers), pmd stops reading the log's pipes (the job
 * waits in write(2) once its pipe is full), and looks again every LOG_BACKLOG_USEC until the log is
 * down to LOG_BACKLOG_RESUME or the system's below that. The same when the next rotation is near
 * and the disk is still writing the file that rotation removes: whoever removes a file waits until
 * what is being written of it is done. Without cachestat(2) (before Linux 6.5) only the system's
 * amount counts, and the rotation is not looked at.
 *
 * Removing a large file: the call that drops a file's last name or last fd frees its blocks, and
 * takes time by its size (0.16-0.2 s per GiB on ext4). So a file that rotation drops, or that was
 * removed under pmd, is first unlinked with pmd holding it open; if it is larger than
 * LOG_DISCARD_STEP and open nowhere else (a write lease can be had), it is cut from its end one
 * LOG_DISCARD_STEP per dispatch of a source at the pipes' priority, and closed when that is all
 * that is left. One that someone else holds is closed at once: their last close frees it.
 *
 * Memory per job is bounded: the unfinished line (< LOG_LINE_MAX), and, only while blocked, one
 * unconsumed read and the formatted entries of one flush. The read and format buffers are shared
 * by all jobs (LogContext): one batch is worked on at a time. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "logpipe.h"
#include "util/cmdline.h"

#define LOG_READ_MAX ((size_t) 1024 * 1024)
#define LOG_OUT_FLUSH ((size_t) 1024 * 1024)
#define LOG_PIPE_SIZE (1024 * 1024)
#define LOG_WRITEBEHIND ((uint64_t) 4 * 1024 * 1024)
#define LOG_WRITEBEHIND_TRIES 8
/* Write-behind keeps at most this much of a log being written at once (see "Write-behind"). */
#define LOG_INFLIGHT_MAX (LOG_WRITEBEHIND_TRIES * LOG_WRITEBEHIND)
/* The disk is behind when more than this much of a log is not on it yet (and the system's is past
 * the kernel's background amount); pmd takes the log's pipes up again once it is down to
 * LOG_BACKLOG_RESUME, looking every LOG_BACKLOG_USEC. */
#define LOG_BACKLOG_MAX (LOG_WRITEBEHIND_TRIES * LOG_WRITEBEHIND)
#define LOG_BACKLOG_RESUME (LOG_BACKLOG_MAX / 2)
#define LOG_BACKLOG_USEC (20 * USEC_PER_MSEC)
#define LOG_RETRY_USEC (1 * USEC_PER_SEC)
/* An unfinished line is written out after the pipe has been quiet this long. */
#define LOG_QUIET_USEC (100 * USEC_PER_MSEC)
/* At the end of a run, read at most this much more before writing out unfinished lines: a
 * grandchild that keeps writing must not hold the loop. */
#define LOG_FLUSH_READ_MAX ((size_t) 2 * LOG_PIPE_SIZE)
/* Below every other source of the manager (the registry commit is SD_EVENT_PRIORITY_IDLE). */
#define LOG_PRIORITY (SD_EVENT_PRIORITY_IDLE + 10)
/* A removed file is freed this much per dispatch (2-4 ms on ext4). */
#define LOG_DISCARD_STEP ((uint64_t) 16 * 1024 * 1024)

static const char *const log_stream_table[_LOG_STREAM_MAX] = {
        [LOG_STREAM_STDOUT] = "stdout",
        [LOG_STREAM_STDERR] = "stderr",
};
DEFINE_STRING_TABLE_LOOKUP(log_stream, LogStream);

/* ---- pure parts ---- */

int log_buffer_reserve(LogBuffer *b, size_t extra) {
        return GREEDY_REALLOC(b->data, b->size, b->len + extra, 256);
}

void log_buffer_done(LogBuffer *b) {
        free(b->data);
        *b = (LogBuffer) {};
}

static inline void put(LogBuffer *b, const void *p, size_t n) {
        if (n == 0)
                return; /* p may be NULL then, and memcpy() must not see it */
        memcpy(b->data + b->len, p, n);
        b->len += n;
}

/* 0: copy as is; 1: a two-character escape; 2: \u00XX; 3: a byte >= 0x80, look at the sequence. */
static uint8_t json_class[256];

static void json_class_init(void) {
        if (json_class['"'] != 0)
                return;
        for (int c = 0; c < 256; c++)
                json_class[c] = c < 0x20 ? 2 : c >= 0x80 ? 3 : 0;
        json_class['\b'] = json_class['\f'] = json_class['\n'] = json_class['\r'] = json_class['\t'] = 1;
        json_class['"'] = json_class['\\'] = 1;
}

/* Length of a valid UTF-8 sequence at p (at most n bytes), 0 when invalid: no overlong forms, no
 * surrogates, nothing above U+10FFFF. */
static size_t utf8_valid_length(const uint8_t *p, size_t n) {
        uint8_t c = p[0];

        if (c >= 0xc2 && c <= 0xdf)
                return n >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
        if (c >= 0xe0 && c <= 0xef) {
                if (n < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
                        return 0;
                if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0))
                        return 0;
                return 3;
        }
        if (c >= 0xf0 && c <= 0xf4) {
                if (n < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
                        return 0;
                if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90))
                        return 0;
                return 4;
        }
        return 0;
}

/* Copies the clean start of p[0..n) to dst and returns its length: bytes up to the first one that
 * JSON or UTF-8 validation must look at (< 0x20, '"', '\\', >= 0x80). Messages are mostly clean
 * ASCII, so this is the loop the json format spends its time in: 16 bytes a step with SSE2 (always
 * there on x86-64), eight with word arithmetic elsewhere. It may write up to 16 bytes past the
 * clean run (the caller overwrites them), never more than n bytes in all: dst has room for n. */
#if defined(__SSE2__)
#include <emmintrin.h>

static inline unsigned json_bad_mask(__m128i v) {
        const __m128i space = _mm_set1_epi8(0x20), quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
        /* Signed compare: bytes >= 0x80 are negative, so "< 0x20" catches them too. */
        __m128i bad = _mm_or_si128(_mm_cmplt_epi8(v, space),
                                   _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)));
        return (unsigned) _mm_movemask_epi8(bad);
}

static size_t json_copy_clean(char *dst, const uint8_t *p, size_t n) {
        size_t i = 0;
        unsigned mask;

        for (; i + 16 <= n; i += 16) {
                __m128i v = _mm_loadu_si128((const __m128i *) (p + i));
                _mm_storeu_si128((__m128i *) (dst + i), v);
                mask = json_bad_mask(v);
                if (mask != 0)
                        return i + (size_t) __builtin_ctz(mask);
        }
        if (i < n && n >= 16) {
                /* The last 16 bytes, overlapping what is checked and copied already (clean). */
                __m128i v = _mm_loadu_si128((const __m128i *) (p + n - 16));
                _mm_storeu_si128((__m128i *) (dst + n - 16), v);
                mask = json_bad_mask(v);
                return mask != 0 ? n - 16 + (size_t) __builtin_ctz(mask) : n;
        }
        for (; i < n; i++) {
                if (json_class[p[i]] != 0)
                        return i;
                dst[i] = (char) p[i];
        }
        return n;
}
#else
static size_t json_copy_clean(char *dst, const uint8_t *p, size_t n) {
        const uint64_t ones = UINT64_C(0x0101010101010101), high = UINT64_C(0x8080808080808080);
        size_t i = 0;

        for (; i + 8 <= n; i += 8) {
                uint64_t x, q, b;
                memcpy(&x, p + i, 8);
                q = x ^ (ones * '"');
                b = x ^ (ones * '\\');
                /* A byte < 0x20 or >= 0x80, or a zero byte in q or b (a quote or backslash in x);
                 * the word is then looked at byte by byte below. */
                if ((((x - ones * 0x20) | x) | ((q - ones) & ~q) | ((b - ones) & ~b)) & high)
                        break;
                memcpy(dst + i, &x, 8);
        }
        for (; i < n; i++) {
                if (json_class[p[i]] != 0)
                        return i;
                dst[i] = (char) p[i];
        }
        return n;
}
#endif

/* The escaped form of p[0..n) at dst, which has room for 6 * n bytes; returns the end. */
static char *json_escape_to(char *dst, const uint8_t *p, size_t n) {
        static const char hex[] = "0123456789abcdef";
        const uint8_t *end = p + n;

        while (p < end) {
                size_t run = json_copy_clean(dst, p, (size_t) (end - p)), k;

                dst += run;
                p += run;
                if (p >= end)
                        break;
                switch (json_class[*p]) {
                case 1:
                        *dst++ = '\\';
                        *dst++ = *p == '\b' ? 'b' : *p == '\f' ? 'f' : *p == '\n' ? 'n' : *p == '\r' ? 'r' :
                                 *p == '\t' ? 't' : (char) *p;
                        p++;
                        break;
                case 2:
                        memcpy(dst, "\\u00", 4);
                        dst[4] = hex[*p >> 4];
                        dst[5] = hex[*p & 15];
                        dst += 6;
                        p++;
                        break;
                case 3:
                        /* Runs of non-ASCII text (most often valid UTF-8) go through here
                         * sequence by sequence; ASCII goes back to the fast scan. */
                        k = utf8_valid_length(p, (size_t) (end - p));
                        if (k > 0) {
                                memcpy(dst, p, k);
                                dst += k;
                                p += k;
                        } else {
                                /* Invalid UTF-8: the byte's value as text, so nothing is lost and
                                 * every JSON parser takes the line. */
                                memcpy(dst, "\\\\x", 3);
                                dst[3] = hex[*p >> 4];
                                dst[4] = hex[*p & 15];
                                dst += 5;
                                p++;
                        }
                        break;
                default:
                        assert_not_reached();
                }
        }
        return dst;
}

int log_json_escape(LogBuffer *out, const char *msg, size_t len) {
        json_class_init();
        /* Worst case: every byte becomes \u00XX (6 characters). */
        if (log_buffer_reserve(out, len * 6) < 0)
                return -ENOMEM;
        out->len = (size_t) (json_escape_to(out->data + out->len, (const uint8_t *) msg, len) - out->data);
        return 0;
}

static char *format_uint(char buf[static 24], uint64_t v, size_t *ret_len) {
        char *p = buf + 24;
        do {
                *--p = (char) ('0' + v % 10);
                v /= 10;
        } while (v > 0);
        *ret_len = (size_t) (buf + 24 - p);
        return p;
}

/* What goes in front of the message: "TS STREAM " (STREAM+ when partial) in text, the fields up to
 * the opening quote of "msg" in json. It is the same for every entry of a batch, so the live part
 * makes it once per batch (log_format_entry() makes it every time, for the tests). */
static int format_prefix(LogBuffer *out, const LogLineHead *h, bool partial) {
        const char *stream = log_stream_to_string(h->stream) ?: "stdout";
        size_t ts_len = strlen(h->timestamp), job_len = strlen(h->job), stream_len = strlen(stream);

        if (h->format == LOG_FORMAT_JSON) {
                char num[24], *pid;
                size_t pid_len;

                pid = format_uint(num, (uint64_t) MAX(h->pid, 0), &pid_len);
                if (log_buffer_reserve(out, ts_len + job_len + stream_len + pid_len + 64) < 0)
                        return -ENOMEM;
                put(out, "{\"ts\":\"", 7);
                put(out, h->timestamp, ts_len);
                put(out, "\",\"job\":\"", 9);
                put(out, h->job, job_len); /* job names are [A-Za-z0-9_.@-]: nothing to escape */
                put(out, "\",\"pid\":", 8);
                put(out, pid, pid_len);
                put(out, ",\"stream\":\"", 11);
                put(out, stream, stream_len);
                put(out, "\",\"msg\":\"", 9);
                return 0;
        }
        if (log_buffer_reserve(out, ts_len + stream_len + 3) < 0)
                return -ENOMEM;
        put(out, h->timestamp, ts_len);
        out->data[out->len++] = ' ';
        put(out, stream, stream_len);
        if (partial)
                out->data[out->len++] = '+';
        out->data[out->len++] = ' ';
        return 0;
}

/* The message and the end of the entry, after the prefix. */
static int format_body(LogBuffer *out, LogFormat format, const char *msg, size_t len, bool partial) {
        char *d;

        if (format == LOG_FORMAT_JSON) {
                if (log_buffer_reserve(out, len * 6 + 18) < 0)
                        return -ENOMEM;
                d = json_escape_to(out->data + out->len, (const uint8_t *) msg, len);
                if (partial) {
                        memcpy(d, "\",\"partial\":true}\n", 18);
                        d += 18;
                } else {
                        memcpy(d, "\"}\n", 3);
                        d += 3;
                }
                out->len = (size_t) (d - out->data);
                return 0;
        }
        if (log_buffer_reserve(out, len + 1) < 0)
                return -ENOMEM;
        put(out, msg, len);
        out->data[out->len++] = '\n';
        return 0;
}

int log_format_entry(LogBuffer *out, const LogLineHead *h, const char *msg, size_t len, bool partial) {
        size_t before = out->len;
        int r;

        json_class_init();
        r = format_prefix(out, h, partial);
        if (r >= 0)
                r = format_body(out, h->format, msg, len, partial);
        if (r < 0)
                out->len = before;
        return r;
}

int log_frame(const char *buf, size_t len, bool flush, LogEmit emit, void *userdata, size_t *ret_consumed) {
        size_t pos = 0;
        int r = 0;

        while (pos < len) {
                size_t avail = len - pos, scan = MIN(avail, LOG_LINE_MAX + 1);
                const char *nl = memchr(buf + pos, '\n', scan);

                if (nl) {
                        size_t n = (size_t) (nl - (buf + pos));
                        if (n <= LOG_LINE_MAX) {
                                r = emit(buf + pos, n, false, userdata);
                                if (r != 0)
                                        break;
                                pos += n + 1;
                                continue;
                        }
                }
                if (avail > LOG_LINE_MAX) {
                        /* No newline in reach: a piece of a long line. */
                        r = emit(buf + pos, LOG_LINE_MAX, true, userdata);
                        if (r != 0)
                                break;
                        pos += LOG_LINE_MAX;
                        continue;
                }
                if (flush) {
                        r = emit(buf + pos, avail, false, userdata);
                        if (r != 0)
                                break;
                        pos += avail;
                }
                break;
        }
        *ret_consumed = pos;
        return r < 0 ? r : 0;
}

static int framer_run(LogFramer *f, const char *data, size_t n, bool flush, LogEmit emit, void *userdata) {
        _cleanup_free_ char *buf = NULL;
        size_t len = f->carry.len + n, consumed;
        int r;

        buf = malloc(len ? len : 1);
        if (!buf)
                return -ENOMEM;
        if (f->carry.len > 0)
                memcpy(buf, f->carry.data, f->carry.len);
        if (n > 0)
                memcpy(buf + f->carry.len, data, n);
        r = log_frame(buf, len, flush, emit, userdata, &consumed);
        f->carry.len = 0;
        if (log_buffer_reserve(&f->carry, len - consumed) < 0)
                return -ENOMEM;
        put(&f->carry, buf + consumed, len - consumed);
        return r;
}

int log_framer_feed(LogFramer *f, const char *data, size_t n, LogEmit emit, void *userdata) {
        return framer_run(f, data, n, false, emit, userdata);
}

int log_framer_flush(LogFramer *f, LogEmit emit, void *userdata) {
        return framer_run(f, NULL, 0, true, emit, userdata);
}

void log_framer_done(LogFramer *f) {
        log_buffer_done(&f->carry);
}

/* path, when it is a regular file larger than LOG_DISCARD_STEP, opened for writing and then
 * unlinked; -EBADF when it is not (the caller's rename or unlink removes it). */
static int open_unlinked(const char *path) {
        struct stat a, b;
        int fd;

        if (lstat(path, &a) < 0 || !S_ISREG(a.st_mode) || (uint64_t) a.st_size <= LOG_DISCARD_STEP)
                return -EBADF;
        fd = open(path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -EBADF;
        if (fstat(fd, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino || unlink(path) < 0)
                return safe_close(fd);
        return fd;
}

int log_rotate_files(const char *path, unsigned max_files, int *ret_removed) {
        _cleanup_free_ char *from = NULL, *to = NULL;

        if (ret_removed) {
                *ret_removed = -EBADF;
                if (max_files > 0 && asprintf(&to, "%s.%u", path, max_files) < 0)
                        return -ENOMEM;
                *ret_removed = open_unlinked(to ?: path);
        }
        if (max_files == 0)
                return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
        for (unsigned k = max_files - 1; k >= 1; k--) {
                free(from);
                free(to);
                to = from = NULL;
                if (asprintf(&from, "%s.%u", path, k) < 0 || asprintf(&to, "%s.%u", path, k + 1) < 0)
                        return -ENOMEM;
                if (rename(from, to) < 0 && errno != ENOENT)
                        return -errno;
        }
        free(to);
        to = NULL;
        if (asprintf(&to, "%s.1", path) < 0)
                return -ENOMEM;
        if (rename(path, to) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

/* ---- the live part ---- */

struct LogContext {
        sd_event *event;
        char *scratch;    /* the batch: what was left of the last one, then what was read */
        LogBuffer out;    /* formatted entries of the batch */
        LogBuffer prefix; /* what goes in front of each message of the batch */
        LogBuffer console;
        int console_fd;   /* -EBADF: not opened yet; -1 - errno: cannot be */
        bool console_socket;
        uint64_t console_dropped;
        char timestamp[LOG_TIMESTAMP_MAX];
        usec_t backlog_read;  /* CLOCK_MONOTONIC of system_backlog()'s last look, and its answer */
        bool backlog_high;
        int relay[2];         /* see "The relay" above; -EBADF: none */
        int *discard;         /* removed files being freed, oldest first ("Removing a large file") */
        size_t n_discard, discard_allocated;
        sd_event_source *discard_source;
};

typedef struct StreamState {
        JobLog *log;
        LogStream stream;
        int read_fd, write_fd;
        sd_event_source *source;
        LogBuffer carry;  /* bytes read but not yet taken: the unfinished line, more when blocked */
        usec_t last_data; /* CLOCK_MONOTONIC */
} StreamState;

struct JobLog {
        LogContext *ctx;
        char *dir, *name, *path;
        LogFormat format;
        uint64_t max_size;
        unsigned max_files;
        bool console;
        bool drop_on_error;
        pid_t pid;

        int fd;
        uint64_t size;
        bool write_behind;     /* fd is a regular file on a disk: see "Write-behind" */
        uint64_t wb_started;   /* write-back was started up to here */
        uint64_t wb_looked;    /* the size at the last write-behind step */
        bool behind;           /* the disk is behind: pipes not read until it catches up */
        StreamState streams[_LOG_STREAM_MAX];
        LogBuffer pending; /* formatted, not yet written (blocked) */
        int error;         /* why it is blocked */
        bool blocked;      /* the pipes are not read until the retry timer gets through */
        bool retrying;     /* no second "blocked" report while a retry fails again */
        bool dropping;     /* drop_on_error: entries are dropped until the retry timer fires */
        bool failing;      /* drop_on_error: the last write failed (reported once) */
        uint64_t dropped;  /* entries dropped since job_log_take_dropped() */
        uint64_t tail_partial; /* bytes of an unfinished entry at the end of the file (a write
                                * stopped part way) */
        sd_event_source *retry_timer, *quiet_timer, *backlog_timer;
        JobLogNotify notify;
        void *userdata;
        LogLineHead head;  /* of the batch being worked on */
};

int log_context_new(sd_event *e, LogContext **ret) {
        LogContext *c = calloc(1, sizeof(LogContext));
        if (!c)
                return -ENOMEM;
        c->scratch = malloc(LOG_LINE_MAX + LOG_READ_MAX);
        if (!c->scratch) {
                free(c);
                return -ENOMEM;
        }
        c->event = sd_event_ref(e);
        c->console_fd = -EBADF;
        c->relay[0] = c->relay[1] = -EBADF;
        if (pipe2(c->relay, O_CLOEXEC | O_NONBLOCK) >= 0 &&
            fcntl(c->relay[0], F_SETPIPE_SZ, LOG_PIPE_SIZE) < LOG_PIPE_SIZE) {
                c->relay[0] = safe_close(c->relay[0]);
                c->relay[1] = safe_close(c->relay[1]);
        }
        json_class_init();
        *ret = c;
        return 0;
}

LogContext *log_context_free(LogContext *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_discard; i++)
                safe_close(c->discard[i]);
        free(c->discard);
        sd_event_source_disable_unref(c->discard_source);
        safe_close(c->relay[0]);
        safe_close(c->relay[1]);
        free(c->scratch);
        log_buffer_done(&c->out);
        log_buffer_done(&c->prefix);
        log_buffer_done(&c->console);
        safe_close(c->console_fd);
        sd_event_unref(c->event);
        free(c);
        return NULL;
}

uint64_t log_context_console_dropped(LogContext *c) {
        return c->console_dropped;
}

/* pmd's stdout, in a form that never blocks: a pipe or terminal is opened anew through /proc
 * (its own file description, so O_NONBLOCK does not reach whoever else shares stdout), a socket
 * is written with MSG_DONTWAIT, a file is just written. */
static int console_open(LogContext *c) {
        struct stat st;
        int fd;

        if (c->console_fd != -EBADF)
                return c->console_fd;
        if (fstat(STDOUT_FILENO, &st) < 0)
                return (c->console_fd = -1 - errno);
        if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
                fd = open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
                if (fd >= 0)
                        return (c->console_fd = fd);
        }
        c->console_socket = S_ISSOCK(st.st_mode);
        fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
        return (c->console_fd = fd >= 0 ? fd : -1 - errno);
}

static void console_flush(LogContext *c) {
        size_t done = 0;

        if (c->console.len == 0)
                return;
        if (console_open(c) >= 0)
                while (done < c->console.len) {
                        ssize_t n = c->console_socket ?
                                send(c->console_fd, c->console.data + done, c->console.len - done,
                                     MSG_DONTWAIT | MSG_NOSIGNAL) :
                                write(c->console_fd, c->console.data + done, c->console.len - done);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0)
                                break;
                        done += (size_t) n;
                }
        /* The console is a copy: a reader that does not keep up loses lines there, not here. */
        for (size_t i = done; i < c->console.len; i++)
                if (c->console.data[i] == '\n')
                        c->console_dropped++;
        c->console.len = 0;
}

static int stream_io(sd_event_source *s, int fd, uint32_t revents, void *userdata);
static int on_retry(sd_event_source *s, uint64_t usec, void *userdata);
static int on_quiet(sd_event_source *s, uint64_t usec, void *userdata);

static int on_backlog(sd_event_source *s, uint64_t usec, void *userdata);

/* Arm the one-shot timer *t of l to fire usec from now; it is made at first use, below every
 * source of the manager, within accuracy (0: sd-event's default, 250 ms). */
static void timer_arm(JobLog *l, sd_event_source **t, usec_t usec, usec_t accuracy, sd_event_time_handler_t cb) {
        if (*t) {
                (void) sd_event_source_set_time_relative(*t, usec);
                (void) sd_event_source_set_enabled(*t, SD_EVENT_ONESHOT);
        } else if (sd_event_add_time_relative(l->ctx->event, t, CLOCK_MONOTONIC, usec, accuracy, cb, l) >= 0)
                (void) sd_event_source_set_priority(*t, LOG_PRIORITY);
}

/* The pipes are read unless the file cannot be written (blocked) or the disk is behind. */
static int sources_state(JobLog *l) {
        return !l->blocked && !l->behind ? SD_EVENT_ON : SD_EVENT_OFF;
}

static void sources_update(JobLog *l) {
        for (int i = 0; i < _LOG_STREAM_MAX; i++)
                if (l->streams[i].source)
                        (void) sd_event_source_set_enabled(l->streams[i].source, sources_state(l));
}

static int file_open(JobLog *l) {
        struct statfs sfs;
        struct stat st;
        int fd;

        if (l->fd >= 0)
                return 0;
        fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                safe_close(fd);
                return -errno;
        }
        l->fd = fd;
        l->size = (uint64_t) st.st_size;
        l->tail_partial = 0;
        /* A file in memory has no disk to write behind to, nor to wait for. */
        l->write_behind = S_ISREG(st.st_mode) &&
                          !(fstatfs(fd, &sfs) >= 0 && (sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC));
        l->wb_started = l->size & ~(uint64_t) 4095;
        l->wb_looked = l->size;
        return 0;
}

/* cachestat(2) (Linux 6.5): how much of a file is in the page cache, dirty, being written, without
 * waiting for anything. The same number on every architecture. */
#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif
struct log_cachestat_range {
        uint64_t off, len;
};
struct log_cachestat {
        uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};

/* What of fd is not on disk yet, in bytes: dirty (not started), and being written. -errno when
 * that cannot be told. */
static int file_unwritten(int fd, uint64_t *ret_dirty, uint64_t *ret_writing) {
        struct log_cachestat_range range = {}; /* len 0: to the end */
        struct log_cachestat cs = {};
        static uint64_t page;

        if (syscall(__NR_cachestat, fd, &range, &cs, 0) < 0)
                return -errno;
        if (page == 0)
                page = (uint64_t) sysconf(_SC_PAGESIZE);
        *ret_dirty = cs.nr_dirty * page;
        *ret_writing = cs.nr_writeback * page;
        return 0;
}

/* Whether fd has pages being written (whoever removes it would wait for them). */
static bool file_writing(int fd) {
        uint64_t dirty, writing;
        return file_unwritten(fd, &dirty, &writing) >= 0 && writing > 0;
}

static uint64_t meminfo_bytes(const char *meminfo, const char *key) {
        const char *p = strstr(meminfo, key);
        return p ? strtoull(p + strlen(key), NULL, 10) * 1024 : 0;
}

/* Whether the system's data not on disk yet (Dirty and Writeback in /proc/meminfo) is past the
 * point where the kernel starts writing it in the background (vm.dirty_background_bytes, or
 * vm.dirty_background_ratio of the available memory). Half as far again, it holds writers in
 * write(2). When it cannot be told: yes. Looked at once per LOG_BACKLOG_USEC at most: a log
 * ahead of the disk asks at every step. */
static bool system_backlog(LogContext *c) {
        _cleanup_free_ char *mem = NULL;
        usec_t now = now_usec(CLOCK_MONOTONIC);
        uint64_t limit = 0, ratio = 0;

        if (c->backlog_read > 0 && now - c->backlog_read < LOG_BACKLOG_USEC)
                return c->backlog_high;
        c->backlog_read = now;
        if (read_file_limited("/proc/meminfo", 64 * 1024, &mem, NULL) < 0)
                return (c->backlog_high = true);
        (void) read_file_u64("/proc/sys/vm/dirty_background_bytes", &limit);
        if (limit == 0 && read_file_u64("/proc/sys/vm/dirty_background_ratio", &ratio) >= 0)
                limit = meminfo_bytes(mem, "\nMemAvailable:") / 100 * ratio;
        c->backlog_high = meminfo_bytes(mem, "\nDirty:") + meminfo_bytes(mem, "\nWriteback:") > limit;
        return c->backlog_high;
}

/* Whether the disk is behind (see "The disk's pace" above): more than limit of the log not on disk
 * yet while the system's is past what the kernel writes in the background; or the next rotation is
 * near while the file it removes is still being written, since whoever removes a file waits until
 * the kernel has written what it was writing of it. Without cachestat(2) (before Linux 6.5, or
 * forbidden: r < 0) only the system's amount can be told, and a log written fast enough to get
 * here is taken to be part of it. unwritten: what of the log is not on disk yet. */
static bool file_backlog(JobLog *l, uint64_t limit, int r, uint64_t unwritten) {
        _cleanup_free_ char *oldest = NULL;
        bool writing;
        int fd;

        if (r < 0)
                return system_backlog(l->ctx);
        if (unwritten > limit && system_backlog(l->ctx))
                return true;
        /* Near: within two steps, so that one of the checks, a step apart, falls there. */
        if (l->max_size == 0 || l->size + 2 * LOG_WRITEBEHIND < l->max_size)
                return false;
        if (l->max_files == 0)
                return file_writing(l->fd);
        if (asprintf(&oldest, "%s.%u", l->path, l->max_files) < 0)
                return false;
        fd = open(oldest, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return false;
        writing = file_writing(fd);
        safe_close(fd);
        return writing;
}

/* Start writing what is written and not started yet, as far as LOG_INFLIGHT_MAX allows with
 * writing (-1: not known) being written already. */
static void file_start_writeback(JobLog *l, int64_t writing) {
        uint64_t end = l->size & ~(uint64_t) 4095;

        if (writing >= 0)
                end = MIN(end, l->wb_started + ((uint64_t) writing < LOG_INFLIGHT_MAX ?
                                                        LOG_INFLIGHT_MAX - (uint64_t) writing : 0));
        if (end <= l->wb_started)
                return;
        (void) sync_file_range(l->fd, (off_t) l->wb_started, (off_t) (end - l->wb_started), SYNC_FILE_RANGE_WRITE);
        l->wb_started = end;
}

/* One look at the log's pages per step (or tick of the backlog timer): start what may be started,
 * and tell whether the disk is behind, past limit. */
static bool file_pace(JobLog *l, uint64_t limit) {
        uint64_t dirty = 0, writing = 0;
        int r = file_unwritten(l->fd, &dirty, &writing);

        if (l->write_behind)
                file_start_writeback(l, r < 0 ? -1 : (int64_t) writing);
        /* Starting turns dirty pages into pages being written: the sum stays. */
        return file_backlog(l, limit, r, dirty + writing);
}

/* See "Write-behind" above. Errors are of no consequence: the kernel writes the pages in its
 * own time, as it would without this. */
static void file_write_behind(JobLog *l) {
        uint64_t from;

        if (!l->write_behind || l->size < l->wb_looked + LOG_WRITEBEHIND)
                return;
        l->wb_looked = l->size;
        from = l->wb_started > LOG_WRITEBEHIND_TRIES * LOG_WRITEBEHIND ?
                       l->wb_started - LOG_WRITEBEHIND_TRIES * LOG_WRITEBEHIND : 0;
        if (l->wb_started > from)
                (void) posix_fadvise(l->fd, (off_t) from, (off_t) (l->wb_started - from), POSIX_FADV_DONTNEED);
        if (file_pace(l, LOG_BACKLOG_MAX)) {
                l->behind = true;
                sources_update(l);
                timer_arm(l, &l->backlog_timer, LOG_BACKLOG_USEC, USEC_PER_MSEC, on_backlog);
        }
}

static int on_backlog(sd_event_source *s, uint64_t usec, void *userdata) {
        JobLog *l = userdata;

        if (l->fd >= 0 && file_pace(l, LOG_BACKLOG_RESUME)) {
                timer_arm(l, &l->backlog_timer, LOG_BACKLOG_USEC, USEC_PER_MSEC, on_backlog);
                return 0;
        }
        l->behind = false;
        sources_update(l);
        return 0;
}

static int on_discard(sd_event_source *s, void *userdata) {
        LogContext *c = userdata;
        struct stat st;

        if (c->n_discard == 0)
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        if (fstat(c->discard[0], &st) >= 0 && (uint64_t) st.st_size > LOG_DISCARD_STEP &&
            ftruncate(c->discard[0], st.st_size - (off_t) LOG_DISCARD_STEP) >= 0)
                return 0;
        /* One step left (or the file cannot be cut: then all of it goes now). */
        safe_close(c->discard[0]);
        memmove(c->discard, c->discard + 1, --c->n_discard * sizeof(int));
        return c->n_discard > 0 ? 0 : sd_event_source_set_enabled(s, SD_EVENT_OFF);
}

/* Close fd; a file removed meanwhile is freed by steps (see "Removing a large file" above) when it
 * is large and fd is the last that holds it. */
static void file_discard(LogContext *c, int fd) {
        struct stat st;

        if (fd < 0)
                return;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink > 0 ||
            (uint64_t) st.st_size <= LOG_DISCARD_STEP)
                goto close;
        /* A write lease is granted only to the file's sole holder: none taken, nobody kept waiting. */
        if (fcntl(fd, F_SETLEASE, F_WRLCK) < 0 || fcntl(fd, F_SETLEASE, F_UNLCK) < 0)
                goto close;
        if (GREEDY_REALLOC(c->discard, c->discard_allocated, c->n_discard + 1, 4) < 0)
                goto close;
        if (!c->discard_source) {
                if (sd_event_add_defer(c->event, &c->discard_source, on_discard, c) < 0)
                        goto close;
                (void) sd_event_source_set_priority(c->discard_source, LOG_PRIORITY);
        }
        if (sd_event_source_set_enabled(c->discard_source, SD_EVENT_ON) < 0)
                goto close;
        c->discard[c->n_discard++] = fd;
        return;
close:
        safe_close(fd);
}

static void file_close(JobLog *l) {
        file_discard(l->ctx, l->fd);
        l->fd = -EBADF;
}

static int file_rotate(JobLog *l) {
        int removed, r;

        file_close(l);
        r = log_rotate_files(l->path, l->max_files, &removed);
        file_discard(l->ctx, removed);
        if (r < 0)
                return r;
        r = file_open(l);
        if (r < 0)
                return r;
        if (l->notify)
                l->notify(l, JOB_LOG_ROTATED, 0, l->userdata);
        return 0;
}

/* The file open and still in the directory. */
static int file_ready(JobLog *l) {
        struct stat st;
        int r;

        r = file_open(l);
        if (r < 0)
                return r;
        /* Removed under us (rm, or its directory): writing on would lose the lines. Open a new
         * one where it was; if that cannot be done, block. */
        if (fstat(l->fd, &st) >= 0 && st.st_nlink == 0) {
                file_close(l);
                r = file_open(l);
                if (r < 0)
                        return r;
                if (l->notify)
                        l->notify(l, JOB_LOG_REOPENED, 0, l->userdata);
        }
        return 0;
}

/* Write p[0..n) to the file, all of it or fail; *ret_done says how much went. */
static int file_write(JobLog *l, const char *p, size_t n, size_t *ret_done) {
        size_t done = 0;
        int r;

        *ret_done = 0;
        r = file_ready(l);
        if (r < 0)
                return r;
        while (done < n) {
                ssize_t k = write(l->fd, p + done, n - done);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        *ret_done = done;
                        return -errno;
                }
                const char *nl = memrchr(p + done, '\n', (size_t) k);
                l->tail_partial = nl ? (uint64_t) (p + done + k - nl - 1) : l->tail_partial + (uint64_t) k;
                done += (size_t) k;
                l->size += (uint64_t) k;
        }
        *ret_done = done;
        file_write_behind(l);
        return 0;
}

static uint64_t count_entries(const char *p, size_t n) {
        uint64_t k = 0;
        for (const char *e = p + n; p < e && (p = memchr(p, '\n', (size_t) (e - p))); p++)
                k++;
        return k;
}

/* Drop the entries of b. With whole, first take back the start of an entry that a write left
 * unfinished at the end of the file (its rest is in b), so that every line there is whole; where
 * the file cannot be cut, keep that rest to finish the entry with. */
static void drop_entries(JobLog *l, LogBuffer *b, bool whole) {
        size_t keep = 0;

        if (whole && l->tail_partial > 0 && l->fd >= 0) {
                if (l->tail_partial <= l->size && ftruncate(l->fd, (off_t) (l->size - l->tail_partial)) >= 0) {
                        l->size -= l->tail_partial;
                        l->tail_partial = 0;
                } else if (b->len > 0) {
                        const char *nl = memchr(b->data, '\n', b->len);
                        keep = nl ? (size_t) (nl - b->data) + 1 : b->len;
                }
        }
        l->dropped += count_entries(b->data + keep, b->len - keep);
        b->len = keep;
}

/* The file cannot be written. By default hold the job back: keep what is unwritten, stop reading
 * its pipes. With drop_on_error, drop what is unwritten and what comes until the retry timer
 * fires, reading on. Either way retry every LOG_RETRY_USEC, and report it once. */
static void job_log_block(JobLog *l, int error) {
        bool report = l->drop_on_error ? !l->failing : !l->blocked && !l->retrying;

        l->error = error;
        if (l->drop_on_error) {
                l->failing = l->dropping = true;
                drop_entries(l, &l->pending, true);
        } else {
                l->blocked = true;
                sources_update(l);
        }
        timer_arm(l, &l->retry_timer, LOG_RETRY_USEC, 0, on_retry);
        if (report && l->notify)
                l->notify(l, JOB_LOG_BLOCKED, error, l->userdata);
}

/* A write went through after failures (drop_on_error): say so. */
static void job_log_written(JobLog *l) {
        if (!l->failing)
                return;
        l->failing = false;
        l->error = 0;
        if (l->notify)
                l->notify(l, JOB_LOG_RESUMED, 0, l->userdata);
}

/* Write the batch's entries (after what is pending); on failure keep the rest in pending and
 * block (or drop them, see job_log_block()). */
static int out_write(JobLog *l, LogBuffer *out) {
        size_t done;
        int r;

        if (l->dropping) {
                drop_entries(l, out, false);
                return 0;
        }
        if (l->pending.len > 0) {
                r = file_write(l, l->pending.data, l->pending.len, &done);
                memmove(l->pending.data, l->pending.data + done, l->pending.len - done);
                l->pending.len -= done;
                if (r < 0) {
                        if (log_buffer_reserve(&l->pending, out->len) >= 0) {
                                put(&l->pending, out->data, out->len);
                                out->len = 0;
                        }
                        job_log_block(l, r);
                        return r;
                }
        }
        if (out->len == 0)
                return 0;
        r = file_write(l, out->data, out->len, &done);
        if (r < 0) {
                if (log_buffer_reserve(&l->pending, out->len - done) >= 0)
                        put(&l->pending, out->data + done, out->len - done);
                out->len = 0;
                job_log_block(l, r);
                return r;
        }
        out->len = 0;
        job_log_written(l);
        return 0;
}

static int emit_entry(const char *line, size_t len, bool partial, void *userdata) {
        StreamState *st = userdata;
        JobLog *l = st->log;
        LogContext *c = l->ctx;
        size_t before = c->out.len;
        int r;

        if (l->blocked)
                return 1;
        if (partial && l->format != LOG_FORMAT_JSON)
                /* "stdout+": not the batch's prefix; rare (lines over LOG_LINE_MAX). */
                r = log_format_entry(&c->out, &l->head, line, len, partial);
        else {
                r = log_buffer_reserve(&c->out, c->prefix.len);
                if (r >= 0) {
                        put(&c->out, c->prefix.data, c->prefix.len);
                        r = format_body(&c->out, l->format, line, len, partial);
                }
                if (r < 0)
                        c->out.len = before;
        }
        if (r < 0)
                return r;

        /* Rotate before the entry that would take the file past MaxSize (never for a file that
         * holds nothing yet: a single entry larger than MaxSize still goes somewhere). */
        if (l->max_size > 0 && l->size + before > 0 && l->size + c->out.len > l->max_size) {
                size_t entry = c->out.len - before;
                char *tail = NULL;

                if (entry > 0 && !(tail = malloc(entry)))
                        return -ENOMEM;
                if (entry > 0)
                        memcpy(tail, c->out.data + before, entry);
                c->out.len = before;
                if (out_write(l, &c->out) >= 0) {
                        r = file_rotate(l);
                        if (r < 0)
                                job_log_block(l, r);
                }
                /* The entry is taken: it goes to pending if pmd cannot write now. */
                if (l->blocked) {
                        r = log_buffer_reserve(&l->pending, entry);
                        if (r >= 0)
                                put(&l->pending, tail, entry);
                } else
                        put(&c->out, tail, entry);
                free(tail);
                if (r < 0)
                        return r;
        } else if (c->out.len >= LOG_OUT_FLUSH)
                (void) out_write(l, &c->out);

        if (l->console) {
                size_t name_len = strlen(l->name);
                if (log_buffer_reserve(&c->console, name_len + len + 4) >= 0) {
                        put(&c->console, l->name, name_len);
                        put(&c->console, " | ", 3);
                        put(&c->console, line, len);
                        c->console.data[c->console.len++] = '\n';
                }
        }
        return 0;
}

/* Armed already: leave it, the line is older than what came since. */
static void quiet_arm(JobLog *l) {
        int enabled = SD_EVENT_OFF;

        if (l->quiet_timer)
                (void) sd_event_source_get_enabled(l->quiet_timer, &enabled);
        if (enabled == SD_EVENT_OFF)
                timer_arm(l, &l->quiet_timer, LOG_QUIET_USEC, 10 * USEC_PER_MSEC, on_quiet);
}

/* One read of a job's pipe, at most max bytes into buf, through the relay when there is one (see
 * "The relay" above). Returns what read(2) would. */
static ssize_t stream_read(StreamState *st, char *buf, size_t max) {
        LogContext *c = st->log->ctx;
        size_t got = 0;
        ssize_t n, k;

        if (c->relay[0] < 0)
                return read(st->read_fd, buf, max);
        n = splice(st->read_fd, NULL, c->relay[1], NULL, max, SPLICE_F_NONBLOCK);
        if (n < 0 && errno == EINVAL)
                return read(st->read_fd, buf, max); /* not a pipe */
        while (n > 0 && got < (size_t) n) {
                k = read(c->relay[0], buf + got, (size_t) n - got);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        /* Cannot be (what a pipe holds can be read): never trust the relay again. */
                        c->relay[0] = safe_close(c->relay[0]);
                        c->relay[1] = safe_close(c->relay[1]);
                        return got > 0 ? (ssize_t) got : (errno = EIO, -1);
                }
                got += (size_t) k;
        }
        return n;
}

/* Format=raw: the bytes as the job wrote them, no framing, no time stamps: what `| cat > file`
 * does, at most LOG_READ_MAX per event like the framed path. (splice(2) from the pipe to the
 * file was measured slower here: it holds the pipe while the file is written, so the job cannot
 * write meanwhile; the relay leaves it free at once.) Rotation is checked between chunks, and
 * a chunk never takes the file past MaxSize=, so a line may be cut across two files: the price of
 * no framing. When the file cannot be written, what was read waits in the pending buffer and the
 * job blocks on its pipe, as with the other formats. */
static ssize_t stream_raw(StreamState *st, bool do_read) {
        JobLog *l = st->log;
        LogContext *c = l->ctx;
        size_t max = LOG_READ_MAX, done;
        ssize_t k;
        int r;

        if (!do_read || l->blocked || st->read_fd < 0)
                return 0;
        if (l->max_size > 0 && l->size > 0 && l->size >= l->max_size) {
                r = file_rotate(l);
                if (r < 0) {
                        job_log_block(l, r);
                        return r;
                }
        }
        if (l->max_size > 0 && l->max_size - l->size < max)
                max = (size_t) (l->max_size - l->size);
        k = stream_read(st, c->scratch, max);
        if (k <= 0)
                return k < 0 && errno != EAGAIN && errno != EINTR ? -errno : 0;
        st->last_data = now_usec(CLOCK_MONOTONIC);
        if (l->dropping) {
                l->dropped += count_entries(c->scratch, (size_t) k);
                return k;
        }
        r = file_write(l, c->scratch, (size_t) k, &done);
        if (r < 0) {
                if (log_buffer_reserve(&l->pending, (size_t) k - done) >= 0)
                        put(&l->pending, c->scratch + done, (size_t) k - done);
                job_log_block(l, r);
                return r;
        }
        job_log_written(l);
        return k;
}

/* One batch of a stream: what was left, plus (read) one read of at most LOG_READ_MAX bytes.
 * Returns the bytes read, 0 when the pipe had nothing, < 0 on error. */
static ssize_t stream_batch(StreamState *st, bool do_read, bool flush) {
        JobLog *l = st->log;
        LogContext *c = l->ctx;
        size_t len = st->carry.len, consumed;
        ssize_t n = 0;
        int r;

        if (l->format == LOG_FORMAT_RAW)
                return stream_raw(st, do_read);

        if (len > 0)
                memcpy(c->scratch, st->carry.data, len);
        if (do_read && !l->blocked && st->read_fd >= 0) {
                n = stream_read(st, c->scratch + len, MIN(LOG_READ_MAX, LOG_LINE_MAX + LOG_READ_MAX - len));
                if (n < 0) {
                        if (errno != EAGAIN && errno != EINTR)
                                return -errno;
                        n = 0;
                }
                len += (size_t) n;
        }
        if (len == 0)
                return n;

        /* One time for the batch: when pmd received these lines. Their prefix is made once too. */
        (void) format_rfc3339(c->timestamp, sizeof(c->timestamp), now_usec(CLOCK_REALTIME));
        l->head = (LogLineHead) {
                .format = l->format,
                .timestamp = c->timestamp,
                .job = l->name,
                .pid = l->pid,
                .stream = st->stream,
        };
        c->prefix.len = 0;
        r = format_prefix(&c->prefix, &l->head, false);
        if (r >= 0)
                r = log_frame(c->scratch, len, flush, emit_entry, st, &consumed);
        else
                consumed = 0; /* all of it stays in carry, for the next try */
        st->carry.len = 0;
        if (log_buffer_reserve(&st->carry, len - consumed) >= 0)
                put(&st->carry, c->scratch + consumed, len - consumed);
        /* else: out of memory, the rest of this read is lost; nothing better to do */
        if (!l->blocked)
                (void) out_write(l, &c->out);
        else if (c->out.len > 0 && log_buffer_reserve(&l->pending, c->out.len) >= 0) {
                put(&l->pending, c->out.data, c->out.len);
                c->out.len = 0;
        }
        c->out.len = 0;
        console_flush(c);
        /* After the work, not before it: a slow batch must not make the pipe look quiet. */
        if (n > 0)
                st->last_data = now_usec(CLOCK_MONOTONIC);
        if (st->carry.len == 0 && st->carry.size > 4 * LOG_LINE_MAX)
                log_buffer_done(&st->carry); /* do not keep a blocked batch's room */
        else if (st->carry.len > 0 && !l->blocked)
                quiet_arm(l);
        if (r < 0)
                return r;
        return n;
}

static int stream_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        StreamState *st = userdata;
        (void) stream_batch(st, true, false);
        return 0;
}

static int on_quiet(sd_event_source *s, uint64_t usec, void *userdata) {
        JobLog *l = userdata;
        usec_t now = now_usec(CLOCK_MONOTONIC), wait = 0;

        if (l->blocked || l->behind)
                return 0; /* the pipes are read again after; the next batch takes the line */
        for (int i = 0; i < _LOG_STREAM_MAX; i++) {
                StreamState *st = &l->streams[i];
                if (st->carry.len == 0)
                        continue;
                /* Quiet means nothing in the pipe now either: the rest of the line may be
                 * waiting there behind other work of the loop. */
                if (now - st->last_data >= LOG_QUIET_USEC && stream_batch(st, true, false) == 0 &&
                    st->carry.len > 0)
                        (void) stream_batch(st, false, true);
                else if (st->carry.len > 0) {
                        usec_t since = st->last_data > now ? 0 : now - st->last_data;
                        wait = MAX(wait, since < LOG_QUIET_USEC ? LOG_QUIET_USEC - since : LOG_QUIET_USEC);
                }
        }
        if (wait > 0)
                timer_arm(l, &l->quiet_timer, wait, 10 * USEC_PER_MSEC, on_quiet);
        return 0;
}

/* Try again what could not be written; on success take the pipes up again. */
static int job_log_unblock(JobLog *l) {
        LogBuffer none = {};

        l->retrying = true;
        l->blocked = false;
        (void) out_write(l, &none);
        for (int i = 0; i < _LOG_STREAM_MAX && !l->blocked; i++)
                if (l->streams[i].carry.len > 0)
                        (void) stream_batch(&l->streams[i], false, false);
        l->retrying = false;
        if (l->blocked)
                return l->error; /* the timer is armed again */
        sources_update(l);
        if (l->failing)
                return l->error; /* dropping now (drop_on_error) */
        l->error = 0;
        if (l->notify)
                l->notify(l, JOB_LOG_RESUMED, 0, l->userdata);
        return 0;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        JobLog *l = userdata;
        if (l->blocked)
                (void) job_log_unblock(l);
        else if (l->dropping)
                l->dropping = false; /* the next entries try the file again */
        return 0;
}

static int stream_open(JobLog *l, LogStream s) {
        StreamState *st = &l->streams[s];
        int p[2], r;

        if (st->read_fd >= 0)
                return 0;
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        /* Only pmd's end is non-blocking: a job that outruns the disk waits in write(2). */
        if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
                r = -errno;
                safe_close(p[0]);
                safe_close(p[1]);
                return r;
        }
        (void) fcntl(p[0], F_SETPIPE_SZ, LOG_PIPE_SIZE);
        r = sd_event_add_io(l->ctx->event, &st->source, p[0], EPOLLIN, stream_io, st);
        if (r < 0) {
                safe_close(p[0]);
                safe_close(p[1]);
                return r;
        }
        (void) sd_event_source_set_priority(st->source, LOG_PRIORITY);
        (void) sd_event_source_set_description(st->source, "job-log");
        (void) sd_event_source_set_enabled(st->source, sources_state(l));
        st->read_fd = p[0];
        st->write_fd = p[1];
        return 0;
}

static int settings_apply(JobLog *l, const JobLogSettings *s) {
        _cleanup_free_ char *dir = NULL, *name = NULL, *path = NULL;

        if (!l->path || !streq(l->dir, s->dir) || !streq(l->name, s->name)) {
                dir = strdup(s->dir);
                name = strdup(s->name);
                if (!dir || !name || asprintf(&path, "%s/%s.log", s->dir, s->name) < 0)
                        return -ENOMEM;
                free(l->dir);
                free(l->name);
                free(l->path);
                l->dir = TAKE_PTR(dir);
                l->name = TAKE_PTR(name);
                l->path = TAKE_PTR(path);
                file_close(l);
        }
        l->format = s->format;
        l->max_size = s->max_size;
        l->max_files = s->max_files;
        l->console = s->console;
        l->drop_on_error = s->drop_on_error;
        if (!l->drop_on_error)
                l->dropping = l->failing = false;
        else if (l->blocked)
                (void) job_log_unblock(l); /* held back so far: retry now, and drop if it fails */
        return 0;
}

uint64_t job_log_take_dropped(JobLog *l) {
        uint64_t n = l->dropped;
        l->dropped = 0;
        return n;
}

int job_log_new(LogContext *c, const JobLogSettings *s, JobLogNotify notify, void *userdata, JobLog **ret) {
        _cleanup_(job_log_freep) JobLog *l = NULL;
        int r;

        l = calloc(1, sizeof(JobLog));
        if (!l)
                return -ENOMEM;
        l->ctx = c;
        l->fd = -EBADF;
        for (int i = 0; i < _LOG_STREAM_MAX; i++)
                l->streams[i] = (StreamState) { .log = l, .stream = i, .read_fd = -EBADF, .write_fd = -EBADF };
        r = settings_apply(l, s);
        if (r < 0)
                return r;
        l->notify = notify;
        l->userdata = userdata;
        *ret = TAKE_PTR(l);
        return 0;
}

JobLog *job_log_free(JobLog *l) {
        if (!l)
                return NULL;
        /* Nobody is told any more: the owner is going away. */
        l->notify = NULL;
        if (l->path)
                (void) job_log_flush(l);
        for (int i = 0; i < _LOG_STREAM_MAX; i++) {
                StreamState *st = &l->streams[i];
                sd_event_source_disable_unref(st->source);
                safe_close(st->read_fd);
                safe_close(st->write_fd);
                log_buffer_done(&st->carry);
        }
        sd_event_source_disable_unref(l->retry_timer);
        sd_event_source_disable_unref(l->quiet_timer);
        sd_event_source_disable_unref(l->backlog_timer);
        file_close(l);
        log_buffer_done(&l->pending);
        free(l->dir);
        free(l->name);
        free(l->path);
        free(l);
        return NULL;
}

int job_log_configure(JobLog *l, const JobLogSettings *s) {
        return settings_apply(l, s);
}

int job_log_open_fd(JobLog *l, LogStream s, int *ret) {
        int r, fd;

        assert(s >= 0 && s < _LOG_STREAM_MAX);
        r = stream_open(l, s);
        if (r < 0)
                return r;
        /* Open the file now, so that a job's first lines find it and an unwritable directory
         * shows at once; a failure here blocks like any later one. */
        if (!l->blocked) {
                r = file_open(l);
                if (r < 0)
                        job_log_block(l, r);
        }
        fd = fcntl(l->streams[s].write_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        *ret = fd;
        return 0;
}

void job_log_set_pid(JobLog *l, pid_t pid) {
        l->pid = pid;
}

int job_log_flush(JobLog *l) {
        for (int i = 0; i < _LOG_STREAM_MAX; i++) {
                StreamState *st = &l->streams[i];
                size_t total = 0;
                ssize_t n;

                if (st->read_fd < 0 || l->blocked)
                        continue;
                do {
                        n = stream_batch(st, true, false);
                        total += n > 0 ? (size_t) n : 0;
                } while (n > 0 && total < LOG_FLUSH_READ_MAX && !l->blocked);
                if (!l->blocked)
                        (void) stream_batch(st, false, true);
        }
        return job_log_error(l);
}

int job_log_rotate(JobLog *l, bool reopen_only) {
        struct stat a, b;
        int r;

        if (l->fd >= 0 && fstat(l->fd, &a) >= 0 && stat(l->path, &b) >= 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino) {
                if (reopen_only)
                        return 0;
                /* Still ours: rotate it. Entries of the current batch are written already (every
                 * batch ends with its write), so nothing straddles the switch. */
                r = file_rotate(l);
        } else {
                /* Moved or removed by someone else (logrotate's create): open the new one. */
                file_close(l);
                r = file_open(l);
                if (r >= 0 && l->notify)
                        l->notify(l, JOB_LOG_REOPENED, 0, l->userdata);
        }
        if (r < 0) {
                job_log_block(l, r);
                return r;
        }
        if (l->blocked)
                (void) job_log_unblock(l);
        return 0;
}

void job_log_get_pipe(JobLog *l, LogStream s, int *ret_read, int *ret_write) {
        assert(s >= 0 && s < _LOG_STREAM_MAX);
        *ret_read = l->streams[s].read_fd;
        *ret_write = l->streams[s].write_fd;
}

int job_log_adopt_pipe(JobLog *l, LogStream s, int read_fd, int write_fd) {
        StreamState *st = &l->streams[s];
        int r;

        assert(s >= 0 && s < _LOG_STREAM_MAX);
        if (st->read_fd >= 0)
                return -EEXIST;
        if (fcntl(read_fd, F_SETFL, O_NONBLOCK) < 0)
                return -errno;
        r = sd_event_add_io(l->ctx->event, &st->source, read_fd, EPOLLIN, stream_io, st);
        if (r < 0)
                return r;
        (void) sd_event_source_set_priority(st->source, LOG_PRIORITY);
        (void) sd_event_source_set_description(st->source, "job-log");
        st->read_fd = read_fd;
        st->write_fd = write_fd;
        return 0;
}

const LogBuffer *job_log_get_carry(JobLog *l, LogStream s) {
        assert(s >= 0 && s < _LOG_STREAM_MAX);
        return &l->streams[s].carry;
}

const LogBuffer *job_log_get_pending(JobLog *l) {
        return &l->pending;
}

int job_log_put_back(JobLog *l, LogStream s, const void *carry, size_t carry_len) {
        StreamState *st = &l->streams[s];

        assert(s >= 0 && s < _LOG_STREAM_MAX);
        if (log_buffer_reserve(&st->carry, carry_len) < 0)
                return -ENOMEM;
        put(&st->carry, carry, carry_len);
        st->last_data = now_usec(CLOCK_MONOTONIC);
        if (st->carry.len > 0)
                quiet_arm(l);
        return 0;
}

int job_log_put_back_pending(JobLog *l, const void *data, size_t len) {
        if (log_buffer_reserve(&l->pending, len) < 0)
                return -ENOMEM;
        put(&l->pending, data, len);
        if (len > 0 && !l->blocked) {
                LogBuffer none = {};
                (void) out_write(l, &none); /* blocks, and says so, if the file cannot take it */
        }
        return 0;
}

bool job_log_get_failing(JobLog *l, uint64_t *ret_dropped) {
        *ret_dropped = l->dropped;
        return l->failing;
}

void job_log_put_back_failing(JobLog *l, uint64_t dropped) {
        l->failing = true;
        l->dropped += dropped;
}

uint64_t job_log_offset(JobLog *l) {
        if (l->fd < 0)
                (void) file_open(l);
        return l->size + l->pending.len;
}

int job_log_error(JobLog *l) {
        return l->blocked ? l->error : 0;
}

const char *job_log_path(JobLog *l) {
        return l->path;
}
