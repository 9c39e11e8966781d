/* UTF-8 checks for text that goes where only valid UTF-8 may (D-Bus strings, JSON). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Whether s[0..len) is valid UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF). */
bool utf8_is_valid(const char *s, size_t len);
/* A copy of s with every byte that is not part of valid UTF-8 written as "\xNN"; NULL on OOM. */
char *utf8_escape_invalid(const char *s);
