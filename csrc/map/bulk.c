/*
 * bulk.c -- many map operations in one call: the loops run in C.
 *
 * What it models.  Nothing new: pm_assign_many is exactly n calls of
 * mapassign, in order, with the same growth steps, evacuations and random
 * draws -- the only difference is that the boundary between Python and C is
 * crossed once, not n times.  Each single operation stays all-or-nothing
 * (map_assign_locked and friends, map.c), so when operation k fails (a
 * modelled allocation over max_alloc, a failing rand callback, the debug
 * checker) the map holds exactly the effects of operations 0..k-1 and *done
 * says k.  Go would have panicked at operation k with the same state.
 *
 * Input.  A pm_vec is read in place (the Python layer hands NumPy buffers
 * over zero-copy): fixed-size kinds are images `stride` bytes apart, strings
 * are either offset-delimited slices of one byte blob or fixed-width fields
 * whose trailing NULs are stripped.  Every length and stride is validated
 * before the first operation, so bad input changes nothing.
 *
 * Range values.  pm_assign_range and the scenario runner derive key(i) and
 * elem(i) from an int64 i: integer kinds take i itself (it must fit the
 * kind: checked for the whole range before anything runs), floats and
 * complex numbers (T)(i), strings the text "key-<i>", other elem kinds the
 * zero value.
 *
 * Locking.  A bulk call holds the map's write lock (read lock for lookups)
 * for its whole duration: another thread touching the map meanwhile gets
 * the concurrent-access error, as it would mid-way through a Go loop.
 *
 * Ctrl-C.  Every loop polls for a SIGINT every PM_INTR_EVERY operations
 * (process.c) and stops between two of them with PM_EINTR, which reports
 * *done like every other failure: the first *done operations took effect.
 * A range of more than PM_MAX_WORK (2**48) items is refused up front: no
 * call could finish it.
 */
#include <stdlib.h>
#include "pymap.h"

/* ---- vectors ---- */

static uint32_t image_size(int kind, uint32_t size)
{
    return kind == PM_KIND_STRING ? 16 : size;
}

/* Validate a vector against a kind before anything runs. */
static int vec_check(const pm_vec *v, int kind, uint32_t size, int64_t n, const char *what, bool may_be_null)
{
    if (v->n != n) {
        set_error("%s: %lld items, expected %lld", what, (long long)v->n, (long long)n);
        return PM_EARG;
    }
    if (!v->data) {
        if (may_be_null && !v->offsets)
            return PM_OK;
        if (n > 0) {
            set_error("%s: no data", what);
            return PM_EARG;
        }
        return PM_OK;
    }
    if (kind == PM_KIND_STRING) {
        if (v->offsets) {
            if (v->noffsets != n + 1 || v->offsets[0] < 0) {
                set_error("%s: string offsets need n + 1 entries from 0 or more", what);
                return PM_EARG;
            }
            for (int64_t i = 0; i < n; i++)
                if (v->offsets[i + 1] < v->offsets[i]) {
                    set_error("%s: string offsets must be non-decreasing (item %lld)", what, (long long)i);
                    return PM_EARG;
                }
            if (n > 0 && (uint64_t)v->offsets[n] > v->data_len) {
                set_error("%s: string offsets run past the data (%lld > %llu bytes)", what,
                          (long long)v->offsets[n], (unsigned long long)v->data_len);
                return PM_EARG;
            }
        } else if (n > 0 && (unsigned __int128)n * v->stride > v->data_len) {
            set_error("%s: %lld fields of %llu bytes run past the data", what, (long long)n,
                      (unsigned long long)v->stride);
            return PM_EARG;
        }
        return PM_OK;
    }
    if (v->offsets) {
        set_error("%s: offsets only apply to strings", what);
        return PM_EARG;
    }
    if (v->stride < size && n > 1) {
        set_error("%s: stride %llu is smaller than the %u-byte image", what,
                  (unsigned long long)v->stride, size);
        return PM_EARG;
    }
    if (n > 0 && (unsigned __int128)(n - 1) * v->stride + size > v->data_len) {
        set_error("%s: %lld items of %u bytes run past the data", what, (long long)n, size);
        return PM_EARG;
    }
    return PM_OK;
}

