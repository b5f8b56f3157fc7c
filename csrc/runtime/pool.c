/*
 * pool.c -- sync.Pool of maps, with the victim cache (Go >= 1.13).
 *
 * What it models.  A pool has one poolLocal per P (GOMAXPROCS of its
 * runtime): a `private` slot and a `shared` deque, where the owner pushes
 * and pops at the head and other Ps steal from the tail.  Get looks in
 * order: own private, own shared head, other Ps' shared tails starting at
 * pid+1, then the victim cache (own private, then every P's shared tail
 * starting at pid); a miss returns NULL and the caller runs New.  Put
 * fills the private slot, else pushes the shared head.
 *
 * poolCleanup runs at the start of every GC cycle, before marking (gc_cycle
 * calls pm_pools_cleanup): pools that were registered at the previous
 * cycle drop their victims, every registered pool moves its locals to the
 * victim, and the registered list becomes the "old" list.  A pool
 * registers on the first Put after a cleanup (pinSlow).  So an idle pooled
 * map survives one GC and is collected by the second.
 *
 * Every slot holds a map reference: pooled maps are GC roots.
 *
 * Left out: the race detector's random drops, GOMAXPROCS changes (fixed per
 * runtime), the deque's ring-buffer chunks (their memory is the runtime's,
 * not the map's), putting anything but maps, and a dead Pool's maps staying
 * listed until the next cleanups (pm_pool_free releases them at once).
 */
#include <stdlib.h>
#include "map/gmap.h"

typedef struct pdeque {
    pm_map **v;
    size_t head, tail, cap;              /* items v[tail..head) */
} pdeque;

typedef struct plocal {
    pm_map *private_;
    pdeque shared;
} plocal;

struct pm_pool {
    pm_runtime *rt;
    pm_pool *next;                       /* the runtime's pools */
    plocal *local, *victim;              /* gomaxprocs entries each, or NULL */
    bool in_all, in_old;                 /* allPools / oldPools membership */
    pm_pool_stats st;
};

static bool dq_push_head(pdeque *d, pm_map *h)
{
    if (d->head == d->cap) {
        size_t n = d->head - d->tail;
        if (d->tail > 0 && n < d->cap / 2) {
            memmove(d->v, d->v + d->tail, n * sizeof *d->v);
        } else {
            size_t cap = d->cap ? d->cap * 2 : 8;
            pm_map **v = malloc(cap * sizeof *v);
            if (!v)
                return false;
            if (n)
                memcpy(v, d->v + d->tail, n * sizeof *v);
            free(d->v);
            d->v = v;
            d->cap = cap;
        }
        d->tail = 0;
        d->head = n;
    }
    d->v[d->head++] = h;
    return true;
}

static pm_map *dq_pop_head(pdeque *d)
{
    return d->head > d->tail ? d->v[--d->head] : NULL;
}

static pm_map *dq_pop_tail(pdeque *d)
{
    return d->head > d->tail ? d->v[d->tail++] : NULL;
}

static uint64_t locals_release(plocal *l, int n)
{
    uint64_t dropped = 0;
    for (int i = 0; l && i < n; i++) {
        if (l[i].private_) {
            pm_map_release(l[i].private_);
            dropped++;
        }
        for (pm_map *h; (h = dq_pop_tail(&l[i].shared));) {
            pm_map_release(h);
            dropped++;
        }
        free(l[i].shared.v);
    }
    free(l);
    return dropped;
}

pm_pool *pm_pool_new(pm_runtime *rt)
{
    pm_pool *p = calloc(1, sizeof *p);
    if (!p) {
        set_error("out of memory");
        return NULL;
    }
    p->rt = rt;
    pm_runtime_retain(rt);
    heap_lock(&rt->heap);
    p->next = rt->heap.pools;
    rt->heap.pools = p;
    heap_unlock(&rt->heap);
    return p;
}

static void pool_unlink_free(pm_runtime *rt, pm_pool *p)
{
    for (pm_pool **pp = &rt->heap.pools; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    }
    int n = rt->heap.gomaxprocs;
    locals_release(p->local, n);
    locals_release(p->victim, n);
    free(p);
}

