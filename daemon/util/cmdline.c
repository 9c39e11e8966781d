/* systemd command-line syntax. Exec lines are split into words once, when the job file is read
 * (quotes, C escapes, the "-@+!:" prefixes); $VAR references stay in the words and are expanded
 * against the job's final environment just before exec, as systemd does. EnvironmentFile= files
 * are read at start time with systemd's shell-like rules. Nothing here logs: errors are returned
 * with a short static reason for the caller's diagnostics. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmdline.h"
#include "strv.h"

#define ENV_FILE_SIZE_MAX (4U * 1024U * 1024U)
#define ENV_FILE_ASSIGNMENTS_MAX 8192U

/* A growable string. */
typedef struct Buf {
        char *s;
        size_t n, cap;
} Buf;

static int buf_putn(Buf *b, const char *s, size_t n) {
        if (b->n + n + 1 > b->cap) {
                size_t cap = MAX(b->cap * 2, b->n + n + 16);
                char *t = realloc(b->s, cap);
                if (!t)
                        return -ENOMEM;
                b->s = t;
                b->cap = cap;
        }
        memcpy(b->s + b->n, s, n);
        b->n += n;
        b->s[b->n] = '\0';
        return 0;
}

static int buf_putc(Buf *b, char c) {
        return buf_putn(b, &c, 1);
}

/* Make sure the buffer is a string even when nothing was added (an empty word ""). */
static int buf_ensure(Buf *b) {
        return buf_putn(b, "", 0);
}

static void buf_done(Buf *b) {
        free(b->s);
        *b = (Buf) {};
}

static char *buf_steal(Buf *b) {
        char *s = b->s;
        *b = (Buf) {};
        return s;
}

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -EINVAL;
}

static int buf_put_utf8(Buf *b, uint32_t u) {
        char t[4];
        size_t n;

        if (u < 0x80) {
                t[0] = (char) u;
                n = 1;
        } else if (u < 0x800) {
                t[0] = (char) (0xc0 | (u >> 6));
                t[1] = (char) (0x80 | (u & 0x3f));
                n = 2;
        } else if (u < 0x10000) {
                t[0] = (char) (0xe0 | (u >> 12));
                t[1] = (char) (0x80 | ((u >> 6) & 0x3f));
                t[2] = (char) (0x80 | (u & 0x3f));
                n = 3;
        } else {
                t[0] = (char) (0xf0 | (u >> 18));
                t[1] = (char) (0x80 | ((u >> 12) & 0x3f));
                t[2] = (char) (0x80 | ((u >> 6) & 0x3f));
                t[3] = (char) (0x80 | (u & 0x3f));
                n = 4;
        }
        return buf_putn(b, t, n);
}

/* One C escape after a backslash at *p (pointing past the backslash). Unknown escapes keep the
 * backslash (systemd's relaxed mode), so regular expressions such as "\d" survive. */
static int unescape_one(const char **p, Buf *b, const char **reason) {
        const char *s = *p;
        char c = *s;
        int r;

        switch (c) {
        case 'a': r = buf_putc(b, '\a'); s++; break;
        case 'b': r = buf_putc(b, '\b'); s++; break;
        case 'f': r = buf_putc(b, '\f'); s++; break;
        case 'n': r = buf_putc(b, '\n'); s++; break;
        case 'r': r = buf_putc(b, '\r'); s++; break;
        case 't': r = buf_putc(b, '\t'); s++; break;
        case 'v': r = buf_putc(b, '\v'); s++; break;
        case 's': r = buf_putc(b, ' '); s++; break;
        case '\\': case '"': case '\'': case ';': case ' ': case '\t':
                r = buf_putc(b, c);
                s++;
                break;
        case 'x': {
                int a = unhex(s[1]), d = a >= 0 ? unhex(s[2]) : -EINVAL;
                if (a < 0 || d < 0) {
                        *reason = "Invalid \\x escape";
                        return -EINVAL;
                }
                if (a == 0 && d == 0) {
                        *reason = "NUL byte in escape";
                        return -EINVAL;
                }
                r = buf_putc(b, (char) (a << 4 | d));
                s += 3;
                break;
        }
        case 'u':
        case 'U': {
                size_t n = c == 'u' ? 4 : 8;
                uint32_t u = 0;
                for (size_t i = 1; i <= n; i++) {
                        int h = unhex(s[i]);
                        if (h < 0) {
                                *reason = "Invalid \\u escape";
                                return -EINVAL;
                        }
                        u = u << 4 | (uint32_t) h;
                }
                if (u == 0 || u > 0x10ffff || (u >= 0xd800 && u <= 0xdfff)) {
                        *reason = "Invalid code point in \\u escape";
                        return -EINVAL;
                }
                r = buf_put_utf8(b, u);
                s += n + 1;
                break;
        }
        case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
                int v = 0;
                for (size_t i = 0; i < 3; i++) {
                        if (s[i] < '0' || s[i] > '7') {
                                *reason = "Invalid octal escape";
                                return -EINVAL;
                        }
                        v = v * 8 + (s[i] - '0');
                }
                if (v == 0 || v > 0xff) {
                        *reason = v == 0 ? "NUL byte in escape" : "Invalid octal escape";
                        return -EINVAL;
                }
                r = buf_putc(b, (char) v);
                s += 3;
                break;
        }
        case '\0':
                *reason = "Trailing backslash";
                return -EINVAL;
        default:
                r = buf_putc(b, '\\');
                if (r >= 0)
                        r = buf_putc(b, c);
                s++;
        }
        if (r < 0)
                return r;
        *p = s;
        return 0;
}

