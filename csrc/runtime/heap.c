/*
 * heap.c -- the Go heap around the maps: spans, MemStats, the GC pacer,
 * GC cycles and gctrace.
 *
 * What it models.  Each pm_runtime owns one mheap.  Every byte the model
 * charges (alloc.c's gc_alloc and the map's non-gobj allocations: hmap,
 * mapextra, overflow-slice headers and backing arrays) takes a slot here:
 *
 *   - small objects (<= 32 KiB; <= 32760 B from Go 1.22) go to a span of
 *     their spanclass (size class x noscan).  The mcache holds one span per
 *     spanclass; when it is full, refill takes a swept span with free slots
 *     (mcentral's partial list) or a fresh span of class_to_allocnpages
 *     pages.  Freed slots are reused by later allocations of the class.
 *   - noscan objects under 16 B (only `*[N]byte` pointees with N < 16) go
 *     through the tiny allocator: 16-byte blocks of class 2, packed with
 *     Go's alignment rule; a block lives while any object in it does.
 *   - large objects get a span of their own, in whole 8 KiB pages.
 *   Pages come from a page heap that grows by 512-page (4 MiB) steps; newly
 *   grown pages count as released (scavenged) until a span uses them, as in
 *   Go's page allocator.
 *
 * Liveness.  The core's reference counts are exactly Go's reachability
 * (roots: GoMap handles, live iterators, sync.Pool slots; no map object can
 * form a cycle), so when a modelled object's last reference goes,
 * heap_free marks its slot *dead*: it stays in HeapAlloc, HeapObjects and
 * the span until a GC cycle sweeps it, as in Go.  The model's own memory
 * is returned at once (the free list); only the accounting waits.
 *
 * GC cycles.  runtime.GC() (pm_gc), FreeOSMemory and the 2-minute periodic
 * GC (pm_advance on the virtual clock) run a whole cycle at once: the
 * mutator does not run during them, so gctrace's A equals B.  A cycle
 * started by the heap trigger -- checked as mallocgc does, after every
 * large allocation and after every small one that refilled its mcache
 * span -- is concurrent, as Go's is: gc_start (pool cleanup, the mcache's
 * tiny block dropped, startCycle) happens at the trigger; the mark phase
 * then runs while the mutator goes on allocating, and gc_finish (mark
 * termination, the mcaches flushed, endCycle / resetLive / commit, the
 * sweep) happens when heapLive reaches the goal -- the point the pacer's
 * assists hold it to.  Objects that die during the mark were reachable at
 * its start: they are marked (floating garbage) and freed by the next
 * cycle; objects allocated during it are marked too.  So C = what was live
 * at the start + what was allocated since, and B - A is the allocation
 * during the mark.  When the cycle starts at or past the goal (a binding
 * memory limit) the real mark still runs for a while with the mutator
 * going; the model lets it allocate LIMIT_MARK_BUDGET first.
 *
 * heapLive follows Go's bookkeeping: heapMarked after a cycle, plus at
 * every refill the span's whole unallocated remainder (tail waste
 * included), minus the unused slots of the spans the mcaches drop at mark
 * termination; plus npages * 8 KiB per large object.  The pacer formulas
 * are mgcpacer.go's (docs/heap-model.md states the rule exactly as
 * implemented here), with cons/mark a constant (PM_DEFAULT_CONS_MARK,
 * calibrated on the churn twins; 0 until the first heap-triggered cycle, as
 * Go's measured value is).
 *
 * Invariants (checked by pm_heap_check; the debug build runs it after
 * every map mutation):
 *   - per span: nlive + ndead + nfloat <= nelems; a span holding nothing is
 *     not in use (its pages went back when a sweep emptied it) unless an
 *     mcache holds it;
 *   - HeapAlloc = baseline + sum over spans of (nlive + ndead + nfloat) *
 *     elemsize; dead and floating bytes match their span counts;
 *   - HeapInuse = (baseline pages + pages of in-use spans) * 8 KiB;
 *   - HeapObjects = Mallocs - Frees = baseline objects + used slots.
 *
 * Left out: addresses and fragmentation of the page heap (a large object
 * takes any free pages), the background scavenger's GOGC-based goal (pages
 * are released by FreeOSMemory, and under a memory limit down to 95% of it
 * after each cycle), the GC CPU limiter and time-driven mark durations,
 * assists, GOMAXPROCS changes, and the heap growth of the runtime's own
 * metadata.  The baseline (the startup heap, globals, stacks) is opaque: a
 * fixed amount of live bytes, objects, pages and scan work measured on the
 * real toolchains (pymap/_baselines.py).
 *
 * Timing is a documented cost model, not a measurement (gctrace's clock
 * and cpu fields, the @ time and the % column): see COST_* below.
 *
 * gctrace is a stream in Go (stderr).  The model echoes it there when asked
 * and keeps the last trace_keep lines (PM_GCTRACE_KEEP, 10,000, by default)
 * in a ring, with the count of every line ever produced: a program that
 * runs millions of cycles holds a bounded text.  Text is addressed by byte
 * offsets counted from the runtime's first line, so a reader that saw the
 * text up to offset x asks for what came after x and learns where the kept
 * text starts if older lines left the ring meanwhile.
 *
 * Long loops.  advance() runs up to 83,334 periodic cycles in one call: it
 * polls for Ctrl-C before each (process.c) and lets a waiting fork() take
 * the lock between two; a single cycle is bounded by the heap's size.
 */
#define _XOPEN_SOURCE 700   /* sched_yield under -std=c11 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include "runtime/runtime.h"

enum {
    pageSize = 8192,
    numSpanClasses = 68 * 2,         /* (size class << 1) | noscan */
    tinySize = 16,                   /* _TinySize */
    tinySpanClass = 2 << 1 | 1,      /* class 2 (16 B), noscan */
    heapGrowPages = 512,             /* mheap.grow rounds requests up to 4 MiB */
};
#define defaultHeapMinimum ((uint64_t)4 << 20)
#define sweepMinHeapDistance ((uint64_t)1 << 20)
#define minRunway ((uint64_t)64 << 10)
#define memoryLimitMinHeapGoalHeadroom ((uint64_t)1 << 20)
#define triggerRatioDen 64
#define minTriggerRatioNum 45
#define maxTriggerRatioNum 61
#define gcGoalUtilization 0.25
#define forcegcperiod ((uint64_t)120 * 1000000000ull)
#define NO_TRIGGER UINT64_MAX
#define MAX_ADVANCE_NS ((uint64_t)10000000 * 1000000000ull)   /* 1e7 s per pm_advance call */
/* Allocation allowed during a mark that started at or past the goal. */
#ifndef LIMIT_MARK_BUDGET
#define LIMIT_MARK_BUDGET ((uint64_t)256 << 10)
#endif

