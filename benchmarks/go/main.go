// Command pymapbench is the Go twin of pymap's benchmark workloads
// (benchmarks/workloads.py).  It times the same map workloads on the real
// runtime and prints one JSON line per workload:
//
//	{"workload": "W1", "ns_per_op": 87.3, "ops": 1000000, "reps": 5, "runs": [...]}
//
// ns_per_op is the median over -reps repetitions of (elapsed / ops); "runs"
// holds every repetition.  The first line is a header describing the
// process ({"go": ..., "godebug": ..., ...}).  Only the measured part of a
// workload is timed; filling a map that is then looked up, cleared or
// deleted from is setup.  Every map escapes (it is stored in a package-level
// sink), and lookups accumulate into a sink so they cannot be optimised
// away.  Build with the go 1.23 toolchain (benchmarks/compare.py does);
// `clear` needs Go >= 1.21.
//
// Flags: -w selects workloads (comma-separated ids or prefixes, "all" by
// default; -list prints them), -reps sets the repetitions, and -mem prints
// the live heap of a 1e6-entry map[int64]int64 instead of timing anything.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Sinks: storing a map here makes every map that flows into the variable
// escape to the heap, like the maps pymap models.
var (
	sinkMap map[int64]int64
	sinkStr map[string]int64
	sinkInt int64
)

// Workload sizes; benchmarks/workloads.py uses the same numbers.
const (
	bigN     = 1_000_000
	w5Cycles = 100_000
	w5Size   = 16
)

var strategySizes = []int{16, 1024, 65536}

// strategyCycles is the number of reset+refill cycles timed for a clearing
// strategy at size n: about 2M refilled entries, at least 32 cycles.
func strategyCycles(n int) int {
	c := (1 << 21) / n
	if c < 32 {
		c = 32
	}
	return c
}

// A workload does its own setup, times the measured part, checks the
// result, and returns the elapsed time and the number of operations timed.
type workload struct {
	id  string
	run func() (time.Duration, int, error)
}

func fill(m map[int64]int64, n int) {
	for i := 0; i < n; i++ {
		m[int64(i)] = int64(i)
	}
}

func fullMap(n int) map[int64]int64 {
	m := make(map[int64]int64)
	sinkMap = m
	fill(m, n)
	return m
}

func wantLen(what string, got, want int) error {
	if got != want {
		return fmt.Errorf("%s: len %d, want %d", what, got, want)
	}
	return nil
}

func w1() (time.Duration, int, error) {
	m := make(map[int64]int64)
	sinkMap = m
	t0 := time.Now()
	for i := 0; i < bigN; i++ {
		m[int64(i)] = int64(i)
	}
	d := time.Since(t0)
	return d, bigN, wantLen("W1", len(m), bigN)
}

func w2() (time.Duration, int, error) {
	m := fullMap(bigN)
	var acc int64
	t0 := time.Now()
	for i := 0; i < bigN; i++ {
		acc += m[int64(i)]
	}
	d := time.Since(t0)
	sinkInt += acc
	if want := int64(bigN) * (bigN - 1) / 2; acc != want {
		return d, bigN, fmt.Errorf("W2: sum %d, want %d", acc, want)
	}
	return d, bigN, nil
}

func w2b() (time.Duration, int, error) {
	m := fullMap(bigN)
	var found int64
	t0 := time.Now()
	for i := bigN; i < 2*bigN; i++ {
		if _, ok := m[int64(i)]; ok {
			found++
		}
	}
	d := time.Since(t0)
	sinkInt += found
	if found != 0 {
		return d, bigN, fmt.Errorf("W2b: %d misses found", found)
	}
	return d, bigN, nil
}

func w3() (time.Duration, int, error) {
	m := fullMap(bigN)
	t0 := time.Now()
	clear(m)
	d := time.Since(t0)
	return d, 1, wantLen("W3", len(m), 0)
}

func w4() (time.Duration, int, error) {
	m := fullMap(bigN)
	t0 := time.Now()
	for i := 0; i < bigN; i++ {
		delete(m, int64(i))
	}
	d := time.Since(t0)
	return d, bigN, wantLen("W4", len(m), 0)
}

func w5() (time.Duration, int, error) {
	var m map[int64]int64
	t0 := time.Now()
	for c := 0; c < w5Cycles; c++ {
		m = make(map[int64]int64)
		for i := 0; i < w5Size; i++ {
			m[int64(i)] = int64(i)
		}
		clear(m)
	}
	d := time.Since(t0)
	sinkMap = m
	return d, w5Cycles, wantLen("W5", len(m), 0)
}

func w6() (time.Duration, int, error) {
	keys := make([]string, bigN)
	for i := range keys {
		keys[i] = "key-" + strconv.Itoa(i)
	}
	m := make(map[string]int64)
	sinkStr = m
	t0 := time.Now()
	for i, k := range keys {
		m[k] = int64(i)
	}
	d := time.Since(t0)
	if err := wantLen("W6", len(m), bigN); err != nil {
		return d, bigN, err
	}
	if m["key-123456"] != 123456 {
		return d, bigN, fmt.Errorf("W6: wrong elem for key-123456")
	}
	return d, bigN, nil
}

