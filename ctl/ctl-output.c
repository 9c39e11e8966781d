/* How pmctl prints: aligned tables, colours for states (only on a terminal, never with NO_COLOR or
 * --no-color), durations and sizes for people ("3h 12m", "12.3M"), RFC 3339 times, and the JSON
 * objects that HTTP's /status also serves (SPEC §10), so scripts never parse a table. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "job-json.h"

bool ctl_use_color(void) {
        static int cached = -1;

        if (cached < 0) {
                const char *nc = getenv("NO_COLOR");
                const char *term = getenv("TERM");
                cached = !arg_no_color && isatty(STDOUT_FILENO) && isempty(nc) && !(term && streq(term, "dumb"));
        }
        return cached;
}

const char *ctl_state_color(const char *state) {
        if (!ctl_use_color() || !state)
                return "";
        if (streq(state, "running"))
                return "\033[0;32m"; /* green */
        if (streq(state, "failed"))
                return "\033[0;1;31m"; /* bold red */
        if (streq(state, "backoff"))
                return "\033[0;1;33m"; /* bold yellow */
        if (streq(state, "starting") || streq(state, "stopping"))
                return "\033[0;33m"; /* yellow */
        if (streq(state, "exited"))
                return "\033[0;34m"; /* blue */
        return "\033[0;2m"; /* stopped: dim */
}

const char *ctl_color_reset(void) {
        return ctl_use_color() ? "\033[0m" : "";
}

const char *ctl_color_bold(void) {
        return ctl_use_color() ? "\033[1m" : "";
}

char *ctl_format_bytes(char *buf, size_t len, uint64_t bytes) {
        static const char suffixes[] = "KMGTPE";
        double v = (double) bytes;
        int i = -1;

        if (bytes < 1024) {
                snprintf(buf, len, "%" PRIu64 "B", bytes);
                return buf;
        }
        while (v >= 1024.0 && i < (int) sizeof(suffixes) - 2) {
                v /= 1024.0;
                i++;
        }
        if (v < 10.0)
                snprintf(buf, len, "%.1f%c", v, suffixes[i]);
        else
                snprintf(buf, len, "%.0f%c", v, suffixes[i]);
        return buf;
}

