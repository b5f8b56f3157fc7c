//go:build !go1.27

package main

import _ "unsafe" // go:linkname

// runtime.hashkey: the fallback hash's keys (zeros unless AES is off), up to 1.26.
//
//go:linkname hashkey runtime.hashkey
var hashkey [4]uintptr
