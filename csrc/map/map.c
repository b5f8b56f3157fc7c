/*
 * map/map.c -- the generic map layer: the API entry points every map
 * implementation shares.
 *
 * What it does.  pm_makemap picks the implementation from the runtime's
 * version row (map_impl) and every later call goes through the map's ops
 * table.  Around each call this layer does what does not depend on the
 * implementation: building key images from the API's bytes, the per-map
 * reader/writer try-lock (Go's "concurrent map writes" checks, made
 * deterministic), allocating the pointee of a *[N]byte elem before the
 * assign as Go evaluates it, turning a failed rand draw into PM_ERAND, and
 * in the debug build running the map's and the heap's checkers after every
 * mutation.  Iterators are generic too: the implementation moves the
 * cursor, this layer copies the entry out when it is reached.
 *
 * Invariants.  A map's reference count covers the Python handle, live
 * iterators and pool slots; the last release calls ops->destroy and frees
 * the header.  Every entry point either completes or changes nothing.
 *
 * fork().  The try-locks never spin, so a fork does not wait for them: in
 * the child a map another thread was inside keeps that thread's lock, and
 * every operation on it is Go's concurrent-access error (process.c).
 */
#include <pthread.h>
#include <stdlib.h>
#include "pymap.h"

void classic_register(void);
void swiss_register(void);

static const map_ops *const impls[] = {
    [MAP_CLASSIC] = &classic_map_ops,
    [MAP_SWISS] = &swiss_map_ops,
};

static pthread_once_t register_once = PTHREAD_ONCE_INIT;

static void register_impls(void)
{
    classic_register();
    swiss_register();
}

/* ---- creation and destruction ---- */

void map_init_header(pm_map *m, const map_ops *ops, pm_runtime *rt, pm_maptype *t)
{
    m->ops = ops;
    m->rt = rt;
    pm_runtime_retain(rt);
    m->t = t;
    pm_maptype_retain(t);
    m->refcnt = 1;
}

void map_free_header(pm_map *m)
{
    pm_maptype_free(m->t);
    pm_runtime_release(m->rt);
    free(m);
}

int pm_makemap(pm_runtime *rt, pm_maptype *t, int64_t hint, pm_map **out)
{
    pthread_once(&register_once, register_impls);
    return impls[rt->ver->map_impl]->make(rt, t, hint, out);
}

void pm_map_retain(pm_map *m) { __atomic_fetch_add(&m->refcnt, 1, __ATOMIC_RELAXED); }
const pm_maptype *pm_map_type(const pm_map *m) { return m->t; }
int pm_map_impl(const pm_map *m) { return m->ops->impl; }

