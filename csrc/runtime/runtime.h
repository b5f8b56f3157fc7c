/*
 * runtime/runtime.h -- the shared runtime both map implementations stand on.
 *
 * This layer knows no map implementation.  It holds what a Go process
 * gives every map: the version table, the hash functions and the random
 * source (hash.c), key and elem kinds with their memory images, equality
 * and slot references (types.c), the one allocation seam and Go's size
 * classes (alloc.c), the modelled heap, pacer and gctrace (heap.c),
 * sync.Pool (pool.c), and the process around them: Ctrl-C and fork()
 * (process.c).  A map implementation (classic/, swiss/) reaches the
 * runtime only through the declarations below; the runtime reaches a map
 * only through the generic map header (map/gmap.h) and the release hooks
 * an implementation registers per object kind.
 *
 * Images.  The model keeps Go's memory images where Go's behaviour depends
 * on them (buckets, groups, control words, slots at the offsets the Go
 * compiler computes) and plain C structs where only the values matter.
 * Pointers stored inside model memory (string data, indirect key/elem
 * boxes, pointees, overflow links) are the model's own pointers: Go's
 * pointer values are not observable state.
 */
#ifndef PYMAP_RUNTIME_H
#define PYMAP_RUNTIME_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <string.h>

#include "pymap_api.h"

#ifndef PYMAP_VERSION
#define PYMAP_VERSION "unknown"
#endif

_Static_assert(sizeof(void *) == 8, "pymap models 64-bit Go (amd64): pointers must be 8 bytes");
_Static_assert(sizeof(uint64_t) == sizeof(uintptr_t), "Go's uintptr is modelled as uint64_t");

typedef struct pm_map pm_map;          /* the generic map header (map/gmap.h) */

enum {
    maxKeySize = 128,                 /* larger keys are stored indirectly (both maps) */
    maxElemSize = 128,                /* larger elems are stored indirectly (both maps) */
};
#define MAX_ALLOC_GO ((uint64_t)1 << 48)   /* maxAlloc on linux/amd64 */

/* Map type flags (the classic maptype's bits; the Swiss map reads the same facts). */
enum {
    TF_INDIRECTKEY = 1,     /* the slot holds a pointer to a box with the key */
    TF_INDIRECTELEM = 2,    /* the slot holds a pointer to a box with the elem */
    TF_REFLEXIVEKEY = 4,    /* k == k for every key (no floats) */
    TF_NEEDKEYUPDATE = 8,   /* an assign overwrites an equal key (+0/-0, strings) */
};

/* Which hasher the compiler picks for a key type (reflectdata genhash). */
enum hasher_kind {
    H_MEM0,     /* size 0: memhash0 returns the seed untouched */
    H_MEM,      /* plain memory of the key's size: memhash{8,16,32,64,128,_varlen} */
    H_STR,      /* strhash */
    H_F32,
    H_F64,
    H_C64,
    H_C128,
};

/* Key types with a specialised hot path in the model: same slots, same
 * steps as the generic code, fewer instructions. */
enum keyclass {
    KC_GENERIC,     /* hashed and compared through the type */
    KC_MEM4,        /* 4 bytes of plain memory stored inline (memhash32) */
    KC_MEM8,        /* 8 bytes of plain memory stored inline (memhash64) */
};

/* The assign routine Go's compiler selects for a map type (walk.go
 * mapfast): it decides where the Swiss map prunes tombstones. */
enum assign_path {
    AP_GENERIC,     /* mapassign: every other key, or an elem over 128 bytes */
    AP_FAST32,      /* mapassign_fast32: 4-byte plain memory without pointers */
    AP_FAST64,      /* mapassign_fast64: 8-byte plain memory without pointers */
    AP_FAST64PTR,   /* mapassign_fast64ptr: a single pointer */
    AP_FASTSTR,     /* mapassign_faststr: strings */
};
#define AP_BIT(p) (1u << (p))

/* ---- The version table (version.c): every Go difference the model applies ---- */