// Clearing strategies: each cycle resets a full map of n entries and
// refills it (copy: copies it into a fresh map, no refill).
func strategy(name string, n int) func() (time.Duration, int, error) {
	cycles := strategyCycles(n)
	return func() (time.Duration, int, error) {
		m := fullMap(n)
		t0 := time.Now()
		switch name {
		case "clear":
			for c := 0; c < cycles; c++ {
				clear(m)
				fill(m, n)
			}
		case "drop-make":
			for c := 0; c < cycles; c++ {
				m = make(map[int64]int64)
				fill(m, n)
			}
		case "delete-loop":
			for c := 0; c < cycles; c++ {
				for i := 0; i < n; i++ {
					delete(m, int64(i))
				}
				fill(m, n)
			}
		case "make-hint":
			for c := 0; c < cycles; c++ {
				m = make(map[int64]int64, n)
				fill(m, n)
			}
		case "copy":
			for c := 0; c < cycles; c++ {
				m2 := make(map[int64]int64, len(m))
				for k, v := range m {
					m2[k] = v
				}
				m = m2
			}
		default:
			panic("unknown strategy " + name)
		}
		d := time.Since(t0)
		sinkMap = m
		if err := wantLen(name, len(m), n); err != nil {
			return d, cycles, err
		}
		if m[int64(n-1)] != int64(n-1) {
			return d, cycles, fmt.Errorf("%s/%d: wrong elem", name, n)
		}
		return d, cycles, nil
	}
}

func workloads() []workload {
	ws := []workload{
		{"W1", w1}, {"W2", w2}, {"W2b", w2b}, {"W3", w3},
		{"W4", w4}, {"W5", w5}, {"W6", w6},
	}
	for _, s := range []string{"clear", "drop-make", "delete-loop", "make-hint", "copy"} {
		for _, n := range strategySizes {
			ws = append(ws, workload{fmt.Sprintf("%s/%d", s, n), strategy(s, n)})
		}
	}
	return ws
}

func selected(id string, sel []string) bool {
	for _, s := range sel {
		if s == "all" || s == id || (strings.HasSuffix(s, "*") && strings.HasPrefix(id, strings.TrimSuffix(s, "*"))) ||
			strings.HasPrefix(id, s+"/") {
			return true
		}
	}
	return false
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func emit(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	os.Stdout.Write(append(b, '\n'))
}

// memMode prints the live heap of a 1e6-entry map[int64]int64 built
// without a hint: HeapAlloc after runtime.GC() minus HeapAlloc before.
func memMode() {
	var ms runtime.MemStats
	sinkMap = nil
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heap0, total0 := ms.HeapAlloc, ms.TotalAlloc
	m := make(map[int64]int64)
	sinkMap = m
	fill(m, bigN)
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	emit(map[string]any{
		"mem":               "map[int64]int64",
		"n":                 len(m),
		"heap_alloc_delta":  int64(ms.HeapAlloc) - int64(heap0),
		"total_alloc_delta": ms.TotalAlloc - total0,
	})
	runtime.KeepAlive(m)
}

func main() {
	sel := flag.String("w", "all", "workloads: comma-separated ids, a strategy name (all its sizes), or a prefix ending in *")
	reps := flag.Int("reps", 5, "repetitions per workload; the median is reported")
	mem := flag.Bool("mem", false, "print the live heap of a 1e6-entry map[int64]int64 and exit")
	list := flag.Bool("list", false, "list the workload ids and exit")
	flag.Parse()

	ws := workloads()
	if *list {
		for _, w := range ws {
			fmt.Println(w.id)
		}
		return
	}
	emit(map[string]any{
		"go": runtime.Version(), "goos": runtime.GOOS, "goarch": runtime.GOARCH,
		"godebug": os.Getenv("GODEBUG"), "gomaxprocs": runtime.GOMAXPROCS(0),
	})
	if *mem {
		memMode()
		return
	}
	if *reps < 1 {
		*reps = 1
	}
	parts := strings.Split(*sel, ",")
	ran := 0
	for _, w := range ws {
		if !selected(w.id, parts) {
			continue
		}
		ran++
		runs := make([]float64, 0, *reps)
		ops := 0
		for r := 0; r < *reps; r++ {
			sinkMap, sinkStr = nil, nil
			runtime.GC()
			d, n, err := w.run()
			if err != nil {
				fmt.Fprintln(os.Stderr, "pymapbench:", err)
				os.Exit(1)
			}
			ops = n
			runs = append(runs, float64(d.Nanoseconds())/float64(n))
		}
		sinkMap, sinkStr = nil, nil
		emit(map[string]any{"workload": w.id, "ns_per_op": median(runs), "ops": ops, "reps": *reps, "runs": runs})
	}
	if ran == 0 {
		fmt.Fprintf(os.Stderr, "pymapbench: no workload matches %q (-list shows them)\n", *sel)
		os.Exit(2)
	}
}
