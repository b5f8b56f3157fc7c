//go:build go1.26 || (go1.24 && goexperiment.swissmap)

package main

// Reading a live Swiss-table map (internal/runtime/maps) through unsafe: the
// Map header, the small group or the directory, every distinct table and
// every group (control word, and every slot's key and elem bytes, including
// the stale bytes of empty and deleted slots), encoded as the JSON "state"
// object of the protocol (see goruntime.py).

import (
	"fmt"
	"reflect"
	"strconv"
	"unsafe"
)

// mapInfo is the group layout of one map type: computed from the Go type
// sizes by the compiler's rule, and cross-checked against the runtime's map
// type descriptor (read by readSwissDesc, one file per descriptor layout).
type mapInfo struct {
	groupSize    uintptr
	slotSize     uintptr // sizeof struct{K'; V'}
	elemOff      uintptr // offset of V' in a slot
	keysOff      uintptr // offset of key 0 in a group
	keyStride    uintptr
	elemsOff     uintptr // offset of elem 0 in a group
	elemStride   uintptr
	indirectKey  bool
	indirectElem bool
	flags        uint32
}

// swissDesc is what the runtime's descriptor says.
type swissDesc struct {
	groupSize, keysOff, keyStride, elemsOff, elemStride, elemOff uintptr
	flags                                                        uint32
}

const (
	typeSize        = 48 // abi.Type
	maxInlineBytes  = 128
	flagIndirectKey = 4
	flagIndirectEl  = 8
	typePtrBytes    = 8 // abi.Type.PtrBytes
	swissDescGroup  = typeSize + 16
)

func rtypeOf(t reflect.Type) unsafe.Pointer {
	return (*[2]unsafe.Pointer)(unsafe.Pointer(&t))[1]
}

func alignUp(n, a uintptr) uintptr { return (n + a - 1) &^ (a - 1) }

// slotLayout applies Go's struct layout to struct{K'; V'}: V' at the next
// multiple of its alignment, the size rounded up to the struct alignment,
// and one byte of padding when a non-empty struct ends in a zero-size field
// (golang/go#71368: a pointer to the last field must not point past the
// object). K' and V' are pointers for types over 128 bytes.
func slotLayout(kt, et reflect.Type) (size, elemOff uintptr, indK, indE bool) {
	ks, ka := kt.Size(), uintptr(kt.Align())
	es, ea := et.Size(), uintptr(et.Align())
	if ks > maxInlineBytes {
		ks, ka, indK = 8, 8, true
	}
	if es > maxInlineBytes {
		es, ea, indE = 8, 8, true
	}
	align := ka
	if ea > align {
		align = ea
	}
	elemOff = alignUp(ks, ea)
	size = elemOff + es
	if es == 0 && size > 0 {
		size++
	}
	return alignUp(size, align), elemOff, indK, indE
}

func newMapInfo(mt reflect.Type) (mapInfo, error) {
	var mi mapInfo
	slot, elemOff, indK, indE := slotLayout(mt.Key(), mt.Elem())
	mi.slotSize, mi.elemOff, mi.indirectKey, mi.indirectElem = slot, elemOff, indK, indE
	// group = struct{ctrl uint64; slots [8]slot}: the slot array is the last
	// field, so a zero-size one gets the padding (rounded to 8).
	mi.groupSize = 8 + 8*slot
	if slot == 0 {
		mi.groupSize = 16
	}
	mi.keysOff, mi.keyStride = 8, slot
	mi.elemsOff, mi.elemStride = 8+elemOff, slot
	d := readSwissDesc(rtypeOf(mt))
	mi.flags = d.flags
	if d.groupSize != mi.groupSize || d.keysOff != mi.keysOff || d.keyStride != mi.keyStride ||
		d.elemsOff != mi.elemsOff || d.elemStride != mi.elemStride || d.elemOff != mi.elemOff ||
		(d.flags&flagIndirectKey != 0) != indK || (d.flags&flagIndirectEl != 0) != indE {
		return mi, fmt.Errorf("map type descriptor of %v disagrees with the layout rule: descriptor %+v, rule %+v", mt, d, mi)
	}
	// The compiler-made group type's size must agree too.
	gt := ptrAt(rtypeOf(mt), swissDescGroup)
	if gsz := *(*uintptr)(gt); gsz != mi.groupSize {
		return mi, fmt.Errorf("group type of %v is %d bytes, rule says %d", mt, gsz, mi.groupSize)
	}
	return mi, nil
}