/* Which map implementation a version's builtin map is. */
enum map_impl {
    MAP_CLASSIC = PM_IMPL_CLASSIC,  /* hmap/bmap buckets (<= 1.23, GOEXPERIMENT=noswissmap) */
    MAP_SWISS = PM_IMPL_SWISS,      /* internal/runtime/maps (>= 1.24 default) */
};

/* Facts of the classic map. */
typedef struct classic_facts {
    uint8_t loadFactorNum;       /* 13 (6.5 per bucket); 12 in 1.21 (golang/go#63438) */
    uint8_t hmap_size;           /* sizeof(hmap): 48, 56 with clearSeq */
    bool clear_marks_empty;      /* mapclear marks every tophash emptyRest (1.21-1.23, #59411) */
    bool clear_seq;              /* hmap.clearSeq and the iterator check (noswiss 1.24+, #70189) */
} classic_facts;

/* How a Swiss clear decides which groups to memclr (spec §2.9). */
enum swiss_clear {
    SWC_ALL,         /* 1.24: every group of every table */
    SWC_FULL,        /* 1.25: skip untouched tables; memclr only groups with a full slot */
    SWC_HEURISTIC,   /* 1.26+: memclr every group unless the table is sparse or slots are big */
};

/* Facts of the Swiss map. */
typedef struct swiss_facts {
    bool tombstone_possible;     /* Map.tombstonePossible exists (>= 1.25) */
    bool small_update_grows;     /* an update to a full small map grows it (<= 1.26) */
    uint8_t prune_paths;         /* AP_BIT()s of the assign paths that prune tombstones */
    uint8_t clear_mode;          /* enum swiss_clear */
    bool clone_structural;       /* maps.Clone copies the structure (>= 1.25); else rebuilds */
} swiss_facts;

typedef struct goversion {
    const char *name;
    uint8_t map_impl;            /* enum map_impl */
    /* runtime facts */
    bool hash_m1_m4;             /* fallback hash: K0 = hashkey[0]^m1, K1..3 = m2..m4 (<= 1.22) */
    bool hashkey_odd;            /* runtime forces hashkey words odd (<= 1.22) */
    bool clear_builtin;          /* clear(m) exists (>= 1.21); else the range-delete idiom */
    bool maps_clone;             /* maps.Clone exists (>= 1.21: the maps package, runtime.mapclone) */
    bool alloc_headers;          /* 8-byte malloc header for pointerful objects > 512 B (>= 1.22) */
    bool rand64;                 /* rand() is 64-bit for iteration and NaN draws (>= 1.22) */
    uint8_t limit_headroom_pct;  /* memory-limit goal headroom: max(pct%, 1 MiB); 0 = 1 MiB flat (<= 1.20) */
    bool tested;                 /* a real toolchain exists to test against */
    classic_facts classic;       /* meaningful when map_impl == MAP_CLASSIC */
    swiss_facts swiss;           /* meaningful when map_impl == MAP_SWISS */
} goversion;

extern const goversion pm_versions[];
extern const int pm_nversions;

/* ---- Model objects (alloc.c) ---- */
enum gobj_kind {
    OBJ_BOX,                /* an indirect key or elem */
    OBJ_STRING,             /* string data (not charged: it belongs to whoever made it) */
    OBJ_POINTEE,            /* the [N]byte a *[N]byte elem points at */
    OBJ_BUCKETS,            /* classic: a bucket array */
    OBJ_OVERFLOW,           /* classic: a separately allocated overflow bucket */
    OBJ_GROUPS,             /* swiss: a table's group array, or a small map's group */
    OBJ_NKINDS,
};

typedef struct gobj {
    uint32_t refcnt;
    uint8_t kind;           /* enum gobj_kind */
    uint8_t mark;           /* used by memory walks */
    uint8_t impl_flag;      /* the implementation's per-object bit (classic buckets:
                               a chain links a separately allocated overflow bucket) */
    uint32_t pmark;         /* OBJ_POINTEE: the last memory walk that counted it */
    uint64_t size;          /* bytes requested */
    uint64_t charged;       /* bytes Go charges for it (0 for string data) */
    uint64_t nelems;        /* arrays: buckets or groups in the allocation */
    pm_map *owner;          /* map whose accounting it is charged to */
    struct pm_runtime *rt;  /* heap holding its slot (with hslot) */
    uintptr_t hslot;        /* its slot in the modelled Go heap (heap.c), 0 = none */
    _Alignas(16) unsigned char data[];
} gobj;

