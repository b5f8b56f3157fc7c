//go:build go1.24 && !go1.26 && !goexperiment.swissmap

package main

// hmap layout of Go 1.24 and 1.25 built with GOEXPERIMENT=noswissmap
// (runtime/map_noswiss.go, identical in 1.24.11 and 1.25.5): clearSeq uint64 at 40, extra at 48, 56 bytes.
// reflect's hiter gains a trailing clearSeq too (104 bytes).
const (
	hmapSize     = 56
	hmapClearSeq = 40
	hmapExtra    = 48
	hiterSize    = 104
	layoutName   = "noswiss-56"
	hasClearSeq  = true
)
