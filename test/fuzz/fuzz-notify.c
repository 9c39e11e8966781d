/* Fuzz the sd_notify datagram parser with what a job could send: any bytes, up to the datagram
 * size pmd reads whole (longer ones are dropped before parsing). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "notify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        NotifyMessage m;
        char *buf;

        if (size > NOTIFY_BUFFER_MAX)
                return 0;
        buf = malloc(size + 1);
        if (!buf)
                return 0;
        if (size > 0)
                memcpy(buf, data, size);
        if (notify_message_parse(buf, size, &m) >= 0) {
                /* What the parser hands on must be a string inside the buffer. */
                if (m.status && (m.status < buf || m.status + strlen(m.status) > buf + size))
                        abort();
                if (m.main_pid < 0 || m.watchdog_usec == USEC_INFINITY)
                        abort();
        }
        free(buf);
        return 0;
}
