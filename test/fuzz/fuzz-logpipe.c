/* Fuzz the job log framer and formatters: the input (a job's output) is fed in pieces whose sizes
 * come from the first byte; every line must come out whole (pieces of a split line joined give
 * the line back), and every json entry must parse, whatever bytes the job wrote. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logpipe.h"

typedef struct State {
        LogBuffer joined; /* the lines as given back, with their newlines */
        LogBuffer json;
        bool last_partial;
} State;

static int emit(const char *line, size_t len, bool partial, void *userdata) {
        State *s = userdata;
        LogLineHead h = { .format = LOG_FORMAT_JSON, .timestamp = "2024-05-01T12:00:00.000000Z", .job = "fuzz",
                          .pid = 1, .stream = LOG_STREAM_STDOUT };
        json_t *o;

        if (len > LOG_LINE_MAX)
                abort();
        if (log_buffer_reserve(&s->joined, len + 1) < 0)
                return -ENOMEM;
        memcpy(s->joined.data + s->joined.len, line, len);
        s->joined.len += len;
        if (!partial)
                s->joined.data[s->joined.len++] = '\n';
        s->json.len = 0;
        if (log_format_entry(&s->json, &h, line, len, partial) < 0 || log_buffer_reserve(&s->json, 1) < 0)
                return -ENOMEM;
        s->json.data[s->json.len] = '\0';
        o = json_loads(s->json.data, JSON_ALLOW_NUL, NULL); /* \u0000 is valid JSON */
        if (!o)
                abort();
        json_decref(o);
        s->last_partial = partial;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        LogFramer f = {};
        State s = {};
        size_t piece, pos = 1;

        if (size < 1 || size > 4 * LOG_LINE_MAX)
                return 0;
        piece = (size_t) data[0] * 97 + 1;
        while (pos < size) {
                size_t n = MIN(piece, size - pos);
                if (log_framer_feed(&f, (const char *) data + pos, n, emit, &s) < 0)
                        goto done;
                pos += n;
        }
        if (log_framer_flush(&f, emit, &s) < 0)
                goto done;
        /* Everything came out, in order: the input, with a newline added after an unfinished last
         * line. */
        size_t in = size - 1;
        const char *input = (const char *) data + 1;
        size_t expect = in + (in > 0 && input[in - 1] != '\n');
        if (s.joined.len != expect || (in > 0 && memcmp(s.joined.data, input, in) != 0))
                abort();
done:
        log_framer_done(&f);
        log_buffer_done(&s.joined);
        log_buffer_done(&s.json);
        return 0;
}
