package main

import (
	"unsafe"
)

// Symbols pulled from the runtime. Go >= 1.23 requires building with
// -ldflags=-checklinkname=0 for these pulls.

// hashkey: hashkey_runtime.go (<= 1.26) or hashkey_maps.go (1.27).

// findObject returns the base address of the heap object containing p (0 if
// p is not inside an allocated heap span) and the span descriptor. Its
// signature is the same from 1.19 to 1.27. The *mspan result is received as
// an unsafe.Pointer (same ABI).
//
//go:linkname findObject runtime.findObject
func findObject(p, refBase, refOff uintptr) (base uintptr, s unsafe.Pointer, objIndex uintptr)
