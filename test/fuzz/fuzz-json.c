/* Fuzz target: a JSON job file from bytes, through the whole path (jansson, the position cursor,
 * the node tree, every assignment) with a diagnostics sink that formats each message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "conf-load.h"

static void sink(void *userdata, DiagLevel level, const DiagLoc *loc, const char *msg) {
        free(diag_format(loc, msg));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const Diag diag = { .func = sink };
        JobConfig **configs = NULL;
        size_t n = 0;

        /* Larger inputs only make runs slow; the size limit itself is unit-tested. */
        if (size > 256 * 1024)
                return 0;
        (void) conf_json_parse_string((const char *) data, size, "fuzz.json", &diag, &configs, &n);
        job_config_array_free(configs, n);
        return 0;
}
