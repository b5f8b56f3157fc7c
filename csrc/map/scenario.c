/*
 * scenario.c -- the scenario runner: a program of map operations, run in C.
 *
 * What it models.  The Go program a scenario stands for: a handful of map
 * variables (the slots), each `make`d, filled, emptied, ranged over, copied
 * or set to nil, in loops.  Every op is made of the same single operations
 * as the rest of the model (map_assign_locked & co.), so a program has
 * exactly the state, growth steps and draws of doing the same operations
 * one by one from Python -- only without Python in the loop.
 *
 * Program form.  An array of pm_op records.  PM_OP_REPEAT (a = count, b =
 * body length) runs the b records after it a times; bodies nest.  A repeat
 * block is one step; every other top-level record is one step; after each
 * step the runner writes a pm_snapshot of the slot the step acted on last.
 * The structure is validated before anything runs (record kinds, slot and
 * type indices, body lengths); what depends on the state -- a range op on a
 * slot holding no map, range values that do not fit the slot's type -- is
 * checked when the op is reached, before it changes anything.  A failing op
 * stops the program: *failed names its record, the slots keep the state the
 * program had reached, and the snapshots written so far stay valid.
 *
 * Slots.  maps[] is in/out: the caller may pass maps in (its references are
 * taken over) and receives what the slots hold at the end.  `make` on a
 * slot that holds a map drops the old one first (Go's m = make(...) makes
 * the old map garbage); `drop` is m = nil.
 *
 * The heap ops act on the runtime, not on a slot: gc (runtime.GC()),
 * free_os_memory, advance (virtual time; the periodic GC), set_gogc and
 * set_memory_limit.  pool_put hands the slot's map to pools[a] and empties
 * the slot (the program's variable no longer holds it); pool_get fills the
 * slot from the pool, or with New (a fresh make) when the pool is empty.
 * Every snapshot carries the heap's MemStats and the gctrace end offset, so
 * the caller can attribute each trace line to the step that produced it.
 *
 * Ctrl-C.  The runner polls for a SIGINT before every record and every
 * repeat iteration, and its range and iteration loops every PM_INTR_EVERY
 * operations (process.c): a SIGINT stops the program between two
 * operations with PM_EINTR, like any failing op (*failed names the record,
 * the slots and snapshots are what the program reached).  A repeat count
 * over PM_MAX_WORK is refused up front.
 */
#include <stdlib.h>
#include "pymap.h"

typedef struct runner {
    pm_runtime *rt;
    pm_maptype *const *types;
    int32_t ntypes;
    pm_map **maps;
    int32_t nmaps;
    pm_pool *const *pools;
    int32_t npools;
    const pm_op *ops;
    int64_t *failed;
    int64_t result;     /* of the current step */
    uint64_t nops;      /* map operations of the current step */
    int32_t last_map, last_op;
} runner;

