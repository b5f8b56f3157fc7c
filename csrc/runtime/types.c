/*
 * runtime/types.c -- map types, and the key and elem images slots hold.
 *
 * A map type is computed once, here, for both implementations: the sizes
 * Go's compiler gives the key and elem, what a slot stores (a pointer to a
 * box when the value is over 128 bytes), the classic bucket
 * (reflectdata.MapBucketType: tophash[8], 8 keys, 8 elems, an overflow
 * word) and the Swiss group (reflectdata's group type: a control word and
 * 8 slots, each a Go struct {K'; V'} with Go's struct layout, including
 * the padding byte of a struct that ends in a zero-size field,
 * golang/go#71368), the hasher, and the assign path Go's compiler picks.
 * Python asks for these facts (pm_maptype_info); it never computes them.
 *
 * Images: a slot's key or elem is Go's memory image (little-endian), except
 * that pointer words are the model's own pointers.  A string is a 16-byte
 * header {data, len} whose data is a refcounted gobj; an indirect value is
 * a box gobj; a *[N]byte elem points at a pointee gobj.  Every non-NULL
 * pointer word in a slot holds one reference: deleting or overwriting the
 * slot releases it, copying the slot takes another.
 */
#include <stdlib.h>
#include "map/gmap.h"   /* owners: the generic map header, never an implementation */

/* ---- map types ---- */

static uint32_t align_up(uint32_t n, uint32_t a) { return (n + a - 1) / a * a; }

/* Go's alignment of a value of a kind (amd64). */
static uint32_t kind_align(int kind, uint32_t size)
{
    switch (kind) {
    case PM_KIND_INT:
    case PM_KIND_UINT:
    case PM_KIND_FLOAT: return size;
    case PM_KIND_COMPLEX: return size / 2;     /* complex64 aligns as float32 */
    case PM_KIND_STRING:
    case PM_KIND_POINTER:
    case PM_KIND_PTRBYTES: return 8;
    default: return 1;                          /* bool, [N]byte, struct{} */
    }
}

/* walk.go mapfast: the assign routine the compiler calls for this type. */
static uint8_t assign_path_of(const pm_maptype *t)
{
    if (t->elemsize > maxElemSize)
        return AP_GENERIC;
    bool mem = t->key_kind == PM_KIND_INT || t->key_kind == PM_KIND_UINT ||
               t->key_kind == PM_KIND_BYTES;   /* AMEM32/AMEM64: plain memory */
    if (mem && t->keysize == 4)
        return AP_FAST32;
    if (mem && t->keysize == 8)
        return AP_FAST64;
    if (t->key_kind == PM_KIND_POINTER)
        return AP_FAST64PTR;
    if (t->key_kind == PM_KIND_STRING)
        return AP_FASTSTR;
    return AP_GENERIC;
}

static bool kind_size_ok(int kind, uint32_t size)
{
    switch (kind) {
    case PM_KIND_BOOL: return size == 1;
    case PM_KIND_INT:
    case PM_KIND_UINT: return size == 1 || size == 2 || size == 4 || size == 8;
    case PM_KIND_FLOAT: return size == 4 || size == 8;
    case PM_KIND_COMPLEX: return size == 8 || size == 16;
    case PM_KIND_STRING: return size == 16;
    case PM_KIND_POINTER: return size == 8;
    case PM_KIND_BYTES: return size <= (1u << 24);
    case PM_KIND_EMPTY: return size == 0;
    case PM_KIND_PTRBYTES: return size >= 1 && size <= (1u << 24);
    }
    return false;
}

