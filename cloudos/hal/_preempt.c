/* _preempt.c — the vCPU's preemption timer, in C: a host thread per CPU that stops
 * Unicorn at the quantum's deadline, or when another CPU asks (an interprocessor
 * interrupt).
 *
 * A stop from another thread (uc_emu_stop: QEMU's cpu_exit) is a request that the
 * translated code checks. QEMU checks it at the start of each translation block,
 * which is exact; Unicorn 2.1.4 also checks it after every guest load and store
 * (check_exit_request in tcg-op.c) and, when set, leaves with the state put back at
 * the start of the instruction that did the access: a store that already happened
 * is then done again (measured: a `lock inc` loop over-counted; upstream
 * unicorn-engine/unicorn issue 1105). Unicorn skips those mid-block checks while its
 * `no_exit_request` is set (its workaround for ARM's IT blocks), and the start of a
 * block is checked regardless: hal/cpu.py finds that field at boot, sets it, and
 * proves with a probe that a stop requested mid-block no longer lands there. Stops
 * are then exact from any thread, at block starts, and need no hook in the guest's
 * code (a C block hook that read the clock every 64 blocks cost ~0.7 s of compute's
 * 1.8: 1.2x native).
 *
 * The thread sleeps until the deadline; arming a new quantum is a store under a
 * lock, and wakes the thread only if it sleeps past the new deadline. A stop can
 * fall between two runs and be lost (uc_emu_start clears the request): the thread
 * repeats it every RETRY_NS until the run that was armed is disarmed. While the
 * SYSCALL gate serves a call the thread makes no stop (a stop cannot be taken back,
 * and the call may start another slice: a direct switch re-arms); the gate itself
 * stops the CPU on its way out when the deadline has passed.
 *
 * Also here: the block hook of the preemption stress mode (a stop after a few
 * blocks), the SYSCALL gate (syscall_hook below), the CPUID hook (cpuid_hook),
 * rdtsc(), the host's time-stamp counter, which the guest's vDSO reads too
 * (cloudos/linux/vdso.py keeps the two clocks one), and swap(), the direct switch's
 * context swap in one call (Cpu.switch).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>

#define RETRY_NS 200000u             /* a stop not yet seen is made again this often */

static uint64_t now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

struct qtimer {
    pthread_mutex_t lock;
    pthread_cond_t cond;             /* on CLOCK_MONOTONIC */
    pthread_t thread;
    void *uc;
    int (*stop)(void *uc);           /* uc_emu_stop */
    uint64_t deadline;               /* CLOCK_MONOTONIC ns the quantum ends at; 0: no run */
    uint64_t wake_at;                /* when the thread's sleep ends; UINT64_MAX: no time */
    uint64_t stops;                  /* stops made (tests look at it) */
    int kicked;                      /* another CPU asked for a stop */
    int in_gate;                     /* the vCPU is in the SYSCALL gate (see syscall_hook) */
    int quit;
};

static void *timer_thread(void *arg)
{
    struct qtimer *t = (struct qtimer *)arg;
    struct timespec until;

    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);  /* wake on time, not up to 50 us late */
    pthread_mutex_lock(&t->lock);
    while (!t->quit) {
        uint64_t now = now_ns();
        int late = t->deadline && now >= t->deadline;
        if (t->deadline && (t->kicked || (late && !__atomic_load_n(&t->in_gate, __ATOMIC_SEQ_CST)))) {
            t->stop(t->uc);
            t->stops++;
            t->wake_at = now + RETRY_NS;
        } else if (late) {
            t->wake_at = UINT64_MAX;  /* the gate stops it on the way out, or re-arms */
        } else {
            t->wake_at = t->deadline ? t->deadline : UINT64_MAX;
        }
        if (t->wake_at == UINT64_MAX) {
            pthread_cond_wait(&t->cond, &t->lock);
        } else {
            until.tv_sec = (time_t)(t->wake_at / 1000000000u);
            until.tv_nsec = (long)(t->wake_at % 1000000000u);
            pthread_cond_timedwait(&t->cond, &t->lock, &until);
        }
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

static struct qtimer *timer_of(PyObject *handle)
{
    struct qtimer *t = (struct qtimer *)PyLong_AsVoidPtr(handle);
    if (t == NULL && !PyErr_Occurred())
        PyErr_SetString(PyExc_ValueError, "no timer");
    return t;
}

/* timer_new(uc, uc_emu_stop) -> handle: a disarmed timer and its thread. */
static PyObject *timer_new(PyObject *self, PyObject *args)
{
    PyObject *uc, *stop;
    pthread_condattr_t attr;
    struct qtimer *t;
    int err;
    (void)self;
    if (!PyArg_ParseTuple(args, "OO", &uc, &stop))
        return NULL;
    t = calloc(1, sizeof *t);
    if (t == NULL)
        return PyErr_NoMemory();
    t->uc = PyLong_AsVoidPtr(uc);
    t->stop = (int (*)(void *))PyLong_AsVoidPtr(stop);
    if (PyErr_Occurred() || t->uc == NULL || t->stop == NULL) {
        free(t);
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "timer_new: null engine or stop");
        return NULL;
    }
    t->wake_at = UINT64_MAX;
    pthread_mutex_init(&t->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cond, &attr);
    pthread_condattr_destroy(&attr);
    err = pthread_create(&t->thread, NULL, timer_thread, t);
    if (err) {
        pthread_cond_destroy(&t->cond);
        pthread_mutex_destroy(&t->lock);
        free(t);
        errno = err;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    return PyLong_FromVoidPtr(t);
}

/* timer_arm(handle, ns): a run starts; stop it ns from now. */
/* Arm: the run now starting stops in ``ns`` (a store under the lock; the thread is woken
 * only if it sleeps past the new deadline). */
static void qtimer_arm(struct qtimer *t, uint64_t ns)
{
    pthread_mutex_lock(&t->lock);
    t->deadline = now_ns() + (ns ? ns : 1);
    t->kicked = 0;
    if (t->deadline < t->wake_at)
        pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
}

static PyObject *timer_arm(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    struct qtimer *t;
    uint64_t ns;
    (void)self;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "timer_arm(handle, ns)");
        return NULL;
    }
    if ((t = timer_of(args[0])) == NULL)
        return NULL;
    ns = PyLong_AsUnsignedLongLong(args[1]);
    if (ns == (uint64_t)-1 && PyErr_Occurred())
        return NULL;
    qtimer_arm(t, ns);
    Py_RETURN_NONE;
}

