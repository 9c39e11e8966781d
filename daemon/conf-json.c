/* JSON job files (SPEC 3.3): the same shape as YAML ({"jobs": {"web": {...}}}), read with jansson
 * into the ConfNode tree of conf-tree.h and given meaning by conf-load.c.
 *
 * jansson reports where a syntax error is, but keeps no positions for values. Once jansson has
 * accepted the text it is known to be valid JSON, so a light cursor walks the text in step with
 * the decoded tree (objects are iterated in insertion order, which is document order because
 * duplicate keys are refused) and gives every key and value its LINE:COLUMN. Numbers keep the
 * text they were written with; true/false become "yes"/"no" and null "". Limits: the file size,
 * the nesting depth (jansson's own limit is higher) and the number of values. */
#include <jansson.h>
#include <string.h>

#include "conf-load.h"
#include "conf-tree.h"

typedef struct JsonCursor {
        const char *data;
        size_t size, pos;
        unsigned line, column;
        bool lost; /* out of step with the tree (should not happen): positions become unknown */
        size_t n_nodes;
        const char *path;
        const Diag *diag;
} JsonCursor;

static void cursor_advance(JsonCursor *c) {
        if (c->pos >= c->size)
                return;
        if (c->data[c->pos] == '\n') {
                c->line++;
                c->column = 1;
        } else if (((unsigned char) c->data[c->pos] & 0xC0) != 0x80)
                c->column++; /* columns count characters, not UTF-8 continuation bytes */
        c->pos++;
}

static void cursor_skip_ws(JsonCursor *c) {
        while (c->pos < c->size && strchr(" \t\r\n", c->data[c->pos]) && c->data[c->pos] != '\0')
                cursor_advance(c);
}

static bool cursor_expect(JsonCursor *c, char ch) {
        cursor_skip_ws(c);
        if (c->pos >= c->size || c->data[c->pos] != ch) {
                c->lost = true;
                return false;
        }
        cursor_advance(c);
        return true;
}

static void cursor_skip_string(JsonCursor *c) {
        if (!cursor_expect(c, '"'))
                return;
        while (c->pos < c->size && c->data[c->pos] != '"') {
                if (c->data[c->pos] == '\\')
                        cursor_advance(c);
                cursor_advance(c);
        }
        cursor_advance(c);
}

/* Numbers and literals: up to the next delimiter. Returns where the token started. */
static size_t cursor_skip_token(JsonCursor *c) {
        size_t start;

        cursor_skip_ws(c);
        start = c->pos;
        while (c->pos < c->size && !strchr(",]} \t\r\n", c->data[c->pos]))
                cursor_advance(c);
        return start;
}

static ConfNode *cursor_node(JsonCursor *c, ConfNodeType type, const char *value, size_t size) {
        cursor_skip_ws(c);
        return conf_node_new(type, value, size, c->lost ? 0 : c->line, c->lost ? 0 : c->column);
}

static int count_node(JsonCursor *c, const ConfNode *n) {
        DiagLoc loc = { .file = c->path, .line = n->line, .column = n->column };

        if (++c->n_nodes <= CONF_NODES_MAX)
                return 0;
        diag_emit(c->diag, DIAG_ERROR, &loc, "Too many values in one file (more than %u)", CONF_NODES_MAX);
        return -E2BIG;
}