#define GOBJ_OF(p) ((gobj *)((unsigned char *)(p) - offsetof(gobj, data)))

/* What releasing the last reference to an object of a kind must drop
 * besides the object itself (what its slots reference).  Implementations
 * register theirs once (gc_register_release); alloc.c calls them blind. */
typedef void (*gobj_release_fn)(gobj *o);
void gc_register_release(int kind, gobj_release_fn fn);

/* ---- The modelled Go heap of one runtime (heap.c) ---- */
typedef struct mspan mspan;
#define PM_DEFAULT_CONS_MARK 2.0   /* the pacer's cons/mark, calibrated on the churn twins (docs/heap-model.md) */

typedef struct mheap {
    void *lock_owner;                   /* heap_lock: the owning thread's token, or NULL */
    int lock_depth;                     /* recursive: a GC inside an allocation frees */
    bool init, echo, in_gc;
    bool marking;                       /* a heap-triggered cycle's mark phase is running */
    int cycle_kind;                     /* the running cycle's enum gc_kind */
    uint64_t heap0, t_sweepterm;        /* heapLive and the clock when it started */
    uint64_t float_bytes, float_objects; /* died during the mark: kept by this cycle */
    uint8_t headroom_pct;               /* the version's memory-limit headroom */
    pm_baseline base;
    mspan *spans;                       /* in-use spans */
    mspan *cache[136];                  /* the mcache: one span per spanclass */
    mspan *partial[136];                /* swept spans with free slots, per spanclass */
    struct tinyblock *tiny;             /* the mcache's tiny block */
    uint64_t tiny_offset, tiny_allocs;
    uint64_t nspans;
    /* MemStats */
    uint64_t total_alloc, total_free, mallocs, frees;
    uint64_t inuse_pages, sys_pages, released_pages;
    uint64_t live_bytes, dead_bytes, live_scan, dead_objects;
    uint64_t num_gc, num_forced_gc;
    /* the pacer (mgcpacer.go names) */
    int64_t gogc;                       /* -1 = off */
    int64_t memory_limit;
    int gomaxprocs;
    uint64_t heap_live, heap_marked, heap_minimum, gcpercent_goal;
    uint64_t sweep_dist_min_trigger, runway, triggered, last_heap_goal;
    uint64_t last_heap_scan, last_stack_scan;
    double cons_mark;
    uint64_t paced_cycles;              /* heap-triggered cycles completed (consMark is 0 before) */
    /* the virtual clock and the timing cost model */
    uint64_t clock, last_gc, gc_cpu_ns, pause_total_ns;
    double gc_cpu_fraction;
    /* gctrace: a ring of the last trace_keep lines (heap.c) */
    char *trace;                        /* trace_cap bytes: text byte a at trace[a % trace_cap] */
    uint64_t trace_cap;
    uint64_t trace_start, trace_end;    /* byte offsets of the kept text */
    uint64_t *trace_offs;               /* trace_keep entries: line i starts at trace_offs[i % keep] */
    uint64_t trace_keep, trace_kept;    /* lines the ring keeps / keeps now */
    uint64_t trace_lines;               /* lines ever produced */
    struct pm_pool *pools;              /* every pool of this runtime (pool.c) */
} mheap;

/* How pm_rand treats draws while an operation runs twice (classic/map.c run_atomic). */
enum {
    REC_OFF,        /* draws come from the source */
    REC_RECORD,     /* draws come from the source and are recorded */
    REC_REPLAY,     /* draws are the recorded ones, in order */
};

/* The draw state of the operation running on this thread.  It belongs to
 * the operation, not to the runtime: two threads sharing a Runtime each
 * see only their own failed draw and record, and pm_rand saves it around
 * the user's callback, so an operation the callback runs (on any map, of
 * any runtime) starts from a clean state and leaves the outer one as it
 * was.  Only `elem` is visible inside the callback: it names the entry the
 * draw is for. */
