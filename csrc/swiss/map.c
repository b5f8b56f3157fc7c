/*
 * swiss/map.c -- the Swiss map's Map-level operations (map.go, runtime.go):
 * make with a hint, small maps, growth to a table, the directory, delete,
 * clear, maps.Clone, inspection, and the ops table the generic layer calls.
 *
 * What it models.  make(map[K]V, hint) with hint <= 8 allocates only the
 * 48-byte Map (the group comes with the first insert, growToSmall); a
 * larger hint builds a directory of dirSize = pow2(ceil(T/1024)) tables of
 * pow2(max(8, T/dirSize)) slots, T = hint*8/7.  A small map is one group
 * used as a plain array: an insert takes the lowest empty slot, a delete
 * empties its slot.  The 9th distinct key (on 1.24-1.26 any assign to a
 * full small map) moves the entries into a 16-slot table behind a 1-entry
 * directory; a map never becomes small again.  The seed is drawn at make,
 * redrawn when a delete empties the map and by every clear that does work.
 * Nothing shrinks: deletes and clears keep every table and the directory.
 *
 * Invariants: used is the sum of the tables' used (or the small group's
 * full slots); the directory has 2^globalDepth entries, each table's run
 * starts at its index, a multiple of the run length; globalShift is 64 -
 * globalDepth once a directory exists (0 before).  check.c verifies them.
 *
 * Left out: non-escaping maps (stack-allocated Map and small group), the
 * split-group layout of GOEXPERIMENT=mapsplitgroup, interface keys, and
 * the AES hash.
 */
#include <stdlib.h>
#include "pymap.h"
#include "swiss/group.h"

_Static_assert(SW_MAP_SIZE == 48, "maps.Map is 48 bytes on 64-bit: used, seed, dirPtr, dirLen, 4 bytes, clearSeq");

static uint64_t pow2_u64(uint64_t n)
{
    uint64_t p = 1;
    while (p < n && p)
        p <<= 1;
    return p;   /* 0 when n > 2^63 */
}

uint64_t sw_hash(sw_map *m, const unsigned char *key)
{
    const pm_maptype *t = m->base.t;
    if (t->keyclass == KC_MEM8) {
        uint64_t w;
        memcpy(&w, key, 8);
        return pm_memhash_word(m->base.rt, w, m->seed, 8);
    }
    if (t->keyclass == KC_MEM4) {
        uint32_t w;
        memcpy(&w, key, 4);
        return pm_memhash_word(m->base.rt, w, m->seed, 4);
    }
    return pm_typehash(m->base.rt, t, key, m->seed);
}

/* ---- the directory ---- */

sw_table *sw_directory_at(const sw_map *m, uint64_t i) { return m->dir[i]; }

uint64_t sw_directory_index(const sw_map *m, uint64_t hash)
{
    if (m->dirLen == 1)
        return 0;   /* a shift by 64 would be masked to 0 */
    return hash >> (m->globalShift & 63);
}

/* Point the run of nt (from nt->index) at nt. */
void sw_replace_table(sw_map *m, sw_table *nt)
{
    int64_t entries = (int64_t)1 << (m->globalDepth - nt->localDepth);
    for (int64_t i = 0; i < entries; i++)
        m->dir[nt->index + i] = nt;
}

/* A new directory array of n entries (the old one becomes garbage). */
static int directory_alloc(sw_map *m, int64_t n, sw_table ***out, uintptr_t *slot, uint64_t *charged)
{
    int rc = gc_check_alloc(m->base.rt, 8 * (uint64_t)n, false);
    if (rc != PM_OK)
        return rc;
    sw_table **d = calloc((size_t)n, sizeof *d);
    if (!d) {
        set_error("out of memory");
        return PM_ENOMEM;
    }
    *charged = go_charged(m->base.rt->ver, 8 * (uint64_t)n, false);
    *slot = gc_charge(&m->base, 8 * (uint64_t)n, false);   /* make([]*table, n) */
    *out = d;
    return PM_OK;
}

static void directory_free(sw_map *m)
{
    heap_free(m->base.rt, m->hslot_dir);
    free(m->dir);
    m->dir = NULL;
    m->hslot_dir = 0;
    m->dir_charged = 0;
}

