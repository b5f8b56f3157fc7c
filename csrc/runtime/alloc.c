/*
 * alloc.c -- the one allocation seam, and Go's size classes.
 *
 * Every object the modelled runtime allocates for a map (bucket arrays,
 * overflow buckets, group arrays, indirect key/elem boxes, pointees) is a
 * gobj from gc_alloc(); the headers, tables and directories that the model
 * keeps as C structs are charged through gc_charge().  gc_alloc charges the bytes Go's
 * mallocgc would take for the request -- the size class, the 8-byte malloc
 * header of pointerful objects over 512 B from Go 1.22, whole 8 KiB pages
 * for large objects -- and adds them to the owning map's cumulative
 * `allocated` (its TotalAlloc share).  Nothing else in the core calls
 * malloc for modelled memory, so what the model holds and what it reports
 * cannot drift apart.
 *
 * Lifetime: gobjs are reference counted.  A reference is held by whatever
 * points at the object in the model (a map header, a table, an overflow
 * word, a slot, an iterator).  This file knows no map implementation:
 * releasing the last reference to an array calls the release hook its
 * implementation registered for the object's kind (gc_register_release),
 * which drops what the array's slots reference.  String data is not
 * charged: in Go it belongs to whoever made the string, not to the map.
 *
 * The free list.  Separately from Go's accounting, the model recycles its
 * own memory: a released bucket array, overflow bucket or box goes to a
 * free list binned by exact size instead of back to malloc, and the next
 * allocation of that size takes it (zeroed), so make/clear/drop cycles
 * stop paying for malloc, free and fresh pages.  It is bounded: objects of
 * at most FREELIST_MAX_OBJECT bytes, FREELIST_MAX_BYTES held in all,
 * FREELIST_BINS distinct sizes; anything beyond goes back to malloc.  It
 * is process-wide (maps of every runtime share it) behind a spin lock,
 * since cffi releases the GIL; a fork() takes it too (process.c).  It
 * never touches `charged` or `allocated`: what Go would pay is decided
 * before the model asks for memory.
 *
 * The Go heap.  gc_alloc also takes the object's slot in the runtime's
 * modelled heap (heap_alloc, heap.c: spans, tiny blocks, MemStats, the GC)
 * and gc_decref gives it back (heap_free), where it stays as garbage until
 * a GC cycle sweeps it.  The few allocations that are not gobjs (the hmap,
 * mapextra, the overflow slices' headers and backing arrays) go through
 * gc_charge, the same seam without model memory.  Clones made for trial
 * runs never enter the heap.
 */
#include <pthread.h>
#include <stdlib.h>
#include "map/gmap.h"   /* owners: the generic map header, never an implementation */

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

/* Go's size_to_class8: the class index for sizes up to 1024, 8 bytes per
 * entry, filled once (class_size is on every allocation's path). */
enum { smallSizeMax = 1024 };
static uint8_t size_to_class8[smallSizeMax / 8 + 1];
static pthread_once_t size_to_class8_once = PTHREAD_ONCE_INIT;

static void init_size_to_class8(void)
{
    int c = 0;
    for (int i = 0; i <= smallSizeMax / 8; i++) {
        while (class_to_size[c] < (uint32_t)(i * 8))
            c++;
        size_to_class8[i] = (uint8_t)c;
    }
}

/* Index into class_to_size of the smallest class >= size (1..maxSmallSize). */
static int class_index(uint64_t size)
{
    if (size <= smallSizeMax) {
        pthread_once(&size_to_class8_once, init_size_to_class8);
        return size_to_class8[(size + 7) / 8];
    }
    int lo = 0, hi = numSmallClasses - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (class_to_size[mid] >= size)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static uint64_t class_size(uint64_t size) { return class_to_size[class_index(size)]; }

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

/* runtime/sizeclasses.go: class_to_allocnpages[1..67], pages per span. */
static const uint8_t class_to_allocnpages[] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 2, 1, 2, 1, 2, 1, 3, 2, 3, 1, 3, 2, 3, 4, 5, 6, 1, 7, 6, 5, 4, 3,
    5, 7, 2, 9, 7, 5, 8, 3, 10, 7, 4,
};
_Static_assert(sizeof class_to_allocnpages == numSmallClasses, "one page count per size class");

uint64_t go_class_npages(int cls) { return class_to_allocnpages[cls - 1]; }

/* mallocgc's decision: the bytes charged (span.elemsize, or whole pages)
 * and the size class (1..67; 0 = a large object in its own span). */
