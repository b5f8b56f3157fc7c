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
    if (it->bobj == o)
        return;
    gc_incref(o);
    gc_decref(it->bobj);
    it->bobj = o;
}

/* The images an API iterator keeps of its current entry.  Another thread
 * may write the map between two calls on the iterator (a clear frees the
 * boxes of indirect keys, a grow moves entries); Go's compiled range loop
 * copies *it.key and *it.elem right after mapiternext, and so does this. */
static void capture_release(pm_iter *it, const pm_maptype *t)
{
    if (!it->captured)
        return;
    if (t->key_kind == PM_KIND_STRING)
        pm_string_release(deref(it->kbuf));
    if (t->elem_ref)
        pm_string_release(deref(it->ebuf));
    it->captured = false;
}

static void capture(pm_iter *it, const pm_maptype *t)
{
    if (!it->kbuf)
        return;     /* an internal iterator: used under the lock only */
    capture_release(it, t);
    image_copy_out(t->key_kind, t->keysize, it->key, it->kbuf);
    image_copy_out(t->elem_kind, t->elemsize, it->elem, it->ebuf);
    it->captured = true;
}

int pm_iter_init_internal(pm_hmap *h, int64_t start_bucket, int offset, pm_iter *it)
{
    uint8_t *kbuf = it->kbuf, *ebuf = it->ebuf;
    memset(it, 0, sizeof *it);
    it->kbuf = kbuf;
    it->ebuf = ebuf;
    it->done = true;
    if (h->count == 0)
        return PM_OK;   /* no draw, no flags, no allocation */
    if (start_bucket >= 0 &&
        ((uint64_t)start_bucket >= bucketShift(h->B) || offset < 0 || offset >= bucketCnt)) {
        set_error("start_bucket must be in [0, %llu) and offset in [0, 8)",
                  (unsigned long long)bucketShift(h->B));
        return PM_EARG;
    }
    if (start_bucket < 0) {
        /* The draw comes first here (Go draws after createOverflow; nothing
         * observes the difference) so a failing rand changes nothing.
         * 1.19-1.21: fastrand64() only when B > 31 - bucketCntBits. */
        uint64_t r = pm_rand(h->rt, PM_RAND_ITER);
        if (h->rt->rand_failed)
            return PM_ERAND;
        if (!h->rt->ver->rand64 && h->B <= 31 - bucketCntBits)
            r = (uint32_t)r;
        it->startBucket = r & bucketMask(h->B);
        it->offset = (uint8_t)((r >> h->B) & (bucketCnt - 1));
    } else {
        it->startBucket = (uint64_t)start_bucket;
        it->offset = (uint8_t)offset;
    }
    it->done = false;
    it->h = h;
    pm_map_retain(h);
    it->clearSeq = h->clearSeq;
    it->B = h->B;
    it->buckets = h->buckets;
    gc_incref(it->buckets);
    if (!h->t->bucket_ptrs) {
        pm_create_overflow(h);
        /* it.overflow / it.oldoverflow keep the slices alive for the GC. */
        ovrec *r[2] = {h->overflow.rec, h->oldoverflow.rec};
        for (int i = 0; i < 2; i++) {
            if (r[i])
                __atomic_fetch_add(&r[i]->refcnt, 1, __ATOMIC_RELAXED);
            it->ovf[i] = r[i];
        }
    }
    it->bucket = it->startBucket;
    h->flags |= iteratorFlag | oldIterator;
    return pm_iter_next_internal(it);
}

void pm_iter_release_internal(pm_iter *it)
{
    if (!it->h)
        return;
    capture_release(it, it->h->t);
    gc_decref(it->bobj);
    gc_decref(it->buckets);
    ovrec_release(it->h->rt, it->ovf[0]);
    ovrec_release(it->h->rt, it->ovf[1]);
    it->ovf[0] = it->ovf[1] = NULL;
    pm_map_release(it->h);
    it->bobj = it->buckets = NULL;
    it->h = NULL;
    it->key = it->elem = NULL;
    it->done = true;
}

int pm_iter_next_internal(pm_iter *it)
{
    pm_hmap *h = it->h;
    if (!h || it->done)
        return PM_OK;
    const pm_maptype *t = h->t;
    bool reflexive = t->flags & TF_REFLEXIVEKEY;
    uint64_t bucket = it->bucket;
    unsigned char *b = it->bptr;
    gobj *holder = it->bobj;
    unsigned i = it->i;
    uint64_t checkBucket = it->checkBucket;

    for (;;) {
        if (!b) {
            if (bucket == it->startBucket && it->wrapped) {
                it->key = it->elem = NULL;
                it->done = true;
                capture_release(it, t);
                return PM_OK;
            }
            if (h_growing(h) && it->B == h->B) {
                /* Iterator started mid-grow: read the old bucket if it has
                 * not been evacuated yet. */
                uint64_t oldbucket = bucket & (h_noldbuckets(h) - 1);
                b = bucket_at(h->oldbuckets, t, oldbucket);
                holder = h->oldbuckets;
                if (!evacuated(b)) {
                    checkBucket = bucket;
                } else {
                    b = bucket_at(it->buckets, t, bucket);
                    holder = it->buckets;
                    checkBucket = noCheck;
                }
            } else {
                b = bucket_at(it->buckets, t, bucket);
                holder = it->buckets;
                checkBucket = noCheck;
            }
            bucket++;
            if (bucket == bucketShift(it->B)) {
                bucket = 0;
                it->wrapped = 1;
            }
            i = 0;
        }
        for (; i < bucketCnt; i++) {
            unsigned offi = (i + it->offset) & (bucketCnt - 1);
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
                    uint64_t hash = pm_typehash(h->rt, t, k, h->hash0);
                    if ((hash & bucketMask(it->B)) != checkBucket)
                        continue;
                } else if ((checkBucket >> (it->B - 1)) != (uint64_t)(top & 1)) {
                    continue;
                }
            }
            if (it->clearSeq == h->clearSeq &&
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
            capture(it, t);
            it->bucket = bucket;
            it->bptr = b;
            set_holder(it, holder);
            it->i = (uint8_t)(i + 1);
            it->checkBucket = checkBucket;
            return PM_OK;
        }
        unsigned char *next = bmap_overflow(t, b);
        if (next)
            holder = holder_of(h, holder, next);
        b = next;
        i = 0;
    }
}

void pm_iter_start(const pm_iter *it, uint64_t *start_bucket, int *offset)
{
    *start_bucket = it->startBucket;
    *offset = it->offset;
}

int pm_iter_current(const pm_iter *it, const uint8_t **key, const uint8_t **elem)
{
    if (it->done || !it->key)
        return 0;
    *key = it->key;
    *elem = it->elem;
    return 1;
}
