/*
 * pymap.h -- the C core's internal umbrella header.
 *
 * Layers, bottom up (each includes only the ones below it):
 *   runtime/runtime.h  the shared runtime: versions, hashes, types, the
 *                      allocation seam, the heap, pools;
 *   map/gmap.h         the generic map header and the ops table;
 *   classic/classic.h  the classic hmap/bmap map;
 *   swiss/swiss.h      the Swiss-table map;
 * and here, the iterator, whose state is one implementation's or the
 * other's.  The public, cdef-parsable surface is pymap_api.h.
 */
#ifndef PYMAP_H
#define PYMAP_H

#include "runtime/runtime.h"
#include "map/gmap.h"
#include "classic/classic.h"
#include "swiss/swiss.h"

struct pm_iter {
    pm_map *m;              /* the map (a reference), NULL for an empty map's iterator */
    const uint8_t *key, *elem;  /* the current entry in model memory; NULL at the end */
    uint8_t *kbuf, *ebuf;   /* API iterators: the current entry's key and elem images,
                               copied when it is reached (strings and pointees hold a
                               reference), as Go's range loop reads *it.key at once */
    bool captured;          /* kbuf/ebuf hold the current entry */
    bool done;
    int busy;               /* try-lock: one thread at a time per iterator */
    union {
        classic_iter c;     /* hiter */
        swiss_iter s;       /* maps.Iter */
    };
};

#endif /* PYMAP_H */
