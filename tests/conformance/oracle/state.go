//go:build !go1.24 || (!go1.26 && !goexperiment.swissmap)

package main

// Reading a live map's hmap, mapextra and buckets through unsafe, and
// encoding them as the JSON "state" object of the protocol.

import (
	"fmt"
	"reflect"
	"strconv"
	"unsafe"
)

// mapInfo describes the bucket layout of one map type. It is computed from
// the Go type sizes by the compiler's rule and cross-checked against the
// runtime's own maptype descriptor.
type mapInfo struct {
	bsize        uintptr // bucket size
	ks, es       uintptr // key/elem slot sizes (8 when indirect)
	indirectKey  bool
	indirectElem bool
	noPointers   bool // bucket type is pointer-free (overflow list kept in extra)
	flags        uint32
}

// Offsets inside the runtime maptype (abi.MapType / abi.OldMapType), equal in
// 1.19-1.24: a 48-byte _type, key, elem, bucket, hasher, then keysize u8,
// elemsize u8, bucketsize u16, flags u32.
const (
	typeSize         = 48
	mapTypeBucket    = typeSize + 16
	mapTypeKeySize   = typeSize + 32
	mapTypeElemSize  = typeSize + 33
	mapTypeBucketSz  = typeSize + 34
	mapTypeFlags     = typeSize + 36
	typePtrBytes     = 8 // _type.ptrdata
	maxInlineKeySize = 128
)

func rtypeOf(t reflect.Type) unsafe.Pointer {
	// reflect.Type is an interface whose data word is the *rtype.
	return (*[2]unsafe.Pointer)(unsafe.Pointer(&t))[1]
}

func newMapInfo(mt reflect.Type) (mapInfo, error) {
	var mi mapInfo
	kt, et := mt.Key(), mt.Elem()
	mi.ks, mi.es = kt.Size(), et.Size()
	if mi.ks > maxInlineKeySize {
		mi.ks, mi.indirectKey = 8, true
	}
	if mi.es > maxInlineKeySize {
		mi.es, mi.indirectElem = 8, true
	}
	mi.bsize = 8 + 8*mi.ks + 8*mi.es + 8
	rt := rtypeOf(mt)
	gotK := uintptr(*(*uint8)(unsafe.Add(rt, mapTypeKeySize)))
	gotE := uintptr(*(*uint8)(unsafe.Add(rt, mapTypeElemSize)))
	gotB := uintptr(*(*uint16)(unsafe.Add(rt, mapTypeBucketSz)))
	mi.flags = *(*uint32)(unsafe.Add(rt, mapTypeFlags))
	if gotK != mi.ks || gotE != mi.es || gotB != mi.bsize ||
		(mi.flags&1 != 0) != mi.indirectKey || (mi.flags&2 != 0) != mi.indirectElem {
		return mi, fmt.Errorf("maptype of %v disagrees with the layout rule: keysize %d/%d elemsize %d/%d bucketsize %d/%d flags %#x",
			mt, gotK, mi.ks, gotE, mi.es, gotB, mi.bsize, mi.flags)
	}
	bt := *(*unsafe.Pointer)(unsafe.Add(rt, mapTypeBucket))
	mi.noPointers = *(*uintptr)(unsafe.Add(bt, typePtrBytes)) == 0
	return mi, nil
}

// hmap field offsets common to all supported versions.
const (
	hmapCount     = 0
	hmapFlags     = 8
	hmapB         = 9
	hmapNoverflow = 10
	hmapHash0     = 12
	hmapBuckets   = 16
	hmapOld       = 24
	hmapNevacuate = 32

	extraOverflow     = 0
	extraOldOverflow  = 8
	extraNextOverflow = 16

	flagSameSizeGrow = 8
	maxChainLength   = 100000
)

func ptrAt(p unsafe.Pointer, off uintptr) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Add(p, off))
}

func appendBool(buf []byte, b bool) []byte {
	if b {
		return append(buf, "true"...)
	}
	return append(buf, "false"...)
}

func appendSliceLen(buf []byte, sp unsafe.Pointer) []byte {
	if sp == nil {
		return append(buf, "null"...)
	}
	return strconv.AppendInt(buf, int64(*(*int)(unsafe.Add(sp, 8))), 10)
}

