/* flamekit.formats._linetab: LineTable.folded, the folded-stack reader's loop (issue 15). */
#include "_linetab.h"

/* ---------------------------------------------------------------------------
 * Folded stacks: LineTable.folded(buf, start, end)
 * ---------------------------------------------------------------------------
 * Reads the lines of buf[start:end] (cut at b"\n"; a line may end at ``end``
 * without one) of a folded file: ``STACK<sep>COUNT<trailing>`` where <sep> is one
 * space or tab, COUNT matches [0-9]+(\.[0-9]+)? and <trailing> is spaces and tabs
 * (_lines.COUNT_RX: the count is the last such field of the line). STACK is
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
        double *p = buf_grow(a->p, &a->cap, sizeof(double), 1024);
        if (!p)
            return -1;
        a->p = p;
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

PyObject *linetab_folded(LineTable *t, PyObject *args, PyObject *kw)
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
