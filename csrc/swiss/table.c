/*
 * swiss/table.c -- one table of a Swiss map: lookup, insert, delete,
 * tombstone pruning, rehash (grow or split) and clear (table.go).
 *
 * What it models.  A table is capacity/8 groups probed in triangular
 * order from group H1 & mask.  A lookup ends at the first group holding an
 * empty slot.  An insert walks the same sequence: an equal key is
 * updated; otherwise the first tombstone met is reused, else the lowest
 * empty slot of the group that ended the probe.  Each insert into an empty
 * slot costs one growthLeft (capacity*7/8 when empty, capacity-1 for a
 * single group); a table with none left rehashes -- doubles while the new
 * capacity is at most 1024, else splits into two 1024-slot tables on the
 * next hash bit -- and the insert starts over.  There is no same-size
 * rehash: tombstones only go away by reuse, by a rehash, by a clear, or,
 * from Go 1.25 on the compiler's fast assign paths only, by
 * pruneTombstones.
 *
 * Invariants (checked by check.c):
 *   - growthLeft + used + tombstones == maxGrowthLeft(capacity), counting
 *     the 0xFE bytes;
 *   - a group holding a tombstone holds no empty slot: tombstones are
 *     only made in full groups, so "first empty-or-deleted slot" and
 *     "first tombstone, else lowest empty" pick the same slot;
 *   - every full slot's byte is H2 of its key, and the key is found by a
 *     probe that meets no empty slot before it.
 *
 * All-or-nothing.  A rehash allocates everything and hashes every key (the
 * NaN keys' draws included) before it changes anything; the inserted
 * key's own hash is drawn before the insert starts.
 */
#include <stdlib.h>
#include "pymap.h"
#include "swiss/group.h"

uint16_t sw_max_growth_left(uint16_t capacity)
{
    if (capacity <= SW_GROUP_SLOTS)
        return (uint16_t)(capacity - 1);   /* one group must keep an empty slot to end probes */
    return (uint16_t)(capacity * SW_MAX_AVG_GROUP_LOAD / SW_GROUP_SLOTS);
}

uint16_t sw_table_tombstones(const sw_table *t)
{
    return (uint16_t)(sw_max_growth_left(t->capacity) - t->used - t->growthLeft);
}

static uint64_t pow2_ceil(uint64_t n)
{
    uint64_t p = 1;
    while (p < n)
        p <<= 1;
    return p;
}

/* newTable: the table object, then its groups, all control bytes empty. */
sw_table *sw_table_new(sw_map *m, uint64_t capacity, int64_t index, uint8_t localDepth)
{
    const pm_maptype *mt = m->base.t;
    if (capacity < SW_GROUP_SLOTS)
        capacity = SW_GROUP_SLOTS;
    capacity = pow2_ceil(capacity);
    sw_table *t = calloc(1, sizeof *t);
    if (!t) {
        set_error("out of memory");
        return NULL;
    }
    t->refcnt = 1;
    t->rt = m->base.rt;
    t->hslot = gc_charge(&m->base, SW_TABLE_SIZE, false);     /* new(table) */
    uint64_t ngroups = capacity / SW_GROUP_SLOTS;
    t->groups = gc_alloc(&m->base, OBJ_GROUPS, ngroups * mt->groupsize, !mt->bucket_ptrs);
    if (!t->groups) {
        heap_free(t->rt, t->hslot);
        free(t);
        set_error("out of memory");
        return NULL;
    }
    t->groups->nelems = ngroups;
    for (uint64_t i = 0; i < ngroups; i++)
        sw_set_empty(sw_group(mt, t->groups, i));
    t->capacity = (uint16_t)capacity;
    t->growthLeft = sw_max_growth_left(t->capacity);
    t->lengthMask = ngroups - 1;
    t->index = index;
    t->localDepth = localDepth;
    return t;
}