/* The Python Pool is gone: its maps are released at once.  (In Go the
 * allPools/oldPools lists would keep them until the next two cleanups; the
 * model does not, so that no runtime is kept alive by its own pools.) */
void pm_pool_free(pm_pool *p)
{
    if (!p)
        return;
    pm_runtime *rt = p->rt;
    heap_lock(&rt->heap);
    pool_unlink_free(rt, p);
    heap_unlock(&rt->heap);
    pm_runtime_release(rt);
}

int pm_pool_put(pm_pool *p, pm_map *h, int pid)
{
    pm_runtime *rt = p->rt;
    if (h->rt != rt) {
        set_error("the map belongs to another Runtime");
        return PM_EARG;
    }
    int n = rt->heap.gomaxprocs;
    if (pid < 0 || pid >= n) {
        set_error("pid must be in [0, %d)", n);
        return PM_EARG;
    }
    heap_lock(&rt->heap);
    int rc = PM_OK;
    if (!p->local) {                     /* pinSlow: allocate locals, register */
        p->local = calloc((size_t)n, sizeof *p->local);
        if (!p->local) {
            rc = PM_ENOMEM;
            set_error("out of memory");
            goto out;
        }
        p->in_all = true;
    }
    plocal *l = &p->local[pid];
    if (!l->private_) {
        l->private_ = h;
    } else if (!dq_push_head(&l->shared, h)) {
        rc = PM_ENOMEM;
        set_error("out of memory");
        goto out;
    }
    pm_map_retain(h);
    p->st.puts++;
out:
    heap_unlock(&rt->heap);
    return rc;
}

/* Get: a map (the pool's reference passes to the caller) or NULL: run New. */
pm_map *pm_pool_get(pm_pool *p, int pid)
{
    pm_runtime *rt = p->rt;
    int n = rt->heap.gomaxprocs;
    if (pid < 0 || pid >= n)
        pid = 0;
    heap_lock(&rt->heap);
    pm_map *h = NULL;
    p->st.gets++;
    if (p->local) {
        plocal *l = &p->local[pid];
        h = l->private_;
        l->private_ = NULL;
        if (!h)
            h = dq_pop_head(&l->shared);
        for (int i = 0; !h && i < n; i++)
            h = dq_pop_tail(&p->local[(pid + i + 1) % n].shared);
    }
    if (!h && p->victim) {
        plocal *l = &p->victim[pid];
        h = l->private_;
        l->private_ = NULL;
        for (int i = 0; !h && i < n; i++)
            h = dq_pop_tail(&p->victim[(pid + i) % n].shared);
        if (h)
            p->st.victim_hits++;
    }
    if (!h)
        p->st.news++;
    heap_unlock(&rt->heap);
    return h;
}

void pm_pool_get_stats(pm_pool *p, pm_pool_stats *out)
{
    heap_lock(&p->rt->heap);
    *out = p->st;
    int n = p->rt->heap.gomaxprocs;
    out->held = out->held_victim = 0;
    for (int i = 0; i < n; i++) {
        if (p->local)
            out->held += (p->local[i].private_ != NULL) + p->local[i].shared.head -
                         p->local[i].shared.tail;
        if (p->victim)
            out->held_victim += (p->victim[i].private_ != NULL) + p->victim[i].shared.head -
                                p->victim[i].shared.tail;
    }
    heap_unlock(&p->rt->heap);
}

/* poolCleanup, with the heap lock held (gc_cycle). */
void pm_pools_cleanup(pm_runtime *rt)
{
    int n = rt->heap.gomaxprocs;
    for (pm_pool *p = rt->heap.pools; p; p = p->next) {
        if (p->in_old) {
            p->st.dropped_by_gc += locals_release(p->victim, n);
            p->victim = NULL;
            p->in_old = false;
        }
    }
    for (pm_pool *p = rt->heap.pools; p; p = p->next) {
        if (p->in_all) {
            p->victim = p->local;
            p->local = NULL;
            p->in_all = false;
            p->in_old = true;
        }
    }
}

/* The runtime is going away: no map can still be pooled by a live pool. */
void pm_pools_destroy(pm_runtime *rt)
{
    while (rt->heap.pools)
        pool_unlink_free(rt, rt->heap.pools);
}