typedef struct pm_draws {
    bool failed;            /* a draw of this operation failed (the callback reported an error) */
    int rec_mode;           /* REC_*: recording or replaying draws */
    const uint8_t *elem;    /* elem of the entry a grow is rehashing (for replaying NaN draws) */
    uint64_t *rec;          /* draws recorded by the trial run on a clone (owned by run_atomic) */
    size_t rec_len, rec_cap, rec_pos;
} pm_draws;
/* initial-exec: a fixed offset from the thread pointer, so the checks on
 * the hot paths cost one load (the struct is small enough for the static
 * TLS surplus a dlopen'ed module may use). */
extern __thread pm_draws pm_op_draws __attribute__((tls_model("initial-exec")));

struct pm_runtime {
    uint32_t refcnt;                    /* the Python Runtime + every map and pool */
    mheap heap;
    const goversion *ver;
    int version_index;
    uint64_t hashkey[4];
    uint64_t K[4];          /* the fallback hash's K0..K3, derived from hashkey per version */
    uint64_t rng;           /* SplitMix64 state when no callback */
    pm_randfn randfn;
    void *randctx;
    uint64_t max_alloc;
    struct pm_runtime *fork_next, *fork_prev;  /* the process's live runtimes (process.c) */
    /* The model's own memory: bytes the C core holds for this runtime's
     * objects (headers included), and the budget new work must stay under
     * (gc_check_alloc, map_assign_locked).  Atomic: maps of one runtime
     * run in parallel. */
    uint64_t model_bytes;
    uint64_t model_budget;
};

struct pm_maptype {
    int key_kind, elem_kind;
    uint32_t keysize, elemsize;         /* sizeof(K), sizeof(V) */
    uint32_t keyslot, elemslot;         /* what a slot stores: the size, or 8 when indirect */
    uint32_t keyalign, elemalign;       /* Go's alignment of what the slot stores */
    uint32_t bucketsize;                /* classic: sizeof(bmap) */
    uint32_t slotsize, elemoff;         /* swiss: sizeof(struct{K'; V'}) and V's offset in it */
    uint32_t groupsize;                 /* swiss: 8 + 8 * slotsize (16 at least) */
    uint8_t flags;                      /* TF_* */
    bool key_ptrs, elem_ptrs;           /* the slot holds pointers (cleared on delete) */
    bool bucket_ptrs;                   /* a bucket / group holds pointers */
    enum hasher_kind hasher;
    uint8_t keyclass;                   /* enum keyclass */
    uint8_t assign_path;                /* enum assign_path */
    bool elem_ref;                      /* the elem slot's first word holds a counted
                                           reference (string data, a *[N]byte pointee) */
    uint32_t pointee;                   /* *[N]byte elems: N */
    uint32_t refcnt;                    /* the Python MapType + every map of this type */
};
void pm_maptype_retain(pm_maptype *t);

/* ---- errors (runtime.c) ---- */
void set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern int pm_debug_check;              /* run the checkers after every mutation */
/* A draw of this thread's running operation failed: clears the flag and says so. */
bool pm_rand_failed(void);

/* ---- alloc.c: the one allocation seam ---- */
uint64_t go_roundupsize(const goversion *v, uint64_t size, bool noscan);
uint64_t go_charged(const goversion *v, uint64_t size, bool noscan);
/* Every modelled allocation: charged at Go's size class to owner's account,
 * and given a slot in the runtime's heap unless owner is a shadow. */
gobj *gc_alloc(pm_map *owner, int kind, uint64_t size, bool noscan);
void gc_incref(gobj *o);
void gc_decref(gobj *o);
gobj *gc_string(pm_runtime *rt, const uint8_t *data, uint64_t len);
/* PM_OK, or PM_EMAXALLOC when `more` bytes of new work would take the
 * runtime's model memory past its budget. */
int gc_check_budget(pm_runtime *rt, uint64_t more);
uintptr_t gc_charge(pm_map *owner, uint64_t size, bool noscan);
/* PM_OK, or PM_EMAXALLOC when one allocation of size would exceed max_alloc
 * or take the model's memory past its budget. */