pm_maptype *pm_maptype_new(int key_kind, uint32_t key_size, int elem_kind, uint32_t elem_size)
{
    if (!kind_size_ok(key_kind, key_size) || !kind_size_ok(elem_kind, elem_size) ||
        key_kind == PM_KIND_PTRBYTES) {
        set_error("invalid kind/size: key %d/%u elem %d/%u", key_kind, key_size, elem_kind, elem_size);
        return NULL;
    }
    pm_maptype *t = calloc(1, sizeof *t);
    if (!t) {
        set_error("out of memory");
        return NULL;
    }
    t->refcnt = 1;
    if (elem_kind == PM_KIND_PTRBYTES) {   /* *[N]byte: the slot is the pointer */
        t->pointee = elem_size;
        elem_size = 8;
    }
    t->key_kind = key_kind;
    t->elem_kind = elem_kind;
    t->keysize = key_size;
    t->elemsize = elem_size;
    bool ik = key_size > maxKeySize, ie = elem_size > maxElemSize;
    t->keyslot = ik ? 8 : key_size;
    t->elemslot = ie ? 8 : elem_size;
    t->keyalign = ik ? 8 : kind_align(key_kind, key_size);
    t->elemalign = ie ? 8 : kind_align(elem_kind, elem_size);
    /* reflectdata.MapBucketType: tophash, keys, elems, overflow; on 64-bit the
     * sum is always a multiple of 8, so the struct has no padding. */
    t->bucketsize = 8 + 8 * t->keyslot + 8 * t->elemslot + 8;
    /* The Swiss slot struct {K'; V'}: V' at K's end aligned for V', a padding
     * byte when the struct ends in a zero-size field but is not empty, the
     * size rounded to the larger alignment.  The group struct {ctrl uint64;
     * slots [8]slot} follows the same rule: zero-size slots pad it to 16. */
    uint32_t align = t->keyalign > t->elemalign ? t->keyalign : t->elemalign;
    t->elemoff = align_up(t->keyslot, t->elemalign);
    uint32_t slot = t->elemoff + t->elemslot;
    if (t->elemslot == 0 && slot > 0)
        slot++;
    t->slotsize = align_up(slot, align);
    t->groupsize = 8 + 8 * t->slotsize;
    if (t->slotsize == 0)
        t->groupsize = 16;
    bool kp = key_kind == PM_KIND_STRING || key_kind == PM_KIND_POINTER;
    bool ep = elem_kind == PM_KIND_STRING || elem_kind == PM_KIND_POINTER ||
              elem_kind == PM_KIND_PTRBYTES;
    t->elem_ref = elem_kind == PM_KIND_STRING || elem_kind == PM_KIND_PTRBYTES;
    t->key_ptrs = kp || ik;
    t->elem_ptrs = ep || ie;
    t->bucket_ptrs = t->key_ptrs || t->elem_ptrs;
    t->flags = (ik ? TF_INDIRECTKEY : 0) | (ie ? TF_INDIRECTELEM : 0);
    if (key_kind != PM_KIND_FLOAT && key_kind != PM_KIND_COMPLEX)
        t->flags |= TF_REFLEXIVEKEY;
    if (key_kind == PM_KIND_FLOAT || key_kind == PM_KIND_COMPLEX || key_kind == PM_KIND_STRING)
        t->flags |= TF_NEEDKEYUPDATE;
    if (key_size == 0)
        t->hasher = H_MEM0;
    else if (key_kind == PM_KIND_STRING)
        t->hasher = H_STR;
    else if (key_kind == PM_KIND_FLOAT)
        t->hasher = key_size == 4 ? H_F32 : H_F64;
    else if (key_kind == PM_KIND_COMPLEX)
        t->hasher = key_size == 8 ? H_C64 : H_C128;
    else
        t->hasher = H_MEM;
    if (t->hasher == H_MEM && !ik && (key_size == 4 || key_size == 8))
        t->keyclass = key_size == 8 ? KC_MEM8 : KC_MEM4;
    t->assign_path = assign_path_of(t);
    return t;
}

/* Map types are reference counted: every hmap holds one, so a map (and the
 * bucket arrays an iterator keeps) never outlives its type, whatever order
 * Python's garbage collector frees things in. */
void pm_maptype_retain(pm_maptype *t) { __atomic_fetch_add(&t->refcnt, 1, __ATOMIC_RELAXED); }