char *ctl_format_local(char *buf, size_t len, usec_t ts) {
        time_t sec = (time_t) (ts / USEC_PER_SEC);
        struct tm tm;

        if (!localtime_r(&sec, &tm) || strftime(buf, len, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                snprintf(buf, len, "?");
        return buf;
}

/* ---- tables ---------------------------------------------------------------------------------- */

typedef struct TableRow {
        char **cells;
        int color_column;
        const char *color;
} TableRow;

struct Table {
        size_t n_columns;
        char **headers;
        TableRow *rows;
        size_t n_rows, allocated;
};

Table *table_new(const char *const *headers, size_t n_columns) {
        Table *t = calloc(1, sizeof(*t));

        if (!t)
                return NULL;
        t->n_columns = n_columns;
        t->headers = calloc(n_columns, sizeof(char *));
        if (!t->headers)
                return table_free(t);
        for (size_t i = 0; i < n_columns; i++) {
                t->headers[i] = strdup(headers[i]);
                if (!t->headers[i])
                        return table_free(t);
        }
        return t;
}

Table *table_free(Table *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_rows; i++) {
                for (size_t c = 0; c < t->n_columns; c++)
                        free(t->rows[i].cells[c]);
                free(t->rows[i].cells);
        }
        free(t->rows);
        if (t->headers)
                for (size_t c = 0; c < t->n_columns; c++)
                        free(t->headers[c]);
        free(t->headers);
        free(t);
        return NULL;
}

int table_add_row(Table *t, const char *const *cells, int color_column, const char *color) {
        TableRow *row;

        if (GREEDY_REALLOC(t->rows, t->allocated, t->n_rows + 1, 16) < 0)
                return -ENOMEM;
        row = &t->rows[t->n_rows];
        row->cells = calloc(t->n_columns, sizeof(char *));
        if (!row->cells)
                return -ENOMEM;
        t->n_rows++;
        for (size_t c = 0; c < t->n_columns; c++) {
                /* Control characters would break the alignment (and the terminal). */
                char *s = strdup(cells[c] ?: "");
                if (!s)
                        return -ENOMEM;
                for (char *p = s; *p; p++)
                        if ((unsigned char) *p < 0x20 || *p == 0x7f)
                                *p = ' ';
                row->cells[c] = s;
        }
        row->color_column = color_column;
        row->color = color;
        return 0;
}

/* Display width of UTF-8 text, counting each code point as one column. */
static size_t text_width(const char *s) {
        size_t w = 0;
        for (; *s; s++)
                if (((unsigned char) *s & 0xc0) != 0x80)
                        w++;
        return w;
}

static void print_cell(const char *s, size_t width, bool last, const char *color) {
        size_t w = text_width(s);

        fputs(color ?: "", stdout);
        fputs(s, stdout);
        if (color && *color)
                fputs(ctl_color_reset(), stdout);
        if (!last)
                for (size_t i = w; i < width + 2; i++)
                        putchar(' ');
}

int table_print(Table *t) {
        _cleanup_free_ size_t *widths = calloc(t->n_columns, sizeof(size_t));

        if (!widths)
                return -ENOMEM;
        for (size_t c = 0; c < t->n_columns; c++) {
                widths[c] = text_width(t->headers[c]);
                for (size_t i = 0; i < t->n_rows; i++)
                        widths[c] = MAX(widths[c], text_width(t->rows[i].cells[c]));
        }
        for (size_t c = 0; c < t->n_columns; c++)
                print_cell(t->headers[c], widths[c], c + 1 == t->n_columns, ctl_color_bold());
        putchar('\n');
        for (size_t i = 0; i < t->n_rows; i++) {
                for (size_t c = 0; c < t->n_columns; c++)
                        print_cell(t->rows[i].cells[c], widths[c], c + 1 == t->n_columns,
                                   (int) c == t->rows[i].color_column ? t->rows[i].color : NULL);
                putchar('\n');
        }
        return fflush(stdout) == 0 ? 0 : -errno;
}

/* ---- JSON ------------------------------------------------------------------------------------ */

/* The JOB object of SPEC §10 is built by job_json_new() of the util library, the very function
 * behind pmd's GET /status, so the two cannot drift apart. */
void *ctl_job_json(const JobInfo *j) {
        JobJsonInfo info = {
                .name = j->name,
                .description = j->description,
                .state = j->state,
                .result = j->result,
                .status = j->status_text,
                .pid = (pid_t) j->main_pid,
                .restarts = j->restart_count,
                .exit_status = j->exit_status,
                .since = j->state_change_ts,
                .last_heartbeat = j->last_heartbeat_ts,
                .cpu_nsec = j->cpu_nsec,
                .memory_bytes = j->memory,
        };

        return job_json_new(&info);
}

int ctl_print_json(void *json, bool compact) {
        json_t *o = json;
        int r;

        if (!o)
                return -ENOMEM;
        r = json_dumpf(o, stdout, (compact ? JSON_COMPACT : JSON_INDENT(2)) | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(9));
        json_decref(o);
        if (r < 0)
                return -EIO;
        putchar('\n');
        return fflush(stdout) == 0 ? 0 : -errno;
}

/* ---- files ----------------------------------------------------------------------------------- */

int ctl_tail_fd(int fd, off_t size, unsigned n, int (*cb)(const char *line, void *userdata), void *userdata) {
        _cleanup_free_ char *buf = NULL;
        off_t start;
        size_t len;
        unsigned newlines = 0;
        char *p, *line;
        int r;

        if (n == 0)
                return 0;
        /* Walk back in blocks until n line ends are seen, not counting the one that ends the
         * file: the n lines start just after the n-th. */
        start = size;
        while (start > 0 && newlines < n) {
                char block[16384];
                off_t from = start > (off_t) sizeof(block) ? start - (off_t) sizeof(block) : 0;
                ssize_t k = pread(fd, block, (size_t) (start - from), from);
                if (k < 0)
                        return -errno;
                for (ssize_t i = k - 1; i >= 0; i--)
                        if (block[i] == '\n' && from + i != size - 1 && ++newlines == n) {
                                start = from + i + 1;
                                goto found;
                        }
                start = from;
        }
found:
        len = (size_t) (size - start);
        buf = malloc(len + 1);
        if (!buf)
                return -ENOMEM;
        if (len > 0 && pread(fd, buf, len, start) != (ssize_t) len)
                return -EIO;
        buf[len] = '\0';

        for (p = buf, line = buf; *p; p++)
                if (*p == '\n') {
                        *p = '\0';
                        r = cb(line, userdata);
                        if (r < 0)
                                return r;
                        line = p + 1;
                }
        if (*line) {
                r = cb(line, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}
