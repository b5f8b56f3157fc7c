/*
 * pymap_api.h -- the C core's public surface, declarations only.
 *
 * This file is read twice: by the C compiler (through pymap.h) and by
 * cffi's cdef parser (build_ext.py), which accepts no preprocessor logic
 * beyond plain integer #defines.  Keep it that way: no include guards, no
 * macros with arguments, no inline code.  Internal types stay opaque here;
 * their layouts live in pymap.h.
 *
 * Conventions: functions that can fail return an int status (PM_OK or a
 * negative PM_E* code) and change nothing when they fail.  Keys and elems
 * cross the boundary as Go memory images (little-endian, sizeof(K) bytes),
 * except strings, which cross as their UTF-8/byte contents.
 */

/* Status codes. */
#define PM_OK 0
#define PM_ENOMEM -1        /* the machine (malloc) refused */
#define PM_EMAXALLOC -2     /* a modelled allocation exceeds max_alloc, or the model's memory budget */
#define PM_ERAND -3         /* the user's rand callback failed */
#define PM_EARG -4          /* bad argument (message in pm_last_error) */
#define PM_ENOTFOUND -5     /* key absent */
#define PM_EBUSY -6         /* another thread is inside this map: concurrent map read and map write */
#define PM_ECHECK -7        /* the debug consistency check failed after a mutation */
#define PM_EINVARIANT -8    /* the consistency checker found a broken invariant */
#define PM_EIMPL -9         /* the call does not apply to this map implementation */
#define PM_EBUSY_WRITES -10 /* another thread is writing this map: concurrent map writes */
#define PM_EBUSY_ITER -11   /* another thread is using this iterator */
#define PM_EINTR -12        /* SIGINT (Ctrl-C) stopped the call between two operations (process.c) */

/* The most work one call may be asked for: loop iterations, operations and GC
 * cycles (a range of more items, a repeat count beyond it, is PM_EARG up front).
 * 2**48: about 160 days at 20 million operations a second. */
#define PM_MAX_WORK 281474976710656

/* Map implementations (the version table's map_impl column). */
#define PM_IMPL_CLASSIC 0   /* hmap/bmap buckets */
#define PM_IMPL_SWISS 1     /* Swiss tables (internal/runtime/maps) */

/* Go value kinds a map key or elem can have. */
#define PM_KIND_BOOL 1
#define PM_KIND_INT 2        /* signed, 1/2/4/8 bytes */
#define PM_KIND_UINT 3       /* unsigned, 1/2/4/8 bytes */
#define PM_KIND_FLOAT 4      /* 4 or 8 bytes */
#define PM_KIND_COMPLEX 5    /* 8 or 16 bytes */
#define PM_KIND_STRING 6     /* 16-byte header: data pointer + length */
#define PM_KIND_POINTER 7    /* an opaque 8-byte address */
#define PM_KIND_BYTES 8      /* [N]byte, any N >= 0 */
#define PM_KIND_EMPTY 9      /* struct{} */
#define PM_KIND_PTRBYTES 10  /* *[N]byte: an 8-byte pointer to an N-byte pointee (size = N) */

/* Purposes of random draws, in the order the rand(purpose) API names them. */
#define PM_RAND_HASH0 0
#define PM_RAND_ITER 1
#define PM_RAND_NOVERFLOW 2
#define PM_RAND_NANHASH 3
#define PM_RAND_SEED 4       /* a Swiss map's 64-bit seed */

/* Where a bucket of a chain lives. */
#define PM_ORIGIN_ARRAY 0
#define PM_ORIGIN_PREALLOC 1
#define PM_ORIGIN_HEAP 2

typedef struct pm_runtime pm_runtime;
typedef struct pm_maptype pm_maptype;
typedef struct pm_map pm_map;
typedef struct pm_iter pm_iter;

typedef uint64_t (*pm_randfn)(void *ctx, int purpose, int *err);