int gc_check_alloc(pm_runtime *rt, uint64_t size, bool noscan);
uint64_t go_sizeclass(const goversion *v, uint64_t size, bool noscan, int *cls);
uint64_t go_class_npages(int cls);

/* ---- heap.c, pool.c: the modelled Go heap ---- */
int pm_heap_init(pm_runtime *rt);
void pm_heap_destroy(pm_runtime *rt);
uintptr_t heap_alloc(pm_runtime *rt, uint64_t size, bool noscan);  /* 0 = untracked */
void heap_free(pm_runtime *rt, uintptr_t slot);
void heap_lock(mheap *hp);
void heap_unlock(mheap *hp);
void pm_pools_cleanup(pm_runtime *rt);
void pm_pools_destroy(pm_runtime *rt);

/* Re-initialise a heap lock in a fork()ed child: no thread holds it there. */
void heap_lock_reinit(mheap *hp);

/* ---- process.c: Ctrl-C and fork() ---- */
/* Long API calls bracket their loops with pm_intr_enter / pm_intr_leave
 * (nesting allowed) and poll inside them: pm_intr_check on every expensive
 * step (a GC cycle, a scenario record), pm_intr_poll(i) on iteration i of a
 * cheap loop.  Either is true when a SIGINT is held for this thread's call
 * (the message is set); the loop then stops between two operations and the
 * call returns PM_EINTR.  pm_intr_leave turns a SIGINT that came after the
 * last poll into PM_EINTR for a call that succeeded. */
enum { PM_INTR_EVERY = 4096 };          /* cheap iterations between two polls (a power of 2) */
void pm_intr_enter(void);
int pm_intr_leave(int rc);
bool pm_intr_check(void);
static inline bool pm_intr_poll(uint64_t i)
{
    return (i & (PM_INTR_EVERY - 1)) == PM_INTR_EVERY - 1 && pm_intr_check();
}
/* Every live runtime is listed, so that a fork() can take every heap lock. */
void pm_process_register(pm_runtime *rt);
void pm_process_unregister(pm_runtime *rt);
/* A fork() is waiting for the heap locks: a long holder lets it in (heap.c). */
bool pm_fork_waiting(void);
/* Forks this process descends through: a lock word holding an older value
 * was left by a thread that does not exist here. */
uint32_t pm_fork_generation(void);
/* alloc.c's free-list lock, for the fork handlers. */
void fl_fork_lock(void);
void fl_fork_unlock(void);
void fl_fork_reinit(void);

/* ---- hash.c ---- */
void pm_hash_init_keys(pm_runtime *rt);
uint64_t pm_memhash(const pm_runtime *rt, const uint8_t *p, uint64_t seed, uint64_t s);
uint64_t pm_typehash(pm_runtime *rt, const pm_maptype *t, const uint8_t *key, uint64_t seed);
uint64_t pm_rand(pm_runtime *rt, int purpose);
uint64_t pm_splitmix_next(uint64_t *state);

/* The fallback hash's mixing step and its length constant (hash.c). */
static inline uint64_t pm_mix(uint64_t a, uint64_t b)
{
    unsigned __int128 r = (unsigned __int128)a * b;
    return (uint64_t)(r >> 64) ^ (uint64_t)r;
}
#define PM_HASH_M5 0x1d8e4e27c47d124fULL

/* pm_memhash of exactly s = 4 or 8 bytes whose little-endian value is w
 * (memhash32/memhash64: both halves of the input are the same word). */
static inline uint64_t pm_memhash_word(const pm_runtime *rt, uint64_t w, uint64_t seed, uint64_t s)
{
    return pm_mix(PM_HASH_M5 ^ s, pm_mix(w ^ rt->K[1], w ^ seed ^ rt->K[0]));
}

/* ---- types.c: key and elem images ---- */
static inline unsigned char *deref(const unsigned char *slot)
{
    unsigned char *p;
    memcpy(&p, slot, sizeof p);
    return p;
}
/* Copy a key or elem image out of model memory for a caller (strings: the
 * header, and a reference on the data the caller releases; *[N]byte: the
 * pointer, and a reference on the pointee). */
