/* NULL-terminated string arrays. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

char **strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)

size_t strv_length(char *const *l);
bool strv_contains(char *const *l, const char *s);
char **strv_copy(char *const *l);
/* Append a copy of s; 0 or -ENOMEM. */
int strv_extend(char ***l, const char *s);
/* Append s itself (ownership moves to the list); 0 or -ENOMEM (s is freed then too). */
int strv_consume(char ***l, char *s);
/* Split on any of the characters in sep, dropping empty words. */
char **strv_split(const char *s, const char *sep);
/* Join with sep; NULL list gives "". */
char *strv_join(char *const *l, const char *sep);
bool strv_equal(char *const *a, char *const *b);
/* Environment lists "KEY=VALUE": set (replacing an earlier KEY), get value or NULL. */
int strv_env_set(char ***l, const char *assignment);
const char *strv_env_get(char *const *l, const char *key);

#define STRV_FOREACH(s, l) for (char *const *s = (l); s && *s; s++)