/* Read-only facts about a map type (sizes as the Go compiler computes them). */
typedef struct {
    uint32_t key_size, elem_size;           /* sizeof(K), sizeof(V) */
    uint32_t key_slot_size, elem_slot_size; /* 8 when stored indirectly */
    uint32_t key_align, elem_align;         /* alignment of what a slot stores */
    uint32_t bucket_size;                   /* classic bmap */
    uint32_t bucket_keys_offset, bucket_elems_offset, bucket_overflow_offset;
    uint32_t slot_size, elem_offset;        /* Swiss slot struct {K'; V'} */
    uint32_t group_size;                    /* Swiss group: control word + 8 slots */
    int assign_path;                        /* the mapassign variant Go's compiler picks (0 generic,
                                               1 fast32, 2 fast64, 3 fast64ptr, 4 faststr) */
    int indirect_key, indirect_elem, reflexive_key, need_key_update;
    int has_pointers;                       /* the bucket / group type has pointers */
} pm_typeinfo;

/* A snapshot of the hmap header and mapextra. */
typedef struct {
    int64_t count;
    uint32_t flags, B, noverflow, hash0;
    uint64_t nevacuate, clear_seq;
    int growing, same_size_grow, extra_allocated;
    int64_t next_overflow;                  /* array index, or -1 */
    int64_t overflow_len, overflow_cap;     /* -1 when the slice is absent */
    int64_t oldoverflow_len, oldoverflow_cap;
    uint64_t nbuckets_alloc;                /* buckets in the current allocation */
} pm_header;

/* Bytes charged, per category (see MapMemory in the Python layer).  The
 * classic map fills hmap..overflow_slice, the Swiss map map..small_group;
 * indirect, pointees, total and allocated are common. */
typedef struct {
    uint64_t hmap, extra, buckets, oldbuckets, overflow, overflow_slice;
    uint64_t map, directory, tables, groups, small_group;
    uint64_t indirect, pointees, total, allocated;
} pm_memory;

/* A Swiss map's header (maps.Map). */
typedef struct {
    uint64_t used, seed;
    int64_t dir_len;                        /* 0: small map, or no storage yet */
    uint32_t global_depth, global_shift;
    int tombstone_possible, small, has_storage;
    uint64_t clear_seq;
    int64_t ntables;                        /* distinct tables */
} pm_swiss_header;

/* One table of a Swiss map. */
typedef struct {
    int64_t index;                          /* first directory entry; -1 once replaced */
    uint32_t capacity, used, growth_left, local_depth;
    uint32_t tombstones;                    /* counted from the control bytes */
    uint64_t ngroups;
} pm_swiss_table;

/* Versions: index into the table in version.c. */
int pm_version_count(void);
const char *pm_version_name(int v);
/* Does this version force every hashkey word odd (<= 1.22)? */
int pm_version_hashkey_odd(int v);
/* Does this version have the clear builtin (>= 1.21)?  Else the range-delete idiom. */
int pm_version_clear_builtin(int v);
/* PM_IMPL_CLASSIC or PM_IMPL_SWISS: the builtin map of this version. */
int pm_version_map_impl(int v);
/* A version row, for Python (the one source of version facts). */
typedef struct {
    int map_impl, tested, clear_builtin, maps_clone, hashkey_odd, alloc_headers, rand64;
    int classic_load_factor_num;    /* load factor = num / 2 per bucket */
    int classic_hmap_size, classic_clear_marks_empty, classic_clear_seq;
    int swiss_tombstone_possible, swiss_small_update_grows, swiss_clone_structural;
    int swiss_clear_mode;           /* 0 every group, 1 groups with a full slot, 2 + the density heuristic */
    int swiss_prune_paths;          /* bit i: assign path i prunes (see pm_typeinfo.assign_path) */
} pm_versioninfo;
int pm_version_info(int v, pm_versioninfo *out);

/* Runtime: a modelled Go process (hashkey, random source, allocation limit). */
pm_runtime *pm_runtime_new(int version, const uint64_t *hashkey, uint64_t seed,
                           pm_randfn randfn, void *randctx, uint64_t max_alloc);
void pm_runtime_free(pm_runtime *rt);
void pm_runtime_hashkey(const pm_runtime *rt, uint64_t *out4);
uint64_t pm_runtime_max_alloc(const pm_runtime *rt);
void pm_runtime_set_max_alloc(pm_runtime *rt, uint64_t max_alloc);
/* The model's own memory for this runtime (bytes the C core holds), and its budget. */
uint64_t pm_runtime_model_bytes(const pm_runtime *rt);
uint64_t pm_runtime_model_budget(const pm_runtime *rt);
void pm_runtime_set_model_budget(pm_runtime *rt, uint64_t budget);
const char *pm_last_error(void);
/* During a rand callback: the elem image of the entry whose key a grow is
 * rehashing (classic evacuate, Swiss rehash/split/growToTable) or a clone is
 * copying, or NULL when the draw hashes the operation's own key. */
