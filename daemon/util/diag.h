/* Diagnostics sink for parsers: warnings and errors with FILE:LINE(:COLUMN), handed to the caller
 * (pmd logs them, tests collect and assert on them). Parsers never log themselves. */
#pragma once

#include "macro.h"

typedef enum DiagLevel {
        DIAG_WARNING,
        DIAG_ERROR,
} DiagLevel;

typedef struct DiagLoc {
        const char *file;
        unsigned line;   /* from 1; 0 = unknown */
        unsigned column; /* from 1; 0 = not given (INI files give lines only) */
} DiagLoc;

typedef void (*DiagFunc)(void *userdata, DiagLevel level, const DiagLoc *loc, const char *msg);

typedef struct Diag {
        DiagFunc func;
        void *userdata;
} Diag;

/* Formats the message and hands it to the sink; a NULL diag drops it. */
void diag_emit(const Diag *d, DiagLevel level, const DiagLoc *loc, const char *fmt, ...) _printf_(4, 5);

/* "FILE:LINE:COL: msg" / "FILE:LINE: msg" / "FILE: msg", newly allocated (NULL on OOM). */
char *diag_format(const DiagLoc *loc, const char *msg);
