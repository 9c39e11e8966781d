/* NULL-terminated string arrays, as the rest of pmd passes argv, env and name lists. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"

char **strv_free(char **l) {
        if (!l)
                return NULL;
        for (char **s = l; *s; s++)
                free(*s);
        free(l);
        return NULL;
}

size_t strv_length(char *const *l) {
        size_t n = 0;
        if (l)
                while (l[n])
                        n++;
        return n;
}

bool strv_contains(char *const *l, const char *s) {
        STRV_FOREACH(i, l)
                if (streq(*i, s))
                        return true;
        return false;
}

char **strv_copy(char *const *l) {
        size_t n = strv_length(l);
        char **c = calloc(n + 1, sizeof(char *));
        if (!c)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                c[i] = strdup(l[i]);
                if (!c[i])
                        return strv_free(c);
        }
        return c;
}

int strv_consume(char ***l, char *s) {
        size_t n = strv_length(*l);
        char **c;

        if (!s)
                return -ENOMEM;
        c = realloc(*l, (n + 2) * sizeof(char *));
        if (!c) {
                free(s);
                return -ENOMEM;
        }
        c[n] = s;
        c[n + 1] = NULL;
        *l = c;
        return 0;
}

int strv_extend(char ***l, const char *s) {
        return strv_consume(l, strdup(s));
}

char **strv_split(const char *s, const char *sep) {
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        if (!l)
                return NULL;
        while (s && *s) {
                size_t skip = strspn(s, sep), len;
                s += skip;
                if (!*s)
                        break;
                len = strcspn(s, sep);
                if (strv_consume(&l, strndup(s, len)) < 0)
                        return NULL;
                s += len;
        }
        return TAKE_PTR(l);
}

char *strv_join(char *const *l, const char *sep) {
        size_t len = 1, k = strlen(sep);
        char *r, *p;

        STRV_FOREACH(s, l)
                len += strlen(*s) + k;
        r = p = malloc(len);
        if (!r)
                return NULL;
        *p = 0;
        STRV_FOREACH(s, l) {
                if (s != l)
                        p = stpcpy(p, sep);
                p = stpcpy(p, *s);
        }
        return r;
}

bool strv_equal(char *const *a, char *const *b) {
        size_t n = strv_length(a);
        if (n != strv_length(b))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!streq(a[i], b[i]))
                        return false;
        return true;
}

static size_t env_key_len(const char *s) {
        const char *eq = strchr(s, '=');
        return eq ? (size_t) (eq - s) : strlen(s);
}

int strv_env_set(char ***l, const char *assignment) {
        size_t k = env_key_len(assignment);
        for (char **s = *l; s && *s; s++)
                if (env_key_len(*s) == k && strneq(*s, assignment, k)) {
                        char *c = strdup(assignment);
                        if (!c)
                                return -ENOMEM;
                        free(*s);
                        *s = c;
                        return 0;
                }
        return strv_extend(l, assignment);
}

const char *strv_env_get(char *const *l, const char *key) {
        size_t k = strlen(key);
        STRV_FOREACH(s, l)
                if (strneq(*s, key, k) && (*s)[k] == '=')
                        return *s + k + 1;
        return NULL;
}