const uint8_t *pm_runtime_draw_elem(const pm_runtime *rt);
int pm_runtime_map_impl(const pm_runtime *rt);

/* Map types. */
pm_maptype *pm_maptype_new(int key_kind, uint32_t key_size, int elem_kind, uint32_t elem_size);
void pm_maptype_free(pm_maptype *t);   /* drop the caller's reference */
void pm_maptype_info(const pm_maptype *t, pm_typeinfo *out);

/* Hashing as the runtime's fallback hasher would (draws "nanhash" for NaNs). */
int pm_hash_key(pm_runtime *rt, const pm_maptype *t, const uint8_t *key, size_t keylen,
                uint64_t seed, uint64_t *out);

/* Maps.  pm_makemap: make(map[K]V, hint) with the version's map; bogus
 * hints (negative, or too large to allocate) are treated as 0. */
int pm_makemap(pm_runtime *rt, pm_maptype *t, int64_t hint, pm_map **out);
void pm_map_release(pm_map *m);        /* drop the caller's reference */
void pm_map_retain(pm_map *m);         /* take another reference */
const pm_maptype *pm_map_type(const pm_map *m);
int pm_mapassign(pm_map *m, const uint8_t *key, size_t keylen,
                 const uint8_t *elem, size_t elemlen);
/* pm_mapaccess: 1 if found (the elem image copied into out), 0 if not (out
 * zeroed), or a negative status.  A string elem's data gains a reference,
 * so another thread's delete cannot free it before the caller has read it:
 * release it with pm_string_release. */
int pm_mapaccess(pm_map *m, const uint8_t *key, size_t keylen, uint8_t *out);
void pm_string_release(const uint8_t *data);
int pm_mapdelete(pm_map *m, const uint8_t *key, size_t keylen, int *deleted);
int pm_mapclear(pm_map *m);
/* maps.Clone(m): a new map (the caller's reference). */
int pm_mapclone(pm_map *m, pm_map **out);
int pm_map_impl(const pm_map *m);
/* Classic: set hash0 while the map is empty (replaying a real run). */
int pm_set_hash0(pm_map *m, uint32_t hash0);
/* Swiss: set the seed while the map is empty. */
int pm_set_seed(pm_map *m, uint64_t seed);
/* Inspection takes the map's read lock: PM_EBUSY while another thread
 * writes.  len(m) reads the count alone, lock-free, as Go's len does. */
int64_t pm_map_len(const pm_map *m);
int pm_map_header(pm_map *m, pm_header *out);
int pm_map_memory(pm_map *m, pm_memory *out);
/* Consistency checker: PM_OK, or PM_EINVARIANT with the finding in pm_last_error. */
int pm_map_check(pm_map *m);
/* Bracket a multi-call inspection (the bucket walk below) with the read
 * lock: pass what pm_map_read_lock returned to pm_map_read_unlock.  A
 * thread holding the write lock (a rand callback mid-operation) inspects
 * without a lock. */
#define INSPECT_LOCKED 0
#define INSPECT_REENTRANT 1
int pm_map_read_lock(pm_map *m);
void pm_map_read_unlock(pm_map *m, int how);
void pm_set_debug_check(int on);        /* run the checker after every mutation */

/* Classic bucket inspection: chain `index` of the current (old=0) or old
 * (old=1) array.  pm_chain_len returns -1 when that array does not exist
 * (or the map is not classic). */
int64_t pm_chain_len(const pm_map *m, int old, uint64_t index);
const uint8_t *pm_chain_bucket(const pm_map *m, int old, uint64_t index, int64_t pos,
                               int *origin, int64_t *array_index);
/* Swiss inspection, under pm_map_read_lock like the bucket walk.  Tables
 * are numbered 0..ntables-1 in directory order of their first entry;
 * pm_swiss_directory writes dir_len table numbers.  pm_swiss_group returns
 * the group's memory (control word, then 8 slots of slot_size bytes), or
 * NULL; table -1 is the small map's group. */
int pm_swiss_header_read(pm_map *m, pm_swiss_header *out);
int pm_swiss_table_read(const pm_map *m, int64_t table, pm_swiss_table *out);
int pm_swiss_directory(const pm_map *m, int64_t *out, int64_t n);
const uint8_t *pm_swiss_group(const pm_map *m, int64_t table, uint64_t group);

