//go:build !go1.27 && (go1.26 || (go1.24 && goexperiment.swissmap))

package main

import "unsafe"

// abi.SwissMapType (1.24, 1.25) / abi.MapType (1.26) after the 48-byte
// abi.Type: Key, Elem, Group, Hasher, GroupSize, SlotSize, ElemOff, Flags.
func readSwissDesc(rt unsafe.Pointer) swissDesc {
	word := func(off uintptr) uintptr { return *(*uintptr)(unsafe.Add(rt, off)) }
	slot := word(typeSize + 40)
	elemOff := word(typeSize + 48)
	return swissDesc{
		groupSize:  word(typeSize + 32),
		keysOff:    8,
		keyStride:  slot,
		elemsOff:   8 + elemOff,
		elemStride: slot,
		elemOff:    elemOff,
		flags:      *(*uint32)(unsafe.Add(rt, typeSize+56)),
	}
}
