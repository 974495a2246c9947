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
 * Also here: the SYSCALL gate (syscall_hook below), the CPUID hook (cpuid_hook), and rdtsc(), the host's time-stamp counter,
 * which the guest's vDSO reads too (cloudos/linux/vdso.py keeps the two clocks one).
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

/* The CPUID hook: leaf 7 subleaf 0 gets the answer cpu.py probed and filtered (1: the
 * instruction is done); every other leaf is Unicorn's own (0). A program's start runs
 * ~20 CPUIDs (glibc's feature probe): as a Python callback each cost ~4 us. */
struct cpuid {
    int (*read)(void *uc, int id, void *value);
    int (*write)(void *uc, int id, const void *value);
    int ids[4];                      /* RAX, RBX, RCX, RDX */
    uint64_t leaf7[4];               /* their values for leaf 7 subleaf 0 */
};

static int cpuid_hook(void *uc, void *user_data)
{
    struct cpuid *c = (struct cpuid *)user_data;
    uint64_t leaf = 0, subleaf = 0;
    int i;

    if (c->read(uc, c->ids[0], &leaf) != 0 || (uint32_t)leaf != 7)
        return 0;
    if (c->read(uc, c->ids[2], &subleaf) != 0 || (uint32_t)subleaf != 0)
        return 0;
    for (i = 0; i < 4; i++)
        c->write(uc, c->ids[i], &c->leaf7[i]);
    return 1;
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

static PyObject *cpuid_address(PyObject *self, PyObject *args)
{
    (void)self;
    (void)args;
    return PyLong_FromVoidPtr((void *)cpuid_hook);
}

static PyObject *rdtsc(PyObject *self, PyObject *args)
{
    uint32_t lo, hi;
    (void)self;
    (void)args;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return PyLong_FromUnsignedLongLong((uint64_t)hi << 32 | lo);
}

static PyMethodDef methods[] = {
    {"hook_address", hook_address, METH_NOARGS, "Address of the C block hook."},
    {"gate_address", gate_address, METH_NOARGS, "Address of the C SYSCALL gate."},
    {"cpuid_address", cpuid_address, METH_NOARGS, "Address of the C CPUID hook."},
    {"rdtsc", rdtsc, METH_NOARGS, "The host CPU's time-stamp counter."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_preempt", NULL, -1, methods};

PyMODINIT_FUNC PyInit__preempt(void) { return PyModule_Create(&module); }
