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
 * LineTable.folded (the folded-stack reader's loop) is in _linetab_folded.c and the
 * module function paths_tree (its stack-table builder) in _linetab_tree.c; _linetab.h
 * holds what the three files share.
 *
 * flamekit/formats/_lines.py holds the pure-Python twin (PyLineTable) that gives
 * identical results; tests/test_linetab.py and tests/test_folded_accel.py run both
 * over the corpus.
 */
#include "_linetab.h"

void *buf_grow(void *p, Py_ssize_t *cap, size_t elsize, Py_ssize_t first)
{
    Py_ssize_t c = *cap ? *cap * 2 : first;
    void *q = PyMem_Realloc(p, (size_t)c * elsize);
    if (!q) {
        PyErr_NoMemory();
        return NULL;
    }
    *cap = c;
    return q;
}

int ints_push(Ints *a, int32_t v)
{
    if (a->n == a->cap) {
        int32_t *p = buf_grow(a->p, &a->cap, sizeof(int32_t), 4096);
        if (!p)
            return -1;
        a->p = p;
    }
    a->p[a->n++] = v;
    return 0;
}

uint64_t hash_bytes(const unsigned char *s, Py_ssize_t n)
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
int32_t table_intern_h(LineTable *t, const char *s, Py_ssize_t n, uint64_t h,
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

PyObject *ints_bytes(Ints *a)
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
    {"folded", (PyCFunction)(void (*)(void))linetab_folded, METH_VARARGS | METH_KEYWORDS,
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

static PyMethodDef module_methods[] = {
    {"paths_tree", linetab_paths_tree, METH_VARARGS,
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
