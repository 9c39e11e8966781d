/* Loading every job of the job directories (SPEC 3.1), and the meaning of a YAML/JSON job file.
 *
 * conf_load_dirs() reads each directory in order, picks the recognised files (NAME.job,
 * NAME.service, *.yaml, *.yml, *.json), hands them to the format's reader and merges the results:
 * a later directory overrides an earlier one for the same job name, even with a rejected job (what
 * the admin wrote last is what they meant; the error shows it). Within one directory a name can be
 * defined only once: INI files are read first, then YAML/JSON files, each group in file name
 * order, and a later definition of a name already seen is warned about and ignored — so web.job
 * beats a "web" in jobs.yaml, and a.yaml beats b.yaml.
 *
 * conf_tree_load_jobs() is the shared half of the YAML and JSON readers: they only parse syntax
 * into a ConfNode tree (conf-tree.h); this walks it and feeds job_config_assign(). */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "conf-load.h"
#include "conf-tree.h"
#include "hashmap.h"
#include "strv.h"

/* ---- tree nodes ---- */

ConfNode *conf_node_new(ConfNodeType type, const char *value, size_t size, unsigned line, unsigned column) {
        ConfNode *n = calloc(1, sizeof(ConfNode));
        if (!n)
                return NULL;
        n->type = type;
        n->line = line;
        n->column = column;
        if (type == CONF_NODE_SCALAR) {
                n->value = strndup(value ?: "", value ? size : 0);
                if (!n->value) {
                        free(n);
                        return NULL;
                }
        }
        return n;
}

ConfNode *conf_node_free(ConfNode *n) {
        if (!n)
                return NULL;
        /* Recursion is bounded: the readers refuse trees deeper than CONF_DEPTH_MAX. */
        for (size_t i = 0; i < n->n_items; i++)
                conf_node_free(n->items[i]);
        free(n->items);
        free(n->value);
        free(n);
        return NULL;
}

int conf_node_append(ConfNode *parent, ConfNode *child) {
        ConfNode **items;

        assert(parent);
        assert(parent->type != CONF_NODE_SCALAR);
        if (!child)
                return -ENOMEM;
        /* Grow by doubling at powers of two, so that appending stays amortised O(1). */
        if ((parent->n_items & (parent->n_items - 1)) == 0) {
                items = realloc(parent->items, MAX(parent->n_items * 2, (size_t) 4) * sizeof(ConfNode *));
                if (!items) {
                        conf_node_free(child);
                        return -ENOMEM;
                }
                parent->items = items;
        }
        parent->items[parent->n_items++] = child;
        return 0;
}

int conf_read_file(const char *path, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t size = 0, allocated;

        assert(path);
        assert(ret);

        /* O_NONBLOCK: a FIFO must not hang the loader; it is refused right after. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((uint64_t) st.st_size > CONF_FILE_SIZE_MAX)
                return -EFBIG;

        /* The size may change under us: read to EOF, but never past the limit. */
        allocated = (size_t) st.st_size + 1;
        buf = malloc(allocated);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k;

                if (size + 1 >= allocated) {
                        char *b;

                        if (allocated > CONF_FILE_SIZE_MAX)
                                return -EFBIG;
                        allocated = MIN(allocated * 2, (size_t) CONF_FILE_SIZE_MAX + 2);
                        b = realloc(buf, allocated);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                }
                k = read(fd, buf + size, allocated - size - 1);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                size += (size_t) k;
        }
        if (size > CONF_FILE_SIZE_MAX)
                return -EFBIG;
        buf[size] = '\0';

        *ret = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = size;
        return 0;
}

int conf_parse_file(const char *path, const Diag *diag, JobConfig ***configs, size_t *n,
                    ConfParseString parse_string) {
        _cleanup_free_ char *data = NULL;
        DiagLoc loc = { .file = path };
        size_t size;
        int r;

        r = conf_read_file(path, &data, &size);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                diag_emit(diag, DIAG_ERROR, &loc, "%s",
                          r == -EBADFD ? "Not a regular file" : r == -EFBIG ? "File too large" : strerror(-r));
                return r;
        }
        return parse_string(data, size, path, diag, configs, n);
}

/* ---- the "jobs:" layout ---- */