/* Validate records [lo, hi): kinds, indices and repeat bodies. */
static int validate(const runner *r, int64_t lo, int64_t hi)
{
    for (int64_t i = lo; i < hi; i++) {
        const pm_op *o = &r->ops[i];
        *r->failed = i;
        if (o->op < PM_OP_MAKE || o->op > PM_OP_POOL_GET) {
            set_error("op %lld: unknown op code %d", (long long)i, o->op);
            return PM_EARG;
        }
        if (o->op == PM_OP_REPEAT) {
            if (o->a < 0 || o->b < 0 || o->b > hi - i - 1) {
                set_error("op %lld: repeat needs count >= 0 and a body inside the program", (long long)i);
                return PM_EARG;
            }
            if ((uint64_t)o->a > PM_MAX_WORK) {
                set_error("op %lld: a repeat count of %lld is more work than one run may do (at most 2**48)",
                          (long long)i, (long long)o->a);
                return PM_EARG;
            }
            int rc = validate(r, i + 1, i + 1 + o->b);
            if (rc != PM_OK)
                return rc;
            i += o->b;
            continue;
        }
        if (o->map < 0 || o->map >= r->nmaps) {
            set_error("op %lld: map slot %d outside 0..%d", (long long)i, o->map, r->nmaps - 1);
            return PM_EARG;
        }
        if (o->op == PM_OP_MAKE && (o->a < 0 || o->a >= r->ntypes)) {
            set_error("op %lld: type index %lld outside 0..%d", (long long)i, (long long)o->a, r->ntypes - 1);
            return PM_EARG;
        }
        if ((o->op == PM_OP_POOL_PUT || o->op == PM_OP_POOL_GET) && (o->a < 0 || o->a >= r->npools)) {
            set_error("op %lld: pool index %lld outside 0..%d", (long long)i, (long long)o->a, r->npools - 1);
            return PM_EARG;
        }
        if (o->op == PM_OP_POOL_GET && o->b >= r->ntypes) {
            set_error("op %lld: type index %lld outside 0..%d", (long long)i, (long long)o->b, r->ntypes - 1);
            return PM_EARG;
        }
        if (o->op == PM_OP_ADVANCE && o->a < 0) {
            set_error("op %lld: advance needs a time >= 0", (long long)i);
            return PM_EARG;
        }
        if (o->op == PM_OP_SET_MEMORY_LIMIT && o->a < 0) {
            set_error("op %lld: the memory limit must be >= 0", (long long)i);
            return PM_EARG;
        }
        if (o->op == PM_OP_COPY && (o->a < 0 || o->a >= r->nmaps || o->a == o->map)) {
            set_error("op %lld: copy needs a source slot other than the destination", (long long)i);
            return PM_EARG;
        }
        if ((o->op == PM_OP_INSERT_RANGE || o->op == PM_OP_DELETE_RANGE || o->op == PM_OP_LOOKUP_RANGE) &&
            o->c == 0) {
            set_error("op %lld: range step must not be zero", (long long)i);
            return PM_EARG;
        }
    }
    return PM_OK;
}

static pm_map *need_map(runner *r, int64_t i, int32_t slot)
{
    pm_map *h = r->maps[slot];
    if (!h)
        set_error("op %lld: map slot %d holds no map (make it first)", (long long)i, slot);
    return h;
}

/* delete or look up key(i) for i in the range; lock held. */
static int range_keys(runner *r, pm_map *h, const pm_op *o, bool del)
{
    const pm_maptype *t = h->t;
    int64_t n = pm_range_len(o->a, o->b, o->c);
    unsigned char kimg[KEY_RANGE_IMG];
    char text[32];
    for (int64_t j = 0; j < n; j++) {
        if (pm_intr_poll((uint64_t)j))
            return PM_EINTR;
        int64_t i = (int64_t)((uint64_t)o->a + (uint64_t)j * (uint64_t)o->c);
        if (j + PREFETCH_AHEAD < n)
            pm_range_prefetch(h, i, o->c, kimg, text);
        pm_range_image(t->key_kind, t->keysize, i, kimg, text);
        if (del) {
            int d, rc = map_delete_locked(h, kimg, &d);
            if (rc != PM_OK)
                return rc;
            r->result += d;
        } else {
            unsigned char *k, *e;
            r->result += map_access(h, kimg, &k, &e);
            if (pm_op_draws.failed)
                return map_op_finish(h, PM_OK);
        }
        r->nops++;
    }
    return PM_OK;
}

/* for k, v := range src { if dst: dst[k] = v }, src read-locked by the caller. */
static int range_over(runner *r, pm_map *src, pm_map *dst)
{
    pm_iter it = {0};   /* no kbuf: an internal iterator, read under the lock */
    pm_iterstart drawn = {0};
    int rc = pm_iter_init_internal(src, &drawn, &it);
    if (rc == PM_OK && pm_op_draws.failed)
        rc = PM_ERAND;
    const pm_maptype *t = src->t;
    bool strelem = t->elem_kind == PM_KIND_STRING;
    for (uint64_t j = 0; rc == PM_OK && it.key; j++) {
        if (pm_intr_poll(j)) {
            rc = PM_EINTR;
            break;
        }
        r->result++;
        if (dst) {
            const uint8_t *e = it.elem;
            size_t elen = t->elemsize;
            if (strelem) {
                uint64_t len;
                e = pm_string_data(it.elem, &len);
                elen = len;
            }
            rc = map_assign_locked(dst, it.key, e, elen);
            r->nops++;
        }
        if (rc == PM_OK)
            rc = pm_iter_next_internal(&it);
    }
    if (pm_rand_failed())
        rc = PM_ERAND;
    pm_iter_release_internal(&it);
    return rc;
}