/* installTableSplit: double the directory if old used all its bits, then
 * left takes the first half of old's run and right the second. */
int sw_install_split(sw_map *m, sw_table *old, sw_table *left, sw_table *right)
{
    if (old->localDepth == m->globalDepth) {
        sw_table **nd;
        uintptr_t slot;
        uint64_t charged;
        int rc = directory_alloc(m, 2 * m->dirLen, &nd, &slot, &charged);
        if (rc != PM_OK)
            return rc;
        for (int64_t i = 0; i < m->dirLen; i++) {
            sw_table *t = m->dir[i];
            nd[2 * i] = nd[2 * i + 1] = t;
            if (t->index == i)
                t->index = 2 * i;
        }
        directory_free(m);
        m->dir = nd;
        m->hslot_dir = slot;
        m->dir_charged = charged;
        m->dirLen *= 2;
        m->globalDepth++;
        m->globalShift--;
    }
    left->index = old->index;
    sw_replace_table(m, left);
    right->index = left->index + ((int64_t)1 << (m->globalDepth - left->localDepth));
    sw_replace_table(m, right);
    return PM_OK;
}

/* ---- make ---- */

static int swiss_make(pm_runtime *rt, pm_maptype *t, int64_t hint, pm_map **out)
{
    /* makemap: a negative hint (or one beyond int) is 0; NewMap: a target
     * that overflows, or groups beyond maxAlloc, give an empty map. */
    uint64_t h = hint < 0 ? 0 : (uint64_t)hint;
    uint64_t dirSize = 0, target = 0;
    if (h > SW_GROUP_SLOTS) {
        unsigned __int128 tc = (unsigned __int128)h * SW_GROUP_SLOTS / SW_MAX_AVG_GROUP_LOAD;
        target = (uint64_t)tc;
        dirSize = pow2_u64((target + SW_MAX_TABLE_CAPACITY - 1) / SW_MAX_TABLE_CAPACITY);
        unsigned __int128 mem = (unsigned __int128)dirSize * SW_MAX_TABLE_CAPACITY * t->groupsize;
        if (tc >> 64 || dirSize == 0 || mem > MAX_ALLOC_GO)
            dirSize = 0;
    }
    /* Everything that can fail before anything is made: max_alloc per
     * object, and the whole make against max_alloc (a hint the machine
     * cannot hold is refused, not attempted). */
    int rc = gc_check_alloc(rt, SW_MAP_SIZE, false);
    uint64_t tcap = 0;
    if (dirSize) {
        tcap = pow2_u64(target / dirSize < SW_GROUP_SLOTS ? SW_GROUP_SLOTS : target / dirSize);
        uint64_t gbytes = tcap / SW_GROUP_SLOTS * t->groupsize;
        if (rc == PM_OK)
            rc = gc_check_alloc(rt, 8 * dirSize, false);
        if (rc == PM_OK)
            rc = gc_check_alloc(rt, gbytes, !t->bucket_ptrs);
        unsigned __int128 total = (unsigned __int128)dirSize * (gbytes + SW_TABLE_SIZE);
        if (rc == PM_OK && total > rt->max_alloc) {
            set_error("make(map, %llu) exceeds max_alloc (%llu tables of %llu slots; max_alloc %llu)",
                      (unsigned long long)h, (unsigned long long)dirSize,
                      (unsigned long long)tcap, (unsigned long long)rt->max_alloc);
            rc = PM_EMAXALLOC;
        }
    }
    if (rc != PM_OK)
        return rc;
    uint64_t seed = pm_rand(rt, PM_RAND_SEED);
    if (pm_rand_failed())
        return PM_ERAND;
    sw_map *m = calloc(1, sizeof *m);
    if (!m) {
        set_error("out of memory");
        return PM_ENOMEM;
    }
    map_init_header(&m->base, &swiss_map_ops, rt, t);
    m->map_charged = go_charged(rt->ver, SW_MAP_SIZE, false);
    m->hslot_map = gc_charge(&m->base, SW_MAP_SIZE, false);   /* new(Map) */
    m->seed = seed;
    if (dirSize) {
        m->globalDepth = (uint8_t)__builtin_ctzll(dirSize);
        m->globalShift = (uint8_t)(64 - m->globalDepth);
        rc = directory_alloc(m, (int64_t)dirSize, &m->dir, &m->hslot_dir, &m->dir_charged);
        m->dirLen = rc == PM_OK ? (int64_t)dirSize : 0;
        for (uint64_t i = 0; rc == PM_OK && i < dirSize; i++) {
            m->dir[i] = sw_table_new(m, target / dirSize, (int64_t)i, m->globalDepth);
            if (!m->dir[i])
                rc = PM_ENOMEM;
        }
        if (rc != PM_OK) {
            pm_map_release(&m->base);
            return rc;
        }
    }
    *out = &m->base;
    return PM_OK;
}

