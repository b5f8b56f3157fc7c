/*
 * clone.c -- deep copies of a map, for operations that must not half-happen.
 *
 * A user-supplied rand(purpose) callback can fail (raise, return a non-int)
 * in the middle of an operation: Go draws random numbers while evacuating
 * NaN keys and, from B = 16, while counting overflow buckets.  pymap's rule
 * is that a failed call changes nothing, so such operations run twice:
 *
 *   1. on a clone, with every draw forwarded to the callback and recorded;
 *   2. if that succeeded, on the map itself, replaying the recorded draws.
 *
 * The model is deterministic given its draws, so run 2 makes exactly the
 * changes run 1 made, and the callback is called once per draw in the
 * runtime's order.  Draws that happen before an operation's first change
 * (hashing the operation's own key, hash0 reseeds, the iterator's start)
 * are checked in place and need no clone.
 *
 * The clone copies bucket arrays and separately allocated overflow buckets,
 * translating overflow links (including the preallocation sentinel and
 * nextOverflow) into the copies; it copies indirect boxes, keeping boxes
 * shared between an old and a new slot shared; string data is immutable
 * and only gains a reference.  A clone is charged to its own accounting,
 * never enters the modelled Go heap (heap.c) and is never visible to
 * Python.
 */
#include <stdlib.h>
#include "pymap.h"

typedef struct ptrmap {
    uintptr_t *keys;
    unsigned char **vals;
    size_t cap, len;
} ptrmap;

static bool ptrmap_grow(ptrmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    uintptr_t *nk = calloc(ncap, sizeof *nk);
    unsigned char **nv = calloc(ncap, sizeof *nv);
    if (!nk || !nv) {
        free(nk);
        free(nv);
        return false;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t j = (m->keys[i] >> 4) & (ncap - 1);
        while (nk[j])
            j = (j + 1) & (ncap - 1);
        nk[j] = m->keys[i];
        nv[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = nk;
    m->vals = nv;
    m->cap = ncap;
    return true;
}

/* The copy of box `p`, made on first sight. */
static unsigned char *copy_box(pm_hmap *c, ptrmap *m, unsigned char *p)
{
    if (2 * (m->len + 1) > m->cap && !ptrmap_grow(m))
        return NULL;
    size_t j = ((uintptr_t)p >> 4) & (m->cap - 1);
    while (m->keys[j]) {
        if (m->keys[j] == (uintptr_t)p)
            return m->vals[j];
        j = (j + 1) & (m->cap - 1);
    }
    gobj *src = GOBJ_OF(p);
    gobj *o = gc_alloc(&c->base, OBJ_BOX, src->size, true);
    if (!o)
        return NULL;
    memcpy(o->data, src->data, src->size);
    m->keys[j] = (uintptr_t)p;
    m->vals[j] = o->data;
    m->len++;
    return o->data;
}

/* Give the copied slots of bucket b their own references.  On failure the
 * slots that could not be copied are nil, so the clone can still be freed. */
static bool fix_slots(pm_hmap *c, ptrmap *m, unsigned char *b)
{
    const pm_maptype *t = c->base.t;
    bool ok = true;
    if (!t->bucket_ptrs)
        return true;
    for (unsigned i = 0; i < bucketCnt; i++) {
        unsigned char *slots[2] = {bmap_key(t, b, i), bmap_elem(t, b, i)};
        bool ind[2] = {t->flags & TF_INDIRECTKEY, t->flags & TF_INDIRECTELEM};
        bool str[2] = {t->key_kind == PM_KIND_STRING, t->elem_ref};
        for (int s = 0; s < 2; s++) {
            unsigned char *p = deref(slots[s]);
            if (!p)
                continue;
            if (ind[s]) {
                unsigned char *q = copy_box(c, m, p);
                ok = ok && q;
                memcpy(slots[s], &q, 8);
            } else if (str[s]) {
                gc_incref(GOBJ_OF(p));
            }
        }
    }
    return ok;
}

static gobj *clone_array(pm_hmap *c, ptrmap *m, const gobj *src)
{
    const pm_maptype *t = c->base.t;
    if (!src)
        return NULL;
    gobj *a = gc_alloc(&c->base, OBJ_BUCKETS, src->size, !t->bucket_ptrs);
    if (!a)
        return NULL;
    a->nelems = src->nelems;
    a->impl_flag = src->impl_flag;
    /* (gc_alloc zeroed it: a failure part-way leaves a freeable copy.) */
    for (uint64_t i = 0; i < a->nelems; i++) {
        unsigned char *b = bucket_at(a, t, i);
        unsigned char *sb = bucket_at((gobj *)src, t, i);
        memcpy(b, sb, t->bucketsize - 8);
        if (!fix_slots(c, m, b))
            goto fail;
        unsigned char *link = bmap_overflow(t, sb);
        if (!link)
            continue;
        if (link >= src->data && link < src->data + src->size) {
            bmap_setoverflow(t, b, a->data + (link - src->data));
            continue;
        }
        /* A chain of separately allocated overflow buckets. */
        unsigned char *prev = b;
        for (unsigned char *h = link; h; h = bmap_overflow(t, h)) {
            gobj *o = gc_alloc(&c->base, OBJ_OVERFLOW, t->bucketsize, !t->bucket_ptrs);
            if (!o)
                goto fail;
            memcpy(o->data, h, t->bucketsize - 8);
            bmap_setoverflow(t, o->data, NULL);
            bmap_setoverflow(t, prev, o->data);
            if (!fix_slots(c, m, o->data))
                goto fail;
            prev = o->data;
        }
    }
    return a;
fail:
    gc_decref(a);
    return NULL;
}

pm_hmap *pm_map_clone(const pm_hmap *h)
{
    pm_hmap *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    *c = *h;
    c->base.refcnt = 1;
    c->base.shadow = true;                   /* the clone never enters the Go heap */
    c->hslot_hmap = c->hslot_extra = 0;
    c->overflow.rec = c->oldoverflow.rec = NULL;
    pm_maptype_retain(c->base.t);
    pm_runtime_retain(c->base.rt);
    c->base.busy = 0;
    c->base.writer = NULL;
    c->buckets = c->oldbuckets = NULL;
    ptrmap m = {0};
    c->buckets = clone_array(c, &m, h->buckets);
    if (h->buckets && !c->buckets)
        goto fail;
    c->oldbuckets = clone_array(c, &m, h->oldbuckets);
    if (h->oldbuckets && !c->oldbuckets)
        goto fail;
    if (h->nextOverflow)
        c->nextOverflow = c->buckets->data + (h->nextOverflow - h->buckets->data);
    free(m.keys);
    free(m.vals);
    return c;
fail:
    free(m.keys);
    free(m.vals);
    pm_map_release(&c->base);
    return NULL;
}