func ptrAt(p unsafe.Pointer, off uintptr) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Add(p, off))
}

func appendBool(buf []byte, b bool) []byte {
	if b {
		return append(buf, "true"...)
	}
	return append(buf, "false"...)
}

// The protocol name of the per-nested-op seed list of an "iter" result.
const seedsName = "seeds"

func seedOf(h unsafe.Pointer) uint64 { return uint64(*(*uintptr)(unsafe.Add(h, mapSeed))) }

// appendState encodes the state of the Swiss map whose Map is at h. With
// dump false the groups (small group, tables' groups) are left out.
func appendState[K comparable, E any](buf []byte, p *pair[K, E], h unsafe.Pointer, dump bool) []byte {
	dirPtr := ptrAt(h, mapDirPtr)
	dirLen := *(*int)(unsafe.Add(h, mapDirLen))
	buf = append(buf, `{"used":`...)
	buf = strconv.AppendUint(buf, *(*uint64)(unsafe.Add(h, mapUsed)), 10)
	buf = append(buf, `,"seed":`...)
	buf = strconv.AppendUint(buf, seedOf(h), 10)
	buf = append(buf, `,"dir_len":`...)
	buf = strconv.AppendInt(buf, int64(dirLen), 10)
	buf = append(buf, `,"global_depth":`...)
	buf = strconv.AppendUint(buf, uint64(*(*uint8)(unsafe.Add(h, mapGlobalDepth))), 10)
	buf = append(buf, `,"global_shift":`...)
	buf = strconv.AppendUint(buf, uint64(*(*uint8)(unsafe.Add(h, mapGlobalShift))), 10)
	buf = append(buf, `,"tombstone_possible":`...)
	buf = appendBool(buf, hasTombstonePossible && *(*uint8)(unsafe.Add(h, mapTombstone)) != 0)
	buf = append(buf, `,"clear_seq":`...)
	buf = strconv.AppendUint(buf, *(*uint64)(unsafe.Add(h, mapClearSeq)), 10)
	if w := *(*uint8)(unsafe.Add(h, mapWriting)); w != 0 {
		panic(fmt.Sprintf("map writing flag is %d between operations", w))
	}
	small := dirLen == 0 && dirPtr != nil
	buf = append(buf, `,"small":`...)
	buf = appendBool(buf, small)
	if dump {
		buf = append(buf, `,"small_group":`...)
		if small {
			buf = appendGroup(buf, p, dirPtr)
		} else {
			buf = append(buf, "null"...)
		}
	}
	buf = append(buf, `,"directory":[`...)
	var tables []unsafe.Pointer
	pos := map[unsafe.Pointer]int{}
	for i := 0; i < dirLen; i++ {
		t := ptrAt(dirPtr, uintptr(i)*8)
		j, ok := pos[t]
		if !ok {
			j = len(tables)
			pos[t] = j
			tables = append(tables, t)
		}
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendInt(buf, int64(j), 10)
	}
	buf = append(buf, `],"tables":[`...)
	for j, t := range tables {
		if j > 0 {
			buf = append(buf, ',')
		}
		buf = appendTable(buf, p, t, dump)
	}
	return append(buf, "]}"...)
}

