/*
 * swiss/swiss.h -- Go's Swiss-table map (internal/runtime/maps, Go 1.24+).
 *
 * A map is a header (maps.Map: used, seed, dirPtr, dirLen, globalDepth,
 * globalShift, tombstonePossible, clearSeq) over either nothing, one small
 * group (dirLen == 0: up to 8 entries, no probing), or a directory of
 * 2^globalDepth table pointers (extendible hashing: a table of localDepth
 * d fills a run of 2^(globalDepth - d) entries).  A table holds
 * capacity/8 groups (capacity a power of two, at most 1024); a group is an
 * 8-byte control word (byte i: 0x80 empty, 0xFE deleted, else H2 = the
 * hash's low 7 bits) and 8 slots.  Group memory is Go's image, byte for
 * byte; the header, tables and directory are C structs charged at Go's
 * sizes through the allocation seam.
 *
 * The files beside this one: group.h (control words, slot addresses,
 * probing), table.c (lookup, insert, delete, prune, rehash = grow or split,
 * clear of one table), map.c (the Map operations, small maps, the
 * directory, maps.Clone, inspection, the ops table), iter.c (Iter.Init and
 * Iter.Next), check.c (the consistency checker).
 */
#ifndef PYMAP_SWISS_H
#define PYMAP_SWISS_H

#include "map/gmap.h"

enum {
    SW_GROUP_SLOTS_BITS = 3,
    SW_GROUP_SLOTS = 1 << SW_GROUP_SLOTS_BITS,  /* abi.MapGroupSlots */
    SW_CTRL_EMPTY = 0x80,                       /* 1000 0000 */
    SW_CTRL_DELETED = 0xFE,                     /* 1111 1110: a tombstone */
    SW_MAX_TABLE_CAPACITY = 1024,               /* maxTableCapacity */
    SW_MAX_AVG_GROUP_LOAD = 7,                  /* of 8 slots: the 7/8 load limit */
    SW_MAP_SIZE = 48,                           /* sizeof(maps.Map) */
    SW_TABLE_SIZE = 32,                         /* sizeof(table) */
    SW_CTRL_SIZE = 8,                           /* the control word before the slots */
};
_Static_assert(SW_GROUP_SLOTS == 8, "a control word has one byte per slot: 8 bytes, 8 slots");
_Static_assert((SW_CTRL_DELETED & SW_CTRL_EMPTY) == SW_CTRL_EMPTY,
               "empty and deleted share bit 7, which full bytes (H2 <= 0x7F) never have");
_Static_assert(SW_MAX_TABLE_CAPACITY * SW_MAX_AVG_GROUP_LOAD / SW_GROUP_SLOTS <= UINT16_MAX,
               "table.used, capacity and growthLeft are uint16");

/* A table (table.go).  Refcounted: the directory holds one reference for
 * all the entries of its run, an iterator one for the table it walks
 * (a stale table -- index -1 -- stays readable while iterated). */
typedef struct sw_table {
    uint32_t refcnt;
    uint16_t used;                      /* live entries */
    uint16_t capacity;                  /* slots: a power of two, 8..1024 */
    uint16_t growthLeft;                /* inserts into empty slots before a rehash */
    uint8_t localDepth;                 /* top hash bits this table is responsible for */
    int64_t index;                      /* first directory entry of its run; -1 once replaced */
    gobj *groups;                       /* capacity/8 groups (a reference) */
    uint64_t lengthMask;                /* groups - 1 */
    pm_runtime *rt;                     /* for its heap slot */
    uintptr_t hslot;                    /* the 32-byte table object in the Go heap */
} sw_table;

