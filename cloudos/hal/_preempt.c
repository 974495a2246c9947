/* _preempt.c — the vCPU's preemption point: a Unicorn block hook in C.
 *
 * Stopping Unicorn from another thread (uc_emu_stop, or emu_start's own
 * timeout) can land in the middle of a translation block and leave RIP at an
 * earlier instruction whose memory effects already happened: the guest then
 * executes them twice (measured: a `lock inc` loop over-counted after timer
 * stops). Stopping from a block hook, at the start of a block, is exact. A
 * Python block hook costs ~30x in compute-bound code, so the hook is this
 * C function: the timer thread only raises `flag`; the next block stops.
 * (Upstream: unicorn-engine/unicorn issue 1105.)
 *
 * Ring-0 code (the kernel half, top address bit set) is never preempted, as a
 * kernel's return-to-user path runs with interrupts off: a new context's first
 * block is the iretq stub, whose frame sits on the CPU's one kernel stack page.
 * Stopped there, the context would later pop whatever frame the next new
 * context wrote, and start at that one's entry (issue 11). The flag stays
 * raised, so the stop comes at the first user block instead.
 *
 * Also here, as the one C file of the hal: rdtsc(), the host's time-stamp counter,
 * which the guest's vDSO reads too (cloudos/linux/vdso.py keeps the two clocks one).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

struct preempt {
    volatile int flag;               /* set by the timer thread */
    int (*stop)(void *uc);           /* uc_emu_stop */
    uint64_t countdown;              /* stress mode: raise flag after this many blocks */
};

static void block_hook(void *uc, uint64_t address, uint32_t size, void *user_data)
{
    struct preempt *p = (struct preempt *)user_data;
    (void)size;
    if (address >> 63)
        return;
    if (p->countdown && --p->countdown == 0)
        p->flag = 1;
    if (p->flag) {
        p->flag = 0;
        p->stop(uc);
    }
}

static PyObject *hook_address(PyObject *self, PyObject *args)
{
    (void)self;
    (void)args;
    return PyLong_FromVoidPtr((void *)block_hook);
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
    {"rdtsc", rdtsc, METH_NOARGS, "The host CPU's time-stamp counter."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_preempt", NULL, -1, methods};

PyMODINIT_FUNC PyInit__preempt(void) { return PyModule_Create(&module); }