// appendState encodes the state of the map whose hmap is at h.
func appendState[K comparable, E any](buf []byte, p *pair[K, E], h unsafe.Pointer, dump bool) []byte {
	mi := &p.info
	B := *(*uint8)(unsafe.Add(h, hmapB))
	flags := *(*uint8)(unsafe.Add(h, hmapFlags))
	buckets := ptrAt(h, hmapBuckets)
	old := ptrAt(h, hmapOld)
	var extra unsafe.Pointer = ptrAt(h, hmapExtra)
	var clearSeq uint64
	if hasClearSeq {
		clearSeq = *(*uint64)(unsafe.Add(h, uintptr(hmapClearSeq)))
	}
	buf = append(buf, `{"count":`...)
	buf = strconv.AppendInt(buf, int64(*(*int)(unsafe.Add(h, hmapCount))), 10)
	buf = append(buf, `,"flags":`...)
	buf = strconv.AppendUint(buf, uint64(flags), 10)
	buf = append(buf, `,"B":`...)
	buf = strconv.AppendUint(buf, uint64(B), 10)
	buf = append(buf, `,"noverflow":`...)
	buf = strconv.AppendUint(buf, uint64(*(*uint16)(unsafe.Add(h, hmapNoverflow))), 10)
	buf = append(buf, `,"hash0":`...)
	buf = strconv.AppendUint(buf, uint64(*(*uint32)(unsafe.Add(h, hmapHash0))), 10)
	buf = append(buf, `,"nevacuate":`...)
	buf = strconv.AppendUint(buf, uint64(*(*uintptr)(unsafe.Add(h, hmapNevacuate))), 10)
	buf = append(buf, `,"clearseq":`...)
	buf = strconv.AppendUint(buf, clearSeq, 10)
	buf = append(buf, `,"extra":`...)
	buf = appendBool(buf, extra != nil)
	buf = append(buf, `,"nextoverflow":`...)
	if extra != nil && ptrAt(extra, extraNextOverflow) != nil && buckets != nil {
		d := int64(uintptr(ptrAt(extra, extraNextOverflow))) - int64(uintptr(buckets))
		buf = strconv.AppendInt(buf, d/int64(mi.bsize), 10)
	} else {
		buf = append(buf, "null"...)
	}
	buf = append(buf, `,"overflow":`...)
	if extra != nil {
		buf = appendSliceLen(buf, ptrAt(extra, extraOverflow))
	} else {
		buf = append(buf, "null"...)
	}
	buf = append(buf, `,"oldoverflow":`...)
	if extra != nil {
		buf = appendSliceLen(buf, ptrAt(extra, extraOldOverflow))
	} else {
		buf = append(buf, "null"...)
	}
	if spanElemSizeOff >= 0 {
		buf = append(buf, `,"nbuckets_alloc":`...)
		if buckets == nil {
			buf = append(buf, "null"...)
		} else {
			base, size := allocOf(buckets)
			buf = strconv.AppendUint(buf, uint64((base+size-uintptr(buckets))/mi.bsize), 10)
		}
	}
	if dump {
		nb := uintptr(1) << B
		buf = append(buf, `,"buckets":`...)
		buf = appendChains(buf, p, buckets, nb)
		buf = append(buf, `,"oldbuckets":`...)
		nold := nb
		if flags&flagSameSizeGrow == 0 {
			nold = nb >> 1
		}
		buf = appendChains(buf, p, old, nold)
	}
	return append(buf, '}')
}

func appendChains[K comparable, E any](buf []byte, p *pair[K, E], arr unsafe.Pointer, n uintptr) []byte {
	if arr == nil {
		return append(buf, "null"...)
	}
	mi := &p.info
	arrBase, _, _ := findObject(uintptr(arr), 0, 0)
	buf = append(buf, '[')
	for i := uintptr(0); i < n; i++ {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '[')
		b := unsafe.Add(arr, i*mi.bsize)
		for j := 0; b != nil; j++ {
			if j >= maxChainLength {
				panic(fmt.Sprintf("chain %d longer than %d buckets (loop?)", i, maxChainLength))
			}
			if j > 0 {
				buf = append(buf, ',')
			}
			switch {
			case j == 0:
				buf = append(buf, `{"o":"array","x":`...)
				buf = strconv.AppendUint(buf, uint64(i), 10)
			default:
				base, _, _ := findObject(uintptr(b), 0, 0)
				if base != 0 && base == arrBase && uintptr(b) >= uintptr(arr) {
					buf = append(buf, `{"o":"prealloc","x":`...)
					buf = strconv.AppendUint(buf, uint64((uintptr(b)-uintptr(arr))/mi.bsize), 10)
				} else {
					buf = append(buf, `{"o":"heap","x":null`...)
				}
			}
			buf = appendBucket(buf, p, b)
			buf = append(buf, '}')
			b = ptrAt(b, mi.bsize-8)
		}
		buf = append(buf, ']')
	}
	return append(buf, ']')
}

