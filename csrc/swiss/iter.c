/*
 * swiss/iter.c -- iteration over a Swiss map: Iter.Init and Iter.Next.
 *
 * Order.  Init draws entryOffset, then dirOffset.  A small map yields its
 * slots (i + entryOffset) mod 8.  A table map starts at directory entry
 * dirOffset & (dirLen-1), moved back to the start of that table's run, and
 * walks the tables in directory order with wrap-around, each once; inside
 * a table of capacity C the slots come in the order
 * (entryIdx + entryOffset) & (C-1), entryIdx = 0..C-1.
 *
 * Mutation during iteration (legal in Go from the iterating goroutine):
 *   - the cursor is entryIdx, and after returning a slot it jumps to the
 *     next full slot of the same group, or to the next group: a slot of
 *     that group filled after the jump is not seen (as in Go);
 *   - a table that grew or split since (index -1) is still walked -- the
 *     iterator holds it -- but each key is looked up in the live map and
 *     the live key and elem are returned, or the key skipped if gone; a
 *     key not equal to itself (NaN) comes from the old slot if no clear
 *     happened (clearSeq);
 *   - a small map that grew is walked the same way, through its old group;
 *   - a doubled directory shifts dirIdx and dirOffset left so that the walk
 *     continues at the same logical place.
 * Looking a key up hashes it, so a NaN key in a grown table draws.
 */
#include "pymap.h"
#include "swiss/group.h"

int swiss_iter_init(pm_map *pm, const pm_iterstart *start, pm_iter *it)
{
    sw_map *m = SMAP(pm);
    if (m->used == 0)
        return PM_OK;   /* no draw */
    swiss_iter *s = &it->s;
    if (start->given) {
        s->entryOffset = start->a;
        s->dirOffset = start->b;
    } else {
        s->entryOffset = pm_rand(pm->rt, PM_RAND_ITER);
        s->dirOffset = pm_rand(pm->rt, PM_RAND_ITER);
        if (pm_op_draws.failed)
            return PM_ERAND;
    }
    s->dirIdx = 0;
    if (m->small) {
        s->dirIdx = -1;
        s->small = m->small;
        gc_incref(s->small);
        s->group = m->small->data;
    }
    s->globalDepth = m->globalDepth;
    s->clearSeq = m->clearSeq;
    it->m = pm;
    pm_map_retain(pm);
    it->done = false;
    return PM_OK;
}

void swiss_iter_release(pm_iter *it)
{
    sw_table_release(it->s.tab);
    gc_decref(it->s.small);
    it->s.tab = NULL;
    it->s.small = NULL;
    it->s.group = NULL;
}

void swiss_iter_start(const pm_iter *it, uint64_t *a, uint64_t *b)
{
    *a = it->s.entryOffset;
    *b = it->s.dirOffset;
}

static void set_entry(pm_iter *it, const unsigned char *k, const unsigned char *e)
{
    it->key = k;
    it->elem = e;
}

/* The entry of old slot i (key image k) in a grown map: the live one, the
 * old one for a NaN key if no clear happened, or none. */
static bool grown_entry(pm_iter *it, unsigned char *k, unsigned char *g, unsigned i)
{
    sw_map *m = SMAP(it->m);
    const pm_maptype *t = it->m->t;
    unsigned char *lk, *le;
    if (sw_lookup(m, k, &lk, &le)) {
        set_entry(it, lk, le);
        return true;
    }
    if (it->s.clearSeq == m->clearSeq && !key_equal(t, k, k)) {
        set_entry(it, k, slot_elem(t, sw_elem(t, g, i)));
        return true;
    }
    return false;
}

static int next_small(pm_iter *it)
{
    swiss_iter *s = &it->s;
    sw_map *m = SMAP(it->m);
    const pm_maptype *t = it->m->t;
    unsigned char *g = s->group;
    for (; s->entryIdx < SW_GROUP_SLOTS; s->entryIdx++) {
        unsigned k = (unsigned)((s->entryIdx + s->entryOffset) % SW_GROUP_SLOTS);
        if (g[k] & SW_CTRL_EMPTY)
            continue;   /* empty (small groups hold no tombstones) */
        unsigned char *key = slot_key(t, sw_key(t, g, k));
        if (m->dirLen > 0) {
            if (!grown_entry(it, key, g, k)) {
                if (pm_op_draws.failed)
                    return PM_ERAND;
                continue;
            }
        } else {
            set_entry(it, key, slot_elem(t, sw_elem(t, g, k)));
        }
        s->entryIdx++;
        return PM_OK;
    }
    set_entry(it, NULL, NULL);
    it->done = true;
    return PM_OK;
}

