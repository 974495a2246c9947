/* _preempt.c — the vCPU's preemption point: a Unicorn block hook in C.
 *
 * Stopping Unicorn from another thread (uc_emu_stop, or emu_start's own
 * timeout) can land in the middle of a translation block and leave RIP at an
 * earlier instruction whose memory effects already happened: the guest then
 * executes them twice (measured: a `lock inc` loop over-counted after timer
 * stops). Stopping from a block hook, at the start of a block, is exact. A
 * Python block hook costs ~30x in compute-bound code, so the hook is this
 * C function. It is also the quantum's timer: every CHECK_BLOCKS blocks it reads
 * CLOCK_MONOTONIC (the vDSO: no system call) and stops once `deadline` passed, so
 * arming a quantum is one store (a timer thread woken per quantum cost ~25 us a
 * slice in lock and GIL hand-offs). Another CPU raises `flag` to stop this one at its
 * next block (an interprocessor interrupt). (Upstream: unicorn-engine/unicorn issue 1105.)
 *
 * Ring-0 code (the kernel half, top address bit set) is never preempted, as a
 * kernel's return-to-user path runs with interrupts off: a new context's first
 * block is the iretq stub, whose frame sits on the CPU's one kernel stack page.
 * Stopped there, the context would later pop whatever frame the next new
 * context wrote, and start at that one's entry (issue 11). The flag stays
 * raised, so the stop comes at the first user block instead.
 *
 * Also here: the SYSCALL gate (syscall_hook below), rdtsc(), the host's time-stamp counter,
 * which the guest's vDSO reads too (cloudos/linux/vdso.py keeps the two clocks one), and
 * swap(), the direct switch's context swap in one call (Cpu.switch).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <time.h>

#define CHECK_BLOCKS 64              /* blocks between two looks at the clock */

struct preempt {
    volatile int flag;               /* raised by another CPU: stop at the next block */
    int (*stop)(void *uc);           /* uc_emu_stop */
    uint64_t countdown;              /* stress mode: raise flag after this many blocks */
    uint64_t deadline;               /* CLOCK_MONOTONIC ns at which the quantum ends; 0: none */
    uint32_t blocks;                 /* blocks left before the next look at the clock */
};

static int past(uint64_t deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec >= deadline;
}

static void block_hook(void *uc, uint64_t address, uint32_t size, void *user_data)
{
    struct preempt *p = (struct preempt *)user_data;
    (void)size;
    if (address >> 63)
        return;
    if (p->countdown && --p->countdown == 0)
        p->flag = 1;
    if (p->deadline && --p->blocks == 0) {
        p->blocks = CHECK_BLOCKS;
        if (past(p->deadline))
            p->flag = 1;
    }
    if (p->flag) {
        p->flag = 0;
        p->stop(uc);
    }
}

/* The SYSCALL gate: a Unicorn UC_HOOK_INSN hook for SYSCALL that reads RAX and the six
 * argument registers in one batch and calls the Python handler with them as seven ints.
 * The handler returns RAX (an int: written back, the guest goes on) or None (the CPU
 * stops: the handler blocked or ended the thread, or wrote RAX itself). Through the
 * binding, the same hook was a ctypes callback, two Python wrappers and two more ctypes
 * calls for the registers: about 1.5 us of a 3.7 us getpid. The handler catches its own
 * exceptions (cpu.py); one escaping here is reported as unraisable and stops the CPU. */
struct gate {
    PyObject *handler;
    int (*read_batch)(void *uc, int *ids, void **values, int count);
    int (*write)(void *uc, int id, const void *value);
    int (*stop)(void *uc);
    int ids[7];                      /* RAX, RDI, RSI, RDX, R10, R8, R9 */
    int rax;
    uint64_t values[7];
};

static void syscall_hook(void *uc, void *user_data)
{
    struct gate *g = (struct gate *)user_data;
    void *slots[7];
    PyObject *argv[7];
    PyObject *result = NULL;
    int i, n = 0;
    PyGILState_STATE state = PyGILState_Ensure();

    for (i = 0; i < 7; i++)
        slots[i] = &g->values[i];
    if (g->read_batch(uc, g->ids, slots, 7) == 0) {
        for (n = 0; n < 7; n++) {
            argv[n] = PyLong_FromUnsignedLongLong(g->values[n]);
            if (argv[n] == NULL)
                break;
        }
        if (n == 7)
            result = PyObject_Vectorcall(g->handler, argv, 7, NULL);
        for (i = 0; i < n; i++)
            Py_DECREF(argv[i]);
    }
    if (result == NULL) {
        if (PyErr_Occurred())
            PyErr_WriteUnraisable(g->handler);
        g->stop(uc);
    } else if (result == Py_None) {
        g->stop(uc);
    } else {
        uint64_t rax = PyLong_AsUnsignedLongLongMask(result);
        if (rax == (uint64_t)-1 && PyErr_Occurred()) {
            PyErr_WriteUnraisable(g->handler);
            g->stop(uc);
        } else {
            g->write(uc, g->rax, &rax);
        }
    }
    Py_XDECREF(result);
    PyGILState_Release(state);
}

