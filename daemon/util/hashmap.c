/* Open addressing with linear probing and backward-shift deletion (no tombstones), so a map
 * that sees many inserts and removes (pids) never degrades. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"

typedef struct Entry {
        const void *key;
        void *value;
        bool used;
} Entry;

struct Hashmap {
        Entry *entries;
        size_t n_buckets; /* power of two */
        size_t n_entries;
        bool string_keys;
};

static uint64_t hash_key(const Hashmap *h, const void *key) {
        uint64_t x;
        if (h->string_keys) {
                x = 1469598103934665603ULL; /* FNV-1a */
                for (const unsigned char *p = key; *p; p++)
                        x = (x ^ *p) * 1099511628211ULL;
                return x;
        }
        x = (uint64_t) (uintptr_t) key; /* splitmix64 finaliser */
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
        return x ^ (x >> 31);
}

static bool key_equal(const Hashmap *h, const void *a, const void *b) {
        return h->string_keys ? strcmp(a, b) == 0 : a == b;
}

static Hashmap *hashmap_new(bool string_keys) {
        Hashmap *h = calloc(1, sizeof(Hashmap));
        if (!h)
                return NULL;
        h->string_keys = string_keys;
        return h;
}

Hashmap *hashmap_new_string(void) {
        return hashmap_new(true);
}

Hashmap *hashmap_new_uint64(void) {
        return hashmap_new(false);
}

Hashmap *hashmap_free(Hashmap *h) {
        if (!h)
                return NULL;
        free(h->entries);
        free(h);
        return NULL;
}

static Entry *find(const Hashmap *h, const void *key) {
        if (h->n_buckets == 0)
                return NULL;
        size_t mask = h->n_buckets - 1;
        for (size_t i = hash_key(h, key) & mask;; i = (i + 1) & mask) {
                Entry *e = &h->entries[i];
                if (!e->used)
                        return NULL;
                if (key_equal(h, e->key, key))
                        return e;
        }
}

static void insert_raw(Hashmap *h, const void *key, void *value) {
        size_t mask = h->n_buckets - 1;
        for (size_t i = hash_key(h, key) & mask;; i = (i + 1) & mask)
                if (!h->entries[i].used) {
                        h->entries[i] = (Entry) { .key = key, .value = value, .used = true };
                        h->n_entries++;
                        return;
                }
}

static int grow(Hashmap *h) {
        size_t n = h->n_buckets ? h->n_buckets * 2 : 16;
        Entry *old = h->entries;
        size_t old_n = h->n_buckets;
        Entry *e = calloc(n, sizeof(Entry));
        if (!e)
                return -ENOMEM;
        h->entries = e;
        h->n_buckets = n;
        h->n_entries = 0;
        for (size_t i = 0; i < old_n; i++)
                if (old[i].used)
                        insert_raw(h, old[i].key, old[i].value);
        free(old);
        return 0;
}

int hashmap_put(Hashmap *h, const void *key, void *value) {
        if (find(h, key))
                return -EEXIST;
        if ((h->n_entries + 1) * 4 > h->n_buckets * 3) {
                int r = grow(h);
                if (r < 0)
                        return r;
        }
        insert_raw(h, key, value);
        return 0;
}

int hashmap_replace(Hashmap *h, const void *key, void *value) {
        Entry *e = find(h, key);
        if (e) {
                e->key = key;
                e->value = value;
                return 0;
        }
        return hashmap_put(h, key, value);
}

void *hashmap_get(const Hashmap *h, const void *key) {
        Entry *e = find(h, key);
        return e ? e->value : NULL;
}

void *hashmap_remove(Hashmap *h, const void *key) {
        Entry *e = find(h, key);
        void *v;
        size_t mask, i, j;

        if (!e)
                return NULL;
        v = e->value;
        mask = h->n_buckets - 1;
        i = (size_t) (e - h->entries);
        /* Backward-shift: move later entries of the probe run into the hole. */
        for (j = (i + 1) & mask; h->entries[j].used; j = (j + 1) & mask) {
                size_t home = hash_key(h, h->entries[j].key) & mask;
                if (((j - home) & mask) >= ((j - i) & mask)) {
                        h->entries[i] = h->entries[j];
                        i = j;
                }
        }
        h->entries[i] = (Entry) {};
        h->n_entries--;
        return v;
}

size_t hashmap_size(const Hashmap *h) {
        return h ? h->n_entries : 0;
}

bool hashmap_iterate(const Hashmap *h, size_t *i, void **ret_value, const void **ret_key) {
        if (!h)
                return false;
        while (*i < h->n_buckets) {
                Entry *e = &h->entries[(*i)++];
                if (e->used) {
                        if (ret_value)
                                *ret_value = e->value;
                        if (ret_key)
                                *ret_key = e->key;
                        return true;
                }
        }
        return false;
}
