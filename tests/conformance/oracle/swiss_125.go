//go:build go1.26 || (go1.25 && goexperiment.swissmap)

package main

// Go 1.25+: Map byte 35 is tombstonePossible; maps.Clone copies the
// structure and draws nothing.
const hasTombstonePossible = true

func appendCloneExtra[K comparable, E any](buf []byte, p *pair[K, E], src, dst map[K]E) []byte {
	return buf
}
