/* pmd's own log. Messages go to stderr as "prefix: message"; the level filter is the only global. */
#include <stdio.h>
#include <string.h>

#include "log.h"

int log_max_level = LOG_INFO;
static const char *log_prefix = NULL;

void log_set_max_level(int level) {
        log_max_level = level;
}

void log_set_prefix(const char *prefix) {
        log_prefix = prefix;
}

int log_internal(int level, int error, const char *file, int line, const char *func, const char *fmt, ...) {
        char buf[2048];
        va_list ap;
        int saved = errno;

        (void) file;
        (void) line;
        (void) func;

        if (error != 0)
                errno = abs(error);
        va_start(ap, fmt);
        (void) vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);

        if (log_prefix)
                fprintf(stderr, "%s: %s\n", log_prefix, buf);
        else
                fprintf(stderr, "%s\n", buf);
        (void) level;
        errno = saved;
        return -abs(error);
}
