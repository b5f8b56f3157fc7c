/*
 * hash.c -- Go's non-AES ("fallback") hash functions and the random source.
 *
 * Real amd64 programs hash with AES instructions unless GODEBUG=cpu.aes=off;
 * the fallback (runtime/hash64.go, "inspired by wyhash") is the one whose
 * output can be recomputed, so it is the one modelled, bit for bit.  The
 * keys of the hash are the process's hashkey[4]:
 *
 *   <= 1.22   K0 = hashkey[0] ^ m1, K1..K3 = m2..m4  (hashkey words odd)
 *   >= 1.23   K0..K3 = hashkey[0..3]                 (m1..m4 deleted)
 *
 * and the per-map seed is hash0, zero-extended.  Which function hashes a
 * key type follows the compiler's choice (reflectdata genhash): plain
 * memory of any size goes through memhash (memhash8/16/32/64/128 and
 * memhash_varlen all equal memhashFallback(p, seed, size)), except size 0,
 * whose memhash0 returns the seed without touching K0.  Floats hash ±0 to
 * one value and every NaN to a fresh random value (one "nanhash" draw per
 * NaN component); complex numbers hash the real then the imaginary part.
 *
 * Random draws all go through pm_rand(), one call per draw the runtime
 * makes: either SplitMix64 (seeded; stable across pymap releases) or the
 * user's callback.  Which draws are 32-bit is decided by the callers from
 * the version table; the low bits of the 64-bit value are used.
 */
#include <stdlib.h>
#include "runtime/runtime.h"

static const uint64_t m1 = 0xa0761d6478bd642fULL;
static const uint64_t m2 = 0xe7037ed1a0b428dbULL;
static const uint64_t m3 = 0x8ebc6af09c88c6e3ULL;
static const uint64_t m4 = 0x589965cc75374cc3ULL;
static const uint64_t m5 = PM_HASH_M5;
/* alg.go: hash of ±0 is c1 * (c0 ^ seed); NaNs mix in a random value. */
static const uint64_t c0 = 33054211828000289ULL;
static const uint64_t c1 = 23344194077549503ULL;

void pm_hash_init_keys(pm_runtime *rt)
{
    if (rt->ver->hash_m1_m4) {
        rt->K[0] = rt->hashkey[0] ^ m1;
        rt->K[1] = m2;
        rt->K[2] = m3;
        rt->K[3] = m4;
    } else {
        memcpy(rt->K, rt->hashkey, sizeof rt->K);
    }
}

#define mix pm_mix

static inline uint64_t r4(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline uint64_t r8(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "r4/r8 read little-endian words, as on amd64");

uint64_t pm_memhash(const pm_runtime *rt, const uint8_t *p, uint64_t seed, uint64_t s)
{
    const uint64_t *K = rt->K;
    uint64_t a, b = 0;
    seed ^= K[0];
    if (s == 0)
        return seed;
    if (s < 4) {
        a = (uint64_t)p[0] | (uint64_t)p[s >> 1] << 8 | (uint64_t)p[s - 1] << 16;
    } else if (s == 4) {
        a = b = r4(p);
    } else if (s < 8) {
        a = r4(p);
        b = r4(p + s - 4);
    } else if (s == 8) {
        a = b = r8(p);
    } else if (s <= 16) {
        a = r8(p);
        b = r8(p + s - 8);
    } else {
        uint64_t l = s;
        if (l > 48) {
            uint64_t seed1 = seed, seed2 = seed;
            for (; l > 48; l -= 48) {
                seed = mix(r8(p) ^ K[1], r8(p + 8) ^ seed);
                seed1 = mix(r8(p + 16) ^ K[2], r8(p + 24) ^ seed1);
                seed2 = mix(r8(p + 32) ^ K[3], r8(p + 40) ^ seed2);
                p += 48;
            }
            seed ^= seed1 ^ seed2;
        }
        for (; l > 16; l -= 16) {
            seed = mix(r8(p) ^ K[1], r8(p + 8) ^ seed);
            p += 16;
        }
        a = r8(p + l - 16);
        b = r8(p + l - 8);
    }
    return mix(m5 ^ s, mix(a ^ K[1], b ^ seed));
}

/* One NaN's random contribution: 32-bit fastrand() before 1.22, rand() after. */
static uint64_t nan_draw(pm_runtime *rt)
{
    uint64_t r = pm_rand(rt, PM_RAND_NANHASH);
    return rt->ver->rand64 ? r : (uint32_t)r;
}

static uint64_t f32hash(pm_runtime *rt, const uint8_t *p, uint64_t h)
{
    float f;
    memcpy(&f, p, 4);
    if (f == 0)
        return c1 * (c0 ^ h);
    if (f != f)
        return c1 * (c0 ^ h ^ nan_draw(rt));
    return pm_memhash(rt, p, h, 4);
}

static uint64_t f64hash(pm_runtime *rt, const uint8_t *p, uint64_t h)
{
    double f;
    memcpy(&f, p, 8);
    if (f == 0)
        return c1 * (c0 ^ h);
    if (f != f)
        return c1 * (c0 ^ h ^ nan_draw(rt));
    return pm_memhash(rt, p, h, 8);
}

uint64_t pm_typehash(pm_runtime *rt, const pm_maptype *t, const uint8_t *key, uint64_t seed)
{
    switch (t->hasher) {
    case H_MEM0:
        return seed;
    case H_MEM:
        return pm_memhash(rt, key, seed, t->keysize);
    case H_STR: {
        const uint8_t *data;
        uint64_t len;
        memcpy(&data, key, 8);
        memcpy(&len, key + 8, 8);
        return pm_memhash(rt, data, seed, len);
    }
    case H_F32:
        return f32hash(rt, key, seed);
    case H_F64:
        return f64hash(rt, key, seed);
    case H_C64:
        return f32hash(rt, key + 4, f32hash(rt, key, seed));
    case H_C128:
        return f64hash(rt, key + 8, f64hash(rt, key, seed));
    }
    return seed; /* unreachable: every hasher_kind is handled above */
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

uint64_t pm_rand(pm_runtime *rt, int purpose)
{
    uint64_t v;
    pm_draws *d = &pm_op_draws;
    if (d->rec_mode == REC_REPLAY)
        return d->rec_pos < d->rec_len ? d->rec[d->rec_pos++] : 0;
    if (rt->randfn) {
        /* The callback may run operations of its own: they get a clean draw
         * state (with this draw's entry), and this one is restored after. */
        pm_draws outer = *d;
        *d = (pm_draws){.elem = outer.elem};
        int err = 0;
        v = rt->randfn(rt->randctx, purpose, &err);
        *d = outer;
        if (err)
            d->failed = true;
    } else {
        v = splitmix64(&rt->rng);
    }
    if (d->rec_mode == REC_RECORD) {
        if (d->rec_len == d->rec_cap) {
            size_t ncap = d->rec_cap ? 2 * d->rec_cap : 64;
            uint64_t *n = realloc(d->rec, ncap * sizeof *n);
            if (!n) {
                d->failed = true;    /* treated as a failed draw: nothing changes */
                return v;
            }
            d->rec = n;
            d->rec_cap = ncap;
        }
        d->rec[d->rec_len++] = v;
    }
    return v;
}

/* Used by pm_runtime_new for hashkey words: never the user's callback. */
uint64_t pm_splitmix_next(uint64_t *state) { return splitmix64(state); }