static void swiss_destroy(pm_map *pm)
{
    sw_map *m = SMAP(pm);
    gc_decref(m->small);
    for (int64_t i = 0; m->dir && i < m->dirLen; i++)
        if (m->dir[i] && (i == 0 || m->dir[i] != m->dir[i - 1]))
            sw_table_release(m->dir[i]);
    if (m->dir)
        directory_free(m);
    heap_free(pm->rt, m->hslot_map);
}

static int64_t swiss_len(const pm_map *pm)
{
    return (int64_t)__atomic_load_n(&SMAP(pm)->used, __ATOMIC_RELAXED);
}

/* ---- small maps ---- */

/* growToSmall: the one group, all control bytes empty. */
static int grow_to_small(sw_map *m)
{
    const pm_maptype *t = m->base.t;
    gobj *g = gc_alloc(&m->base, OBJ_GROUPS, t->groupsize, !t->bucket_ptrs);   /* newarray(group, 1) */
    if (!g) {
        set_error("out of memory");
        return PM_ENOMEM;
    }
    g->nelems = 1;
    sw_set_empty(g->data);
    m->small = g;
    return PM_OK;
}

/* growToTable: a 16-slot table takes the small group's entries in slot
 * order, behind a 1-entry directory; the group becomes garbage. */
static int grow_to_table(sw_map *m)
{
    const pm_maptype *t = m->base.t;
    int rc = gc_check_alloc(m->base.rt, 2 * t->groupsize, !t->bucket_ptrs);
    if (rc != PM_OK)
        return rc;
    uint64_t *hashes;
    size_t n;
    if ((rc = sw_rehash_hashes(m, m->small, &hashes, &n)) != PM_OK)
        return rc;
    sw_table *tab = sw_table_new(m, 2 * SW_GROUP_SLOTS, 0, 0);
    if (!tab) {
        free(hashes);
        return PM_ENOMEM;
    }
    sw_table **d;
    uintptr_t slot;
    uint64_t charged;
    if ((rc = directory_alloc(m, 1, &d, &slot, &charged)) != PM_OK) {
        sw_table_release(tab);
        free(hashes);
        return rc;
    }
    unsigned char *g = m->small->data;
    size_t k = 0;
    for (sw_bitset b = sw_match_full(sw_ctrl(g)); b; b = sw_remove_first(b)) {
        unsigned i = sw_first(b);
        sw_table_put_unchecked(tab, t, hashes[k++], sw_key(t, g, i), sw_elem(t, g, i));
    }
    free(hashes);
    d[0] = tab;
    m->dir = d;
    m->hslot_dir = slot;
    m->dir_charged = charged;
    m->dirLen = 1;
    m->globalDepth = 0;
    m->globalShift = 64;
    gc_decref(m->small);
    m->small = NULL;
    return PM_OK;
}

/* putSlotSmall: update an equal key, else take the lowest empty slot.
 * Returns 1 when the group is full and the key is not in it. */
static int put_small(sw_map *m, uint64_t hash, const unsigned char *key, const uint8_t *elem, size_t elemlen)
{
    const pm_maptype *t = m->base.t;
    unsigned char *g = m->small->data;
    uint64_t ctrl = sw_ctrl(g);
    for (sw_bitset b = sw_match_h2(ctrl, sw_h2(hash)); b; b = sw_remove_first(b)) {
        unsigned i = sw_first(b);
        if (key_equal(t, key, slot_key(t, sw_key(t, g, i))))
            return slot_update(&m->base, sw_key(t, g, i), sw_elem(t, g, i), key, elem, elemlen);
    }
    sw_bitset free_ = sw_match_empty_or_deleted(ctrl);
    if (!free_)
        return 1;
    unsigned i = sw_first(free_);
    int rc = slot_store(&m->base, sw_key(t, g, i), sw_elem(t, g, i), key, elem, elemlen);
    if (rc != PM_OK)
        return rc;
    sw_set_ctrl(g, i, sw_h2(hash));
    m->used++;
    return PM_OK;
}

