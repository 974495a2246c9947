/* _ipcmsg.c — the common case of a native IPC message's transfer, in C: a message
 * without capabilities or a grant, its header and payload in one page of the sender,
 * copied into the receiver's struct cloudos_msg and buffer, which lie in one page too
 * (linux/syscalls/sys_cloudos.py: a call handed to a waiting server, a reply).
 *
 * In Python the same steps were a header's unpack, the payload's copy into a bytes
 * object, the receiver's payload copy and the header's pack and copy, with a
 * translation for each side (about 20 calls). Here they are one call, and the read of
 * a receiver's buffer and capacity when it begins to wait another (peek); everything
 * else (the capability checks, which thread runs, the reply capability) stays in Python.
 *
 * move() only reads until it has checked every step: the two translations (from the
 * leaf page tables the address space remembers, PageTables.leaves: leaf-table key ->
 * word index of the table in RAM), the header's fields, every frame against the RAM's
 * size. Anything unusual (no leaf table, an entry that does not allow the access, a
 * copy-on-write page, a message across pages, capabilities, a grant, a payload over
 * MSG_MAX) returns -1 with nothing written: the caller then takes the Python path,
 * which decides (populates, breaks the copy-on-write, or answers EFAULT/EMSGSIZE).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define PAGE_SIZE 4096u
#define PAGE_OFFSET (PAGE_SIZE - 1u)
#define USER_END 0x00007FFFFFFFF000ull   /* kernel/mm/vm.py's USER_END */
#define LEAF_SHIFT 21
#define PTE_PRESENT (1ull << 0)
#define PTE_WRITABLE (1ull << 1)
#define PTE_USER (1ull << 2)
#define FRAME_MASK ((((uint64_t)1 << 40) - 1) << 12)
#define MSG_SIZE 104u                    /* struct cloudos_msg (include/cloudos.h) */
#define MSG_MAX 4096u                    /* kernel/ipc.py's MSG_MAX */

/* The physical address of the page at `va` (its frame) if its leaf table is known and
 * its entry is present and allows a user access (a write too, with `write`), and the frame lies in
 * RAM; else -1 (with a Python error set only when one happened). */
static int64_t frame_of(PyObject *leaves, uint64_t va, int write, const uint64_t *words,
                        uint64_t ram_size)
{
    PyObject *key, *value;
    long long leaf;
    uint64_t pte, frame, need = write ? PTE_PRESENT | PTE_USER | PTE_WRITABLE
                                               : PTE_PRESENT | PTE_USER;

    if (va >= USER_END)
        return -1;
    key = PyLong_FromUnsignedLongLong(va >> LEAF_SHIFT);
    if (key == NULL)
        return -1;
    value = PyDict_GetItemWithError(leaves, key);  /* (borrowed) */
    Py_DECREF(key);
    if (value == NULL)
        return -1;
    leaf = PyLong_AsLongLong(value);
    if (leaf < 0 || (uint64_t)leaf + 512u > ram_size / 8u) {
        PyErr_Clear();
        return -1;
    }
    pte = words[leaf + ((va >> 12) & 511u)];
    if ((pte & need) != need)
        return -1;
    frame = pte & FRAME_MASK;
    if (frame + PAGE_SIZE > ram_size)
        return -1;
    return (int64_t)frame;
}

static uint64_t get64(const uint8_t *at) { uint64_t v; memcpy(&v, at, 8); return v; }
static uint32_t get32(const uint8_t *at) { uint32_t v; memcpy(&v, at, 4); return v; }
static void put64(uint8_t *at, uint64_t v) { memcpy(at, &v, 8); }
static void put32(uint8_t *at, uint32_t v) { memcpy(at, &v, 4); }

/* move(ram, ram_size, src_leaves, src_msg, dst_leaves, dst_msg, dst_data, capacity,
 *      reply, sender) -> int
 * `ram`: the guest RAM's host address, `ram_size` its bytes. The sender's struct
 * cloudos_msg at `src_msg` (its address space's leaves `src_leaves`) goes into the
 * receiver's at `dst_msg` (`dst_leaves`), whose buffer `dst_data` of `capacity` bytes
 * the receiver gave when it began to wait: the payload (cut to the capacity), then the
 * header (tag, data, bytes stored, no capabilities, `reply`, `sender`, no grant).
 * Returns the bytes stored, or -1: not the common case, nothing written. */
