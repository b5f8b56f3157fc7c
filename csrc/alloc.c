/*
 * alloc.c -- the one allocation seam, and Go's size classes.
 *
 * Every object the modelled runtime allocates for a map (the hmap, mapextra,
 * bucket arrays, separately allocated overflow buckets, indirect key/elem
 * boxes) is a gobj from gc_alloc().  gc_alloc charges the bytes Go's
 * mallocgc would take for the request -- the size class, the 8-byte malloc
 * header of pointerful objects over 512 B from Go 1.22, whole 8 KiB pages
 * for large objects -- and adds them to the owning map's cumulative
 * `allocated` (its TotalAlloc share).  Nothing else in the core calls
 * malloc for modelled memory, so what the model holds and what it reports
 * cannot drift apart.
 *
 * Lifetime: gobjs are reference counted.  A reference is held by
 *   - the hmap for buckets and oldbuckets;
 *   - an overflow word that points outside its own array (a separately
 *     allocated overflow bucket);
 *   - a key/elem slot for an indirect box or for string data;
 *   - an iterator for its snapshot array and for the object holding its
 *     current bucket.
 * Releasing an array or an overflow bucket releases what its slots and
 * overflow words reference.  String data is not charged: in Go it belongs
 * to whoever made the string, not to the map.
 *
 * Left out (later issues): tiny allocations (no map object is a noscan
 * object under 16 B), spans, and the GC's timing -- the model frees an
 * object when it becomes unreachable, where Go frees it at the next sweep.
 */
#include <stdlib.h>
#include "pymap.h"

/* runtime/sizeclasses.go: class_to_size[1..67], identical in 1.19-1.24. */
static const uint32_t class_to_size[] = {
    8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256,
    288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280,
    1408, 1536, 1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528,
    6784, 6912, 8192, 9472, 9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072,
    20480, 21760, 24576, 27264, 28672, 32768,
};
enum {
    numSmallClasses = 67,
    maxSmallSize = 32768,       /* _MaxSmallSize */
    pageSize = 8192,            /* 1 << _PageShift */
    mallocHeaderSize = 8,       /* Go >= 1.22 */
    minSizeForMallocHeader = 512, /* 8 * 64: heap bits fit in the span below this */
};
_Static_assert(sizeof class_to_size / sizeof class_to_size[0] == numSmallClasses,
               "67 real size classes (class 0 is 'large')");

/* Smallest class size >= size (size in 1..maxSmallSize). */
static uint64_t class_size(uint64_t size)
{
    int lo = 0, hi = numSmallClasses - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (class_to_size[mid] >= size)
            hi = mid;
        else
            lo = mid + 1;
    }
    return class_to_size[lo];
}

static uint64_t page_round(uint64_t size)
{
    uint64_t r = size + pageSize - 1;
    return r < size ? size : r & ~(uint64_t)(pageSize - 1);
}

/* runtime.roundupsize: the usable bytes of the allocation a request gets. */
uint64_t go_roundupsize(const goversion *v, uint64_t size, bool noscan)
{
    if (!v->alloc_headers)
        return size < maxSmallSize ? class_size(size) : page_round(size);
    if (size <= maxSmallSize - mallocHeaderSize) {
        uint64_t req = size;
        if (!noscan && req > minSizeForMallocHeader)
            req += mallocHeaderSize;
        return class_size(req) - (req - size);
    }
    return page_round(size);
}

/* The bytes mallocgc charges (span.elemsize, or whole pages) for a request. */
uint64_t go_charged(const goversion *v, uint64_t size, bool noscan)
{
    if (size == 0)
        return 0;   /* zerobase */
    if (!v->alloc_headers)
        return size <= maxSmallSize ? class_size(size) : page_round(size);
    if (size <= maxSmallSize - mallocHeaderSize) {
        uint64_t req = size;
        if (!noscan && req > minSizeForMallocHeader)
            req += mallocHeaderSize;
        return class_size(req);
    }
    return page_round(size);
}

gobj *gc_alloc(pm_hmap *h, int kind, uint64_t size, bool noscan)
{
    gobj *o = calloc(1, sizeof(gobj) + size);
    if (!o)
        return NULL;
    o->refcnt = 1;
    o->kind = (uint8_t)kind;
    o->size = size;
    o->charged = go_charged(h->rt->ver, size, noscan);
    o->owner = h;
    h->allocated += o->charged;
    return o;
}

gobj *gc_string(const uint8_t *data, uint64_t len)
{
    gobj *o = malloc(sizeof(gobj) + (len ? len : 1));
    if (!o)
        return NULL;
    memset(o, 0, sizeof *o);
    o->refcnt = 1;
    o->kind = OBJ_STRING;
    o->size = len;
    if (len)
        memcpy(o->data, data, len);
    return o;
}

void gc_incref(gobj *o)
{
    if (o)
        o->refcnt++;
}

void gc_decref(gobj *o)
{
    if (!o || --o->refcnt > 0)
        return;
    if (o->kind == OBJ_ARRAY) {
        const pm_maptype *t = o->owner->t;
        for (uint64_t i = 0; i < o->nbuckets; i++)
            bucket_release(t, bucket_at(o, t, i), o);
    } else if (o->kind == OBJ_OVERFLOW) {
        bucket_release(o->owner->t, o->data, NULL);
    }
    free(o);
}
