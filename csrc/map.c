/*
 * map.c -- Go's classic hash map: makemap, mapassign, mapaccess, mapdelete,
 * mapclear, and incremental growth (hashGrow, growWork, evacuate).
 *
 * What it models.  A map is an array of 2^B buckets.  Each bucket holds 8
 * slots: tophash[8] (the top byte of each key's hash, or a sentinel), then
 * 8 keys packed, then 8 elems packed, then an overflow word chaining to the
 * next bucket of the same index.  The low B bits of hash(key, hash0) pick
 * the bucket; the top byte is the slot's tophash.  Keys and elems larger
 * than 128 bytes are stored as pointers to boxes.  When the table holds
 * more than 6.5 entries per bucket (6.0 in Go 1.21), or has too many
 * overflow buckets, it grows: a new array is allocated (twice as large, or
 * the same size to compact overflow chains) and the old buckets are
 * evacuated incrementally, at most two per assign or delete, each old
 * bucket splitting into an X (same index) and a Y (index + newbit) half.
 *
 * Invariants (checked by check.c):
 *   - count equals the number of live slots (tophash >= minTopHash) that a
 *     lookup can reach;
 *   - a live slot sits in the chain hash & mask of the array it is in, with
 *     tophash(hash) -- or, for NaN keys, a tophash drawn at insert time;
 *   - emptyRest in a slot means every later slot of the chain is empty;
 *   - old buckets below nevacuate are evacuated; oldbuckets is non-NULL only
 *     while growing;
 *   - a separately allocated overflow bucket never links into an array.
 *
 * Go's fast paths (mapassign_fast64, _faststr, ...) pick the same slots and
 * grow the same way as the generic functions, so only the generic ones are
 * modelled.  What is left out: the stack-allocated hmap/bucket of
 * non-escaping maps (pymap models maps that escape), interface keys, and
 * Go's Swiss-table map (the default since Go 1.24).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "pymap.h"

/* ---- errors ---- */

static _Thread_local char last_error[256];

void set_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
}

const char *pm_last_error(void) { return last_error; }

#ifdef PYMAP_DEBUG
static int debug_check = 1;
int pm_debug_build(void) { return 1; }
#else
static int debug_check = 0;
int pm_debug_build(void) { return 0; }
#endif

void pm_set_debug_check(int on) { debug_check = on; }

/* ---- the runtime ---- */

uint64_t pm_splitmix_next(uint64_t *state);

pm_runtime *pm_runtime_new(int version, const uint64_t *hashkey, uint64_t seed,
                           pm_randfn randfn, void *randctx, uint64_t max_alloc)
{
    if (version < 0 || version >= pm_nversions) {
        set_error("unknown version index %d", version);
        return NULL;
    }
    pm_runtime *rt = calloc(1, sizeof *rt);
    if (!rt) {
        set_error("out of memory");
        return NULL;
    }
    rt->refcnt = 1;
    if (pm_heap_init(rt) != PM_OK) {
        free(rt);
        set_error("out of memory");
        return NULL;
    }
    rt->ver = &pm_versions[version];
    rt->heap.headroom_pct = rt->ver->limit_headroom_pct;
    rt->version_index = version;
    rt->rng = seed;
    rt->randfn = randfn;
    rt->randctx = randctx;
    rt->max_alloc = max_alloc;
    if (hashkey) {
        memcpy(rt->hashkey, hashkey, sizeof rt->hashkey);
    } else {
        /* alginit: 4 random words, forced odd where the runtime did so. */
        for (int i = 0; i < 4; i++) {
            rt->hashkey[i] = pm_splitmix_next(&rt->rng);
            if (rt->ver->hashkey_odd)
                rt->hashkey[i] |= 1;
        }
    }
    pm_hash_init_keys(rt);
    return rt;
}

void pm_runtime_retain(pm_runtime *rt) { __atomic_fetch_add(&rt->refcnt, 1, __ATOMIC_RELAXED); }