/* timer_disarm(handle): the run ended; no stop is made for it after this returns. */
static PyObject *timer_disarm(PyObject *self, PyObject *handle)
{
    struct qtimer *t;
    (void)self;
    if ((t = timer_of(handle)) == NULL)
        return NULL;
    pthread_mutex_lock(&t->lock);
    t->deadline = 0;
    t->kicked = 0;
    pthread_mutex_unlock(&t->lock);
    Py_RETURN_NONE;
}

/* timer_kick(handle): stop the armed run at its next block (ignored between runs). */
static PyObject *timer_kick(PyObject *self, PyObject *handle)
{
    struct qtimer *t;
    (void)self;
    if ((t = timer_of(handle)) == NULL)
        return NULL;
    pthread_mutex_lock(&t->lock);
    if (t->deadline) {
        t->kicked = 1;
        t->stop(t->uc);
        t->stops++;
        pthread_cond_signal(&t->cond);  /* (it repeats the stop until the run ends) */
    }
    pthread_mutex_unlock(&t->lock);
    Py_RETURN_NONE;
}

/* timer_stops(handle) -> the stops made so far. */
static PyObject *timer_stops(PyObject *self, PyObject *handle)
{
    struct qtimer *t;
    uint64_t stops;
    (void)self;
    if ((t = timer_of(handle)) == NULL)
        return NULL;
    pthread_mutex_lock(&t->lock);
    stops = t->stops;
    pthread_mutex_unlock(&t->lock);
    return PyLong_FromUnsignedLongLong(stops);
}

/* timer_free(handle): end the thread (the engine must outlive this call). */
static PyObject *timer_free(PyObject *self, PyObject *handle)
{
    struct qtimer *t;
    (void)self;
    if ((t = timer_of(handle)) == NULL)
        return NULL;
    pthread_mutex_lock(&t->lock);
    t->quit = 1;
    t->deadline = 0;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
    Py_BEGIN_ALLOW_THREADS
    pthread_join(t->thread, NULL);
    Py_END_ALLOW_THREADS
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->lock);
    free(t);
    Py_RETURN_NONE;
}

/* The preemption stress mode's block hook: stop after `countdown` blocks (set per run),
 * in ring 3 or in ring 0 alike, as the timer may. */
struct stress {
    int (*stop)(void *uc);           /* uc_emu_stop */
    uint64_t countdown;              /* blocks before the stop; 0: none */
};

static void block_hook(void *uc, uint64_t address, uint32_t size, void *user_data)
{
    struct stress *p = (struct stress *)user_data;
    (void)address;
    (void)size;
    if (p->countdown && --p->countdown == 0)
        p->stop(uc);
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
    struct qtimer *timer;            /* the CPU's (see the end of syscall_hook) */
};

static void syscall_hook(void *uc, void *user_data)
{
    struct gate *g = (struct gate *)user_data;
    void *slots[7];
    PyObject *argv[7];
    PyObject *result = NULL;
    int i, n = 0, result_goes_on = 0;
    struct qtimer *t = g->timer;
    PyGILState_STATE state;

    __atomic_store_n(&t->in_gate, 1, __ATOMIC_SEQ_CST);
    state = PyGILState_Ensure();
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
            result_goes_on = 1;
        }
    }
    Py_XDECREF(result);
    PyGILState_Release(state);
    /* The timer makes no stop while the kernel serves a call here: one made in the
     * middle would also stop the slice the handler may have started since (a direct
     * switch re-arms the timer). The quantum that ran out meanwhile ends here. */
    __atomic_store_n(&t->in_gate, 0, __ATOMIC_SEQ_CST);
    if (result_goes_on) {
        uint64_t deadline = __atomic_load_n(&t->deadline, __ATOMIC_SEQ_CST);
        if (deadline && now_ns() >= deadline)
            g->stop(uc);
    }
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