/* ---- assign, lookup, delete ---- */

static int swiss_assign(pm_map *pm, const unsigned char *key, const uint8_t *elem, size_t elemlen)
{
    sw_map *m = SMAP(pm);
    const pm_maptype *t = pm->t;
    uint64_t hash = sw_hash(m, key);
    if (pm_op_draws.failed)
        return PM_ERAND;    /* hashing a NaN key: before any change */
    int rc;
    /* What a new entry allocates is checked before the first change. */
    if ((t->flags & TF_INDIRECTKEY) && (rc = gc_check_alloc(pm->rt, t->keysize, true)) != PM_OK)
        return rc;
    if ((t->flags & TF_INDIRECTELEM) && (rc = gc_check_alloc(pm->rt, t->elemsize, true)) != PM_OK)
        return rc;
    if (!m->small && !m->dir) {
        if ((rc = gc_check_alloc(pm->rt, t->groupsize, !t->bucket_ptrs)) != PM_OK)
            return rc;
        if ((rc = grow_to_small(m)) != PM_OK)
            return rc;
    }
    if (m->small) {
        /* 1.24-1.26 grow a full small map before looking for the key. */
        bool full = m->used >= SW_GROUP_SLOTS;
        if (!(full && pm->rt->ver->swiss.small_update_grows)) {
            rc = put_small(m, hash, key, elem, elemlen);
            if (rc != 1)
                return rc;
        }
        if ((rc = grow_to_table(m)) != PM_OK)
            return rc;
    }
    return sw_table_assign(m, hash, key, elem, elemlen);
}

/* The slot holding key (whose hash is given), small map or table. */
static bool find_slot(const sw_map *m, uint64_t hash, const unsigned char *key, sw_slot *s)
{
    const pm_maptype *t = m->base.t;
    if (!m->small)
        return m->dir && sw_table_find(m, sw_directory_at(m, sw_directory_index(m, hash)), hash, key, s);
    unsigned char *g = m->small->data;
    for (sw_bitset b = sw_match_h2(sw_ctrl(g), sw_h2(hash)); b; b = sw_remove_first(b)) {
        unsigned i = sw_first(b);
        if (key_equal(t, key, slot_key(t, sw_key(t, g, i)))) {
            s->group = g;
            s->i = i;
            return true;
        }
    }
    return false;
}

bool sw_lookup(sw_map *m, const unsigned char *key, unsigned char **k, unsigned char **e)
{
    const pm_maptype *t = m->base.t;
    if (m->used == 0)
        return false;   /* no hash: Go returns before hashing */
    sw_slot s;
    if (!find_slot(m, sw_hash(m, key), key, &s))
        return false;
    *k = slot_key(t, sw_key(t, s.group, s.i));
    *e = slot_elem(t, sw_elem(t, s.group, s.i));
    return true;
}

static bool swiss_access(pm_map *pm, const unsigned char *key, unsigned char **k, unsigned char **e)
{
    return sw_lookup(SMAP(pm), key, k, e);
}

static void swiss_prefetch(pm_map *pm, const unsigned char *key)
{
    sw_map *m = SMAP(pm);
    const pm_maptype *t = pm->t;
    if (t->keyclass == KC_GENERIC || !m->dir || m->dirLen * SW_MAX_TABLE_CAPACITY * t->groupsize / 8 < PREFETCH_MIN_BYTES)
        return;
    uint64_t hash = sw_hash(m, key);
    sw_table *tab = m->dir[sw_directory_index(m, hash)];
    __builtin_prefetch(sw_group(t, tab->groups, sw_h1(hash) & tab->lengthMask));
}

