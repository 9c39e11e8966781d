/* Diagnostics sink: formatting only; what happens to a message is the caller's business. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "diag.h"

void diag_emit(const Diag *d, DiagLevel level, const DiagLoc *loc, const char *fmt, ...) {
        char buf[1024];
        va_list ap;

        if (!d || !d->func)
                return;
        va_start(ap, fmt);
        (void) vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        d->func(d->userdata, level, loc, buf);
}

char *diag_format(const DiagLoc *loc, const char *msg) {
        char *r = NULL;
        int n;

        if (!loc || !loc->file)
                n = asprintf(&r, "%s", msg);
        else if (loc->line > 0 && loc->column > 0)
                n = asprintf(&r, "%s:%u:%u: %s", loc->file, loc->line, loc->column, msg);
        else if (loc->line > 0)
                n = asprintf(&r, "%s:%u: %s", loc->file, loc->line, msg);
        else
                n = asprintf(&r, "%s: %s", loc->file, msg);
        return n < 0 ? NULL : r;
}
