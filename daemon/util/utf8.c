/* UTF-8 validation and escaping. Job files, status texts and commands are bytes; D-Bus and JSON
 * want UTF-8. Invalid bytes are shown as "\xNN" rather than dropped, so nothing is hidden. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

/* Length of the valid sequence at s (at most len bytes), or 0 if it is not valid. */
static size_t utf8_sequence(const unsigned char *s, size_t len) {
        uint32_t c;
        size_t n;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                n = 2, c = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                n = 3, c = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                n = 4, c = s[0] & 0x07;
        else
                return 0;
        if (len < n)
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                c = (c << 6) | (s[i] & 0x3f);
        }
        if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
                return 0;
        return n;
}

bool utf8_is_valid(const char *s, size_t len) {
        const unsigned char *p = (const unsigned char *) s;

        for (size_t i = 0; i < len;) {
                size_t n = utf8_sequence(p + i, len - i);
                if (n == 0)
                        return false;
                i += n;
        }
        return true;
}

char *utf8_escape_invalid(const char *s) {
        const unsigned char *p = (const unsigned char *) s;
        size_t len = strlen(s), o = 0;
        char *r = malloc(len * 4 + 1);

        if (!r)
                return NULL;
        for (size_t i = 0; i < len;) {
                size_t n = utf8_sequence(p + i, len - i);
                if (n == 0) {
                        (void) snprintf(r + o, 5, "\\x%02x", p[i]);
                        o += 4;
                        i++;
                        continue;
                }
                memcpy(r + o, p + i, n);
                o += n;
                i += n;
        }
        r[o] = '\0';
        return r;
}
