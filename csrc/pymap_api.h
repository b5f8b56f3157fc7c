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

#define PYMAP_ABI_VERSION 1

/* Status codes. */
#define PM_OK 0
#define PM_ENOMEM -1        /* the machine (malloc) refused */
#define PM_EMAXALLOC -2     /* a modelled allocation exceeds the runtime's max_alloc */
#define PM_ERAND -3         /* the user's rand callback failed */
#define PM_EARG -4          /* bad argument (message in pm_last_error) */
#define PM_ENOTFOUND -5     /* key absent */
#define PM_EBUSY -6         /* another thread is inside this map */
#define PM_ECHECK -7        /* the debug consistency check failed after a mutation */

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

/* Purposes of random draws, in the order the rand(purpose) API names them. */
#define PM_RAND_HASH0 0
#define PM_RAND_ITER 1
#define PM_RAND_NOVERFLOW 2
#define PM_RAND_NANHASH 3

/* Where a bucket of a chain lives. */
#define PM_ORIGIN_ARRAY 0
#define PM_ORIGIN_PREALLOC 1
#define PM_ORIGIN_HEAP 2

typedef struct pm_runtime pm_runtime;
typedef struct pm_maptype pm_maptype;
typedef struct pm_hmap pm_hmap;
typedef struct pm_iter pm_iter;

typedef uint64_t (*pm_randfn)(void *ctx, int purpose, int *err);

/* Read-only facts about a map type (sizes as the Go compiler computes them). */
typedef struct {
    uint32_t key_size, elem_size;           /* sizeof(K), sizeof(V) */
    uint32_t key_slot_size, elem_slot_size; /* 8 when stored indirectly */
    uint32_t bucket_size;
    int indirect_key, indirect_elem, reflexive_key, need_key_update;
    int has_pointers;                       /* the bucket type has pointers */
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

/* Bytes charged, per category (see MapMemory in the Python layer). */
typedef struct {
    uint64_t hmap, extra, buckets, oldbuckets, overflow, overflow_slice,
             indirect, pointees, total, allocated;
} pm_memory;

/* Versions: index into the table in version.c. */
int pm_version_count(void);
const char *pm_version_name(int v);
/* Does this version force every hashkey word odd (<= 1.22)? */
int pm_version_hashkey_odd(int v);

/* Runtime: a modelled Go process (hashkey, random source, allocation limit). */
pm_runtime *pm_runtime_new(int version, const uint64_t *hashkey, uint64_t seed,
                           pm_randfn randfn, void *randctx, uint64_t max_alloc);
void pm_runtime_free(pm_runtime *rt);
void pm_runtime_hashkey(const pm_runtime *rt, uint64_t *out4);
uint64_t pm_runtime_max_alloc(const pm_runtime *rt);
void pm_runtime_set_max_alloc(pm_runtime *rt, uint64_t max_alloc);
const char *pm_last_error(void);
/* During a rand callback: the elem image of the entry evacuate is rehashing,
 * or NULL when the draw hashes the operation's own key. */
const uint8_t *pm_runtime_draw_elem(const pm_runtime *rt);

/* Map types. */
pm_maptype *pm_maptype_new(int key_kind, uint32_t key_size, int elem_kind, uint32_t elem_size);
void pm_maptype_free(pm_maptype *t);
void pm_maptype_info(const pm_maptype *t, pm_typeinfo *out);

/* Hashing as the runtime's fallback hasher would (draws "nanhash" for NaNs). */
int pm_hash_key(pm_runtime *rt, const pm_maptype *t, const uint8_t *key, size_t keylen,
                uint64_t seed, uint64_t *out);

/* Maps.  pm_makemap: hint < 0 or hint*bucketsize > 2^48 is treated as 0. */
int pm_makemap(pm_runtime *rt, pm_maptype *t, int64_t hint, pm_hmap **out);
void pm_map_release(pm_hmap *h);        /* drop the caller's reference */
int pm_mapassign(pm_hmap *h, const uint8_t *key, size_t keylen,
                 const uint8_t *elem, size_t elemlen);
/* pm_mapaccess: 1 if found (the elem image copied into out), 0 if not (out
 * zeroed), or a negative status.  A string elem's data gains a reference,
 * so another thread's delete cannot free it before the caller has read it:
 * release it with pm_string_release. */
int pm_mapaccess(pm_hmap *h, const uint8_t *key, size_t keylen, uint8_t *out);
void pm_string_release(const uint8_t *data);
int pm_mapdelete(pm_hmap *h, const uint8_t *key, size_t keylen, int *deleted);
int pm_mapclear(pm_hmap *h);
int pm_set_hash0(pm_hmap *h, uint32_t hash0);
void pm_map_header(const pm_hmap *h, pm_header *out);
void pm_map_memory(const pm_hmap *h, pm_memory *out);
/* Consistency checker: PM_OK, or PM_EARG with the finding in pm_last_error. */
int pm_map_check(const pm_hmap *h);
void pm_set_debug_check(int on);        /* run the checker after every mutation */

/* Bucket inspection: chain `index` of the current (old=0) or old (old=1)
 * array.  pm_chain_len returns -1 when that array does not exist. */
int64_t pm_chain_len(const pm_hmap *h, int old, uint64_t index);
const uint8_t *pm_chain_bucket(const pm_hmap *h, int old, uint64_t index, int64_t pos,
                               int *origin, int64_t *array_index);
/* Decoding helpers for slot images read from bucket memory. */
const uint8_t *pm_string_data(const uint8_t *header, uint64_t *len);
const uint8_t *pm_deref(const uint8_t *slot);

/* Iteration (mapiterinit / mapiternext).  start_bucket < 0: draw "iter". */
int pm_iter_new(pm_hmap *h, int64_t start_bucket, int offset, pm_iter **out);
/* Current entry: 1 and key/elem image pointers, or 0 at the end. */
int pm_iter_current(const pm_iter *it, const uint8_t **key, const uint8_t **elem);
int pm_iter_next(pm_iter *it);
void pm_iter_start(const pm_iter *it, uint64_t *start_bucket, int *offset);
void pm_iter_free(pm_iter *it);

/* Debug-build switch compiled in? */
int pm_debug_build(void);
/* The package version this module was built from (checked on import). */
const char *pm_build_version(void);
