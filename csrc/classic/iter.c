/*
 * iter.c -- map iteration: mapiterinit and mapiternext.
 *
 * An iterator walks the bucket array it snapshotted at init, starting at a
 * random bucket and a random slot offset: bucket startBucket, startBucket+1,
 * ... with wrap-around; within every bucket of a chain, slots
 * (i + offset) & 7.  The map may change underneath it (same-thread writes
 * during a range loop are legal Go):
 *
 *   - if the map is growing and the iterator started on the new array, an
 *     old bucket that is not yet evacuated is read instead, keeping only the
 *     entries that will land in the new bucket being visited (checkBucket);
 *   - an entry in a slot marked evacuatedX/Y has moved: its key is looked
 *     up in the live table (mapaccessK) to get the current elem, or skipped
 *     if deleted since -- NaN keys can't be looked up and are returned from
 *     the old slot;
 *   - Go 1.21-1.23's mapclear marks every tophash emptyRest so iterators see
 *     nothing more (#59411); 1.24-noswiss instead bumps clearSeq, and an
 *     iterator that sees a changed clearSeq looks every key up (#70189).
 *
 * The model holds references where Go relies on its GC: the snapshot array
 * and the object containing the current bucket (an old array, or an
 * overflow bucket the map may since have dropped) stay allocated while the
 * iterator lives.  mapiterinit of a pointer-free map allocates mapextra and
 * the overflow slice header (createOverflow), because the real iterator
 * keeps those slices alive for the GC.
 */
#include "pymap.h"


/* The object that keeps bucket b alive: arr if b lies in it, else b's own. */
static gobj *holder_of(const pm_hmap *h, gobj *arr, unsigned char *b)
{
    return pm_bucket_in_array(h, arr, b) ? arr : GOBJ_OF(b);
}

static void set_holder(pm_iter *it, gobj *o)
{
    if (it->c.bobj == o)
        return;
    gc_incref(o);
    gc_decref(it->c.bobj);
    it->c.bobj = o;
}

/* mapiterinit: the iterator is positioned before its first entry (the
 * generic layer then calls mapiternext).  start: (startBucket, offset). */
int classic_iter_init(pm_map *m, const pm_iterstart *start, pm_iter *it)
{
    pm_hmap *h = HMAP(m);
    if (h->count == 0)
        return PM_OK;   /* no draw, no flags, no allocation */
    if (start->given && (start->a >= bucketShift(h->B) || start->b >= bucketCnt)) {
        set_error("start_bucket must be in [0, %llu) and offset in [0, 8)",
                  (unsigned long long)bucketShift(h->B));
        return PM_EARG;
    }
    if (!start->given) {
        /* The draw comes first here (Go draws after createOverflow; nothing
         * observes the difference) so a failing rand changes nothing.
         * 1.19-1.21: fastrand64() only when B > 31 - bucketCntBits. */
        uint64_t r = pm_rand(h->base.rt, PM_RAND_ITER);
        if (pm_op_draws.failed)
            return PM_ERAND;
        if (!h->base.rt->ver->rand64 && h->B <= 31 - bucketCntBits)
            r = (uint32_t)r;
        it->c.startBucket = r & bucketMask(h->B);
        it->c.offset = (uint8_t)((r >> h->B) & (bucketCnt - 1));
    } else {
        it->c.startBucket = start->a;
        it->c.offset = (uint8_t)start->b;
    }
    it->done = false;
    it->m = m;
    pm_map_retain(m);
    it->c.clearSeq = h->clearSeq;
    it->c.B = h->B;
    it->c.buckets = h->buckets;
    gc_incref(it->c.buckets);
    if (!h->base.t->bucket_ptrs) {
        pm_create_overflow(h);
        /* it.overflow / it.oldoverflow keep the slices alive for the GC. */
        ovrec *r[2] = {h->overflow.rec, h->oldoverflow.rec};
        for (int i = 0; i < 2; i++) {
            if (r[i])
                __atomic_fetch_add(&r[i]->refcnt, 1, __ATOMIC_RELAXED);
            it->c.ovf[i] = r[i];
        }
    }
    it->c.bucket = it->c.startBucket;
    h->flags |= iteratorFlag | oldIterator;
    return PM_OK;
}

