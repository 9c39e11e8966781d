/* pmd's own log: what pmd does and why. Where it goes is decided once, at the first message:
 *
 *   - under systemd (JOURNAL_STREAM names our stderr, or INVOCATION_ID is set and stderr is not a
 *     terminal): to the journal with sd_journal_send(), with PRIORITY=, CODE_*= and ERRNO= fields,
 *     so `journalctl -u pmd -p warning` works;
 *   - on a terminal: "prefix: message", for people;
 *   - anything else (a container's log collector, a file): one NDJSON object per message,
 *     {"ts","level","msg"[,"errno"]}, for machines.
 *
 * PMD_LOG_FORMAT=text|json|journal overrides the choice. The level filter (log_max_level) is the
 * only other global. A message is formatted into a bounded buffer (longer ones are cut). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <time.h>

#include "log.h"
#include "time-util.h"

typedef enum LogTarget {
        LOG_TARGET_AUTO,
        LOG_TARGET_TEXT,
        LOG_TARGET_JSON,
        LOG_TARGET_JOURNAL,
} LogTarget;

int log_max_level = LOG_INFO;
static const char *log_prefix = NULL;
static LogTarget log_target = LOG_TARGET_AUTO;

void log_set_max_level(int level) {
        log_max_level = level;
}

void log_set_prefix(const char *prefix) {
        log_prefix = prefix;
}

/* JOURNAL_STREAM is "DEV:INODE" of the stream systemd connected; it only counts if that is still
 * our stderr (a child of a service inherits the variable but maybe not the stream). */
static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

static LogTarget log_target_pick(void) {
        const char *e = getenv("PMD_LOG_FORMAT");

        if (e && streq(e, "text"))
                return LOG_TARGET_TEXT;
        if (e && streq(e, "json"))
                return LOG_TARGET_JSON;
        if (e && streq(e, "journal"))
                return LOG_TARGET_JOURNAL;
        if (stderr_is_journal())
                return LOG_TARGET_JOURNAL;
        if (isatty(STDERR_FILENO))
                return LOG_TARGET_TEXT;
        if (getenv("INVOCATION_ID"))
                return LOG_TARGET_JOURNAL;
        return LOG_TARGET_JSON;
}

static const char *level_name(int level) {
        static const char *const names[] = { "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug" };
        level = LOG_PRI(level);
        return level >= 0 && (size_t) level < ELEMENTSOF(names) ? names[level] : "info";
}

/* s as the body of a JSON string. Bytes >= 0x80 go as they are (pmd's messages are UTF-8 or
 * ASCII; a file name that is not comes out as it is, as with the text form). */
static void json_put(FILE *f, const char *s) {
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;
                if (c == '"' || c == '\\')
                        fprintf(f, "\\%c", c);
                else if (c == '\n')
                        fputs("\\n", f);
                else if (c == '\t')
                        fputs("\\t", f);
                else if (c < 0x20)
                        fprintf(f, "\\u%04x", c);
                else
                        fputc(c, f);
        }
}

static void log_json(int level, int error, const char *msg) {
        char ts[RFC3339_MAX];

        (void) format_rfc3339(ts, sizeof(ts), now_usec(CLOCK_REALTIME));
        flockfile(stderr);
        fprintf(stderr, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"", ts, level_name(level));
        json_put(stderr, msg);
        fputc('"', stderr);
        if (error != 0)
                fprintf(stderr, ",\"errno\":%d", abs(error));
        fputs("}\n", stderr);
        funlockfile(stderr);
}

static int log_journal(int level, int error, const char *file, int line, const char *func, const char *msg) {
        char code_line[32], err[32];

        (void) snprintf(code_line, sizeof(code_line), "CODE_LINE=%d", line);
        (void) snprintf(err, sizeof(err), "ERRNO=%d", abs(error));
        return sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", LOG_PRI(level), "SYSLOG_IDENTIFIER=%s",
                               log_prefix ?: "pmd", "CODE_FILE=%s", file, code_line, "CODE_FUNC=%s", func,
                               error != 0 ? err : NULL, NULL);
}

int log_internal(int level, int error, const char *file, int line, const char *func, const char *fmt, ...) {
        char buf[2048];
        va_list ap;
        int saved = errno;

        if (error != 0)
                errno = abs(error);
        va_start(ap, fmt);
        (void) vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);

        if (log_target == LOG_TARGET_AUTO)
                log_target = log_target_pick();
        switch (log_target) {
        case LOG_TARGET_JOURNAL:
                if (log_journal(level, error, file, line, func, buf) >= 0)
                        break;
                __attribute__((fallthrough));
        case LOG_TARGET_TEXT:
                if (log_prefix)
                        fprintf(stderr, "%s: %s\n", log_prefix, buf);
                else
                        fprintf(stderr, "%s\n", buf);
                break;
        case LOG_TARGET_JSON:
                log_json(level, error, buf);
                break;
        default:
                assert_not_reached();
        }
        errno = saved;
        return -abs(error);
}
