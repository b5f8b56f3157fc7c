//go:build !go1.21

package main

import "reflect"

const clearIsBuiltin = false

// clearMap, Go < 1.21: the range-delete idiom. For reflexive key types the
// pair's concrete idiom closure is one runtime mapclear call. Non-reflexive
// keys (floats, complex) make the idiom a real iterate-and-delete loop; it is
// run here through reflect.MapIter (the same runtime mapiterinit/mapiternext)
// so that the iteration start can be reported.
func clearMap[K comparable, E any](m map[K]E, idiom func(map[K]E)) *iterStart {
	if keyReflexive(reflect.TypeOf(m).Key()) {
		idiom(m)
		return nil
	}
	it := reflect.ValueOf(m).MapRange()
	var st *iterStart
	first := true
	for it.Next() {
		if first {
			s := readIterStart(it, hmapOf(m))
			st = &s
			first = false
		}
		k := it.Key().Interface().(K)
		delete(m, k)
	}
	return st
}