func appendTable[K comparable, E any](buf []byte, p *pair[K, E], t unsafe.Pointer, dump bool) []byte {
	capacity := uintptr(*(*uint16)(unsafe.Add(t, tabCapacity)))
	groups := ptrAt(t, tabGroups)
	ngroups := uintptr(*(*uint64)(unsafe.Add(t, tabLengthMask))) + 1
	if ngroups*8 != capacity {
		panic(fmt.Sprintf("table capacity %d but %d groups", capacity, ngroups))
	}
	buf = append(buf, `{"index":`...)
	buf = strconv.AppendInt(buf, int64(*(*int)(unsafe.Add(t, tabIndex))), 10)
	buf = append(buf, `,"local_depth":`...)
	buf = strconv.AppendUint(buf, uint64(*(*uint8)(unsafe.Add(t, tabLocalDepth))), 10)
	buf = append(buf, `,"capacity":`...)
	buf = strconv.AppendUint(buf, uint64(capacity), 10)
	buf = append(buf, `,"used":`...)
	buf = strconv.AppendUint(buf, uint64(*(*uint16)(unsafe.Add(t, tabUsed))), 10)
	buf = append(buf, `,"growth_left":`...)
	buf = strconv.AppendUint(buf, uint64(*(*uint16)(unsafe.Add(t, tabGrowthLeft))), 10)
	// Not a runtime field: the number of deleted control bytes, counted.
	tomb := 0
	for g := uintptr(0); g < ngroups; g++ {
		ctrl := unsafe.Slice((*byte)(unsafe.Add(groups, g*p.info.groupSize)), 8)
		for _, c := range ctrl {
			if c == ctrlDeleted {
				tomb++
			}
		}
	}
	buf = append(buf, `,"tombstones":`...)
	buf = strconv.AppendInt(buf, int64(tomb), 10)
	if dump {
		buf = append(buf, `,"groups":[`...)
		for g := uintptr(0); g < ngroups; g++ {
			if g > 0 {
				buf = append(buf, ',')
			}
			buf = appendGroup(buf, p, unsafe.Add(groups, g*p.info.groupSize))
		}
		buf = append(buf, ']')
	}
	return append(buf, '}')
}

// appendGroup encodes a group's control bytes and all 8 keys and elems, as
// the memory holds them (a nil indirect pointer decodes as the zero value).
func appendGroup[K comparable, E any](buf []byte, p *pair[K, E], g unsafe.Pointer) []byte {
	mi := &p.info
	var zk K
	var ze E
	buf = append(buf, `{"ctrl":`...)
	buf = appendHexString(buf, unsafe.Slice((*byte)(g), 8))
	buf = append(buf, `,"k":[`...)
	for i := uintptr(0); i < 8; i++ {
		if i > 0 {
			buf = append(buf, ',')
		}
		slot := unsafe.Add(g, mi.keysOff+i*mi.keyStride)
		if mi.indirectKey {
			slot = *(*unsafe.Pointer)(slot)
			if slot == nil {
				slot = unsafe.Pointer(&zk)
			}
		}
		buf = p.kc.appendJSON(buf, (*K)(slot))
	}
	buf = append(buf, `],"e":[`...)
	for i := uintptr(0); i < 8; i++ {
		if i > 0 {
			buf = append(buf, ',')
		}
		slot := unsafe.Add(g, mi.elemsOff+i*mi.elemStride)
		if mi.indirectElem {
			slot = *(*unsafe.Pointer)(slot)
			if slot == nil {
				slot = unsafe.Pointer(&ze)
			}
		}
		buf = p.ec.appendJSON(buf, (*E)(slot))
	}
	return append(buf, "]}"...)
}

// iterStart is what Iter.Init drew: entryOffset, then dirOffset.
type iterStart struct {
	entryOffset, dirOffset uint64
}

func hiterOf(it *reflect.MapIter) unsafe.Pointer {
	return unsafe.Add(unsafe.Pointer(it), unsafe.Sizeof(reflect.Value{}))
}

