/* flamekit.formats._linetab: the optional compiled tokenize-and-intern loop (issue 15).
 *
 * LineTable interns byte strings: intern(buf, sep=-1) cuts ``buf`` into lines at
 * b"\n" (exactly like bytes.split(b"\n")), and each line into tokens at the byte
 * ``sep`` when sep >= 0 (like line.split(bytes([sep]))), and gives every distinct
 * token a dense id in order of first appearance over the table's life. It returns
 * (ids, lengths, new): ids as native int32 bytes, one per token; lengths as int32
 * bytes, tokens per line (None when sep < 0: one token per line); new, the tokens
 * first seen in this call, in id order. clear() forgets everything; len() is the
 * number of distinct tokens.
 *
 * flamekit/formats/_lines.py holds the pure-Python twin (PyLineTable) that gives
 * identical results; tests/test_linetab.py runs both over the corpus.
 */
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

static int ints_push(Ints *a, int32_t v)
{
    if (a->n == a->cap) {
        Py_ssize_t cap = a->cap ? a->cap * 2 : 4096;
        int32_t *p = PyMem_Realloc(a->p, (size_t)cap * sizeof(int32_t));
        if (!p) {
            PyErr_NoMemory();
            return -1;
        }
        a->p = p;
        a->cap = cap;
    }
    a->p[a->n++] = v;
    return 0;
}

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

static uint64_t hash_bytes(const unsigned char *s, Py_ssize_t n)
{
    uint64_t h = HASH_SEED;
    Py_ssize_t k = n;
    while (k >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = hash_word(h, w);
        s += 8;
        k -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, (size_t)k);
    return hash_final(h, w, n);
}

static int table_init_slots(LineTable *t, Py_ssize_t cap)
{
    Slot *s = PyMem_Malloc((size_t)cap * sizeof(Slot));
    if (!s) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < cap; i++)
        s[i].id = -1;
    PyMem_Free(t->slots);
    t->slots = s;
    t->cap = cap;
    return 0;
}

static int table_grow(LineTable *t)
{
    Slot *old = t->slots;
    Py_ssize_t ocap = t->cap;
    t->slots = NULL;
    if (table_init_slots(t, ocap * 2) < 0) {
        t->slots = old;
        return -1;
    }
    Py_ssize_t mask = t->cap - 1;
    for (Py_ssize_t i = 0; i < ocap; i++) {
        if (old[i].id < 0)
            continue;
        Py_ssize_t j = (Py_ssize_t)(old[i].hash & (uint64_t)mask);
        while (t->slots[j].id >= 0)
            j = (j + 1) & mask;
        t->slots[j] = old[i];
    }
    PyMem_Free(old);
    return 0;
}

/* The id of s[0:n] (whose hash_bytes is h), adding it (and appending a bytes copy to
 * ``new``) when unseen. */
static int32_t table_intern_h(LineTable *t, const char *s, Py_ssize_t n, uint64_t h,
                              PyObject *new)
{
    Py_ssize_t mask = t->cap - 1;
    Py_ssize_t j = (Py_ssize_t)(h & (uint64_t)mask);
    for (;;) {
        Slot *e = &t->slots[j];
        if (e->id < 0)
            break;
        if (e->hash == h && e->len == n && memcmp(t->arena + e->off, s, (size_t)n) == 0)
            return e->id;
        j = (j + 1) & mask;
    }
    if (t->count >= INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "LineTable: too many distinct tokens");
        return -1;
    }
    if (t->used + n > t->size) {
        Py_ssize_t size = t->size ? t->size : 1 << 16;
        while (t->used + n > size)
            size *= 2;
        char *a = PyMem_Realloc(t->arena, (size_t)size);
        if (!a) {
            PyErr_NoMemory();
            return -1;
        }
        t->arena = a;
        t->size = size;
    }
    PyObject *b = PyBytes_FromStringAndSize(s, n);
    if (!b || PyList_Append(new, b) < 0) {
        Py_XDECREF(b);
        return -1;
    }
    Py_DECREF(b);
    memcpy(t->arena + t->used, s, (size_t)n);
    Slot *e = &t->slots[j];
    e->hash = h;
    e->off = t->used;
    e->len = n;
    int32_t id = (int32_t)t->count++;
    e->id = id;
    t->used += n;
    if (t->count * 2 > t->cap && table_grow(t) < 0)
        return -1;
    return id;
}

