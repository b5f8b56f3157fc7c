// Command heap_oracle runs one scripted, single-goroutine scenario on the real
// Go runtime and prints measurements as JSON lines, for pymap's heap/GC/Pool
// conformance facts (tests/conformance/heapfacts.py drives it).
//
// Usage: heap_oracle -scenario NAME [-cycles N] [-n N]
//
// Scenarios (points in order):
//
//	baseline       start, gc
//	fill-clear-gc  start, baseline, filled, filled-gc, cleared, cleared-gc, dropped-gc
//	fill-drop-gc   start, baseline, filled, filled-gc, dropped-gc, refilled, refilled-gc
//	               (the refill is make(map, n): a hinted map)
//	pool           start, baseline, got, put, put-gc1..3, trials-end (+ the pool trials)
//	churn-gogc     start, end: -cycles x (make, fill 1024, drop); no runtime.GC()
//	ptr-values     start, baseline, filled, delete-half, delete-half-gc, cleared,
//	               cleared-gc, dropped-gc: map[string]*[1024]byte with n keys
//	memlimit-fill  start, baseline, filled, filled-gc: map[int64]int64 with n keys,
//	               under the caller's GOMEMLIMIT/GOGC
//
// -n is the number of keys of the fill scenarios; 0 (the default) means the
// scenario's own default: 1e6 for fill-clear-gc and fill-drop-gc, 1e5 for
// ptr-values, 4e6 for memlimit-fill.  GOGC, GOMEMLIMIT and GOMAXPROCS come
// from the environment (pool sets GOMAXPROCS(1) itself).
//
// Output (stdout, one JSON object per line, all printed at the end so that
// printing allocates nothing between measurement points):
//
//	{"kind":"header","go":...,"scenario":...,"gomaxprocs":...,"env":{...}}
//	{"kind":"point","name":...,"memstats":{...},"metrics":{...}}   (one per point)
//	{"kind":"pool","trials":[{"gcs":k,"same":bool},...]}             (pool only)
//	{"kind":"done"}
//
// Maps escape through package-level sinks, so they live on the heap.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
)

const maxPoints = 16

type point struct {
	name    string
	ms      runtime.MemStats
	samples []metrics.Sample
}

var (
	// Preallocated measurement storage: recording a point allocates nothing.
	points  [maxPoints]point
	npoints int

	metricNames []string

	// Escape sinks.
	sink    map[int64]int64
	boxSink *box
	ptrSink map[string]*[1024]byte

	// ptr-values keys, built before the baseline point.
	keys []string
)

func init() {
	for _, d := range metrics.All() {
		if d.Kind == metrics.KindUint64 {
			metricNames = append(metricNames, d.Name)
		}
	}
	for i := range points {
		s := make([]metrics.Sample, len(metricNames))
		for j, n := range metricNames {
			s[j].Name = n
		}
		points[i].samples = s
	}
}

// record stores MemStats and every uint64 runtime/metrics value under name.
func record(name string) {
	if npoints == maxPoints {
		panic("too many points")
	}
	p := &points[npoints]
	npoints++
	p.name = name
	runtime.ReadMemStats(&p.ms)
	metrics.Read(p.samples)
}

func fill(m map[int64]int64, n int64) {
	for i := int64(0); i < n; i++ {
		m[i] = i
	}
}

// Default -n of each fill scenario.
var defaultN = map[string]int64{
	"fill-clear-gc": 1_000_000,
	"fill-drop-gc":  1_000_000,
	"ptr-values":    100_000,
	"memlimit-fill": 4_000_000,
}

func scenarioBaseline() {
	record("start")
	runtime.GC()
	record("gc")
}

// fillFromBaseline records the start and the post-GC baseline, then fills a
// fresh map[int64]int64 (no hint) with n keys (recorded before and after a GC).
func fillFromBaseline(n int64) {
	record("start")
	runtime.GC()
	record("baseline")
	sink = make(map[int64]int64)
	fill(sink, n)
	record("filled")
	runtime.GC()
	record("filled-gc")
}

func scenarioFillClearGC(n int64) {
	fillFromBaseline(n)
	// The range-delete idiom compiles to runtime.mapclear on every version
	// (the clear builtin only exists from 1.21), so 1.19 runs this too.
	for k := range sink {
		delete(sink, k)
	}
	record("cleared")
	runtime.GC()
	record("cleared-gc")
	sink = nil
	runtime.GC()
	record("dropped-gc")
}

func scenarioFillDropGC(n int64) {
	fillFromBaseline(n)
	sink = nil
	runtime.GC()
	record("dropped-gc")
	sink = make(map[int64]int64, n)
	fill(sink, n)
	record("refilled")
	runtime.GC()
	record("refilled-gc")
}

// box wraps a pooled map; id gives it an identity independent of addresses.
type box struct {
	m  map[int64]int64
	id int64
}

var (
	boxIDs int64
	pool   = sync.Pool{New: func() any {
		boxIDs++
		b := &box{m: make(map[int64]int64), id: boxIDs}
		fill(b.m, 1024)
		return b
	}}
)

type trial struct {
	GCs  int   `json:"gcs"`
	Same bool  `json:"same"`
	Put  int64 `json:"put_id"`
	Got  int64 `json:"got_id"`
}