typedef struct Capture {
        const Diag *next;
        char *first_error; /* the first error message since the last reset */
} Capture;

/* Passes every diagnostic on and keeps the first error text, which becomes the job's ->error. */
static void capture_func(void *userdata, DiagLevel level, const DiagLoc *loc, const char *msg) {
        Capture *c = userdata;

        if (level == DIAG_ERROR && !c->first_error)
                c->first_error = strdup(msg); /* on OOM, a generic reason is used */
        if (c->next && c->next->func)
                c->next->func(c->next->userdata, level, loc, msg);
}

static DiagLoc node_loc(const char *path, const ConfNode *n) {
        return (DiagLoc) { .file = path, .line = n->line, .column = n->column };
}

/* An error in the shape of a job: reported, and the job is rejected (the first reason wins). */
static int reject_job(JobConfig *c, const DiagLoc *loc, const Diag *diag, const char *msg) {
        diag_emit(diag, DIAG_ERROR, loc, "%s", msg);
        if (c->error)
                return 0;
        return job_config_set_error(c, loc, msg) == -ENOMEM ? -ENOMEM : 0;
}

/* After job_config_assign()/finish() failed: record what they reported. */
static int reject_job_captured(JobConfig *c, const DiagLoc *loc, Capture *cap) {
        int r = 0;

        if (!c->error)
                r = job_config_set_error(c, loc, cap->first_error ?: "Invalid setting");
        return r == -ENOMEM ? -ENOMEM : 0;
}

static void capture_reset(Capture *cap) {
        free(cap->first_error);
        cap->first_error = NULL;
}

static bool is_section_name(const char *s) {
        static const char *const sections[] = { "Unit", "Job", "Service", "Log", "Runner", "Install" };

        for (size_t i = 0; i < ELEMENTSOF(sections); i++)
                if (streq(s, sections[i]))
                        return true;
        return false;
}

/* A flat key (not under a section name) belongs to [Unit] or [Install] if it is one of theirs,
 * else to [Service]; [Log] and [Runner] keys must be nested. */
static const char *flat_key_section(const char *key) {
        static const char *const unit_keys[] = { "Description", "Documentation", "After", "Before",
                                                 "Requires", "Wants" };
        static const char *const install_keys[] = { "WantedBy", "RequiredBy", "Alias", "Also",
                                                    "DefaultInstance" };

        for (size_t i = 0; i < ELEMENTSOF(unit_keys); i++)
                if (streq(key, unit_keys[i]))
                        return "Unit";
        for (size_t i = 0; i < ELEMENTSOF(install_keys); i++)
                if (streq(key, install_keys[i]))
                        return "Install";
        return "Service";
}

static int assign_one(JobConfig *c, const char *section, const char *key, const char *value,
                      const DiagLoc *loc, const Diag *d, Capture *cap) {
        int r;

        capture_reset(cap);
        r = job_config_assign(c, section, key, value, loc, d);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return reject_job_captured(c, loc, cap);
        return 0;
}

/* KEY: VALUE where VALUE is a scalar or a list of scalars. */
static int assign_node(JobConfig *c, const char *path, const char *section, const ConfNode *key,
                       const ConfNode *value, const Diag *d, Capture *cap) {
        DiagLoc loc = node_loc(path, value);
        _cleanup_free_ char *joined = NULL;
        size_t len = 0;
        char msg[256];
        int r;

        switch (value->type) {

        case CONF_NODE_SCALAR:
                return assign_one(c, section, key->value, value->value, &loc, d, cap);

        case CONF_NODE_MAPPING:
                (void) snprintf(msg, sizeof(msg), "Expected a value or a list for key '%.64s', got a mapping",
                                key->value);
                return reject_job(c, &loc, d, msg);

        case CONF_NODE_SEQUENCE:
                for (size_t i = 0; i < value->n_items; i++)
                        if (value->items[i]->type != CONF_NODE_SCALAR) {
                                DiagLoc l = node_loc(path, value->items[i]);

                                (void) snprintf(msg, sizeof(msg),
                                                "Expected a list of values for key '%.64s', got a nested %s",
                                                key->value,
                                                value->items[i]->type == CONF_NODE_MAPPING ? "mapping" : "list");
                                return reject_job(c, &l, d, msg);
                        }

                /* An empty list is an empty value: it resets a list key. */
                if (value->n_items == 0)
                        return assign_one(c, section, key->value, "", &loc, d, cap);

                if (job_config_key_is_list(section, key->value)) {
                        for (size_t i = 0; i < value->n_items; i++) {
                                DiagLoc l = node_loc(path, value->items[i]);

                                r = assign_one(c, section, key->value, value->items[i]->value, &l, d, cap);
                                if (r < 0)
                                        return r;
                        }
                        return 0;
                }

                /* Any other key: a list is the same as a space-separated value (SPEC 3.3). */
                for (size_t i = 0; i < value->n_items; i++)
                        len += strlen(value->items[i]->value) + 1;
                joined = malloc(len);
                if (!joined)
                        return -ENOMEM;
                len = 0;
                for (size_t i = 0; i < value->n_items; i++) {
                        size_t l = strlen(value->items[i]->value);

                        if (i > 0)
                                joined[len++] = ' ';
                        memcpy(joined + len, value->items[i]->value, l);
                        len += l;
                }
                joined[len] = '\0';
                return assign_one(c, section, key->value, joined, &loc, d, cap);
        }
        assert_not_reached();
}

