/*
 * pymap.h -- internal declarations of the pymap C core.
 *
 * The model keeps Go's memory images where Go's behaviour depends on them
 * (a bucket is tophash[8], 8 packed keys, 8 packed elems and an overflow
 * word, at the offsets the Go compiler computes) and plain C structs where
 * only the values matter (the hmap header, mapextra, the overflow slices'
 * lengths and capacities).  Pointers stored inside bucket memory (string
 * data, indirect key/elem boxes, overflow links) are the model's own
 * pointers: Go's pointer values are not observable state.
 *
 * Every modelled allocation is a gobj obtained from gc_alloc() (alloc.c),
 * the one allocation seam: it charges the bytes Go's allocator would charge
 * and keeps the per-map accounting, so the figures reported to Python and
 * the memory actually held can never disagree.  gobjs are reference
 * counted so an iterator's snapshot outlives the map dropping it, as Go's
 * GC would keep it.
 */
#ifndef PYMAP_H
#define PYMAP_H

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

/* ---- Go's map constants (runtime/map.go) ---- */
enum {
    bucketCntBits = 3,
    bucketCnt = 1 << bucketCntBits,   /* 8 slots per bucket */
    dataOffset = 8,                   /* keys start after tophash[8] */
    maxKeySize = 128,                 /* larger keys are stored indirectly */
    maxElemSize = 128,                /* larger elems are stored indirectly */
    loadFactorDen = 2,
};
#define MAX_ALLOC_GO ((uint64_t)1 << 48)   /* maxAlloc on linux/amd64 */

_Static_assert(bucketCnt == 8, "tophash is an 8-byte array and slot order uses & 7");
_Static_assert(dataOffset == bucketCnt, "keys start right after tophash[bucketCnt]");

/* tophash sentinels (runtime/map.go). */
enum {
    emptyRest = 0,      /* this slot and all later slots of the chain are empty */
    emptyOne = 1,       /* this slot is empty */
    evacuatedX = 2,     /* entry moved to the first half of the larger table */
    evacuatedY = 3,     /* entry moved to the second half of the larger table */
    evacuatedEmpty = 4, /* empty slot of an evacuated bucket */
    minTopHash = 5,     /* smallest tophash of a live slot */
};
_Static_assert((evacuatedX ^ 1) == evacuatedY, "iteration relies on X/Y differing only in bit 0");

/* hmap.flags bits (runtime/map.go). */
enum {
    iteratorFlag = 1,    /* there may be an iterator using buckets */
    oldIterator = 2,     /* there may be an iterator using oldbuckets */
    hashWriting = 4,     /* a goroutine is writing to the map */
    sameSizeGrow = 8,    /* the current grow is to a same-size table */
};

/* maptype flags (reflectdata MapType). */
enum {
    TF_INDIRECTKEY = 1,
    TF_INDIRECTELEM = 2,
    TF_REFLEXIVEKEY = 4,
    TF_NEEDKEYUPDATE = 8,
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

/* Key types with a specialised hot path -- the model's analogue of Go's
 * mapassign_fast32/fast64: same slots, same steps, fewer instructions. */
enum keyclass {
    KC_GENERIC,     /* hashed and compared through the type */
    KC_MEM4,        /* 4 bytes of plain memory stored inline (memhash32) */
    KC_MEM8,        /* 8 bytes of plain memory stored inline (memhash64) */
};

/* ---- The version table: every Go difference the model applies ---- */
typedef struct goversion {
    const char *name;
    uint8_t loadFactorNum;       /* 13 (6.5 per bucket); 12 in 1.21 (golang/go#63438) */
    uint8_t hmap_size;           /* sizeof(hmap): 48, 56 with clearSeq */
    bool hash_m1_m4;             /* fallback hash: K0 = hashkey[0]^m1, K1..3 = m2..m4 (<= 1.22) */
    bool hashkey_odd;            /* runtime forces hashkey words odd (<= 1.22) */
    bool clear_builtin;          /* clear(m) exists (>= 1.21); else the range-delete idiom */
    bool clear_marks_empty;      /* mapclear marks every tophash emptyRest (1.21-1.23, #59411) */
    bool clear_seq;              /* hmap.clearSeq and the iterator check (1.24 noswiss, #70189) */
    bool alloc_headers;          /* 8-byte malloc header for pointerful objects > 512 B (>= 1.22) */
    bool rand64;                 /* rand() is 64-bit for iteration and NaN draws (>= 1.22) */
    uint8_t limit_headroom_pct;  /* memory-limit goal headroom: max(pct%, 1 MiB); 0 = 1 MiB flat (<= 1.20) */
    bool tested;                 /* a real toolchain exists to test against */
} goversion;

extern const goversion pm_versions[];
extern const int pm_nversions;

/* ---- Model objects (alloc.c) ---- */
enum gobj_kind {
    OBJ_HMAP, OBJ_EXTRA, OBJ_ARRAY, OBJ_OVERFLOW, OBJ_BOX, OBJ_STRING,
    OBJ_POINTEE,            /* the [N]byte a *[N]byte elem points at */
};

typedef struct gobj {
    uint32_t refcnt;
    uint8_t kind;
    uint8_t mark;           /* used by memory walks */
    uint8_t links_heap;     /* OBJ_ARRAY: a chain links a separately allocated overflow bucket */
    uint32_t pmark;         /* OBJ_POINTEE: the last memory walk that counted it */
    uint64_t size;          /* bytes requested */
    uint64_t charged;       /* bytes Go charges for it (0 for string data) */
    uint64_t nbuckets;      /* OBJ_ARRAY: buckets in the allocation */
    struct pm_hmap *owner;  /* map whose accounting it is charged to */
    struct pm_runtime *rt;  /* heap holding its slot (with hslot) */
    uintptr_t hslot;        /* its slot in the modelled Go heap (heap.c), 0 = none */
    _Alignas(16) unsigned char data[];
} gobj;

#define GOBJ_OF(p) ((gobj *)((unsigned char *)(p) - offsetof(gobj, data)))

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
    /* gctrace lines */
    char *trace;
    size_t trace_len, trace_cap;
    uint64_t trace_lines;
    struct pm_pool *pools;              /* every pool of this runtime (pool.c) */
} mheap;

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
    int rand_failed;        /* set when the callback reported an error */
    const uint8_t *draw_elem; /* elem of the entry evacuate is rehashing (for replaying NaN draws) */
    int rec_mode;           /* REC_*: recording or replaying draws (clone.c) */
    uint64_t *rec;          /* draws recorded by the trial run on a clone */
    size_t rec_len, rec_cap, rec_pos;
    uint64_t max_alloc;
};

