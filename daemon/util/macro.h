/* Cleanup helpers and small macros shared by the daemon, pmctl, tests and fuzzers. */
#pragma once

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))
#define _likely_(x) __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Room for at least need elements of size bytes in *p, which has room for *allocated: the room
 * doubles (at least min), so that appending one at a time costs amortized O(1). 0, or -ENOMEM
 * with *p and *allocated unchanged. */
static inline int greedy_realloc(void **p, size_t *allocated, size_t need, size_t size, size_t min) {
        size_t n;
        void *q;

        if (need <= *allocated)
                return 0;
        n = MAX(MAX(*allocated * 2, min), need);
        if (n > SIZE_MAX / size)
                return -ENOMEM;
        q = realloc(*p, n * size);
        if (!q)
                return -ENOMEM;
        *p = q;
        *allocated = n;
        return 0;
}
#define GREEDY_REALLOC(p, allocated, need, min) \
        greedy_realloc((void **) &(p), &(allocated), (need), sizeof(*(p)), (min))

#define assert_not_reached() \
        do {                 \
                assert(!"code should not be reached"); \
                abort();     \
        } while (0)

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -EBADF;
}
static inline void closep(int *fd) {
        safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

#include <dirent.h>
static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

/* Take ownership of a pointer or fd out of a _cleanup_ variable. */
#define TAKE_PTR(p)                         \
        ({                                  \
                __typeof__(p) _tp = (p);    \
                (p) = NULL;                 \
                _tp;                        \
        })
#define TAKE_FD(fd)                 \
        ({                          \
                int _tf = (fd);     \
                (fd) = -EBADF;      \
                _tf;                \
        })

/* Define a cleanup function for a destructor that takes NULL and returns NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)  \
        static inline void func##p(type *p) {    \
                if (*p)                          \
                        *p = func(*p);           \
        }

/* string <-> enum tables: x_to_string() returns NULL for out-of-range, x_from_string() -EINVAL. */
#define DEFINE_STRING_TABLE_LOOKUP(name, type)                                   \
        const char *name##_to_string(type i) {                                   \
                if ((int) i < 0 || (size_t) i >= ELEMENTSOF(name##_table))       \
                        return NULL;                                             \
                return name##_table[i];                                          \
        }                                                                        \
        type name##_from_string(const char *s) {                                 \
                if (!s)                                                          \
                        return (type) -EINVAL;                                   \
                for (size_t _i = 0; _i < ELEMENTSOF(name##_table); _i++)         \
                        if (name##_table[_i] && strcmp(name##_table[_i], s) == 0) \
                                return (type) _i;                                \
                return (type) -EINVAL;                                           \
        }

#define streq(a, b) (strcmp((a), (b)) == 0)
#define strneq(a, b, n) (strncmp((a), (b), (n)) == 0)
#define isempty(s) (!(s) || (s)[0] == '\0')
