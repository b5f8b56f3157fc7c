//go:build go1.21

package main

const clearIsBuiltin = true

// clearMap is the clear(m) builtin (runtime mapclear), Go >= 1.21. The
// result is always nil: no iteration happens.
func clearMap[K comparable, E any](m map[K]E, idiom func(map[K]E)) *iterStart {
	clear(m)
	return nil
}
