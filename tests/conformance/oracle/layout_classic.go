//go:build !go1.24

package main

// hmap layout of Go 1.19-1.23 (runtime/map.go): 48 bytes, extra at 40.
const (
	hmapSize     = 48
	hmapClearSeq = 0 // unused: no clearSeq field
	hmapExtra    = 40
	hiterSize    = 96
	layoutName   = "classic-48"
	hasClearSeq  = false
)