void pm_maptype_free(pm_maptype *t)
{
    if (t && __atomic_sub_fetch(&t->refcnt, 1, __ATOMIC_ACQ_REL) == 0)
        free(t);
}

void pm_maptype_info(const pm_maptype *t, pm_typeinfo *out)
{
    out->key_size = t->keysize;
    out->elem_size = t->elemsize;
    out->key_slot_size = t->keyslot;
    out->elem_slot_size = t->elemslot;
    out->bucket_size = t->bucketsize;
    out->indirect_key = !!(t->flags & TF_INDIRECTKEY);
    out->indirect_elem = !!(t->flags & TF_INDIRECTELEM);
    out->reflexive_key = !!(t->flags & TF_REFLEXIVEKEY);
    out->need_key_update = !!(t->flags & TF_NEEDKEYUPDATE);
    out->has_pointers = t->bucket_ptrs;
    out->key_align = t->keyalign;
    out->elem_align = t->elemalign;
    out->bucket_keys_offset = 8;
    out->bucket_elems_offset = 8 + 8 * t->keyslot;
    out->bucket_overflow_offset = t->bucketsize - 8;
    out->slot_size = t->slotsize;
    out->elem_offset = t->elemoff;
    out->group_size = t->groupsize;
    out->assign_path = t->assign_path;
}

/* ---- key images ---- */

bool key_equal(const pm_maptype *t, const unsigned char *a, const unsigned char *b)
{
    switch (t->key_kind) {
    case PM_KIND_STRING: {
        uint64_t la, lb;
        const unsigned char *da, *db;
        memcpy(&la, a + 8, 8);
        memcpy(&lb, b + 8, 8);
        if (la != lb)
            return false;
        memcpy(&da, a, 8);
        memcpy(&db, b, 8);
        return la == 0 || da == db || memcmp(da, db, la) == 0;
    }
    case PM_KIND_FLOAT:
    case PM_KIND_COMPLEX:
        for (uint32_t off = 0; off < t->keysize;) {
            if (t->keysize == 4 || (t->keysize == 8 && t->key_kind == PM_KIND_COMPLEX)) {
                float x, y;
                memcpy(&x, a + off, 4);
                memcpy(&y, b + off, 4);
                if (!(x == y))
                    return false;
                off += 4;
            } else {
                double x, y;
                memcpy(&x, a + off, 8);
                memcpy(&y, b + off, 8);
                if (!(x == y))
                    return false;
                off += 8;
            }
        }
        return true;
    default:
        return memcmp(a, b, t->keysize) == 0;
    }
}

bool image_valid(int kind, const unsigned char *img)
{
    /* Every bit pattern is a value of the other kinds (a NaN payload is
     * still a NaN); a Go bool is the byte 0 or 1. */
    return kind != PM_KIND_BOOL || img[0] <= 1;
}

bool key_is_nan(const pm_maptype *t, const unsigned char *k)
{
    return !(t->flags & TF_REFLEXIVEKEY) && !key_equal(t, k, k);
}

void slot_release_key(const pm_maptype *t, unsigned char *k)
{
    if ((t->flags & TF_INDIRECTKEY) || t->key_kind == PM_KIND_STRING) {
        unsigned char *p = deref(k);
        if (p)
            gc_decref(GOBJ_OF(p));
    }
}

void slot_release_elem(const pm_maptype *t, unsigned char *e)
{
    if ((t->flags & TF_INDIRECTELEM) || t->elem_ref) {
        unsigned char *p = deref(e);
        if (p)
            gc_decref(GOBJ_OF(p));
    }
}

/* The slot holds a reference to what its pointer words point at. */
void slot_retain(const pm_maptype *t, unsigned char *k, unsigned char *e)
{
    if ((t->flags & TF_INDIRECTKEY) || t->key_kind == PM_KIND_STRING) {
        unsigned char *p = deref(k);
        if (p)
            gc_incref(GOBJ_OF(p));
    }
    if ((t->flags & TF_INDIRECTELEM) || t->elem_ref) {
        unsigned char *p = deref(e);
        if (p)
            gc_incref(GOBJ_OF(p));
    }
}


