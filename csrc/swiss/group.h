/*
 * swiss/group.h -- a group's control word, its slots, and the probe
 * sequence (group.go, the portable "SWAR" half of it).
 *
 * A control word is read as a little-endian uint64: byte i is slot i.  A
 * match returns a bitset with bit 7 of byte i set for every matching slot,
 * so the lowest matching slot is ctz(bits) / 8.  The matches here are
 * exact (Go's portable H2 match may report false positives, which its
 * callers filter by comparing keys; the SIMD version on amd64 is exact):
 * the sets of slots every caller acts on are the same.
 *
 *   empty          byte == 0x80
 *   emptyOrDeleted bit 7 set (0x80 or 0xFE)
 *   full           bit 7 clear (an H2 value, 0..0x7F)
 *
 * Probing visits groups H1, H1+1, H1+3, H1+6, ... (triangular numbers)
 * modulo the power-of-two group count, which reaches every group once.
 */
#ifndef PYMAP_SWISS_GROUP_H
#define PYMAP_SWISS_GROUP_H

#include "swiss/swiss.h"

#define SW_LSB 0x0101010101010101ULL
#define SW_MSB 0x8080808080808080ULL
#define SW_CTRL_ALL_EMPTY (SW_LSB * SW_CTRL_EMPTY)   /* abi.MapCtrlEmpty */

typedef uint64_t sw_bitset;

static inline uint64_t sw_h1(uint64_t hash) { return hash >> 7; }
static inline uint8_t sw_h2(uint64_t hash) { return (uint8_t)(hash & 0x7f); }

static inline uint64_t sw_ctrl(const unsigned char *g)
{
    uint64_t c;
    memcpy(&c, g, 8);
    return c;
}
static inline void sw_set_ctrl(unsigned char *g, unsigned i, uint8_t c) { g[i] = c; }
static inline void sw_set_empty(unsigned char *g)
{
    uint64_t c = SW_CTRL_ALL_EMPTY;
    memcpy(g, &c, 8);
}

/* Bytes of x that are zero: exact (no borrow crosses a byte). */
static inline sw_bitset sw_zero_bytes(uint64_t x)
{
    return ~(((x & ~SW_MSB) + ~SW_MSB) | x) & SW_MSB;
}
static inline sw_bitset sw_match_h2(uint64_t ctrl, uint8_t h2) { return sw_zero_bytes(ctrl ^ (SW_LSB * h2)); }
static inline sw_bitset sw_match_empty(uint64_t ctrl) { return sw_zero_bytes(ctrl ^ SW_CTRL_ALL_EMPTY); }
static inline sw_bitset sw_match_empty_or_deleted(uint64_t ctrl) { return ctrl & SW_MSB; }
static inline sw_bitset sw_match_full(uint64_t ctrl) { return ~ctrl & SW_MSB; }
static inline unsigned sw_first(sw_bitset b) { return (unsigned)__builtin_ctzll(b) >> 3; }
static inline sw_bitset sw_remove_first(sw_bitset b) { return b & (b - 1); }
static inline sw_bitset sw_remove_below(sw_bitset b, unsigned i) { return b & ~((1ULL << (8 * i)) - 1); }
static inline unsigned sw_count(sw_bitset b) { return (unsigned)__builtin_popcountll(b); }

/* Slot addresses in a group of type t. */
static inline unsigned char *sw_key(const pm_maptype *t, unsigned char *g, unsigned i)
{
    return g + SW_CTRL_SIZE + (uint64_t)i * t->slotsize;
}
static inline unsigned char *sw_elem(const pm_maptype *t, unsigned char *g, unsigned i)
{
    return g + SW_CTRL_SIZE + (uint64_t)i * t->slotsize + t->elemoff;
}
static inline unsigned char *sw_group(const pm_maptype *t, const gobj *groups, uint64_t i)
{
    return (unsigned char *)groups->data + i * t->groupsize;
}

/* The probe sequence over a table's groups. */
typedef struct sw_probe {
    uint64_t mask, offset, index;
} sw_probe;

static inline sw_probe sw_probe_start(uint64_t hash, uint64_t mask)
{
    sw_probe p = {mask, sw_h1(hash) & mask, 0};
    return p;
}
static inline void sw_probe_next(sw_probe *p)
{
    p->index++;
    p->offset = (p->offset + p->index) & p->mask;
}

#endif /* PYMAP_SWISS_GROUP_H */
