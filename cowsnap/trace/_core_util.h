/* Small containers for the native tracer core: growable strings, a string-keyed hash
 * map (the resolver's caches, the hooks' quiet paths) and an int-keyed one (threads). */
#ifndef COWSNAP_CORE_UTIL_H
#define COWSNAP_CORE_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char *str_dup_n(const char *s, size_t n) {
    char *copy = malloc(n + 1);
    if (copy == NULL) abort();
    memcpy(copy, s, n);
    copy[n] = 0;
    return copy;
}

static char *str_dup(const char *s) { return str_dup_n(s, strlen(s)); }

static char *str_cat3(const char *a, const char *b, const char *c) {
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *out = malloc(la + lb + lc + 1);
    if (out == NULL) abort();
    memcpy(out, a, la);
    memcpy(out + la, b, lb);
    memcpy(out + la + lb, c, lc);
    out[la + lb + lc] = 0;
    return out;
}

static int starts_with(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int ends_with(const char *s, const char *suffix) {
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

/* -- string -> string map (open addressing, linear probing) ------------------------ */

typedef struct {
    char **keys;
    char **values;
    size_t capacity; /* a power of two */
    size_t count;
} strmap;

static uint64_t str_hash(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void strmap_init(strmap *m) {
    m->capacity = 64;
    m->count = 0;
    m->keys = calloc(m->capacity, sizeof(char *));
    m->values = calloc(m->capacity, sizeof(char *));
    if (m->keys == NULL || m->values == NULL) abort();
}

static void strmap_clear(strmap *m) {
    for (size_t i = 0; i < m->capacity; i++) {
        free(m->keys[i]);
        free(m->values[i]);
        m->keys[i] = m->values[i] = NULL;
    }
    m->count = 0;
}

static void strmap_free(strmap *m) {
    strmap_clear(m);
    free(m->keys);
    free(m->values);
}

static size_t strmap_slot(const strmap *m, const char *key) {
    size_t i = str_hash(key) & (m->capacity - 1);
    while (m->keys[i] != NULL && strcmp(m->keys[i], key) != 0) i = (i + 1) & (m->capacity - 1);
    return i;
}

/* The value for key (NULL when absent); *found tells a stored NULL from absence. */
static const char *strmap_get(const strmap *m, const char *key, int *found) {
    size_t i = strmap_slot(m, key);
    *found = m->keys[i] != NULL;
    return m->values[i];
}

static void strmap_grow(strmap *m) {
    strmap bigger = {calloc(m->capacity * 2, sizeof(char *)), calloc(m->capacity * 2, sizeof(char *)),
                     m->capacity * 2, 0};
    if (bigger.keys == NULL || bigger.values == NULL) abort();
    for (size_t i = 0; i < m->capacity; i++) {
        if (m->keys[i] == NULL) continue;
        size_t j = strmap_slot(&bigger, m->keys[i]);
        bigger.keys[j] = m->keys[i];
        bigger.values[j] = m->values[i];
        bigger.count++;
    }
    free(m->keys);
    free(m->values);
    *m = bigger;
}

/* Store copies of key and value (value may be NULL). */
static void strmap_put(strmap *m, const char *key, const char *value) {
    if ((m->count + 1) * 2 > m->capacity) strmap_grow(m);
    size_t i = strmap_slot(m, key);
    if (m->keys[i] == NULL) {
        m->keys[i] = str_dup(key);
        m->count++;
    } else {
        free(m->values[i]);
    }
    m->values[i] = value ? str_dup(value) : NULL;
}

/* -- int -> pointer map (chained) --------------------------------------------------- */

typedef struct intnode {
    long key;
    void *value;
    struct intnode *next;
} intnode;

#define INTMAP_BUCKETS 4096

typedef struct {
    intnode *buckets[INTMAP_BUCKETS];
    size_t count;
} intmap;

static size_t int_bucket(long key) { return ((unsigned long)key * 2654435761UL) % INTMAP_BUCKETS; }

static void *intmap_get(const intmap *m, long key) {
    for (intnode *n = m->buckets[int_bucket(key)]; n; n = n->next)
        if (n->key == key) return n->value;
    return NULL;
}

static void intmap_put(intmap *m, long key, void *value) {
    size_t b = int_bucket(key);
    for (intnode *n = m->buckets[b]; n; n = n->next)
        if (n->key == key) {
            n->value = value;
            return;
        }
    intnode *n = malloc(sizeof *n);
    if (n == NULL) abort();
    n->key = key;
    n->value = value;
    n->next = m->buckets[b];
    m->buckets[b] = n;
    m->count++;
}

static void *intmap_pop(intmap *m, long key) {
    intnode **link = &m->buckets[int_bucket(key)];
    for (; *link; link = &(*link)->next)
        if ((*link)->key == key) {
            intnode *n = *link;
            void *value = n->value;
            *link = n->next;
            free(n);
            m->count--;
            return value;
        }
    return NULL;
}

/* Calls fn on every (key, value); fn must not change the map. */
#define INTMAP_EACH(m, node)                                  \
    for (size_t _b = 0; _b < INTMAP_BUCKETS; _b++)            \
        for (intnode *node = (m)->buckets[_b]; node; node = node->next)

#endif