uint64_t go_sizeclass(const goversion *v, uint64_t size, bool noscan, int *cls)
{
    *cls = 0;
    if (size == 0)
        return 0;   /* zerobase */
    uint64_t limit = v->alloc_headers ? maxSmallSize - mallocHeaderSize : maxSmallSize;
    if (size > limit)
        return page_round(size);
    uint64_t req = size;
    if (v->alloc_headers && !noscan && req > minSizeForMallocHeader)
        req += mallocHeaderSize;
    int i = class_index(req);
    *cls = i + 1;
    return class_to_size[i];
}

/* The bytes mallocgc charges (span.elemsize, or whole pages) for a request. */
uint64_t go_charged(const goversion *v, uint64_t size, bool noscan)
{
    int cls;
    return go_sizeclass(v, size, noscan, &cls);
}

/* ---- the free list ---- */

enum {
    FREELIST_MAX_OBJECT = 1 << 20,   /* larger objects go straight back to malloc */
    FREELIST_MAX_BYTES = 8 << 20,    /* bytes held in all, across sizes */
    FREELIST_BINS = 64,              /* distinct sizes held at once */
};

typedef struct fl_bin {
    uint64_t size;                   /* allocation size (gobj header included); 0 = unused */
    gobj *head;                      /* chained through gobj.owner while free */
    uint64_t count;
} fl_bin;

static struct {
    fl_bin bins[FREELIST_BINS];
    uint64_t hits, misses, bytes, objects;
    int lock;
} freelist;

static void fl_lock(void)
{
    while (__atomic_exchange_n(&freelist.lock, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&freelist.lock, __ATOMIC_RELAXED))
            ;
}

static void fl_unlock(void) { __atomic_store_n(&freelist.lock, 0, __ATOMIC_RELEASE); }

/* fork(): taken before, released after in the parent, reset in the child
 * (process.c); the lock is a leaf, taken after every heap lock. */
void fl_fork_lock(void) { fl_lock(); }
void fl_fork_unlock(void) { fl_unlock(); }
void fl_fork_reinit(void) { __atomic_store_n(&freelist.lock, 0, __ATOMIC_RELAXED); }

static fl_bin *fl_find(uint64_t total, bool create)
{
    fl_bin *spare = NULL;
    for (int i = 0; i < FREELIST_BINS; i++) {
        fl_bin *b = &freelist.bins[i];
        if (b->size == total)
            return b;
        if (!spare && (b->size == 0 || b->count == 0))
            spare = b;
    }
    if (create && spare) {
        spare->size = total;
        return spare;
    }
    return NULL;
}

static bool recyclable(int kind)
{
    return kind != OBJ_STRING;
}

/* A zeroed allocation of `total` bytes, from the free list if it has one. */
static gobj *fl_get(int kind, uint64_t total)
{
    if (recyclable(kind) && total <= FREELIST_MAX_OBJECT) {
        gobj *o = NULL;
        fl_lock();
        fl_bin *b = fl_find(total, false);
        if (b && b->head) {
            o = b->head;
            b->head = (gobj *)o->owner;
            b->count--;
            freelist.bytes -= total;
            freelist.objects--;
            freelist.hits++;
        } else {
            freelist.misses++;
        }
        fl_unlock();
        if (o) {
            memset(o, 0, total);
            return o;
        }
    }
    return calloc(1, total);
}

static void fl_put(gobj *o)
{
    uint64_t total = sizeof(gobj) + o->size;
    if (recyclable(o->kind) && total <= FREELIST_MAX_OBJECT) {
        fl_lock();
        fl_bin *b = freelist.bytes + total <= FREELIST_MAX_BYTES ? fl_find(total, true) : NULL;
        if (b) {
            o->owner = (pm_map *)b->head;
            b->head = o;
            b->count++;
            freelist.bytes += total;
            freelist.objects++;
        }
        fl_unlock();
        if (b)
            return;
    }
    free(o);
}

void pm_freelist_get_stats(pm_freelist_stats *out)
{
    fl_lock();
    out->hits = freelist.hits;
    out->misses = freelist.misses;
    out->bytes_held = freelist.bytes;
    out->objects_held = freelist.objects;
    fl_unlock();
    out->max_bytes = FREELIST_MAX_BYTES;
    out->max_object = FREELIST_MAX_OBJECT;
}

void pm_freelist_trim(void)
{
    fl_lock();
    for (int i = 0; i < FREELIST_BINS; i++) {
        fl_bin *b = &freelist.bins[i];
        while (b->head) {
            gobj *o = b->head;
            b->head = (gobj *)o->owner;
            free(o);
        }
        b->count = 0;
        b->size = 0;
    }
    freelist.bytes = freelist.objects = 0;
    fl_unlock();
}