static int load_job(const ConfNode *name, const ConfNode *body, const char *path, const Diag *diag,
                    JobConfig **ret) {
        _cleanup_(job_config_freep) JobConfig *c = NULL;
        Capture cap = { .next = diag };
        Diag d = { .func = capture_func, .userdata = &cap };
        DiagLoc loc = node_loc(path, name);
        int r;

        r = job_config_new(name->value, path, name->line, &c);
        if (r < 0)
                return r;

        if (body->type == CONF_NODE_SCALAR && isempty(body->value))
                ; /* "web:" with nothing: no keys; job_config_finish() says what is missing */
        else if (body->type != CONF_NODE_MAPPING) {
                DiagLoc l = node_loc(path, body);

                r = reject_job(c, &l, &d, "A job must be a mapping of keys");
        } else
                for (size_t i = 0; i + 1 < body->n_items && r >= 0; i += 2) {
                        const ConfNode *k = body->items[i], *v = body->items[i + 1];
                        DiagLoc kl = node_loc(path, k);

                        if (k->type != CONF_NODE_SCALAR) {
                                r = reject_job(c, &kl, &d, "Keys must be plain names");
                                continue;
                        }
                        if (!is_section_name(k->value) || v->type != CONF_NODE_MAPPING) {
                                r = assign_node(c, path, flat_key_section(k->value), k, v, &d, &cap);
                                continue;
                        }
                        /* Section: { Key: value, … } */
                        for (size_t j = 0; j + 1 < v->n_items && r >= 0; j += 2) {
                                const ConfNode *k2 = v->items[j], *v2 = v->items[j + 1];

                                if (k2->type != CONF_NODE_SCALAR) {
                                        DiagLoc l = node_loc(path, k2);

                                        r = reject_job(c, &l, &d, "Keys must be plain names");
                                } else
                                        r = assign_node(c, path, k->value, k2, v2, &d, &cap);
                        }
                }
        if (r < 0)
                goto fail;

        /* A job already rejected is not checked as a whole: "no ExecStart" after a bad ExecStart
         * would only be noise. */
        capture_reset(&cap);
        if (!c->error) {
                r = job_config_finish(c, &loc, &d);
                if (r == -ENOMEM)
                        goto fail;
                if (r < 0) {
                        r = reject_job_captured(c, &loc, &cap);
                        if (r < 0)
                                goto fail;
                }
        }
        capture_reset(&cap);
        *ret = TAKE_PTR(c);
        return 0;

fail:
        capture_reset(&cap);
        return r;
}

static int configs_append(JobConfig ***configs, size_t *n, JobConfig **add, size_t n_add) {
        JobConfig **a;

        if (n_add == 0)
                return 0;
        a = realloc(*configs, (*n + n_add) * sizeof(JobConfig *));
        if (!a)
                return -ENOMEM;
        memcpy(a + *n, add, n_add * sizeof(JobConfig *));
        *configs = a;
        *n += n_add;
        return 0;
}