void classic_iter_release(pm_iter *it)
{
    gc_decref(it->c.bobj);
    gc_decref(it->c.buckets);
    ovrec_release(it->m->rt, it->c.ovf[0]);
    ovrec_release(it->m->rt, it->c.ovf[1]);
    it->c.ovf[0] = it->c.ovf[1] = NULL;
    it->c.bobj = it->c.buckets = NULL;
}

/* mapiternext: the next entry into it->key/elem, or NULL and done. */
int classic_iter_next(pm_iter *it)
{
    pm_hmap *h = HMAP(it->m);
    const pm_maptype *t = h->base.t;
    bool reflexive = t->flags & TF_REFLEXIVEKEY;
    uint64_t bucket = it->c.bucket;
    unsigned char *b = it->c.bptr;
    gobj *holder = it->c.bobj;
    unsigned i = it->c.i;
    uint64_t checkBucket = it->c.checkBucket;

    for (;;) {
        if (!b) {
            if (bucket == it->c.startBucket && it->c.wrapped) {
                it->key = it->elem = NULL;
                it->done = true;
                return PM_OK;
            }
            if (h_growing(h) && it->c.B == h->B) {
                /* Iterator started mid-grow: read the old bucket if it has
                 * not been evacuated yet. */
                uint64_t oldbucket = bucket & (h_noldbuckets(h) - 1);
                b = bucket_at(h->oldbuckets, t, oldbucket);
                holder = h->oldbuckets;
                if (!evacuated(b)) {
                    checkBucket = bucket;
                } else {
                    b = bucket_at(it->c.buckets, t, bucket);
                    holder = it->c.buckets;
                    checkBucket = noCheck;
                }
            } else {
                b = bucket_at(it->c.buckets, t, bucket);
                holder = it->c.buckets;
                checkBucket = noCheck;
            }
            bucket++;
            if (bucket == bucketShift(it->c.B)) {
                bucket = 0;
                it->c.wrapped = 1;
            }
            i = 0;
        }
        for (; i < bucketCnt; i++) {
            unsigned offi = (i + it->c.offset) & (bucketCnt - 1);
            uint8_t top = b[offi];
            if (isEmpty(top) || top == evacuatedEmpty)
                continue;
            unsigned char *k = bmap_key(t, b, offi);
            if (t->flags & TF_INDIRECTKEY)
                k = deref(k);
            unsigned char *e = bmap_elem(t, b, offi);
            bool kk = reflexive || !key_is_nan(t, k);
            if (checkBucket != noCheck && !(h->flags & sameSizeGrow)) {
                /* Old bucket mid-grow: only entries bound for checkBucket. */
                if (kk) {
                    uint64_t hash = pm_typehash(h->base.rt, t, k, h->hash0);
                    if ((hash & bucketMask(it->c.B)) != checkBucket)
                        continue;
                } else if ((checkBucket >> (it->c.B - 1)) != (uint64_t)(top & 1)) {
                    continue;
                }
            }
            if (it->c.clearSeq == h->clearSeq &&
                ((top != evacuatedX && top != evacuatedY) || !kk)) {
                it->key = k;
                it->elem = (t->flags & TF_INDIRECTELEM) ? deref(e) : e;
            } else {
                /* The entry moved (or the map was cleared): use the live one. */
                unsigned char *rk, *re;
                if (!mapaccessK(h, k, &rk, &re))
                    continue;   /* deleted since */
                it->key = rk;
                it->elem = re;
            }
            it->c.bucket = bucket;
            it->c.bptr = b;
            set_holder(it, holder);
            it->c.i = (uint8_t)(i + 1);
            it->c.checkBucket = checkBucket;
            return PM_OK;
        }
        unsigned char *next = bmap_overflow(t, b);
        if (next)
            holder = holder_of(h, holder, next);
        b = next;
        i = 0;
    }
}

void classic_iter_start(const pm_iter *it, uint64_t *a, uint64_t *b)
{
    *a = it->c.startBucket;
    *b = it->c.offset;
}
