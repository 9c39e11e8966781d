/* Capture of job output (SPEC §3.2 StandardOutput=log and [Log]): per job, one pipe per stream
 * that pmd reads from its event loop, lines framed and formatted as text or NDJSON, written to
 * LOG_DIR/NAME.log with rotation by size, optionally copied to pmd's stdout as "NAME | line".
 *
 * The pure parts (timestamp, line framer, formatters) are exported for the unit tests and the
 * fuzzer; the manager uses LogContext and JobLog. This module does not log: it reports trouble
 * (disk full, directory gone, recovered, rotated) through the JobLogNotify callback. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "job-config.h"
#include "util/macro.h"
#include "util/time-util.h"

/* A line longer than this is written as several entries, all but the last one marked. */
#define LOG_LINE_MAX ((size_t) 64 * 1024)

typedef enum LogStream {
        LOG_STREAM_STDOUT,
        LOG_STREAM_STDERR,
        _LOG_STREAM_MAX,
        _LOG_STREAM_INVALID = -EINVAL,
} LogStream;

const char *log_stream_to_string(LogStream s);
LogStream log_stream_from_string(const char *s);

/* ---- pure parts ---- */

/* RFC 3339 UTC with microseconds, "2024-05-01T12:00:00.123456Z": 27 characters and a NUL. */
#define LOG_TIMESTAMP_MAX RFC3339_MAX
/* The inverse, for pmctl --since and merging; -EINVAL when s does not start with one. */

/* A growable byte buffer. */
typedef struct LogBuffer {
        char *data;
        size_t len, size;
} LogBuffer;
int log_buffer_reserve(LogBuffer *b, size_t extra);
void log_buffer_done(LogBuffer *b);

/* What goes in front of every message of one batch: the same timestamp, job, pid and stream. */
typedef struct LogLineHead {
        LogFormat format;
        const char *timestamp; /* from format_rfc3339() */
        const char *job;
        pid_t pid;
        LogStream stream;
} LogLineHead;

/* Append one entry for msg[0..len) (no newline in it) to out. partial: the line goes on in the
 * next entry (it was split at LOG_LINE_MAX). text: "TS STREAM MSG\n", STREAM with a "+" when
 * partial, the message as written. json: {"ts","job","pid","stream","msg"[,"partial":true]}
 * with msg a JSON string: invalid UTF-8 bytes become the four characters \xNN, never dropped. */
int log_format_entry(LogBuffer *out, const LogLineHead *h, const char *msg, size_t len, bool partial);
/* The JSON string body of msg (no quotes), as above. */
int log_json_escape(LogBuffer *out, const char *msg, size_t len);

/* Line framing of buf[0..len): each complete line (without its newline) is passed to emit; a line
 * longer than LOG_LINE_MAX is passed in LOG_LINE_MAX pieces with partial set, the last piece
 * without. An unfinished line at the end is left alone, unless flush is set: then it is passed as
 * a line of its own. emit returns 0 when it took the line, > 0 to stop before it (it was not
 * taken: pmd cannot write now), < 0 on error (returned). Returns the number of bytes consumed;
 * the caller keeps the rest for later. */
typedef int (*LogEmit)(const char *line, size_t len, bool partial, void *userdata);
int log_frame(const char *buf, size_t len, bool flush, LogEmit emit, void *userdata, size_t *ret_consumed);

/* The same over pieces fed one after the other (for the tests and the fuzzer): what is left of an
 * unfinished line is kept until more comes or log_framer_flush(). */
typedef struct LogFramer {
        LogBuffer carry; /* the unfinished line */
} LogFramer;
int log_framer_feed(LogFramer *f, const char *data, size_t n, LogEmit emit, void *userdata);
/* Emit the unfinished line, if any, as a line of its own (not partial). */
int log_framer_flush(LogFramer *f, LogEmit emit, void *userdata);
void log_framer_done(LogFramer *f);

/* Shift path.1 … path.(max_files-1) one up (path.max_files is replaced), then path → path.1; with
 * max_files 0, path is removed. Missing files are skipped. With ret_removed, the file that drops
 * out (path.max_files, or path), when it is a regular file larger than a step of freeing, is
 * opened and unlinked first and its fd returned there (else -EBADF): the caller frees it. */
int log_rotate_files(const char *path, unsigned max_files, int *ret_removed);

/* ---- the live part ---- */