int conf_tree_load_jobs(const ConfNode *root, const char *path, const Diag *diag, JobConfig ***configs,
                        size_t *n) {
        _cleanup_(hashmap_freep) Hashmap *seen = NULL;
        JobConfig **local = NULL;
        size_t n_local = 0;
        int r = 0;

        assert(path);
        assert(configs);
        assert(n);

        /* An empty file (or one with only comments) defines no jobs. */
        if (!root || (root->type == CONF_NODE_SCALAR && isempty(root->value)))
                return 0;
        if (root->type != CONF_NODE_MAPPING) {
                DiagLoc loc = node_loc(path, root);

                diag_emit(diag, DIAG_ERROR, &loc, "Expected a mapping with a 'jobs' key at the top level");
                return -EINVAL;
        }

        seen = hashmap_new_string();
        if (!seen)
                return -ENOMEM;

        for (size_t i = 0; i + 1 < root->n_items; i += 2) {
                const ConfNode *k = root->items[i], *v = root->items[i + 1];
                DiagLoc kl = node_loc(path, k), vl = node_loc(path, v);

                if (k->type != CONF_NODE_SCALAR || !streq(k->value, "jobs")) {
                        diag_emit(diag, DIAG_WARNING, &kl, "Unknown top-level key '%.64s', ignoring",
                                  k->type == CONF_NODE_SCALAR ? k->value : "(not a name)");
                        continue;
                }
                if (v->type == CONF_NODE_SCALAR && isempty(v->value))
                        continue; /* "jobs:" with none */
                if (v->type != CONF_NODE_MAPPING) {
                        diag_emit(diag, DIAG_ERROR, &vl, "Expected a mapping of job names to jobs under 'jobs'");
                        r = -EINVAL;
                        goto finish;
                }

                for (size_t j = 0; j + 1 < v->n_items; j += 2) {
                        const ConfNode *name = v->items[j], *body = v->items[j + 1];
                        DiagLoc nl = node_loc(path, name);
                        const ConfNode *first;
                        JobConfig *c = NULL;

                        if (name->type != CONF_NODE_SCALAR || !job_name_is_valid(name->value)) {
                                diag_emit(diag, DIAG_ERROR, &nl, "Invalid job name '%.140s', ignoring",
                                          name->type == CONF_NODE_SCALAR ? name->value : "(not a name)");
                                continue;
                        }
                        first = hashmap_get(seen, name->value);
                        if (first) {
                                diag_emit(diag, DIAG_ERROR, &nl,
                                          "Job '%s' is already defined at line %u, ignoring this one",
                                          name->value, first->line);
                                continue;
                        }
                        r = hashmap_put(seen, name->value, (void *) name);
                        if (r < 0)
                                goto finish;

                        r = load_job(name, body, path, diag, &c);
                        if (r < 0)
                                goto finish;
                        r = configs_append(&local, &n_local, &c, 1);
                        if (r < 0) {
                                job_config_free(c);
                                goto finish;
                        }
                }
        }

        r = configs_append(configs, n, local, n_local);
        if (r >= 0) {
                free(local);
                return 0;
        }
finish:
        job_config_array_free(local, n_local);
        return r;
}

/* ---- directories ---- */

typedef enum FileKind {
        FILE_UNIT,
        FILE_YAML,
        FILE_JSON,
        _FILE_KIND_MAX,
        _FILE_KIND_INVALID = -EINVAL,
} FileKind;

static bool endswith(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && streq(s + a - b, suffix);
}

/* The kind of a directory entry by its name, and for INI files the job name it defines. Dotfiles,
 * editor and package-manager leftovers and everything else are not job files. */
static FileKind file_kind(const char *fn, size_t *ret_name_len) {
        static const struct {
                const char *suffix;
                FileKind kind;
        } table[] = {
                { ".job", FILE_UNIT },   { ".service", FILE_UNIT }, { ".yaml", FILE_YAML },
                { ".yml", FILE_YAML },   { ".json", FILE_JSON },
        };

        if (fn[0] == '.' || endswith(fn, "~") || endswith(fn, ".bak") || endswith(fn, ".swp"))
                return _FILE_KIND_INVALID;
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (endswith(fn, table[i].suffix)) {
                        *ret_name_len = strlen(fn) - strlen(table[i].suffix);
                        return table[i].kind;
                }
        return _FILE_KIND_INVALID;
}

