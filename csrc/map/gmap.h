/*
 * map/gmap.h -- the generic map layer: what every map implementation shares.
 *
 * A pm_map is the header both implementations start with: the runtime and
 * type it belongs to, its reference count, its share of TotalAlloc, and the
 * reader/writer try-lock every entry point takes.  The layer above it (the
 * API entry points in map.c, bulk.c, the scenario runner, pools) works on
 * pm_map only and reaches the implementation through its map_ops table,
 * chosen once at make time from the version table's map_impl column.  An
 * implementation's own header (classic/classic.h, swiss/swiss.h) embeds
 * pm_map as its first member, so a pm_map * is also a pointer to it.
 *
 * Contracts every implementation keeps:
 *   - mutating ops run with the write lock held and are all-or-nothing:
 *     on failure (a rand callback's error, max_alloc, malloc) the map is
 *     exactly as before and the error is in pm_last_error;
 *   - access may draw (hashing a NaN key) and changes nothing;
 *   - check never draws, and reports a finding as PM_EINVARIANT;
 *   - every modelled allocation goes through gc_alloc/gc_charge with the
 *     map as owner.
 */
#ifndef PYMAP_GMAP_H
#define PYMAP_GMAP_H

#include "runtime/runtime.h"

struct pm_map {
    const struct map_ops *ops;          /* the implementation */
    uint32_t refcnt;                    /* Python handle + live iterators + pool slots */
    pm_runtime *rt;
    pm_maptype *t;
    uint64_t allocated;                 /* cumulative bytes charged (its TotalAlloc share) */
    bool shadow;                        /* a clone for a trial run: never in the Go heap */
    int busy;                           /* try-lock: -1 one writer, n > 0 readers */
    const void *writer;                 /* the write-locking thread's token */
    int walking;                        /* a memory walk is marking this map's objects */
    uint8_t mem_epoch;                  /* the mark of its latest memory walk */
};

/* Where an iteration starts: drawn from rand, or given (replay).  The two
 * words are the implementation's: classic (startBucket, offset), Swiss
 * (entryOffset, dirOffset). */
typedef struct pm_iterstart {
    bool given;
    uint64_t a, b;
} pm_iterstart;

typedef struct map_ops {
    uint8_t impl;                                       /* enum map_impl */
    int (*make)(pm_runtime *rt, pm_maptype *t, int64_t hint, pm_map **out);
    void (*destroy)(pm_map *m);                         /* the last reference is gone */
    int64_t (*len)(const pm_map *m);                    /* len(m), lock-free */
    /* write lock held; all-or-nothing */
    int (*assign)(pm_map *m, const unsigned char *key, const uint8_t *elem, size_t elemlen);
    int (*remove)(pm_map *m, const unsigned char *key, int *deleted);
    int (*clear)(pm_map *m);
    int (*clone)(pm_map *m, pm_map **out);              /* maps.Clone (write lock: it may draw) */
    /* read lock held */
    bool (*access)(pm_map *m, const unsigned char *key, unsigned char **k, unsigned char **e);
    void (*prefetch)(pm_map *m, const unsigned char *key);
    int (*check)(const pm_map *m);
    void (*memory)(pm_map *m, pm_memory *out);
    void (*snapshot)(const pm_map *m, pm_snapshot *s);
    /* iteration (init under the write lock, next under the read lock) */
    int (*iter_init)(pm_map *m, const pm_iterstart *start, pm_iter *it);
    int (*iter_next)(pm_iter *it);
    void (*iter_release)(pm_iter *it);
    void (*iter_start)(const pm_iter *it, uint64_t *a, uint64_t *b);
} map_ops;

extern const map_ops classic_map_ops, swiss_map_ops;

/* The per-map reader/writer try-lock every entry point takes (PM_EBUSY on a
 * conflict, with Go's message in pm_last_error). */
int pm_lock_write(pm_map *m);
void pm_unlock_write(pm_map *m);
int pm_lock_read(pm_map *m);
void pm_unlock_read(pm_map *m);

/* Single operations for callers holding the write lock (bulk.c,
 * scenario.c): each is all-or-nothing and runs the debug checker. */
int map_assign_locked(pm_map *m, const unsigned char *key, const uint8_t *elem, size_t elemlen);
/* The API's assign: for *[N]byte elems, elem is N bytes of contents (or NULL
 * with elemlen N: zeroed) and elemlen 0 is nil; otherwise map_assign_locked. */
int map_assign_api_locked(pm_map *m, const unsigned char *key, const uint8_t *elem, size_t elemlen);
int map_delete_locked(pm_map *m, const unsigned char *key, int *deleted);
int map_clear_locked(pm_map *m);
int map_op_finish(pm_map *m, int rc);
static inline bool map_access(pm_map *m, const unsigned char *key, unsigned char **k, unsigned char **e)
{
    return m->ops->access(m, key, k, e);
}
/* A hint only: start loading the memory key would land in (no draw, no
 * state change).  Bulk loops call it a few keys ahead so that the cache
 * misses of independent operations overlap. */
static inline void map_prefetch(pm_map *m, const unsigned char *key)
{
    m->ops->prefetch(m, key);
}
enum {
    PREFETCH_AHEAD = 8,              /* keys ahead */
    PREFETCH_MIN_BYTES = 1 << 20,    /* arrays smaller than this are left to the cache */
};
/* Common make bookkeeping: fill the header of a freshly calloc'ed map. */
void map_init_header(pm_map *m, const map_ops *ops, pm_runtime *rt, pm_maptype *t);
/* ... and undo it for a map that never got out of make. */
void map_free_header(pm_map *m);
/* The mark epochs of one memory walk (map.c). */
void map_walk_epochs(pm_map *m, uint8_t *epoch, uint32_t *pepoch);
/* The checkers after a mutation, in the debug build. */
int map_debug_check(const pm_map *m);

/* ---- iteration on a caller-owned pm_iter (caller holds the lock) ---- */
int pm_iter_init_internal(pm_map *m, const pm_iterstart *start, pm_iter *it);
int pm_iter_next_internal(pm_iter *it);
void pm_iter_release_internal(pm_iter *it);
/* Copy the current entry into kbuf/ebuf (API iterators, when reached). */
void iter_capture(pm_iter *it, const unsigned char *k, const unsigned char *e);
void iter_drop_capture(pm_iter *it);

/* ---- bulk.c: range values (see its opening comment) ---- */
enum { KEY_RANGE_IMG = 16 };   /* largest range key image: complex128 or a string header */
int64_t pm_range_len(int64_t start, int64_t stop, int64_t step);
size_t pm_range_image(int kind, uint32_t size, int64_t i, unsigned char *img, char *text);
/* Range loops: prefetch key(i + PREFETCH_AHEAD * step), using kimg/text as scratch. */
void pm_range_prefetch(pm_map *m, int64_t i, int64_t step, unsigned char *kimg, char *text);
/* The assign loop of pm_assign_range for a validated range, lock held. */
int pm_range_assign_locked(pm_map *m, int64_t start, int64_t step, int64_t n, int64_t *done);

#endif /* PYMAP_GMAP_H */
