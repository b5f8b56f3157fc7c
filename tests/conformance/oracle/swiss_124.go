//go:build go1.24 && !go1.25 && goexperiment.swissmap

package main

import (
	"bytes"
	"unsafe"
)

// Go 1.24: byte 35 of Map is padding (no tombstonePossible).
const hasTombstonePossible = false

// appendCloneExtra, 1.24: maps.Clone makes a map with hint len(src) (a seed
// draw, readable from the clone) and then ranges over src, Putting every
// entry (two draws, entryOffset and dirOffset, which decide the insertion
// order and so the clone's placement). Those offsets are not observable, so
// the oracle finds a pair that reproduces the clone: for each candidate it
// iterates src with the real iterator at those offsets, replays the inserts
// into a fresh map with the clone's seed, and compares the full states.
// Reported: "iter": {"entry_offset", "dir_offset"} of the first match
// (null when src is empty: Init draws nothing then), or "iter_error".
func appendCloneExtra[K comparable, E any](buf []byte, p *pair[K, E], src, dst map[K]E) []byte {
	if len(src) == 0 {
		return append(buf, `,"iter":null`...)
	}
	want := appendState(nil, p, hmapOf(dst), true)
	seed := seedOf(hmapOf(dst))
	hs := hmapOf(src)
	dirLen := *(*int)(unsafePtrAdd(hs, mapDirLen))
	// entryOffset matters modulo the largest table capacity (8 for a small
	// map), dirOffset modulo dirLen.
	maxCap := uint64(8)
	for i := 0; i < dirLen; i++ {
		t := *(*[2]uint16)(unsafePtrAt(unsafePtrAt(hs, mapDirPtr), uintptr(i)*8))
		if c := uint64(t[1]); c > maxCap {
			maxCap = c
		}
	}
	nd := uint64(1)
	if dirLen > 0 {
		nd = uint64(dirLen)
	}
	seen := map[string]bool{}
	var ks []K
	var es []E
	var order []byte
	var got []byte
	for d := uint64(0); d < nd; d++ {
		for e := uint64(0); e < maxCap; e++ {
			ks, es = ks[:0], es[:0]
			order = order[:0]
			iterWithOffsets(src, e, d, func(k K, v E) bool {
				ks = append(ks, k)
				es = append(es, v)
				order = p.kc.appendJSON(order, &k)
				order = append(order, ',')
				return true
			})
			if seen[string(order)] {
				continue
			}
			seen[string(order)] = true
			m := makeMap[K, E](int64(len(src)))
			*(*uintptr)(unsafePtrAdd(hmapOf(m), mapSeed)) = uintptr(seed)
			for i := range ks {
				m[ks[i]] = es[i]
			}
			got = appendState(got[:0], p, hmapOf(m), true)
			if bytes.Equal(got, want) {
				buf = append(buf, `,"iter":{`...)
				buf = appendIterStartFields(buf, &iterStart{e, d})
				return append(buf, '}')
			}
		}
	}
	return append(buf, `,"iter":null,"iter_error":"no offsets reproduce the clone"`...)
}

func unsafePtrAdd(p unsafe.Pointer, off uintptr) unsafe.Pointer { return unsafe.Add(p, off) }
func unsafePtrAt(p unsafe.Pointer, off uintptr) unsafe.Pointer  { return ptrAt(p, off) }