/* Item i of a string vector: its bytes and length. */
static const uint8_t *vec_string(const pm_vec *v, int64_t i, uint64_t *len)
{
    if (v->offsets) {
        *len = (uint64_t)(v->offsets[i + 1] - v->offsets[i]);
        return v->data + v->offsets[i];
    }
    const uint8_t *p = v->data + (uint64_t)i * v->stride;
    uint64_t n = v->stride;
    while (n > 0 && p[n - 1] == 0)
        n--;
    *len = n;
    return p;
}

/* The key image of item i: fixed-size kinds in place, strings as a header
 * in hdr pointing at the caller's bytes (valid for the call). */
static const unsigned char *vec_key(const pm_maptype *t, const pm_vec *v, int64_t i, unsigned char hdr[16])
{
    if (t->key_kind != PM_KIND_STRING)
        return v->data + (uint64_t)i * v->stride;
    uint64_t len;
    const uint8_t *p = vec_string(v, i, &len);
    memcpy(hdr, &p, 8);
    memcpy(hdr + 8, &len, 8);
    return hdr;
}

/* The elem argument of mapassign for item i: an image, or raw string bytes. */
static const uint8_t *vec_elem(const pm_maptype *t, const pm_vec *v, int64_t i, size_t *len)
{
    if (!v->data) {
        *len = 0;
        return NULL;   /* the zero value */
    }
    if (t->elem_kind == PM_KIND_STRING) {
        uint64_t n;
        const uint8_t *p = vec_string(v, i, &n);
        *len = n;
        return p;
    }
    *len = t->elemsize;
    return v->data + (uint64_t)i * v->stride;
}

/* Start loading the bucket of item i + PREFETCH_AHEAD (see map_prefetch):
 * only for specialised key classes, whose hashing draws nothing. */
static inline void vec_prefetch(pm_map *h, const pm_vec *keys, int64_t i, unsigned char hdr[16])
{
    if (h->t->keyclass != KC_GENERIC && i + PREFETCH_AHEAD < keys->n)
        map_prefetch(h, vec_key(h->t, keys, i + PREFETCH_AHEAD, hdr));
}

/* ---- bulk operations ---- */

int pm_assign_many(pm_map *h, const pm_vec *keys, const pm_vec *elems, int64_t *done)
{
    const pm_maptype *t = h->t;
    int64_t n = keys->n;
    *done = 0;
    int rc = vec_check(keys, t->key_kind, t->keysize, n, "keys", false);
    if (rc == PM_OK && t->elem_kind == PM_KIND_PTRBYTES && elems->data) {
        set_error("*[N]byte elems take no images in bulk: pass no elems (nil pointers), "
                  "or use insert_range (new([N]byte) each)");
        rc = PM_EARG;
    }
    if (rc == PM_OK)
        rc = vec_check(elems, t->elem_kind, t->elemsize, n, "elems", true);
    if (rc != PM_OK || (rc = pm_lock_write(h)) != PM_OK)
        return rc;
    pm_intr_enter();
    unsigned char hdr[16];
    for (int64_t i = 0; i < n; i++) {
        if (pm_intr_poll((uint64_t)i)) {
            rc = PM_EINTR;
            break;
        }
        size_t elen;
        const uint8_t *e = vec_elem(t, elems, i, &elen);
        vec_prefetch(h, keys, i, hdr);
        if ((rc = map_assign_locked(h, vec_key(t, keys, i, hdr), e, elen)) != PM_OK)
            break;
        *done = i + 1;
    }
    pm_unlock_write(h);
    return pm_intr_leave(rc);
}

int pm_access_many(pm_map *h, const pm_vec *keys, uint8_t *elems_out, uint8_t *found_out, int64_t *done)
{
    const pm_maptype *t = h->t;
    int64_t n = keys->n;
    *done = 0;
    int rc = vec_check(keys, t->key_kind, t->keysize, n, "keys", false);
    if (rc == PM_OK && t->elem_kind == PM_KIND_PTRBYTES) {
        set_error("bulk lookups of *[N]byte elems are not supported: look keys up one by one");
        rc = PM_EARG;
    }
    if (rc != PM_OK || (rc = pm_lock_read(h)) != PM_OK)
        return rc;
    pm_intr_enter();
    uint32_t es = image_size(t->elem_kind, t->elemsize);
    unsigned char hdr[16];
    for (int64_t i = 0; i < n; i++) {
        if (pm_intr_poll((uint64_t)i)) {
            rc = PM_EINTR;
            break;
        }
        unsigned char *k, *e;
        uint8_t *out = elems_out + (uint64_t)i * es;
        vec_prefetch(h, keys, i, hdr);
        bool found = map_access(h, vec_key(t, keys, i, hdr), &k, &e);
        if (pm_op_draws.failed) {   /* a NaN key's hash draw failed */
            rc = map_op_finish(h, PM_OK);
            break;
        }
        found_out[i] = found;
        if (found)
            image_copy_out(t->elem_kind, t->elemsize, e, out);
        else if (es)
            memset(out, 0, es);
        *done = i + 1;
    }
    pm_unlock_read(h);
    return pm_intr_leave(rc);
}