static int32_t table_intern(LineTable *t, const char *s, Py_ssize_t n, PyObject *new)
{
    return table_intern_h(t, s, n, hash_bytes((const unsigned char *)s, n), new);
}

static PyObject *ints_bytes(Ints *a)
{
    return PyBytes_FromStringAndSize((const char *)a->p, a->n * (Py_ssize_t)sizeof(int32_t));
}

static PyObject *LineTable_intern(LineTable *t, PyObject *args, PyObject *kw)
{
    static char *names[] = {"buf", "sep", NULL};
    Py_buffer view;
    int sep = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "y*|i:intern", names, &view, &sep))
        return NULL;
    Ints ids = {0}, lens = {0};
    PyObject *new = PyList_New(0), *res = NULL;
    if (!new)
        goto done;
    const char *p = view.buf, *end = p + view.len;
    for (;;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (sep < 0) {
            int32_t id = table_intern(t, p, le - p, new);
            if (id < 0 || ints_push(&ids, id) < 0)
                goto done;
        } else {
            int32_t k = 0;
            const char *q = p;
            for (;;) {
                const char *s = memchr(q, sep, (size_t)(le - q));
                const char *te = s ? s : le;
                int32_t id = table_intern(t, q, te - q, new);
                if (id < 0 || ints_push(&ids, id) < 0)
                    goto done;
                k++;
                if (!s)
                    break;
                q = s + 1;
            }
            if (ints_push(&lens, k) < 0)
                goto done;
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    {
        PyObject *a = ints_bytes(&ids);
        PyObject *b = sep < 0 ? (Py_INCREF(Py_None), Py_None) : ints_bytes(&lens);
        if (a && b)
            res = PyTuple_Pack(3, a, b, new);
        Py_XDECREF(a);
        Py_XDECREF(b);
    }
done:
    PyMem_Free(ids.p);
    PyMem_Free(lens.p);
    Py_XDECREF(new);
    PyBuffer_Release(&view);
    return res;
}

/* ---------------------------------------------------------------------------
 * Folded stacks: LineTable.folded(buf, start, end)
 * ---------------------------------------------------------------------------
 * Reads the lines of buf[start:end] (cut at b"\n"; a line may end at ``end``
 * without one) of a folded file: ``STACK<sep>COUNT<trailing>`` where <sep> is one
 * space or tab, COUNT matches [0-9]+(\.[0-9]+)? and <trailing> is spaces and tabs
 * (folded.py's _COUNT_RX: the count is the last such field of the line). STACK is
 * cut at ';' into tokens, which are interned like intern(). Blank lines (only
 * whitespace bytes, as bytes.strip()) are passed over; lines without a valid count
 * are passed over and counted. The call stops before the first line it does not
 * take: a count that is not a finite float64 (or an integer of more than 308
 * digits; none of its tokens is interned), or a token starting with "thread (" or
 * "process " (py-spy's root frames; the tokens before it are interned, and since
 * folded.py reads that line next they are met in the same order). Returns (ids, lengths, counts,
 * new, pos, lines, skipped, first_skipped): ids and lengths as in intern(), counts
 * one native float64 per stack (as bytes), pos the offset where it stopped (``end``
 * when every line was taken), lines the number of lines passed (blank and skipped
 * ones included), skipped the number of lines without a count and first_skipped
 * the indexes (0: the line at ``start``) of the first five of them. folded.py
 * reads the line at ``pos`` itself.
 */
typedef struct {
    double *p;
    Py_ssize_t n, cap;
} Doubles;

static int doubles_push(Doubles *a, double v)
{
    if (a->n == a->cap) {
        Py_ssize_t cap = a->cap ? a->cap * 2 : 1024;
        double *p = PyMem_Realloc(a->p, (size_t)cap * sizeof(double));
        if (!p) {
            PyErr_NoMemory();
            return -1;
        }
        a->p = p;
        a->cap = cap;
    }
    a->p[a->n++] = v;
    return 0;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Parse the count at the end of line [p, e): 1 and *stack_end, *value when valid,
 * 0 when the line has no valid count, -1 when the count is not a finite float64
 * (or an integer of more than 308 digits, or too long to parse here). */
static int folded_count(const char *p, const char *e, const char **stack_end, double *value)
{
    while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    const char *q = e;
    while (q > p && is_digit(q[-1]))
        q--;
    if (q == e)
        return 0;
    const char *c = q; /* start of the count */
    int decimal = 0;
    if (q > p && q[-1] == '.') {
        const char *r = q - 1;
        while (r > p && is_digit(r[-1]))
            r--;
        if (r == q - 1)
            return 0;
        c = r;
        decimal = 1;
    }
    if (c == p || (c[-1] != ' ' && c[-1] != '\t'))
        return 0;
    Py_ssize_t n = e - c;
    if (!decimal && n < 16) {
        int64_t v = 0;
        for (const char *d = c; d < e; d++)
            v = v * 10 + (*d - '0');
        *value = (double)v;
    } else {
        char tmp[352];
        if ((!decimal && n > 308) || n >= (Py_ssize_t)sizeof(tmp))
            return -1;
        memcpy(tmp, c, (size_t)n);
        tmp[n] = '\0';
        double v = PyOS_string_to_double(tmp, NULL, NULL);
        if (v == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            return -1;
        }
        if (!(v - v == 0.0)) /* inf (nan cannot occur) */
            return -1;
        *value = v;
    }
    *stack_end = c - 1;
    return 1;
}

static int is_blank(const char *p, const char *e)
{
    for (; p < e; p++)
        if (!(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\x0b' || *p == '\x0c'))
            return 0;
    return 1;
}

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SWAR 1 /* find ';' eight bytes at a time while hashing them */
#endif

/* A token starting at q (before e) that begins like py-spy's "thread (" or "process ". */
static inline int is_marker(const char *q, const char *e)
{
    return e - q >= 8 && (memcmp(q, "thread (", 8) == 0 || memcmp(q, "process ", 8) == 0);
}

/* The end of the token starting at q (the next ';' or e) and its hash_bytes. */
static inline const char *scan_token(const char *q, const char *e, uint64_t *hash)
{
    uint64_t h = HASH_SEED;
    const char *w8 = q;
#ifdef SWAR
    while (e - w8 >= 8) {
        uint64_t w;
        memcpy(&w, w8, 8);
        uint64_t x = w ^ 0x3B3B3B3B3B3B3B3BULL;
        uint64_t m = (x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL;
        if (m) {
            int k = __builtin_ctzll(m) >> 3; /* the first ';' of the word */
            uint64_t tail = k ? (w & ((1ULL << (8 * k)) - 1)) : 0;
            *hash = hash_final(h, tail, (w8 - q) + k);
            return w8 + k;
        }
        h = hash_word(h, w);
        w8 += 8;
    }
#endif
    const char *te = w8;
    while (te < e && *te != ';')
        te++;
#ifndef SWAR
    *hash = hash_bytes((const unsigned char *)q, te - q);
#else
    uint64_t tail = 0;
    memcpy(&tail, w8, (size_t)(te - w8));
    *hash = hash_final(h, tail, te - q);
#endif
    return te;
}

static PyObject *LineTable_folded(LineTable *t, PyObject *args, PyObject *kw)
{
    static char *names[] = {"buf", "start", "end", NULL};
    Py_buffer view;
    Py_ssize_t start = 0, stop = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "y*|nn:folded", names, &view, &start, &stop))
        return NULL;
    if (stop < 0 || stop > view.len)
        stop = view.len;
    if (start < 0)
        start = 0;
    Ints ids = {0}, lens = {0};
    Doubles counts = {0};
    Py_ssize_t nlines = 0, nskipped = 0;
    PyObject *new = PyList_New(0), *skipped = PyList_New(0), *res = NULL;
    if (!new || !skipped)
        goto done;
    const char *base = view.buf, *p = base + start, *end = base + stop;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (!is_blank(p, le)) {
            const char *se;
            double v;
            int ok = folded_count(p, le, &se, &v);
            if (ok == 0) { /* no valid count: skipped (folded.py warns) */
                if (nskipped++ < 5) {
                    PyObject *i = PyLong_FromSsize_t(nlines);
                    if (!i || PyList_Append(skipped, i) < 0) {
                        Py_XDECREF(i);
                        goto done;
                    }
                    Py_DECREF(i);
                }
                nlines++;
                p = nl ? nl + 1 : end;
                continue;
            }
            if (ok < 0)
                break;
            /* tokens are interned as they are cut; a py-spy root frame stops the call
             * before this line (its first tokens stay interned: folded.py reads the
             * line next and meets them first, in the same order) */
            Py_ssize_t n0 = ids.n;
            int marker = 0;
            const char *q = p;
            for (;;) {
                if (is_marker(q, se)) {
                    marker = 1;
                    break;
                }
                uint64_t h;
                const char *te = scan_token(q, se, &h);
                int32_t id = table_intern_h(t, q, te - q, h, new);
                if (id < 0 || ints_push(&ids, id) < 0)
                    goto done;
                if (te == se)
                    break;
                q = te + 1;
            }
            if (marker) {
                ids.n = n0;
                break;
            }
            if (ints_push(&lens, (int32_t)(ids.n - n0)) < 0 || doubles_push(&counts, v) < 0)
                goto done;
        }
        nlines++;
        p = nl ? nl + 1 : end;
    }
    {
        PyObject *a = ints_bytes(&ids), *b = ints_bytes(&lens);
        PyObject *c = PyBytes_FromStringAndSize((const char *)counts.p,
                                                counts.n * (Py_ssize_t)sizeof(double));
        if (a && b && c)
            res = Py_BuildValue("(OOOOnnnO)", a, b, c, new, (Py_ssize_t)(p - base), nlines,
                                nskipped, skipped);
        Py_XDECREF(a);
        Py_XDECREF(b);
        Py_XDECREF(c);
    }
done:
    PyMem_Free(ids.p);
    PyMem_Free(lens.p);
    PyMem_Free(counts.p);
    Py_XDECREF(new);
    Py_XDECREF(skipped);
    PyBuffer_Release(&view);
    return res;
}

static PyObject *LineTable_clear(LineTable *t, PyObject *unused)
{
    if (table_init_slots(t, 1024) < 0)
        return NULL;
    t->count = 0;
    t->used = 0;
    Py_RETURN_NONE;
}

static int LineTable_init(LineTable *t, PyObject *args, PyObject *kw)
{
    if (!PyArg_ParseTuple(args, ":LineTable"))
        return -1;
    t->count = 0;
    t->used = 0;
    return table_init_slots(t, 1024);
}

static void LineTable_dealloc(LineTable *t)
{
    PyMem_Free(t->slots);
    PyMem_Free(t->arena);
    Py_TYPE(t)->tp_free((PyObject *)t);
}

static Py_ssize_t LineTable_len(LineTable *t)
{
    return t->count;
}

static PyMethodDef LineTable_methods[] = {
    {"intern", (PyCFunction)(void (*)(void))LineTable_intern, METH_VARARGS | METH_KEYWORDS,
     "intern(buf, sep=-1) -> (ids, lengths, new): see the module docstring."},
    {"folded", (PyCFunction)(void (*)(void))LineTable_folded, METH_VARARGS | METH_KEYWORDS,
     "folded(buf, start=0, end=-1) -> (ids, lengths, counts, new, pos, lines, skipped, "
     "first_skipped): folded-stack lines."},
    {"clear", (PyCFunction)LineTable_clear, METH_NOARGS, "Forget every token."},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods LineTable_seq = {
    .sq_length = (lenfunc)LineTable_len,
};

static PyTypeObject LineTableType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "flamekit.formats._linetab.LineTable",
    .tp_basicsize = sizeof(LineTable),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Interns lines (or sep-separated tokens of lines) to dense int32 ids.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)LineTable_init,
    .tp_dealloc = (destructor)LineTable_dealloc,
    .tp_methods = LineTable_methods,
    .tp_as_sequence = &LineTable_seq,
};

/* ---------------------------------------------------------------------------
 * paths_tree(flat, starts, lengths, order, levels, prefix, frame, leaf) -> rows
 * ---------------------------------------------------------------------------
 * The stack table of root-first paths, numbered exactly as flamekit.tree.from_paths
 * numbers it (sort=False): path order[j] (int64) is the j-th path; levels 0 ..
 * levels-1 get their rows one level at a time, each level's distinct (parent,
 * frame) pairs in order of first appearance over j (``order`` lists the paths by
 * length, longest first, so the paths still alive at a level come first); the
 * deeper frames are walked path by path (j order), new rows numbered as met.
 * flat: int32 frame ids; starts, lengths, order: int64, one per path; prefix and
 * frame: writable int64 buffers of at least len(flat) items; leaf: writable int64,
 * one per path (indexed by path). Returns the number of rows written.
 */
typedef struct {
    int32_t prow, frame, stamp, k;
} LevelSlot;

#define COLS 8 /* levels copied to columns at a time */
#define AHEAD 8 /* items prefetched ahead in the loops over paths */
#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)0)
#endif

typedef struct {
    int64_t parent;
    int32_t frame, used;
    int64_t row;
} WalkSlot;

static uint64_t pair_hash(uint64_t a, uint64_t b)
{
    uint64_t h = (a * 0x9E3779B97F4A7C15ULL) ^ (b * 0xC2B2AE3D27D4EB4FULL);
    h ^= h >> 31;
    h *= 0xFF51AFD7ED558CCDULL;
    h ^= h >> 29;
    return h;
}

static int walk_grow(WalkSlot **tab, Py_ssize_t *cap)
{
    Py_ssize_t ocap = *cap, ncap = ocap ? ocap * 2 : 1024;
    WalkSlot *old = *tab, *t = PyMem_Calloc((size_t)ncap, sizeof(WalkSlot));
    if (!t) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < ocap; i++) {
        if (!old[i].used)
            continue;
        Py_ssize_t j = (Py_ssize_t)(pair_hash((uint64_t)old[i].parent, (uint32_t)old[i].frame)
                                    & (uint64_t)(ncap - 1));
        while (t[j].used)
            j = (j + 1) & (ncap - 1);
        t[j] = old[i];
    }
    PyMem_Free(old);
    *tab = t;
    *cap = ncap;
    return 0;
}