static inline void image_copy_out(int kind, uint32_t size, const unsigned char *src, uint8_t *dst)
{
    if (kind == PM_KIND_STRING || kind == PM_KIND_PTRBYTES) {
        memcpy(dst, src, kind == PM_KIND_STRING ? 16 : 8);
        unsigned char *data = deref(src);
        if (data)
            gc_incref(GOBJ_OF(data));
    } else if (size == 8) {
        memcpy(dst, src, 8);   /* the common size, without a libc call */
    } else if (size) {
        memcpy(dst, src, size);
    }
}
/* Bytes of a key / elem image as it crosses the API (strings: the header). */
static inline size_t key_image_size(const pm_maptype *t)
{
    return t->key_kind == PM_KIND_STRING ? 16 : t->keysize;
}
static inline size_t elem_image_size(const pm_maptype *t)
{
    return t->elem_kind == PM_KIND_STRING ? 16 : t->elemsize;
}
bool key_equal(const pm_maptype *t, const unsigned char *a, const unsigned char *b);
bool key_is_nan(const pm_maptype *t, const unsigned char *k);
/* The image holds a value of its kind (for the checkers: a bool byte is 0 or 1). */
bool image_valid(int kind, const unsigned char *img);
/* The key image a slot holds (through its box when indirect). */
static inline unsigned char *slot_key(const pm_maptype *t, unsigned char *k)
{
    return (t->flags & TF_INDIRECTKEY) ? deref(k) : k;
}
static inline unsigned char *slot_elem(const pm_maptype *t, unsigned char *e)
{
    return (t->flags & TF_INDIRECTELEM) ? deref(e) : e;
}
void slot_release_key(const pm_maptype *t, unsigned char *k);
void slot_release_elem(const pm_maptype *t, unsigned char *e);
void slot_retain(const pm_maptype *t, unsigned char *k, unsigned char *e);
/* Zero a slot's key / elem words, dropping what they referenced. */
void slot_clear_key(const pm_maptype *t, unsigned char *k);
void slot_clear_elem(const pm_maptype *t, unsigned char *e);
/* Store a value image into a zeroed slot: keys get their own copy of string
 * data, indirect values a box charged to owner. */
int store_value(pm_map *owner, int kind, uint32_t size, bool indirect,
                unsigned char *slot, const unsigned char *img, const uint8_t *raw, size_t rawlen);
/* The slot's key and elem from an assign: the key image, the elem as the
 * API gave it (NULL: the zero value). */
int slot_store(pm_map *owner, unsigned char *k, unsigned char *e,
               const unsigned char *key, const uint8_t *elem, size_t elemlen);
/* Overwrite the elem of a live slot (and the key when NeedKeyUpdate). */
int slot_update(pm_map *owner, unsigned char *k, unsigned char *e,
                const unsigned char *key, const uint8_t *elem, size_t elemlen);
/* A slot image just copied from another map's slot takes its own
 * references: boxes are duplicated (charged to owner), string data and
 * pointees gain a reference.  On failure the pointer words it could not
 * reference are zeroed. */
int slot_take_refs(pm_map *owner, unsigned char *k, unsigned char *e);

/* Largest image a key can have inline (strings: the 16-byte header). */
#define KEYIMG_INLINE 256
typedef struct keybuf {
    unsigned char small[KEYIMG_INLINE];
    unsigned char *p;
} keybuf;
/* The key image of an API key (strings: a header pointing at the caller's bytes). */
int keybuf_init(keybuf *kb, const pm_maptype *t, const uint8_t *key, size_t keylen);
void keybuf_free(keybuf *kb);
int elem_check(const pm_maptype *t, const uint8_t *elem, size_t elemlen);
/* new([N]byte) for a *[N]byte elem, with `contents` (N bytes) or zeroed. */
gobj *pointee_new(pm_map *owner, const uint8_t *contents);

#endif /* PYMAP_RUNTIME_H */
