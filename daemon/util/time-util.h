/* Microsecond time values, parsing of systemd time and size syntax. */
#pragma once

#include <stddef.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t usec_t;

#define USEC_INFINITY ((usec_t) UINT64_MAX)
#define USEC_PER_SEC ((usec_t) 1000000ULL)
#define USEC_PER_MSEC ((usec_t) 1000ULL)
#define NSEC_PER_USEC ((uint64_t) 1000ULL)

/* Current time of a clock in µs (used by manager.c and main.c only; job.c gets time as a parameter). */
usec_t now_usec(int clock_id);

/* systemd time syntax: "500ms", "10s", "2min", "1h 30s", "infinity"; a bare number is seconds.
 * Returns 0 or -EINVAL / -ERANGE. */
int parse_time(const char *s, usec_t *ret);
/* The same with another unit for bare numbers (e.g. 1 for LimitRTTIME=, which counts µs). */
int parse_time_unit(const char *s, usec_t default_unit, usec_t *ret);

/* Sizes: "10M", "1G", "512K", bare number = bytes (base 1024). Returns 0 or -EINVAL / -ERANGE. */
int parse_size(const char *s, uint64_t *ret);

/* RFC 3339 UTC with microseconds, "2024-05-01T12:00:00.123456Z": the one time format of job logs,
 * pmd's own JSON log, /status and pmctl --json. len must be at least RFC3339_MAX. */
#define RFC3339_MAX 32
char *format_rfc3339(char *buf, size_t len, usec_t t);
/* The same (fraction optional, 1-6 digits) at the start of s. */
int parse_rfc3339(const char *s, usec_t *ret);

/* "3h 12m", "45s", "2d 4h" — for people; buf must hold at least 32 bytes. */
char *format_timespan(char *buf, size_t len, usec_t t);
