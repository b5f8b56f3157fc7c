/*
 * runtime/runtime.c -- the modelled Go process: errors, the runtime object
 * (version, hashkey, random source, allocation limit) and the small
 * decoding helpers the API exports.
 *
 * Errors travel as PM_E* codes; the message beside a code (pm_last_error,
 * per thread) is for people and never parsed.  A runtime is reference
 * counted: the Python Runtime, every map and every pool hold it, so its
 * heap outlives whatever Python frees first.  Every live runtime is listed
 * in process.c, whose fork handlers take its heap lock.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "runtime/runtime.h"

/* ---- errors ---- */

static _Thread_local char last_error[256];

void set_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
}

const char *pm_last_error(void) { return last_error; }

#ifdef PYMAP_DEBUG
int pm_debug_check = 1;
int pm_debug_build(void) { return 1; }
#else
int pm_debug_check = 0;
int pm_debug_build(void) { return 0; }
#endif

void pm_set_debug_check(int on) { pm_debug_check = on; }

__thread pm_draws pm_op_draws __attribute__((tls_model("initial-exec")));

bool pm_rand_failed(void)
{
    if (!pm_op_draws.failed)
        return false;
    pm_op_draws.failed = false;
    set_error("rand callback failed");
    return true;
}

/* ---- the runtime ---- */

pm_runtime *pm_runtime_new(int version, const uint64_t *hashkey, uint64_t seed,
                           pm_randfn randfn, void *randctx, uint64_t max_alloc)
{
    if (version < 0 || version >= pm_nversions) {
        set_error("unknown version index %d", version);
        return NULL;
    }
    pm_runtime *rt = calloc(1, sizeof *rt);
    if (!rt) {
        set_error("out of memory");
        return NULL;
    }
    rt->refcnt = 1;
    if (pm_heap_init(rt) != PM_OK) {
        free(rt);
        set_error("out of memory");
        return NULL;
    }
    rt->ver = &pm_versions[version];
    rt->heap.headroom_pct = rt->ver->limit_headroom_pct;
    rt->version_index = version;
    rt->rng = seed;
    rt->randfn = randfn;
    rt->randctx = randctx;
    rt->max_alloc = max_alloc;
    rt->model_budget = UINT64_MAX;  /* the Python layer sets the machine's default */
    if (hashkey) {
        memcpy(rt->hashkey, hashkey, sizeof rt->hashkey);
    } else {
        /* alginit: 4 random words, forced odd where the runtime did so. */
        for (int i = 0; i < 4; i++) {
            rt->hashkey[i] = pm_splitmix_next(&rt->rng);
            if (rt->ver->hashkey_odd)
                rt->hashkey[i] |= 1;
        }
    }
    pm_hash_init_keys(rt);
    pm_process_register(rt);        /* a fork() takes its heap lock (process.c) */
    return rt;
}

void pm_runtime_retain(pm_runtime *rt) { __atomic_fetch_add(&rt->refcnt, 1, __ATOMIC_RELAXED); }

void pm_runtime_release(pm_runtime *rt)
{
    if (!rt || __atomic_sub_fetch(&rt->refcnt, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    pm_process_unregister(rt);
    pm_heap_destroy(rt);
    free(rt);
}

/* The Python Runtime's reference: maps and pools keep the runtime (and its
 * heap) alive after it. */
void pm_runtime_free(pm_runtime *rt) { pm_runtime_release(rt); }
void pm_runtime_hashkey(const pm_runtime *rt, uint64_t *out4) { memcpy(out4, rt->hashkey, 32); }
uint64_t pm_runtime_max_alloc(const pm_runtime *rt) { return rt->max_alloc; }
const uint8_t *pm_runtime_draw_elem(const pm_runtime *rt) { (void)rt; return pm_op_draws.elem; }
int pm_runtime_map_impl(const pm_runtime *rt) { return rt->ver->map_impl; }
void pm_runtime_set_max_alloc(pm_runtime *rt, uint64_t m) { rt->max_alloc = m; }
uint64_t pm_runtime_model_bytes(const pm_runtime *rt) { return __atomic_load_n(&rt->model_bytes, __ATOMIC_RELAXED); }
uint64_t pm_runtime_model_budget(const pm_runtime *rt) { return rt->model_budget; }
void pm_runtime_set_model_budget(pm_runtime *rt, uint64_t b) { rt->model_budget = b; }


const uint8_t *pm_string_data(const uint8_t *header, uint64_t *len)
{
    const uint8_t *p;
    memcpy(&p, header, 8);
    memcpy(len, header + 8, 8);
    return p;
}

const uint8_t *pm_deref(const uint8_t *slot)
{
    const uint8_t *p;
    memcpy(&p, slot, 8);
    return p;
}

int pm_hash_key(pm_runtime *rt, const pm_maptype *t, const uint8_t *key, size_t keylen,
                uint64_t seed, uint64_t *out)
{
    keybuf kb;
    int rc = keybuf_init(&kb, t, key, keylen);
    if (rc != PM_OK)
        return rc;
    *out = pm_typehash(rt, t, kb.p, seed);
    keybuf_free(&kb);
    return pm_rand_failed() ? PM_ERAND : PM_OK;
}