static const char *file_error_string(int r) {
        switch (r) {
        case -EBADFD:
                return "Not a regular file";
        case -EFBIG:
                return "File too large";
        default:
                return strerror(-r);
        }
}

/* A job file that could not be read at all is still a job: rejected, so that pmctl shows why. */
static int rejected_job(const char *name, const char *path, int error, const Diag *diag, JobConfig **ret) {
        _cleanup_(job_config_freep) JobConfig *c = NULL;
        DiagLoc loc = { .file = path };
        const char *msg = file_error_string(error);
        int r;

        r = job_config_new(name, path, 1, &c);
        if (r < 0)
                return r;
        r = job_config_set_error(c, &loc, msg);
        if (r < 0)
                return r;
        diag_emit(diag, DIAG_ERROR, &loc, "%s", msg);
        *ret = TAKE_PTR(c);
        return 0;
}

static int cmp_strp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int cmp_config_name(const void *a, const void *b) {
        return strcmp((*(JobConfig *const *) a)->name, (*(JobConfig *const *) b)->name);
}

static void hashmap_free_configs(Hashmap *h) {
        size_t i = 0;
        void *v;

        while (hashmap_iterate(h, &i, &v, NULL))
                job_config_free(v);
}

/* A job of this directory: the first definition of a name wins (see the top of the file). Takes
 * ownership of c. */
static int dir_add(Hashmap *here, JobConfig *c, const Diag *diag) {
        JobConfig *first = hashmap_get(here, c->name);
        DiagLoc loc = { .file = c->source_path, .line = c->source_line };
        int r;

        if (first) {
                diag_emit(diag, DIAG_WARNING, &loc, "Job '%s' is already defined by %s, ignoring", c->name,
                          first->source_path);
                job_config_free(c);
                return 0;
        }
        r = hashmap_put(here, c->name, c);
        if (r < 0)
                job_config_free(c);
        return r;
}

static int load_dir_entry(int dfd, const char *dir, const char *fn, FileKind kind, size_t name_len,
                          Hashmap *here, const Diag *diag) {
        _cleanup_free_ char *path = NULL, *name = NULL;
        JobConfig **configs = NULL, *c = NULL;
        DiagLoc loc;
        struct stat st;
        size_t n = 0;
        int r, stat_error = 0;

        if (asprintf(&path, "%s/%s", dir, fn) < 0)
                return -ENOMEM;
        loc = (DiagLoc) { .file = path };

        /* Follows symlinks: a dangling one is an unreadable job file. */
        if (fstatat(dfd, fn, &st, 0) < 0)
                stat_error = -errno;
        else if (S_ISDIR(st.st_mode))
                stat_error = -EISDIR;
        else if (!S_ISREG(st.st_mode))
                stat_error = -EBADFD; /* FIFOs and devices: never opened */

        if (kind == FILE_UNIT) {
                name = strndup(fn, name_len);
                if (!name)
                        return -ENOMEM;
                if (!job_name_is_valid(name)) {
                        diag_emit(diag, DIAG_WARNING, &loc, "Invalid job name '%s', ignoring", name);
                        return 0;
                }
                if (stat_error < 0)
                        r = rejected_job(name, path, stat_error, diag, &c);
                else {
                        r = conf_unit_parse_file(path, name, diag, &c);
                        if (r < 0 && !c) {
                                if (r == -ENOMEM)
                                        return r;
                                r = rejected_job(name, path, r, diag, &c);
                        }
                }
                if (r == -ENOMEM) {
                        job_config_free(c);
                        return r;
                }
                return c ? dir_add(here, c, diag) : 0;
        }

        if (stat_error < 0) {
                diag_emit(diag, DIAG_ERROR, &loc, "%s", file_error_string(stat_error));
                return 0;
        }
        if (kind == FILE_YAML)
                r = conf_yaml_parse_file(path, diag, &configs, &n);
        else
                r = conf_json_parse_file(path, diag, &configs, &n);
        if (r == -ENOMEM) {
                job_config_array_free(configs, n);
                return r;
        }
        /* Other errors were reported by the reader; the file contributes nothing. */
        for (size_t i = 0; i < n; i++) {
                r = dir_add(here, TAKE_PTR(configs[i]), diag);
                if (r < 0) {
                        job_config_array_free(configs, n);
                        return r;
                }
        }
        free(configs);
        return 0;
}