// readIterStart reads the offsets from a reflect.MapIter ({m Value; hiter
// maps.Iter}) after its first successful Next.
func readIterStart(it *reflect.MapIter, h unsafe.Pointer) iterStart {
	hit := hiterOf(it)
	if ptrAt(hit, iterM) != h || ptrAt(hit, iterTyp) == nil || ptrAt(hit, iterKey) == nil ||
		*(*uint8)(unsafe.Add(hit, iterGlobalDepth)) != *(*uint8)(unsafe.Add(h, mapGlobalDepth)) ||
		*(*uint64)(unsafe.Add(hit, iterClearSeq)) != *(*uint64)(unsafe.Add(h, mapClearSeq)) {
		panic("reflect.MapIter/maps.Iter layout mismatch")
	}
	return iterStart{
		entryOffset: *(*uint64)(unsafe.Add(hit, iterEntryOffset)),
		dirOffset:   *(*uint64)(unsafe.Add(hit, iterDirOffset)),
	}
}

func appendIterStartFields(buf []byte, st *iterStart) []byte {
	if st == nil {
		return append(buf, `"entry_offset":null,"dir_offset":null`...)
	}
	buf = append(buf, `"entry_offset":`...)
	buf = strconv.AppendUint(buf, st.entryOffset, 10)
	buf = append(buf, `,"dir_offset":`...)
	return strconv.AppendUint(buf, st.dirOffset, 10)
}

// iterWithOffsets ranges over m with the real runtime iterator started at
// the given offsets instead of drawn ones: the first Next initialises it
// (and draws), then the iterator is put back into the state Init leaves,
// with the chosen offsets. yield returns false to stop.
func iterWithOffsets[K comparable, E any](m map[K]E, entryOffset, dirOffset uint64, yield func(K, E) bool) {
	h := hmapOf(m)
	it := reflect.ValueOf(m).MapRange()
	if !it.Next() {
		return
	}
	hit := hiterOf(it)
	readIterStart(it, h) // layout check
	dirIdx := 0
	var group unsafe.Pointer
	if *(*int)(unsafe.Add(h, mapDirLen)) <= 0 {
		dirIdx = -1
		group = ptrAt(h, mapDirPtr)
	}
	*(*uint64)(unsafe.Add(hit, iterEntryOffset)) = entryOffset
	*(*uint64)(unsafe.Add(hit, iterDirOffset)) = dirOffset
	*(*int)(unsafe.Add(hit, iterDirIdx)) = dirIdx
	*(*unsafe.Pointer)(unsafe.Add(hit, iterTab)) = nil
	*(*unsafe.Pointer)(unsafe.Add(hit, iterGroup)) = group
	*(*uint64)(unsafe.Add(hit, iterEntryIdx)) = 0
	// key stays non-nil: reflect's Next refuses an exhausted iterator.
	for it.Next() {
		if !yield(it.Key().Interface().(K), it.Value().Interface().(E)) {
			return
		}
	}
}

// memShapeFields: the implementation's fields of a memory response.
func memShapeFields(buf []byte, h, clone unsafe.Pointer) []byte {
	buf = append(buf, `,"seed":`...)
	buf = strconv.AppendUint(buf, seedOf(h), 10)
	buf = append(buf, `,"dir_len":`...)
	buf = strconv.AppendInt(buf, int64(*(*int)(unsafe.Add(h, mapDirLen))), 10)
	buf = append(buf, `,"capacities":`...)
	buf = appendCapacities(buf, h)
	if clone != nil {
		buf = append(buf, `,"clone_seed":`...)
		buf = strconv.AppendUint(buf, seedOf(clone), 10)
		buf = append(buf, `,"clone_capacities":`...)
		buf = appendCapacities(buf, clone)
	}
	return buf
}

// appendCapacities lists the capacity of every directory entry's table.
func appendCapacities(buf []byte, h unsafe.Pointer) []byte {
	dirLen := *(*int)(unsafe.Add(h, mapDirLen))
	buf = append(buf, '[')
	for i := 0; i < dirLen; i++ {
		if i > 0 {
			buf = append(buf, ',')
		}
		t := ptrAt(ptrAt(h, mapDirPtr), uintptr(i)*8)
		buf = strconv.AppendUint(buf, uint64(*(*uint16)(unsafe.Add(t, tabCapacity))), 10)
	}
	return append(buf, ']')
}