/* Decoding helpers for slot images read from bucket memory. */
const uint8_t *pm_string_data(const uint8_t *header, uint64_t *len);
const uint8_t *pm_deref(const uint8_t *slot);

/* Iteration (mapiterinit / mapiternext, Iter.Init / Iter.Next).  given = 0:
 * the start is drawn ("iter"); else (a, b) is classic (startBucket, offset)
 * or Swiss (entryOffset, dirOffset). */
int pm_iter_new(pm_map *m, int given, uint64_t a, uint64_t b, pm_iter **out);
int pm_iter_next(pm_iter *it);
/* Advance first (if `advance`), then copy the current entry's key and elem
 * images into the caller's buffers (key_size/elem_size bytes, 16 for
 * strings, whose data gains a reference: pm_string_release it), under the
 * map's read lock.  1 = an entry, 0 = the end, or a negative status.  A
 * second thread using the same iterator meanwhile gets PM_EBUSY. */
int pm_iter_read(pm_iter *it, int advance, uint8_t *key_out, uint8_t *elem_out);
void pm_iter_start(const pm_iter *it, uint64_t *a, uint64_t *b);
void pm_iter_free(pm_iter *it);

/* The per-operation fast path for 8-byte integer keys and elems
 * (map[int64]int64): pm_access_i64 returns the elem, or `miss` when the key
 * is absent or the call failed -- a caller that gets `miss` back asks again
 * through pm_mapaccess to tell the cases apart. */
int pm_assign_i64(pm_map *m, int64_t key, int64_t elem);
int64_t pm_access_i64(pm_map *m, int64_t key, int64_t miss);
/* Benchmark baselines: do nothing, with the fast paths' signatures. */
int pm_bench_nop_assign_i64(pm_map *m, int64_t key, int64_t elem);
int64_t pm_bench_nop_access_i64(pm_map *m, int64_t key, int64_t miss);

/* ---- Bulk operations: one call, the loop in C (bulk.c) ----
 * A vector of n values.  Fixed-size kinds: item i is the image at
 * data + i*stride.  Strings: item i is data[offsets[i] : offsets[i+1]] when
 * offsets is set, else the fixed-width field at data + i*stride with its
 * trailing NULs stripped (NumPy's S dtype).  For elems, data == NULL means
 * the zero value for every item. */
typedef struct {
    const uint8_t *data;
    const int64_t *offsets;
    uint64_t stride;
    int64_t n;
    uint64_t data_len;          /* bytes readable at data: every item must lie inside */
    int64_t noffsets;           /* entries at offsets (n + 1 when set) */
} pm_vec;

/* Each is the loop of single operations, with the same steps and draws.
 * *done counts the operations that completed: all n on PM_OK; on failure
 * the map holds exactly the effects of the first *done.  Lookups write the
 * elem images (16-byte headers for strings, each holding a reference:
 * release them with pm_release_strings) and a found byte per key. */
int pm_assign_many(pm_map *m, const pm_vec *keys, const pm_vec *elems, int64_t *done);
int pm_access_many(pm_map *m, const pm_vec *keys, uint8_t *elems_out, uint8_t *found_out,
                   int64_t *done);
int pm_delete_many(pm_map *m, const pm_vec *keys, int64_t *deleted, int64_t *done);
void pm_release_strings(const uint8_t *headers, int64_t n);
/* for i in range(start, stop, step): m[key(i)] = elem(i); see pm_range_ok. */
int pm_assign_range(pm_map *m, int64_t start, int64_t stop, int64_t step, int64_t *done);
/* Range values: an integer kind takes i itself (it must fit), a float or
 * complex kind (T)(i), a string "key-<i>"; other elem kinds the zero value.
 * PM_OK if every i of the range has a key (and elem, when elem != 0) image. */
int pm_range_ok(const pm_maptype *t, int64_t start, int64_t stop, int64_t step, int elem);

/* ---- The Go heap around the maps (heap.c, pool.c) ----
 * Every runtime has one modelled heap.  Configure it once, before the
 * first allocation; unconfigured, the baseline is empty and GOGC is 100. */