static int swiss_remove(pm_map *pm, const unsigned char *key, int *deleted)
{
    sw_map *m = SMAP(pm);
    const pm_maptype *t = pm->t;
    *deleted = 0;
    if (m->used == 0)
        return PM_OK;
    uint64_t hash = sw_hash(m, key);
    if (pm_op_draws.failed)
        return PM_ERAND;
    /* Deleting the last entry reseeds: draw it first, so that a failing
     * rand changes nothing (no other draw comes in between). */
    uint64_t reseed = 0;
    if (m->used == 1) {
        sw_slot s;
        if (!find_slot(m, hash, key, &s))
            return PM_OK;
        reseed = pm_rand(pm->rt, PM_RAND_SEED);
        if (pm_op_draws.failed)
            return PM_ERAND;
    }
    if (m->small) {
        unsigned char *g = m->small->data;
        for (sw_bitset b = sw_match_h2(sw_ctrl(g), sw_h2(hash)); b; b = sw_remove_first(b)) {
            unsigned i = sw_first(b);
            if (!key_equal(t, key, slot_key(t, sw_key(t, g, i))))
                continue;
            m->used--;
            if (t->key_ptrs)
                slot_clear_key(t, sw_key(t, g, i));
            slot_clear_elem(t, sw_elem(t, g, i));
            sw_set_ctrl(g, i, SW_CTRL_EMPTY);
            *deleted = 1;
            break;
        }
    } else {
        bool found;
        sw_table *tab = sw_directory_at(m, sw_directory_index(m, hash));
        if (sw_table_delete(m, tab, hash, key, &found) && pm->rt->ver->swiss.tombstone_possible)
            m->tombstonePossible = true;
        *deleted = found;
    }
    if (m->used == 0)
        m->seed = reseed;   /* golang/go#25237 */
    return PM_OK;
}

/* ---- clear ---- */

void sw_group_memclr(const pm_maptype *t, unsigned char *g)
{
    if (t->bucket_ptrs) {
        for (unsigned i = 0; i < SW_GROUP_SLOTS; i++) {
            slot_release_key(t, sw_key(t, g, i));
            slot_release_elem(t, sw_elem(t, g, i));
        }
    }
    memset(g, 0, t->groupsize);
}

/* Map.Clear.  On 1.24 an emptied map is left alone even with tombstones;
 * from 1.25 tombstonePossible makes such a clear do its work. */
static int swiss_clear(pm_map *pm)
{
    sw_map *m = SMAP(pm);
    if (m->used == 0 && !m->tombstonePossible)
        return PM_OK;
    uint64_t seed = pm_rand(pm->rt, PM_RAND_SEED);   /* the only draw: first */
    if (pm_op_draws.failed)
        return PM_ERAND;
    if (m->small) {
        sw_group_memclr(pm->t, m->small->data);
        sw_set_empty(m->small->data);
        m->used = 0;
    } else {
        sw_table *last = NULL;
        for (int64_t i = 0; i < m->dirLen; i++) {
            if (m->dir[i] == last)
                continue;
            sw_table_clear(m, m->dir[i]);
            last = m->dir[i];
        }
        m->used = 0;
        m->tombstonePossible = false;
    }
    m->clearSeq++;
    m->seed = seed;
    return PM_OK;
}

/* ---- maps.Clone ---- */

/* Copy a group array into dst (zeroed, same size): memory as it is, stale
 * bytes included; boxes duplicated, strings and pointees shared. */
static int copy_groups(sw_map *c, gobj *dst, const gobj *src)
{
    const pm_maptype *t = c->base.t;
    memcpy(dst->data, src->data, src->size);
    dst->nelems = src->nelems;
    int rc = PM_OK;
    for (uint64_t gi = 0; gi < dst->nelems; gi++) {
        unsigned char *g = sw_group(t, dst, gi);
        for (unsigned i = 0; i < SW_GROUP_SLOTS; i++) {
            if (rc == PM_OK) {
                if (t->bucket_ptrs)
                    rc = slot_take_refs(&c->base, sw_key(t, g, i), sw_elem(t, g, i));
            } else if (t->bucket_ptrs) {
                /* not referenced: forget the pointers before the clone is freed */
                if (t->key_ptrs)
                    memset(sw_key(t, g, i), 0, t->keyslot);
                if (t->elem_ptrs)
                    memset(sw_elem(t, g, i), 0, t->elemslot);
            }
        }
    }
    return rc;
}