static PyObject *paths_tree(PyObject *self, PyObject *args)
{
    Py_buffer fb = {0}, sb = {0}, lb = {0}, ob = {0}, pb = {0}, rb = {0}, eb = {0};
    Py_ssize_t levels;
    PyObject *res = NULL;
    int32_t *fc_frame = NULL, *fc_k = NULL;
    int64_t *node = NULL;
    int32_t *cols = NULL;
    LevelSlot *lt = NULL;
    WalkSlot *wt = NULL;
    Py_ssize_t wcap = 0, wcount = 0;
    if (!PyArg_ParseTuple(args, "y*y*y*y*nw*w*w*:paths_tree", &fb, &sb, &lb, &ob, &levels,
                          &pb, &rb, &eb))
        return NULL;
    const int32_t *flat = fb.buf;
    const int64_t *starts = sb.buf, *lengths = lb.buf, *order = ob.buf;
    int64_t *prefix = pb.buf, *frame = rb.buf, *leaf = eb.buf;
    Py_ssize_t nflat = fb.len / 4, n = lb.len / 8, cap_rows = pb.len / 8;
    if (sb.len != lb.len || ob.len != lb.len || eb.len != lb.len || rb.len != pb.len
        || cap_rows < nflat || n >= INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "paths_tree: buffer sizes do not agree");
        goto done;
    }
    node = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(int64_t));
    fc_frame = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(int32_t));
    fc_k = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(int32_t));
    if (!node || !fc_frame || !fc_k) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t j = 0; j < n; j++) {
        int64_t p = order[j];
        if (p < 0 || p >= n || lengths[p] < 1 || starts[p] < 0 || starts[p] + lengths[p] > nflat) {
            PyErr_SetString(PyExc_ValueError, "paths_tree: a path lies outside the frame ids");
            goto done;
        }
        node[j] = -1;
    }
    int64_t total = 0, pbase = -1;
    Py_ssize_t alive = n, npar = 1, lcap = 0;
    int32_t stamp = 0;
    Py_ssize_t col0 = 0, colw = 0; /* cols holds levels col0 .. col0+COLS-1, colw per level */
    for (Py_ssize_t d = 0; d < levels; d++) {
        while (alive > 0 && lengths[order[alive - 1]] <= d)
            alive--;
        if (alive == 0)
            break;
        if (d == 0 || d >= col0 + COLS) {
            /* copy the next COLS levels of the alive paths into columns: each path's
             * frames are read once per COLS levels, in order, instead of once a level */
            col0 = d;
            colw = alive;
            if (!cols)
                cols = PyMem_Malloc((size_t)COLS * (size_t)alive * sizeof(int32_t));
            if (!cols) {
                PyErr_NoMemory();
                goto done;
            }
            for (Py_ssize_t j = 0; j < alive; j++) {
                if (j + 2 * AHEAD < alive) { /* the paths lie anywhere: fetch them early */
                    PREFETCH(&starts[order[j + 2 * AHEAD]]);
                    PREFETCH(&lengths[order[j + 2 * AHEAD]]);
                }
                if (j + AHEAD < alive)
                    PREFETCH(flat + starts[order[j + AHEAD]] + d);
                int64_t p = order[j], m = lengths[p] - d;
                const int32_t *src = flat + starts[p] + d;
                if (m > COLS)
                    m = COLS;
                for (int64_t b = 0; b < m; b++)
                    cols[b * colw + j] = src[b];
            }
        }
        const int32_t *col = cols + (d - col0) * colw;
        Py_ssize_t want = 16;
        while (want < 2 * alive)
            want *= 2;
        if (want > lcap) {
            PyMem_Free(lt);
            lt = PyMem_Calloc((size_t)want, sizeof(LevelSlot));
            if (!lt) {
                PyErr_NoMemory();
                goto done;
            }
            lcap = want;
            stamp = 0;
        }
        stamp++;
        uint64_t mask = (uint64_t)lcap - 1;
        for (Py_ssize_t i = 0; i < npar; i++)
            fc_k[i] = -1;
        int32_t k = 0;
        for (Py_ssize_t j = 0; j < alive; j++) {
            if (j + AHEAD < alive) { /* a pair not under its parent's first child: fetch its slot */
                int32_t f2 = col[j + AHEAD], pr2 = (int32_t)(node[j + AHEAD] - pbase);
                if (fc_k[pr2] >= 0 && fc_frame[pr2] != f2)
                    PREFETCH(&lt[pair_hash((uint64_t)(uint32_t)pr2, (uint64_t)(uint32_t)f2) & mask]);
            }
            int32_t f = col[j];
            int32_t pr = (int32_t)(node[j] - pbase);
            int32_t got;
            if (fc_k[pr] < 0) {
                got = fc_k[pr] = k;
                fc_frame[pr] = f;
                prefix[total + k] = node[j];
                frame[total + k] = f;
                k++;
            } else if (fc_frame[pr] == f) {
                got = fc_k[pr];
            } else {
                uint64_t h = pair_hash((uint64_t)(uint32_t)pr, (uint64_t)(uint32_t)f) & mask;
                for (;;) {
                    LevelSlot *e = &lt[h];
                    if (e->stamp != stamp) {
                        e->stamp = stamp;
                        e->prow = pr;
                        e->frame = f;
                        got = e->k = k;
                        prefix[total + k] = node[j];
                        frame[total + k] = f;
                        k++;
                        break;
                    }
                    if (e->prow == pr && e->frame == f) {
                        got = e->k;
                        break;
                    }
                    h = (h + 1) & mask;
                }
            }
            node[j] = total + got;
        }
        pbase = total;
        npar = k;
        total += k;
    }
    /* the rest, path by path */
    for (Py_ssize_t j = 0; j < n; j++) {
        int64_t p = order[j];
        if (lengths[p] <= levels)
            continue;
        int64_t cur = node[j];
        for (int64_t d = levels; d < lengths[p]; d++) {
            int32_t f = flat[starts[p] + d];
            if (2 * (wcount + 1) > wcap && walk_grow(&wt, &wcap) < 0)
                goto done;
            uint64_t mask = (uint64_t)wcap - 1;
            uint64_t h = pair_hash((uint64_t)cur, (uint64_t)(uint32_t)f) & mask;
            for (;;) {
                WalkSlot *e = &wt[h];
                if (!e->used) {
                    e->used = 1;
                    e->parent = cur;
                    e->frame = f;
                    e->row = total;
                    prefix[total] = cur;
                    frame[total] = f;
                    cur = total++;
                    wcount++;
                    break;
                }
                if (e->parent == cur && e->frame == f) {
                    cur = e->row;
                    break;
                }
                h = (h + 1) & mask;
            }
        }
        node[j] = cur;
    }
    for (Py_ssize_t j = 0; j < n; j++)
        leaf[order[j]] = node[j];
    res = PyLong_FromLongLong(total);
