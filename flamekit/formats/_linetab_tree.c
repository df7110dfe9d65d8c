/* flamekit.formats._linetab: paths_tree, the folded reader's stack-table builder (issue 15). */
#include "_linetab.h"

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

PyObject *linetab_paths_tree(PyObject *self, PyObject *args)
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
