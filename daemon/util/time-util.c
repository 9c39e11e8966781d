/* Time and size values as job files write them. The syntax is systemd's (parse_sec() and
 * parse_size()), so that RestartSec=, TimeoutStopSec=, LimitCORE= … in stock .service files mean
 * what they mean there; format_timespan() is the short human form used in status output, and
 * format_rfc3339()/parse_rfc3339() the one machine form of logs, JSON and pmctl. */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "macro.h"
#include "time-util.h"

#define USEC_PER_MINUTE (60ULL * USEC_PER_SEC)
#define USEC_PER_HOUR (60ULL * USEC_PER_MINUTE)
#define USEC_PER_DAY (24ULL * USEC_PER_HOUR)
#define USEC_PER_WEEK (7ULL * USEC_PER_DAY)
#define USEC_PER_MONTH (2629800ULL * USEC_PER_SEC) /* 30.44 days, as systemd */
#define USEC_PER_YEAR (31557600ULL * USEC_PER_SEC) /* 365.25 days */

usec_t now_usec(int clock_id) {
        struct timespec ts;
        if (clock_gettime(clock_id, &ts) < 0)
                return 0;
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / NSEC_PER_USEC;
}

typedef struct Suffix {
        const char *suffix;
        uint64_t multiplier;
} Suffix;

/* Longer suffixes first where one is a prefix of another ("msec" before "ms" before "m"). */
static const Suffix time_suffixes[] = {
        { "seconds", USEC_PER_SEC },
        { "second", USEC_PER_SEC },
        { "sec", USEC_PER_SEC },
        { "s", USEC_PER_SEC },
        { "minutes", USEC_PER_MINUTE },
        { "minute", USEC_PER_MINUTE },
        { "min", USEC_PER_MINUTE },
        { "months", USEC_PER_MONTH },
        { "month", USEC_PER_MONTH },
        { "M", USEC_PER_MONTH },
        { "msec", USEC_PER_MSEC },
        { "ms", USEC_PER_MSEC },
        { "m", USEC_PER_MINUTE },
        { "hours", USEC_PER_HOUR },
        { "hour", USEC_PER_HOUR },
        { "hr", USEC_PER_HOUR },
        { "h", USEC_PER_HOUR },
        { "days", USEC_PER_DAY },
        { "day", USEC_PER_DAY },
        { "d", USEC_PER_DAY },
        { "weeks", USEC_PER_WEEK },
        { "week", USEC_PER_WEEK },
        { "w", USEC_PER_WEEK },
        { "years", USEC_PER_YEAR },
        { "year", USEC_PER_YEAR },
        { "y", USEC_PER_YEAR },
        { "usec", 1 },
        { "us", 1 },
        { "\xc2\xb5s", 1 }, /* U+00B5 MICRO SIGN */
        { "\xce\xbcs", 1 }, /* U+03BC GREEK SMALL LETTER MU */
};

static const Suffix size_suffixes[] = {
        { "E", 1ULL << 60 },
        { "P", 1ULL << 50 },
        { "T", 1ULL << 40 },
        { "G", 1ULL << 30 },
        { "M", 1ULL << 20 },
        { "K", 1ULL << 10 },
        { "B", 1 },
};

static const char *skip_space(const char *p) {
        while (*p && strchr(" \t\n\r", *p))
                p++;
        return p;
}

/* Sum of "NUMBER[.FRACTION][ ]SUFFIX" parts. A part without a suffix uses default_mult. Shared by
 * time and size parsing; the tables differ. */
static int parse_parts(const char *s, const Suffix *table, size_t n_table, uint64_t default_mult,
                       uint64_t *ret) {
        uint64_t sum = 0;
        const char *p;
        bool something = false;

        if (!s)
                return -EINVAL;
        p = skip_space(s);
        if (!*p)
                return -EINVAL;

        while (*p) {
                uint64_t whole = 0, mult = default_mult, part, frac_part = 0;
                const char *digits = p, *frac = NULL, *frac_end = NULL;
                size_t i;

                if (!isdigit((unsigned char) *p) && *p != '.')
                        return -EINVAL;
                for (; isdigit((unsigned char) *p); p++) {
                        if (__builtin_mul_overflow(whole, 10, &whole) ||
                            __builtin_add_overflow(whole, (uint64_t) (*p - '0'), &whole))
                                return -ERANGE;
                }
                if (*p == '.') {
                        frac = ++p;
                        while (isdigit((unsigned char) *p))
                                p++;
                        frac_end = p;
                        if (frac == frac_end && frac - 1 == digits)
                                return -EINVAL; /* "." alone */
                }
                p = skip_space(p);
                for (i = 0; i < n_table; i++) {
                        size_t l = strlen(table[i].suffix);
                        if (strneq(p, table[i].suffix, l)) {
                                mult = table[i].multiplier;
                                p += l;
                                break;
                        }
                }
                if (isalpha((unsigned char) *p) || (unsigned char) *p >= 0x80)
                        return -EINVAL; /* unknown suffix */

                if (__builtin_mul_overflow(whole, mult, &part))
                        return -ERANGE;
                if (frac) {
                        /* mult * 0.DIGITS, exactly, from at most 18 digits (more are noise). */
                        uint64_t num = 0, den = 1;
                        for (const char *f = frac; f < frac_end && den < 1000000000000000000ULL; f++) {
                                num = num * 10 + (uint64_t) (*f - '0');
                                den *= 10;
                        }
                        frac_part = (uint64_t) ((unsigned __int128) mult * num / den);
                }
                if (__builtin_add_overflow(part, frac_part, &part) ||
                    __builtin_add_overflow(sum, part, &sum))
                        return -ERANGE;
                something = true;
                p = skip_space(p);
        }
        if (!something)
                return -EINVAL;
        *ret = sum;
        return 0;
}

