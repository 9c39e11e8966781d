/* YAML job files (SPEC 3.3), read with libyaml's event API into a ConfNode tree (conf-tree.h);
 * what the tree means is decided in conf-load.c, the same for YAML and JSON.
 *
 * The whole file is parsed before any job is looked at, so that a syntax error anywhere makes the
 * file contribute nothing (and no warnings about the jobs before it). Against hostile files:
 * a size limit, a nesting limit, a limit on the number of values, and no aliases at all (job
 * files have no use for them, and expanding them is how "billion laughs" bombs work). Plain
 * scalars true/false become "yes"/"no" and null/~/empty becomes "", so that YAML's booleans
 * mean what systemd's do; numbers keep the text they were written with. */
#include <string.h>
#include <yaml.h>

#include "conf-load.h"
#include "conf-tree.h"

typedef struct YamlBuilder {
        const char *path;
        const Diag *diag;
        ConfNode *root;
        ConfNode *stack[CONF_DEPTH_MAX];
        size_t depth;
        size_t n_nodes;
        unsigned n_documents;
} YamlBuilder;

static void yaml_parser_deletep(yaml_parser_t *p) {
        yaml_parser_delete(p);
}

static void yaml_event_deletep(yaml_event_t *e) {
        yaml_event_delete(e);
}

static DiagLoc mark_loc(const char *path, yaml_mark_t m) {
        return (DiagLoc) { .file = path, .line = (unsigned) m.line + 1, .column = (unsigned) m.column + 1 };
}

/* Reader errors (bad encoding, control characters) come with a byte offset only. */
static DiagLoc offset_loc(const char *path, const char *data, size_t size, size_t offset) {
        DiagLoc loc = { .file = path, .line = 1, .column = 1 };

        for (size_t i = 0; i < offset && i < size; i++)
                if (data[i] == '\n') {
                        loc.line++;
                        loc.column = 1;
                } else
                        loc.column++;
        return loc;
}

static int syntax_error(const yaml_parser_t *p, const char *data, size_t size, const char *path,
                        const Diag *diag) {
        DiagLoc loc;

        switch (p->error) {
        case YAML_MEMORY_ERROR:
                return -ENOMEM;
        case YAML_READER_ERROR:
                loc = offset_loc(path, data, size, p->problem_offset);
                diag_emit(diag, DIAG_ERROR, &loc, "YAML syntax error: %s", p->problem ?: "invalid input");
                return -EINVAL;
        default:
                loc = mark_loc(path, p->problem_mark);
                if (p->context)
                        diag_emit(diag, DIAG_ERROR, &loc, "YAML syntax error: %s (%s, line %zu column %zu)",
                                  p->problem ?: "invalid input", p->context, p->context_mark.line + 1,
                                  p->context_mark.column + 1);
                else
                        diag_emit(diag, DIAG_ERROR, &loc, "YAML syntax error: %s", p->problem ?: "invalid input");
                return -EINVAL;
        }
}

static bool str_in(const char *s, const char *const *list) {
        for (; *list; list++)
                if (streq(s, *list))
                        return true;
        return false;
}

/* The text a scalar stands for: YAML's plain booleans and nulls in systemd's words. Keys and
 * quoted or tagged scalars are taken as written. */
static const char *scalar_text(const yaml_event_t *e, bool is_key) {
        static const char *const trues[] = { "true", "True", "TRUE", NULL };
        static const char *const falses[] = { "false", "False", "FALSE", NULL };
        static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
        const char *v = (const char *) e->data.scalar.value;

        if (is_key || e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || e->data.scalar.tag)
                return v;
        if (str_in(v, trues))
                return "yes";
        if (str_in(v, falses))
                return "no";
        if (str_in(v, nulls))
                return "";
        return v;
}

static int builder_add(YamlBuilder *b, ConfNode *n, const yaml_event_t *e) {
        DiagLoc loc = mark_loc(b->path, e->start_mark);
        int r;

        if (!n)
                return -ENOMEM;
        if (++b->n_nodes > CONF_NODES_MAX) {
                conf_node_free(n);
                diag_emit(b->diag, DIAG_ERROR, &loc, "Too many values in one file (more than %u)", CONF_NODES_MAX);
                return -E2BIG;
        }
        if (b->depth == 0) {
                /* Only one document, so only one root. */
                assert(!b->root);
                b->root = n;
        } else {
                r = conf_node_append(b->stack[b->depth - 1], n);
                if (r < 0)
                        return r;
        }
        if (n->type != CONF_NODE_SCALAR) {
                if (b->depth >= CONF_DEPTH_MAX) {
                        diag_emit(b->diag, DIAG_ERROR, &loc, "Nested too deeply (more than %u levels)",
                                  CONF_DEPTH_MAX);
                        return -ELOOP;
                }
                b->stack[b->depth++] = n;
        }
        return 0;
}