struct pm_maptype {
    int key_kind, elem_kind;
    uint32_t keysize, elemsize;         /* sizeof(K), sizeof(V) */
    uint32_t keyslot, elemslot;         /* slot sizes in the bucket */
    uint32_t bucketsize;
    uint8_t flags;                      /* TF_* */
    bool key_ptrs, elem_ptrs;           /* the slot holds pointers (cleared on delete) */
    bool bucket_ptrs;                   /* the bucket type has pointers */
    enum hasher_kind hasher;
    uint8_t keyclass;                   /* enum keyclass */
    bool elem_ref;                      /* the elem slot's first word holds a counted
                                           reference (string data, a *[N]byte pointee) */
    uint32_t pointee;                   /* *[N]byte elems: N */
    uint32_t refcnt;                    /* the Python MapType + every hmap of this type */
};
void pm_maptype_retain(pm_maptype *t);

/* A *[]*bmap's heap objects: the slice header and its current backing
 * array.  Refcounted: an iterator keeps the map's slices alive. */
typedef struct ovrec {
    uint32_t refcnt;
    uintptr_t hdr, back;                /* heap slots (0 = none) */
} ovrec;

typedef struct ovslice {                /* a *[]*bmap held in mapextra */
    bool present;
    ovrec *rec;
    int64_t len, cap;
    uint64_t backing_charged;           /* bytes charged for the current backing array */
} ovslice;

struct pm_hmap {
    /* the hmap header */
    int64_t count;
    uint8_t flags;
    uint8_t B;
    uint16_t noverflow;
    uint32_t hash0;
    gobj *buckets;
    gobj *oldbuckets;
    uint64_t nevacuate;
    uint64_t clearSeq;
    /* mapextra */
    bool extra;
    ovslice overflow, oldoverflow;
    unsigned char *nextOverflow;
    /* model bookkeeping */
    uint32_t refcnt;                    /* Python handle + live iterators */
    pm_runtime *rt;
    pm_maptype *t;
    uint64_t hmap_charged;
    uint64_t allocated;                 /* cumulative bytes charged (TotalAlloc share) */
    bool shadow;                        /* a clone for a trial run: never in the Go heap */
    uintptr_t hslot_hmap, hslot_extra;  /* heap slots of the hmap and mapextra */
    int busy;                           /* try-lock: -1 one writer, n > 0 readers */
    const void *writer;                 /* the write-locking thread's token */
    int walking;                        /* a memory walk is marking this map's objects */
    uint8_t mem_epoch;                  /* the mark of its latest memory walk */
};

