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
 * non-escaping maps (pymap models maps that escape) and interface keys.
 * (Go's Swiss-table map, the default since Go 1.24, is in swiss/.)
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "pymap.h"

static bool in_array(const pm_maptype *t, const gobj *arr, const unsigned char *b)
{
    return arr && b >= arr->data && b < arr->data + arr->nelems * t->bucketsize;
}

bool pm_bucket_in_array(const pm_hmap *h, const gobj *arr, const unsigned char *b)
{
    return in_array(h->base.t, arr, b);
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

/* ---- load factor, allocation ---- */

bool overLoadFactor(const goversion *v, int64_t count, uint8_t B)
{
    return count > bucketCnt &&
           (uint64_t)count > (uint64_t)v->classic.loadFactorNum * (bucketShift(B) / loadFactorDen);
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
    const pm_maptype *t = h->base.t;
    uint64_t base = bucketShift(b), nbuckets = base;
    if (b >= 4) {
        nbuckets += bucketShift(b - 4);
        uint64_t sz = t->bucketsize * nbuckets;
        uint64_t up = go_roundupsize(h->base.rt->ver, sz, !t->bucket_ptrs);
        if (up != sz)
            nbuckets = up / t->bucketsize;
    }
    return nbuckets;
}

static int check_alloc(const pm_hmap *h, uint64_t size, bool noscan)
{
    return gc_check_alloc(h->base.rt, size, noscan);
}

static int array_check(const pm_hmap *h, uint8_t b)
{
    if (b >= 58) {
        set_error("bucket array of 2^%u buckets exceeds max_alloc", b);
        return PM_EMAXALLOC;
    }
    uint64_t n = bucket_array_len(h, b);
    if (n > UINT64_MAX / h->base.t->bucketsize) {
        set_error("bucket array too large");
        return PM_EMAXALLOC;
    }
    return check_alloc(h, n * h->base.t->bucketsize, !h->base.t->bucket_ptrs);
}

/* Install the preallocated-overflow sentinel; return nextOverflow or NULL. */
static unsigned char *prealloc_setup(pm_hmap *h, gobj *arr, uint8_t b)
{
    uint64_t base = bucketShift(b);
    if (arr->nelems == base)
        return NULL;
    bmap_setoverflow(h->base.t, bucket_at(arr, h->base.t, arr->nelems - 1), arr->data);
    return bucket_at(arr, h->base.t, base);
}

/* makeBucketArray(t, b, nil). */
static gobj *makeBucketArray(pm_hmap *h, uint8_t b, unsigned char **nextOverflow)
{
    uint64_t n = bucket_array_len(h, b);
    gobj *arr = gc_alloc(&h->base, OBJ_BUCKETS, n * h->base.t->bucketsize, !h->base.t->bucket_ptrs);
    if (!arr)
        return NULL;
    arr->nelems = n;
    *nextOverflow = prealloc_setup(h, arr, b);
    return arr;
}

/* makeBucketArray(t, h.B, h.buckets): zero the whole allocation in place.
 * With `mark` (golang/go#59411), separately allocated overflow buckets
 * are marked emptyRest first: an iterator may still hold one.  Buckets
 * inside arr need no marking -- zero is emptyRest. */
static unsigned char *reuseBucketArray(pm_hmap *h, gobj *arr, uint8_t b, bool mark)
{
    const pm_maptype *t = h->base.t;
    for (uint64_t i = 0; array_needs_release(t, arr) && i < arr->nelems; i++) {
        unsigned char *bk = bucket_at(arr, t, i);
        for (unsigned char *o = bmap_overflow(t, bk); mark && o && !in_array(t, arr, o); o = bmap_overflow(t, o))
            memset(o, emptyRest, bucketCnt);
        bucket_release(t, bk, arr);
    }
    arr->impl_flag = 0;
    memset(arr->data, 0, arr->nelems * t->bucketsize);
    return prealloc_setup(h, arr, b);
}

static void ensure_extra(pm_hmap *h)
{
    if (!h->extra) {
        h->extra = true;
        h->hslot_extra = gc_charge(&h->base, mapextraSize, false);   /* new(mapextra) */
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
        h->overflow.rec = ovrec_new(h, gc_charge(&h->base, sliceHeaderSize, false));   /* new([]*bmap) */
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
        uint64_t capmem = go_roundupsize(h->base.rt->ver, (uint64_t)newcap * 8, false);
        s->cap = (int64_t)(capmem / 8);
        s->backing_charged = go_charged(h->base.rt->ver, capmem, false);
        uintptr_t back = gc_charge(&h->base, capmem, false);
        if (s->rec) {           /* the old backing array is garbage now */
            uintptr_t old = s->rec->back;
            s->rec->back = back;
            heap_free(h->base.rt, old);
        } else {
            heap_free(h->base.rt, back);
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
    return ((uint32_t)pm_rand(h->base.rt, PM_RAND_NOVERFLOW) & mask) == 0;
}

static unsigned char *newoverflow(pm_hmap *h, unsigned char *b)
{
    const pm_maptype *t = h->base.t;
    unsigned char *ovf;
    /* Go draws after taking the bucket; no other draw comes in between, so
     * drawing first lets a failed draw leave the map unchanged. */
    bool counted = noverflow_counts(h);
    if (pm_op_draws.failed)
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
        gobj *o = gc_alloc(&h->base, OBJ_OVERFLOW, t->bucketsize, !t->bucket_ptrs);
        if (!o)
            return NULL;
        ovf = o->data;
        h->buckets->impl_flag = 1;   /* b is in a chain of the current array */
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
    return pm_typehash(h->base.rt, h->base.t, k, (uint64_t)h->hash0);
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
        return pm_memhash_word(h->base.rt, w, h->hash0, 8);
    }
    if (kc == KC_MEM4) {
        uint32_t w;
        memcpy(&w, k, 4);
        return pm_memhash_word(h->base.rt, w, h->hash0, 4);
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
    ((h)->base.t->keyclass == KC_MEM8   ? fn(__VA_ARGS__, KC_MEM8)            \
     : (h)->base.t->keyclass == KC_MEM4 ? fn(__VA_ARGS__, KC_MEM4)            \
                                   : fn(__VA_ARGS__, KC_GENERIC))

static inline unsigned char *oldbucket_at(pm_hmap *h, uint64_t i)
{
    return bucket_at(h->oldbuckets, h->base.t, i);
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
        ovrec_release(h->base.rt, h->oldoverflow.rec);
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
    const pm_maptype *t = h->base.t;
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
                        pm_op_draws.elem = (t->flags & TF_INDIRECTELEM) ? deref(e) : e;
                    uint64_t hash = kc_hash(h, k2, kc);
                    pm_op_draws.elem = NULL;
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
    if (!overLoadFactor(h->base.rt->ver, h->count + 1, h->B))
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
    bool over = overLoadFactor(h->base.rt->ver, h->count + 1, h->B);
    if (!over && !tooManyOverflowBuckets(h->noverflow, h->B))
        return PM_OK;   /* the common case: no grow, no extra chain scan */
    unsigned slot;
    if (find(h, key, hash, &slot))
        return PM_OK;   /* an update never grows */
    return array_check(h, (uint8_t)(h->B + (over ? 1 : 0)));
}

/* ---- map creation and destruction ---- */

static int classic_make(pm_runtime *rt, pm_maptype *t, int64_t hint, pm_map **out)
{
    pm_hmap probe = {0};
    probe.base.rt = rt;
    probe.base.t = t;
    /* math.MulUintptr(uintptr(hint), bucketsize) overflowing or > maxAlloc:
     * the hint is ignored (negative hints overflow as uintptr). */
    unsigned __int128 mem = (unsigned __int128)(uint64_t)hint * t->bucketsize;
    if (mem > MAX_ALLOC_GO)
        hint = 0;
    uint8_t B = 0;
    while (overLoadFactor(rt->ver, hint, B))
        B++;
    int rc = check_alloc(&probe, rt->ver->classic.hmap_size, false);
    if (rc == PM_OK && B != 0)
        rc = array_check(&probe, B);
    if (rc != PM_OK)
        return rc;
    /* The hash0 draw comes first: a failing rand leaves nothing behind. */
    uint32_t hash0 = (uint32_t)pm_rand(rt, PM_RAND_HASH0);
    if (pm_rand_failed())
        return PM_ERAND;
    pm_hmap *h = calloc(1, sizeof *h);
    if (!h) {
        set_error("out of memory");
        return PM_ENOMEM;
    }
    map_init_header(&h->base, &classic_map_ops, rt, t);
    h->hmap_charged = go_charged(rt->ver, rt->ver->classic.hmap_size, false);
    h->hslot_hmap = gc_charge(&h->base, rt->ver->classic.hmap_size, false);   /* new(hmap) */
    h->hash0 = hash0;
    h->B = B;
    if (B != 0) {
        unsigned char *nextOverflow;
        h->buckets = makeBucketArray(h, B, &nextOverflow);
        if (!h->buckets) {
            heap_free(rt, h->hslot_hmap);
            map_free_header(&h->base);
            set_error("out of memory");
            return PM_ENOMEM;
        }
        if (nextOverflow) {
            ensure_extra(h);
            h->nextOverflow = nextOverflow;
        }
    }
    *out = &h->base;
    return PM_OK;
}

/* The last reference is gone: drop what the hmap holds (the generic layer
 * frees the header). */
static void classic_destroy(pm_map *m)
{
    pm_hmap *h = HMAP(m);
    gc_decref(h->buckets);
    gc_decref(h->oldbuckets);
    ovrec_release(m->rt, h->overflow.rec);
    ovrec_release(m->rt, h->oldoverflow.rec);
    heap_free(m->rt, h->hslot_extra);
    heap_free(m->rt, h->hslot_hmap);
}

static int64_t classic_len(const pm_map *m)
{
    return __atomic_load_n(&((const pm_hmap *)m)->count, __ATOMIC_RELAXED);
}

/* ---- overflow-slice objects (the map's *[]*bmap) ---- */

/* new([]*bmap): the record of the header's slot, no backing array yet. */
ovrec *ovrec_new(pm_hmap *h, uintptr_t hdr)
{
    if (h->base.shadow)
        return NULL;
    ovrec *r = calloc(1, sizeof *r);
    if (!r) {
        heap_free(h->base.rt, hdr);   /* the accounting loses the header; the model goes on */
        return NULL;
    }
    r->refcnt = 1;
    r->hdr = hdr;
    return r;
}

void ovrec_release(pm_runtime *rt, ovrec *r)
{
    if (!r || __atomic_sub_fetch(&r->refcnt, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    heap_free(rt, r->back);
    heap_free(rt, r->hdr);
    free(r);
}



/* ---- lookup ---- */

/* Search for key with hash in the live table; returns the bucket and slot. */
HOT unsigned char *find_kc(pm_hmap *h, const unsigned char *key, uint64_t hash, unsigned *slot, const int kc)
{
    const pm_maptype *t = h->base.t;
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
    const pm_maptype *t = h->base.t;
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
    const unsigned char *b = bucket_at(h->buckets, h->base.t, hash & bucketMask(h->B));
    for (uint32_t off = 0; off < h->base.t->bucketsize && off < 256; off += 64)
        __builtin_prefetch(b + off);   /* tophash, keys and elems: up to 4 lines */
}

static void classic_prefetch(pm_map *m, const unsigned char *key)
{
    pm_hmap *h = HMAP(m);
    KC_DISPATCH(h, prefetch_kc, h, key);
}

static bool classic_access(pm_map *m, const unsigned char *key, unsigned char **k, unsigned char **e)
{
    return mapaccessK(HMAP(m), key, k, e);
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
    return grows && ((!(h->base.t->flags & TF_REFLEXIVEKEY) && h->count > 0) || h->B >= 15);
}

/* Run op so that a failing rand callback leaves the map untouched: first on
 * a clone, recording the draws, then on the map, replaying them. */
static int run_atomic(pm_hmap *h, map_op op, const void *arg, bool midop)
{
    pm_runtime *rt = h->base.rt;
    if (!rt->randfn || !midop)
        return op(h, arg);
    pm_hmap *c = pm_map_clone(h);
    if (!c) {
        set_error("out of memory");
        return PM_ENOMEM;
    }
    pm_draws *d = &pm_op_draws;
    d->rec_mode = REC_RECORD;
    d->rec_len = 0;
    int rc = op(c, arg);
    d->rec_mode = REC_OFF;
    pm_map_release(&c->base);
    if (d->failed || rc != PM_OK) {
        rc = d->failed ? PM_ERAND : rc;
    } else {
        d->rec_mode = REC_REPLAY;
        d->rec_pos = 0;
        rc = op(h, arg);
        d->rec_mode = REC_OFF;
    }
    free(d->rec);               /* the record is this operation's */
    d->rec = NULL;
    d->rec_len = d->rec_cap = 0;
    return rc;
}

/* ---- assign ---- */

HOT int mapassign_kc(pm_hmap *h, const unsigned char *key, const uint8_t *elem, size_t elemlen, const int kc)
{
    const pm_maptype *t = h->base.t;
    uint64_t hash = kc_hash(h, key, kc);
    uint8_t top = tophash(hash);
    int rc;

    if (pm_op_draws.failed)
        return PM_ERAND;    /* hashing a NaN key: before any change */

    /* Everything that can fail for lack of memory is checked before the
     * first change: the lazy bucket and a grow's new array. */
    if (!h->buckets && (rc = check_alloc(h, t->bucketsize, !t->bucket_ptrs)) != PM_OK)
        return rc;
    if ((rc = grow_precheck(h, key, hash)) != PM_OK)
        return rc;
    if (!h->buckets) {
        gobj *arr = gc_alloc(&h->base, OBJ_BUCKETS, t->bucketsize, !t->bucket_ptrs);  /* newobject(t.Bucket) */
        if (!arr)
            return PM_ENOMEM;
        arr->nelems = 1;
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
            return slot_update(&h->base, bmap_key(t, b, i), bmap_elem(t, b, i), key, elem, elemlen);
        }
        unsigned char *ovf = bmap_overflow(t, b);
        if (!ovf)
            break;
        b = ovf;
    }
notfound:
    if (!h_growing(h) &&
        (overLoadFactor(h->base.rt->ver, h->count + 1, h->B) || tooManyOverflowBuckets(h->noverflow, h->B))) {
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
    else if ((rc = store_value(&h->base, t->key_kind, t->keysize, t->flags & TF_INDIRECTKEY, ks, key, NULL, 0)) != PM_OK)
        return rc;
    if ((rc = store_value(&h->base, t->elem_kind, t->elemsize, t->flags & TF_INDIRECTELEM, es, NULL, elem, elemlen)) != PM_OK) {
        slot_clear_key(t, ks);
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

/* One assign under the caller's write lock, all-or-nothing. */
int classic_assign(pm_map *m, const unsigned char *key, const uint8_t *elem, size_t elemlen)
{
    pm_hmap *h = HMAP(m);
    if (!m->rt->randfn)   /* the seeded source cannot fail: no trial run */
        return mapassign(h, key, elem, elemlen);
    struct assign_args a = {key, elem, elemlen};
    bool grows = h_growing(h) || overLoadFactor(m->rt->ver, h->count + 1, h->B) ||
                 tooManyOverflowBuckets(h->noverflow, h->B);
    return run_atomic(h, assign_op, &a, may_draw_midop(h, grows));
}



/* ---- delete ---- */

HOT int mapdelete_kc(pm_hmap *h, const unsigned char *key, int *deleted, const int kc)
{
    const pm_maptype *t = h->base.t;
    *deleted = 0;
    if (h->count == 0)
        return PM_OK;
    uint64_t hash = kc_hash(h, key, kc);
    uint64_t bucket = hash & bucketMask(h->B);
    int rc;
    if (pm_op_draws.failed)
        return PM_ERAND;
    /* Deleting the last entry reseeds hash0.  Draw it now, before anything
     * changes: with one live entry no other draw can come in between. */
    uint32_t reseed = 0;
    if (h->count == 1) {
        unsigned s;
        if (find_kc(h, key, hash, &s, kc)) {
            reseed = (uint32_t)pm_rand(h->base.rt, PM_RAND_HASH0);
            if (pm_op_draws.failed)
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
                slot_clear_key(t, k);
            slot_clear_elem(t, bmap_elem(t, b, i));
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

int mapdelete(pm_hmap *h, const unsigned char *key, int *deleted)
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

static int classic_remove(pm_map *m, const unsigned char *key, int *deleted)
{
    pm_hmap *h = HMAP(m);
    if (!m->rt->randfn)
        return mapdelete(h, key, deleted);
    struct delete_args a = {key, 0};
    int rc = run_atomic(h, delete_op, &a, may_draw_midop(h, h_growing(h)));
    *deleted = a.deleted;
    return rc;
}


/* ---- clear ---- */

static void markBucketsEmpty(pm_hmap *h, gobj *arr, uint64_t n)
{
    const pm_maptype *t = h->base.t;
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
    uint32_t hash0 = (uint32_t)pm_rand(h->base.rt, PM_RAND_HASH0);
    if (pm_op_draws.failed)
        return PM_ERAND;
    /* Go 1.21-1.23 mark every tophash emptyRest to stop live iterators
     * (golang/go#59411).  Only an iterator can see the marks: the old array
     * is marked when one still holds it, the current one as it is zeroed. */
    bool mark = h->base.rt->ver->classic.clear_marks_empty;
    if (mark && h->oldbuckets && (h->oldbuckets->refcnt > 1 || h->oldbuckets->impl_flag))
        markBucketsEmpty(h, h->oldbuckets, h_noldbuckets(h));
    h->flags &= (uint8_t)~sameSizeGrow;
    gobj *old = h->oldbuckets;
    h->oldbuckets = NULL;
    h->nevacuate = 0;
    h->noverflow = 0;
    h->count = 0;
    if (h->base.rt->ver->classic.clear_seq)
        h->clearSeq++;
    h->hash0 = hash0;
    if (h->extra) {
        ovrec_release(h->base.rt, h->overflow.rec);
        ovrec_release(h->base.rt, h->oldoverflow.rec);
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
    const pm_maptype *t = h->base.t;
    pm_iter it = {0};   /* no kbuf: an internal iterator, read under the lock */
    pm_iterstart drawn = {0};
    int rc = pm_iter_init_internal(&h->base, &drawn, &it);
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
    if (h->base.rt->ver->clear_builtin || (h->base.t->flags & TF_REFLEXIVEKEY))
        return mapclear(h);
    return clear_idiom_loop(h);
}

static int classic_clear(pm_map *m)
{
    pm_hmap *h = HMAP(m);
    /* The range-delete loop of 1.19/1.20 deletes key by key: NaN deletes draw
     * after earlier deletes changed the map. */
    bool loop = !m->rt->ver->clear_builtin && !(m->t->flags & TF_REFLEXIVEKEY);
    return run_atomic(h, clear_op, NULL, loop && h->count > 0);
}

int pm_set_hash0(pm_map *m, uint32_t hash0)
{
    if (m->ops != &classic_map_ops) {
        set_error("hash0 belongs to the classic map; a Swiss map has a 64-bit seed");
        return PM_EIMPL;
    }
    pm_hmap *h = HMAP(m);
    int rc = pm_lock_write(m);
    if (rc != PM_OK)
        return rc;
    if (h->count != 0) {
        pm_unlock_write(m);
        set_error("hash0 can only be set while the map is empty");
        return PM_EARG;
    }
    h->hash0 = hash0;
    pm_unlock_write(m);
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
        out->next_overflow = (int64_t)((uint64_t)(h->nextOverflow - h->buckets->data) / h->base.t->bucketsize);
    out->overflow_len = h->overflow.present ? h->overflow.len : -1;
    out->overflow_cap = h->overflow.present ? h->overflow.cap : -1;
    out->oldoverflow_len = h->oldoverflow.present ? h->oldoverflow.len : -1;
    out->oldoverflow_cap = h->oldoverflow.present ? h->oldoverflow.cap : -1;
    out->nbuckets_alloc = h->buckets ? h->buckets->nelems : 0;
}

/* What Go's GC finds from one bucket array: every bucket of the allocation
 * (main and preallocated) is scanned, separately allocated overflow buckets
 * are followed from any of them (for pointer-free buckets the GC reaches
 * the same buckets through extra.overflow instead), and boxes are counted
 * from every non-nil pointer slot.  Marks count shared objects once. */
static void walk_array(const pm_hmap *h, gobj *arr, uint8_t epoch, uint32_t pepoch,
                       uint64_t *overflow, uint64_t *indirect, uint64_t *pointees)
{
    const pm_maptype *t = h->base.t;
    bool ik = t->flags & TF_INDIRECTKEY, ie = t->flags & TF_INDIRECTELEM;
    bool pe = t->elem_kind == PM_KIND_PTRBYTES;
    for (uint64_t i = 0; i < arr->nelems; i++) {
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



void map_memory(pm_map *m, pm_memory *out)
{
    pm_hmap *h = HMAP(m);
    const goversion *v = h->base.rt->ver;
    memset(out, 0, sizeof *out);
    out->hmap = h->hmap_charged;
    out->extra = h->extra ? go_charged(v, mapextraSize, false) : 0;
    out->buckets = h->buckets ? h->buckets->charged : 0;
    out->oldbuckets = h->oldbuckets ? h->oldbuckets->charged : 0;
    const ovslice *s[2] = {&h->overflow, &h->oldoverflow};
    for (int i = 0; i < 2; i++)
        if (s[i]->present)
            out->overflow_slice += go_charged(v, sliceHeaderSize, false) + s[i]->backing_charged;
    /* Walk both arrays for separately allocated overflow buckets and boxes;
     * marks keep shared boxes (old and new slot during a grow) counted once. */
    uint8_t epoch;
    uint32_t pepoch;
    map_walk_epochs(m, &epoch, &pepoch);
    if (h->buckets)
        walk_array(h, h->buckets, epoch, pepoch, &out->overflow, &out->indirect, &out->pointees);
    if (h->oldbuckets)
        walk_array(h, h->oldbuckets, epoch, pepoch, &out->overflow, &out->indirect, &out->pointees);
    out->total = out->hmap + out->extra + out->buckets + out->oldbuckets + out->overflow +
                 out->overflow_slice + out->indirect + out->pointees;
    out->allocated = h->base.allocated;
}

static gobj *array_of(const pm_hmap *h, int old)
{
    return old ? h->oldbuckets : h->buckets;
}

static uint64_t array_nchains(const pm_hmap *h, int old)
{
    return old ? h_noldbuckets(h) : bucketShift(h->B);
}

int64_t pm_chain_len(const pm_map *m, int old, uint64_t index)
{
    if (m->ops != &classic_map_ops)
        return -1;
    const pm_hmap *h = HMAP(m);
    gobj *arr = array_of(h, old);
    if (!arr || index >= array_nchains(h, old))
        return -1;
    int64_t n = 0;
    for (unsigned char *b = bucket_at(arr, h->base.t, index); b; b = bmap_overflow(h->base.t, b))
        n++;
    return n;
}

const uint8_t *pm_chain_bucket(const pm_map *m, int old, uint64_t index, int64_t pos,
                               int *origin, int64_t *array_index)
{
    if (m->ops != &classic_map_ops)
        return NULL;
    const pm_hmap *h = HMAP(m);
    gobj *arr = array_of(h, old);
    if (!arr || index >= array_nchains(h, old))
        return NULL;
    unsigned char *b = bucket_at(arr, h->base.t, index);
    for (int64_t i = 0; i < pos && b; i++)
        b = bmap_overflow(h->base.t, b);
    if (!b)
        return NULL;
    if (pm_bucket_in_array(h, arr, b)) {
        *array_index = (int64_t)((uint64_t)(b - arr->data) / h->base.t->bucketsize);
        *origin = (uint64_t)*array_index < array_nchains(h, old) ? PM_ORIGIN_ARRAY : PM_ORIGIN_PREALLOC;
    } else {
        *array_index = -1;
        *origin = PM_ORIGIN_HEAP;
    }
    return b;
}



void pm_create_overflow(pm_hmap *h) { createOverflow(h); }

int pm_map_header(pm_map *m, pm_header *out)
{
    if (m->ops != &classic_map_ops) {
        set_error("the hmap header belongs to the classic map");
        return PM_EIMPL;
    }
    int how = pm_map_read_lock(m);
    if (how < 0)
        return how;
    map_header(HMAP(m), out);
    pm_map_read_unlock(m, how);
    return PM_OK;
}

/* A scenario step's view of the map. */
static void classic_snapshot(const pm_map *m, pm_snapshot *s)
{
    const pm_hmap *h = HMAP(m);
    s->B = h->B;
    s->noverflow = h->noverflow;
    s->growing = h_growing(h);
    s->same_size_grow = !!(h->flags & sameSizeGrow);
    s->count = h->count;
    s->nevacuate = h->nevacuate;
}

/* ---- maps.Clone (runtime.mapclone2, Go 1.21+) ----
 *
 * The clone is made with hint = len (capped at what src's B holds) -- a
 * hash0 draw -- and then takes src's hash0, so every key keeps its hash
 * and bucket bits.  Entries are copied bucket by bucket, src bucket i + j*n
 * into dst bucket i (n = dst's bucket count), packed from slot 0 with their
 * tophash; overflow buckets come from dst's preallocation first.  Indirect
 * elems get new boxes; indirect keys are shared unless the key type needs
 * key updates.  Old buckets not yet evacuated are copied the same way when
 * dst has no more bucket bits than they do, else assigned key by key.  A
 * single-bucket src without indirect elems is copied with one memmove. */

/* moveToBmap: src's live slots into dst from slot pos on; returns the
 * bucket and slot where the next entry goes. */
static unsigned char *move_to_bmap(pm_hmap *h, unsigned char *dst, unsigned *pos, unsigned char *src, int *rc)
{
    const pm_maptype *t = h->base.t;
    for (unsigned i = 0; i < bucketCnt; i++) {
        if (isEmpty(src[i]))
            continue;
        while (*pos < bucketCnt && !isEmpty(dst[*pos]))
            (*pos)++;
        if (*pos == bucketCnt) {
            if (!(dst = newoverflow(h, dst))) {
                *rc = PM_ENOMEM;
                return NULL;
            }
            *pos = 0;
        }
        unsigned char *dk = bmap_key(t, dst, *pos), *de = bmap_elem(t, dst, *pos);
        unsigned char *sk = bmap_key(t, src, i), *se = bmap_elem(t, src, i);
        dst[*pos] = src[i];
        memcpy(dk, sk, t->keyslot);
        memcpy(de, se, t->elemslot);
        /* The copies share string data, pointees and (keys) boxes ... */
        slot_retain(t, dk, de);
        /* ... except the boxes Go allocates anew: every indirect elem, and
         * indirect keys of types that need key updates. */
        bool newkey = (t->flags & TF_INDIRECTKEY) && (t->flags & TF_NEEDKEYUPDATE);
        for (int w = 0; w < 2; w++) {
            unsigned char *slot = w ? de : dk;
            if (!(w ? (t->flags & TF_INDIRECTELEM) : newkey))
                continue;
            unsigned char *old = deref(slot);
            gobj *b = gc_alloc(&h->base, OBJ_BOX, w ? t->elemsize : t->keysize, true);
            gc_decref(GOBJ_OF(old));     /* the shared reference slot_retain took */
            if (!b) {
                memset(slot, 0, 8);
                *rc = PM_ENOMEM;
                return NULL;
            }
            memcpy(b->data, old, w ? t->elemsize : t->keysize);
            memcpy(slot, &(unsigned char *){b->data}, 8);
        }
        (*pos)++;
        h->count++;
    }
    return dst;
}

static int clone_chain(pm_hmap *dst, unsigned char *db, unsigned char *sb)
{
    const pm_maptype *t = dst->base.t;
    unsigned pos = 0;
    int rc = PM_OK;
    for (; sb && rc == PM_OK; sb = bmap_overflow(t, sb))
        db = move_to_bmap(dst, db, &pos, sb, &rc);
    return rc;
}

static int clone_into(pm_hmap *src, pm_hmap *dst)
{
    const pm_maptype *t = src->base.t;
    int rc = PM_OK;
    if (src->B == 0 && !((t->flags & TF_INDIRECTKEY) && (t->flags & TF_NEEDKEYUPDATE)) &&
        !(t->flags & TF_INDIRECTELEM)) {
        gobj *b = gc_alloc(&dst->base, OBJ_BUCKETS, t->bucketsize, !t->bucket_ptrs);   /* newobject(t.Bucket) */
        if (!b)
            return PM_ENOMEM;
        b->nelems = 1;
        memcpy(b->data, src->buckets->data, t->bucketsize - 8);   /* B = 0 has no overflow */
        for (unsigned i = 0; i < bucketCnt; i++)
            slot_retain(t, bmap_key(t, b->data, i), bmap_elem(t, b->data, i));
        gc_decref(dst->buckets);
        dst->buckets = b;
        dst->count = src->count;
        return PM_OK;
    }
    if (!dst->buckets) {
        gobj *b = gc_alloc(&dst->base, OBJ_BUCKETS, t->bucketsize, !t->bucket_ptrs);
        if (!b)
            return PM_ENOMEM;
        b->nelems = 1;
        dst->buckets = b;
    }
    uint64_t nd = bucketShift(dst->B), ns = bucketShift(src->B);
    for (uint64_t i = 0; i < nd && rc == PM_OK; i++) {
        unsigned char *db = bucket_at(dst->buckets, t, i);
        unsigned pos = 0;
        for (uint64_t j = 0; j < ns && rc == PM_OK; j += nd)
            for (unsigned char *sb = bucket_at(src->buckets, t, i + j); sb && rc == PM_OK; sb = bmap_overflow(t, sb))
                db = move_to_bmap(dst, db, &pos, sb, &rc);
    }
    if (rc != PM_OK || !src->oldbuckets)
        return rc;
    uint8_t oldB = (src->flags & sameSizeGrow) ? src->B : (uint8_t)(src->B - 1);
    for (uint64_t i = 0; i < bucketShift(oldB) && rc == PM_OK; i++) {
        unsigned char *sb = bucket_at(src->oldbuckets, t, i);
        if (evacuated(sb))
            continue;
        if (oldB >= dst->B) {
            unsigned char *db = bucket_at(dst->buckets, t, i & bucketMask(dst->B));
            while (bmap_overflow(t, db))
                db = bmap_overflow(t, db);
            rc = clone_chain(dst, db, sb);
            continue;
        }
        for (; sb && rc == PM_OK; sb = bmap_overflow(t, sb)) {
            for (unsigned s = 0; s < bucketCnt && rc == PM_OK; s++) {
                if (isEmpty(sb[s]))
                    continue;
                const unsigned char *k = slot_key(t, bmap_key(t, sb, s));
                const uint8_t *e = slot_elem(t, bmap_elem(t, sb, s));
                size_t elen = t->elemsize;
                if (t->elem_kind == PM_KIND_STRING) {
                    uint64_t len;
                    e = pm_string_data(e, &len);
                    elen = len;
                }
                pm_op_draws.elem = slot_elem(t, bmap_elem(t, sb, s));
                rc = mapassign(dst, k, e, elen);
                pm_op_draws.elem = NULL;
            }
        }
    }
    return rc;
}

static int classic_clone(pm_map *m, pm_map **out)
{
    pm_hmap *src = HMAP(m);
    const goversion *v = m->rt->ver;
    if (!v->maps_clone) {
        set_error("maps.Clone does not exist before Go 1.21");
        return PM_EIMPL;
    }
    int64_t hint = src->count;
    if (overLoadFactor(v, hint, src->B))
        hint = (int64_t)v->classic.loadFactorNum * (int64_t)(bucketShift(src->B) / loadFactorDen);
    pm_map *dm;
    int rc = classic_make(m->rt, m->t, hint, &dm);
    if (rc != PM_OK)
        return rc;
    pm_hmap *dst = HMAP(dm);
    dst->hash0 = src->hash0;
    dst->nevacuate = 0;
    if (src->count != 0 && (rc = clone_into(src, dst)) != PM_OK) {
        if (rc == PM_ENOMEM)
            set_error("out of memory");
        pm_map_release(dm);
        return rc;
    }
    *out = dm;
    return PM_OK;
}

/* Releasing a bucket array or an overflow bucket drops what its slots and
 * overflow words reference. */
static void release_buckets(gobj *o)
{
    const pm_maptype *t = o->owner->t;
    for (uint64_t i = 0; array_needs_release(t, o) && i < o->nelems; i++)
        bucket_release(t, bucket_at(o, t, i), o);
}

static void release_overflow(gobj *o)
{
    bucket_release(o->owner->t, o->data, NULL);
}

void classic_register(void)
{
    gc_register_release(OBJ_BUCKETS, release_buckets);
    gc_register_release(OBJ_OVERFLOW, release_overflow);
}

const map_ops classic_map_ops = {
    .impl = MAP_CLASSIC,
    .make = classic_make,
    .destroy = classic_destroy,
    .len = classic_len,
    .assign = classic_assign,
    .remove = classic_remove,
    .clear = classic_clear,
    .clone = classic_clone,
    .access = classic_access,
    .prefetch = classic_prefetch,
    .check = map_check,
    .memory = map_memory,
    .snapshot = classic_snapshot,
    .iter_init = classic_iter_init,
    .iter_next = classic_iter_next,
    .iter_release = classic_iter_release,
    .iter_start = classic_iter_start,
};
