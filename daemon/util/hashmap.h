/* Open-addressing hash maps: string keys (job names) and integer keys (pids). O(1) lookups keep
 * starting n jobs O(n). Keys are not copied: a string key must live as long as its entry. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

typedef struct Hashmap Hashmap;

Hashmap *hashmap_new_string(void);  /* keys are const char * */
Hashmap *hashmap_new_uint64(void);  /* keys are uint64_t, passed as HASHMAP_UINT(k) */
Hashmap *hashmap_free(Hashmap *h);  /* frees the table, not keys or values */
DEFINE_TRIVIAL_CLEANUP_FUNC(Hashmap *, hashmap_free);

#define HASHMAP_UINT(k) ((const void *) (uintptr_t) (k))

/* 0 added, -EEXIST key present (unchanged), -ENOMEM. */
int hashmap_put(Hashmap *h, const void *key, void *value);
/* Insert or overwrite. */
int hashmap_replace(Hashmap *h, const void *key, void *value);
void *hashmap_get(const Hashmap *h, const void *key);
/* Returns the value removed, or NULL. */
void *hashmap_remove(Hashmap *h, const void *key);
size_t hashmap_size(const Hashmap *h);

/* Iteration: `size_t i = 0; void *v; const void *k; while (hashmap_iterate(h, &i, &v, &k)) …`.
 * The map must not change while it is iterated (collect first, then remove). */
bool hashmap_iterate(const Hashmap *h, size_t *i, void **ret_value, const void **ret_key);
