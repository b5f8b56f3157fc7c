//go:build !go1.21

package main

const haveClone = false

func cloneMap[K comparable, E any](m map[K]E) map[K]E { panic("maps.Clone needs Go 1.21") }

func cloneForMemory[K comparable, E any](m map[K]E) map[K]E { return nil }