void pm_runtime_release(pm_runtime *rt)
{
    if (!rt || __atomic_sub_fetch(&rt->refcnt, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    pm_heap_destroy(rt);
    free(rt->rec);
    free(rt);
}

/* The Python Runtime's reference: maps and pools keep the runtime (and its
 * heap) alive after it. */
void pm_runtime_free(pm_runtime *rt) { pm_runtime_release(rt); }
void pm_runtime_hashkey(const pm_runtime *rt, uint64_t *out4) { memcpy(out4, rt->hashkey, 32); }
uint64_t pm_runtime_max_alloc(const pm_runtime *rt) { return rt->max_alloc; }
const uint8_t *pm_runtime_draw_elem(const pm_runtime *rt) { return rt->draw_elem; }
void pm_runtime_set_max_alloc(pm_runtime *rt, uint64_t m) { rt->max_alloc = m; }

/* ---- map types ---- */

static bool kind_size_ok(int kind, uint32_t size)
{
    switch (kind) {
    case PM_KIND_BOOL: return size == 1;
    case PM_KIND_INT:
    case PM_KIND_UINT: return size == 1 || size == 2 || size == 4 || size == 8;
    case PM_KIND_FLOAT: return size == 4 || size == 8;
    case PM_KIND_COMPLEX: return size == 8 || size == 16;
    case PM_KIND_STRING: return size == 16;
    case PM_KIND_POINTER: return size == 8;
    case PM_KIND_BYTES: return size <= (1u << 24);
    case PM_KIND_EMPTY: return size == 0;
    case PM_KIND_PTRBYTES: return size >= 1 && size <= (1u << 24);
    }
    return false;
}

pm_maptype *pm_maptype_new(int key_kind, uint32_t key_size, int elem_kind, uint32_t elem_size)
{
    if (!kind_size_ok(key_kind, key_size) || !kind_size_ok(elem_kind, elem_size) ||
        key_kind == PM_KIND_PTRBYTES) {
        set_error("invalid kind/size: key %d/%u elem %d/%u", key_kind, key_size, elem_kind, elem_size);
        return NULL;
    }
    pm_maptype *t = calloc(1, sizeof *t);
    if (!t) {
        set_error("out of memory");
        return NULL;
    }
    t->refcnt = 1;
    if (elem_kind == PM_KIND_PTRBYTES) {   /* *[N]byte: the slot is the pointer */
        t->pointee = elem_size;
        elem_size = 8;
    }
    t->key_kind = key_kind;
    t->elem_kind = elem_kind;
    t->keysize = key_size;
    t->elemsize = elem_size;
    bool ik = key_size > maxKeySize, ie = elem_size > maxElemSize;
    t->keyslot = ik ? 8 : key_size;
    t->elemslot = ie ? 8 : elem_size;
    /* reflectdata.MapBucketType: tophash, keys, elems, overflow; on 64-bit the
     * sum is always a multiple of 8, so the struct has no padding. */
    t->bucketsize = bucketCnt + bucketCnt * t->keyslot + bucketCnt * t->elemslot + 8;
    bool kp = key_kind == PM_KIND_STRING || key_kind == PM_KIND_POINTER;
    bool ep = elem_kind == PM_KIND_STRING || elem_kind == PM_KIND_POINTER ||
              elem_kind == PM_KIND_PTRBYTES;
    t->elem_ref = elem_kind == PM_KIND_STRING || elem_kind == PM_KIND_PTRBYTES;
    t->key_ptrs = kp || ik;
    t->elem_ptrs = ep || ie;
    t->bucket_ptrs = t->key_ptrs || t->elem_ptrs;
    t->flags = (ik ? TF_INDIRECTKEY : 0) | (ie ? TF_INDIRECTELEM : 0);
    if (key_kind != PM_KIND_FLOAT && key_kind != PM_KIND_COMPLEX)
        t->flags |= TF_REFLEXIVEKEY;
    if (key_kind == PM_KIND_FLOAT || key_kind == PM_KIND_COMPLEX || key_kind == PM_KIND_STRING)
        t->flags |= TF_NEEDKEYUPDATE;
    if (key_size == 0)
        t->hasher = H_MEM0;
    else if (key_kind == PM_KIND_STRING)
        t->hasher = H_STR;
    else if (key_kind == PM_KIND_FLOAT)
        t->hasher = key_size == 4 ? H_F32 : H_F64;
    else if (key_kind == PM_KIND_COMPLEX)
        t->hasher = key_size == 8 ? H_C64 : H_C128;
    else
        t->hasher = H_MEM;
    if (t->hasher == H_MEM && !ik && (key_size == 4 || key_size == 8))
        t->keyclass = key_size == 8 ? KC_MEM8 : KC_MEM4;
    return t;
}

/* Map types are reference counted: every hmap holds one, so a map (and the
 * bucket arrays an iterator keeps) never outlives its type, whatever order
 * Python's garbage collector frees things in. */
void pm_maptype_retain(pm_maptype *t) { __atomic_fetch_add(&t->refcnt, 1, __ATOMIC_RELAXED); }

void pm_maptype_free(pm_maptype *t)
{
    if (t && __atomic_sub_fetch(&t->refcnt, 1, __ATOMIC_ACQ_REL) == 0)
        free(t);
}

void pm_maptype_info(const pm_maptype *t, pm_typeinfo *out)
{
    out->key_size = t->keysize;
    out->elem_size = t->elemsize;
    out->key_slot_size = t->keyslot;
    out->elem_slot_size = t->elemslot;
    out->bucket_size = t->bucketsize;
    out->indirect_key = !!(t->flags & TF_INDIRECTKEY);
    out->indirect_elem = !!(t->flags & TF_INDIRECTELEM);
    out->reflexive_key = !!(t->flags & TF_REFLEXIVEKEY);
    out->need_key_update = !!(t->flags & TF_NEEDKEYUPDATE);
    out->has_pointers = t->bucket_ptrs;
}

/* ---- key images ---- */

bool key_equal(const pm_maptype *t, const unsigned char *a, const unsigned char *b)
{
    switch (t->key_kind) {
    case PM_KIND_STRING: {
        uint64_t la, lb;
        const unsigned char *da, *db;
        memcpy(&la, a + 8, 8);
        memcpy(&lb, b + 8, 8);
        if (la != lb)
            return false;
        memcpy(&da, a, 8);
        memcpy(&db, b, 8);
        return la == 0 || da == db || memcmp(da, db, la) == 0;
    }
    case PM_KIND_FLOAT:
    case PM_KIND_COMPLEX:
        for (uint32_t off = 0; off < t->keysize;) {
            if (t->keysize == 4 || (t->keysize == 8 && t->key_kind == PM_KIND_COMPLEX)) {
                float x, y;
                memcpy(&x, a + off, 4);
                memcpy(&y, b + off, 4);
                if (!(x == y))
                    return false;
                off += 4;
            } else {
                double x, y;
                memcpy(&x, a + off, 8);
                memcpy(&y, b + off, 8);
                if (!(x == y))
                    return false;
                off += 8;
            }
        }
        return true;
    default:
        return memcmp(a, b, t->keysize) == 0;
    }
}

bool key_is_nan(const pm_maptype *t, const unsigned char *k)
{
    return !(t->flags & TF_REFLEXIVEKEY) && !key_equal(t, k, k);
}

static inline unsigned char *slot_key(const pm_maptype *t, unsigned char *k)
{
    return (t->flags & TF_INDIRECTKEY) ? deref(k) : k;
}

void slot_release_key(const pm_maptype *t, unsigned char *k)
{
    if ((t->flags & TF_INDIRECTKEY) || t->key_kind == PM_KIND_STRING) {
        unsigned char *p = deref(k);
        if (p)
            gc_decref(GOBJ_OF(p));
    }
}

void slot_release_elem(const pm_maptype *t, unsigned char *e)
{
    if ((t->flags & TF_INDIRECTELEM) || t->elem_ref) {
        unsigned char *p = deref(e);
        if (p)
            gc_decref(GOBJ_OF(p));
    }
}

/* The slot holds a reference to what its pointer words point at. */
static void slot_retain(const pm_maptype *t, unsigned char *k, unsigned char *e)
{
    if ((t->flags & TF_INDIRECTKEY) || t->key_kind == PM_KIND_STRING) {
        unsigned char *p = deref(k);
        if (p)
            gc_incref(GOBJ_OF(p));
    }
    if ((t->flags & TF_INDIRECTELEM) || t->elem_ref) {
        unsigned char *p = deref(e);
        if (p)
            gc_incref(GOBJ_OF(p));
    }
}

static bool in_array(const pm_maptype *t, const gobj *arr, const unsigned char *b)
{
    return arr && b >= arr->data && b < arr->data + arr->nbuckets * t->bucketsize;
}

bool pm_bucket_in_array(const pm_hmap *h, const gobj *arr, const unsigned char *b)
{
    return in_array(h->t, arr, b);
}

/* Drop what bucket b references: its slots' boxes and strings, and the
 * overflow bucket it links to unless that lies inside its own array. */
void bucket_release(const pm_maptype *t, unsigned char *b, const gobj *arr)
{
    if (t->bucket_ptrs) {
        for (unsigned i = 0; i < bucketCnt; i++) {
            slot_release_key(t, bmap_key(t, b, i));
            slot_release_elem(t, bmap_elem(t, b, i));
        }
    }
    unsigned char *ovf = bmap_overflow(t, b);
    if (ovf && !in_array(t, arr, ovf))
        gc_decref(GOBJ_OF(ovf));
}

/* Zero a slot's key and/or elem words, dropping what they referenced. */
static void clear_key(const pm_maptype *t, unsigned char *k)
{
    slot_release_key(t, k);
    memset(k, 0, t->keyslot);
}

static void clear_elem(const pm_maptype *t, unsigned char *e)
{
    slot_release_elem(t, e);
    if (t->elemslot == 8)
        memset(e, 0, 8);   /* the common slot, inline */
    else
        memset(e, 0, t->elemslot);
}

/* ---- load factor, allocation ---- */

bool overLoadFactor(const goversion *v, int64_t count, uint8_t B)
{
    return count > bucketCnt &&
           (uint64_t)count > (uint64_t)v->loadFactorNum * (bucketShift(B) / loadFactorDen);
}

static bool tooManyOverflowBuckets(uint16_t noverflow, uint8_t B)
{
    if (B > 15)
        B = 15;
    return noverflow >= (uint16_t)(1u << (B & 15));
}

/* makeBucketArray's bucket count for 2^b buckets plus preallocated overflow. */
static uint64_t bucket_array_len(const pm_hmap *h, uint8_t b)
{
    const pm_maptype *t = h->t;
    uint64_t base = bucketShift(b), nbuckets = base;
    if (b >= 4) {
        nbuckets += bucketShift(b - 4);
        uint64_t sz = t->bucketsize * nbuckets;
        uint64_t up = go_roundupsize(h->rt->ver, sz, !t->bucket_ptrs);
        if (up != sz)
            nbuckets = up / t->bucketsize;
    }
    return nbuckets;
}

static int check_alloc(const pm_hmap *h, uint64_t size, bool noscan)
{
    if (go_charged(h->rt->ver, size, noscan) > h->rt->max_alloc) {
        set_error("allocation of %llu bytes exceeds max_alloc (%llu)",
                  (unsigned long long)size, (unsigned long long)h->rt->max_alloc);
        return PM_EMAXALLOC;
    }
    return PM_OK;
}

static int array_check(const pm_hmap *h, uint8_t b)
{
    if (b >= 58) {
        set_error("bucket array of 2^%u buckets exceeds max_alloc", b);
        return PM_EMAXALLOC;
    }
    uint64_t n = bucket_array_len(h, b);
    if (n > UINT64_MAX / h->t->bucketsize) {
        set_error("bucket array too large");
        return PM_EMAXALLOC;
    }
    return check_alloc(h, n * h->t->bucketsize, !h->t->bucket_ptrs);
}

/* Install the preallocated-overflow sentinel; return nextOverflow or NULL. */
static unsigned char *prealloc_setup(pm_hmap *h, gobj *arr, uint8_t b)
{
    uint64_t base = bucketShift(b);
    if (arr->nbuckets == base)
        return NULL;
    bmap_setoverflow(h->t, bucket_at(arr, h->t, arr->nbuckets - 1), arr->data);
    return bucket_at(arr, h->t, base);
}

/* makeBucketArray(t, b, nil). */
static gobj *makeBucketArray(pm_hmap *h, uint8_t b, unsigned char **nextOverflow)
{
    uint64_t n = bucket_array_len(h, b);
    gobj *arr = gc_alloc(h, OBJ_ARRAY, n * h->t->bucketsize, !h->t->bucket_ptrs);
    if (!arr)
        return NULL;
    arr->nbuckets = n;
    *nextOverflow = prealloc_setup(h, arr, b);
    return arr;
}

/* makeBucketArray(t, h.B, h.buckets): zero the whole allocation in place.
 * With `mark` (golang/go#59411), separately allocated overflow buckets
 * are marked emptyRest first: an iterator may still hold one.  Buckets
 * inside arr need no marking -- zero is emptyRest. */
static unsigned char *reuseBucketArray(pm_hmap *h, gobj *arr, uint8_t b, bool mark)
{
    const pm_maptype *t = h->t;
    for (uint64_t i = 0; array_needs_release(t, arr) && i < arr->nbuckets; i++) {
        unsigned char *bk = bucket_at(arr, t, i);
        for (unsigned char *o = bmap_overflow(t, bk); mark && o && !in_array(t, arr, o); o = bmap_overflow(t, o))
            memset(o, emptyRest, bucketCnt);
        bucket_release(t, bk, arr);
    }
    arr->links_heap = 0;
    memset(arr->data, 0, arr->nbuckets * t->bucketsize);
    return prealloc_setup(h, arr, b);
}

static void ensure_extra(pm_hmap *h)
{
    if (!h->extra) {
        h->extra = true;
        h->hslot_extra = gc_charge(h, 24, false);   /* new(mapextra) */
    }
}

/* createOverflow: extra and the *[]*bmap header for extra.overflow. */
static void createOverflow(pm_hmap *h)
{
    ensure_extra(h);
    if (!h->overflow.present) {
        h->overflow.present = true;
        h->overflow.len = h->overflow.cap = 0;
        h->overflow.backing_charged = 0;
        h->overflow.rec = ovrec_new(h, gc_charge(h, 24, false));   /* new([]*bmap) */
    }
}

/* append(*h.extra.overflow, ovf): growslice's capacity rule for 8-byte elements. */
static void ovslice_append(pm_hmap *h, ovslice *s)
{
    int64_t newLen = s->len + 1;
    if (newLen > s->cap) {
        int64_t oldCap = s->cap, newcap = oldCap, doublecap = oldCap + oldCap;
        const int64_t threshold = 256;
        if (newLen > doublecap) {
            newcap = newLen;
        } else if (oldCap < threshold) {
            newcap = doublecap;
        } else {
            while (newcap < newLen)
                newcap += (newcap + 3 * threshold) >> 2;
        }
        uint64_t capmem = go_roundupsize(h->rt->ver, (uint64_t)newcap * 8, false);
        s->cap = (int64_t)(capmem / 8);
        s->backing_charged = go_charged(h->rt->ver, capmem, false);
        uintptr_t back = gc_charge(h, capmem, false);
        if (s->rec) {           /* the old backing array is garbage now */
            uintptr_t old = s->rec->back;
            s->rec->back = back;
            heap_free(h->rt, old);
        } else {
            heap_free(h->rt, back);
        }
    }
    s->len = newLen;
}

/* incrnoverflow's decision: below B = 16 every overflow bucket counts; from
 * 16 on, one in 2^(B-15), so that noverflow (a uint16) stays meaningful. */
static bool noverflow_counts(pm_hmap *h)
{
    if (h->B < 16)
        return true;
    uint32_t mask = (uint32_t)((1ull << (h->B - 15)) - 1);
    return ((uint32_t)pm_rand(h->rt, PM_RAND_NOVERFLOW) & mask) == 0;
}

static unsigned char *newoverflow(pm_hmap *h, unsigned char *b)
{
    const pm_maptype *t = h->t;
    unsigned char *ovf;
    /* Go draws after taking the bucket; no other draw comes in between, so
     * drawing first lets a failed draw leave the map unchanged. */
    bool counted = noverflow_counts(h);
    if (h->rt->rand_failed)
        return NULL;
    if (h->extra && h->nextOverflow) {
        ovf = h->nextOverflow;
        if (bmap_overflow(t, ovf) == NULL) {
            h->nextOverflow = ovf + t->bucketsize;
        } else {
            /* the last preallocated bucket: its overflow word is the sentinel */
            bmap_setoverflow(t, ovf, NULL);
            h->nextOverflow = NULL;
        }
    } else {
        gobj *o = gc_alloc(h, OBJ_OVERFLOW, t->bucketsize, !t->bucket_ptrs);
        if (!o)
            return NULL;
        ovf = o->data;
        h->buckets->links_heap = 1;   /* b is in a chain of the current array */
    }
    if (counted)
        h->noverflow++;   /* incrnoverflow */
    if (!t->bucket_ptrs) {
        createOverflow(h);
        ovslice_append(h, &h->overflow);
    }
    bmap_setoverflow(t, b, ovf);   /* the link takes the new bucket's reference */
    return ovf;
}

/* ---- hashing a key image ---- */

static inline uint64_t hash_key(pm_hmap *h, const unsigned char *k)
{
    return pm_typehash(h->rt, h->t, k, (uint64_t)h->hash0);
}

/* The hot paths below take their key class as a compile-time constant
 * (always_inline + a switch in the caller), so KC_MEM8 code hashes and
 * compares one word where the generic code goes through the type. */
#define HOT static inline __attribute__((always_inline))

HOT uint64_t kc_hash(pm_hmap *h, const unsigned char *k, const int kc)
{
    if (kc == KC_MEM8) {
        uint64_t w;
        memcpy(&w, k, 8);
        return pm_memhash_word(h->rt, w, h->hash0, 8);
    }
    if (kc == KC_MEM4) {
        uint32_t w;
        memcpy(&w, k, 4);
        return pm_memhash_word(h->rt, w, h->hash0, 4);
    }
    return hash_key(h, k);
}

HOT bool kc_equal(const pm_maptype *t, const unsigned char *a, const unsigned char *b, const int kc)
{
    if (kc == KC_MEM8)
        return memcmp(a, b, 8) == 0;
    if (kc == KC_MEM4)
        return memcmp(a, b, 4) == 0;
    return key_equal(t, a, b);
}

/* The key image in a slot (specialised classes are never indirect). */
HOT unsigned char *kc_slot_key(const pm_maptype *t, unsigned char *k, const int kc)
{
    return kc == KC_GENERIC ? slot_key(t, k) : k;
}

/* Call fn(args..., kc) with h's key class as a constant. */
#define KC_DISPATCH(h, fn, ...)                                          \
    ((h)->t->keyclass == KC_MEM8   ? fn(__VA_ARGS__, KC_MEM8)            \
     : (h)->t->keyclass == KC_MEM4 ? fn(__VA_ARGS__, KC_MEM4)            \
                                   : fn(__VA_ARGS__, KC_GENERIC))

static inline unsigned char *oldbucket_at(pm_hmap *h, uint64_t i)
{
    return bucket_at(h->oldbuckets, h->t, i);
}

/* ---- growth ---- */

static bool bucketEvacuated(pm_hmap *h, uint64_t bucket)
{
    return evacuated(oldbucket_at(h, bucket));
}

static void advanceEvacuationMark(pm_hmap *h, uint64_t newbit)
{
    h->nevacuate++;
    uint64_t stop = h->nevacuate + 1024;
    if (stop > newbit)
        stop = newbit;
    while (h->nevacuate != stop && bucketEvacuated(h, h->nevacuate))
        h->nevacuate++;
    if (h->nevacuate == newbit) {
        gobj *old = h->oldbuckets;
        h->oldbuckets = NULL;
        ovrec_release(h->rt, h->oldoverflow.rec);
        memset(&h->oldoverflow, 0, sizeof h->oldoverflow);
        h->flags &= (uint8_t)~sameSizeGrow;
        gc_decref(old);
    }
}

typedef struct evacDst {
    unsigned char *b;
    unsigned i;
} evacDst;

HOT int evacuate_kc(pm_hmap *h, uint64_t oldbucket, const int kc)
{
    const pm_maptype *t = h->t;
    unsigned char *b = oldbucket_at(h, oldbucket);
    uint64_t newbit = h_noldbuckets(h);
    if (!evacuated(b)) {
        evacDst xy[2];
        xy[0].b = bucket_at(h->buckets, t, oldbucket);
        xy[0].i = 0;
        if (!(h->flags & sameSizeGrow)) {
            xy[1].b = bucket_at(h->buckets, t, oldbucket + newbit);
            xy[1].i = 0;
        }
        for (; b; b = bmap_overflow(t, b)) {
            for (unsigned i = 0; i < bucketCnt; i++) {
                uint8_t top = b[i];
                if (isEmpty(top)) {
                    b[i] = evacuatedEmpty;
                    continue;
                }
                unsigned char *k = bmap_key(t, b, i), *e = bmap_elem(t, b, i);
                unsigned char *k2 = kc_slot_key(t, k, kc);
                unsigned useY = 0;
                if (!(h->flags & sameSizeGrow)) {
                    if (!(t->flags & TF_REFLEXIVEKEY))
                        h->rt->draw_elem = (t->flags & TF_INDIRECTELEM) ? deref(e) : e;
                    uint64_t hash = kc_hash(h, k2, kc);
                    h->rt->draw_elem = NULL;
                    if ((h->flags & iteratorFlag) && key_is_nan(t, k2)) {
                        /* NaN keys can't be found again: pick X/Y from the
                         * old tophash so iterators can predict it. */
                        useY = top & 1;
                        top = tophash(hash);
                    } else if (hash & newbit) {
                        useY = 1;
                    }
                }
                b[i] = (uint8_t)(evacuatedX + useY);
                evacDst *dst = &xy[useY];
                if (dst->i == bucketCnt) {
                    unsigned char *nb = newoverflow(h, dst->b);
                    if (!nb)
                        return PM_ENOMEM;
                    dst->b = nb;
                    dst->i = 0;
                }
                dst->b[dst->i] = top;
                memcpy(bmap_key(t, dst->b, dst->i), k, kc == KC_MEM8 ? 8 : kc == KC_MEM4 ? 4 : t->keyslot);
                if (t->elemslot == 8)
                    memcpy(bmap_elem(t, dst->b, dst->i), e, 8);
                else
                    memcpy(bmap_elem(t, dst->b, dst->i), e, t->elemslot);
                if (t->bucket_ptrs)
                    slot_retain(t, bmap_key(t, dst->b, dst->i), bmap_elem(t, dst->b, dst->i));
                dst->i++;
            }
        }
        /* Unlink the old chain and drop key/elem pointers so the GC can
         * free them -- unless an iterator may still be reading them. */
        if (!(h->flags & oldIterator) && t->bucket_ptrs) {
            unsigned char *ob = oldbucket_at(h, oldbucket);
            bucket_release(t, ob, h->oldbuckets);
            memset(ob + dataOffset, 0, t->bucketsize - dataOffset);
        }
    }
    if (oldbucket == h->nevacuate)
        advanceEvacuationMark(h, newbit);
    return PM_OK;
}

static int evacuate(pm_hmap *h, uint64_t oldbucket)
{
    return KC_DISPATCH(h, evacuate_kc, h, oldbucket);
}

static int growWork(pm_hmap *h, uint64_t bucket)
{
    uint64_t oldmask = h_noldbuckets(h) - 1;
    int rc = evacuate(h, bucket & oldmask);
    if (rc == PM_OK && h_growing(h))
        rc = evacuate(h, h->nevacuate);
    return rc;
}

static int hashGrow(pm_hmap *h)
{
    uint8_t bigger = 1;
    if (!overLoadFactor(h->rt->ver, h->count + 1, h->B))
        bigger = 0;
    unsigned char *nextOverflow;
    gobj *newbuckets = makeBucketArray(h, (uint8_t)(h->B + bigger), &nextOverflow);
    if (!newbuckets)
        return PM_ENOMEM;
    if (!bigger)
        h->flags |= sameSizeGrow;
    uint8_t flags = h->flags & (uint8_t)~(iteratorFlag | oldIterator);
    if (h->flags & iteratorFlag)
        flags |= oldIterator;
    h->B = (uint8_t)(h->B + bigger);
    h->flags = flags;
    h->oldbuckets = h->buckets;
    h->buckets = newbuckets;
    h->nevacuate = 0;
    h->noverflow = 0;
    if (h->extra && h->overflow.present) {
        h->oldoverflow = h->overflow;
        memset(&h->overflow, 0, sizeof h->overflow);
    }
    if (nextOverflow) {
        ensure_extra(h);
        h->nextOverflow = nextOverflow;
    }
    return PM_OK;
}

HOT unsigned char *find_kc(pm_hmap *h, const unsigned char *key, uint64_t hash, unsigned *slot, const int kc);
static unsigned char *find(pm_hmap *h, const unsigned char *key, uint64_t hash, unsigned *slot)
{
    return KC_DISPATCH(h, find_kc, h, key, hash, slot);
}

/* Would inserting key now start a grow, and can its new array be allocated? */
static int grow_precheck(pm_hmap *h, const unsigned char *key, uint64_t hash)
{
    if (!h->buckets || h_growing(h))
        return PM_OK;
    bool over = overLoadFactor(h->rt->ver, h->count + 1, h->B);
    if (!over && !tooManyOverflowBuckets(h->noverflow, h->B))
        return PM_OK;   /* the common case: no grow, no extra chain scan */
    unsigned slot;
    if (find(h, key, hash, &slot))
        return PM_OK;   /* an update never grows */
    return array_check(h, (uint8_t)(h->B + (over ? 1 : 0)));
}

/* ---- map creation and destruction ---- */

int pm_makemap(pm_runtime *rt, pm_maptype *t, int64_t hint, pm_hmap **out)
{
    pm_hmap probe = {0};
    probe.rt = rt;
    probe.t = t;
    /* math.MulUintptr(uintptr(hint), bucketsize) overflowing or > maxAlloc:
     * the hint is ignored (negative hints overflow as uintptr). */
    unsigned __int128 mem = (unsigned __int128)(uint64_t)hint * t->bucketsize;
    if (mem > MAX_ALLOC_GO)
        hint = 0;
    uint8_t B = 0;
    while (overLoadFactor(rt->ver, hint, B))
        B++;
    int rc = check_alloc(&probe, rt->ver->hmap_size, false);
    if (rc == PM_OK && B != 0)
        rc = array_check(&probe, B);
    if (rc != PM_OK)
        return rc;
    /* The hash0 draw comes first: a failing rand leaves nothing behind. */
    uint32_t hash0 = (uint32_t)pm_rand(rt, PM_RAND_HASH0);
    if (rt->rand_failed) {
        rt->rand_failed = 0;
        set_error("rand callback failed");
        return PM_ERAND;
    }
    pm_hmap *h = calloc(1, sizeof *h);
    if (!h) {
        set_error("out of memory");
        return PM_ENOMEM;
    }
    h->rt = rt;
    pm_runtime_retain(rt);
    h->t = t;
    pm_maptype_retain(t);
    h->refcnt = 1;
    h->hmap_charged = go_charged(rt->ver, rt->ver->hmap_size, false);
    h->hslot_hmap = gc_charge(h, rt->ver->hmap_size, false);   /* new(hmap) */
    h->hash0 = hash0;
    h->B = B;
    if (B != 0) {
        unsigned char *nextOverflow;
        h->buckets = makeBucketArray(h, B, &nextOverflow);
        if (!h->buckets) {
            heap_free(rt, h->hslot_hmap);
            pm_maptype_free(t);
            pm_runtime_release(rt);
            free(h);
            set_error("out of memory");
            return PM_ENOMEM;
        }
        if (nextOverflow) {
            ensure_extra(h);
            h->nextOverflow = nextOverflow;
        }
    }
    *out = h;
    return PM_OK;
}

void pm_map_retain(pm_hmap *h) { __atomic_fetch_add(&h->refcnt, 1, __ATOMIC_RELAXED); }
const pm_maptype *pm_map_type(const pm_hmap *h) { return h->t; }

void pm_map_release(pm_hmap *h)
{
    if (!h || __atomic_sub_fetch(&h->refcnt, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    gc_decref(h->buckets);
    gc_decref(h->oldbuckets);
    ovrec_release(h->rt, h->overflow.rec);
    ovrec_release(h->rt, h->oldoverflow.rec);
    heap_free(h->rt, h->hslot_extra);
    heap_free(h->rt, h->hslot_hmap);
    pm_maptype_free(h->t);
    pm_runtime_release(h->rt);
    free(h);
}

/* ---- key images from the API ---- */

/* Build the key image for an API key: strings become a header pointing at
 * the caller's bytes (valid for the duration of the call). */
static int key_image(const pm_maptype *t, const uint8_t *key, size_t keylen, unsigned char *img)
{
    if (t->key_kind == PM_KIND_STRING) {
        uint64_t len = keylen;
        memcpy(img, &key, 8);
        memcpy(img + 8, &len, 8);
        return PM_OK;
    }
    if (keylen != t->keysize) {
        set_error("key image is %zu bytes, the key type has %u", keylen, t->keysize);
        return PM_EARG;
    }
    if (keylen)
        memcpy(img, key, keylen);
    return PM_OK;
}

static int elem_check(const pm_maptype *t, const uint8_t *elem, size_t elemlen)
{
    if (t->elem_kind == PM_KIND_PTRBYTES) {
        if (elemlen != 0 && elemlen != t->pointee) {
            set_error("a *[%u]byte elem is %u bytes of contents or nil, not %zu bytes",
                      t->pointee, t->pointee, elemlen);
            return PM_EARG;
        }
        return PM_OK;
    }
    if (elem && t->elem_kind != PM_KIND_STRING && elemlen != t->elemsize) {
        set_error("elem image is %zu bytes, the elem type has %u", elemlen, t->elemsize);
        return PM_EARG;
    }
    return PM_OK;
}

/* Largest image a key can have inline (strings: the 16-byte header). */
#define KEYIMG_INLINE 256

typedef struct keybuf {
    unsigned char small[KEYIMG_INLINE];
    unsigned char *p;
} keybuf;

static int keybuf_init(keybuf *kb, const pm_maptype *t, const uint8_t *key, size_t keylen)
{
    size_t need = t->key_kind == PM_KIND_STRING ? 16 : t->keysize;
    kb->p = need <= KEYIMG_INLINE ? kb->small : malloc(need);
    if (!kb->p) {
        set_error("out of memory");
        return PM_ENOMEM;
    }
    int rc = key_image(t, key, keylen, kb->p);
    if (rc != PM_OK && kb->p != kb->small)
        free(kb->p);
    return rc;
}

static void keybuf_free(keybuf *kb)
{
    if (kb->p != kb->small)
        free(kb->p);
}

/* Store a value image into a slot (keys: owned copy of string data, box for
 * indirect).  The slot must be zero/released. */
static int store_value(pm_hmap *h, int kind, uint32_t size, bool indirect,
                       unsigned char *slot, const unsigned char *img, const uint8_t *raw, size_t rawlen)
{
    if (kind == PM_KIND_STRING) {
        const uint8_t *data = raw;
        uint64_t len = rawlen;
        if (img) {
            memcpy(&data, img, 8);
            memcpy(&len, img + 8, 8);
        }
        unsigned char *dp = NULL;
        if (data && len) {
            gobj *s = gc_string(data, len);
            if (!s)
                return PM_ENOMEM;
            dp = s->data;
        }
        memcpy(slot, &dp, 8);
        memcpy(slot + 8, &len, 8);
        return PM_OK;
    }
    if (kind == PM_KIND_PTRBYTES) {     /* the pointer image: the slot takes a reference */
        unsigned char *p = NULL;
        if (raw)
            memcpy(&p, raw, 8);
        if (p)
            gc_incref(GOBJ_OF(p));
        memcpy(slot, &p, 8);
        return PM_OK;
    }
    unsigned char *dst = slot;
    if (indirect) {
        gobj *box = gc_alloc(h, OBJ_BOX, size, true);
        if (!box)
            return PM_ENOMEM;
        memcpy(slot, &(unsigned char *){box->data}, 8);
        dst = box->data;
    }
    const unsigned char *src = img ? img : raw;
    if (size) {
        if (src)
            memcpy(dst, src, size);
        else
            memset(dst, 0, size);
    }
    return PM_OK;
}

/* ---- lookup ---- */

/* Search for key with hash in the live table; returns the bucket and slot. */
HOT unsigned char *find_kc(pm_hmap *h, const unsigned char *key, uint64_t hash, unsigned *slot, const int kc)
{
    const pm_maptype *t = h->t;
    uint64_t m = bucketMask(h->B);
    unsigned char *b = bucket_at(h->buckets, t, hash & m);
    if (h_growing(h)) {
        if (!(h->flags & sameSizeGrow))
            m >>= 1;
        unsigned char *oldb = oldbucket_at(h, hash & m);
        if (!evacuated(oldb))
            b = oldb;
    }
    uint8_t top = tophash(hash);
    for (; b; b = bmap_overflow(t, b)) {
        for (unsigned i = 0; i < bucketCnt; i++) {
            if (b[i] != top) {
                if (b[i] == emptyRest)
                    return NULL;
                continue;
            }
            if (kc_equal(t, key, kc_slot_key(t, bmap_key(t, b, i), kc), kc)) {
                *slot = i;
                return b;
            }
        }
    }
    return NULL;
}

HOT bool mapaccessK_kc(pm_hmap *h, const unsigned char *key, unsigned char **kout, unsigned char **eout,
                      const int kc)
{
    if (h->count == 0)
        return false;
    uint64_t hash = kc_hash(h, key, kc);
    unsigned i;
    unsigned char *b = find_kc(h, key, hash, &i, kc);
    if (!b)
        return false;
    const pm_maptype *t = h->t;
    *kout = slot_key(t, bmap_key(t, b, i));
    unsigned char *e = bmap_elem(t, b, i);
    *eout = (t->flags & TF_INDIRECTELEM) ? deref(e) : e;
    return true;
}

bool mapaccessK(pm_hmap *h, const unsigned char *key, unsigned char **kout, unsigned char **eout)
{
    return KC_DISPATCH(h, mapaccessK_kc, h, key, kout, eout);
}

HOT void prefetch_kc(pm_hmap *h, const unsigned char *key, const int kc)
{
    /* Generic hashes may draw (NaN keys): never hash ahead.  Small tables
     * sit in the cache: prefetching them only costs a second hash. */
    if (kc == KC_GENERIC || !h->buckets || h->buckets->size < PREFETCH_MIN_BYTES)
        return;
    uint64_t hash = kc_hash(h, key, kc);
    const unsigned char *b = bucket_at(h->buckets, h->t, hash & bucketMask(h->B));
    for (uint32_t off = 0; off < h->t->bucketsize && off < 256; off += 64)
        __builtin_prefetch(b + off);   /* tophash, keys and elems: up to 4 lines */
}

void map_prefetch(pm_hmap *h, const unsigned char *key)
{
    KC_DISPATCH(h, prefetch_kc, h, key);
}

/* ---- concurrency guard: a reader/writer try-lock per map ---- */

/* Identifies the calling thread (its address is unique per live thread). */
static _Thread_local char thread_token;

int pm_lock_write(pm_hmap *h)
{
    int expect = 0;
    if (!__atomic_compare_exchange_n(&h->busy, &expect, -1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
        set_error(expect < 0 ? "concurrent map writes" : "concurrent map read and map write");
        return PM_EBUSY;
    }
    __atomic_store_n(&h->writer, &thread_token, __ATOMIC_RELAXED);
    return PM_OK;
}

void pm_unlock_write(pm_hmap *h)
{
    __atomic_store_n(&h->writer, NULL, __ATOMIC_RELAXED);
    __atomic_store_n(&h->busy, 0, __ATOMIC_RELEASE);
}

/* Inspection: the read lock -- or nothing when this very thread holds the
 * write lock, i.e. a rand callback looking at the map mid-operation (the
 * draw points leave the header consistent).  Returns INSPECT_LOCKED,
 * INSPECT_REENTRANT or PM_EBUSY. */
int pm_map_read_lock(pm_hmap *h)
{
    if (__atomic_load_n(&h->writer, __ATOMIC_RELAXED) == &thread_token)
        return INSPECT_REENTRANT;
    int rc = pm_lock_read(h);
    return rc == PM_OK ? INSPECT_LOCKED : rc;
}

void pm_map_read_unlock(pm_hmap *h, int how)
{
    if (how == INSPECT_LOCKED)
        pm_unlock_read(h);
}

int pm_lock_read(pm_hmap *h)
{
    int cur = __atomic_load_n(&h->busy, __ATOMIC_RELAXED);
    do {
        if (cur < 0) {
            set_error("concurrent map read and map write");
            return PM_EBUSY;
        }
    } while (!__atomic_compare_exchange_n(&h->busy, &cur, cur + 1, true, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED));
    return PM_OK;
}

void pm_unlock_read(pm_hmap *h) { __atomic_fetch_sub(&h->busy, 1, __ATOMIC_RELEASE); }

/* Did a draw of this operation fail?  (Clears the flag.) */
static bool rand_failed(pm_hmap *h)
{
    if (!h->rt->rand_failed)
        return false;
    h->rt->rand_failed = 0;
    set_error("rand callback failed");
    return true;
}

int map_op_finish(pm_hmap *h, int rc)
{
    if (rand_failed(h))
        rc = PM_ERAND;    /* the root cause of whatever else went wrong */
    if (rc == PM_OK && debug_check &&
        (map_check(h) != PM_OK || (!h->shadow && pm_heap_check(h->rt) != PM_OK)))
        rc = PM_ECHECK;
    return rc;
}

void pm_string_release(const uint8_t *data)
{
    if (data)
        gc_decref(GOBJ_OF(data));
}

int pm_mapaccess(pm_hmap *h, const uint8_t *key, size_t keylen, uint8_t *out)
{
    keybuf kb;
    int rc = keybuf_init(&kb, h->t, key, keylen);
    if (rc != PM_OK)
        return rc;
    if ((rc = pm_lock_read(h)) != PM_OK) {
        keybuf_free(&kb);
        return rc;
    }
    unsigned char *k, *e;
    bool found = mapaccessK(h, kb.p, &k, &e);
    uint32_t es = h->t->elem_kind == PM_KIND_STRING ? 16 : h->t->elemsize;
    if (found)
        image_copy_out(h->t->elem_kind, h->t->elemsize, e, out);
    else if (es)
        memset(out, 0, es);
    if (rand_failed(h)) {
        if (found && h->t->elem_ref)
            pm_string_release(deref(out));
        found = false;
        rc = PM_ERAND;
    }
    pm_unlock_read(h);
    keybuf_free(&kb);
    return rc == PM_OK ? (int)found : rc;
}

/* ---- all-or-nothing operations (see clone.c) ---- */

typedef int (*map_op)(pm_hmap *h, const void *arg);

/* Can this operation draw from the user's rand after its first change?
 * Only evacuation does: rehashing NaN keys in a doubling grow, and from
 * B = 16 counting the overflow buckets it creates.  (The operation's own
 * hash, reseeds and an assign's own overflow bucket draw before changing
 * anything.)  `grows`: the map is growing or this operation may start a grow. */
static bool may_draw_midop(const pm_hmap *h, bool grows)
{
    return grows && ((!(h->t->flags & TF_REFLEXIVEKEY) && h->count > 0) || h->B >= 15);
}

/* Run op so that a failing rand callback leaves the map untouched: first on
 * a clone, recording the draws, then on the map, replaying them. */
static int run_atomic(pm_hmap *h, map_op op, const void *arg, bool midop)
{
    pm_runtime *rt = h->rt;
    if (!rt->randfn || !midop)
        return op(h, arg);
    pm_hmap *c = pm_map_clone(h);
    if (!c) {
        set_error("out of memory");
        return PM_ENOMEM;
    }
    rt->rec_mode = REC_RECORD;
    rt->rec_len = 0;
    int rc = op(c, arg);
    rt->rec_mode = REC_OFF;
    pm_map_release(c);
    if (rt->rand_failed || rc != PM_OK)
        return rt->rand_failed ? PM_ERAND : rc;
    rt->rec_mode = REC_REPLAY;
    rt->rec_pos = 0;
    rc = op(h, arg);
    rt->rec_mode = REC_OFF;
    return rc;
}

/* ---- assign ---- */

HOT int mapassign_kc(pm_hmap *h, const unsigned char *key, const uint8_t *elem, size_t elemlen, const int kc)
{
    const pm_maptype *t = h->t;
    uint64_t hash = kc_hash(h, key, kc);
    uint8_t top = tophash(hash);
    int rc;

    if (h->rt->rand_failed)
        return PM_ERAND;    /* hashing a NaN key: before any change */

    /* Everything that can fail for lack of memory is checked before the
     * first change: the lazy bucket and a grow's new array. */
    if (!h->buckets && (rc = check_alloc(h, t->bucketsize, !t->bucket_ptrs)) != PM_OK)
        return rc;
    if ((rc = grow_precheck(h, key, hash)) != PM_OK)
        return rc;
    if (!h->buckets) {
        gobj *arr = gc_alloc(h, OBJ_ARRAY, t->bucketsize, !t->bucket_ptrs);  /* newobject(t.Bucket) */
        if (!arr)
            return PM_ENOMEM;
        arr->nbuckets = 1;
        h->buckets = arr;
    }
again:;
    uint64_t bucket = hash & bucketMask(h->B);
    if (h_growing(h) && (rc = growWork(h, bucket)) != PM_OK)
        return rc;
    unsigned char *b = bucket_at(h->buckets, t, bucket);
    unsigned char *insertb = NULL;
    unsigned inserti = 0;
    for (;;) {
        for (unsigned i = 0; i < bucketCnt; i++) {
            if (b[i] != top) {
                if (isEmpty(b[i]) && !insertb) {
                    insertb = b;
                    inserti = i;
                }
                if (b[i] == emptyRest)
                    goto notfound;
                continue;
            }
            unsigned char *k = kc_slot_key(t, bmap_key(t, b, i), kc);
            if (!kc_equal(t, key, k, kc))
                continue;
            /* Existing key: update the elem (and the key, e.g. +0 -> -0). */
            if (t->flags & TF_NEEDKEYUPDATE) {
                if (t->key_kind == PM_KIND_STRING) {
                    unsigned char img[16];
                    if ((rc = store_value(h, PM_KIND_STRING, 16, false, img, key, NULL, 0)) != PM_OK)
                        return rc;
                    slot_release_key(t, k);
                    memcpy(k, img, 16);
                } else {
                    memcpy(k, key, t->keysize);
                }
            }
            unsigned char *e = bmap_elem(t, b, i);
            if (t->flags & TF_INDIRECTELEM)
                e = deref(e);
            if (t->elem_ref) {
                unsigned char img[16];
                if ((rc = store_value(h, t->elem_kind, t->elemsize, false, img, NULL, elem, elemlen)) != PM_OK)
                    return rc;
                slot_release_elem(t, e);
                memcpy(e, img, t->elemsize);
            } else if (t->elemsize) {
                if (elem)
                    memcpy(e, elem, t->elemsize);
                else
                    memset(e, 0, t->elemsize);
            }
            return PM_OK;
        }
        unsigned char *ovf = bmap_overflow(t, b);
        if (!ovf)
            break;
        b = ovf;
    }
notfound:
    if (!h_growing(h) &&
        (overLoadFactor(h->rt->ver, h->count + 1, h->B) || tooManyOverflowBuckets(h->noverflow, h->B))) {
        if ((rc = hashGrow(h)) != PM_OK)
            return rc;
        goto again;
    }
    if (!insertb) {
        /* b may have stopped at an emptyRest before the chain's end only
         * when an empty slot was found; here b is the last bucket. */
        unsigned char *nb = newoverflow(h, b);
        if (!nb)
            return PM_ENOMEM;
        insertb = nb;
        inserti = 0;
    }
    unsigned char *ks = bmap_key(t, insertb, inserti), *es = bmap_elem(t, insertb, inserti);
    if (kc != KC_GENERIC)
        memcpy(ks, key, kc == KC_MEM8 ? 8 : 4);
    else if ((rc = store_value(h, t->key_kind, t->keysize, t->flags & TF_INDIRECTKEY, ks, key, NULL, 0)) != PM_OK)
        return rc;
    if ((rc = store_value(h, t->elem_kind, t->elemsize, t->flags & TF_INDIRECTELEM, es, NULL, elem, elemlen)) != PM_OK) {
        clear_key(t, ks);
        return rc;
    }
    insertb[inserti] = top;
    h->count++;
    return PM_OK;
}

static int mapassign(pm_hmap *h, const unsigned char *key, const uint8_t *elem, size_t elemlen)
{
    return KC_DISPATCH(h, mapassign_kc, h, key, elem, elemlen);
}

struct assign_args {
    const unsigned char *key;
    const uint8_t *elem;
    size_t elemlen;
};

static int assign_op(pm_hmap *h, const void *arg)
{
    const struct assign_args *a = arg;
    return mapassign(h, a->key, a->elem, a->elemlen);
}

/* One assign under the caller's write lock, all-or-nothing, with the
 * debug checker after it. */
int map_assign_locked(pm_hmap *h, const unsigned char *key, const uint8_t *elem, size_t elemlen)
{
    if (!h->rt->randfn)   /* the seeded source cannot fail: no trial run */
        return map_op_finish(h, mapassign(h, key, elem, elemlen));
    struct assign_args a = {key, elem, elemlen};
    bool grows = h_growing(h) || overLoadFactor(h->rt->ver, h->count + 1, h->B) ||
                 tooManyOverflowBuckets(h->noverflow, h->B);
    return map_op_finish(h, run_atomic(h, assign_op, &a, may_draw_midop(h, grows)));
}

/* new([N]byte) for a *[N]byte elem, with `contents` (N bytes) or zeroed. */
gobj *pointee_new(pm_hmap *h, const uint8_t *contents)
{
    gobj *p = gc_alloc(h, OBJ_POINTEE, h->t->pointee, true);
    if (p && contents)
        memcpy(p->data, contents, h->t->pointee);
    if (!p)
        set_error("out of memory");
    return p;
}

/* m[k] = new([N]byte) (or nil): the pointee is allocated first, as Go
 * evaluates the right-hand side before mapassign; the slot takes its own
 * reference. */
static int assign_pointee_locked(pm_hmap *h, const unsigned char *key, const uint8_t *contents,
                                 bool nil)
{
    unsigned char *ptr = NULL;
    gobj *p = NULL;
    if (!nil) {
        if (check_alloc(h, h->t->pointee, true) != PM_OK)
            return PM_EMAXALLOC;
        if (!(p = pointee_new(h, contents)))
            return PM_ENOMEM;
        ptr = p->data;
    }
    int rc = map_assign_locked(h, key, (const uint8_t *)&ptr, 8);
    gc_decref(p);
    return rc;
}

int map_assign_api_locked(pm_hmap *h, const unsigned char *key, const uint8_t *elem, size_t elemlen)
{
    if (h->t->elem_kind == PM_KIND_PTRBYTES)
        return assign_pointee_locked(h, key, elem, elemlen == 0);
    return map_assign_locked(h, key, elem, elemlen);
}

int pm_mapassign(pm_hmap *h, const uint8_t *key, size_t keylen, const uint8_t *elem, size_t elemlen)
{
    keybuf kb;
    int rc = elem_check(h->t, elem, elemlen);
    if (rc != PM_OK || (rc = keybuf_init(&kb, h->t, key, keylen)) != PM_OK)
        return rc;
    if ((rc = pm_lock_write(h)) == PM_OK) {
        rc = map_assign_api_locked(h, kb.p, elem, elemlen);
        pm_unlock_write(h);
    }
    keybuf_free(&kb);
    return rc;
}

/* The per-operation fast path of map[int64]int64 (and any 8-byte integer
 * key and elem): no key buffer, no length checks, integers by value. */
static bool is_i64_pair(const pm_maptype *t)
{
    return (t->key_kind == PM_KIND_INT || t->key_kind == PM_KIND_UINT) && t->keysize == 8 &&
           (t->elem_kind == PM_KIND_INT || t->elem_kind == PM_KIND_UINT) && t->elemsize == 8;
}

int pm_assign_i64(pm_hmap *h, int64_t key, int64_t elem)
{
    if (!is_i64_pair(h->t)) {
        set_error("pm_assign_i64 needs 8-byte integer keys and elems");
        return PM_EARG;
    }
    int rc = pm_lock_write(h);
    if (rc == PM_OK) {
        rc = map_assign_locked(h, (const unsigned char *)&key, (const uint8_t *)&elem, 8);
        pm_unlock_write(h);
    }
    return rc;
}

int64_t pm_access_i64(pm_hmap *h, int64_t key, int64_t miss)
{
    if (!is_i64_pair(h->t) || pm_lock_read(h) != PM_OK)
        return miss;
    unsigned char *k, *e;
    int64_t v = miss;
    if (mapaccessK(h, (const unsigned char *)&key, &k, &e))
        memcpy(&v, e, 8);
    pm_unlock_read(h);
    return v;
}

/* Benchmark baselines: bare calls with the fast paths' signatures. */
int pm_bench_nop_assign_i64(pm_hmap *h, int64_t key, int64_t elem) { return PM_OK; }
int64_t pm_bench_nop_access_i64(pm_hmap *h, int64_t key, int64_t miss) { return miss; }

/* ---- delete ---- */

HOT int mapdelete_kc(pm_hmap *h, const unsigned char *key, int *deleted, const int kc)
{
    const pm_maptype *t = h->t;
    *deleted = 0;
    if (h->count == 0)
        return PM_OK;
    uint64_t hash = kc_hash(h, key, kc);
    uint64_t bucket = hash & bucketMask(h->B);
    int rc;
    if (h->rt->rand_failed)
        return PM_ERAND;
    /* Deleting the last entry reseeds hash0.  Draw it now, before anything
     * changes: with one live entry no other draw can come in between. */
    uint32_t reseed = 0;
    if (h->count == 1) {
        unsigned s;
        if (find_kc(h, key, hash, &s, kc)) {
            reseed = (uint32_t)pm_rand(h->rt, PM_RAND_HASH0);
            if (h->rt->rand_failed)
                return PM_ERAND;
        }
    }
    if (h_growing(h) && (rc = growWork(h, bucket)) != PM_OK)
        return rc;
    unsigned char *b = bucket_at(h->buckets, t, bucket), *bOrig = b;
    uint8_t top = tophash(hash);
    for (; b; b = bmap_overflow(t, b)) {
        for (unsigned i = 0; i < bucketCnt; i++) {
            if (b[i] != top) {
                if (b[i] == emptyRest)
                    return PM_OK;
                continue;
            }
            unsigned char *k = bmap_key(t, b, i);
            if (!kc_equal(t, key, kc_slot_key(t, k, kc), kc))
                continue;
            /* Only clear the key if there are pointers in it. */
            if (t->key_ptrs)
                clear_key(t, k);
            clear_elem(t, bmap_elem(t, b, i));
            b[i] = emptyOne;
            /* If the bucket now ends in a run of empty slots, turn them
             * into emptyRest, walking backwards across the chain. */
            bool last;
            if (i == bucketCnt - 1) {
                unsigned char *o = bmap_overflow(t, b);
                last = !(o && o[0] != emptyRest);
            } else {
                last = b[i + 1] == emptyRest;
            }
            if (last) {
                for (;;) {
                    b[i] = emptyRest;
                    if (i == 0) {
                        if (b == bOrig)
                            break;
                        unsigned char *c = b;
                        for (b = bOrig; bmap_overflow(t, b) != c; b = bmap_overflow(t, b))
                            ;
                        i = bucketCnt - 1;
                    } else {
                        i--;
                    }
                    if (b[i] != emptyOne)
                        break;
                }
            }
            h->count--;
            /* Reset the hash seed to make it more difficult for attackers to
             * repeatedly trigger hash collisions (golang/go#25237). */
            if (h->count == 0)
                h->hash0 = reseed;
            *deleted = 1;
            return PM_OK;
        }
    }
    return PM_OK;
}

static int mapdelete(pm_hmap *h, const unsigned char *key, int *deleted)
{
    return KC_DISPATCH(h, mapdelete_kc, h, key, deleted);
}

struct delete_args {
    const unsigned char *key;
    int deleted;
};

static int delete_op(pm_hmap *h, const void *arg)
{
    struct delete_args *a = (struct delete_args *)arg;
    return mapdelete(h, a->key, &a->deleted);
}

int map_delete_locked(pm_hmap *h, const unsigned char *key, int *deleted)
{
    if (!h->rt->randfn)
        return map_op_finish(h, mapdelete(h, key, deleted));
    struct delete_args a = {key, 0};
    int rc = map_op_finish(h, run_atomic(h, delete_op, &a, may_draw_midop(h, h_growing(h))));
    *deleted = a.deleted;
    return rc;
}

int pm_mapdelete(pm_hmap *h, const uint8_t *key, size_t keylen, int *deleted)
{
    keybuf kb;
    *deleted = 0;
    int rc = keybuf_init(&kb, h->t, key, keylen);
    if (rc != PM_OK)
        return rc;
    if ((rc = pm_lock_write(h)) == PM_OK) {
        rc = map_delete_locked(h, kb.p, deleted);
        pm_unlock_write(h);
    }
    keybuf_free(&kb);
    return rc;
}

/* ---- clear ---- */

static void markBucketsEmpty(pm_hmap *h, gobj *arr, uint64_t n)
{
    const pm_maptype *t = h->t;
    for (uint64_t i = 0; i < n; i++)
        for (unsigned char *b = bucket_at(arr, t, i); b; b = bmap_overflow(t, b))
            memset(b, emptyRest, bucketCnt);
}

/* runtime.mapclear, per the version table. */
static int mapclear(pm_hmap *h)
{
    if (h->count == 0)
        return PM_OK;
    /* The reseed is the only draw: take it before changing anything. */
    uint32_t hash0 = (uint32_t)pm_rand(h->rt, PM_RAND_HASH0);
    if (h->rt->rand_failed)
        return PM_ERAND;
    /* Go 1.21-1.23 mark every tophash emptyRest to stop live iterators
     * (golang/go#59411).  Only an iterator can see the marks: the old array
     * is marked when one still holds it, the current one as it is zeroed. */
    bool mark = h->rt->ver->clear_marks_empty;
    if (mark && h->oldbuckets && (h->oldbuckets->refcnt > 1 || h->oldbuckets->links_heap))
        markBucketsEmpty(h, h->oldbuckets, h_noldbuckets(h));
    h->flags &= (uint8_t)~sameSizeGrow;
    gobj *old = h->oldbuckets;
    h->oldbuckets = NULL;
    h->nevacuate = 0;
    h->noverflow = 0;
    h->count = 0;
    if (h->rt->ver->clear_seq)
        h->clearSeq++;
    h->hash0 = hash0;
    if (h->extra) {
        ovrec_release(h->rt, h->overflow.rec);
        ovrec_release(h->rt, h->oldoverflow.rec);
        memset(&h->overflow, 0, sizeof h->overflow);
        memset(&h->oldoverflow, 0, sizeof h->oldoverflow);
        h->nextOverflow = NULL;
    }
    gc_decref(old);
    unsigned char *nextOverflow = reuseBucketArray(h, h->buckets, h->B, mark);
    if (nextOverflow)
        h->nextOverflow = nextOverflow;
    return PM_OK;
}

/* Go 1.19/1.20 have no clear builtin: the range-delete idiom compiles to
 * mapclear for reflexive keys, and to a real loop otherwise (NaNs stay). */
static int clear_idiom_loop(pm_hmap *h)
{
    const pm_maptype *t = h->t;
    pm_iter it = {0};   /* no kbuf: an internal iterator, read under the lock */
    int rc = pm_iter_init_internal(h, -1, 0, &it);
    if (rc != PM_OK)
        return rc;
    unsigned char small[KEYIMG_INLINE];
    unsigned char *k = t->keysize <= KEYIMG_INLINE ? small : malloc(t->keysize);
    if (!k) {
        pm_iter_release_internal(&it);
        return PM_ENOMEM;
    }
    while (rc == PM_OK && it.key) {
        int deleted;
        memcpy(k, it.key, t->keysize);   /* k := the loop variable's copy */
        rc = mapdelete(h, k, &deleted);
        if (rc == PM_OK)
            rc = pm_iter_next_internal(&it);
    }
    if (k != small)
        free(k);
    pm_iter_release_internal(&it);
    return rc;
}

static int clear_op(pm_hmap *h, const void *arg)
{
    (void)arg;
    if (h->rt->ver->clear_builtin || (h->t->flags & TF_REFLEXIVEKEY))
        return mapclear(h);
    return clear_idiom_loop(h);
}

int map_clear_locked(pm_hmap *h)
{
    /* The range-delete loop of 1.19/1.20 deletes key by key: NaN deletes draw
     * after earlier deletes changed the map. */
    bool loop = !h->rt->ver->clear_builtin && !(h->t->flags & TF_REFLEXIVEKEY);
    return map_op_finish(h, run_atomic(h, clear_op, NULL, loop && h->count > 0));
}

int pm_mapclear(pm_hmap *h)
{
    int rc = pm_lock_write(h);
    if (rc != PM_OK)
        return rc;
    rc = map_clear_locked(h);
    pm_unlock_write(h);
    return rc;
}

int pm_set_hash0(pm_hmap *h, uint32_t hash0)
{
    if (h->count != 0) {
        set_error("hash0 can only be set while the map is empty");
        return PM_EARG;
    }
    int rc = pm_lock_write(h);
    if (rc != PM_OK)
        return rc;
    h->hash0 = hash0;
    pm_unlock_write(h);
    return PM_OK;
}

/* ---- inspection ---- */

int64_t pm_map_len(const pm_hmap *h)
{
    return __atomic_load_n(&h->count, __ATOMIC_RELAXED);   /* len(m): no map access check, as in Go */
}

int pm_map_header(pm_hmap *h, pm_header *out)
{
    int how = pm_map_read_lock(h);
    if (how < 0)
        return how;
    map_header(h, out);
    pm_map_read_unlock(h, how);
    return PM_OK;
}

void map_header(const pm_hmap *h, pm_header *out)
{
    memset(out, 0, sizeof *out);
    out->count = h->count;
    out->flags = h->flags;
    out->B = h->B;
    out->noverflow = h->noverflow;
    out->hash0 = h->hash0;
    out->nevacuate = h->nevacuate;
    out->clear_seq = h->clearSeq;
    out->growing = h_growing(h);
    out->same_size_grow = !!(h->flags & sameSizeGrow);
    out->extra_allocated = h->extra;
    out->next_overflow = -1;
    if (h->extra && h->nextOverflow && h->buckets)
        out->next_overflow = (int64_t)((uint64_t)(h->nextOverflow - h->buckets->data) / h->t->bucketsize);
    out->overflow_len = h->overflow.present ? h->overflow.len : -1;
    out->overflow_cap = h->overflow.present ? h->overflow.cap : -1;
    out->oldoverflow_len = h->oldoverflow.present ? h->oldoverflow.len : -1;
    out->oldoverflow_cap = h->oldoverflow.present ? h->oldoverflow.cap : -1;
    out->nbuckets_alloc = h->buckets ? h->buckets->nbuckets : 0;
}

/* What Go's GC finds from one bucket array: every bucket of the allocation
 * (main and preallocated) is scanned, separately allocated overflow buckets
 * are followed from any of them (for pointer-free buckets the GC reaches
 * the same buckets through extra.overflow instead), and boxes are counted
 * from every non-nil pointer slot.  Marks count shared objects once. */
static void walk_array(const pm_hmap *h, gobj *arr, uint8_t epoch, uint32_t pepoch,
                       uint64_t *overflow, uint64_t *indirect, uint64_t *pointees)
{
    const pm_maptype *t = h->t;
    bool ik = t->flags & TF_INDIRECTKEY, ie = t->flags & TF_INDIRECTELEM;
    bool pe = t->elem_kind == PM_KIND_PTRBYTES;
    for (uint64_t i = 0; i < arr->nbuckets; i++) {
        unsigned char *b = bucket_at(arr, t, i);
        while (b) {
            /* Every non-nil slot holds its pointee (a slot evacuated while an
             * iterator ran, or in an unlinked preallocated bucket of the old
             * array, keeps it, as Go's GC scanning the array would): count
             * each pointee once.  Pointees can be shared between maps, so
             * their marks come from a process-wide walk counter. */
            for (unsigned s = 0; pe && s < bucketCnt; s++) {
                unsigned char *p = deref(bmap_elem(t, b, s));
                if (p && __atomic_exchange_n(&GOBJ_OF(p)->pmark, pepoch, __ATOMIC_RELAXED) != pepoch)
                    *pointees += GOBJ_OF(p)->charged;
            }
            for (unsigned s = 0; (ik || ie) && s < bucketCnt; s++) {
                unsigned char *ptrs[2] = {
                    ik ? deref(bmap_key(t, b, s)) : NULL,
                    ie ? deref(bmap_elem(t, b, s)) : NULL,
                };
                for (int j = 0; j < 2; j++) {
                    if (ptrs[j] && GOBJ_OF(ptrs[j])->mark != epoch) {
                        GOBJ_OF(ptrs[j])->mark = epoch;
                        *indirect += GOBJ_OF(ptrs[j])->charged;
                    }
                }
            }
            b = bmap_overflow(t, b);
            if (!b || pm_bucket_in_array(h, arr, b) || GOBJ_OF(b)->mark == epoch)
                break;
            GOBJ_OF(b)->mark = epoch;
            *overflow += GOBJ_OF(b)->charged;
        }
    }
}


int pm_map_memory(pm_hmap *h, pm_memory *out)
{
    int how = pm_map_read_lock(h);
    if (how < 0)
        return how;
    /* Readers may walk in parallel, but the walk marks objects: one at a time. */
    while (__atomic_exchange_n(&h->walking, 1, __ATOMIC_ACQUIRE))
        ;
    map_memory(h, out);
    __atomic_store_n(&h->walking, 0, __ATOMIC_RELEASE);
    pm_map_read_unlock(h, how);
    return PM_OK;
}

void map_memory(pm_hmap *h, pm_memory *out)
{
    const goversion *v = h->rt->ver;
    memset(out, 0, sizeof *out);
    out->hmap = h->hmap_charged;
    out->extra = h->extra ? go_charged(v, 24, false) : 0;
    out->buckets = h->buckets ? h->buckets->charged : 0;
    out->oldbuckets = h->oldbuckets ? h->oldbuckets->charged : 0;
    const ovslice *s[2] = {&h->overflow, &h->oldoverflow};
    for (int i = 0; i < 2; i++)
        if (s[i]->present)
            out->overflow_slice += go_charged(v, 24, false) + s[i]->backing_charged;
    /* Walk both arrays for separately allocated overflow buckets and boxes;
     * marks keep shared boxes (old and new slot during a grow) counted once. */
    /* Marks are per map: every walk re-marks all of this map's live objects,
     * so a mark equal to the new epoch can only come from this walk. */
    uint8_t epoch = ++h->mem_epoch;
    if (epoch == 0)
        epoch = ++h->mem_epoch;
    static uint32_t pointee_walks;
    uint32_t pepoch = __atomic_add_fetch(&pointee_walks, 1, __ATOMIC_RELAXED);
    if (pepoch == 0)
        pepoch = __atomic_add_fetch(&pointee_walks, 1, __ATOMIC_RELAXED);
    if (h->buckets)
        walk_array(h, h->buckets, epoch, pepoch, &out->overflow, &out->indirect, &out->pointees);
    if (h->oldbuckets)
        walk_array(h, h->oldbuckets, epoch, pepoch, &out->overflow, &out->indirect, &out->pointees);
    out->total = out->hmap + out->extra + out->buckets + out->oldbuckets + out->overflow +
                 out->overflow_slice + out->indirect + out->pointees;
    out->allocated = h->allocated;
}

static gobj *array_of(const pm_hmap *h, int old)
{
    return old ? h->oldbuckets : h->buckets;
}

static uint64_t array_nchains(const pm_hmap *h, int old)
{
    return old ? h_noldbuckets(h) : bucketShift(h->B);
}

int64_t pm_chain_len(const pm_hmap *h, int old, uint64_t index)
{
    gobj *arr = array_of(h, old);
    if (!arr || index >= array_nchains(h, old))
        return -1;
    int64_t n = 0;
    for (unsigned char *b = bucket_at(arr, h->t, index); b; b = bmap_overflow(h->t, b))
        n++;
    return n;
}

const uint8_t *pm_chain_bucket(const pm_hmap *h, int old, uint64_t index, int64_t pos,
                               int *origin, int64_t *array_index)
{
    gobj *arr = array_of(h, old);
    if (!arr || index >= array_nchains(h, old))
        return NULL;
    unsigned char *b = bucket_at(arr, h->t, index);
    for (int64_t i = 0; i < pos && b; i++)
        b = bmap_overflow(h->t, b);
    if (!b)
        return NULL;
    if (pm_bucket_in_array(h, arr, b)) {
        *array_index = (int64_t)((uint64_t)(b - arr->data) / h->t->bucketsize);
        *origin = (uint64_t)*array_index < array_nchains(h, old) ? PM_ORIGIN_ARRAY : PM_ORIGIN_PREALLOC;
    } else {
        *array_index = -1;
        *origin = PM_ORIGIN_HEAP;
    }
    return b;
}

const uint8_t *pm_string_data(const uint8_t *header, uint64_t *len)
{
    const uint8_t *p;
    memcpy(&p, header, 8);
    memcpy(len, header + 8, 8);
    return p;
}

const uint8_t *pm_deref(const uint8_t *slot)
{
    const uint8_t *p;
    memcpy(&p, slot, 8);
    return p;
}

int pm_hash_key(pm_runtime *rt, const pm_maptype *t, const uint8_t *key, size_t keylen,
                uint64_t seed, uint64_t *out)
{
    keybuf kb;
    int rc = keybuf_init(&kb, t, key, keylen);
    if (rc != PM_OK)
        return rc;
    *out = pm_typehash(rt, t, kb.p, seed);
    keybuf_free(&kb);
    if (rt->rand_failed) {
        rt->rand_failed = 0;
        set_error("rand callback failed");
        return PM_ERAND;
    }
    return PM_OK;
}

/* ---- iteration entry points (iter.c holds mapiterinit/mapiternext) ---- */

int pm_iter_new(pm_hmap *h, int64_t start_bucket, int offset, pm_iter **out)
{
    pm_iter *it = calloc(1, sizeof *it);
    const pm_maptype *t = h->t;
    size_t ks = t->key_kind == PM_KIND_STRING ? 16 : t->keysize;
    size_t es = t->elem_kind == PM_KIND_STRING ? 16 : t->elemsize;
    if (it) {
        it->kbuf = malloc(ks ? ks : 1);
        it->ebuf = malloc(es ? es : 1);
    }
    if (!it || !it->kbuf || !it->ebuf) {
        if (it) {
            free(it->kbuf);
            free(it->ebuf);
        }
        free(it);
        set_error("out of memory");
        return PM_ENOMEM;
    }
    int rc = pm_lock_write(h);   /* mapiterinit writes flags and may allocate extra */
    if (rc == PM_OK) {
        rc = pm_iter_init_internal(h, start_bucket, offset, it);
        if (rand_failed(h)) {
            if (rc == PM_OK)
                pm_iter_release_internal(it);
            rc = PM_ERAND;
        }
        pm_unlock_write(h);
    }
    if (rc != PM_OK) {
        free(it->kbuf);
        free(it->ebuf);
        free(it);
        return rc;
    }
    *out = it;
    return PM_OK;
}

int pm_iter_next(pm_iter *it)
{
    if (!it->h)
        return PM_OK;
    pm_hmap *h = it->h;
    int rc = pm_lock_read(h);
    if (rc != PM_OK)
        return rc;
    rc = pm_iter_next_internal(it);
    if (rand_failed(h))
        rc = PM_ERAND;
    pm_unlock_read(h);
    return rc;
}

int pm_iter_read(pm_iter *it, int advance, uint8_t *key_out, uint8_t *elem_out)
{
    if (__atomic_exchange_n(&it->busy, 1, __ATOMIC_ACQUIRE)) {
        set_error("concurrent use of one map iterator");
        return PM_EBUSY;
    }
    int rc = PM_OK;
    pm_hmap *h = it->h;
    if (h && !it->done && (rc = pm_lock_read(h)) == PM_OK) {
        if (advance) {
            rc = pm_iter_next_internal(it);
            if (rand_failed(h))
                rc = PM_ERAND;
        }
        if (rc == PM_OK && !it->done && it->captured) {
            /* From the copies taken when the entry was reached. */
            const pm_maptype *t = h->t;
            image_copy_out(t->key_kind, t->keysize, it->kbuf, key_out);
            image_copy_out(t->elem_kind, t->elemsize, it->ebuf, elem_out);
            rc = 1;
        }
        pm_unlock_read(h);
    }
    __atomic_store_n(&it->busy, 0, __ATOMIC_RELEASE);
    return rc;
}

void pm_iter_free(pm_iter *it)
{
    if (!it)
        return;
    pm_iter_release_internal(it);
    free(it->kbuf);
    free(it->ebuf);
    free(it);
}

void pm_create_overflow(pm_hmap *h) { createOverflow(h); }