typedef struct {
    uint64_t heap_alloc, heap_objects, heap_inuse, heap_sys, heap_released;
    uint64_t total_alloc, mallocs, frees;
    uint64_t globals, stacks, heap_scan;   /* the pacer's roots and scan work */
    uint64_t other_sys;                    /* Sys - HeapSys (memory-limit accounting) */
} pm_baseline;
int pm_heap_configure(pm_runtime *rt, const pm_baseline *b, int64_t gogc, int64_t memory_limit,
                      int gomaxprocs, int echo);

typedef struct {
    /* runtime.MemStats */
    uint64_t heap_alloc, heap_inuse, heap_idle, heap_released, heap_sys, heap_objects;
    uint64_t total_alloc, mallocs, frees, next_gc, num_gc, num_forced_gc;
    uint64_t last_gc_ns, pause_total_ns;
    double gc_cpu_fraction;
    /* the model's clock and pacer state */
    uint64_t clock_ns, heap_live, heap_marked, trigger, live_bytes, dead_bytes;
    uint64_t spans, tiny_allocs, gctrace_lines;
    int64_t gogc, memory_limit;
    int gomaxprocs;
} pm_memstats;
void pm_memstats_read(pm_runtime *rt, pm_memstats *out);
void pm_gc(pm_runtime *rt);                     /* runtime.GC() */
void pm_free_os_memory(pm_runtime *rt);         /* debug.FreeOSMemory() */
/* The virtual clock; periodic GC (<= 1e7 s a call).  PM_OK, or PM_EINTR when
 * SIGINT stopped it between two cycles (the clock stands at the last one). */
int pm_advance(pm_runtime *rt, uint64_t ns);
int64_t pm_set_gogc(pm_runtime *rt, int64_t gogc);            /* < 0 = off; returns the old */
int64_t pm_set_memory_limit(pm_runtime *rt, int64_t limit);   /* < 0 = read only */
double pm_set_cons_mark(pm_runtime *rt, double cons_mark);     /* out of [0, 1e6]: read only */
/* gctrace: the last `keep` lines (a ring; PM_GCTRACE_KEEP by default) of the
 * text, addressed by byte offsets counted from the runtime's first line, and
 * the count of every line ever produced. */
#define PM_GCTRACE_KEEP 10000
#define PM_GCTRACE_KEEP_MAX 10000000
typedef struct {
    uint64_t start, end;        /* byte offsets of the text kept: [start, end) */
    uint64_t lines;             /* lines ever produced */
    uint64_t kept;              /* lines kept: the last `kept` of them */
    uint64_t keep;              /* the ring's size in lines */
    uint64_t bytes_held;        /* the model's memory for it (text ring + line index) */
} pm_gctrace_state;
void pm_gctrace_state_read(pm_runtime *rt, pm_gctrace_state *out);
/* Copy the kept text from byte *from (raised to the start of the kept text
 * when older lines were dropped) into buf, at most cap bytes; returns the
 * end offset (from == NULL: only the end offset).  The copy is whole lines
 * when cap covers [*from, end). */
uint64_t pm_gctrace_read(pm_runtime *rt, uint64_t *from, char *buf, uint64_t cap);
/* Keep the last `keep` lines (0 .. PM_GCTRACE_KEEP_MAX; 0 keeps only the count). */
int pm_gctrace_set_keep(pm_runtime *rt, uint64_t keep);
int pm_heap_check(pm_runtime *rt);
void pm_runtime_retain(pm_runtime *rt);
void pm_runtime_release(pm_runtime *rt);

/* sync.Pool of maps. */
typedef struct pm_pool pm_pool;
typedef struct {
    uint64_t gets, puts, news, victim_hits, dropped_by_gc;
    uint64_t held, held_victim;
} pm_pool_stats;
pm_pool *pm_pool_new(pm_runtime *rt);
void pm_pool_free(pm_pool *p);
int pm_pool_put(pm_pool *p, pm_map *m, int pid);   /* the pool takes a reference */
pm_map *pm_pool_get(pm_pool *p, int pid);          /* NULL: call New; else the caller's reference */
void pm_pool_get_stats(pm_pool *p, pm_pool_stats *out);

/* ---- The scenario runner (scenario.c) ----
 * A program is an array of op records run entirely in C over `nmaps` map
 * slots.  Range ops use the range values above. */
