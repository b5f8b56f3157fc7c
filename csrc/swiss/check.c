/*
 * swiss/check.c -- the Swiss map's consistency checker, in the spirit of
 * table_debug.go's checkInvariants and CPython's _PyDict_CheckConsistency.
 *
 *   1. used is the sum of the tables' used (a small map: its full slots),
 *      and each table's used counts its full slots;
 *   2. growthLeft + used + tombstones == maxGrowthLeft(capacity), the
 *      tombstones counted as 0xFE bytes, not derived;
 *   3. every full slot's byte is H2 of its key, and a probe for the key
 *      reaches its group before any group with an empty slot; no key is
 *      there twice (NaN keys, whose hash was drawn, are exempt from both);
 *   4. no group holds both a tombstone and an empty slot;
 *   5. the directory has 2^globalDepth entries, globalShift is
 *      64 - globalDepth, each table has localDepth <= globalDepth and fills
 *      exactly the aligned run of 2^(globalDepth - localDepth) entries that
 *      starts at its index, and no table in it is stale;
 *   6. capacity is a power of two in 8..1024 with capacity/8 groups;
 *   7. a small map has no tombstones and at most 8 entries, and no
 *      directory; only one of small group and directory exists.
 *
 * The debug build runs it after every mutation.  It never draws: NaN keys
 * are recognised before hashing.
 */
#include "pymap.h"
#include "swiss/group.h"

#define CHECK(cond, ...) do { if (!(cond)) { set_error(__VA_ARGS__); return PM_EINVARIANT; } } while (0)

static int check_group_keys(const sw_map *m, const sw_table *tab, uint64_t gi, unsigned char *g)
{
    const pm_maptype *t = m->base.t;
    for (sw_bitset b = sw_match_full(sw_ctrl(g)); b; b = sw_remove_first(b)) {
        unsigned i = sw_first(b);
        const unsigned char *k = slot_key(t, sw_key(t, g, i));
        CHECK(!(t->flags & TF_INDIRECTKEY) || k, "full slot %u of group %llu has a nil key box",
              i, (unsigned long long)gi);
        CHECK(image_valid(t->key_kind, k), "slot %u of group %llu: the key is not a valid value",
              i, (unsigned long long)gi);
        const unsigned char *e = slot_elem(t, sw_elem(t, g, i));
        CHECK(!e || image_valid(t->elem_kind, e), "slot %u of group %llu: the elem is not a valid value",
              i, (unsigned long long)gi);
        if (!key_equal(t, k, k))
            continue;   /* NaN: placed by a drawn hash */
        if (!tab) {
            /* A small map is searched by matching H2 across its one group:
             * a second equal key would never be found, so look for it. */
            for (sw_bitset b2 = sw_remove_first(b); b2; b2 = sw_remove_first(b2)) {
                const unsigned char *k2 = slot_key(t, sw_key(t, g, sw_first(b2)));
                CHECK(!k2 || !key_equal(t, k, k2), "small map: slots %u and %u hold equal keys", i,
                      sw_first(b2));
            }
        }
        uint64_t hash = sw_hash((sw_map *)m, k);
        CHECK(g[i] == sw_h2(hash), "slot %u of group %llu: control byte %#x, H2 of its key %#x",
              i, (unsigned long long)gi, g[i], sw_h2(hash));
        if (!tab)
            continue;
        CHECK(sw_directory_at(m, sw_directory_index(m, hash)) == tab,
              "a key of the table at index %lld hashes to another table", (long long)tab->index);
        sw_slot s;
        CHECK(sw_table_find(m, tab, hash, k, &s), "a key in group %llu is not found by its probe",
              (unsigned long long)gi);
        CHECK(s.group == g && s.i == i, "a key in group %llu slot %u is also found elsewhere",
              (unsigned long long)gi, i);
    }
    return PM_OK;
}

