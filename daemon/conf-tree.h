/* The common shape of YAML and JSON job files. conf-yaml.c and conf-json.c only read syntax: they
 * turn a file into this small tree of mappings, sequences and scalars, each with its position, and
 * hand it to conf_tree_load_jobs() (conf-load.c), which knows the "jobs:" layout and feeds the
 * assignments to job_config_assign(). So both formats mean exactly the same thing. */
#pragma once

#include <stddef.h>

#include "job-config.h"

/* Limits against hostile input, for both formats. */
#define CONF_FILE_SIZE_MAX (16U * 1024U * 1024U)
#define CONF_DEPTH_MAX 64U
#define CONF_NODES_MAX (1024U * 1024U)

typedef enum ConfNodeType {
        CONF_NODE_SCALAR,
        CONF_NODE_SEQUENCE,
        CONF_NODE_MAPPING,
} ConfNodeType;

typedef struct ConfNode {
        ConfNodeType type;
        unsigned line, column; /* from 1; 0 = unknown */
        char *value;           /* scalar: final text; booleans already "yes"/"no", null "" */
        struct ConfNode **items; /* sequence: the items; mapping: key, value, key, value … */
        size_t n_items;
} ConfNode;

/* A scalar takes a copy of value (may be NULL for containers). NULL on OOM. */
ConfNode *conf_node_new(ConfNodeType type, const char *value, size_t size, unsigned line, unsigned column);
ConfNode *conf_node_free(ConfNode *n);
DEFINE_TRIVIAL_CLEANUP_FUNC(ConfNode *, conf_node_free);
/* Ownership of child moves to parent, also on failure (-ENOMEM). */
int conf_node_append(ConfNode *parent, ConfNode *child);

/* Reads a whole regular file of at most CONF_FILE_SIZE_MAX bytes (NUL-terminated copy).
 * -EISDIR, -EFBIG, -EBADFD (not a regular file: FIFOs are not opened for reading), or -errno. */
int conf_read_file(const char *path, char **ret, size_t *ret_size);

/* Walks a parsed file: a root mapping whose "jobs" key maps NAME → job mapping. Appends one
 * JobConfig per valid job name (rejected jobs with ->error set) to *configs and *n. A tree that is not
 * of that shape at all returns -EINVAL after an error through diag, and appends nothing. */
/* The _file half of a many-jobs reader: read path (reporting why it cannot be read through diag),
 * then hand the bytes to parse_string. */
typedef int (*ConfParseString)(const char *data, size_t size, const char *path, const Diag *diag,
                               JobConfig ***configs, size_t *n);
int conf_parse_file(const char *path, const Diag *diag, JobConfig ***configs, size_t *n,
                    ConfParseString parse_string);

int conf_tree_load_jobs(const ConfNode *root, const char *path, const Diag *diag, JobConfig ***configs,
                        size_t *n);