done:
    PyMem_Free(node);
    PyMem_Free(cols);
    PyMem_Free(fc_frame);
    PyMem_Free(fc_k);
    PyMem_Free(lt);
    PyMem_Free(wt);
    PyBuffer_Release(&fb);
    PyBuffer_Release(&sb);
    PyBuffer_Release(&lb);
    PyBuffer_Release(&ob);
    if (pb.obj)
        PyBuffer_Release(&pb);
    if (rb.obj)
        PyBuffer_Release(&rb);
    if (eb.obj)
        PyBuffer_Release(&eb);
    return res;
}

static PyMethodDef module_methods[] = {
    {"paths_tree", paths_tree, METH_VARARGS,
     "paths_tree(flat, starts, lengths, order, levels, prefix, frame, leaf) -> rows: "
     "the stack table of root-first paths, numbered as flamekit.tree.from_paths does."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_linetab",
    "Compiled tokenize-and-intern loop of flamekit's text importers (optional).", -1,
    module_methods,
};

PyMODINIT_FUNC PyInit__linetab(void)
{
    if (PyType_Ready(&LineTableType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m)
        return NULL;
    Py_INCREF(&LineTableType);
    if (PyModule_AddObject(m, "LineTable", (PyObject *)&LineTableType) < 0) {
        Py_DECREF(&LineTableType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