/* Go 1.25+: Map.Clone copies the structure -- header (seed, clearSeq and
 * tombstonePossible too), directory, every table and group. */
static int clone_structural(sw_map *m, sw_map **out)
{
    const pm_maptype *t = m->base.t;
    pm_runtime *rt = m->base.rt;
    sw_map *c = calloc(1, sizeof *c);
    if (!c) {
        set_error("out of memory");
        return PM_ENOMEM;
    }
    map_init_header(&c->base, &swiss_map_ops, rt, m->base.t);
    c->map_charged = go_charged(rt->ver, SW_MAP_SIZE, false);
    c->hslot_map = gc_charge(&c->base, SW_MAP_SIZE, false);
    c->used = m->used;
    c->seed = m->seed;
    c->globalDepth = m->globalDepth;
    c->globalShift = m->globalShift;
    c->tombstonePossible = m->tombstonePossible;
    c->clearSeq = m->clearSeq;
    int rc = PM_OK;
    if (m->small) {
        c->small = gc_alloc(&c->base, OBJ_GROUPS, t->groupsize, !t->bucket_ptrs);
        rc = c->small ? copy_groups(c, c->small, m->small) : PM_ENOMEM;
    } else if (m->dir) {
        rc = directory_alloc(c, m->dirLen, &c->dir, &c->hslot_dir, &c->dir_charged);
        if (rc == PM_OK)
            c->dirLen = m->dirLen;
        for (int64_t i = 0; rc == PM_OK && i < m->dirLen; i++) {
            if (i > 0 && m->dir[i] == m->dir[i - 1]) {
                c->dir[i] = c->dir[i - 1];
                continue;
            }
            const sw_table *src = m->dir[i];
            sw_table *nt = calloc(1, sizeof *nt);
            if (!nt) {
                rc = PM_ENOMEM;
                break;
            }
            *nt = *src;
            nt->refcnt = 1;
            nt->hslot = gc_charge(&c->base, SW_TABLE_SIZE, false);
            nt->groups = gc_alloc(&c->base, OBJ_GROUPS, src->groups->size, !t->bucket_ptrs);
            c->dir[i] = nt;
            if (!nt->groups) {
                rc = PM_ENOMEM;
                break;
            }
            rc = copy_groups(c, nt->groups, src->groups);
        }
    }
    if (rc != PM_OK) {
        if (rc == PM_ENOMEM)
            set_error("out of memory");
        pm_map_release(&c->base);
        return rc;
    }
    *out = c;
    return PM_OK;
}

/* Go 1.24: maps.Clone makes a map with hint = len (a seed draw), then
 * ranges over the source (two offset draws) assigning every entry. */
static int clone_rebuild(sw_map *m, sw_map **out)
{
    pm_map *c;
    int rc = swiss_make(m->base.rt, m->base.t, (int64_t)m->used, &c);
    if (rc != PM_OK)
        return rc;
    pm_iter it = {0};
    pm_iterstart drawn = {0};
    rc = pm_iter_init_internal(&m->base, &drawn, &it);
    const pm_maptype *t = m->base.t;
    while (rc == PM_OK && it.key) {
        const uint8_t *e = it.elem;
        size_t elen = t->elemsize;
        if (t->elem_kind == PM_KIND_STRING) {
            uint64_t len;
            e = pm_string_data(it.elem, &len);
            elen = len;
        }
        pm_op_draws.elem = it.elem;   /* a NaN key's draw: whose entry (pm_runtime_draw_elem) */
        rc = swiss_assign(c, it.key, e, elen);
        pm_op_draws.elem = NULL;
        if (rc == PM_OK)
            rc = pm_iter_next_internal(&it);
    }
    pm_iter_release_internal(&it);
    if (rc != PM_OK) {
        pm_map_release(c);
        return rc;
    }
    *out = SMAP(c);
    return PM_OK;
}

static int swiss_clone(pm_map *pm, pm_map **out)
{
    sw_map *m = SMAP(pm), *c = NULL;
    int rc = pm->rt->ver->swiss.clone_structural ? clone_structural(m, &c) : clone_rebuild(m, &c);
    if (rc == PM_OK)
        *out = &c->base;
    return rc;
}