static int run_one(runner *r, int64_t i)
{
    const pm_op *o = &r->ops[i];
    pm_map *h = NULL;
    int rc = PM_OK;
    r->last_op = o->op;
    *r->failed = i;
    if (pm_intr_check())
        return PM_EINTR;    /* before the record: it did not run */
    switch (o->op) {    /* the runtime's ops: no slot */
    case PM_OP_GC:
        pm_gc(r->rt);
        return PM_OK;
    case PM_OP_FREE_OS_MEMORY:
        pm_free_os_memory(r->rt);
        return PM_OK;
    case PM_OP_ADVANCE:
        return pm_advance(r->rt, (uint64_t)o->a);
    case PM_OP_SET_GOGC:
        pm_set_gogc(r->rt, o->a);
        return PM_OK;
    case PM_OP_SET_MEMORY_LIMIT:
        pm_set_memory_limit(r->rt, o->a);
        return PM_OK;
    default:
        break;
    }
    r->last_map = o->map;
    switch (o->op) {
    case PM_OP_POOL_PUT:
        if (r->maps[o->map]) {
            if ((rc = pm_pool_put(r->pools[o->a], r->maps[o->map], 0)) != PM_OK)
                return rc;
            pm_map_release(r->maps[o->map]);
            r->maps[o->map] = NULL;
        }
        r->nops++;
        return PM_OK;
    case PM_OP_POOL_GET: {
        pm_map *nh = pm_pool_get(r->pools[o->a], 0);
        if (!nh && o->b >= 0 && (rc = pm_makemap(r->rt, r->types[o->b], o->c, &nh)) != PM_OK)
            return rc;
        pm_map_release(r->maps[o->map]);
        r->maps[o->map] = nh;
        r->result += nh != NULL;
        r->nops++;
        return PM_OK;
    }
    case PM_OP_MAKE: {
        pm_map *nh;
        rc = pm_makemap(r->rt, r->types[o->a], o->b, &nh);
        if (rc != PM_OK)
            return rc;
        pm_map_release(r->maps[o->map]);
        r->maps[o->map] = nh;
        r->nops++;
        return PM_OK;
    }
    case PM_OP_DROP:
        pm_map_release(r->maps[o->map]);
        r->maps[o->map] = NULL;
        return PM_OK;
    default:
        break;
    }
    if (!(h = need_map(r, i, o->map)))
        return PM_EARG;
    switch (o->op) {
    case PM_OP_INSERT_RANGE: {
        if ((rc = pm_range_ok(h->t, o->a, o->b, o->c, 1)) != PM_OK)
            return rc;
        if ((rc = pm_lock_write(h)) != PM_OK)
            return rc;
        int64_t done = 0;
        rc = pm_range_assign_locked(h, o->a, o->c, pm_range_len(o->a, o->b, o->c), &done);
        r->nops += (uint64_t)done;
        r->result += done;
        pm_unlock_write(h);
        return rc;
    }
    case PM_OP_DELETE_RANGE:
    case PM_OP_LOOKUP_RANGE: {
        bool del = o->op == PM_OP_DELETE_RANGE;
        if ((rc = pm_range_ok(h->t, o->a, o->b, o->c, 0)) != PM_OK)
            return rc;
        if ((rc = del ? pm_lock_write(h) : pm_lock_read(h)) != PM_OK)
            return rc;
        rc = range_keys(r, h, o, del);
        del ? pm_unlock_write(h) : pm_unlock_read(h);
        return rc;
    }
    case PM_OP_CLEAR:
        if ((rc = pm_lock_write(h)) != PM_OK)
            return rc;
        rc = map_clear_locked(h);
        r->nops++;
        pm_unlock_write(h);
        return rc;
    case PM_OP_ITERATE:
    case PM_OP_COPY: {
        pm_map *src = h, *dst = NULL;
        if (o->op == PM_OP_COPY) {
            dst = h;
            if (!(src = need_map(r, i, (int32_t)o->a)))
                return PM_EARG;
            if (src->t != dst->t && (src->t->key_kind != dst->t->key_kind || src->t->keysize != dst->t->keysize ||
                                     src->t->elem_kind != dst->t->elem_kind || src->t->elemsize != dst->t->elemsize)) {
                set_error("op %lld: copy between maps of different types", (long long)i);
                return PM_EARG;
            }
        }
        /* Two slots may hold one map: for k, v := range m { m[k] = v } is
         * legal Go, one goroutine writing: one lock, taken once. */
        bool other = dst && dst != src;
        if (other && (rc = pm_lock_write(dst)) != PM_OK)
            return rc;
        /* mapiterinit writes the source's flags: it takes the write lock. */
        if ((rc = pm_lock_write(src)) == PM_OK) {
            rc = range_over(r, src, dst);
            pm_unlock_write(src);
        }
        if (other)
            pm_unlock_write(dst);
        return rc;
    }
    default:
        set_error("op %lld: unknown op code %d", (long long)i, o->op);
        return PM_EARG;
    }
}

