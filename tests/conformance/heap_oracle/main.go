// Command heap_oracle runs one scripted, single-goroutine scenario on the real
// Go runtime and prints measurements as JSON lines, for pymap's heap/GC/Pool
// conformance facts (tests/conformance/heapfacts.py drives it).
//
// Usage: heap_oracle -scenario NAME [-cycles N]
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

const fillN = 1_000_000

func scenarioBaseline() {
	record("start")
	runtime.GC()
	record("gc")
}

// fillFromBaseline records the start and the post-GC baseline, then fills a
// fresh map[int64]int64 with fillN keys (recorded before and after a GC).
func fillFromBaseline() {
	record("start")
	runtime.GC()
	record("baseline")
	sink = make(map[int64]int64)
	fill(sink, fillN)
	record("filled")
	runtime.GC()
	record("filled-gc")
}

func scenarioFillClearGC() {
	fillFromBaseline()
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

func scenarioFillDropGC() {
	fillFromBaseline()
	sink = nil
	runtime.GC()
	record("dropped-gc")
	sink = make(map[int64]int64, fillN)
	fill(sink, fillN)
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

func main() {
	scenario := flag.String("scenario", "", "baseline | fill-clear-gc | fill-drop-gc | pool | churn-gogc")
	cycles := flag.Int("cycles", 100_000, "churn-gogc: make/fill 1024/drop cycles")
	flag.Parse()

	var extra []any
	switch *scenario {
	case "baseline":
		scenarioBaseline()
	case "fill-clear-gc":
		scenarioFillClearGC()
	case "fill-drop-gc":
		scenarioFillDropGC()
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
		"gomaxprocs": runtime.GOMAXPROCS(0), "cycles": *cycles, "env": env,
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
