/*
 * check.c -- the consistency checker, in the spirit of Go's old hashmap.c
 * check(): walk every bucket and verify what the rest of the core assumes.
 *
 *   1. count equals the live slots reachable by lookups (the current array,
 *      plus old chains not yet evacuated);
 *   2. every live reflexive key sits in the chain hash & mask of its array
 *      with tophash(hash) (NaN keys carry a drawn tophash and are exempt);
 *   3. no reflexive key appears twice among the reachable live slots;
 *   4. chains are [live | emptyOne]* then emptyRest*, and the last slot
 *      that is not emptyRest is not emptyOne (TestMapTombstones);
 *   5. every old bucket below nevacuate is evacuated, nevacuate is within
 *      the old array, and oldbuckets exists only while growing;
 *   6. overflow accounting: below B = 16, noverflow equals the overflow
 *      buckets of the current chains; for pointer-free buckets the
 *      overflow slices hold exactly the chains' overflow buckets;
 *   7. nextOverflow points at an unused preallocated bucket of the current
 *      array, and a separately allocated overflow bucket never links back
 *      into an array.
 *
 * A debug build (PYMAP_DEBUG) runs it after every mutation, together with
 * the heap's own checker (pm_heap_check in heap.c: span slot counts against
 * HeapAlloc, HeapInuse, HeapObjects and the dead/floating bytes).  The
 * check hashes keys, so it must never draw: NaN keys are recognised first.
 */
#include <stdlib.h>
#include "pymap.h"

typedef struct chk {
    const pm_hmap *h;
    const pm_maptype *t;
    int64_t live;
    uint64_t novf;          /* overflow buckets in the current chains */
    uint64_t novf_old;
} chk;

#define FAIL(...) do { set_error(__VA_ARGS__); return PM_EINVARIANT; } while (0)

static int check_chain(chk *c, gobj *arr, uint64_t nchains, uint64_t index, bool old)
{
    const pm_hmap *h = c->h;
    const pm_maptype *t = c->t;
    unsigned char *head = bucket_at(arr, t, index);
    bool evac = old && evacuated(head);
    bool seen_rest = false, pending_one = false;
    uint64_t nb = 0;
    for (unsigned char *b = head; b; b = bmap_overflow(t, b)) {
        if (++nb > (1u << 26))
            FAIL("chain %llu does not end", (unsigned long long)index);
        if (b != head) {
            if (old)
                c->novf_old++;
            else
                c->novf++;
            if (!pm_bucket_in_array(h, arr, b)) {
                unsigned char *o = bmap_overflow(t, b);
                if (o && (pm_bucket_in_array(h, h->buckets, o) || pm_bucket_in_array(h, h->oldbuckets, o)))
                    FAIL("heap overflow bucket links into an array");
            }
        }
        for (unsigned i = 0; i < bucketCnt; i++) {
            uint8_t top = b[i];
            if (evac) {
                if (top < evacuatedX || top > evacuatedEmpty)
                    FAIL("old bucket %llu slot %u: %u in an evacuated chain",
                         (unsigned long long)index, i, top);
                continue;
            }
            if (top > emptyOne && top < minTopHash)
                FAIL("%s bucket %llu slot %u: evacuation mark %u in a live chain",
                     old ? "old" : "new", (unsigned long long)index, i, top);
            if (top == emptyRest) {
                seen_rest = true;
                continue;
            }
            if (seen_rest)
                FAIL("%s chain %llu: slot after emptyRest is %u", old ? "old" : "new",
                     (unsigned long long)index, top);
            pending_one = top == emptyOne;
            if (top == emptyOne)
                continue;
            c->live++;
            unsigned char *k = bmap_key(t, b, i);
            if (t->flags & TF_INDIRECTKEY) {
                k = deref(k);
                if (!k)
                    FAIL("live slot with nil indirect key");
            }
            if (!image_valid(t->key_kind, k))
                FAIL("chain %llu slot %u: the key is not a valid value", (unsigned long long)index, i);
            const unsigned char *e = slot_elem(t, bmap_elem(t, b, i));
            if (e && !image_valid(t->elem_kind, e))
                FAIL("chain %llu slot %u: the elem is not a valid value", (unsigned long long)index, i);
            if (key_is_nan(t, k))
                continue;
            uint64_t hash = pm_typehash(h->base.rt, t, k, h->hash0);
            if ((hash & (nchains - 1)) != index)
                FAIL("%s chain %llu holds a key of chain %llu", old ? "old" : "new",
                     (unsigned long long)index, (unsigned long long)(hash & (nchains - 1)));
            if (tophash(hash) != top)
                FAIL("tophash %u != %u", top, tophash(hash));
            /* duplicates: compare with later live slots of the same chain */
            bool started = false;
            for (unsigned char *b2 = b; b2; b2 = bmap_overflow(t, b2)) {
                for (unsigned j = 0; j < bucketCnt; j++) {
                    if (b2 == b && j <= i && !started)
                        continue;
                    started = true;
                    if (b2[j] != top)
                        continue;
                    unsigned char *k2 = bmap_key(t, b2, j);
                    if (t->flags & TF_INDIRECTKEY)
                        k2 = deref(k2);
                    if (k2 && key_equal(t, k, k2))
                        FAIL("duplicate key in chain %llu", (unsigned long long)index);
                }
            }
        }
    }
    if (pending_one)
        FAIL("%s chain %llu ends in emptyOne instead of emptyRest", old ? "old" : "new",
             (unsigned long long)index);
    return PM_OK;
}