struct pm_iter {
    pm_hmap *h;
    gobj *buckets;          /* snapshot it.buckets (a reference) */
    gobj *bobj;             /* object holding bptr (a reference), or NULL */
    unsigned char *bptr;
    const uint8_t *key, *elem;
    uint64_t startBucket, bucket, checkBucket;
    uint8_t offset, wrapped, B, i;
    uint64_t clearSeq;
    ovrec *ovf[2];          /* it.overflow, it.oldoverflow (references) */
    uint8_t *kbuf, *ebuf;   /* API iterators: the current entry's key and elem images,
                               copied when it is reached (strings and pointees hold a
                               reference), as Go's range loop reads *it.key at once */
    bool captured;          /* kbuf/ebuf hold the current entry */
    bool done;
    int busy;               /* try-lock: one thread at a time per iterator */
};
#define noCheck (UINT64_MAX)

/* How pm_rand treats draws while an operation runs twice (clone.c). */
enum {
    REC_OFF,        /* draws come from the source */
    REC_RECORD,     /* draws come from the source and are recorded */
    REC_REPLAY,     /* draws are the recorded ones, in order */
};

/* ---- alloc.c: the one allocation seam ---- */
uint64_t go_roundupsize(const goversion *v, uint64_t size, bool noscan);
uint64_t go_charged(const goversion *v, uint64_t size, bool noscan);
gobj *gc_alloc(pm_hmap *h, int kind, uint64_t size, bool noscan);
void gc_incref(gobj *o);
void gc_decref(gobj *o);
gobj *gc_string(const uint8_t *data, uint64_t len);
uintptr_t gc_charge(pm_hmap *h, uint64_t size, bool noscan);
uint64_t go_sizeclass(const goversion *v, uint64_t size, bool noscan, int *cls);
uint64_t go_class_npages(int cls);

gobj *pointee_new(pm_hmap *h, const uint8_t *contents);

/* ---- heap.c, pool.c: the modelled Go heap ---- */
int pm_heap_init(pm_runtime *rt);
void pm_heap_destroy(pm_runtime *rt);
uintptr_t heap_alloc(pm_runtime *rt, uint64_t size, bool noscan);  /* 0 = untracked */
void heap_free(pm_runtime *rt, uintptr_t slot);
void heap_lock(mheap *hp);
void heap_unlock(mheap *hp);
void pm_pools_cleanup(pm_runtime *rt);
void pm_pools_destroy(pm_runtime *rt);
ovrec *ovrec_new(pm_hmap *h, uintptr_t hdr);
void ovrec_release(pm_runtime *rt, ovrec *r);

/* ---- hash.c ---- */
void pm_hash_init_keys(pm_runtime *rt);
uint64_t pm_memhash(const pm_runtime *rt, const uint8_t *p, uint64_t seed, uint64_t s);
uint64_t pm_typehash(pm_runtime *rt, const pm_maptype *t, const uint8_t *key, uint64_t seed);
uint64_t pm_rand(pm_runtime *rt, int purpose);

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

/* ---- clone.c ---- */
pm_hmap *pm_map_clone(const pm_hmap *h);

/* ---- map.c ---- */
static inline unsigned char *bucket_at(gobj *arr, const pm_maptype *t, uint64_t i)
{
    return arr->data + i * t->bucketsize;
}
static inline unsigned char *bmap_overflow(const pm_maptype *t, unsigned char *b)
{
    unsigned char *o;
    memcpy(&o, b + t->bucketsize - 8, sizeof o);
    return o;
}
static inline void bmap_setoverflow(const pm_maptype *t, unsigned char *b, unsigned char *o)
{
    memcpy(b + t->bucketsize - 8, &o, sizeof o);
}
static inline unsigned char *bmap_key(const pm_maptype *t, unsigned char *b, unsigned i)
{
    return b + dataOffset + (uint64_t)i * t->keyslot;
}
static inline unsigned char *bmap_elem(const pm_maptype *t, unsigned char *b, unsigned i)
{
    return b + dataOffset + bucketCnt * (uint64_t)t->keyslot + (uint64_t)i * t->elemslot;
}
static inline unsigned char *deref(unsigned char *slot)
{
    unsigned char *p;
    memcpy(&p, slot, sizeof p);
    return p;
}
/* Copy a key or elem image out of bucket memory for a caller (strings: the
 * header, and a reference on the data the caller releases; *[N]byte: the
 * pointer, and a reference on the pointee). */