func scenarioPool() []trial {
	// One P: Put fills this P's private slot and Get reads it back, with no
	// dependence on which P the goroutine runs on after a GC.
	runtime.GOMAXPROCS(1)
	record("start")
	runtime.GC()
	record("baseline")
	// Memory: one pooled object, k GCs, no Get. The map (B = 8: 272 buckets
	// of 144 B = 39,168 B, a 5-page large object) leaves HeapAlloc only at
	// the GC that frees it.
	boxSink = pool.Get().(*box)
	record("got")
	pool.Put(boxSink)
	boxSink = nil
	record("put")
	for k := 1; k <= 3; k++ {
		runtime.GC()
		record(fmt.Sprintf("put-gc%d", k)) // Sprintf garbage is collected by the next GC
	}
	// Identity: Put, k GCs, Get; same object or a fresh one from New.
	var trials []trial
	for k := 0; k <= 3; k++ {
		x := pool.Get().(*box)
		pool.Put(x)
		for i := 0; i < k; i++ {
			runtime.GC()
		}
		y := pool.Get().(*box)
		trials = append(trials, trial{GCs: k, Same: x == y, Put: x.id, Got: y.id})
	}
	// Closes the scenario: NumGC here counts the trials' 6 forced cycles, so
	// a reader can tell them from cycles run while printing the output.
	record("trials-end")
	return trials
}

func scenarioChurn(cycles int) {
	record("start")
	for c := 0; c < cycles; c++ {
		m := make(map[int64]int64)
		fill(m, 1024)
		sink = m
	}
	sink = nil
	record("end")
}

// scenarioPtrValues: map[string]*[1024]byte.  The n key strings are built
// into the package-level keys slice before the baseline point, so they are
// part of the baseline and the map's allocations are the map plus one 1024 B
// object per key.
func scenarioPtrValues(n int64) {
	record("start")
	keys = make([]string, n)
	for i := range keys {
		keys[i] = strconv.Itoa(i)
	}
	runtime.GC()
	record("baseline")
	ptrSink = make(map[string]*[1024]byte)
	for _, k := range keys {
		ptrSink[k] = new([1024]byte)
	}
	record("filled")
	for i := 0; i < len(keys); i += 2 {
		delete(ptrSink, keys[i])
	}
	record("delete-half")
	runtime.GC()
	record("delete-half-gc")
	// Range-delete idiom: runtime.mapclear on every version (string keys
	// are reflexive).
	for k := range ptrSink {
		delete(ptrSink, k)
	}
	record("cleared")
	runtime.GC()
	record("cleared-gc")
	ptrSink = nil
	runtime.GC()
	record("dropped-gc")
}

func main() {
	scenario := flag.String("scenario", "", "baseline | fill-clear-gc | fill-drop-gc | pool | churn-gogc | ptr-values | memlimit-fill")
	cycles := flag.Int("cycles", 100_000, "churn-gogc: make/fill 1024/drop cycles")
	nFlag := flag.Int64("n", 0, "fill scenarios: number of keys (0: the scenario's default)")
	flag.Parse()

	n := *nFlag
	if n < 0 {
		fmt.Fprintf(os.Stderr, "-n must be >= 0\n")
		os.Exit(2)
	}
	if n == 0 {
		n = defaultN[*scenario] // 0 for scenarios without keys
	}

	var extra []any
	switch *scenario {
	case "baseline":
		scenarioBaseline()
	case "fill-clear-gc":
		scenarioFillClearGC(n)
	case "fill-drop-gc":
		scenarioFillDropGC(n)
	case "ptr-values":
		scenarioPtrValues(n)
	case "memlimit-fill":
		fillFromBaseline(n)
	case "pool":
		extra = append(extra, map[string]any{"kind": "pool", "trials": scenarioPool()})
	case "churn-gogc":
		scenarioChurn(*cycles)
	default:
		fmt.Fprintf(os.Stderr, "unknown scenario %q\n", *scenario)
		os.Exit(2)
	}

	enc := json.NewEncoder(os.Stdout)
	env := map[string]string{}
	for _, k := range []string{"GOGC", "GOMEMLIMIT", "GODEBUG", "GOMAXPROCS"} {
		env[k] = os.Getenv(k)
	}
	must(enc.Encode(map[string]any{
		"kind": "header", "go": runtime.Version(), "scenario": *scenario,
		"gomaxprocs": runtime.GOMAXPROCS(0), "cycles": *cycles, "n": n, "env": env,
	}))
	for i := 0; i < npoints; i++ {
		p := &points[i]
		mv := make(map[string]uint64, len(p.samples))
		for _, s := range p.samples {
			if s.Value.Kind() == metrics.KindUint64 {
				mv[s.Name] = s.Value.Uint64()
			}
		}
		ms := &p.ms
		must(enc.Encode(map[string]any{
			"kind": "point", "name": p.name,
			"memstats": map[string]uint64{
				"HeapAlloc": ms.HeapAlloc, "HeapInuse": ms.HeapInuse, "HeapIdle": ms.HeapIdle,
				"HeapReleased": ms.HeapReleased, "HeapSys": ms.HeapSys, "HeapObjects": ms.HeapObjects,
				"Mallocs": ms.Mallocs, "Frees": ms.Frees, "TotalAlloc": ms.TotalAlloc,
				"NextGC": ms.NextGC, "NumGC": uint64(ms.NumGC), "NumForcedGC": uint64(ms.NumForcedGC),
				"Sys": ms.Sys,
			},
			"metrics": mv,
		}))
	}
	for _, e := range extra {
		must(enc.Encode(e))
	}
	must(enc.Encode(map[string]any{"kind": "done"}))
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