/* The timing cost model (virtual nanoseconds). */
enum {
    COST_ALLOC_NS = 25,              /* mutator time per modelled allocation */
    COST_ZERO_BYTES_PER_NS = 16,     /* ...plus zeroing its bytes */
    COST_SWEEPTERM_NS = 20000,       /* STW sweep termination */
    COST_MARK_BASE_NS = 100000,      /* concurrent mark: fixed part */
    COST_SCAN_BYTES_PER_NS = 1,      /* ...plus scan work at 1 GB/s */
    COST_MARK_OBJECT_NS = 2,         /* ...plus per live object */
    COST_MARKTERM_NS = 30000,        /* STW mark termination */
};

_Static_assert(numSpanClasses == 136, "68 size classes (0 = large), scan and noscan each");

struct mspan {
    mspan *next, *prev;          /* the heap's in-use spans */
    mspan *pnext;                /* the spanclass's partial list (swept, with free slots) */
    uint64_t npages;
    uint64_t elemsize;
    uint32_t nelems;
    uint32_t nlive;              /* allocated and reachable */
    uint32_t ndead;              /* allocated, unreachable, freed by the next sweep */
    uint32_t nfloat;             /* died during the current mark: kept by this cycle */
    uint16_t spanclass;          /* (class << 1) | noscan; class 0 = large */
    uint8_t cached;              /* in an mcache */
    uint8_t partial;             /* on its spanclass's partial list */
};

/* A tiny block: one class-2 slot shared by tiny objects. */
typedef struct tinyblock {
    uintptr_t slot;              /* the block's own slot (a heap token) */
    uint32_t nlive;              /* tiny objects in it still reachable */
} tinyblock;

/* Heap tokens: an mspan * (8-aligned), or a tinyblock * with bit 0 set. */
#define TOKEN_TINY 1u

/* ---- the lock ----
 * Recursive, since a GC inside an allocation frees (pool cleanup releases
 * maps), and cheap, since every modelled allocation and free takes it: a
 * spin lock owned by a thread token, yielding while another thread holds
 * it (a GC cycle can take a while).  A fork() takes it before forking and
 * the child re-initialises it (process.c). */

static _Thread_local char thread_token;