int map_check(const pm_map *m)
{
    const pm_hmap *h = HMAP(m);
    chk c = {h, h->base.t, 0, 0, 0};
    const pm_maptype *t = h->base.t;
    int rc;
    if (!h->buckets) {
        if (h->count != 0 || h->B != 0)
            FAIL("no buckets but count %lld, B %u", (long long)h->count, h->B);
        return PM_OK;
    }
    uint64_t n = bucketShift(h->B);
    if (h->buckets->nelems < n)
        FAIL("bucket array holds %llu buckets, B needs %llu",
             (unsigned long long)h->buckets->nelems, (unsigned long long)n);
    for (uint64_t i = 0; i < n; i++)
        if ((rc = check_chain(&c, h->buckets, n, i, false)) != PM_OK)
            return rc;
    if (h->oldbuckets) {
        uint64_t on = h_noldbuckets(h);
        if (h->nevacuate > on)
            FAIL("nevacuate %llu beyond %llu old buckets", (unsigned long long)h->nevacuate,
                 (unsigned long long)on);
        for (uint64_t i = 0; i < on; i++) {
            if (i < h->nevacuate && !evacuated(bucket_at(h->oldbuckets, t, i)))
                FAIL("old bucket %llu below nevacuate is not evacuated", (unsigned long long)i);
            if ((rc = check_chain(&c, h->oldbuckets, on, i, true)) != PM_OK)
                return rc;
        }
    } else if (h->flags & sameSizeGrow) {
        FAIL("sameSizeGrow set while not growing");
    }
    if (c.live != h->count)
        FAIL("count %lld but %lld live slots", (long long)h->count, (long long)c.live);
    if (h->B < 16 && c.novf % 65536 != h->noverflow)
        FAIL("noverflow %u but %llu overflow buckets", h->noverflow, (unsigned long long)c.novf);
    if (!t->bucket_ptrs) {
        int64_t ol = h->overflow.present ? h->overflow.len : 0;
        int64_t oo = h->oldoverflow.present ? h->oldoverflow.len : 0;
        if ((uint64_t)ol != c.novf)
            FAIL("overflow slice has %lld buckets, chains %llu", (long long)ol, (unsigned long long)c.novf);
        if (h->oldbuckets && (uint64_t)oo != c.novf_old)
            FAIL("oldoverflow slice has %lld buckets, chains %llu", (long long)oo,
                 (unsigned long long)c.novf_old);
    }
    if (h->nextOverflow) {
        if (!h->extra)
            FAIL("nextOverflow without extra");
        if (!pm_bucket_in_array(h, h->buckets, h->nextOverflow) ||
            (uint64_t)(h->nextOverflow - h->buckets->data) / t->bucketsize < n)
            FAIL("nextOverflow outside the preallocated buckets");
        for (unsigned char *b = h->nextOverflow; b < h->buckets->data + h->buckets->nelems * t->bucketsize;
             b += t->bucketsize)
            for (unsigned i = 0; i < bucketCnt; i++)
                if (b[i] != emptyRest)
                    FAIL("unused preallocated bucket is in use");
    }
    return PM_OK;
}