static int json_convert(JsonCursor *c, json_t *v, unsigned depth, ConfNode **ret) {
        _cleanup_(conf_node_freep) ConfNode *n = NULL;
        const char *key, *text;
        json_t *item;
        size_t i, start;
        int r;

        switch (json_typeof(v)) {

        case JSON_OBJECT:
        case JSON_ARRAY:
                n = cursor_node(c, json_is_object(v) ? CONF_NODE_MAPPING : CONF_NODE_SEQUENCE, NULL, 0);
                if (!n)
                        return -ENOMEM;
                r = count_node(c, n);
                if (r < 0)
                        return r;
                if (depth >= CONF_DEPTH_MAX) {
                        DiagLoc loc = { .file = c->path, .line = n->line, .column = n->column };

                        diag_emit(c->diag, DIAG_ERROR, &loc, "Nested too deeply (more than %u levels)",
                                  CONF_DEPTH_MAX);
                        return -ELOOP;
                }
                (void) cursor_expect(c, json_is_object(v) ? '{' : '[');

                if (json_is_object(v))
                        json_object_foreach(v, key, item) {
                                ConfNode *k, *value = NULL;

                                k = cursor_node(c, CONF_NODE_SCALAR, key, strlen(key));
                                r = conf_node_append(n, k);
                                if (r < 0)
                                        return r;
                                r = count_node(c, k);
                                if (r < 0)
                                        return r;
                                cursor_skip_string(c);
                                (void) cursor_expect(c, ':');
                                r = json_convert(c, item, depth + 1, &value);
                                if (r < 0)
                                        return r;
                                r = conf_node_append(n, value);
                                if (r < 0)
                                        return r;
                                cursor_skip_ws(c);
                                if (c->pos < c->size && c->data[c->pos] == ',')
                                        cursor_advance(c);
                        }
                else
                        json_array_foreach(v, i, item) {
                                ConfNode *value = NULL;

                                r = json_convert(c, item, depth + 1, &value);
                                if (r < 0)
                                        return r;
                                r = conf_node_append(n, value);
                                if (r < 0)
                                        return r;
                                cursor_skip_ws(c);
                                if (c->pos < c->size && c->data[c->pos] == ',')
                                        cursor_advance(c);
                        }
                (void) cursor_expect(c, json_is_object(v) ? '}' : ']');
                break;

        case JSON_STRING:
                n = cursor_node(c, CONF_NODE_SCALAR, json_string_value(v), json_string_length(v));
                if (!n)
                        return -ENOMEM;
                cursor_skip_string(c);
                break;

        case JSON_INTEGER:
        case JSON_REAL:
                /* The number as written ("1.50" stays "1.50"). */
                cursor_skip_ws(c);
                {
                        unsigned line = c->line, column = c->column;

                        start = cursor_skip_token(c);
                        if (!c->lost && c->pos > start)
                                n = conf_node_new(CONF_NODE_SCALAR, c->data + start, c->pos - start, line, column);
                        else {
                                char buf[64];

                                if (json_is_integer(v))
                                        (void) snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
                                                        json_integer_value(v));
                                else
                                        (void) snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
                                n = conf_node_new(CONF_NODE_SCALAR, buf, strlen(buf), 0, 0);
                        }
                }
                if (!n)
                        return -ENOMEM;
                break;

        case JSON_TRUE:
        case JSON_FALSE:
        case JSON_NULL:
                text = json_is_true(v) ? "yes" : json_is_false(v) ? "no" : "";
                n = cursor_node(c, CONF_NODE_SCALAR, text, strlen(text));
                if (!n)
                        return -ENOMEM;
                (void) cursor_skip_token(c);
                break;

        default:
                return -EINVAL;
        }

        if (n->type == CONF_NODE_SCALAR) {
                r = count_node(c, n);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(n);
        return 0;
}

/* jansson builds its whole tree before we see it, ~40 bytes a value: count the values first (a
 * rough upper bound: separators and openings outside strings) so that a file of a million tiny
 * values is refused before it costs hundreds of MiB. */
static size_t json_count_values(const char *data, size_t size) {
        size_t n = 1;
        bool in_string = false;

        for (size_t i = 0; i < size; i++) {
                char ch = data[i];

                if (in_string) {
                        if (ch == '\\')
                                i++;
                        else if (ch == '"')
                                in_string = false;
                } else if (ch == '"')
                        in_string = true;
                else if (ch == ',' || ch == '[' || ch == '{' || ch == ':')
                        n++;
        }
        return n;
}

int conf_json_parse_string(const char *data, size_t size, const char *path, const Diag *diag,
                           JobConfig ***configs, size_t *n) {
        _cleanup_(conf_node_freep) ConfNode *root = NULL;
        json_auto_t *j = NULL;
        json_error_t error;
        DiagLoc loc = { .file = path };
        JsonCursor c;
        int r;

        assert(data || size == 0);
        assert(path);
        assert(configs);
        assert(n);

        if (size > CONF_FILE_SIZE_MAX) {
                diag_emit(diag, DIAG_ERROR, &loc, "File too large (more than %u bytes)", CONF_FILE_SIZE_MAX);
                return -EFBIG;
        }

        if (json_count_values(data ?: "", size) > 2 * (size_t) CONF_NODES_MAX) {
                diag_emit(diag, DIAG_ERROR, &loc, "Too many values in one file (more than %u)", CONF_NODES_MAX);
                return -E2BIG;
        }

        /* Duplicate keys are refused: jansson would silently keep only the last one. */
        j = json_loadb(data ?: "", size, JSON_REJECT_DUPLICATES, &error);
        if (!j) {
                if (json_error_code(&error) == json_error_out_of_memory)
                        return -ENOMEM;
                loc.line = error.line > 0 ? (unsigned) error.line : 0;
                /* jansson counts a column of 0 before the first character of a line. */
                loc.column = loc.line > 0 ? (unsigned) MAX(error.column, 1) : 0;
                diag_emit(diag, DIAG_ERROR, &loc, "JSON syntax error: %s", error.text);
                return -EINVAL;
        }

        c = (JsonCursor) { .data = data, .size = size, .line = 1, .column = 1, .path = path, .diag = diag };
        r = json_convert(&c, j, 0, &root);
        if (r < 0)
                return r;
        return conf_tree_load_jobs(root, path, diag, configs, n);
}

int conf_json_parse_file(const char *path, const Diag *diag, JobConfig ***configs, size_t *n) {
        return conf_parse_file(path, diag, configs, n, conf_json_parse_string);
}