void sw_table_release(sw_table *t)
{
    if (!t || __atomic_sub_fetch(&t->refcnt, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    gc_decref(t->groups);
    heap_free(t->rt, t->hslot);
    free(t);
}

static inline bool slot_is(const pm_maptype *mt, unsigned char *g, unsigned i, const unsigned char *key)
{
    const unsigned char *k = slot_key(mt, sw_key(mt, g, i));
    if (mt->keyclass == KC_MEM8)
        return memcmp(k, key, 8) == 0;
    if (mt->keyclass == KC_MEM4)
        return memcmp(k, key, 4) == 0;
    return key_equal(mt, key, k);
}

/* getWithKey: probe for key; a group with an empty slot ends the search. */
bool sw_table_find(const sw_map *m, const sw_table *t, uint64_t hash, const unsigned char *key, sw_slot *out)
{
    const pm_maptype *mt = m->base.t;
    uint8_t h2 = sw_h2(hash);
    for (sw_probe p = sw_probe_start(hash, t->lengthMask);; sw_probe_next(&p)) {
        unsigned char *g = sw_group(mt, t->groups, p.offset);
        uint64_t ctrl = sw_ctrl(g);
        for (sw_bitset b = sw_match_h2(ctrl, h2); b; b = sw_remove_first(b)) {
            unsigned i = sw_first(b);
            if (slot_is(mt, g, i, key)) {
                out->group = g;
                out->i = i;
                return true;
            }
        }
        if (sw_match_empty(ctrl))
            return false;
    }
}

/* uncheckedPutSlot: the first empty-or-deleted slot on the probe path
 * takes the slot image (k, e), which gains its own references. */
void sw_table_put_unchecked(sw_table *t, const pm_maptype *mt, uint64_t hash, unsigned char *k, unsigned char *e)
{
    for (sw_probe p = sw_probe_start(hash, t->lengthMask);; sw_probe_next(&p)) {
        unsigned char *g = sw_group(mt, t->groups, p.offset);
        sw_bitset b = sw_match_empty_or_deleted(sw_ctrl(g));
        if (!b)
            continue;
        unsigned i = sw_first(b);
        memcpy(sw_key(mt, g, i), k, mt->keyslot);
        memcpy(sw_elem(mt, g, i), e, mt->elemslot);
        slot_retain(mt, sw_key(mt, g, i), sw_elem(mt, g, i));
        t->growthLeft--;
        t->used++;
        sw_set_ctrl(g, i, sw_h2(hash));
        return;
    }
}

int sw_rehash_hashes(sw_map *m, gobj *groups, uint64_t **out, size_t *n)
{
    const pm_maptype *mt = m->base.t;
    uint64_t ngroups = groups->nelems;
    uint64_t *h = malloc((ngroups * SW_GROUP_SLOTS) * sizeof *h);
    if (!h) {
        set_error("out of memory");
        return PM_ENOMEM;
    }
    size_t k = 0;
    for (uint64_t gi = 0; gi < ngroups; gi++) {
        unsigned char *g = sw_group(mt, groups, gi);
        for (sw_bitset b = sw_match_full(sw_ctrl(g)); b; b = sw_remove_first(b)) {
            unsigned i = sw_first(b);
            /* a NaN key's draw: the rand callback may ask whose (pm_runtime_draw_elem) */
            pm_op_draws.elem = slot_elem(mt, sw_elem(mt, g, i));
            h[k++] = sw_hash(m, slot_key(mt, sw_key(mt, g, i)));
        }
    }
    pm_op_draws.elem = NULL;
    if (pm_op_draws.failed) {
        free(h);
        return PM_ERAND;
    }
    *out = h;
    *n = k;
    return PM_OK;
}

/* Move every full slot of old, in scan order, into the new tables: to a
 * (grow) or, split on bit `mask` of the hash, to a or b. */
static void rehash_into(sw_map *m, const sw_table *old, const uint64_t *hashes,
                        sw_table *a, sw_table *b, uint64_t mask)
{
    const pm_maptype *mt = m->base.t;
    size_t k = 0;
    for (uint64_t gi = 0; gi <= old->lengthMask; gi++) {
        unsigned char *g = sw_group(mt, old->groups, gi);
        for (sw_bitset bits = sw_match_full(sw_ctrl(g)); bits; bits = sw_remove_first(bits)) {
            unsigned i = sw_first(bits);
            uint64_t hash = hashes[k++];
            sw_table *dst = (b && (hash & mask)) ? b : a;
            sw_table_put_unchecked(dst, mt, hash, sw_key(mt, g, i), sw_elem(mt, g, i));
        }
    }
}

/* table.rehash: double, or split a full-size table.  Everything that can
 * fail (max_alloc, malloc, the NaN keys' draws) happens first. */
static int rehash(sw_map *m, sw_table *t)
{
    const pm_maptype *mt = m->base.t;
    pm_runtime *rt = m->base.rt;
    uint64_t newCapacity = 2 * (uint64_t)t->capacity;
    bool split = newCapacity > SW_MAX_TABLE_CAPACITY;
    uint64_t cap = split ? SW_MAX_TABLE_CAPACITY : newCapacity;
    int rc = gc_check_alloc(rt, cap / SW_GROUP_SLOTS * mt->groupsize, !mt->bucket_ptrs);
    if (rc == PM_OK && split && t->localDepth == m->globalDepth)
        rc = gc_check_alloc(rt, 16 * (uint64_t)m->dirLen, false);
    if (rc != PM_OK)
        return rc;
    uint64_t *hashes;
    size_t n;
    if ((rc = sw_rehash_hashes(m, t->groups, &hashes, &n)) != PM_OK)
        return rc;
    if (!split) {
        sw_table *nt = sw_table_new(m, newCapacity, t->index, t->localDepth);
        if (!nt) {
            free(hashes);
            return PM_ENOMEM;
        }
        rehash_into(m, t, hashes, nt, NULL, 0);
        free(hashes);
        sw_replace_table(m, nt);
        t->index = -1;
        sw_table_release(t);     /* the directory's reference */
        return PM_OK;
    }
    uint8_t ld = (uint8_t)(t->localDepth + 1);
    sw_table *left = sw_table_new(m, SW_MAX_TABLE_CAPACITY, -1, ld);
    sw_table *right = left ? sw_table_new(m, SW_MAX_TABLE_CAPACITY, -1, ld) : NULL;
    if (!right) {
        sw_table_release(left);
        free(hashes);
        return PM_ENOMEM;
    }
    rehash_into(m, t, hashes, left, right, (uint64_t)1 << ((64 - ld) & 63));
    free(hashes);
    if ((rc = sw_install_split(m, t, left, right)) != PM_OK) {
        sw_table_release(left);
        sw_table_release(right);
        return rc;
    }
    t->index = -1;
    sw_table_release(t);
    return PM_OK;
}

/* pruneTombstones (1.25+): turn into empty slots the tombstones of groups
 * no probe needs -- groups that hold no empty slot and lie on no full
 * slot's probe path before its home group -- when at least 10% of the
 * capacity is tombstones and at least 10% can be recovered. */
static void prune_tombstones(sw_map *m, sw_table *t)
{
    const pm_maptype *mt = m->base.t;
    if ((uint32_t)sw_table_tombstones(t) * 10 < t->capacity)
        return;
    uint32_t needed[(SW_MAX_TABLE_CAPACITY / SW_GROUP_SLOTS + 31) / 32] = {0};
    for (uint64_t i = 0; i <= t->lengthMask; i++) {
        unsigned char *g = sw_group(mt, t->groups, i);
        uint64_t ctrl = sw_ctrl(g);
        for (sw_bitset b = sw_match_full(ctrl); b; b = sw_remove_first(b)) {
            const unsigned char *k = slot_key(mt, sw_key(mt, g, sw_first(b)));
            if (!key_equal(mt, k, k))
                continue;   /* NaN: never looked up */
            uint64_t hash = sw_hash(m, k);
            for (sw_probe p = sw_probe_start(hash, t->lengthMask); p.offset != i; sw_probe_next(&p))
                if (sw_match_empty_or_deleted(sw_ctrl(sw_group(mt, t->groups, p.offset))))
                    needed[p.offset / 32] |= 1u << (p.offset % 32);
        }
        if (sw_match_empty(ctrl))
            needed[i / 32] |= 1u << (i % 32);
    }
    unsigned cnt = 0;
    for (uint64_t i = 0; i <= t->lengthMask; i++)
        if (!(needed[i / 32] >> (i % 32) & 1))
            cnt += sw_count(sw_match_empty_or_deleted(sw_ctrl(sw_group(mt, t->groups, i))));
    if (cnt * 10 < t->capacity)
        return;
    for (uint64_t i = 0; i <= t->lengthMask; i++) {
        if (needed[i / 32] >> (i % 32) & 1)
            continue;
        unsigned char *g = sw_group(mt, t->groups, i);
        for (sw_bitset b = sw_match_empty_or_deleted(sw_ctrl(g)); b; b = sw_remove_first(b)) {
            sw_set_ctrl(g, sw_first(b), SW_CTRL_EMPTY);
            t->growthLeft++;
        }
    }
}

/* runtime_mapassign and its fast variants on a table map.  They place keys
 * identically; they differ in whether a table out of growthLeft first
 * tries pruneTombstones (the version table's prune_paths). */
int sw_table_assign(sw_map *m, uint64_t hash, const unsigned char *key, const uint8_t *elem, size_t elemlen)
{
    const pm_maptype *mt = m->base.t;
    bool prune = m->base.rt->ver->swiss.prune_paths & AP_BIT(mt->assign_path);
    uint8_t h2 = sw_h2(hash);
    int rc;
    for (;;) {
        sw_table *t = sw_directory_at(m, sw_directory_index(m, hash));
        unsigned char *tombg = NULL;
        unsigned tombi = 0;
        for (sw_probe p = sw_probe_start(hash, t->lengthMask);; sw_probe_next(&p)) {
            unsigned char *g = sw_group(mt, t->groups, p.offset);
            uint64_t ctrl = sw_ctrl(g);
            for (sw_bitset b = sw_match_h2(ctrl, h2); b; b = sw_remove_first(b)) {
                unsigned i = sw_first(b);
                if (slot_is(mt, g, i, key))
                    return slot_update(&m->base, sw_key(mt, g, i), sw_elem(mt, g, i), key, elem, elemlen);
            }
            sw_bitset empty = sw_match_empty(ctrl);
            if (!empty) {
                sw_bitset ed = sw_match_empty_or_deleted(ctrl);
                if (!tombg && ed) {
                    tombg = g;
                    tombi = sw_first(ed);
                }
                continue;
            }
            /* The probe ends here: reuse the first tombstone, else the lowest empty slot. */
            unsigned i = sw_first(empty);
            bool reuse = tombg != NULL;
            if (reuse) {
                g = tombg;
                i = tombi;
            }
            if (!reuse && t->growthLeft == 0 && prune)
                prune_tombstones(m, t);
            if (!reuse && t->growthLeft == 0) {
                if ((rc = rehash(m, t)) != PM_OK)
                    return rc;
                break;   /* start over: the key's table may have changed */
            }
            if ((rc = slot_store(&m->base, sw_key(mt, g, i), sw_elem(mt, g, i), key, elem, elemlen)) != PM_OK)
                return rc;
            sw_set_ctrl(g, i, h2);
            if (!reuse)
                t->growthLeft--;
            t->used++;
            m->used++;
            return PM_OK;
        }
    }
}

/* table.Delete.  The key is cleared only when it holds pointers, the elem
 * always (golang/go#25936).  The slot becomes empty (growthLeft back) if its
 * group still has an empty slot -- no probe can have passed through a group
 * with an empty slot -- else a tombstone. */
bool sw_table_delete(sw_map *m, sw_table *t, uint64_t hash, const unsigned char *key, bool *found)
{
    const pm_maptype *mt = m->base.t;
    sw_slot s;
    *found = sw_table_find(m, t, hash, key, &s);
    if (!*found)
        return false;
    t->used--;
    m->used--;
    if (mt->key_ptrs)
        slot_clear_key(mt, sw_key(mt, s.group, s.i));
    slot_clear_elem(mt, sw_elem(mt, s.group, s.i));
    if (sw_match_empty(sw_ctrl(s.group))) {
        sw_set_ctrl(s.group, s.i, SW_CTRL_EMPTY);
        t->growthLeft++;
        return false;
    }
    sw_set_ctrl(s.group, s.i, SW_CTRL_DELETED);
    return true;
}

/* table.Clear, per the version table: which groups are memclr'ed shows in
 * the stale key bytes left behind. */
void sw_table_clear(sw_map *m, sw_table *t)
{
    const pm_maptype *mt = m->base.t;
    uint16_t mgl = sw_max_growth_left(t->capacity);
    int mode = m->base.rt->ver->swiss.clear_mode;
    if (mode != SWC_ALL && t->used == 0 && t->growthLeft == mgl)
        return;   /* no entries, no tombstones */
    bool test = mode == SWC_FULL ||
                (mode == SWC_HEURISTIC && ((uint64_t)t->used * 4 <= t->lengthMask || mt->slotsize > 32));
    for (uint64_t i = 0; i <= t->lengthMask; i++) {
        unsigned char *g = sw_group(mt, t->groups, i);
        if (!test || sw_match_full(sw_ctrl(g)))
            sw_group_memclr(mt, g);
        sw_set_empty(g);
    }
    t->used = 0;
    t->growthLeft = mgl;
}
