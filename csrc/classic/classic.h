/*
 * classic/classic.h -- Go's classic map (hmap/bmap): Go 1.19-1.23 and
 * 1.24/1.25 built with GOEXPERIMENT=noswissmap.
 *
 * A bucket is tophash[8], 8 packed keys, 8 packed elems and an overflow
 * word, at the offsets the Go compiler computes; the hmap header and
 * mapextra are plain C structs (only their values are observable).  The
 * files beside this one: map.c (makemap, mapassign, mapaccess, mapdelete,
 * mapclear, growth), iter.c (mapiterinit/mapiternext), check.c (the
 * consistency checker), clone.c (trial-run clones), inspect.c (header,
 * memory and bucket inspection).
 */
#ifndef PYMAP_CLASSIC_H
#define PYMAP_CLASSIC_H

#include "map/gmap.h"

/* ---- Go's map constants (runtime/map.go) ---- */
enum {
    bucketCntBits = 3,
    bucketCnt = 1 << bucketCntBits,   /* 8 slots per bucket */
    dataOffset = 8,                   /* keys start after tophash[8] */
    loadFactorDen = 2,
};

/* Sizes of the runtime objects around the buckets (64-bit). */
enum {
    mapextraSize = 24,      /* mapextra: overflow, oldoverflow, nextOverflow */
    sliceHeaderSize = 24,   /* a []*bmap: data, len, cap */
};
_Static_assert(mapextraSize == 3 * sizeof(void *), "mapextra is three pointer words");
_Static_assert(sliceHeaderSize == 3 * sizeof(void *), "a slice header is pointer, len, cap");

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


typedef struct pm_hmap {
    pm_map base;                        /* first: a pm_map * is a pm_hmap * */
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
    uint64_t hmap_charged;
    uintptr_t hslot_hmap, hslot_extra;  /* heap slots of the hmap and mapextra */
} pm_hmap;
static inline pm_hmap *HMAP(const pm_map *m) { return (pm_hmap *)m; }

/* The classic iterator state (hiter), inside pm_iter. */
typedef struct classic_iter {
    gobj *buckets;          /* snapshot it.buckets (a reference) */
    gobj *bobj;             /* object holding bptr (a reference), or NULL */
    unsigned char *bptr;
    uint64_t startBucket, bucket, checkBucket;
    uint8_t offset, wrapped, B, i;
    uint64_t clearSeq;
    ovrec *ovf[2];          /* it.overflow, it.oldoverflow (references) */
} classic_iter;
#define noCheck (UINT64_MAX)

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
bool pm_bucket_in_array(const pm_hmap *h, const gobj *arr, const unsigned char *b);
void bucket_release(const pm_maptype *t, unsigned char *b, const gobj *arr);
/* Does releasing arr have to visit its buckets (pointer slots or heap links)? */
static inline bool array_needs_release(const pm_maptype *t, const gobj *arr)
{
    return t->bucket_ptrs || arr->impl_flag;
}

/* ---- map.c ---- */
/* Locate key (image form) in the live table. */
int classic_assign(pm_map *m, const unsigned char *key, const uint8_t *elem, size_t elemlen);
bool mapaccessK(pm_hmap *h, const unsigned char *key, unsigned char **kout, unsigned char **eout);
int mapdelete(pm_hmap *h, const unsigned char *key, int *deleted);
void pm_create_overflow(pm_hmap *h);   /* createOverflow, for mapiterinit */
ovrec *ovrec_new(pm_hmap *h, uintptr_t hdr);
void ovrec_release(pm_runtime *rt, ovrec *r);

/* ---- clone.c ---- */
pm_hmap *pm_map_clone(const pm_hmap *h);

/* ---- check.c, inspect.c: the unlocked bodies behind the API ---- */
int map_check(const pm_map *m);
void map_header(const pm_hmap *h, pm_header *out);
void map_memory(pm_map *m, pm_memory *out);

/* ---- iter.c ---- */
int classic_iter_init(pm_map *m, const pm_iterstart *start, pm_iter *it);
int classic_iter_next(pm_iter *it);
void classic_iter_release(pm_iter *it);
void classic_iter_start(const pm_iter *it, uint64_t *a, uint64_t *b);

#endif /* PYMAP_CLASSIC_H */