static bool is_ws(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Next word from *p: 1 and the word, 0 at the end, < 0 on error. *ret_separator is set when the
 * word is an unquoted lone ";" (systemd's command separator). */
static int next_word(const char **p, char **ret_word, bool *ret_separator, const char **reason) {
        const char *s = *p;
        Buf b = {};
        char quote = 0;
        int r;

        while (is_ws(*s))
                s++;
        if (!*s) {
                *p = s;
                return 0;
        }
        if (ret_separator) {
                *ret_separator = s[0] == ';' && (s[1] == '\0' || is_ws(s[1]));
                if (*ret_separator) {
                        *p = s + 1;
                        *ret_word = NULL;
                        return 1;
                }
        }
        for (;;) {
                char c = *s;

                if (c == '\0') {
                        if (quote) {
                                buf_done(&b);
                                *reason = "Unbalanced quotes";
                                return -EINVAL;
                        }
                        break;
                }
                if (!quote && is_ws(c))
                        break;
                if (c == '\\') {
                        s++;
                        r = unescape_one(&s, &b, reason);
                        if (r < 0) {
                                buf_done(&b);
                                return r;
                        }
                        continue;
                }
                if (quote && c == quote) {
                        quote = 0;
                        s++;
                        continue;
                }
                if (!quote && (c == '"' || c == '\'')) {
                        quote = c;
                        s++;
                        continue;
                }
                r = buf_putc(&b, c);
                if (r < 0) {
                        buf_done(&b);
                        return r;
                }
                s++;
        }
        if (buf_ensure(&b) < 0) {
                buf_done(&b);
                return -ENOMEM;
        }
        *p = s;
        *ret_word = buf_steal(&b);
        return 1;
}

int cmdline_split_words(const char *s, char ***ret_words, const char **ret_reason) {
        _cleanup_strv_free_ char **words = calloc(1, sizeof(char *));
        const char *reason = NULL;
        int r;

        assert(s);
        if (!words)
                return -ENOMEM;
        for (;;) {
                char *w = NULL;
                r = next_word(&s, &w, NULL, &reason);
                if (r < 0) {
                        if (ret_reason)
                                *ret_reason = reason;
                        return r;
                }
                if (r == 0)
                        break;
                r = strv_consume(&words, w);
                if (r < 0)
                        return r;
        }
        *ret_words = TAKE_PTR(words);
        return 0;
}

void exec_command_done(ExecCommand *c) {
        if (!c)
                return;
        free(c->path);
        strv_free(c->argv);
        *c = (ExecCommand) {};
}

int exec_command_parse(const char *line, ExecCommand *ret, const char **ret_reason) {
        _cleanup_strv_free_ char **words = calloc(1, sizeof(char *));
        _cleanup_free_ char *path = NULL;
        ExecCommandFlags flags = 0;
        const char *p = line, *reason = NULL;
        int r;

        assert(line);
        assert(ret);
        if (!words)
                return -ENOMEM;

        while (is_ws(*p))
                p++;
        /* The prefixes, in any order, each at most once ("!!" counts as '!'). */
        for (;; p++) {
                ExecCommandFlags f;
                if (*p == '-')
                        f = EXEC_COMMAND_IGNORE_FAILURE;
                else if (*p == '@')
                        f = EXEC_COMMAND_ARGV0;
                else if (*p == '+')
                        f = EXEC_COMMAND_FULL_PRIVILEGES;
                else if (*p == '!')
                        f = EXEC_COMMAND_NO_SETUID;
                else if (*p == ':')
                        f = EXEC_COMMAND_NO_ENV_EXPAND;
                else
                        break;
                if (f == EXEC_COMMAND_NO_SETUID && p[1] == '!' && !(flags & f))
                        p++;
                else if (flags & f) {
                        reason = "Duplicate prefix in command line";
                        goto fail;
                }
                flags |= f;
        }
        if ((flags & EXEC_COMMAND_FULL_PRIVILEGES) && (flags & EXEC_COMMAND_NO_SETUID)) {
                reason = "Prefixes '+' and '!' exclude each other";
                goto fail;
        }

        for (;;) {
                char *w = NULL;
                bool sep = false;

                r = next_word(&p, &w, &sep, &reason);
                if (r < 0) {
                        if (r == -ENOMEM)
                                return r;
                        goto fail;
                }
                if (r == 0)
                        break;
                if (sep) {
                        while (is_ws(*p))
                                p++;
                        if (*p) {
                                reason = "Several commands separated by ';' are not supported";
                                goto fail;
                        }
                        break;
                }
                if (!path && (flags & EXEC_COMMAND_ARGV0)) {
                        /* '@': the first word is the path, the second argv[0]. */
                        path = w;
                        continue;
                }
                r = strv_consume(&words, w);
                if (r < 0)
                        return r;
        }

        if (!path && strv_length(words) == 0) {
                reason = "Empty command line";
                goto fail;
        }
        if (!path) {
                path = strdup(words[0]);
                if (!path)
                        return -ENOMEM;
        } else if (strv_length(words) == 0) {
                reason = "Prefix '@' needs a path and an argv[0]";
                goto fail;
        }
        if (isempty(path)) {
                reason = "Empty executable path";
                goto fail;
        }

        *ret = (ExecCommand) {
                .path = TAKE_PTR(path),
                .argv = TAKE_PTR(words),
                .flags = flags,
        };
        return 0;

fail:
        if (ret_reason)
                *ret_reason = reason ? reason : "Invalid command line";
        return -EINVAL;
}

static bool env_name_char(char c, bool first) {
        return c == '_' || isalpha((unsigned char) c) || (!first && isdigit((unsigned char) c));
}

/* The value of NAME (n bytes) in env, the last assignment winning; NULL if unset. */
static const char *env_lookup(char *const *env, const char *name, size_t n) {
        size_t len = strv_length(env);
        for (size_t i = len; i > 0; i--) {
                const char *e = env[i - 1];
                if (strneq(e, name, n) && e[n] == '=')
                        return e + n + 1;
        }
        return NULL;
}

/* Substitute ${VAR}, $VAR and $$ inside one word. */
static int expand_word(const char *w, char *const *env, char **ret) {
        Buf b = {};
        int r = 0;

        for (const char *p = w; *p && r >= 0;) {
                if (p[0] != '$') {
                        size_t n = strcspn(p, "$");
                        r = buf_putn(&b, p, n);
                        p += n;
                        continue;
                }
                if (p[1] == '$') {
                        r = buf_putc(&b, '$');
                        p += 2;
                } else if (p[1] == '{') {
                        const char *e = p + 2;
                        while (env_name_char(*e, e == p + 2))
                                e++;
                        if (*e == '}' && e > p + 2) {
                                const char *v = env_lookup(env, p + 2, (size_t) (e - p - 2));
                                if (v)
                                        r = buf_putn(&b, v, strlen(v));
                                p = e + 1;
                        } else {
                                r = buf_putc(&b, '$');
                                p++;
                        }
                } else if (env_name_char(p[1], true)) {
                        const char *e = p + 1;
                        while (env_name_char(*e, false))
                                e++;
                        const char *v = env_lookup(env, p + 1, (size_t) (e - p - 1));
                        if (v)
                                r = buf_putn(&b, v, strlen(v));
                        p = e;
                } else {
                        r = buf_putc(&b, '$');
                        p++;
                }
        }
        if (r >= 0)
                r = buf_ensure(&b);
        if (r < 0) {
                buf_done(&b);
                return r;
        }
        *ret = buf_steal(&b);
        return 0;
}

/* Is the word exactly "$NAME"? Then the value is split into words. */
static bool word_is_bare_variable(const char *w) {
        if (w[0] != '$' || !env_name_char(w[1], true))
                return false;
        for (const char *p = w + 2; *p; p++)
                if (!env_name_char(*p, false))
                        return false;
        return true;
}

int exec_command_expand(const ExecCommand *c, char *const *env, char ***ret_argv) {
        _cleanup_strv_free_ char **argv = calloc(1, sizeof(char *));
        int r;

        assert(c);
        assert(ret_argv);
        if (!argv)
                return -ENOMEM;

        STRV_FOREACH(w, c->argv) {
                if (c->flags & EXEC_COMMAND_NO_ENV_EXPAND) {
                        r = strv_extend(&argv, *w);
                } else if (word_is_bare_variable(*w)) {
                        const char *v = env_lookup(env, *w + 1, strlen(*w + 1));
                        _cleanup_strv_free_ char **split = strv_split(v ? v : "", " \t\n\r");
                        if (!split)
                                return -ENOMEM;
                        r = 0;
                        STRV_FOREACH(s, split) {
                                r = strv_extend(&argv, *s);
                                if (r < 0)
                                        break;
                        }
                } else {
                        char *e = NULL;
                        r = expand_word(*w, env, &e);
                        if (r >= 0)
                                r = strv_consume(&argv, e);
                }
                if (r < 0)
                        return r;
        }
        *ret_argv = TAKE_PTR(argv);
        return 0;
}

/* EnvironmentFile= */

int read_file_limited(const char *path, size_t max, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *data = NULL;
        size_t n = 0, cap = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        for (;;) {
                ssize_t k;
                if (GREEDY_REALLOC(data, cap, n + 4096 + 1, 8192) < 0)
                        return -ENOMEM;
                k = read(fd, data + n, cap - n - 1);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > max)
                        return -EFBIG;
        }
        if (!data) {
                data = malloc(1);
                if (!data)
                        return -ENOMEM;
        }
        data[n] = '\0';
        *ret = TAKE_PTR(data);
        if (ret_size)
                *ret_size = n;
        return 0;
}

int read_file_u64(const char *path, uint64_t *ret) {
        _cleanup_free_ char *s = NULL;
        unsigned long long v;
        char *end;
        int r;

        r = read_file_limited(path, 64, &s, NULL);
        if (r < 0)
                return r;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || end == s || (*end && *end != '\n'))
                return -EBADMSG;
        *ret = v;
        return 0;
}