void heap_lock(mheap *hp)
{
    void *me = &thread_token;
    if (__atomic_load_n(&hp->lock_owner, __ATOMIC_RELAXED) == me) {
        hp->lock_depth++;
        return;
    }
    for (unsigned spins = 0;; spins++) {
        void *none = NULL;
        if (__atomic_compare_exchange_n(&hp->lock_owner, &none, me, false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            break;
        if (spins > 64)
            sched_yield();
    }
    hp->lock_depth = 1;
}

void heap_unlock(mheap *hp)
{
    if (--hp->lock_depth == 0)
        __atomic_store_n(&hp->lock_owner, NULL, __ATOMIC_RELEASE);
}

/* In a fork()ed child (process.c): the thread that held the lock, if any, is
 * not there; the fork's prepare handler waited until the heap was consistent. */
void heap_lock_reinit(mheap *hp)
{
    hp->lock_depth = 0;
    __atomic_store_n(&hp->lock_owner, NULL, __ATOMIC_RELEASE);
}

/* A fork() is waiting for this lock, held (once) across a long loop: let it
 * in, and take the lock back once the fork is done. */
static void heap_let_fork_in(mheap *hp)
{
    if (!pm_fork_waiting() || hp->lock_depth != 1)
        return;
    heap_unlock(hp);
    while (pm_fork_waiting())
        sched_yield();
    heap_lock(hp);
}

static void heap_commit(mheap *hp, bool sweep_done);

/* GOGC and what it derives: heapMinimum = 4 MiB * GOGC/100 (0 when off). */
static void set_gogc(mheap *hp, int64_t gogc)
{
    hp->gogc = gogc < 0 ? -1 : gogc;
    hp->heap_minimum = hp->gogc < 0 ? 0 : defaultHeapMinimum * (uint64_t)hp->gogc / 100;
}

int pm_heap_init(pm_runtime *rt)
{
    mheap *hp = &rt->heap;
    set_gogc(hp, 100);
    hp->memory_limit = INT64_MAX;
    hp->gomaxprocs = 2;
    hp->cons_mark = PM_DEFAULT_CONS_MARK;
    hp->triggered = NO_TRIGGER;
    hp->trace_keep = PM_GCTRACE_KEEP;
    heap_commit(hp, true);
    hp->init = true;
    return PM_OK;
}

/* The runtime's state at main(): the baseline becomes live heap. */
int pm_heap_configure(pm_runtime *rt, const pm_baseline *b, int64_t gogc, int64_t memory_limit,
                      int gomaxprocs, int echo)
{
    mheap *hp = &rt->heap;
    if (gomaxprocs < 1 || gomaxprocs > 1024) {
        set_error("gomaxprocs must be in [1, 1024]");
        return PM_EARG;
    }
    if (memory_limit < 0) {
        set_error("memory_limit must be >= 0");
        return PM_EARG;
    }
    if (b->heap_alloc > b->total_alloc || b->frees > b->mallocs ||
        b->heap_inuse % pageSize || b->heap_sys % pageSize || b->heap_released % pageSize ||
        b->heap_inuse + b->heap_released > b->heap_sys || b->heap_alloc > b->heap_inuse) {
        set_error("inconsistent baseline (need heap_alloc <= heap_inuse, inuse + released <= sys, "
                  "page multiples, frees <= mallocs, heap_alloc <= total_alloc)");
        return PM_EARG;
    }
    heap_lock(hp);
    if (hp->spans || hp->tiny || hp->num_gc || hp->mallocs != hp->base.mallocs) {
        heap_unlock(hp);
        set_error("the heap can only be configured before the first allocation");
        return PM_EARG;
    }
    hp->base = *b;
    hp->total_alloc = b->total_alloc;
    hp->total_free = b->total_alloc - b->heap_alloc;
    hp->mallocs = b->mallocs;
    hp->frees = b->frees;
    hp->live_bytes = b->heap_alloc;
    hp->live_scan = b->heap_scan;
    hp->inuse_pages = b->heap_inuse / pageSize;
    hp->sys_pages = b->heap_sys / pageSize;
    hp->released_pages = b->heap_released / pageSize;
    hp->heap_live = b->heap_alloc;
    hp->heap_marked = 0;
    hp->last_heap_scan = 0;
    hp->last_stack_scan = 0;
    set_gogc(hp, gogc);
    hp->memory_limit = memory_limit;
    hp->gomaxprocs = gomaxprocs;
    hp->echo = echo != 0;
    heap_commit(hp, true);   /* gcinit: no sweep phase before the first cycle */
    heap_unlock(hp);
    return PM_OK;
}

void pm_heap_destroy(pm_runtime *rt)
{
    mheap *hp = &rt->heap;
    if (!hp->init)
        return;
    for (mspan *s = hp->spans, *n; s; s = n) {
        n = s->next;
        free(s);
    }
    free(hp->tiny);
    free(hp->trace);
    free(hp->trace_offs);
    pm_pools_destroy(rt);
    hp->init = false;
}

/* ---- pages ---- */

static void pages_take(mheap *hp, uint64_t n)
{
    uint64_t free_pages = hp->sys_pages - hp->inuse_pages - hp->released_pages;
    if (free_pages >= n) {
        hp->inuse_pages += n;
        return;
    }
    uint64_t need = n - free_pages;       /* from released pages, growing first if short */
    if (hp->released_pages < need) {
        uint64_t grow = need - hp->released_pages;
        grow = (grow + heapGrowPages - 1) / heapGrowPages * heapGrowPages;
        hp->sys_pages += grow;
        hp->released_pages += grow;      /* new memory is scavenged until used */
    }
    hp->released_pages -= need;
    hp->inuse_pages += n;
}

/* ---- spans ---- */

static mspan *span_new(mheap *hp, uint16_t spanclass, uint64_t npages, uint64_t elemsize,
                       uint32_t nelems)
{
    mspan *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->spanclass = spanclass;
    s->npages = npages;
    s->elemsize = elemsize;
    s->nelems = nelems;
    s->next = hp->spans;
    if (hp->spans)
        hp->spans->prev = s;
    hp->spans = s;
    hp->nspans++;
    pages_take(hp, npages);
    return s;
}

static void span_free(mheap *hp, mspan *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        hp->spans = s->next;
    if (s->next)
        s->next->prev = s->prev;
    hp->inuse_pages -= s->npages;
    hp->nspans--;
    free(s);
}

static void partial_remove(mheap *hp, mspan *s)
{
    mspan **pp = &hp->partial[s->spanclass];
    while (*pp != s)
        pp = &(*pp)->pnext;
    *pp = s->pnext;
    s->pnext = NULL;
    s->partial = 0;
}

/* mcache.refill: a span of the class with a free slot; heapLive gains its
 * whole unallocated remainder. */
static mspan *refill(mheap *hp, uint16_t spanclass, uint64_t elemsize, uint64_t npages)
{
    mspan *old = hp->cache[spanclass];
    if (old)
        old->cached = 0;                  /* full: mcentral keeps it */
    mspan *s = hp->partial[spanclass];
    if (s) {
        partial_remove(hp, s);
    } else {
        s = span_new(hp, spanclass, npages, elemsize, (uint32_t)(npages * pageSize / elemsize));
        if (!s)
            return NULL;
    }
    s->cached = 1;
    hp->cache[spanclass] = s;
    hp->heap_live += npages * pageSize - (uint64_t)(s->nlive + s->ndead + s->nfloat) * elemsize;
    return s;
}

/* ---- the pacer (mgcpacer.go) ---- */

static uint64_t memory_limit_goal(const mheap *hp)
{
    uint64_t heap_alloc = hp->total_alloc - hp->total_free;
    uint64_t heap_free = (hp->sys_pages - hp->inuse_pages - hp->released_pages) * pageSize;
    uint64_t mapped_ready = hp->base.other_sys + (hp->sys_pages - hp->released_pages) * pageSize;
    uint64_t limit = (uint64_t)hp->memory_limit;
    uint64_t non_heap = mapped_ready - heap_free - heap_alloc;
    uint64_t overage = mapped_ready > limit ? mapped_ready - limit : 0;
    if (non_heap + overage >= limit)
        return hp->heap_marked;
    uint64_t goal = limit - (non_heap + overage);
    uint64_t headroom = memoryLimitMinHeapGoalHeadroom;
    if (hp->headroom_pct) {
        uint64_t pct = goal / 100 * hp->headroom_pct;
        if (pct > headroom)
            headroom = pct;
    }
    if (goal < headroom || goal - headroom < headroom)
        goal = headroom;
    else
        goal -= headroom;
    return goal < hp->heap_marked ? hp->heap_marked : goal;
}

/* heapGoalInternal: the goal, and the sweep-distance lower bound on the trigger. */
static uint64_t heap_goal(const mheap *hp, uint64_t *min_trigger)
{
    uint64_t goal = hp->gcpercent_goal, mt = 0;
    uint64_t lim = memory_limit_goal(hp);
    if (lim < goal) {
        goal = lim;
    } else {
        if (hp->sweep_dist_min_trigger > goal)
            goal = hp->sweep_dist_min_trigger;
        mt = hp->sweep_dist_min_trigger;
        if (hp->triggered != NO_TRIGGER && goal < hp->triggered + minRunway)
            goal = hp->triggered + minRunway;
    }
    if (min_trigger)
        *min_trigger = mt;
    return goal;
}

static uint64_t heap_trigger(const mheap *hp)
{
    uint64_t min_trigger;
    uint64_t goal = heap_goal(hp, &min_trigger), M = hp->heap_marked;
    if (M >= goal)
        return goal;
    if (min_trigger < M)
        min_trigger = M;
    uint64_t lower = (goal - M) / triggerRatioDen * minTriggerRatioNum + M;
    if (min_trigger < lower)
        min_trigger = lower;
    uint64_t max_trigger = (goal - M) / triggerRatioDen * maxTriggerRatioNum + M;
    if (goal > defaultHeapMinimum && goal - defaultHeapMinimum > max_trigger)
        max_trigger = goal - defaultHeapMinimum;
    if (max_trigger < min_trigger)
        max_trigger = min_trigger;
    uint64_t trigger = hp->runway > goal ? min_trigger : goal - hp->runway;
    if (trigger < min_trigger)
        trigger = min_trigger;
    if (trigger > max_trigger)
        trigger = max_trigger;
    return trigger;
}

/* commit: the GOGC goal, the sweep-distance trigger and the runway. */
static void heap_commit(mheap *hp, bool sweep_done)
{
    hp->sweep_dist_min_trigger = sweep_done ? 0 : hp->heap_live + sweepMinHeapDistance;
    uint64_t goal = UINT64_MAX;
    if (hp->gogc >= 0) {
        unsigned __int128 g = (unsigned __int128)(hp->heap_marked + hp->last_stack_scan +
                                                  hp->base.globals) * (uint64_t)hp->gogc / 100;
        g += hp->heap_marked;
        goal = g > UINT64_MAX ? UINT64_MAX : (uint64_t)g;
    }
    if (goal < hp->heap_minimum)
        goal = hp->heap_minimum;
    hp->gcpercent_goal = goal;
    /* Go's consMark is 0 until a cycle ran with the mutator allocating
     * (endCycle skips cycles where heapLive did not pass the trigger point):
     * the model's first heap-triggered cycle. */
    double cons_mark = hp->paced_cycles ? hp->cons_mark : 0;
    hp->runway = (uint64_t)(cons_mark * (1 - gcGoalUtilization) / gcGoalUtilization *
                            (double)(hp->last_heap_scan + hp->last_stack_scan + hp->base.globals));
}

/* ---- gctrace ---- */

/* The ring's bytes: text byte a lives at trace[a % trace_cap]. */
static void ring_put(char *ring, uint64_t cap, uint64_t a, const char *src, uint64_t n)
{
    uint64_t at = a % cap, first = n < cap - at ? n : cap - at;
    memcpy(ring + at, src, first);
    memcpy(ring, src + first, n - first);
}

static void ring_get(const char *ring, uint64_t cap, uint64_t a, char *dst, uint64_t n)
{
    uint64_t at = a % cap, first = n < cap - at ? n : cap - at;
    memcpy(dst, ring + at, first);
    memcpy(dst + first, ring, n - first);
}

/* Drop the oldest kept line. */
static void trace_drop_oldest(mheap *hp)
{
    uint64_t oldest = hp->trace_lines - hp->trace_kept;
    hp->trace_kept--;
    hp->trace_start = hp->trace_kept ? hp->trace_offs[(oldest + 1) % hp->trace_keep] : hp->trace_end;
}

/* Move the kept text into a ring of cap bytes (>= the kept bytes) and the
 * line index to `keep` entries (>= the kept lines).  false: out of memory,
 * nothing changed. */
static bool trace_relayout(mheap *hp, uint64_t cap, uint64_t keep)
{
    uint64_t n = hp->trace_end - hp->trace_start;
    char *ring = cap ? malloc(cap) : NULL;
    uint64_t *offs = keep ? malloc(keep * sizeof *offs) : NULL;
    if ((cap && !ring) || (keep && !offs)) {
        free(ring);
        free(offs);
        return false;
    }
    if (n) {
        char *tmp = malloc(n);
        if (!tmp) {
            free(ring);
            free(offs);
            return false;
        }
        ring_get(hp->trace, hp->trace_cap, hp->trace_start, tmp, n);
        ring_put(ring, cap, hp->trace_start, tmp, n);
        free(tmp);
    }
    for (uint64_t i = hp->trace_lines - hp->trace_kept; i < hp->trace_lines; i++)
        offs[i % keep] = hp->trace_offs[i % hp->trace_keep];
    free(hp->trace);
    free(hp->trace_offs);
    hp->trace = ring;
    hp->trace_cap = cap;
    hp->trace_offs = offs;
    hp->trace_keep = keep;
    return true;
}

/* One gctrace line: counted, echoed, and kept in the ring in place of the
 * oldest once trace_keep lines are kept (Go's own output is a stream). */
static void trace_append(mheap *hp, const char *line)
{
    uint64_t n = strlen(line);
    if (hp->echo) {
        fputs(line, stderr);
        fflush(stderr);
    }
    if (hp->trace_keep == 0) {
        hp->trace_start = hp->trace_end += n;
        hp->trace_lines++;
        return;
    }
    if (hp->trace_kept == hp->trace_keep)
        trace_drop_oldest(hp);
    uint64_t need = hp->trace_end - hp->trace_start + n;
    if (need > hp->trace_cap || !hp->trace_offs) {
        uint64_t cap = hp->trace_cap ? hp->trace_cap : 4096;
        while (cap < need)
            cap *= 2;
        if (!trace_relayout(hp, cap, hp->trace_keep)) {
            /* The trace is a diagnostic: losing lines beats failing the GC.
             * The ring restarts empty after the lost line. */
            hp->trace_start = hp->trace_end += n;
            hp->trace_kept = 0;
            hp->trace_lines++;
            return;
        }
    }
    hp->trace_offs[hp->trace_lines % hp->trace_keep] = hp->trace_end;
    ring_put(hp->trace, hp->trace_cap, hp->trace_end, line, n);
    hp->trace_end += n;
    hp->trace_kept++;
    hp->trace_lines++;
}

/* itoaDiv: val with a decimal point `dec` digits from the right. */
static int itoa_div(char *buf, uint64_t val, int dec)
{
    char tmp[32];
    int i = (int)sizeof tmp - 1, n = 0;
    tmp[i] = 0;
    int idec = i - dec;
    while (val >= 10 || i >= idec) {
        uint64_t q = val / 10;
        tmp[--i] = (char)('0' + val - q * 10);
        if (i == idec)
            tmp[--i] = '.';
        val = q;
    }
    tmp[--i] = (char)('0' + val);
    n = (int)sizeof tmp - 1 - i;
    memcpy(buf, tmp + i, (size_t)n + 1);
    return n;
}

/* fmtNSAsMS: whole ms from 10 ms, else two significant digits, <= 3 decimals. */
static int fmt_ns_as_ms(char *buf, uint64_t ns)
{
    if (ns >= 10000000)
        return itoa_div(buf, ns / 1000000, 0);
    uint64_t x = ns / 1000;
    if (x == 0) {
        strcpy(buf, "0");
        return 1;
    }
    int dec = 3;
    while (x >= 100) {
        x /= 10;
        dec--;
    }
    return itoa_div(buf, x, dec);
}


/* The scavenger's memory-limit goal (mgcscavenge.go): with a limit, free
 * pages are released until mappedReady <= 95% of it.  The real scavenger
 * gets there in the background; the model applies it at once after each
 * cycle and when the limit is set.  (The GOGC-based retention goal is not
 * modelled: without a limit only FreeOSMemory releases pages.) */
static void scavenge_to_limit(mheap *hp)
{
    if (hp->memory_limit == INT64_MAX)
        return;
    uint64_t goal = (uint64_t)hp->memory_limit / 100 * 95;
    uint64_t ready = hp->base.other_sys + (hp->sys_pages - hp->released_pages) * pageSize;
    uint64_t free_pages = hp->sys_pages - hp->inuse_pages - hp->released_pages;
    if (ready <= goal)
        return;
    uint64_t want = (ready - goal + pageSize - 1) / pageSize;
    hp->released_pages += want < free_pages ? want : free_pages;
}

/* ---- sweeping ---- */

/* The sweep after mark termination: what was garbage when the cycle
 * started is freed; what died during the mark (floating garbage) becomes
 * the next cycle's garbage; empty spans return their pages. */
static void sweep_all(mheap *hp)
{
    for (mspan *s = hp->spans, *n; s; s = n) {
        n = s->next;
        if (s->ndead) {
            hp->frees += s->ndead;
            hp->total_free += (uint64_t)s->ndead * s->elemsize;
            hp->dead_bytes -= (uint64_t)s->ndead * s->elemsize;
        }
        s->ndead = s->nfloat;
        s->nfloat = 0;
        if (s->nlive + s->ndead == 0) {
            if (s->partial)
                partial_remove(hp, s);
            span_free(hp, s);
        } else if (s->nlive + s->ndead < s->nelems && !s->partial && s->spanclass >= 2) {
            s->pnext = hp->partial[s->spanclass];
            hp->partial[s->spanclass] = s;
            s->partial = 1;
        }
    }
    hp->dead_bytes += hp->float_bytes;
    hp->dead_objects = hp->float_objects;
    hp->float_bytes = hp->float_objects = 0;
}

/* Free a slot (the object became unreachable): dead until swept.  During
 * a mark phase it was reachable when the cycle started, so it is marked:
 * floating garbage, freed by the next cycle. */
static void slot_dead(mheap *hp, mspan *s)
{
    s->nlive--;
    if (hp->marking) {
        s->nfloat++;
        hp->float_bytes += s->elemsize;
        hp->float_objects++;
    } else {
        s->ndead++;
        hp->dead_bytes += s->elemsize;
        hp->dead_objects++;
    }
    hp->live_bytes -= s->elemsize;
    if (!(s->spanclass & 1))
        hp->live_scan -= s->elemsize;
}

/* ---- a GC cycle ---- */

enum gc_kind {
    GC_HEAP,        /* the heap trigger */
    GC_FORCED,      /* runtime.GC() / debug.FreeOSMemory */
    GC_PERIODIC,    /* forcegcperiod elapsed: "GC forced" */
};

/* gcStart: sweep termination with the world stopped.  Pool cleanup first
 * (what it drops is garbage for this very cycle), then the mcache's tiny
 * block goes, then marking begins: from here on an object that dies was
 * reachable at the start and survives the cycle. */
static void gc_start(pm_runtime *rt, int kind)
{
    mheap *hp = &rt->heap;
    hp->in_gc = true;
    if (kind == GC_PERIODIC)
        trace_append(hp, "GC forced\n");
    hp->cycle_kind = kind;
    hp->t_sweepterm = hp->clock;
    hp->heap0 = hp->heap_live;
    pm_pools_cleanup(rt);
    if (hp->tiny) {
        tinyblock *tb = hp->tiny;
        hp->tiny = NULL;
        if (tb->nlive == 0) {
            slot_dead(hp, (mspan *)tb->slot);
            free(tb);
        }
    }
    hp->triggered = hp->heap_live;   /* startCycle */
    hp->marking = true;
    hp->in_gc = false;
}

/* gcMarkTermination + the sweep. */
static void gc_finish(pm_runtime *rt)
{
    mheap *hp = &rt->heap;
    hp->in_gc = true;
    uint64_t heap1 = hp->heap_live;
    /* Marked: live now, plus what died during the mark. */
    uint64_t marked = hp->live_bytes + hp->float_bytes;
    uint64_t live_objects = hp->mallocs - hp->frees - hp->dead_objects;
    /* endCycle: the goal this cycle ran against (raised to triggered + 64 KiB). */
    hp->last_heap_goal = heap_goal(hp, NULL);
    /* The mcaches give back their spans' unused slots (prepareForSweep). */
    for (int sc = 0; sc < numSpanClasses; sc++) {
        mspan *s = hp->cache[sc];
        if (!s)
            continue;
        hp->heap_live -= (uint64_t)(s->nelems - s->nlive - s->ndead - s->nfloat) * s->elemsize;
        s->cached = 0;
        hp->cache[sc] = NULL;
    }
    /* resetLive + commit (sweeping has not finished at mark termination). */
    hp->marking = false;
    hp->heap_marked = marked;
    hp->heap_live = marked;
    hp->last_heap_scan = hp->live_scan;
    hp->last_stack_scan = hp->base.stacks;
    hp->triggered = NO_TRIGGER;
    heap_commit(hp, false);
    sweep_all(hp);
    scavenge_to_limit(hp);
    hp->num_gc++;
    int kind = hp->cycle_kind;
    if (kind == GC_HEAP && heap1 > hp->heap0) {
        hp->paced_cycles++;
        heap_commit(hp, false);          /* the runway with the measured cons/mark */
    }
    if (kind == GC_FORCED)
        hp->num_forced_gc++;
    /* Timing: the cost model. */
    uint64_t procs = (uint64_t)hp->gomaxprocs;
    uint64_t scan = hp->last_heap_scan + hp->last_stack_scan + hp->base.globals;
    uint64_t t_sweep = COST_SWEEPTERM_NS;
    uint64_t t_mark = COST_MARK_BASE_NS + scan / COST_SCAN_BYTES_PER_NS +
                      live_objects * COST_MARK_OBJECT_NS;
    uint64_t t_markterm = COST_MARKTERM_NS;
    uint64_t bg = (uint64_t)((double)t_mark * gcGoalUtilization * (double)procs);
    uint64_t cpu = procs * t_sweep + bg + procs * t_markterm;
    hp->gc_cpu_ns += cpu;
    uint64_t end = hp->t_sweepterm + t_sweep + t_mark + t_markterm;
    if (hp->clock < end)
        hp->clock = end;
    hp->pause_total_ns += t_sweep + t_markterm;
    hp->last_gc = hp->clock;
    double frac = hp->clock ? (double)hp->gc_cpu_ns / ((double)hp->clock * (double)procs) : 0;
    hp->gc_cpu_fraction = frac;
    char line[512], at[32], f[5][32], c[3][32];
    itoa_div(at, hp->t_sweepterm / 1000000, 3);
    fmt_ns_as_ms(c[0], t_sweep);
    fmt_ns_as_ms(c[1], t_mark);
    fmt_ns_as_ms(c[2], t_markterm);
    fmt_ns_as_ms(f[0], procs * t_sweep);
    fmt_ns_as_ms(f[1], 0);
    fmt_ns_as_ms(f[2], bg);
    fmt_ns_as_ms(f[3], 0);
    fmt_ns_as_ms(f[4], procs * t_markterm);
    snprintf(line, sizeof line,
             "gc %llu @%ss %d%%: %s+%s+%s ms clock, %s+%s/%s/%s+%s ms cpu, "
             "%llu->%llu->%llu MB, %llu MB goal, %llu MB stacks, %llu MB globals, %d P%s\n",
             (unsigned long long)hp->num_gc, at, (int)(frac * 100), c[0], c[1], c[2],
             f[0], f[1], f[2], f[3], f[4],
             (unsigned long long)(hp->heap0 >> 20), (unsigned long long)(heap1 >> 20),
             (unsigned long long)(marked >> 20), (unsigned long long)(hp->last_heap_goal >> 20),
             (unsigned long long)(hp->last_stack_scan >> 20),
             (unsigned long long)(hp->base.globals >> 20), hp->gomaxprocs,
             kind == GC_FORCED ? " (forced)" : "");
    trace_append(hp, line);
    hp->in_gc = false;
}

/* Finish a mark phase in progress (runtime.GC() waits for it; time passing
 * lets it complete). */
static void gc_finish_pending(pm_runtime *rt)
{
    if (rt->heap.marking && !rt->heap.in_gc)
        gc_finish(rt);
}

/* A whole cycle at once: the mutator does not run during it. */
static void gc_cycle(pm_runtime *rt, int kind)
{
    if (rt->heap.in_gc)
        return;      /* a pool cleanup freeing maps cannot start another cycle */
    gc_finish_pending(rt);
    gc_start(rt, kind);
    gc_finish(rt);
}

/* After an allocation: a heap-triggered cycle's mark phase ends when
 * heapLive reaches the goal (the pacer finishes the mark there, with
 * assists if needed); gcTrigger{kind: gcTriggerHeap}.test() starts one. */
static void maybe_gc(pm_runtime *rt)
{
    mheap *hp = &rt->heap;
    if (hp->in_gc)
        return;
    if (hp->marking) {
        /* Past the goal, the pacer's assists end the mark at once -- unless
         * the cycle started at or past the goal (a binding memory limit),
         * where the real mark still runs a while with the mutator going
         * (the GC CPU limiter caps assists): the model lets the mutator
         * allocate LIMIT_MARK_BUDGET first, so cycles cannot follow each
         * other with no mutator progress at all. */
        uint64_t goal = heap_goal(hp, NULL);
        uint64_t end = goal > hp->triggered ? goal : hp->triggered + LIMIT_MARK_BUDGET;
        if (hp->heap_live >= end)
            gc_finish(rt);
        return;
    }
    if (hp->heap_live >= heap_trigger(hp))
        gc_start(rt, GC_HEAP);
}

/* ---- allocation ---- */

static void charge(mheap *hp, uint64_t bytes, bool noscan)
{
    hp->total_alloc += bytes;
    hp->mallocs++;
    hp->live_bytes += bytes;
    if (!noscan)
        hp->live_scan += bytes;
    hp->clock += COST_ALLOC_NS + bytes / COST_ZERO_BYTES_PER_NS;
}

static uintptr_t small_slot(pm_runtime *rt, uint16_t spanclass, uint64_t elemsize, bool *refilled)
{
    mheap *hp = &rt->heap;
    uint64_t npages = go_class_npages(spanclass >> 1);
    mspan *s = hp->cache[spanclass];
    *refilled = false;
    if (!s || s->nlive + s->ndead + s->nfloat == s->nelems) {
        s = refill(hp, spanclass, elemsize, npages);
        if (!s)
            return 0;
        *refilled = true;
    }
    s->nlive++;
    charge(hp, elemsize, spanclass & 1);
    return (uintptr_t)s;
}

/* The tiny allocator (mallocgc's noscan < 16 B path). */
static uintptr_t tiny_alloc(pm_runtime *rt, uint64_t size)
{
    mheap *hp = &rt->heap;
    uint64_t off = hp->tiny_offset;
    if ((size & 7) == 0)
        off = (off + 7) & ~(uint64_t)7;
    else if ((size & 3) == 0)
        off = (off + 3) & ~(uint64_t)3;
    else if ((size & 1) == 0)
        off = (off + 1) & ~(uint64_t)1;
    hp->tiny_allocs++;
    hp->clock += COST_ALLOC_NS;
    if (hp->tiny && off + size <= tinySize) {
        hp->tiny_offset = off + size;
        hp->tiny->nlive++;
        return (uintptr_t)hp->tiny | TOKEN_TINY;
    }
    tinyblock *tb = calloc(1, sizeof *tb);
    if (!tb)
        return 0;
    bool refilled;
    tb->slot = small_slot(rt, tinySpanClass, tinySize, &refilled);
    if (!tb->slot) {
        free(tb);
        return 0;
    }
    tb->nlive = 1;
    /* Keep whichever block has more room left. */
    if (!hp->tiny || size < hp->tiny_offset) {
        tinyblock *old = hp->tiny;
        hp->tiny = tb;
        hp->tiny_offset = size;
        if (old && old->nlive == 0) {
            slot_dead(hp, (mspan *)old->slot);
            free(old);
        }
    }
    if (refilled || hp->marking)
        maybe_gc(rt);
    return (uintptr_t)tb | TOKEN_TINY;
}

uintptr_t heap_alloc(pm_runtime *rt, uint64_t size, bool noscan)
{
    if (!rt || size == 0)
        return 0;
    mheap *hp = &rt->heap;
    heap_lock(hp);
    uintptr_t tok;
    int cls;
    uint64_t charged = go_sizeclass(rt->ver, size, noscan, &cls);
    if (noscan && size < tinySize) {
        tok = tiny_alloc(rt, size);
    } else if (cls > 0) {
        bool refilled;
        tok = small_slot(rt, (uint16_t)(cls << 1 | noscan), charged, &refilled);
        if (tok && (refilled || hp->marking))
            maybe_gc(rt);
    } else {
        uint64_t npages = charged / pageSize;
        mspan *s = span_new(hp, (uint16_t)noscan, npages, charged, 1);
        tok = (uintptr_t)s;
        if (s) {
            s->nlive = 1;
            hp->heap_live += charged;
            charge(hp, charged, noscan);
            maybe_gc(rt);
        }
    }
    heap_unlock(hp);
    return tok;
}

void heap_free(pm_runtime *rt, uintptr_t tok)
{
    if (!tok)
        return;
    mheap *hp = &rt->heap;
    heap_lock(hp);
    if (tok & TOKEN_TINY) {
        tinyblock *tb = (tinyblock *)(tok & ~(uintptr_t)TOKEN_TINY);
        if (--tb->nlive == 0 && tb != hp->tiny) {
            slot_dead(hp, (mspan *)tb->slot);
            free(tb);
        }
    } else {
        slot_dead(hp, (mspan *)tok);
    }
    heap_unlock(hp);
}

/* ---- the API ---- */

void pm_gc(pm_runtime *rt)
{
    heap_lock(&rt->heap);
    gc_cycle(rt, GC_FORCED);
    heap_unlock(&rt->heap);
}

void pm_free_os_memory(pm_runtime *rt)
{
    mheap *hp = &rt->heap;
    heap_lock(hp);
    gc_cycle(rt, GC_FORCED);
    hp->released_pages = hp->sys_pages - hp->inuse_pages;
    heap_unlock(hp);
}

/* Advance the virtual clock; sysmon's periodic GC fires every 2 minutes
 * after the last one, once a first GC has happened, never with GOGC off.
 * A call runs up to 83,334 cycles: it polls for Ctrl-C before each (the
 * clock then stands at the last cycle that ran) and lets a waiting fork()
 * in between two. */
int pm_advance(pm_runtime *rt, uint64_t ns)
{
    mheap *hp = &rt->heap;
    int rc = PM_OK;
    if (ns > MAX_ADVANCE_NS)
        ns = MAX_ADVANCE_NS;            /* bounded work (and gctrace lines) per call */
    pm_intr_enter();
    heap_lock(hp);
    if (ns)
        gc_finish_pending(rt);          /* the mark phase completes as time passes */
    uint64_t end = hp->clock + ns < hp->clock ? UINT64_MAX : hp->clock + ns;
    while (hp->gogc >= 0 && hp->num_gc > 0 && end > hp->last_gc &&
           end - hp->last_gc > forcegcperiod) {
        if (pm_intr_check()) {
            rc = PM_EINTR;
            break;
        }
        heap_let_fork_in(hp);
        uint64_t due = hp->last_gc + forcegcperiod + 1;
        if (hp->clock < due)
            hp->clock = due;
        gc_cycle(rt, GC_PERIODIC);
    }
    if (rc == PM_OK && end > hp->clock)
        hp->clock = end;
    heap_unlock(hp);
    return pm_intr_leave(rc);
}

int64_t pm_set_gogc(pm_runtime *rt, int64_t gogc)
{
    mheap *hp = &rt->heap;
    heap_lock(hp);
    int64_t old = hp->gogc;
    set_gogc(hp, gogc);
    heap_commit(hp, true);
    maybe_gc(rt);
    heap_unlock(hp);
    return old;
}

double pm_set_cons_mark(pm_runtime *rt, double cons_mark)
{
    mheap *hp = &rt->heap;
    heap_lock(hp);
    double old = hp->cons_mark;
    if (cons_mark >= 0 && cons_mark <= 1e6) {
        hp->cons_mark = cons_mark;
        heap_commit(hp, true);
    }
    heap_unlock(hp);
    return old;
}

int64_t pm_set_memory_limit(pm_runtime *rt, int64_t limit)
{
    mheap *hp = &rt->heap;
    heap_lock(hp);
    int64_t old = hp->memory_limit;
    if (limit >= 0) {
        hp->memory_limit = limit;
        scavenge_to_limit(hp);
        heap_commit(hp, true);
        maybe_gc(rt);
    }
    heap_unlock(hp);
    return old;
}

void pm_memstats_read(pm_runtime *rt, pm_memstats *out)
{
    mheap *hp = &rt->heap;
    heap_lock(hp);
    memset(out, 0, sizeof *out);
    out->heap_alloc = hp->total_alloc - hp->total_free;
    out->total_alloc = hp->total_alloc;
    out->mallocs = hp->mallocs + hp->tiny_allocs;
    out->frees = hp->frees + hp->tiny_allocs;
    out->heap_objects = hp->mallocs - hp->frees;
    out->heap_inuse = hp->inuse_pages * pageSize;
    out->heap_sys = hp->sys_pages * pageSize;
    out->heap_idle = out->heap_sys - out->heap_inuse;
    out->heap_released = hp->released_pages * pageSize;
    out->next_gc = heap_goal(hp, NULL);
    out->num_gc = hp->num_gc;
    out->num_forced_gc = hp->num_forced_gc;
    out->last_gc_ns = hp->last_gc;
    out->clock_ns = hp->clock;
    out->pause_total_ns = hp->pause_total_ns;
    out->gc_cpu_fraction = hp->gc_cpu_fraction;
    out->heap_live = hp->heap_live;
    out->heap_marked = hp->heap_marked;
    out->trigger = heap_trigger(hp);
    out->live_bytes = hp->live_bytes;
    out->dead_bytes = hp->dead_bytes;
    out->spans = hp->nspans;
    out->tiny_allocs = hp->tiny_allocs;
    out->gogc = hp->gogc;
    out->memory_limit = hp->memory_limit;
    out->gomaxprocs = hp->gomaxprocs;
    out->gctrace_lines = hp->trace_lines;
    heap_unlock(hp);
}

void pm_gctrace_state_read(pm_runtime *rt, pm_gctrace_state *out)
{
    mheap *hp = &rt->heap;
    heap_lock(hp);
    out->start = hp->trace_start;
    out->end = hp->trace_end;
    out->lines = hp->trace_lines;
    out->kept = hp->trace_kept;
    out->keep = hp->trace_keep;
    out->bytes_held = hp->trace_cap + (hp->trace_offs ? hp->trace_keep * sizeof *hp->trace_offs : 0);
    heap_unlock(hp);
}

uint64_t pm_gctrace_read(pm_runtime *rt, uint64_t *from, char *buf, uint64_t cap)
{
    mheap *hp = &rt->heap;
    heap_lock(hp);
    uint64_t end = hp->trace_end;
    if (from && *from < hp->trace_start)
        *from = hp->trace_start;    /* older lines left the ring */
    if (from && buf && *from < end) {
        uint64_t n = end - *from < cap ? end - *from : cap;
        ring_get(hp->trace, hp->trace_cap, *from, buf, n);
    }
    heap_unlock(hp);
    return end;
}

int pm_gctrace_set_keep(pm_runtime *rt, uint64_t keep)
{
    if (keep > PM_GCTRACE_KEEP_MAX) {
        set_error("gctrace_keep must be in [0, %d] lines", PM_GCTRACE_KEEP_MAX);
        return PM_EARG;
    }
    mheap *hp = &rt->heap;
    heap_lock(hp);
    uint64_t start = hp->trace_start, kept = hp->trace_kept;
    while (hp->trace_kept > keep)
        trace_drop_oldest(hp);
    int rc = PM_OK;
    uint64_t n = hp->trace_end - hp->trace_start, cap = n ? 4096 : 0;
    while (cap < n)
        cap *= 2;
    if ((keep != hp->trace_keep || cap < hp->trace_cap) && !trace_relayout(hp, cap, keep)) {
        hp->trace_start = start;    /* nothing changed */
        hp->trace_kept = kept;
        set_error("out of memory: could not make a gctrace ring of %llu lines", (unsigned long long)keep);
        rc = PM_ENOMEM;
    }
    heap_unlock(hp);
    return rc;
}

int pm_heap_check(pm_runtime *rt)
{
    mheap *hp = &rt->heap;
    heap_lock(hp);
    uint64_t bytes = 0, pages = 0, objs = 0, dead = 0, flt = 0;
    int rc = PM_OK;
    for (mspan *s = hp->spans; s; s = s->next) {
        uint32_t used = s->nlive + s->ndead + s->nfloat;
        if (used > s->nelems || (used == 0 && !s->cached)) {
            set_error("span of class %u holds %u live + %u dead + %u floating of %u slots",
                      s->spanclass >> 1, s->nlive, s->ndead, s->nfloat, s->nelems);
            rc = PM_EARG;
            break;
        }
        bytes += (uint64_t)used * s->elemsize;
        dead += (uint64_t)s->ndead * s->elemsize;
        flt += (uint64_t)s->nfloat * s->elemsize;
        objs += used;
        pages += s->npages;
    }
    if (rc == PM_OK && bytes + hp->base.heap_alloc != hp->total_alloc - hp->total_free) {
        set_error("HeapAlloc %llu != baseline + span slots %llu",
                  (unsigned long long)(hp->total_alloc - hp->total_free),
                  (unsigned long long)(bytes + hp->base.heap_alloc));
        rc = PM_EARG;
    }
    if (rc == PM_OK && pages + hp->base.heap_inuse / pageSize != hp->inuse_pages) {
        set_error("HeapInuse pages %llu != baseline + spans %llu",
                  (unsigned long long)hp->inuse_pages,
                  (unsigned long long)(pages + hp->base.heap_inuse / pageSize));
        rc = PM_EARG;
    }
    if (rc == PM_OK && objs + (hp->base.mallocs - hp->base.frees) != hp->mallocs - hp->frees) {
        set_error("HeapObjects %llu != baseline + span slots %llu",
                  (unsigned long long)(hp->mallocs - hp->frees),
                  (unsigned long long)(objs + hp->base.mallocs - hp->base.frees));
        rc = PM_EARG;
    }
    if (rc == PM_OK && flt != hp->float_bytes) {
        set_error("floating bytes %llu != span floating slots %llu",
                  (unsigned long long)hp->float_bytes, (unsigned long long)flt);
        rc = PM_EARG;
    }
    if (rc == PM_OK && dead != hp->dead_bytes) {
        set_error("dead bytes %llu != span dead slots %llu", (unsigned long long)hp->dead_bytes,
                  (unsigned long long)dead);
        rc = PM_EARG;
    }
    if (rc == PM_OK &&
        (hp->trace_kept > hp->trace_keep || hp->trace_kept > hp->trace_lines ||
         hp->trace_end - hp->trace_start > hp->trace_cap ||
         (hp->trace_kept ? hp->trace_offs[(hp->trace_lines - hp->trace_kept) % hp->trace_keep] != hp->trace_start
                         : hp->trace_start != hp->trace_end))) {
        set_error("gctrace ring: %llu of %llu lines kept (ring of %llu), bytes [%llu, %llu) in %llu",
                  (unsigned long long)hp->trace_kept, (unsigned long long)hp->trace_lines,
                  (unsigned long long)hp->trace_keep, (unsigned long long)hp->trace_start,
                  (unsigned long long)hp->trace_end, (unsigned long long)hp->trace_cap);
        rc = PM_EARG;
    }
    heap_unlock(hp);
    return rc;
}