void pm_release_strings(const uint8_t *headers, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        pm_string_release(pm_deref(headers + 16 * (uint64_t)i));
}

int pm_delete_many(pm_map *h, const pm_vec *keys, int64_t *deleted, int64_t *done)
{
    const pm_maptype *t = h->t;
    int64_t n = keys->n;
    *done = 0;
    *deleted = 0;
    int rc = vec_check(keys, t->key_kind, t->keysize, n, "keys", false);
    if (rc != PM_OK || (rc = pm_lock_write(h)) != PM_OK)
        return rc;
    pm_intr_enter();
    unsigned char hdr[16];
    for (int64_t i = 0; i < n; i++) {
        if (pm_intr_poll((uint64_t)i)) {
            rc = PM_EINTR;
            break;
        }
        int d;
        vec_prefetch(h, keys, i, hdr);
        if ((rc = map_delete_locked(h, vec_key(t, keys, i, hdr), &d)) != PM_OK)
            break;
        *deleted += d;
        *done = i + 1;
    }
    pm_unlock_write(h);
    return pm_intr_leave(rc);
}

/* ---- range values ---- */

/* Number of items of range(start, stop, step), step != 0. */
int64_t pm_range_len(int64_t start, int64_t stop, int64_t step)
{
    __int128 span = step > 0 ? (__int128)stop - start : (__int128)start - stop;
    __int128 st = step > 0 ? step : -(__int128)step;
    return span <= 0 ? 0 : (int64_t)((span + st - 1) / st);
}

static bool int_fits(int kind, uint32_t size, int64_t lo, int64_t hi)
{
    if (kind == PM_KIND_UINT) {
        return lo >= 0 && (size == 8 || (uint64_t)hi < ((uint64_t)1 << (8 * size)));
    }
    if (size == 8)
        return true;
    int64_t max = ((int64_t)1 << (8 * size - 1)) - 1;
    return lo >= -max - 1 && hi <= max;
}

static int range_kind_ok(int kind, uint32_t size, int64_t lo, int64_t hi, bool is_elem, const char *what)
{
    switch (kind) {
    case PM_KIND_INT:
    case PM_KIND_UINT:
        if (!int_fits(kind, size, lo, hi)) {
            set_error("%s: range values %lld..%lld do not fit %s%u", what, (long long)lo,
                      (long long)hi, kind == PM_KIND_INT ? "int" : "uint", 8 * size);
            return PM_EARG;
        }
        return PM_OK;
    case PM_KIND_FLOAT:
    case PM_KIND_COMPLEX:
    case PM_KIND_STRING:
        return PM_OK;
    default:
        if (is_elem)
            return PM_OK;   /* the zero value */
        set_error("%s: range ops need an integer, float, complex or string key", what);
        return PM_EARG;
    }
}

int pm_range_ok(const pm_maptype *t, int64_t start, int64_t stop, int64_t step, int elem)
{
    if (step == 0) {
        set_error("range step must not be zero");
        return PM_EARG;
    }
    int64_t n = pm_range_len(start, stop, step);
    if (n == 0)
        return range_kind_ok(t->key_kind, t->keysize, 0, 0, false, "key");
    if ((uint64_t)n > PM_MAX_WORK) {
        set_error("a range of %lld items is more work than one call may do (at most 2**48 = %llu: "
                  "about 160 days of inserts); split it", (long long)n, (unsigned long long)PM_MAX_WORK);
        return PM_EARG;
    }
    int64_t last = (int64_t)((__int128)start + (__int128)(n - 1) * step);
    int64_t lo = start < last ? start : last, hi = start < last ? last : start;
    int rc = range_kind_ok(t->key_kind, t->keysize, lo, hi, false, "key");
    if (rc == PM_OK && elem)
        rc = range_kind_ok(t->elem_kind, t->elemsize, lo, hi, true, "elem");
    return rc;
}