static void next_dir_idx(pm_iter *it)
{
    swiss_iter *s = &it->s;
    s->dirIdx += (int64_t)1 << (SMAP(it->m)->globalDepth - s->tab->localDepth);
    sw_table_release(s->tab);
    s->tab = NULL;
    s->group = NULL;
    s->entryIdx = 0;
}

int swiss_iter_next(pm_iter *it)
{
    swiss_iter *s = &it->s;
    sw_map *m = SMAP(it->m);
    const pm_maptype *t = it->m->t;
    if (s->dirIdx < 0)
        return next_small(it);
    if (s->globalDepth != m->globalDepth) {
        unsigned orders = (unsigned)(m->globalDepth - s->globalDepth);
        s->dirIdx <<= orders;
        s->dirOffset <<= orders;
        s->globalDepth = m->globalDepth;
    }
    for (; s->dirIdx < m->dirLen; next_dir_idx(it)) {
        if (!s->tab) {
            int64_t d = (int64_t)(((uint64_t)s->dirIdx + s->dirOffset) & (uint64_t)(m->dirLen - 1));
            sw_table *nt = m->dir[d];
            if (nt->index != d) {
                /* d is inside nt's run: start the walk at the run's start */
                s->dirOffset -= (uint64_t)(d - nt->index);
                d = nt->index;
            }
            s->tab = nt;
            __atomic_fetch_add(&nt->refcnt, 1, __ATOMIC_RELAXED);
        }
        sw_table *tab = s->tab;
        uint64_t mask = (uint64_t)tab->capacity - 1;
        if (s->entryIdx > mask)
            continue;
        bool grown = tab->index == -1;

        /* The slot the cursor points at, if it is full. */
        uint64_t e = (s->entryIdx + s->entryOffset) & mask;
        unsigned slot = (unsigned)(e & (SW_GROUP_SLOTS - 1));
        if (slot == 0 || !s->group)
            s->group = sw_group(t, tab->groups, e >> SW_GROUP_SLOTS_BITS);
        if (!(s->group[slot] & SW_CTRL_EMPTY)) {
            unsigned char *key = slot_key(t, sw_key(t, s->group, slot));
            bool ok = true;
            if (grown)
                ok = grown_entry(it, key, s->group, slot);
            else
                set_entry(it, key, slot_elem(t, sw_elem(t, s->group, slot)));
            if (pm_op_draws.failed)
                return PM_ERAND;
            if (ok) {
                s->entryIdx++;
                return PM_OK;
            }
        }
        s->entryIdx++;

        /* Scan on, a group's full slots at a time. */
        sw_bitset match = 0;
        while (s->entryIdx <= mask) {
            e = (s->entryIdx + s->entryOffset) & mask;
            slot = (unsigned)(e & (SW_GROUP_SLOTS - 1));
            if (slot == 0 || !s->group)
                s->group = sw_group(t, tab->groups, e >> SW_GROUP_SLOTS_BITS);
            if (!match) {
                match = sw_match_full(sw_ctrl(s->group));
                if (slot != 0)
                    match = sw_remove_below(match, slot);
                if (!match) {
                    s->entryIdx += SW_GROUP_SLOTS - slot;
                    continue;
                }
                unsigned i = sw_first(match);
                s->entryIdx += i - slot;
                if (s->entryIdx > mask)
                    continue;
                slot = i;
            }
            unsigned char *key = slot_key(t, sw_key(t, s->group, slot));
            if (grown) {
                if (!grown_entry(it, key, s->group, slot)) {
                    if (pm_op_draws.failed)
                        return PM_ERAND;
                    match = sw_remove_first(match);
                    if (!match) {
                        s->entryIdx += SW_GROUP_SLOTS - slot;
                        continue;
                    }
                    s->entryIdx += sw_first(match) - slot;
                    continue;
                }
                if (pm_op_draws.failed)
                    return PM_ERAND;
            } else {
                set_entry(it, key, slot_elem(t, sw_elem(t, s->group, slot)));
            }
            match = sw_remove_first(match);
            if (!match)
                s->entryIdx += SW_GROUP_SLOTS - slot;
            else
                s->entryIdx += sw_first(match) - slot;
            return PM_OK;
        }
    }
    set_entry(it, NULL, NULL);
    it->done = true;
    return PM_OK;
}
