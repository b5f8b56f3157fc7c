//go:build go1.26 || (go1.24 && goexperiment.swissmap)

package main

// Swiss-table maps (internal/runtime/maps), Go 1.24-1.25 by default and the
// only map from 1.26 (where the swissmap experiment tag no longer exists).
// Field offsets read in map.go and table.go of 1.24.11, 1.25.5, 1.26.6 and
// 1.27.3 (the same in all four; byte 35 is padding in 1.24).
const (
	layoutName = "swiss-48"

	mapUsed        = 0  // uint64
	mapSeed        = 8  // uintptr
	mapDirPtr      = 16 // pointer: directory, or the small group
	mapDirLen      = 24 // int
	mapGlobalDepth = 32 // uint8
	mapGlobalShift = 33 // uint8
	mapWriting     = 34 // uint8
	mapTombstone   = 35 // bool, 1.25+ (see hasTombstonePossible)
	mapClearSeq    = 40 // uint64
	mapSize        = 48

	tabUsed       = 0  // uint16
	tabCapacity   = 2  // uint16
	tabGrowthLeft = 4  // uint16
	tabLocalDepth = 6  // uint8
	tabIndex      = 8  // int
	tabGroups     = 16 // pointer
	tabLengthMask = 24 // uint64
	tabSize       = 32

	// maps.Iter: key, elem, typ, m, entryOffset, dirOffset, clearSeq,
	// globalDepth, dirIdx, tab, group, entryIdx; 96 bytes.
	iterKey         = 0
	iterElem        = 8
	iterTyp         = 16
	iterM           = 24
	iterEntryOffset = 32
	iterDirOffset   = 40
	iterClearSeq    = 48
	iterGlobalDepth = 56
	iterDirIdx      = 64
	iterTab         = 72
	iterGroup       = 80
	iterEntryIdx    = 88
	hiterSize       = 96

	ctrlEmpty   = 0x80
	ctrlDeleted = 0xFE
)