/* uc_context_save, uc_context_restore and uc_ctl (set once by swap_setup: the C API's),
 * and uc_ctl's control word for a TLB flush. */
static int (*context_save)(void *uc, void *context);
static int (*context_restore)(void *uc, void *context);
static int (*uc_control)(void *uc, int control, ...);
static int tlb_flush_control;

static PyObject *swap_setup(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    (void)self;
    if (n != 2 && n != 4)
        return PyErr_Format(PyExc_TypeError, "swap_setup takes 2 addresses (and uc_ctl's, "
                            "with its TLB flush control word)");
    context_save = PyLong_AsVoidPtr(args[0]);
    context_restore = PyLong_AsVoidPtr(args[1]);
    if (n == 4) {
        uc_control = PyLong_AsVoidPtr(args[2]);
        tlb_flush_control = (int)PyLong_AsLong(args[3]);
    }
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

/* swap(uc, old, new, rip, rax, latch, latch_bits, timer, quantum_ns, result[, flush]):
 * Cpu.switch's
 * steps in one call (each ctypes call costs about a microsecond). `old` and `new` are
 * uc_context blobs, seen as 64-bit words; `rip`, `rax`, `latch` are word indexes (latch
 * -1: none). The running state is saved into `old` with its exception latch cleared,
 * `new` restored with its RIP 2 back (Unicorn moves RIP past the SYSCALL after the hook)
 * and `old`'s saved RIP set 2 on; with `timer` (a qtimer handle, 0: the caller arms
 * the quantum) the quantum starts now; with `result` (not None) `old`'s saved RAX is set
 * to it (what its system call returns when it runs again); with `flush` true (`new` runs
 * on other page tables) the TLB is dropped, uc_ctl's TLB flush made here rather than
 * through ctypes (~1 us). Returns `new`'s RAX. */
static PyObject *swap(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    (void)self;
    if (n != 10 && n != 11)
        return PyErr_Format(PyExc_TypeError, "swap takes 10 or 11 arguments");
    void *uc = PyLong_AsVoidPtr(args[0]);
    uint64_t *old = PyLong_AsVoidPtr(args[1]), *new = PyLong_AsVoidPtr(args[2]);
    Py_ssize_t rip = PyLong_AsSsize_t(args[3]), rax = PyLong_AsSsize_t(args[4]);
    Py_ssize_t latch = PyLong_AsSsize_t(args[5]);
    uint64_t latch_bits = PyLong_AsUnsignedLongLong(args[6]);
    struct qtimer *timer = PyLong_AsVoidPtr(args[7]);
    long long quantum_ns = PyLong_AsLongLong(args[8]);
    int has_result = args[9] != Py_None;
    uint64_t result = has_result ? PyLong_AsUnsignedLongLongMask(args[9]) : 0;
    int flush = n == 11 ? PyObject_IsTrue(args[10]) : 0;
    if (flush < 0 || PyErr_Occurred())
        return NULL;
    if (!context_save || !uc || !old || !new || (flush && !uc_control))
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
    if (flush) {
        err = uc_control(uc, tlb_flush_control);
        if (err)
            return PyErr_Format(PyExc_RuntimeError, "uc_ctl(TLB_FLUSH): %d", err);
    }
    if (timer)
        qtimer_arm(timer, quantum_ns > 0 ? (uint64_t)quantum_ns : 0);
    return PyLong_FromUnsignedLongLong(new[rax]);
}

static PyMethodDef methods[] = {
    {"swap_setup", (PyCFunction)(void (*)(void))swap_setup, METH_FASTCALL,
     "Set uc_context_save's and uc_context_restore's addresses for swap."},
    {"swap", (PyCFunction)(void (*)(void))swap, METH_FASTCALL,
     "Cpu.switch's context swap in one call."},
    {"hook_address", hook_address, METH_NOARGS, "Address of the stress mode's block hook."},
    {"gate_address", gate_address, METH_NOARGS, "Address of the C SYSCALL gate."},
    {"cpuid_address", cpuid_address, METH_NOARGS, "Address of the C CPUID hook."},
    {"rdtsc", rdtsc, METH_NOARGS, "The host CPU's time-stamp counter."},
    {"timer_new", timer_new, METH_VARARGS, "A preemption timer for an engine."},
    {"timer_arm", (PyCFunction)(void (*)(void))timer_arm, METH_FASTCALL, "Arm: stop in ns."},
    {"timer_disarm", timer_disarm, METH_O, "Disarm: the run ended."},
    {"timer_kick", timer_kick, METH_O, "Stop the armed run now."},
    {"timer_stops", timer_stops, METH_O, "Stops made so far."},
    {"timer_free", timer_free, METH_O, "End the timer's thread."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_preempt", NULL, -1, methods};

PyMODINIT_FUNC PyInit__preempt(void) { return PyModule_Create(&module); }
