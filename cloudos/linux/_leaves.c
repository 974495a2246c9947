/* _leaves.c — the loops of linux/aspace.py over one leaf page table's 512 entries, in C.
 *
 * A fork+exec+exit touches every page of two programs four times: fork raises the owner
 * count of each frame the parent maps (and marks its private writable pages
 * copy-on-write), exec's teardown of the forked copy and exit's teardown of the new
 * program drop them again, and exec maps the program's file pages from the page cache,
 * raising theirs. In Python each entry cost ~0.15-0.3 us of dict and list work (a static
 * program maps ~170 pages); here it is a few nanoseconds.
 *
 * The owner counts are FrameRefs' array (linux/aspace.py: one unsigned 32-bit count per
 * frame number, the owners beyond the first; the kernel sees it as its refs mapping),
 * updated exactly as the kernel's per-page methods update the mapping
 * (tests/linux/test_aspace.py compares the two). Entries are 64-bit words of guest RAM
 * (PhysicalMemory.words), addressed by word index; every index and frame is checked
 * against its buffer before anything changes. Appending to a Python list can fail only
 * when the host is out of memory; a release is then left part done.
 *
 * Called by: linux/aspace.py (LinuxAddressSpace's fork, _release and share_run).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define ENTRIES 512
#define PRESENT (1ull << 0)
#define WRITABLE (1ull << 1)
#define COW (1ull << 9)
#define FRAME_MASK ((((uint64_t)1 << 40) - 1) << 12)
#define PAGE_SHIFT 12

/* The words [first, first+count) of ``view``, or NULL with an exception set. */
static uint64_t *entries(Py_buffer *view, Py_ssize_t first, Py_ssize_t count)
{
    Py_ssize_t words = view->len / 8;
    if (first < 0 || count < 0 || count > ENTRIES || first > words - count) {
        PyErr_Format(PyExc_IndexError, "entries %zd+%zd outside RAM's %zd words", first, count,
                     words);
        return NULL;
    }
    return (uint64_t *)view->buf + first;
}

/* Does every frame of ``values`` (count entries, those with ``PRESENT`` in ``mask`` alone
 * when mask is nonzero) have a count in ``counts``? Else an exception is set. */
static int counted(Py_buffer *counts, const uint64_t *values, Py_ssize_t count, uint64_t mask)
{
    uint64_t frames = (uint64_t)counts->len / 4;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (mask && !(values[i] & mask))
            continue;
        if ((values[i] & FRAME_MASK) >> PAGE_SHIFT >= frames) {
            PyErr_Format(PyExc_IndexError, "frame %#llx past the owner counts' %llu frames",
                         (unsigned long long)(values[i] & FRAME_MASK),
                         (unsigned long long)frames);
            return 0;
        }
    }
    return 1;
}

static uint32_t *owner_count(Py_buffer *counts, uint64_t entry)
{
    return (uint32_t *)counts->buf + ((entry & FRAME_MASK) >> PAGE_SHIFT);
}

/* The (first, last) entry ranges of ``keep``, a sequence of pairs, as a new array in
 * ``*out`` (PyMem_Free it; NULL when there are none): how many, or -1 on error. As
 * many as the guest made shared mappings in the table's 2 MiB (one a page: 512). */
static Py_ssize_t parse_keep(PyObject *keep, Py_ssize_t (**out)[2])
{
    PyObject *seq = PySequence_Fast(keep, "keep must be a sequence of (first, last) pairs");
    Py_ssize_t n, i;
    Py_ssize_t (*ranges)[2];
    *out = NULL;
    if (seq == NULL)
        return -1;
    n = PySequence_Fast_GET_SIZE(seq);
    if (n == 0) {
        Py_DECREF(seq);
        return 0;
    }
    ranges = PyMem_Malloc((size_t)n * sizeof *ranges);
    if (ranges == NULL) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return -1;
    }
    *out = ranges;
    for (i = 0; i < n; i++) {
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "nn", &ranges[i][0],
                              &ranges[i][1])) {
            Py_DECREF(seq);
            PyMem_Free(ranges);
            *out = NULL;
            return -1;
        }
    }
    Py_DECREF(seq);
    return n;
}

static int kept(Py_ssize_t index, Py_ssize_t (*ranges)[2], Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++)
        if (ranges[i][0] <= index && index < ranges[i][1])
            return 1;
    return 0;
}

PyDoc_STRVAR(present_doc,
"present(words, table, count) -> int\n\n"
"How many of the entries [table, table+count) are present.");

static PyObject *leaf_present(PyObject *self, PyObject *args)
{
    Py_buffer view;
    Py_ssize_t table, count, found = 0;
    uint64_t *w;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*nn", &view, &table, &count))
        return NULL;
    w = entries(&view, table, count);
    if (w != NULL)
        for (Py_ssize_t i = 0; i < count; i++)
            found += (Py_ssize_t)(w[i] & PRESENT);
    PyBuffer_Release(&view);
    return w == NULL ? NULL : PyLong_FromSsize_t(found);
}

PyDoc_STRVAR(fork_doc,
"fork(words, table, target, count, counts, keep) -> int\n\n"
"A fork's copy of the leaf table at word ``table`` into the one at ``target``: the\n"
"present writable entries become read-only copy-on-write in place (but those whose\n"
"index lies in a (first, last) range of ``keep``: shared memory), the ``count``\n"
"entries are copied whole, and each present entry's frame gains an owner in\n"
"``counts``. Returns how many entries were present.");