/* Run records [lo, hi) once. */
static int run_block(runner *r, int64_t lo, int64_t hi)
{
    for (int64_t i = lo; i < hi; i++) {
        const pm_op *o = &r->ops[i];
        if (o->op == PM_OP_REPEAT) {
            for (int64_t k = 0; k < o->a; k++) {
                if (pm_intr_check()) {
                    *r->failed = i;     /* the repeat stopped between two iterations */
                    return PM_EINTR;
                }
                int rc = run_block(r, i + 1, i + 1 + o->b);
                if (rc != PM_OK)
                    return rc;
            }
            i += o->b;
            continue;
        }
        int rc = run_one(r, i);
        if (rc != PM_OK)
            return rc;
    }
    return PM_OK;
}

static int snapshot(const runner *r, pm_snapshot *s)
{
    memset(s, 0, sizeof *s);
    s->op = r->last_op;
    s->map = r->last_map;
    s->result = r->result;
    s->ops = r->nops;
    pm_memstats_read(r->rt, &s->ms);
    s->gctrace_end = pm_gctrace_read(r->rt, NULL, NULL, 0);
    pm_map *h = r->last_map >= 0 ? r->maps[r->last_map] : NULL;
    if (!h)
        return PM_OK;
    pm_memory m;
    int rc = pm_map_memory(h, &m);   /* locked: Python may share the map */
    if (rc != PM_OK)
        return rc;
    s->live = 1;
    s->impl = h->ops->impl;
    int how = pm_map_read_lock(h);
    if (how < 0)
        return how;
    h->ops->snapshot(h, s);
    pm_map_read_unlock(h, how);
    s->bytes = m.total;
    s->allocated = h->allocated;
    return PM_OK;
}

int pm_run(pm_runtime *rt, pm_maptype *const *types, int32_t ntypes, pm_map **maps,
           int32_t nmaps, pm_pool *const *pools, int32_t npools, const pm_op *ops, int64_t nops,
           pm_snapshot *snaps, int64_t *nsnaps, int64_t *failed)
{
    runner r = {rt, types, ntypes, maps, nmaps, pools, npools, ops, failed, 0, 0, -1, 0};
    *nsnaps = 0;
    *failed = -1;
    if (nops < 0 || nmaps < 0 || ntypes < 0 || npools < 0) {
        set_error("negative program size");
        return PM_EARG;
    }
    for (int32_t k = 0; k < ntypes; k++)
        if (!types[k]) {
            set_error("type %d is missing", k);
            return PM_EARG;
        }
    int rc = validate(&r, 0, nops);
    if (rc != PM_OK)
        return rc;
    *failed = -1;
    pm_intr_enter();
    for (int64_t i = 0; i < nops; i++) {
        const pm_op *o = &ops[i];
        int64_t end = o->op == PM_OP_REPEAT ? i + 1 + o->b : i + 1;
        r.result = 0;
        r.nops = 0;
        rc = run_block(&r, i, end);
        int src = snapshot(&r, &snaps[(*nsnaps)++]);
        if (rc == PM_OK && src != PM_OK) {
            *failed = i;    /* the step's snapshot failed, not the last record it ran */
            rc = src;
        }
        if (rc != PM_OK)
            return pm_intr_leave(rc);
        i = end - 1;
    }
    *failed = -1;
    return pm_intr_leave(PM_OK);
}
