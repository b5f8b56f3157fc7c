//go:build go1.27

package main

import _ "unsafe" // go:linkname

// Go 1.27 moved the hash code and its keys to internal/runtime/maps (and
// always fills them).
//
//go:linkname hashkey internal/runtime/maps.hashkey
var hashkey [4]uintptr
