/*
 * runtime/process.c -- the Python process around the model: Ctrl-C and fork().
 *
 * Ctrl-C.  cffi releases the GIL for every C call, and Python runs its
 * signal handlers only between bytecodes of the main thread, so a long C
 * loop there (a scenario's repeat, a bulk call over a huge range, advance()
 * over a big heap) would run to its end with Ctrl-C pending.  So the
 * Python layer, at import and only while SIGINT has Python's default
 * handler (the one that raises KeyboardInterrupt), calls pm_intr_install,
 * which wraps the process's SIGINT handler (Python's own C handler) in
 * on_sigint.  A gate word says where the main thread is:
 *
 *   GATE_OUT   outside every interruptible call: on_sigint chains to the
 *              wrapped handler at once, as if pymap were not there;
 *   GATE_IN    inside one (pm_intr_enter .. pm_intr_leave): on_sigint holds
 *              the signal back instead (GATE_HELD) and does not chain, so
 *              Python's handler cannot raise KeyboardInterrupt between the
 *              call's return and the Python layer's bookkeeping;
 *   GATE_HELD  a SIGINT is held: the call's loops see it at their next poll
 *              (pm_intr_check on every GC cycle and scenario record,
 *              pm_intr_poll every PM_INTR_EVERY cheap iterations), stop
 *              between two operations -- so the state is what the first k
 *              operations made it, as after the calls' other errors -- and
 *              return PM_EINTR.  The Python layer finishes what it does for
 *              every error (the bulk call's "first k took effect", the
 *              scenario's steps and maps) and raises the signal again
 *              (signal.raise_signal): on_sigint, now at GATE_OUT, chains to
 *              Python's handler, which raises the one KeyboardInterrupt.
 *
 * The gate moves by atomic exchange and compare-and-swap, so a SIGINT is
 * either held (and reported by the call, at a poll or by pm_intr_leave) or
 * chained, never both and never neither.  Only the thread Python runs
 * handlers on uses the gate: other threads' loops run on, as Python raises
 * KeyboardInterrupt in the main thread only.  A program that installs its
 * own SIGINT handler (signal.signal, asyncio's add_signal_handler) or
 * ignores SIGINT replaces the wrapper and keeps exactly its own behaviour:
 * the C call runs to its end and the program's handler runs after it.
 * Everything on_sigint does is async-signal-safe (lock-free atomics, the
 * wrapped handler, errno saved).
 *
 * fork().  A child of a multi-threaded process has only the forking thread,
 * so a lock another thread held at the fork would stay held for ever.  The
 * C core's locks and what this file does with them (pthread_atfork):
 *
 *   - each runtime's heap lock (heap.c: a recursive spin lock owned by a
 *     thread token) and the process-wide free-list lock (alloc.c): the
 *     prepare handler takes every one -- the runtimes are listed here, under
 *     a pthread mutex -- so the fork waits until in-progress C work reaches a
 *     point where the heap is consistent; the parent releases them, the
 *     child re-initialises them.  A long holder (advance's loop of periodic
 *     cycles) lets a waiting fork in between two cycles (pm_fork_waiting).
 *     Order: the registry mutex, the heap locks, the free-list lock; no code
 *     takes a heap lock while holding another or the free-list lock, and none
 *     takes the mutex under a heap lock (a runtime's last reference never
 *     goes while its heap is locked);
 *   - the per-map reader/writer try-locks (map.c) and the iterator busy
 *     flags are not waited for: they never spin, and a fork must not wait
 *     for a bulk call of 10**8 keys.  In the child a map that another thread
 *     was inside at the fork keeps that thread's lock: every operation on it
 *     raises Go's error for the overlap (ConcurrentMapWrite, or
 *     ConcurrentMapReadWrite after a read), len() still answers, and dropping
 *     it leaves its memory alone rather than freeing what may be mid-write;
 *   - the memory walk's spin flag (map.c) holds the walker's fork
 *     generation, so a walk left behind by a thread of the parent is taken
 *     over in the child;
 *   - pthread_once (size classes, the map implementations' registration) is
 *     fork-safe in glibc, which restarts an initialisation a fork interrupted.
 * The signal gate starts again at GATE_OUT in the child, whose Python main
 * thread is the forking thread.
 */
#define _XOPEN_SOURCE 700   /* sigaction and siginfo_t under -std=c11 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include "runtime/runtime.h"

/* ---- Ctrl-C ---- */

enum intr_gate {
    GATE_OUT,       /* the main thread is outside every interruptible call */
    GATE_IN,        /* it is inside one; no SIGINT has come */
    GATE_HELD,      /* it is inside one, and a SIGINT is held for it */
};

static int gate = GATE_OUT;             /* enum intr_gate, moved atomically */
static int installed;                   /* on_sigint wraps `chained` */
static struct sigaction chained;        /* the handler on_sigint wraps (set before it is installed) */
static pthread_t main_thread;           /* the thread Python runs signal handlers on */
static int main_depth;                  /* main thread only: nesting of interruptible calls */
static bool held_other;                 /* main thread only: a SIGINT came during a call
                                           that failed with another error */