int parse_time_unit(const char *s, usec_t default_unit, usec_t *ret) {
        const char *p;
        uint64_t v;
        int r;

        if (!s)
                return -EINVAL;
        p = skip_space(s);
        if (strneq(p, "infinity", 8) && *skip_space(p + 8) == '\0') {
                *ret = USEC_INFINITY;
                return 0;
        }
        r = parse_parts(s, time_suffixes, ELEMENTSOF(time_suffixes), default_unit, &v);
        if (r < 0)
                return r;
        if (v == USEC_INFINITY)
                return -ERANGE; /* reserved for "infinity" */
        *ret = v;
        return 0;
}

int parse_time(const char *s, usec_t *ret) {
        return parse_time_unit(s, USEC_PER_SEC, ret);
}

int parse_size(const char *s, uint64_t *ret) {
        return parse_parts(s, size_suffixes, ELEMENTSOF(size_suffixes), 1, ret);
}

char *format_timespan(char *buf, size_t len, usec_t t) {
        static const Suffix units[] = {
                { "d", USEC_PER_DAY },  { "h", USEC_PER_HOUR },   { "m", USEC_PER_MINUTE },
                { "s", USEC_PER_SEC },  { "ms", USEC_PER_MSEC },  { "us", 1 },
        };
        size_t used = 0;
        unsigned n = 0;

        assert(buf);
        assert(len > 0);
        buf[0] = '\0';
        if (t == USEC_INFINITY) {
                snprintf(buf, len, "infinity");
                return buf;
        }
        if (t == 0) {
                snprintf(buf, len, "0s");
                return buf;
        }
        for (size_t i = 0; i < ELEMENTSOF(units) && t > 0 && n < 2; i++) {
                uint64_t k = t / units[i].multiplier;
                int w;

                if (k == 0) {
                        if (n > 0)
                                break; /* "1h 0m 5s" is not shorter than "1h" */
                        continue;
                }
                w = snprintf(buf + used, len - used, "%s%" PRIu64 "%s", n > 0 ? " " : "", k,
                             units[i].suffix);
                if (w < 0 || (size_t) w >= len - used)
                        break;
                used += (size_t) w;
                t -= k * units[i].multiplier;
                n++;
        }
        return buf;
}

static void put_digits(char *p, unsigned v, int n) {
        for (int i = n - 1; i >= 0; i--) {
                p[i] = (char) ('0' + v % 10);
                v /= 10;
        }
}

char *format_rfc3339(char *buf, size_t len, usec_t realtime) {
        time_t sec = (time_t) (realtime / USEC_PER_SEC);
        struct tm tm;

        assert(len >= RFC3339_MAX);
        if (!gmtime_r(&sec, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
                strcpy(buf, "1970-01-01T00:00:00.000000Z");
                return buf;
        }
        /* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" by hand: fixed width, no locale. */
        memcpy(buf, "0000-00-00T00:00:00.000000Z", 28);
        put_digits(buf, (unsigned) (tm.tm_year + 1900), 4);
        put_digits(buf + 5, (unsigned) tm.tm_mon + 1, 2);
        put_digits(buf + 8, (unsigned) tm.tm_mday, 2);
        put_digits(buf + 11, (unsigned) tm.tm_hour, 2);
        put_digits(buf + 14, (unsigned) tm.tm_min, 2);
        put_digits(buf + 17, (unsigned) tm.tm_sec, 2);
        put_digits(buf + 20, (unsigned) (realtime % USEC_PER_SEC), 6);
        return buf;
}

int parse_rfc3339(const char *s, usec_t *ret) {
        struct tm tm = {};
        unsigned usec = 0, digits = 0;
        const char *p;
        int n = 0;
        time_t t;

        if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                   &tm.tm_sec, &n) != 6 || n != 19)
                return -EINVAL;
        p = s + n;
        if (*p == '.')
                for (p++; *p >= '0' && *p <= '9'; p++)
                        if (digits < 6) {
                                usec = usec * 10 + (unsigned) (*p - '0');
                                digits++;
                        }
        for (; digits < 6; digits++)
                usec *= 10;
        if (*p != 'Z')
                return -EINVAL;
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        t = timegm(&tm);
        if (t < 0)
                return -EINVAL;
        *ret = (usec_t) t * USEC_PER_SEC + usec;
        return 0;
}