/* Shared by all jobs: the event loop, the console (pmd's stdout, written without blocking), and
 * the scratch buffers of the one batch being worked on. */
typedef struct LogContext LogContext;
int log_context_new(sd_event *e, LogContext **ret);
LogContext *log_context_free(LogContext *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(LogContext *, log_context_free);
/* Lines dropped from the console because its reader did not keep up. */
uint64_t log_context_console_dropped(LogContext *c);

typedef struct JobLogSettings {
        const char *dir;    /* LOG_DIR */
        const char *name;   /* the job; the file is dir/NAME.log */
        LogFormat format;
        uint64_t max_size;  /* rotate before this is exceeded; 0: never */
        unsigned max_files; /* NAME.log.1 … NAME.log.N kept */
        bool console;       /* copy to pmd's stdout as "NAME | line" */
        bool drop_on_error; /* when the file cannot be written: drop lines (counted) and go on
                             * reading, instead of holding the job back */
} JobLogSettings;

typedef enum JobLogEvent {
        JOB_LOG_BLOCKED,       /* cannot write (error: why): pipes no longer read (with
                                * drop_on_error: read, and the lines dropped), retrying */
        JOB_LOG_RESUMED,       /* writing again (job_log_take_dropped() says what was lost) */
        JOB_LOG_ROTATED,       /* NAME.log is a new file; positions in the old one are gone */
        JOB_LOG_REOPENED,      /* someone else moved NAME.log away (logrotate); reopened */
} JobLogEvent;

typedef struct JobLog JobLog;
typedef void (*JobLogNotify)(JobLog *l, JobLogEvent event, int error, void *userdata);

int job_log_new(LogContext *c, const JobLogSettings *s, JobLogNotify notify, void *userdata, JobLog **ret);
/* Reads what the pipes hold now, writes it if it can, and closes everything. */
JobLog *job_log_free(JobLog *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(JobLog *, job_log_free);
/* New settings (after a reload); the file is reopened when its name changes. */
int job_log_configure(JobLog *l, const JobLogSettings *s);
/* A new descriptor (O_CLOEXEC, owned by the caller) of the write end of stream's pipe, for a
 * child's stdout/stderr. The pipes live as long as the JobLog, across runs. */
int job_log_open_fd(JobLog *l, LogStream s, int *ret);
/* Entries dropped (drop_on_error) since the last call. */
uint64_t job_log_take_dropped(JobLog *l);
/* The pid put in json entries from now on. */
void job_log_set_pid(JobLog *l, pid_t pid);
/* The end of a run: read what is in the pipes now and write unfinished lines out. */
int job_log_flush(JobLog *l);
/* If someone else moved NAME.log away (logrotate's create, then SIGUSR1), open a new one; if it
 * is still the file pmd writes, rotate it now, unless reopen_only (SIGUSR1 must not rotate the
 * logs that logrotate left alone). */
int job_log_rotate(JobLog *l, bool reopen_only);
/* Where the next entry goes in NAME.log (its size as pmd knows it). */
uint64_t job_log_offset(JobLog *l);
/* Re-execution: what must cross the exec. The pipe ends of a stream (-EBADF when it has none; the
 * JobLog keeps them), and the bytes read but not written yet: the unfinished line of each stream
 * and, while blocked, the formatted entries. The new image adopts the pipe ends (taking
 * ownership) and puts the bytes back before the loop runs. */
void job_log_get_pipe(JobLog *l, LogStream s, int *ret_read, int *ret_write);
int job_log_adopt_pipe(JobLog *l, LogStream s, int read_fd, int write_fd);
const LogBuffer *job_log_get_carry(JobLog *l, LogStream s);
const LogBuffer *job_log_get_pending(JobLog *l);
int job_log_put_back(JobLog *l, LogStream s, const void *carry, size_t carry_len);
int job_log_put_back_pending(JobLog *l, const void *data, size_t len);
/* And with OnWriteError=drop, whether writing fails (the old image has said so) and how many
 * entries were dropped since then: the new image reports the count when a write goes through. */
bool job_log_get_failing(JobLog *l, uint64_t *ret_dropped);
void job_log_put_back_failing(JobLog *l, uint64_t dropped);

/* Blocked (disk full, directory gone): the last error, or 0 when writing. */
int job_log_error(JobLog *l);
const char *job_log_path(JobLog *l);