/* Zero a slot's key and/or elem words, dropping what they referenced. */
void slot_clear_key(const pm_maptype *t, unsigned char *k)
{
    slot_release_key(t, k);
    memset(k, 0, t->keyslot);
}

void slot_clear_elem(const pm_maptype *t, unsigned char *e)
{
    slot_release_elem(t, e);
    if (t->elemslot == 8)
        memset(e, 0, 8);   /* the common slot, inline */
    else
        memset(e, 0, t->elemslot);
}

/* ---- key images from the API ---- */

/* Build the key image for an API key: strings become a header pointing at
 * the caller's bytes (valid for the duration of the call). */
static int key_image(const pm_maptype *t, const uint8_t *key, size_t keylen, unsigned char *img)
{
    if (t->key_kind == PM_KIND_STRING) {
        uint64_t len = keylen;
        memcpy(img, &key, 8);
        memcpy(img + 8, &len, 8);
        return PM_OK;
    }
    if (keylen != t->keysize) {
        set_error("key image is %zu bytes, the key type has %u", keylen, t->keysize);
        return PM_EARG;
    }
    if (keylen)
        memcpy(img, key, keylen);
    return PM_OK;
}

int elem_check(const pm_maptype *t, const uint8_t *elem, size_t elemlen)
{
    if (t->elem_kind == PM_KIND_PTRBYTES) {
        if (elemlen != 0 && elemlen != t->pointee) {
            set_error("a *[%u]byte elem is %u bytes of contents or nil, not %zu bytes",
                      t->pointee, t->pointee, elemlen);
            return PM_EARG;
        }
        return PM_OK;
    }
    if (elem && t->elem_kind != PM_KIND_STRING && elemlen != t->elemsize) {
        set_error("elem image is %zu bytes, the elem type has %u", elemlen, t->elemsize);
        return PM_EARG;
    }
    return PM_OK;
}

int keybuf_init(keybuf *kb, const pm_maptype *t, const uint8_t *key, size_t keylen)
{
    size_t need = t->key_kind == PM_KIND_STRING ? 16 : t->keysize;
    kb->p = need <= KEYIMG_INLINE ? kb->small : malloc(need);
    if (!kb->p) {
        set_error("out of memory");
        return PM_ENOMEM;
    }
    int rc = key_image(t, key, keylen, kb->p);
    if (rc != PM_OK && kb->p != kb->small)
        free(kb->p);
    return rc;
}

void keybuf_free(keybuf *kb)
{
    if (kb->p != kb->small)
        free(kb->p);
}

/* Store a value image into a slot (keys: owned copy of string data, box for
 * indirect).  The slot must be zero/released. */
int store_value(pm_map *h, int kind, uint32_t size, bool indirect,
                       unsigned char *slot, const unsigned char *img, const uint8_t *raw, size_t rawlen)
{
    if (kind == PM_KIND_STRING) {
        const uint8_t *data = raw;
        uint64_t len = rawlen;
        if (img) {
            memcpy(&data, img, 8);
            memcpy(&len, img + 8, 8);
        }
        unsigned char *dp = NULL;
        if (data && len) {
            gobj *s = gc_string(h->rt, data, len);
            if (!s)
                return PM_ENOMEM;
            dp = s->data;
        }
        memcpy(slot, &dp, 8);
        memcpy(slot + 8, &len, 8);
        return PM_OK;
    }
    if (kind == PM_KIND_PTRBYTES) {     /* the pointer image: the slot takes a reference */
        unsigned char *p = NULL;
        if (raw)
            memcpy(&p, raw, 8);
        if (p)
            gc_incref(GOBJ_OF(p));
        memcpy(slot, &p, 8);
        return PM_OK;
    }
    unsigned char *dst = slot;
    if (indirect) {
        gobj *box = gc_alloc(h, OBJ_BOX, size, true);
        if (!box)
            return PM_ENOMEM;
        memcpy(slot, &(unsigned char *){box->data}, 8);
        dst = box->data;
    }
    const unsigned char *src = img ? img : raw;
    if (size) {
        if (src)
            memcpy(dst, src, size);
        else
            memset(dst, 0, size);
    }
    return PM_OK;
}