static inline void image_copy_out(int kind, uint32_t size, const unsigned char *src, uint8_t *dst)
{
    if (kind == PM_KIND_STRING || kind == PM_KIND_PTRBYTES) {
        memcpy(dst, src, kind == PM_KIND_STRING ? 16 : 8);
        unsigned char *data = deref((unsigned char *)src);
        if (data)
            gc_incref(GOBJ_OF(data));
    } else if (size == 8) {
        memcpy(dst, src, 8);   /* the common size, without a libc call */
    } else if (size) {
        memcpy(dst, src, size);
    }
}
static inline bool isEmpty(uint8_t x) { return x <= emptyOne; }
static inline bool evacuated(const unsigned char *b) { return b[0] > emptyOne && b[0] < minTopHash; }
static inline uint64_t bucketShift(uint8_t b) { return (uint64_t)1 << (b & 63); }
static inline uint64_t bucketMask(uint8_t b) { return bucketShift(b) - 1; }
static inline uint8_t tophash(uint64_t hash)
{
    uint8_t top = (uint8_t)(hash >> 56);
    return top < minTopHash ? (uint8_t)(top + minTopHash) : top;
}
static inline bool h_growing(const pm_hmap *h) { return h->oldbuckets != NULL; }
static inline uint64_t h_noldbuckets(const pm_hmap *h)
{
    uint64_t n = bucketShift(h->B);
    return (h->flags & sameSizeGrow) ? n : n >> 1;
}
bool overLoadFactor(const goversion *v, int64_t count, uint8_t B);
bool key_equal(const pm_maptype *t, const unsigned char *a, const unsigned char *b);
bool key_is_nan(const pm_maptype *t, const unsigned char *k);
/* Locate key (image form) in the live table: mapaccessK. */
bool mapaccessK(pm_hmap *h, const unsigned char *key, unsigned char **kout, unsigned char **eout);
bool pm_bucket_in_array(const pm_hmap *h, const gobj *arr, const unsigned char *b);
void slot_release_key(const pm_maptype *t, unsigned char *k);
void slot_release_elem(const pm_maptype *t, unsigned char *e);
void bucket_release(const pm_maptype *t, unsigned char *b, const gobj *arr);
/* Does releasing arr have to visit its buckets (pointer slots or heap links)? */
static inline bool array_needs_release(const pm_maptype *t, const gobj *arr)
{
    return t->bucket_ptrs || arr->links_heap;
}
void set_error(const char *fmt, ...);

/* The per-map reader/writer try-lock every entry point takes (PM_EBUSY on a
 * conflict, with Go's message in pm_last_error). */
int pm_lock_write(pm_hmap *h);
void pm_unlock_write(pm_hmap *h);
int pm_lock_read(pm_hmap *h);
void pm_unlock_read(pm_hmap *h);
/* Single operations for callers holding the write lock (bulk.c, scenario.c):
 * each is all-or-nothing under a failing rand and runs the debug checker. */
int map_assign_locked(pm_hmap *h, const unsigned char *key, const uint8_t *elem, size_t elemlen);
/* The API's assign: for *[N]byte elems, elem is N bytes of contents (or NULL
 * with elemlen N: zeroed) and elemlen 0 is nil; otherwise map_assign_locked. */
int map_assign_api_locked(pm_hmap *h, const unsigned char *key, const uint8_t *elem, size_t elemlen);
int map_delete_locked(pm_hmap *h, const unsigned char *key, int *deleted);
int map_clear_locked(pm_hmap *h);
int map_op_finish(pm_hmap *h, int rc);
/* A hint only: start loading the bucket key would land in (specialised key
 * classes; no draw, no state change).  Bulk loops call it a few keys ahead
 * so that the cache misses of independent operations overlap. */
void map_prefetch(pm_hmap *h, const unsigned char *key);
enum {
    PREFETCH_AHEAD = 8,              /* keys ahead */
    PREFETCH_MIN_BYTES = 1 << 20,    /* bucket arrays smaller than this are left to the cache */
};

/* The unlocked bodies of pm_map_header/_memory and pm_map_check. */
void map_header(const pm_hmap *h, pm_header *out);
void map_memory(pm_hmap *h, pm_memory *out);
int map_check(const pm_hmap *h);
void pm_create_overflow(pm_hmap *h);   /* createOverflow, for mapiterinit */

/* ---- bulk.c: range values (see its opening comment) ---- */
enum { KEY_RANGE_IMG = 16 };   /* largest range key image: complex128 or a string header */
int64_t pm_range_len(int64_t start, int64_t stop, int64_t step);
size_t pm_range_image(int kind, uint32_t size, int64_t i, unsigned char *img, char *text);
/* Range loops: prefetch the bucket of key(i + PREFETCH_AHEAD * step), using kimg/text as scratch. */
void pm_range_prefetch(pm_hmap *h, int64_t i, int64_t step, unsigned char *kimg, char *text);
/* The assign loop of pm_assign_range for a validated range, lock held. */
int pm_range_assign_locked(pm_hmap *h, int64_t start, int64_t step, int64_t n, int64_t *done);

/* ---- iter.c: iteration on a caller-owned pm_iter (caller holds the lock) ---- */
int pm_iter_init_internal(pm_hmap *h, int64_t start_bucket, int offset, pm_iter *it);
int pm_iter_next_internal(pm_iter *it);
void pm_iter_release_internal(pm_iter *it);

#endif /* PYMAP_H */