typedef struct sw_map {
    pm_map base;                        /* first: a pm_map * is an sw_map * */
    /* maps.Map */
    uint64_t used;                      /* live entries in all tables */
    uint64_t seed;                      /* the per-map hash seed (64-bit) */
    gobj *small;                        /* dirPtr of a small map (dirLen == 0), or NULL */
    sw_table **dir;                     /* dirPtr of a table map: dirLen entries */
    int64_t dirLen;
    uint8_t globalDepth, globalShift;
    bool tombstonePossible;             /* 1.25+: a tombstone was made since the last clear */
    uint64_t clearSeq;                  /* clears that did work */
    /* model bookkeeping */
    uintptr_t hslot_map, hslot_dir;     /* heap slots of the Map and the directory */
    uint64_t map_charged, dir_charged;
} sw_map;

static inline sw_map *SMAP(const pm_map *m) { return (sw_map *)m; }

/* The Swiss iterator state (maps.Iter), inside pm_iter. */
typedef struct swiss_iter {
    uint64_t entryOffset, dirOffset;    /* the two random draws of Init */
    uint64_t clearSeq;                  /* m.clearSeq at Init */
    uint8_t globalDepth;                /* m.globalDepth as last seen */
    int64_t dirIdx;                     /* -1: iterating a small map's group */
    sw_table *tab;                      /* the table being walked (a reference), or NULL */
    gobj *small;                        /* the small group at Init (a reference) */
    unsigned char *group;               /* the current group, or NULL */
    uint64_t entryIdx;
} swiss_iter;

/* ---- table.c ---- */
/* The outcome of looking for a key in a table. */
typedef struct sw_slot {
    unsigned char *group;
    unsigned i;
} sw_slot;

sw_table *sw_table_new(sw_map *m, uint64_t capacity, int64_t index, uint8_t localDepth);
void sw_table_release(sw_table *t);
uint16_t sw_max_growth_left(uint16_t capacity);
uint16_t sw_table_tombstones(const sw_table *t);
bool sw_table_find(const sw_map *m, const sw_table *t, uint64_t hash, const unsigned char *key, sw_slot *out);
/* Insert or update key in the table map: table.PutSlot / runtime_mapassign. */
int sw_table_assign(sw_map *m, uint64_t hash, const unsigned char *key, const uint8_t *elem, size_t elemlen);
/* Delete from table t; returns true if it left a tombstone. */
bool sw_table_delete(sw_map *m, sw_table *t, uint64_t hash, const unsigned char *key, bool *found);
void sw_table_clear(sw_map *m, sw_table *t);
/* unchecked put of a slot image (rehash, growToTable): copies the slot, takes references. */
void sw_table_put_unchecked(sw_table *t, const pm_maptype *mt, uint64_t hash, unsigned char *k, unsigned char *e);
/* Hashes for the full slots of a group array (rehash, growToTable), NaN
 * draws taken ahead so that a failing rand changes nothing. */
int sw_rehash_hashes(sw_map *m, gobj *groups, uint64_t **out, size_t *n);

/* ---- map.c ---- */
uint64_t sw_hash(sw_map *m, const unsigned char *key);
sw_table *sw_directory_at(const sw_map *m, uint64_t i);
uint64_t sw_directory_index(const sw_map *m, uint64_t hash);
void sw_replace_table(sw_map *m, sw_table *nt);
int sw_install_split(sw_map *m, sw_table *old, sw_table *left, sw_table *right);
/* The map's own lookup (getWithKey): slot images of key and elem. */
bool sw_lookup(sw_map *m, const unsigned char *key, unsigned char **k, unsigned char **e);
/* Drop the references a group's slots hold and zero it (memclr), ctrl left zero. */
void sw_group_memclr(const pm_maptype *t, unsigned char *g);

/* ---- iter.c, check.c ---- */
int swiss_iter_init(pm_map *m, const pm_iterstart *start, pm_iter *it);
int swiss_iter_next(pm_iter *it);
void swiss_iter_release(pm_iter *it);
void swiss_iter_start(const pm_iter *it, uint64_t *a, uint64_t *b);
int swiss_check(const pm_map *m);

#endif /* PYMAP_SWISS_H */