static PyObject *leaf_fork(PyObject *self, PyObject *args)
{
    Py_buffer view, counts;
    Py_ssize_t table, target, count, nkeep = -1, found = 0;
    Py_ssize_t (*ranges)[2] = NULL;
    PyObject *keep;
    uint64_t *from, *to;
    (void)self;
    if (!PyArg_ParseTuple(args, "w*nnnw*O", &view, &table, &target, &count, &counts, &keep))
        return NULL;
    from = entries(&view, table, count);
    to = from == NULL ? NULL : entries(&view, target, count);
    if (to != NULL && table < target + count && target < table + count)
        PyErr_SetString(PyExc_ValueError, "a leaf table copied onto itself");
    else if (to != NULL && counted(&counts, from, count, PRESENT))
        nkeep = parse_keep(keep, &ranges);
    if (nkeep >= 0) {
        for (Py_ssize_t i = 0; i < count; i++) {
            uint64_t e = from[i];
            if ((e & (PRESENT | WRITABLE)) == (PRESENT | WRITABLE)
                    && !(nkeep && kept(i, ranges, nkeep)))
                from[i] = (e & ~WRITABLE) | COW;
            if (e & PRESENT) {
                ++*owner_count(&counts, e);
                found++;
            }
        }
        memcpy(to, from, (size_t)count * 8);
    }
    PyMem_Free(ranges);
    PyBuffer_Release(&counts);
    PyBuffer_Release(&view);
    return nkeep < 0 ? NULL : PyLong_FromSsize_t(found);
}

/* Append ``entry``'s frame to ``list``; -1 on error. */
static int append_frame(PyObject *list, uint64_t entry)
{
    PyObject *frame = PyLong_FromUnsignedLongLong(entry & FRAME_MASK);
    int status = frame == NULL ? -1 : PyList_Append(list, frame);
    Py_XDECREF(frame);
    return status;
}

PyDoc_STRVAR(release_doc,
"release(words, first, count, counts, free, gone) -> int\n\n"
"Unmap the entries [first, first+count) of one leaf table (every word becomes 0) and\n"
"give up one owner of each present entry's frame in ``counts``: the frames whose last\n"
"owner that was are appended to the list ``free`` (the caller frees them), every\n"
"frame to the list ``gone`` unless it is None. Returns how many entries were present.");

static PyObject *leaf_release(PyObject *self, PyObject *args)
{
    Py_buffer view, counts;
    Py_ssize_t first, count, found = 0;
    PyObject *freed, *gone;
    uint64_t *w;
    uint32_t *owners;
    int status = -1;
    (void)self;
    if (!PyArg_ParseTuple(args, "w*nnw*O!O", &view, &first, &count, &counts, &PyList_Type,
                          &freed, &gone))
        return NULL;
    w = entries(&view, first, count);
    if (w != NULL && gone != Py_None && !PyList_Check(gone))
        PyErr_SetString(PyExc_TypeError, "gone must be a list or None");
    else if (w != NULL && counted(&counts, w, count, PRESENT))
        status = 0;
    for (Py_ssize_t i = 0; status == 0 && i < count; i++) {
        uint64_t e = w[i];
        w[i] = 0;
        if (!(e & PRESENT))
            continue;
        found++;
        owners = owner_count(&counts, e);
        if (*owners)
            --*owners;
        else
            status = append_frame(freed, e);
        if (status == 0 && gone != Py_None)
            status = append_frame(gone, e);
    }
    PyBuffer_Release(&counts);
    PyBuffer_Release(&view);
    return status == 0 ? PyLong_FromSsize_t(found) : NULL;
}

PyDoc_STRVAR(share_doc,
"share(words, first, frames, flags, counts) -> bool\n\n"
"Map the list ``frames`` at the entries [first, first+len(frames)) of one leaf table,\n"
"each as frame | flags, each frame gaining an owner in ``counts`` (None: the frames\n"
"are new, their one owner this table). False, with nothing changed, when one of those\n"
"entries is in use.");

static PyObject *leaf_share(PyObject *self, PyObject *args)
{
    Py_buffer view, counts = {0};
    Py_ssize_t first, count;
    PyObject *frames, *owners, *result = NULL;
    unsigned long long flags;
    uint64_t *w, values[ENTRIES];
    (void)self;
    if (!PyArg_ParseTuple(args, "w*nO!KO", &view, &first, &PyList_Type, &frames, &flags,
                          &owners))
        return NULL;
    if (owners != Py_None && PyObject_GetBuffer(owners, &counts, PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&view);
        return NULL;
    }
    count = PyList_GET_SIZE(frames);
    w = entries(&view, first, count);
    for (Py_ssize_t i = 0; w != NULL && i < count; i++) {
        values[i] = PyLong_AsUnsignedLongLong(PyList_GET_ITEM(frames, i));
        if (values[i] == (uint64_t)-1 && PyErr_Occurred())
            w = NULL;
        else if (values[i] & ~FRAME_MASK) {
            PyErr_Format(PyExc_ValueError, "%#llx is not a page frame",
                         (unsigned long long)values[i]);
            w = NULL;
        }
    }
    if (w != NULL && (owners == Py_None || counted(&counts, values, count, 0))) {
        result = Py_True;
        for (Py_ssize_t i = 0; i < count; i++)
            if (w[i])
                result = Py_False;
        for (Py_ssize_t i = 0; result == Py_True && i < count; i++) {
            w[i] = values[i] | flags;
            if (owners != Py_None)
                ++*owner_count(&counts, values[i]);
        }
        Py_INCREF(result);
    }
    if (owners != Py_None)
        PyBuffer_Release(&counts);
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef methods[] = {
    {"present", leaf_present, METH_VARARGS, present_doc},
    {"fork", leaf_fork, METH_VARARGS, fork_doc},
    {"release", leaf_release, METH_VARARGS, release_doc},
    {"share", leaf_share, METH_VARARGS, share_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_leaves",
                                    "Leaf page table loops of linux/aspace.py.", -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__leaves(void) { return PyModule_Create(&module); }