static bool env_key_is_valid(const char *k) {
        if (!env_name_char(k[0], true))
                return false;
        for (const char *p = k + 1; *p; p++)
                if (!env_name_char(*p, false) && *p != '.' && *p != '-')
                        return false;
        return true;
}

typedef enum EnvState {
        ENV_PRE_KEY,
        ENV_KEY,
        ENV_PRE_VALUE,
        ENV_VALUE,
        ENV_VALUE_ESCAPE,
        ENV_SQUOTE,
        ENV_DQUOTE,
        ENV_DQUOTE_ESCAPE,
        ENV_COMMENT,
        ENV_COMMENT_ESCAPE,
} EnvState;

/* Add one KEY=VALUE; invalid keys and values with NUL bytes are skipped as systemd does. */
static int env_push(char ***l, Buf *key, Buf *value, size_t value_len, bool bad, size_t *count) {
        _cleanup_free_ char *a = NULL;
        char *k, *end;
        int r;

        if (buf_ensure(key) < 0 || buf_ensure(value) < 0)
                return -ENOMEM;
        k = key->s;
        while (is_ws(*k))
                k++;
        end = k + strlen(k);
        while (end > k && is_ws(end[-1]))
                *--end = '\0';
        if (strneq(k, "export", 6) && is_ws(k[6])) {
                k += 6;
                while (is_ws(*k))
                        k++;
        }
        value->s[value_len] = '\0';
        if (bad || !env_key_is_valid(k))
                goto skip;
        if (++*count > ENV_FILE_ASSIGNMENTS_MAX)
                return -E2BIG;
        if (asprintf(&a, "%s=%s", k, value->s) < 0)
                return -ENOMEM;
        r = strv_env_set(l, a);
        if (r < 0)
                return r;
skip:
        key->n = value->n = 0;
        return 0;
}