/* ---- inspection ---- */

/* The distinct tables in directory order of their first entry. */
static int64_t ntables(const sw_map *m)
{
    int64_t n = 0;
    for (int64_t i = 0; m->dir && i < m->dirLen; i++)
        n += m->dir[i]->index == i;
    return n;
}

static sw_table *table_number(const sw_map *m, int64_t k)
{
    for (int64_t i = 0; m->dir && i < m->dirLen; i++)
        if (m->dir[i]->index == i && k-- == 0)
            return m->dir[i];
    return NULL;
}

int pm_swiss_header_read(pm_map *pm, pm_swiss_header *out)
{
    if (pm->ops != &swiss_map_ops) {
        set_error("the Swiss header belongs to the Swiss map");
        return PM_EIMPL;
    }
    int how = pm_map_read_lock(pm);
    if (how < 0)
        return how;
    const sw_map *m = SMAP(pm);
    memset(out, 0, sizeof *out);
    out->used = m->used;
    out->seed = m->seed;
    out->dir_len = m->dirLen;
    out->global_depth = m->globalDepth;
    out->global_shift = m->globalShift;
    out->tombstone_possible = m->tombstonePossible;
    out->small = m->small != NULL;
    out->has_storage = m->small != NULL || m->dir != NULL;
    out->clear_seq = m->clearSeq;
    out->ntables = ntables(m);
    pm_map_read_unlock(pm, how);
    return PM_OK;
}

int pm_swiss_table_read(const pm_map *pm, int64_t k, pm_swiss_table *out)
{
    if (pm->ops != &swiss_map_ops)
        return PM_EIMPL;
    const sw_map *m = SMAP(pm);
    const sw_table *t = table_number(m, k);
    if (!t) {
        set_error("no table %lld", (long long)k);
        return PM_EARG;
    }
    out->index = t->index;
    out->capacity = t->capacity;
    out->used = t->used;
    out->growth_left = t->growthLeft;
    out->local_depth = t->localDepth;
    out->ngroups = t->lengthMask + 1;
    uint32_t tomb = 0;
    for (uint64_t g = 0; g <= t->lengthMask; g++) {
        uint64_t c = sw_ctrl(sw_group(pm->t, t->groups, g));
        tomb += sw_count(sw_match_empty_or_deleted(c) & ~sw_match_empty(c));
    }
    out->tombstones = tomb;
    return PM_OK;
}

int pm_swiss_directory(const pm_map *pm, int64_t *out, int64_t n)
{
    if (pm->ops != &swiss_map_ops)
        return PM_EIMPL;
    const sw_map *m = SMAP(pm);
    if (n != m->dirLen) {
        set_error("the directory has %lld entries, not %lld", (long long)m->dirLen, (long long)n);
        return PM_EARG;
    }
    /* Runs are contiguous and start at their table's index: an entry's
     * table is the last one whose run started at or before it. */
    int64_t k = -1;
    for (int64_t i = 0; i < m->dirLen; i++) {
        k += m->dir[i]->index == i;
        out[i] = k;
    }
    return PM_OK;
}

const uint8_t *pm_swiss_group(const pm_map *pm, int64_t k, uint64_t group)
{
    if (pm->ops != &swiss_map_ops)
        return NULL;
    const sw_map *m = SMAP(pm);
    if (k < 0)
        return (m->small && group == 0) ? m->small->data : NULL;
    const sw_table *t = table_number(m, k);
    if (!t || group > t->lengthMask)
        return NULL;
    return sw_group(pm->t, t->groups, group);
}

int pm_set_seed(pm_map *pm, uint64_t seed)
{
    if (pm->ops != &swiss_map_ops) {
        set_error("the 64-bit seed belongs to the Swiss map; a classic map has hash0");
        return PM_EIMPL;
    }
    int rc = pm_lock_write(pm);
    if (rc != PM_OK)
        return rc;
    if (SMAP(pm)->used != 0) {
        pm_unlock_write(pm);
        set_error("the seed can only be set while the map is empty");
        return PM_EARG;
    }
    SMAP(pm)->seed = seed;
    pm_unlock_write(pm);
    return PM_OK;
}