void pm_map_release(pm_map *m)
{
    if (!m || __atomic_sub_fetch(&m->refcnt, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    if (__atomic_load_n(&m->busy, __ATOMIC_ACQUIRE) != 0)
        return;   /* only in a fork()ed child: a thread of the parent was inside it, perhaps
                     mid-write; leave its memory alone rather than free it (process.c) */
    m->ops->destroy(m);
    map_free_header(m);
}

int64_t pm_map_len(const pm_map *m)
{
    return m->ops->len(m);   /* len(m): no map access check, as in Go */
}

/* ---- concurrency guard: a reader/writer try-lock per map ---- */

/* Identifies the calling thread (its address is unique per live thread). */
static _Thread_local char thread_token;

int pm_lock_write(pm_map *m)
{
    int expect = 0;
    if (!__atomic_compare_exchange_n(&m->busy, &expect, -1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
        if (expect < 0) {
            set_error("concurrent map writes");
            return PM_EBUSY_WRITES;
        }
        set_error("concurrent map read and map write");
        return PM_EBUSY;
    }
    __atomic_store_n(&m->writer, &thread_token, __ATOMIC_RELAXED);
    return PM_OK;
}

void pm_unlock_write(pm_map *m)
{
    __atomic_store_n(&m->writer, NULL, __ATOMIC_RELAXED);
    __atomic_store_n(&m->busy, 0, __ATOMIC_RELEASE);
}

/* Inspection: the read lock -- or nothing when this very thread holds the
 * write lock, i.e. a rand callback looking at the map mid-operation (the
 * draw points leave the header consistent).  Returns INSPECT_LOCKED,
 * INSPECT_REENTRANT or PM_EBUSY. */
int pm_map_read_lock(pm_map *m)
{
    if (__atomic_load_n(&m->writer, __ATOMIC_RELAXED) == &thread_token)
        return INSPECT_REENTRANT;
    int rc = pm_lock_read(m);
    return rc == PM_OK ? INSPECT_LOCKED : rc;
}

void pm_map_read_unlock(pm_map *m, int how)
{
    if (how == INSPECT_LOCKED)
        pm_unlock_read(m);
}

int pm_lock_read(pm_map *m)
{
    int cur = __atomic_load_n(&m->busy, __ATOMIC_RELAXED);
    do {
        if (cur < 0) {
            set_error("concurrent map read and map write");
            return PM_EBUSY;
        }
    } while (!__atomic_compare_exchange_n(&m->busy, &cur, cur + 1, true, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED));
    return PM_OK;
}

void pm_unlock_read(pm_map *m) { __atomic_fetch_sub(&m->busy, 1, __ATOMIC_RELEASE); }

/* ---- finishing an operation ---- */

int map_debug_check(const pm_map *m)
{
    if (m->ops->check(m) != PM_OK || (!m->shadow && pm_heap_check(m->rt) != PM_OK))
        return PM_ECHECK;
    return PM_OK;
}

int map_op_finish(pm_map *m, int rc)
{
    if (pm_rand_failed())
        rc = PM_ERAND;    /* the root cause of whatever else went wrong */
    if (rc == PM_OK && pm_debug_check)
        rc = map_debug_check(m);
    return rc;
}

void pm_string_release(const uint8_t *data)
{
    if (data)
        gc_decref(GOBJ_OF(data));
}

/* ---- lookup ---- */

int pm_mapaccess(pm_map *m, const uint8_t *key, size_t keylen, uint8_t *out)
{
    keybuf kb;
    const pm_maptype *t = m->t;
    int rc = keybuf_init(&kb, t, key, keylen);
    if (rc != PM_OK)
        return rc;
    if ((rc = pm_lock_read(m)) != PM_OK) {
        keybuf_free(&kb);
        return rc;
    }
    unsigned char *k, *e;
    bool found = map_access(m, kb.p, &k, &e);
    size_t es = elem_image_size(t);
    if (found)
        image_copy_out(t->elem_kind, t->elemsize, e, out);
    else if (es)
        memset(out, 0, es);
    if (pm_rand_failed()) {
        if (found && t->elem_ref)
            pm_string_release(deref(out));
        found = false;
        rc = PM_ERAND;
    }
    pm_unlock_read(m);
    keybuf_free(&kb);
    return rc == PM_OK ? (int)found : rc;
}

/* ---- assign ---- */

int map_assign_locked(pm_map *m, const unsigned char *key, const uint8_t *elem, size_t elemlen)
{
    /* The model's budget stops new work before it starts (an assign that
     * only updates would not need memory, but telling it apart costs a
     * lookup; at the budget, refusing every assign is the simple rule). */
    int rc = gc_check_budget(m->rt, 0);
    if (rc != PM_OK)
        return rc;
    return map_op_finish(m, m->ops->assign(m, key, elem, elemlen));
}

/* m[k] = new([N]byte) (or nil): the pointee is allocated first, as Go
 * evaluates the right-hand side before mapassign; the slot takes its own
 * reference. */
static int assign_pointee_locked(pm_map *m, const unsigned char *key, const uint8_t *contents,
                                 bool nil)
{
    unsigned char *ptr = NULL;
    gobj *p = NULL;
    if (!nil) {
        if (gc_check_alloc(m->rt, m->t->pointee, true) != PM_OK)
            return PM_EMAXALLOC;
        if (!(p = pointee_new(m, contents)))
            return PM_ENOMEM;
        ptr = p->data;
    }
    int rc = map_assign_locked(m, key, (const uint8_t *)&ptr, 8);
    gc_decref(p);
    return rc;
}

int map_assign_api_locked(pm_map *m, const unsigned char *key, const uint8_t *elem, size_t elemlen)
{
    if (m->t->elem_kind == PM_KIND_PTRBYTES)
        return assign_pointee_locked(m, key, elem, elemlen == 0);
    return map_assign_locked(m, key, elem, elemlen);
}

int pm_mapassign(pm_map *m, const uint8_t *key, size_t keylen, const uint8_t *elem, size_t elemlen)
{
    keybuf kb;
    int rc = elem_check(m->t, elem, elemlen);
    if (rc != PM_OK || (rc = keybuf_init(&kb, m->t, key, keylen)) != PM_OK)
        return rc;
    if ((rc = pm_lock_write(m)) == PM_OK) {
        rc = map_assign_api_locked(m, kb.p, elem, elemlen);
        pm_unlock_write(m);
    }
    keybuf_free(&kb);
    return rc;
}

/* The per-operation fast path of map[int64]int64 (and any 8-byte integer
 * key and elem): no key buffer, no length checks, integers by value. */
static bool is_i64_pair(const pm_maptype *t)
{
    return (t->key_kind == PM_KIND_INT || t->key_kind == PM_KIND_UINT) && t->keysize == 8 &&
           (t->elem_kind == PM_KIND_INT || t->elem_kind == PM_KIND_UINT) && t->elemsize == 8;
}

int pm_assign_i64(pm_map *m, int64_t key, int64_t elem)
{
    if (!is_i64_pair(m->t)) {
        set_error("pm_assign_i64 needs 8-byte integer keys and elems");
        return PM_EARG;
    }
    int rc = pm_lock_write(m);
    if (rc == PM_OK) {
        rc = map_assign_locked(m, (const unsigned char *)&key, (const uint8_t *)&elem, 8);
        pm_unlock_write(m);
    }
    return rc;
}

int64_t pm_access_i64(pm_map *m, int64_t key, int64_t miss)
{
    if (!is_i64_pair(m->t) || pm_lock_read(m) != PM_OK)
        return miss;
    unsigned char *k, *e;
    int64_t v = miss;
    if (map_access(m, (const unsigned char *)&key, &k, &e))
        memcpy(&v, e, 8);
    pm_unlock_read(m);
    return v;
}

/* Benchmark baselines: bare calls with the fast paths' signatures. */
int pm_bench_nop_assign_i64(pm_map *m, int64_t key, int64_t elem) { return PM_OK; }
int64_t pm_bench_nop_access_i64(pm_map *m, int64_t key, int64_t miss) { return miss; }

/* ---- delete, clear, clone ---- */

int map_delete_locked(pm_map *m, const unsigned char *key, int *deleted)
{
    *deleted = 0;
    return map_op_finish(m, m->ops->remove(m, key, deleted));
}

int pm_mapdelete(pm_map *m, const uint8_t *key, size_t keylen, int *deleted)
{
    keybuf kb;
    *deleted = 0;
    int rc = keybuf_init(&kb, m->t, key, keylen);
    if (rc != PM_OK)
        return rc;
    if ((rc = pm_lock_write(m)) == PM_OK) {
        rc = map_delete_locked(m, kb.p, deleted);
        pm_unlock_write(m);
    }
    keybuf_free(&kb);
    return rc;
}

int map_clear_locked(pm_map *m)
{
    return map_op_finish(m, m->ops->clear(m));
}

int pm_mapclear(pm_map *m)
{
    int rc = pm_lock_write(m);
    if (rc != PM_OK)
        return rc;
    rc = map_clear_locked(m);
    pm_unlock_write(m);
    return rc;
}

int pm_mapclone(pm_map *m, pm_map **out)
{
    /* Cloning iterates the source (1.24 Swiss draws the offsets): Go checks
     * it like a read; the write lock keeps the draws in order. */
    int rc = pm_lock_write(m);
    if (rc != PM_OK)
        return rc;
    pm_map *c = NULL;
    rc = m->ops->clone(m, &c);
    if (pm_rand_failed()) {
        pm_map_release(c);
        c = NULL;
        rc = PM_ERAND;
    }
    if (rc == PM_OK && pm_debug_check && (rc = map_debug_check(c)) != PM_OK) {
        pm_map_release(c);
        c = NULL;
    }
    pm_unlock_write(m);
    if (rc == PM_OK)
        *out = c;
    return rc;
}

/* ---- inspection ---- */

int pm_map_memory(pm_map *m, pm_memory *out)
{
    int how = pm_map_read_lock(m);
    if (how < 0)
        return how;
    /* Readers may walk in parallel, but the walk marks objects: one at a time.
     * The flag holds the walker's fork generation + 1: one left by a thread of
     * the parent process at a fork() is taken over in the child (the marks
     * are per walk, so a walk cut short leaves nothing to undo). */
    int me = (int)(pm_fork_generation() & 0x3fffffff) + 1;
    for (;;) {
        int cur = 0;
        if (__atomic_compare_exchange_n(&m->walking, &cur, me, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            break;
        if (cur != me && __atomic_compare_exchange_n(&m->walking, &cur, me, false, __ATOMIC_ACQUIRE,
                                                     __ATOMIC_RELAXED))
            break;
    }
    memset(out, 0, sizeof *out);
    m->ops->memory(m, out);
    out->allocated = m->allocated;
    __atomic_store_n(&m->walking, 0, __ATOMIC_RELEASE);
    pm_map_read_unlock(m, how);
    return PM_OK;
}

int pm_map_check(pm_map *m)
{
    int how = pm_map_read_lock(m);
    if (how < 0)
        return how;
    int rc = m->ops->check(m);
    pm_map_read_unlock(m, how);
    return rc;
}

/* Per-map mark epochs for memory walks: every walk re-marks all of the
 * map's live objects, so a mark equal to the new epoch can only come from
 * this walk.  Pointees can be shared between maps: their marks come from a
 * process-wide walk counter. */
void map_walk_epochs(pm_map *m, uint8_t *epoch, uint32_t *pepoch)
{
    static uint32_t pointee_walks;
    *epoch = ++m->mem_epoch;
    if (*epoch == 0)
        *epoch = ++m->mem_epoch;
    *pepoch = __atomic_add_fetch(&pointee_walks, 1, __ATOMIC_RELAXED);
    if (*pepoch == 0)
        *pepoch = __atomic_add_fetch(&pointee_walks, 1, __ATOMIC_RELAXED);
}

/* ---- iteration ---- */

/* The images an API iterator keeps of its current entry.  Another thread
 * may write the map between two calls on the iterator (a clear frees the
 * boxes of indirect keys, a grow moves entries); Go's compiled range loop
 * copies *it.key and *it.elem right after mapiternext, and so does this. */
void iter_drop_capture(pm_iter *it)
{
    if (!it->captured)
        return;
    const pm_maptype *t = it->m->t;
    if (t->key_kind == PM_KIND_STRING)
        pm_string_release(deref(it->kbuf));
    if (t->elem_ref)
        pm_string_release(deref(it->ebuf));
    it->captured = false;
}

void iter_capture(pm_iter *it, const unsigned char *k, const unsigned char *e)
{
    if (!it->kbuf)
        return;     /* an internal iterator: used under the lock only */
    const pm_maptype *t = it->m->t;
    iter_drop_capture(it);
    image_copy_out(t->key_kind, t->keysize, k, it->kbuf);
    image_copy_out(t->elem_kind, t->elemsize, e, it->ebuf);
    it->captured = true;
}

int pm_iter_next_internal(pm_iter *it)
{
    if (!it->m || it->done)
        return PM_OK;
    int rc = it->m->ops->iter_next(it);
    if (rc != PM_OK)
        return rc;
    if (it->key)
        iter_capture(it, it->key, it->elem);
    else
        iter_drop_capture(it);
    return PM_OK;
}

int pm_iter_init_internal(pm_map *m, const pm_iterstart *start, pm_iter *it)
{
    uint8_t *kbuf = it->kbuf, *ebuf = it->ebuf;
    memset(it, 0, sizeof *it);
    it->kbuf = kbuf;
    it->ebuf = ebuf;
    it->done = true;
    int rc = m->ops->iter_init(m, start, it);
    if (rc != PM_OK || !it->m)
        return rc;
    return pm_iter_next_internal(it);
}

void pm_iter_release_internal(pm_iter *it)
{
    if (!it->m)
        return;
    iter_drop_capture(it);
    it->m->ops->iter_release(it);
    pm_map_release(it->m);
    it->m = NULL;
    it->key = it->elem = NULL;
    it->done = true;
}

int pm_iter_new(pm_map *m, int given, uint64_t a, uint64_t b, pm_iter **out)
{
    pm_iter *it = calloc(1, sizeof *it);
    const pm_maptype *t = m->t;
    size_t ks = key_image_size(t), es = elem_image_size(t);
    if (it) {
        it->kbuf = malloc(ks ? ks : 1);
        it->ebuf = malloc(es ? es : 1);
    }
    if (!it || !it->kbuf || !it->ebuf) {
        if (it) {
            free(it->kbuf);
            free(it->ebuf);
        }
        free(it);
        set_error("out of memory");
        return PM_ENOMEM;
    }
    pm_iterstart start = {given != 0, a, b};
    int rc = pm_lock_write(m);   /* mapiterinit writes flags and may allocate extra */
    if (rc == PM_OK) {
        rc = pm_iter_init_internal(m, &start, it);
        if (pm_rand_failed()) {
            if (rc == PM_OK)
                pm_iter_release_internal(it);
            rc = PM_ERAND;
        }
        pm_unlock_write(m);
    }
    if (rc != PM_OK) {
        pm_iter_release_internal(it);
        free(it->kbuf);
        free(it->ebuf);
        free(it);
        return rc;
    }
    *out = it;
    return PM_OK;
}

int pm_iter_next(pm_iter *it)
{
    pm_map *m = it->m;
    if (!m)
        return PM_OK;
    int rc = pm_lock_read(m);
    if (rc != PM_OK)
        return rc;
    rc = pm_iter_next_internal(it);
    if (pm_rand_failed())
        rc = PM_ERAND;
    pm_unlock_read(m);
    return rc;
}

int pm_iter_read(pm_iter *it, int advance, uint8_t *key_out, uint8_t *elem_out)
{
    if (__atomic_exchange_n(&it->busy, 1, __ATOMIC_ACQUIRE)) {
        set_error("concurrent use of one map iterator");
        return PM_EBUSY_ITER;
    }
    int rc = PM_OK;
    pm_map *m = it->m;
    if (m && !it->done && (rc = pm_lock_read(m)) == PM_OK) {
        if (advance) {
            rc = pm_iter_next_internal(it);
            if (pm_rand_failed())
                rc = PM_ERAND;
        }
        if (rc == PM_OK && !it->done && it->captured) {
            /* From the copies taken when the entry was reached. */
            const pm_maptype *t = m->t;
            image_copy_out(t->key_kind, t->keysize, it->kbuf, key_out);
            image_copy_out(t->elem_kind, t->elemsize, it->ebuf, elem_out);
            rc = 1;
        }
        pm_unlock_read(m);
    }
    __atomic_store_n(&it->busy, 0, __ATOMIC_RELEASE);
    return rc;
}

void pm_iter_start(const pm_iter *it, uint64_t *a, uint64_t *b)
{
    *a = *b = 0;
    if (it->m)
        it->m->ops->iter_start(it, a, b);
}

void pm_iter_free(pm_iter *it)
{
    if (!it)
        return;
    pm_iter_release_internal(it);
    free(it->kbuf);
    free(it->ebuf);
    free(it);
}