static int load_dir(const char *dir, Hashmap *all, const Diag *diag) {
        _cleanup_(hashmap_freep) Hashmap *here = NULL;
        DiagLoc loc = { .file = dir };
        char **names = NULL;
        size_t n_names = 0, allocated = 0;
        struct dirent *de;
        DIR *d;
        int r = 0;

        d = opendir(dir);
        if (!d) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return 0;
                diag_emit(diag, DIAG_WARNING, &loc, "Failed to open job directory: %s, ignoring", strerror(errno));
                return 0;
        }

        for (;;) {
                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                diag_emit(diag, DIAG_WARNING, &loc, "Failed to read job directory: %s",
                                          strerror(errno));
                        break;
                }
                if (de->d_name[0] == '.')
                        continue;
                if (GREEDY_REALLOC(names, allocated, n_names + 1, 64) < 0) {
                        r = -ENOMEM;
                        goto finish;
                }
                names[n_names] = strdup(de->d_name);
                if (!names[n_names]) {
                        r = -ENOMEM;
                        goto finish;
                }
                n_names++;
        }
        if (n_names > 0)
                qsort(names, n_names, sizeof(char *), cmp_strp);

        here = hashmap_new_string();
        if (!here) {
                r = -ENOMEM;
                goto finish;
        }

        /* INI files first, so that they win over a YAML/JSON job of the same name. */
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < n_names; i++) {
                        size_t name_len = 0;
                        FileKind k = file_kind(names[i], &name_len);

                        if (k < 0 || (pass == 0) != (k == FILE_UNIT))
                                continue;
                        r = load_dir_entry(dirfd(d), dir, names[i], k, name_len, here, diag);
                        if (r < 0)
                                goto finish;
                }

        /* Merge: this directory overrides earlier ones. */
        {
                size_t it = 0;
                void *v;

                while (hashmap_iterate(here, &it, &v, NULL)) {
                        JobConfig *c = v, *old = hashmap_get(all, c->name);

                        if (old) {
                                /* Re-keyed with the new config's name: the old one's is freed. */
                                r = hashmap_replace(all, c->name, c);
                                assert(r >= 0);
                                job_config_free(old);
                        } else {
                                r = hashmap_put(all, c->name, c);
                                if (r < 0)
                                        goto finish; /* c still in "here", freed below */
                        }
                }
                /* Everything moved; empty "here" without freeing the configs. */
                hashmap_free(here);
                here = NULL;
        }
        r = 0;

finish:
        if (here) {
                /* On failure, free the configs of this directory that did not reach "all". */
                size_t it = 0;
                void *v;

                while (hashmap_iterate(here, &it, &v, NULL))
                        if (hashmap_get(all, ((JobConfig *) v)->name) != v)
                                job_config_free(v);
        }
        for (size_t i = 0; i < n_names; i++)
                free(names[i]);
        free(names);
        closedir(d);
        return r;
}

int conf_load_dirs(char *const *dirs, const Diag *diag, JobConfig ***ret, size_t *ret_n) {
        _cleanup_(hashmap_freep) Hashmap *all = NULL;
        JobConfig **configs = NULL;
        size_t n = 0, it = 0;
        void *v;
        int r;

        assert(ret);
        assert(ret_n);

        all = hashmap_new_string();
        if (!all)
                return -ENOMEM;

        STRV_FOREACH(dir, dirs) {
                r = load_dir(*dir, all, diag);
                if (r < 0) {
                        hashmap_free_configs(all);
                        return r;
                }
        }

        if (hashmap_size(all) > 0) {
                configs = malloc(hashmap_size(all) * sizeof(JobConfig *));
                if (!configs) {
                        hashmap_free_configs(all);
                        return -ENOMEM;
                }
        }
        while (hashmap_iterate(all, &it, &v, NULL))
                configs[n++] = v;
        if (n > 0)
                qsort(configs, n, sizeof(JobConfig *), cmp_config_name);

        *ret = configs;
        *ret_n = n;
        return 0;
}

void job_config_array_free(JobConfig **configs, size_t n) {
        for (size_t i = 0; i < n; i++)
                job_config_free(configs[i]);
        free(configs);
}
