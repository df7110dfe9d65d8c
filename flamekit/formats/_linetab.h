/* flamekit.formats._linetab: what its three C files share (see _linetab.c). */
#ifndef FLAMEKIT_LINETAB_H
#define FLAMEKIT_LINETAB_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    uint64_t hash;
    Py_ssize_t off;
    Py_ssize_t len;
    int32_t id; /* -1: an empty slot */
} Slot;

typedef struct {
    PyObject_HEAD
    Slot *slots;
    Py_ssize_t cap; /* a power of two */
    Py_ssize_t count;
    char *arena;
    Py_ssize_t used, size;
} LineTable;

typedef struct {
    int32_t *p;
    Py_ssize_t n, cap;
} Ints;

#if defined(__GNUC__)
#define LT_INTERNAL __attribute__((visibility("hidden")))
#else
#define LT_INTERNAL
#endif

#define HASH_SEED 0x9E3779B97F4A7C15ULL

static inline uint64_t hash_word(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
    return h ^ (h >> 32);
}

/* the last (n % 8 bytes, zero-padded) word and the length */
static inline uint64_t hash_final(uint64_t h, uint64_t w, Py_ssize_t n)
{
    h = (h ^ w ^ ((uint64_t)n << 3)) * 0xC4CEB9FE1A85EC53ULL;
    return h ^ (h >> 29);
}

/* p reallocated to twice *cap elements (``first`` when *cap is 0), *cap updated; NULL
 * with MemoryError set (p still valid) on failure */
LT_INTERNAL void *buf_grow(void *p, Py_ssize_t *cap, size_t elsize, Py_ssize_t first);
LT_INTERNAL int ints_push(Ints *a, int32_t v);
LT_INTERNAL PyObject *ints_bytes(Ints *a);
LT_INTERNAL uint64_t hash_bytes(const unsigned char *s, Py_ssize_t n);
/* The id of s[0:n] (whose hash_bytes is h), adding it (and appending a bytes copy to
 * ``new``) when unseen; -1 with an exception set on failure. */
LT_INTERNAL int32_t table_intern_h(LineTable *t, const char *s, Py_ssize_t n, uint64_t h,
                                   PyObject *new);
/* LineTable.folded (_linetab_folded.c) and paths_tree (_linetab_tree.c) */
LT_INTERNAL PyObject *linetab_folded(LineTable *t, PyObject *args, PyObject *kw);
LT_INTERNAL PyObject *linetab_paths_tree(PyObject *self, PyObject *args);

#endif
