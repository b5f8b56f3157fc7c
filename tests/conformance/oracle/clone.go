//go:build go1.21

package main

import "maps"

const haveClone = true

// cloneMap is maps.Clone (runtime mapclone), Go >= 1.21.
func cloneMap[K comparable, E any](m map[K]E) map[K]E { return maps.Clone(m) }

// cloneForMemory is the clone measured by memory requests.
//
//go:noinline
func cloneForMemory[K comparable, E any](m map[K]E) map[K]E {
	c := maps.Clone(m)
	cloneSink = c
	return c
}