#define PM_OP_MAKE 1            /* maps[map] = make(types[a], b); the old map is dropped */
#define PM_OP_INSERT_RANGE 2    /* for i in range(a, b, c): m[key(i)] = elem(i) */
#define PM_OP_DELETE_RANGE 3    /* for i in range(a, b, c): delete(m, key(i)) */
#define PM_OP_LOOKUP_RANGE 4    /* for i in range(a, b, c): _, ok := m[key(i)] */
#define PM_OP_CLEAR 5           /* clear(m) */
#define PM_OP_DROP 6            /* m = nil */
#define PM_OP_ITERATE 7         /* for k, v := range m {} */
#define PM_OP_COPY 8            /* for k, v := range maps[a] { m[k] = v } */
#define PM_OP_REPEAT 9          /* run the next b records a times */
#define PM_OP_GC 10             /* runtime.GC() */
#define PM_OP_FREE_OS_MEMORY 11 /* debug.FreeOSMemory() */
#define PM_OP_ADVANCE 12        /* a nanoseconds of virtual time pass */
#define PM_OP_SET_GOGC 13       /* debug.SetGCPercent(a); a < 0 = off */
#define PM_OP_SET_MEMORY_LIMIT 14 /* debug.SetMemoryLimit(a) */
#define PM_OP_POOL_PUT 15       /* pools[a].Put(m); m = nil (a nil m is ignored) */
#define PM_OP_POOL_GET 16       /* m = pools[a].Get(); New = make(types[b], c) if b >= 0 */

typedef struct {
    int32_t op, map;
    int64_t a, b, c;
} pm_op;

/* The state after one top-level op (a repeat block is one step). */
typedef struct {
    int32_t op, map;            /* the step's op and the slot it acted on last */
    int32_t live;               /* the slot holds a map */
    int32_t impl;               /* PM_IMPL_*: which fields below apply */
    uint32_t B, noverflow, growing, same_size_grow;     /* classic */
    int64_t dir_len, ntables;   /* Swiss */
    uint64_t capacity;          /* Swiss: slots in all tables (8 for a small map) */
    uint32_t global_depth;      /* Swiss */
    int64_t count;
    uint64_t nevacuate;
    uint64_t bytes;             /* the map's bytes (pm_memory.total) */
    uint64_t allocated;         /* cumulative bytes charged to the map */
    int64_t result;             /* hits, deletions, or entries ranged over */
    uint64_t ops;               /* map operations the step executed */
    pm_memstats ms;             /* the heap after the step */
    uint64_t gctrace_end;       /* the gctrace text's end offset after the step (pm_gctrace_read) */
} pm_snapshot;

/* Run ops[0:nops].  maps[0:nmaps] are the slots, in and out: the caller's
 * references go in, and what the slots hold at the end comes back (also on
 * failure).  snaps receives one snapshot per top-level op (*nsnaps of
 * them).  On failure *failed is the index of the failing record. */
int pm_run(pm_runtime *rt, pm_maptype *const *types, int32_t ntypes, pm_map **maps,
           int32_t nmaps, pm_pool *const *pools, int32_t npools, const pm_op *ops, int64_t nops,
           pm_snapshot *snaps, int64_t *nsnaps, int64_t *failed);

/* ---- The model's bucket free list (alloc.c) ----
 * The model's own memory recycling; never part of Go's accounting. */
typedef struct {
    uint64_t hits, misses;          /* allocations served from / not from the list */
    uint64_t bytes_held, objects_held;
    uint64_t max_bytes, max_object; /* the bounds */
} pm_freelist_stats;
void pm_freelist_get_stats(pm_freelist_stats *out);
void pm_freelist_trim(void);

/* ---- The process around the model (process.c) ----
 * Ctrl-C: pm_intr_install wraps SIGINT's handler (the Python layer calls it
 * at import while SIGINT has Python's default handler); main_thread is the
 * thread Python runs signal handlers on (threading.main_thread().ident).
 * 1 = installed, 0 = left alone (SIGINT ignored or defaulted, or no
 * sigaction).  A long call of that thread stops at a SIGINT with PM_EINTR;
 * pm_intr_take_held says (once) that a SIGINT came while the thread's last
 * call failed with another error, so the Python layer raises it too. */
int pm_intr_install(uint64_t main_thread);
int pm_intr_take_held(void);
/* fork() needs no call: every lock of the C core is taken before a fork and
 * released after it in both processes (pthread_atfork, process.c). */

/* Debug-build switch compiled in? */
int pm_debug_build(void);
/* The package version this module was built from (checked on import). */
const char *pm_build_version(void);