/* ---- the allocation seam ---- */

/* The release hooks, per object kind (written once at start-up, read after). */
static gobj_release_fn release_hooks[OBJ_NKINDS];

void gc_register_release(int kind, gobj_release_fn fn)
{
    if (kind >= 0 && kind < OBJ_NKINDS)
        release_hooks[kind] = fn;
}

int gc_check_budget(pm_runtime *rt, uint64_t more)
{
    uint64_t used = __atomic_load_n(&rt->model_bytes, __ATOMIC_RELAXED);
    if (more > rt->model_budget || used > rt->model_budget - more) {
        if (more)
            set_error("the model's memory budget is spent: this runtime's maps hold %llu bytes of "
                      "model memory and need %llu more, past model_memory (%llu bytes)",
                      (unsigned long long)used, (unsigned long long)more,
                      (unsigned long long)rt->model_budget);
        else
            set_error("the model's memory budget is spent: this runtime's maps hold %llu bytes of "
                      "model memory, past model_memory (%llu bytes)", (unsigned long long)used,
                      (unsigned long long)rt->model_budget);
        return PM_EMAXALLOC;
    }
    return PM_OK;
}

int gc_check_alloc(pm_runtime *rt, uint64_t size, bool noscan)
{
    if (go_charged(rt->ver, size, noscan) > rt->max_alloc) {
        set_error("allocation of %llu bytes exceeds max_alloc (%llu)",
                  (unsigned long long)size, (unsigned long long)rt->max_alloc);
        return PM_EMAXALLOC;
    }
    return gc_check_budget(rt, size);
}

/* Bytes the C core really holds for o (what model_bytes counts). */
static uint64_t held_bytes(const gobj *o)
{
    return sizeof(gobj) + (o->kind == OBJ_STRING && o->size == 0 ? 1 : o->size);
}

gobj *gc_alloc(pm_map *h, int kind, uint64_t size, bool noscan)
{
    gobj *o = size <= UINT64_MAX - sizeof(gobj) ? fl_get(kind, sizeof(gobj) + size) : NULL;
    if (!o) {
        set_error("out of memory: the model could not allocate %llu bytes for a modelled object",
                  (unsigned long long)size);
        return NULL;
    }
    o->refcnt = 1;
    o->kind = (uint8_t)kind;
    o->size = size;
    o->charged = go_charged(h->rt->ver, size, noscan);
    o->owner = h;
    h->allocated += o->charged;
    o->rt = h->rt;
    __atomic_add_fetch(&h->rt->model_bytes, held_bytes(o), __ATOMIC_RELAXED);
    if (!h->shadow)
        o->hslot = heap_alloc(h->rt, size, noscan);
    return o;
}

/* The seam for the allocations that are not gobjs (the hmap, mapextra,
 * overflow-slice headers and backing arrays): charged to the map like a
 * gobj, and given a heap slot (0 for a clone) the caller frees with
 * heap_free when Go would drop the object. */
uintptr_t gc_charge(pm_map *h, uint64_t size, bool noscan)
{
    h->allocated += go_charged(h->rt->ver, size, noscan);
    return h->shadow ? 0 : heap_alloc(h->rt, size, noscan);
}

gobj *gc_string(pm_runtime *rt, const uint8_t *data, uint64_t len)
{
    gobj *o = malloc(sizeof(gobj) + (len ? len : 1));
    if (!o) {
        set_error("out of memory: the model could not allocate %llu bytes of string data",
                  (unsigned long long)len);
        return NULL;
    }
    memset(o, 0, sizeof *o);
    o->refcnt = 1;
    o->kind = OBJ_STRING;
    o->size = len;
    o->rt = rt;
    __atomic_add_fetch(&rt->model_bytes, held_bytes(o), __ATOMIC_RELAXED);
    if (len)
        memcpy(o->data, data, len);
    return o;
}

void gc_incref(gobj *o)
{
    if (o)
        __atomic_fetch_add(&o->refcnt, 1, __ATOMIC_RELAXED);
}

void gc_decref(gobj *o)
{
    /* Atomic: readers of one map (lookups of string elems) run in parallel. */
    if (!o || __atomic_sub_fetch(&o->refcnt, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    if (release_hooks[o->kind])
        release_hooks[o->kind](o);
    if (o->hslot)
        heap_free(o->rt, o->hslot);
    if (o->rt)
        __atomic_sub_fetch(&o->rt->model_bytes, held_bytes(o), __ATOMIC_RELAXED);
    fl_put(o);
}