static PyObject *move(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    uint8_t *ram;
    uint64_t ram_size, src_msg, dst_msg, dst_data, capacity, reply, sender;
    uint64_t src_off, dst_off, tag, data, size;
    uint32_t length, ncaps;
    int64_t src, dst;
    const uint8_t *header;
    (void)self;

    if (nargs != 10 || !PyDict_Check(args[2]) || !PyDict_Check(args[4]))
        return PyErr_Format(PyExc_TypeError, "move(ram, ram_size, src_leaves, src_msg, "
                            "dst_leaves, dst_msg, dst_data, capacity, reply, sender)");
    ram = PyLong_AsVoidPtr(args[0]);
    ram_size = PyLong_AsUnsignedLongLong(args[1]);
    src_msg = PyLong_AsUnsignedLongLongMask(args[3]);
    dst_msg = PyLong_AsUnsignedLongLongMask(args[5]);
    dst_data = PyLong_AsUnsignedLongLongMask(args[6]);
    capacity = PyLong_AsUnsignedLongLongMask(args[7]);
    reply = PyLong_AsUnsignedLongLongMask(args[8]);
    sender = PyLong_AsUnsignedLongLongMask(args[9]);
    if (PyErr_Occurred())
        return NULL;
    if (ram == NULL || ram_size < PAGE_SIZE)
        return PyErr_Format(PyExc_ValueError, "move: no RAM");

    /* The sender's header, in one page, and its fields */
    src_off = src_msg & PAGE_OFFSET;
    dst_off = dst_msg & PAGE_OFFSET;
    if (src_off + MSG_SIZE > PAGE_SIZE || dst_off + MSG_SIZE > PAGE_SIZE)
        return PyLong_FromLong(-1);
    src = frame_of(args[2], src_msg, 0, (const uint64_t *)ram, ram_size);
    if (src < 0)
        return PyErr_Occurred() ? NULL : PyLong_FromLong(-1);
    header = ram + src + src_off;
    tag = get64(header);
    data = get64(header + 8);
    length = get32(header + 16);
    ncaps = get32(header + 20);
    if (ncaps || get64(header + 72) || length > MSG_MAX)  /* capabilities, a grant */
        return PyLong_FromLong(-1);
    /* Its payload in the same page (none: nothing to find) */
    if (length && ((data & ~(uint64_t)PAGE_OFFSET) != (src_msg & ~(uint64_t)PAGE_OFFSET)
                   || (data & PAGE_OFFSET) + length > PAGE_SIZE))
        return PyLong_FromLong(-1);
    size = length < capacity ? length : capacity;
    /* The receiver's header page, writable now, and its buffer in it */
    if (size && ((dst_data & ~(uint64_t)PAGE_OFFSET) != (dst_msg & ~(uint64_t)PAGE_OFFSET)
                 || (dst_data & PAGE_OFFSET) + size > PAGE_SIZE))
        return PyLong_FromLong(-1);
    dst = frame_of(args[4], dst_msg, 1, (const uint64_t *)ram, ram_size);
    if (dst < 0)
        return PyErr_Occurred() ? NULL : PyLong_FromLong(-1);

    /* Checked: the payload, then the header (the sender's may share the frame) */
    if (size)
        memmove(ram + dst + (dst_data & PAGE_OFFSET), ram + src + (data & PAGE_OFFSET), size);
    {
        uint8_t out[MSG_SIZE];
        memset(out, 0, sizeof out);
        put64(out, tag);
        put64(out + 8, dst_data);
        put32(out + 16, (uint32_t)size);
        put64(out + 56, reply);
        put64(out + 64, sender);
        memcpy(ram + dst + dst_off, out, sizeof out);
    }
    return PyLong_FromUnsignedLongLong(size);
}

/* peek(ram, ram_size, leaves, msg) -> (data, len) | None: a receiver's struct
 * cloudos_msg at `msg` (its buffer and capacity), when the header lies in one page
 * whose entry allows the user to read it; None: the Python path reads it (and faults
 * the page in, or answers EFAULT). */
static PyObject *peek(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    uint8_t *ram;
    uint64_t ram_size, msg;
    int64_t frame;
    const uint8_t *header;
    (void)self;

    if (nargs != 4 || !PyDict_Check(args[2]))
        return PyErr_Format(PyExc_TypeError, "peek(ram, ram_size, leaves, msg)");
    ram = PyLong_AsVoidPtr(args[0]);
    ram_size = PyLong_AsUnsignedLongLong(args[1]);
    msg = PyLong_AsUnsignedLongLongMask(args[3]);
    if (PyErr_Occurred())
        return NULL;
    if (ram == NULL || ram_size < PAGE_SIZE)
        return PyErr_Format(PyExc_ValueError, "peek: no RAM");
    if ((msg & PAGE_OFFSET) + MSG_SIZE > PAGE_SIZE)
        Py_RETURN_NONE;
    frame = frame_of(args[2], msg, 0, (const uint64_t *)ram, ram_size);
    if (frame < 0) {
        if (PyErr_Occurred())
            return NULL;
        Py_RETURN_NONE;
    }
    header = ram + frame + (msg & PAGE_OFFSET);
    return Py_BuildValue("(KI)", (unsigned long long)get64(header + 8), get32(header + 16));
}

static PyMethodDef methods[] = {
    {"peek", (PyCFunction)(void (*)(void))peek, METH_FASTCALL,
     "A receiver's buffer and capacity from its struct cloudos_msg, in one page."},
    {"move", (PyCFunction)(void (*)(void))move, METH_FASTCALL,
     "A message's common-case transfer between two struct cloudos_msg."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_ipcmsg", NULL, -1, methods};

PyMODINIT_FUNC PyInit__ipcmsg(void) { return PyModule_Create(&module); }