static int yaml_build_tree(const char *data, size_t size, const char *path, const Diag *diag, ConfNode **ret) {
        _cleanup_(yaml_parser_deletep) yaml_parser_t parser = {};
        _cleanup_(conf_node_freep) ConfNode *root = NULL;
        YamlBuilder b = { .path = path, .diag = diag };
        bool done = false;
        int r = 0;

        if (!yaml_parser_initialize(&parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&parser, (const unsigned char *) data, size);

        while (!done && r >= 0) {
                _cleanup_(yaml_event_deletep) yaml_event_t e = {};
                DiagLoc loc;
                bool is_key;

                if (!yaml_parser_parse(&parser, &e)) {
                        r = syntax_error(&parser, data, size, path, diag);
                        break;
                }
                loc = mark_loc(path, e.start_mark);

                switch (e.type) {
                case YAML_STREAM_END_EVENT:
                        done = true;
                        break;
                case YAML_DOCUMENT_START_EVENT:
                        if (++b.n_documents > 1) {
                                diag_emit(diag, DIAG_ERROR, &loc, "Only one YAML document per file is supported");
                                r = -EINVAL;
                        }
                        break;
                case YAML_ALIAS_EVENT:
                        diag_emit(diag, DIAG_ERROR, &loc, "YAML aliases are not supported");
                        r = -EINVAL;
                        break;
                case YAML_SCALAR_EVENT:
                        if (memchr(e.data.scalar.value, 0, e.data.scalar.length)) {
                                diag_emit(diag, DIAG_ERROR, &loc, "Values must not contain NUL characters");
                                r = -EINVAL;
                                break;
                        }
                        is_key = b.depth > 0 && b.stack[b.depth - 1]->type == CONF_NODE_MAPPING &&
                                 b.stack[b.depth - 1]->n_items % 2 == 0;
                        {
                                const char *v = scalar_text(&e, is_key);
                                r = builder_add(&b,
                                                conf_node_new(CONF_NODE_SCALAR, v, strlen(v), loc.line, loc.column),
                                                &e);
                        }
                        break;
                case YAML_SEQUENCE_START_EVENT:
                        r = builder_add(&b, conf_node_new(CONF_NODE_SEQUENCE, NULL, 0, loc.line, loc.column), &e);
                        break;
                case YAML_MAPPING_START_EVENT:
                        r = builder_add(&b, conf_node_new(CONF_NODE_MAPPING, NULL, 0, loc.line, loc.column), &e);
                        break;
                case YAML_SEQUENCE_END_EVENT:
                case YAML_MAPPING_END_EVENT:
                        assert(b.depth > 0);
                        b.depth--;
                        break;
                default: /* stream start, document end, none */
                        break;
                }
                root = b.root; /* owned here from now on, for the cleanup */
        }
        if (r < 0)
                return r;

        *ret = TAKE_PTR(root);
        return 0;
}

int conf_yaml_parse_string(const char *data, size_t size, const char *path, const Diag *diag,
                           JobConfig ***configs, size_t *n) {
        _cleanup_(conf_node_freep) ConfNode *root = NULL;
        DiagLoc loc = { .file = path };
        int r;

        assert(data || size == 0);
        assert(path);
        assert(configs);
        assert(n);

        if (size > CONF_FILE_SIZE_MAX) {
                diag_emit(diag, DIAG_ERROR, &loc, "File too large (more than %u bytes)", CONF_FILE_SIZE_MAX);
                return -EFBIG;
        }
        r = yaml_build_tree(data ?: "", size, path, diag, &root);
        if (r < 0)
                return r;
        return conf_tree_load_jobs(root, path, diag, configs, n);
}

int conf_yaml_parse_file(const char *path, const Diag *diag, JobConfig ***configs, size_t *n) {
        return conf_parse_file(path, diag, configs, n, conf_yaml_parse_string);
}