/* new([N]byte) for a *[N]byte elem, with `contents` (N bytes) or zeroed. */
gobj *pointee_new(pm_map *h, const uint8_t *contents)
{
    gobj *p = gc_alloc(h, OBJ_POINTEE, h->t->pointee, true);
    if (p && contents)
        memcpy(p->data, contents, h->t->pointee);
    if (!p)
        set_error("out of memory");
    return p;
}

/* The slot (k, e) of a new entry: the key image, the elem as the API gave it. */
int slot_store(pm_map *owner, unsigned char *k, unsigned char *e,
               const unsigned char *key, const uint8_t *elem, size_t elemlen)
{
    const pm_maptype *t = owner->t;
    int rc = store_value(owner, t->key_kind, t->keysize, t->flags & TF_INDIRECTKEY, k, key, NULL, 0);
    if (rc != PM_OK)
        return rc;
    rc = store_value(owner, t->elem_kind, t->elemsize, t->flags & TF_INDIRECTELEM, e, NULL, elem, elemlen);
    if (rc != PM_OK)
        slot_clear_key(t, k);
    return rc;
}

/* An assign to an existing key: the elem is overwritten, and the key too
 * when the type needs it (+0 -> -0; a string key takes the new string). */
int slot_update(pm_map *owner, unsigned char *k, unsigned char *e,
                const unsigned char *key, const uint8_t *elem, size_t elemlen)
{
    const pm_maptype *t = owner->t;
    int rc;
    k = slot_key(t, k);
    e = slot_elem(t, e);
    if (t->flags & TF_NEEDKEYUPDATE) {
        if (t->key_kind == PM_KIND_STRING) {
            unsigned char img[16];
            if ((rc = store_value(owner, PM_KIND_STRING, 16, false, img, key, NULL, 0)) != PM_OK)
                return rc;
            slot_release_key(t, k);
            memcpy(k, img, 16);
        } else {
            memcpy(k, key, t->keysize);
        }
    }
    if (t->elem_ref) {
        unsigned char img[16];
        if ((rc = store_value(owner, t->elem_kind, t->elemsize, false, img, NULL, elem, elemlen)) != PM_OK)
            return rc;
        slot_release_elem(t, e);
        memcpy(e, img, t->elemsize);
    } else if (t->elemsize) {
        if (elem)
            memcpy(e, elem, t->elemsize);
        else
            memset(e, 0, t->elemsize);
    }
    return PM_OK;
}

int slot_take_refs(pm_map *owner, unsigned char *k, unsigned char *e)
{
    const pm_maptype *t = owner->t;
    bool ind[2] = {t->flags & TF_INDIRECTKEY, t->flags & TF_INDIRECTELEM};
    bool shared[2] = {t->key_kind == PM_KIND_STRING, t->elem_ref};
    unsigned char *w[2] = {k, e};
    uint32_t size[2] = {t->keysize, t->elemsize};
    for (int i = 0; i < 2; i++) {
        unsigned char *p = deref(w[i]);
        if (!p || !(ind[i] || shared[i]))
            continue;
        if (shared[i] && !ind[i]) {
            gc_incref(GOBJ_OF(p));
            continue;
        }
        gobj *b = gc_alloc(owner, OBJ_BOX, size[i], true);
        if (!b) {
            for (int j = i; j < 2; j++)
                if (ind[j] || shared[j])
                    memset(w[j], 0, 8);
            set_error("out of memory");
            return PM_ENOMEM;
        }
        memcpy(b->data, p, size[i]);
        memcpy(w[i], &(unsigned char *){b->data}, 8);
    }
    return PM_OK;
}