/* "key-<i>" into buf; returns the length. */
static size_t key_text(int64_t i, char *buf)
{
    char tmp[24];
    size_t n = 0;
    uint64_t u = i < 0 ? -(uint64_t)i : (uint64_t)i;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t len = 0;
    memcpy(buf, "key-", 4);
    len = 4;
    if (i < 0)
        buf[len++] = '-';
    while (n)
        buf[len++] = tmp[--n];
    return len;
}

/* The image of value i for a kind (strings: a header into text, which must
 * hold 32 bytes).  Returns the elem length mapassign wants. */
size_t pm_range_image(int kind, uint32_t size, int64_t i, unsigned char *img, char *text)
{
    switch (kind) {
    case PM_KIND_INT:
    case PM_KIND_UINT:
        memcpy(img, &i, 8);   /* little-endian: the first `size` bytes are i truncated */
        return size;
    case PM_KIND_FLOAT:
    case PM_KIND_COMPLEX:
        memset(img, 0, 16);
        if (size == 4 || (size == 8 && kind == PM_KIND_COMPLEX)) {
            float f = (float)i;
            memcpy(img, &f, 4);
        } else {
            double d = (double)i;
            memcpy(img, &d, 8);
        }
        return size;
    case PM_KIND_STRING: {
        uint64_t len = key_text(i, text);
        const char *p = text;
        memcpy(img, &p, 8);
        memcpy(img + 8, &len, 8);
        return len;
    }
    default:
        memset(img, 0, KEY_RANGE_IMG);
        return size;   /* the zero value (callers pass no image beyond KEY_RANGE_IMG) */
    }
}

void pm_range_prefetch(pm_map *h, int64_t i, int64_t step, unsigned char *kimg, char *text)
{
    const pm_maptype *t = h->t;
    if (t->keyclass == KC_GENERIC)
        return;
    pm_range_image(t->key_kind, t->keysize, (int64_t)((uint64_t)i + PREFETCH_AHEAD * (uint64_t)step), kimg, text);
    map_prefetch(h, kimg);
}

int pm_assign_range(pm_map *h, int64_t start, int64_t stop, int64_t step, int64_t *done)
{
    const pm_maptype *t = h->t;
    *done = 0;
    int rc = pm_range_ok(t, start, stop, step, 1);
    if (rc != PM_OK || (rc = pm_lock_write(h)) != PM_OK)
        return rc;
    pm_intr_enter();
    rc = pm_range_assign_locked(h, start, step, pm_range_len(start, stop, step), done);
    pm_unlock_write(h);
    return pm_intr_leave(rc);
}

int pm_range_assign_locked(pm_map *h, int64_t start, int64_t step, int64_t n, int64_t *done)
{
    const pm_maptype *t = h->t;
    unsigned char kimg[KEY_RANGE_IMG], eimg[KEY_RANGE_IMG];
    char ktext[32], etext[32];
    bool big_elem = image_size(t->elem_kind, t->elemsize) > KEY_RANGE_IMG;
    for (int64_t j = 0; j < n; j++) {
        if (pm_intr_poll((uint64_t)j))
            return PM_EINTR;
        int64_t i = (int64_t)((uint64_t)start + (uint64_t)j * (uint64_t)step);
        if (j + PREFETCH_AHEAD < n)
            pm_range_prefetch(h, i, step, kimg, ktext);
        pm_range_image(t->key_kind, t->keysize, i, kimg, ktext);
        const uint8_t *e = NULL;
        size_t elen = 0;
        if (t->elem_kind == PM_KIND_PTRBYTES) {     /* m[k] = new([N]byte) */
            int rc = map_assign_api_locked(h, kimg, NULL, t->pointee);
            if (rc != PM_OK)
                return rc;
            *done = j + 1;
            continue;
        }
        if (!big_elem) {
            elen = pm_range_image(t->elem_kind, t->elemsize, i, eimg, etext);
            e = t->elem_kind == PM_KIND_STRING ? (const uint8_t *)etext : eimg;
        }
        int rc = map_assign_locked(h, kimg, e, elen);
        if (rc != PM_OK)
            return rc;
        *done = j + 1;
    }
    return PM_OK;
}
