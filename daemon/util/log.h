/* pmd's own log: levels, and the log_*_errno() helpers that set errno from r and return r. */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <syslog.h>

#include "macro.h"

extern int log_max_level;

void log_set_max_level(int level);
void log_set_prefix(const char *prefix);   /* program name printed before messages */

/* Returns -abs(error) so callers can write `return log_error_errno(r, ...)`. */
int log_internal(int level, int error, const char *file, int line, const char *func, const char *fmt, ...)
        _printf_(6, 7);

#define log_full_errno(level, error, ...)                                                       \
        ({                                                                                      \
                int _l = (level), _e = (error);                                                 \
                (log_max_level >= LOG_PRI(_l)) ?                                               \
                        log_internal(_l, _e, __FILE__, __LINE__, __func__, __VA_ARGS__) :       \
                        -abs(_e);                                                               \
        })
#define log_full(level, ...) (void) log_full_errno(level, 0, __VA_ARGS__)

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)

#define log_oom() log_error_errno(ENOMEM, "Out of memory.")
