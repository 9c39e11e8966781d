/* A Diag sink for tests: keeps every message formatted as "FILE:LINE:COL: msg" to assert on.
 * TEST_VERBOSE=1 in the environment also prints them. */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

#define RECORD_MAX 256

typedef struct Recorder {
        char *msgs[RECORD_MAX];
        DiagLevel levels[RECORD_MAX];
        size_t n, n_errors, n_warnings;
} Recorder;

static inline void recorder_func(void *userdata, DiagLevel level, const DiagLoc *loc, const char *msg) {
        Recorder *r = userdata;

        if (level == DIAG_ERROR)
                r->n_errors++;
        else
                r->n_warnings++;
        if (getenv("TEST_VERBOSE"))
                fprintf(stderr, "    diag: %s: %s:%u:%u: %s\n", level == DIAG_ERROR ? "error" : "warning",
                        loc && loc->file ? loc->file : "-", loc ? loc->line : 0, loc ? loc->column : 0, msg);
        if (r->n < RECORD_MAX) {
                r->msgs[r->n] = diag_format(loc, msg);
                r->levels[r->n++] = level;
        }
}

static inline void recorder_reset(Recorder *r) {
        for (size_t i = 0; i < r->n; i++)
                free(r->msgs[i]);
        *r = (Recorder) {};
}

/* A message of that level that starts with prefix and contains needle (either may be NULL). */
static inline bool recorded(const Recorder *r, DiagLevel level, const char *prefix, const char *needle) {
        for (size_t i = 0; i < r->n; i++)
                if (r->levels[i] == level && r->msgs[i] &&
                    (!prefix || strncmp(r->msgs[i], prefix, strlen(prefix)) == 0) &&
                    (!needle || strstr(r->msgs[i], needle)))
                        return true;
        return false;
}