// appendBucket encodes tophash, keys and elems of bucket b (every slot,
// whatever its tophash).
func appendBucket[K comparable, E any](buf []byte, p *pair[K, E], b unsafe.Pointer) []byte {
	mi := &p.info
	buf = append(buf, `,"th":`...)
	buf = appendHexString(buf, unsafe.Slice((*byte)(b), 8))
	buf = append(buf, `,"k":[`...)
	for i := uintptr(0); i < 8; i++ {
		if i > 0 {
			buf = append(buf, ',')
		}
		slot := unsafe.Add(b, 8+i*mi.ks)
		if mi.indirectKey {
			slot = *(*unsafe.Pointer)(slot)
			if slot == nil {
				buf = append(buf, "null"...)
				continue
			}
		}
		buf = p.kc.appendJSON(buf, (*K)(slot))
	}
	buf = append(buf, `],"e":[`...)
	for i := uintptr(0); i < 8; i++ {
		if i > 0 {
			buf = append(buf, ',')
		}
		slot := unsafe.Add(b, 8+8*mi.ks+i*mi.es)
		if mi.indirectElem {
			slot = *(*unsafe.Pointer)(slot)
			if slot == nil {
				buf = append(buf, "null"...)
				continue
			}
		}
		buf = p.ec.appendJSON(buf, (*E)(slot))
	}
	return append(buf, ']')
}

// iterStart is what mapiterinit chose: the start bucket and slot offset.
type iterStart struct {
	start  uint64
	offset uint8
}

// hiter field offsets (runtime and reflect agree; verified in the
// reflect/value.go or reflect/map_noswiss.go of every supported version).
const (
	hiterT           = 16
	hiterH           = 24
	hiterStartBucket = 64
	hiterOffset      = 72
	hiterB           = 74
)

// readIterStart reads startBucket/offset from a reflect.MapIter, laid out as
// {m Value; hiter hiter}, right after its first successful Next.
func readIterStart(it *reflect.MapIter, h unsafe.Pointer) iterStart {
	hit := unsafe.Add(unsafe.Pointer(it), unsafe.Sizeof(reflect.Value{}))
	if ptrAt(hit, hiterH) != h || ptrAt(hit, hiterT) == nil ||
		*(*uint8)(unsafe.Add(hit, hiterB)) != *(*uint8)(unsafe.Add(h, hmapB)) {
		panic("reflect.MapIter/hiter layout mismatch")
	}
	return iterStart{
		start:  uint64(*(*uintptr)(unsafe.Add(hit, hiterStartBucket))),
		offset: *(*uint8)(unsafe.Add(hit, hiterOffset)),
	}
}

// The protocol name of the per-nested-op seed list of an "iter" result.
const seedsName = "hash0s"

func seedOf(h unsafe.Pointer) uint64 { return uint64(*(*uint32)(unsafe.Add(h, hmapHash0))) }

func appendIterStartFields(buf []byte, st *iterStart) []byte {
	if st == nil {
		return append(buf, `"start":null,"offset":null`...)
	}
	buf = append(buf, `"start":`...)
	buf = strconv.AppendUint(buf, st.start, 10)
	buf = append(buf, `,"offset":`...)
	return strconv.AppendUint(buf, uint64(st.offset), 10)
}

// memShapeFields: the implementation's fields of a memory response.
func memShapeFields(buf []byte, h, clone unsafe.Pointer) []byte {
	buf = append(buf, `,"B":`...)
	buf = strconv.AppendUint(buf, uint64(*(*uint8)(unsafe.Add(h, hmapB))), 10)
	buf = append(buf, `,"hash0":`...)
	buf = strconv.AppendUint(buf, seedOf(h), 10)
	if clone != nil {
		buf = append(buf, `,"clone_hash0":`...)
		buf = strconv.AppendUint(buf, seedOf(clone), 10)
		buf = append(buf, `,"clone_B":`...)
		buf = strconv.AppendUint(buf, uint64(*(*uint8)(unsafe.Add(clone, hmapB))), 10)
	}
	return buf
}

// appendCloneExtra: the classic mapclone (1.21+) draws only the clone's
// hash0 (makemap), which its state shows.
func appendCloneExtra[K comparable, E any](buf []byte, p *pair[K, E], src, dst map[K]E) []byte {
	return buf
}