static int check_table(const sw_map *m, const sw_table *tab, uint64_t *used)
{
    const pm_maptype *t = m->base.t;
    uint16_t cap = tab->capacity;
    CHECK(cap >= SW_GROUP_SLOTS && cap <= SW_MAX_TABLE_CAPACITY && (cap & (cap - 1)) == 0,
          "table capacity %u is not a power of two in [8, 1024]", cap);
    CHECK(tab->lengthMask + 1 == cap / SW_GROUP_SLOTS && tab->groups->nelems == cap / SW_GROUP_SLOTS,
          "a %u-slot table has %llu groups", cap, (unsigned long long)tab->groups->nelems);
    uint32_t full = 0, tomb = 0;
    for (uint64_t gi = 0; gi <= tab->lengthMask; gi++) {
        unsigned char *g = sw_group(t, tab->groups, gi);
        uint64_t c = sw_ctrl(g);
        sw_bitset empty = sw_match_empty(c), dead = sw_match_empty_or_deleted(c) & ~empty;
        CHECK(!(empty && dead), "group %llu holds both a tombstone and an empty slot",
              (unsigned long long)gi);
        full += sw_count(sw_match_full(c));
        tomb += sw_count(dead);
        int rc = check_group_keys(m, tab, gi, g);
        if (rc != PM_OK)
            return rc;
    }
    CHECK(full == tab->used, "table at index %lld: used %u, full slots %u", (long long)tab->index,
          tab->used, full);
    CHECK((uint32_t)tab->growthLeft + tab->used + tomb == sw_max_growth_left(cap),
          "table at index %lld: growthLeft %u + used %u + tombstones %u != %u", (long long)tab->index,
          tab->growthLeft, tab->used, tomb, sw_max_growth_left(cap));
    *used += tab->used;
    return PM_OK;
}

int swiss_check(const pm_map *pm)
{
    const sw_map *m = SMAP(pm);
    const pm_maptype *t = pm->t;
    CHECK(!(m->small && m->dir), "both a small group and a directory");
    if (m->small) {
        unsigned char *g = m->small->data;
        uint64_t c = sw_ctrl(g);
        CHECK(sw_match_empty_or_deleted(c) == sw_match_empty(c), "a small map holds a tombstone");
        CHECK(sw_count(sw_match_full(c)) == m->used, "small map: used %llu, full slots %u",
              (unsigned long long)m->used, sw_count(sw_match_full(c)));
        CHECK(m->dirLen == 0 && m->globalShift == 0, "a small map with dirLen %lld, globalShift %u",
              (long long)m->dirLen, m->globalShift);
        return check_group_keys(m, NULL, 0, g);
    }
    if (!m->dir) {
        CHECK(m->used == 0 && m->dirLen == 0, "no storage but used %llu, dirLen %lld",
              (unsigned long long)m->used, (long long)m->dirLen);
        return PM_OK;
    }
    CHECK(m->globalDepth < 64 && m->dirLen == (int64_t)1 << m->globalDepth,
          "dirLen %lld is not 2^globalDepth (%u)", (long long)m->dirLen, m->globalDepth);
    CHECK(m->globalShift == 64 - m->globalDepth, "globalShift %u with globalDepth %u",
          m->globalShift, m->globalDepth);
    uint64_t used = 0;
    for (int64_t i = 0; i < m->dirLen;) {
        const sw_table *tab = m->dir[i];
        CHECK(tab && tab->index == i, "directory entry %lld starts a run of a table whose index is %lld",
              (long long)i, tab ? (long long)tab->index : -2LL);
        CHECK(tab->localDepth <= m->globalDepth, "localDepth %u > globalDepth %u", tab->localDepth,
              m->globalDepth);
        int64_t run = (int64_t)1 << (m->globalDepth - tab->localDepth);
        CHECK(i % run == 0, "the run of the table at %lld is not aligned to %lld", (long long)i,
              (long long)run);
        for (int64_t j = i; j < i + run; j++)
            CHECK(j < m->dirLen && m->dir[j] == tab, "directory entry %lld is not in its table's run",
                  (long long)j);
        int rc = check_table(m, tab, &used);
        if (rc != PM_OK)
            return rc;
        i += run;
    }
    CHECK(used == m->used, "map used %llu, tables hold %llu", (unsigned long long)m->used,
          (unsigned long long)used);
    (void)t;
    return PM_OK;
}
