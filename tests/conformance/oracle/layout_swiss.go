//go:build go1.24 && goexperiment.swissmap

package main

// Go >= 1.24 without GOEXPERIMENT=noswissmap uses Swiss-table maps, which this
// oracle cannot read. Refuse to compile.
var _ = build_with_GOEXPERIMENT_noswissmap_for_go1_24

const (
	hmapSize     = 0
	hmapClearSeq = 0
	hmapExtra    = 0
	hiterSize    = 0
	layoutName   = "swiss"
	hasClearSeq  = false
)