static void on_sigint(int sig, siginfo_t *si, void *uc)
{
    int saved = errno;
    int expect = GATE_IN;
    if (!__atomic_compare_exchange_n(&gate, &expect, GATE_HELD, false, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST) && expect != GATE_HELD) {
        if (chained.sa_flags & SA_SIGINFO)
            chained.sa_sigaction(sig, si, uc);
        else
            chained.sa_handler(sig);
    }
    errno = saved;
}

int pm_intr_install(uint64_t main_ident)
{
    struct sigaction cur, ours;
    if (sigaction(SIGINT, NULL, &cur) != 0)
        return 0;
    bool siginfo = (cur.sa_flags & SA_SIGINFO) != 0;
    if (siginfo && cur.sa_sigaction == on_sigint)
        return 1;   /* already ours */
    if (!siginfo && (cur.sa_handler == SIG_IGN || cur.sa_handler == SIG_DFL))
        return 0;   /* nothing to wrap: the program ignores SIGINT, or it kills the process */
    main_thread = (pthread_t)(uintptr_t)main_ident;
    chained = cur;
    ours = cur;
    ours.sa_sigaction = on_sigint;
    ours.sa_flags = cur.sa_flags | SA_SIGINFO;
    if (sigaction(SIGINT, &ours, NULL) != 0)
        return 0;
    __atomic_store_n(&installed, 1, __ATOMIC_SEQ_CST);
    return 1;
}

static bool on_main_thread(void)
{
    return __atomic_load_n(&installed, __ATOMIC_RELAXED) && pthread_equal(pthread_self(), main_thread);
}

void pm_intr_enter(void)
{
    if (!on_main_thread())
        return;
    if (main_depth++ == 0)
        __atomic_store_n(&gate, GATE_IN, __ATOMIC_SEQ_CST);
}

int pm_intr_leave(int rc)
{
    if (!on_main_thread() || main_depth == 0)
        return rc;
    if (--main_depth > 0)
        return rc;
    if (__atomic_exchange_n(&gate, GATE_OUT, __ATOMIC_SEQ_CST) != GATE_HELD)
        return rc;
    if (rc == PM_OK) {
        set_error("interrupted (SIGINT) as the call completed: all of its work took effect");
        return PM_EINTR;
    }
    if (rc != PM_EINTR)
        held_other = true;    /* reported with the call's own error (pm_intr_take_held) */
    return rc;
}

bool pm_intr_check(void)
{
    if (__atomic_load_n(&gate, __ATOMIC_RELAXED) != GATE_HELD || !on_main_thread() || main_depth == 0)
        return false;
    set_error("interrupted (SIGINT)");
    return true;
}

int pm_intr_take_held(void)
{
    if (!held_other || !on_main_thread())
        return 0;
    held_other = false;
    return 1;
}

/* ---- fork() ---- */

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static pm_runtime *registry;            /* every live runtime, through fork_next / fork_prev */
static int fork_waiting;                /* a prepare handler is taking the heap locks */
static uint32_t fork_generation;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

bool pm_fork_waiting(void) { return __atomic_load_n(&fork_waiting, __ATOMIC_RELAXED) != 0; }
uint32_t pm_fork_generation(void) { return __atomic_load_n(&fork_generation, __ATOMIC_RELAXED); }

static void fork_prepare(void)
{
    pthread_mutex_lock(&registry_lock);
    __atomic_store_n(&fork_waiting, 1, __ATOMIC_SEQ_CST);
    for (pm_runtime *rt = registry; rt; rt = rt->fork_next)
        heap_lock(&rt->heap);
    fl_fork_lock();
}

static void fork_parent(void)
{
    fl_fork_unlock();
    for (pm_runtime *rt = registry; rt; rt = rt->fork_next)
        heap_unlock(&rt->heap);
    __atomic_store_n(&fork_waiting, 0, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&registry_lock);
}

static void fork_child(void)
{
    fl_fork_reinit();
    for (pm_runtime *rt = registry; rt; rt = rt->fork_next)
        heap_lock_reinit(&rt->heap);
    __atomic_store_n(&fork_waiting, 0, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&fork_generation, 1, __ATOMIC_SEQ_CST);
    if (!pthread_equal(pthread_self(), main_thread)) {
        /* Python's main thread is now the forking thread (PyOS_AfterFork_Child). */
        main_thread = pthread_self();
        main_depth = 0;
        held_other = false;
        __atomic_store_n(&gate, GATE_OUT, __ATOMIC_SEQ_CST);
    }
    pthread_mutex_unlock(&registry_lock);   /* the forking thread took it in fork_prepare */
}

static void atfork_register(void)
{
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

void pm_process_register(pm_runtime *rt)
{
    pthread_once(&atfork_once, atfork_register);
    pthread_mutex_lock(&registry_lock);
    rt->fork_prev = NULL;
    rt->fork_next = registry;
    if (registry)
        registry->fork_prev = rt;
    registry = rt;
    pthread_mutex_unlock(&registry_lock);
}

void pm_process_unregister(pm_runtime *rt)
{
    pthread_mutex_lock(&registry_lock);
    if (rt->fork_prev)
        rt->fork_prev->fork_next = rt->fork_next;
    else if (registry == rt)
        registry = rt->fork_next;
    if (rt->fork_next)
        rt->fork_next->fork_prev = rt->fork_prev;
    rt->fork_next = rt->fork_prev = NULL;
    pthread_mutex_unlock(&registry_lock);
}
