/* Fuzz the unit-syntax reader and every key's value parser: any input must give a JobConfig
 * (accepted or rejected) without crashing or leaking. */
#include <stddef.h>
#include <stdint.h>

#include "conf-load.h"

static void discard(void *userdata, DiagLevel level, const DiagLoc *loc, const char *msg) {
        (void) userdata;
        (void) level;
        (void) loc;
        (void) msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const Diag diag = { .func = discard };
        JobConfig *c = NULL;

        if (conf_unit_parse_string((const char *) data, size, "fuzz@inst.service", "fuzz@inst", &diag, &c) >= 0)
                job_config_free(c);
        return 0;
}