int env_file_read(const char *path, char ***env) {
        _cleanup_free_ char *data = NULL;
        _cleanup_strv_free_ char **l = NULL;
        Buf key = {}, value = {};
        EnvState state = ENV_PRE_KEY;
        size_t size = 0, count = 0, trim = SIZE_MAX;
        bool bad = false;
        int r;

        assert(path);
        assert(env);
        r = read_file_limited(path, ENV_FILE_SIZE_MAX, &data, &size);
        if (r < 0)
                return r;
        l = strv_copy(*env);
        if (!l)
                return -ENOMEM;

/* Where the value ends: before unescaped trailing whitespace of an unquoted value. */
#define VALUE_END() (trim != SIZE_MAX ? trim : value.n)
        for (size_t i = 0; i <= size && r >= 0; i++) {
                char c = i < size ? data[i] : '\n'; /* a final newline ends the last line */
                bool nl = c == '\n' || c == '\r';

                if (i < size && c == '\0') {
                        bad = true; /* a NUL byte spoils the assignment it is in */
                        continue;
                }
                switch (state) {
                case ENV_PRE_KEY:
                        if (c == '#' || c == ';')
                                state = ENV_COMMENT;
                        else if (!is_ws(c)) {
                                state = ENV_KEY;
                                r = buf_putc(&key, c);
                        }
                        break;
                case ENV_KEY:
                        if (nl) {
                                key.n = 0; /* no '=': not an assignment */
                                bad = false;
                                state = ENV_PRE_KEY;
                        } else if (c == '=') {
                                state = ENV_PRE_VALUE;
                                trim = SIZE_MAX;
                        } else
                                r = buf_putc(&key, c);
                        break;
                case ENV_PRE_VALUE:
                        if (nl) {
                                r = env_push(&l, &key, &value, value.n, bad, &count);
                                bad = false;
                                state = ENV_PRE_KEY;
                        } else if (c == '\'')
                                state = ENV_SQUOTE;
                        else if (c == '"')
                                state = ENV_DQUOTE;
                        else if (c == '\\')
                                state = ENV_VALUE_ESCAPE;
                        else if (!is_ws(c)) {
                                state = ENV_VALUE;
                                trim = SIZE_MAX;
                                r = buf_putc(&value, c);
                        }
                        break;
                case ENV_VALUE:
                        if (nl) {
                                r = env_push(&l, &key, &value, VALUE_END(), bad, &count);
                                bad = false;
                                state = ENV_PRE_KEY;
                        } else if (c == '\\') {
                                state = ENV_VALUE_ESCAPE;
                                trim = SIZE_MAX;
                        } else {
                                if (!is_ws(c))
                                        trim = SIZE_MAX;
                                else if (trim == SIZE_MAX)
                                        trim = value.n;
                                r = buf_putc(&value, c);
                        }
                        break;
                case ENV_VALUE_ESCAPE:
                        state = ENV_VALUE;
                        trim = SIZE_MAX;
                        if (!nl)
                                r = buf_putc(&value, c);
                        else if (c == '\r' && i + 1 < size && data[i + 1] == '\n')
                                i++; /* CRLF after a backslash */
                        break;
                case ENV_SQUOTE:
                        if (c == '\'')
                                state = ENV_PRE_VALUE;
                        else if (i < size)
                                r = buf_putc(&value, c);
                        break;
                case ENV_DQUOTE:
                        if (c == '"')
                                state = ENV_PRE_VALUE;
                        else if (c == '\\')
                                state = ENV_DQUOTE_ESCAPE;
                        else if (i < size)
                                r = buf_putc(&value, c);
                        break;
                case ENV_DQUOTE_ESCAPE:
                        state = ENV_DQUOTE;
                        if (strchr("\"\\`$", c))
                                r = buf_putc(&value, c);
                        else if (nl) {
                                if (c == '\r' && i + 1 < size && data[i + 1] == '\n')
                                        i++;
                        } else {
                                r = buf_putc(&value, '\\');
                                if (r >= 0)
                                        r = buf_putc(&value, c);
                        }
                        break;
                case ENV_COMMENT:
                        if (c == '\\')
                                state = ENV_COMMENT_ESCAPE;
                        else if (nl) {
                                state = ENV_PRE_KEY;
                                bad = false;
                        }
                        break;
                case ENV_COMMENT_ESCAPE:
                        state = ENV_COMMENT;
                        break;
                default:
                        assert_not_reached();
                }
        }
#undef VALUE_END
        /* An unterminated quote at the end of the file still gives its value, as in systemd. */
        if (r >= 0 && (state == ENV_SQUOTE || state == ENV_DQUOTE || state == ENV_DQUOTE_ESCAPE))
                r = env_push(&l, &key, &value, value.n, bad, &count);
        buf_done(&key);
        buf_done(&value);
        if (r < 0)
                return r;

        strv_free(*env);
        *env = TAKE_PTR(l);
        return 0;
}