static PyObject *hook_address(PyObject *self, PyObject *args)
{
    (void)self;
    (void)args;
    return PyLong_FromVoidPtr((void *)block_hook);
}

static PyObject *gate_address(PyObject *self, PyObject *args)
{
    (void)self;
    (void)args;
    return PyLong_FromVoidPtr((void *)syscall_hook);
}

static PyObject *rdtsc(PyObject *self, PyObject *args)
{
    uint32_t lo, hi;
    (void)self;
    (void)args;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return PyLong_FromUnsignedLongLong((uint64_t)hi << 32 | lo);
}

/* uc_context_save and uc_context_restore (set once by swap_setup: the C API's). */
static int (*context_save)(void *uc, void *context);
static int (*context_restore)(void *uc, void *context);

static PyObject *swap_setup(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    (void)self;
    if (n != 2)
        return PyErr_Format(PyExc_TypeError, "swap_setup takes 2 addresses");
    context_save = PyLong_AsVoidPtr(args[0]);
    context_restore = PyLong_AsVoidPtr(args[1]);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

/* swap(uc, old, new, rip, rax, latch, latch_bits, preempt, quantum_ns, result): Cpu.switch's
 * steps in one call (each ctypes call costs about a microsecond). `old` and `new` are
 * uc_context blobs, seen as 64-bit words; `rip`, `rax`, `latch` are word indexes (latch
 * -1: none). The running state is saved into `old` with its exception latch cleared,
 * `new` restored with its RIP 2 back (Unicorn moves RIP past the SYSCALL after the hook)
 * and `old`'s saved RIP set 2 on; with `preempt` (struct preempt *, 0: the caller arms
 * the quantum) the quantum starts now; with `result` (not None) `old`'s saved RAX is set
 * to it (what its system call returns when it runs again). Returns `new`'s RAX. */
static PyObject *swap(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    (void)self;
    if (n != 10)
        return PyErr_Format(PyExc_TypeError, "swap takes 10 arguments");
    void *uc = PyLong_AsVoidPtr(args[0]);
    uint64_t *old = PyLong_AsVoidPtr(args[1]), *new = PyLong_AsVoidPtr(args[2]);
    Py_ssize_t rip = PyLong_AsSsize_t(args[3]), rax = PyLong_AsSsize_t(args[4]);
    Py_ssize_t latch = PyLong_AsSsize_t(args[5]);
    uint64_t latch_bits = PyLong_AsUnsignedLongLong(args[6]);
    struct preempt *p = PyLong_AsVoidPtr(args[7]);
    long long quantum_ns = PyLong_AsLongLong(args[8]);
    int has_result = args[9] != Py_None;
    uint64_t result = has_result ? PyLong_AsUnsignedLongLongMask(args[9]) : 0;
    if (PyErr_Occurred())
        return NULL;
    if (!context_save || !uc || !old || !new)
        return PyErr_Format(PyExc_RuntimeError, "swap: not set up");
    int err = context_save(uc, old);
    if (err)
        return PyErr_Format(PyExc_RuntimeError, "uc_context_save: %d", err);
    if (latch >= 0)
        old[latch] |= latch_bits;
    new[rip] -= 2;
    err = context_restore(uc, new);
    new[rip] += 2;
    if (err)
        return PyErr_Format(PyExc_RuntimeError, "uc_context_restore: %d", err);
    old[rip] += 2;
    if (has_result)
        old[rax] = result;
    if (p) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        p->flag = 0;
        p->blocks = 1;  /* the first block looks at the clock */
        p->deadline = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec
                      + (uint64_t)quantum_ns;
    }
    return PyLong_FromUnsignedLongLong(new[rax]);
}

static PyMethodDef methods[] = {
    {"swap_setup", (PyCFunction)(void (*)(void))swap_setup, METH_FASTCALL,
     "Set uc_context_save's and uc_context_restore's addresses for swap."},
    {"swap", (PyCFunction)(void (*)(void))swap, METH_FASTCALL,
     "Cpu.switch's context swap in one call."},
    {"hook_address", hook_address, METH_NOARGS, "Address of the C block hook."},
    {"gate_address", gate_address, METH_NOARGS, "Address of the C SYSCALL gate."},
    {"rdtsc", rdtsc, METH_NOARGS, "The host CPU's time-stamp counter."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_preempt", NULL, -1, methods};

PyMODINIT_FUNC PyInit__preempt(void) { return PyModule_Create(&module); }
