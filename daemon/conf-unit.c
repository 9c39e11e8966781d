/* Job files in systemd's unit syntax (NAME.job, NAME.service). The reader is our own rather than
 * inih because the syntax is not INI as inih reads it (SPEC §3.4): no inline comments, lines of
 * any length, backslash continuation that skips comment lines, CRLF, a BOM, a missing final
 * newline. It only finds sections and Key=Value assignments; job_config_assign() gives them
 * meaning. Warnings and the first error go to the Diag sink as PATH:LINE; a rejected job still
 * comes back, with ->error set, so that one broken file does not hide the others. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf-load.h"
#include "util/cmdline.h"

#define UNIT_FILE_SIZE_MAX (16U * 1024U * 1024U)
#define WHITESPACE " \t\n\r"

typedef struct UnitParser {
        JobConfig *c;
        const Diag *diag;
        const char *path;
        char *section;        /* current section; NULL before the first header */
        bool section_unknown; /* warned about once, its keys are skipped */
} UnitParser;

static bool utf8_is_valid(const char *s, size_t n) {
        const unsigned char *p = (const unsigned char *) s, *end = p + n;

        while (p < end) {
                uint32_t u;
                size_t k;

                if (*p < 0x80) {
                        p++;
                        continue;
                }
                if ((*p & 0xe0) == 0xc0) {
                        k = 1;
                        u = *p & 0x1f;
                } else if ((*p & 0xf0) == 0xe0) {
                        k = 2;
                        u = *p & 0x0f;
                } else if ((*p & 0xf8) == 0xf0) {
                        k = 3;
                        u = *p & 0x07;
                } else
                        return false;
                if ((size_t) (end - p) < k + 1)
                        return false;
                for (size_t i = 1; i <= k; i++) {
                        if ((p[i] & 0xc0) != 0x80)
                                return false;
                        u = u << 6 | (p[i] & 0x3f);
                }
                /* Overlong forms, surrogates and values beyond Unicode. */
                if ((k == 1 && u < 0x80) || (k == 2 && u < 0x800) || (k == 3 && u < 0x10000) ||
                    (u >= 0xd800 && u <= 0xdfff) || u > 0x10ffff)
                        return false;
                p += k + 1;
        }
        return true;
}

static char *strstrip(char *s) {
        char *e;

        s += strspn(s, WHITESPACE);
        e = s + strlen(s);
        while (e > s && strchr(WHITESPACE, e[-1]))
                e--;
        *e = '\0';
        return s;
}

static int parser_error(UnitParser *p, unsigned line, const char *msg) {
        DiagLoc loc = { .file = p->path, .line = line };
        int r;

        diag_emit(p->diag, DIAG_ERROR, &loc, "%s", msg);
        r = job_config_set_error(p->c, &loc, msg);
        return r < 0 ? r : -EINVAL;
}

/* One logical line (continuations joined). < 0 stops the parse. */
static int parse_line(UnitParser *p, char *l, unsigned line) {
        DiagLoc loc = { .file = p->path, .line = line };
        char *eq, *key, *value;

        l = strstrip(l);
        if (*l == '\0' || strchr("#;", *l))
                return 0;

        if (*l == '[') {
                size_t n = strlen(l);
                char *s;

                if (n < 3 || l[n - 1] != ']' || memchr(l + 1, '[', n - 2) || memchr(l + 1, ']', n - 2)) {
                        char msg[300];
                        snprintf(msg, sizeof(msg), "Invalid section header '%.200s'", l);
                        return parser_error(p, line, msg);
                }
                s = strndup(l + 1, n - 2);
                if (!s)
                        return -ENOMEM;
                free(p->section);
                p->section = s;
                p->section_unknown = !job_config_section_is_known(s);
                if (p->section_unknown)
                        diag_emit(p->diag, DIAG_WARNING, &loc, "Unknown section [%s], ignoring", s);
                return 0;
        }

        if (!p->section) {
                diag_emit(p->diag, DIAG_WARNING, &loc, "Assignment outside of a section, ignoring");
                return 0;
        }
        if (p->section_unknown)
                return 0;

        eq = strchr(l, '=');
        if (!eq) {
                diag_emit(p->diag, DIAG_WARNING, &loc, "Missing '=', ignoring");
                return 0;
        }
        *eq = '\0';
        key = strstrip(l);
        value = strstrip(eq + 1);
        if (*key == '\0') {
                diag_emit(p->diag, DIAG_WARNING, &loc, "Missing key name before '=', ignoring");
                return 0;
        }
        return job_config_assign(p->c, p->section, key, value, &loc, p->diag);
}