/* What Go's GC finds from the map: the header, the directory, every live
 * table and its groups, and the boxes and pointees of non-nil slots. */
static void walk_groups(const pm_maptype *t, const gobj *groups, uint8_t epoch, uint32_t pepoch,
                        pm_memory *out)
{
    bool ik = t->flags & TF_INDIRECTKEY, ie = t->flags & TF_INDIRECTELEM;
    bool pe = t->elem_kind == PM_KIND_PTRBYTES;
    if (!ik && !ie && !pe)
        return;
    for (uint64_t gi = 0; gi < groups->nelems; gi++) {
        unsigned char *g = sw_group(t, groups, gi);
        for (unsigned i = 0; i < SW_GROUP_SLOTS; i++) {
            unsigned char *p[2] = {ik ? deref(sw_key(t, g, i)) : NULL,
                                   (ie || pe) ? deref(sw_elem(t, g, i)) : NULL};
            for (int j = 0; j < 2; j++) {
                if (!p[j])
                    continue;
                gobj *o = GOBJ_OF(p[j]);
                if (o->kind == OBJ_POINTEE) {
                    if (__atomic_exchange_n(&o->pmark, pepoch, __ATOMIC_RELAXED) != pepoch)
                        out->pointees += o->charged;
                } else if (o->mark != epoch) {
                    o->mark = epoch;
                    out->indirect += o->charged;
                }
            }
        }
    }
}

static void swiss_memory(pm_map *pm, pm_memory *out)
{
    sw_map *m = SMAP(pm);
    const pm_maptype *t = pm->t;
    uint8_t epoch;
    uint32_t pepoch;
    map_walk_epochs(pm, &epoch, &pepoch);
    out->map = m->map_charged;
    out->directory = m->dir_charged;
    if (m->small) {
        out->small_group = m->small->charged;
        walk_groups(t, m->small, epoch, pepoch, out);
    }
    for (int64_t i = 0; m->dir && i < m->dirLen; i++) {
        const sw_table *tab = m->dir[i];
        if (tab->index != i)
            continue;
        out->tables += go_charged(pm->rt->ver, SW_TABLE_SIZE, false);
        out->groups += tab->groups->charged;
        walk_groups(t, tab->groups, epoch, pepoch, out);
    }
    out->total = out->map + out->directory + out->tables + out->groups + out->small_group +
                 out->indirect + out->pointees;
}

static void swiss_snapshot(const pm_map *pm, pm_snapshot *s)
{
    const sw_map *m = SMAP(pm);
    s->count = (int64_t)m->used;
    s->dir_len = m->dirLen;
    s->global_depth = m->globalDepth;
    s->ntables = ntables(m);
    s->capacity = m->small ? SW_GROUP_SLOTS : 0;
    for (int64_t i = 0; m->dir && i < m->dirLen; i++)
        if (m->dir[i]->index == i)
            s->capacity += m->dir[i]->capacity;
}

/* Releasing a group array drops what its slots reference. */
static void release_groups(gobj *o)
{
    const pm_maptype *t = o->owner->t;
    if (!t->bucket_ptrs)
        return;
    for (uint64_t gi = 0; gi < o->nelems; gi++) {
        unsigned char *g = sw_group(t, o, gi);
        for (unsigned i = 0; i < SW_GROUP_SLOTS; i++) {
            slot_release_key(t, sw_key(t, g, i));
            slot_release_elem(t, sw_elem(t, g, i));
        }
    }
}

void swiss_register(void)
{
    gc_register_release(OBJ_GROUPS, release_groups);
}

const map_ops swiss_map_ops = {
    .impl = MAP_SWISS,
    .make = swiss_make,
    .destroy = swiss_destroy,
    .len = swiss_len,
    .assign = swiss_assign,
    .remove = swiss_remove,
    .clear = swiss_clear,
    .clone = swiss_clone,
    .access = swiss_access,
    .prefetch = swiss_prefetch,
    .check = swiss_check,
    .memory = swiss_memory,
    .snapshot = swiss_snapshot,
    .iter_init = swiss_iter_init,
    .iter_next = swiss_iter_next,
    .iter_release = swiss_iter_release,
    .iter_start = swiss_iter_start,
};