/* Does the text end in a backslash that is not itself escaped? */
static bool ends_in_backslash(const char *s, size_t n) {
        size_t k = 0;
        while (k < n && s[n - 1 - k] == '\\')
                k++;
        return k % 2 == 1;
}

static int parse_data(UnitParser *p, const char *data, size_t size) {
        _cleanup_free_ char *cont = NULL; /* the logical line being continued */
        size_t cont_len = 0, cont_cap = 0;
        unsigned line = 0, cont_line = 0;
        bool continuing = false;
        const char *s = data, *end = data + size;
        int r;

        /* A UTF-8 byte order mark is skipped, as systemd does. */
        if (size >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
                s += 3;

        while (s < end) {
                const char *nl = memchr(s, '\n', (size_t) (end - s));
                size_t n = nl ? (size_t) (nl - s) : (size_t) (end - s);
                const char *l = s;

                s = nl ? nl + 1 : end;
                line++;
                if (n > 0 && l[n - 1] == '\r')
                        n--;
                if (memchr(l, '\0', n))
                        return parser_error(p, line, "Line contains a NUL byte");
                if (!utf8_is_valid(l, n))
                        return parser_error(p, line, "Line is not valid UTF-8");

                /* systemd skips comment lines inside a continuation. */
                if (continuing) {
                        size_t ws = 0;
                        while (ws < n && strchr(" \t", l[ws]))
                                ws++;
                        if (ws < n && strchr("#;", l[ws]))
                                continue;
                } else
                        cont_line = line;

                if (cont_len + n + 1 > cont_cap) {
                        size_t cap = MAX(cont_cap * 2, cont_len + n + 1);
                        char *t = realloc(cont, cap);
                        if (!t)
                                return -ENOMEM;
                        cont = t;
                        cont_cap = cap;
                }
                memcpy(cont + cont_len, l, n);
                cont_len += n;
                cont[cont_len] = '\0';

                /* A trailing backslash joins the next line, with a space in its place. But a
                 * comment line is never continued. */
                if (ends_in_backslash(cont, cont_len)) {
                        const char *first = cont + strspn(cont, " \t");
                        if (continuing || !strchr("#;", *first)) {
                                cont[cont_len - 1] = ' ';
                                continuing = true;
                                continue;
                        }
                }
                continuing = false;
                r = parse_line(p, cont, cont_line);
                cont_len = 0;
                if (r < 0)
                        return r;
        }
        if (continuing)
                return parse_line(p, cont, cont_line);
        return 0;
}

int conf_unit_parse_string(const char *data, size_t size, const char *path, const char *name,
                           const Diag *diag, JobConfig **ret) {
        _cleanup_(job_config_freep) JobConfig *c = NULL;
        UnitParser p = { .diag = diag, .path = path ? path : "<string>" };
        int r;

        assert(data || size == 0);
        assert(name);
        assert(ret);

        r = job_config_new(name, path, 1, &c);
        if (r < 0)
                return r;
        p.c = c;

        if (!job_name_is_valid(name)) {
                char msg[300];
                snprintf(msg, sizeof(msg), "Invalid job name '%.200s'", name);
                r = parser_error(&p, 0, msg);
        } else if (size > UNIT_FILE_SIZE_MAX)
                r = parser_error(&p, 0, "File too large (more than 16 MiB)");
        else
                r = parse_data(&p, data ? data : "", size);
        free(p.section);
        if (r == -ENOMEM)
                return r;
        if (r >= 0) {
                DiagLoc loc = { .file = p.path };
                r = job_config_finish(c, &loc, diag);
                if (r == -ENOMEM)
                        return r;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

int conf_unit_parse_file(const char *path, const char *name, const Diag *diag, JobConfig **ret) {
        _cleanup_free_ char *data = NULL;
        size_t size = 0;
        int r;

        assert(path);
        assert(name);
        assert(ret);

        r = read_file_limited(path, UNIT_FILE_SIZE_MAX, &data, &size);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                _cleanup_(job_config_freep) JobConfig *c = NULL;
                DiagLoc loc = { .file = path };
                const char *msg = r == -EFBIG ? "File too large (more than 16 MiB)" : strerror(-r);
                int k;

                k = job_config_new(name, path, 1, &c);
                if (k < 0)
                        return k;
                diag_emit(diag, DIAG_ERROR, &loc, "%s", msg);
                k = job_config_set_error(c, &loc, msg);
                if (k < 0)
                        return k;
                *ret = TAKE_PTR(c);
                return 0;
        }
        return conf_unit_parse_string(data, size, path, name, diag, ret);
}
