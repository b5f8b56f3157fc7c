package main

// Trace and memory requests for one (key, elem) type pair.

import (
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"unsafe"
)

type rawOp struct {
	Op     string             `json:"op"`
	K      json.RawMessage    `json:"k"`
	V      json.RawMessage    `json:"v"`
	Stop   *int64             `json:"stop"`
	During map[string][]rawOp `json:"during"`
}

type request struct {
	Kind string          `json:"kind"`
	Key  string          `json:"key"`
	Elem string          `json:"elem"`
	Hint int64           `json:"hint"`
	N    int             `json:"n"`
	Ops  []rawOp         `json:"ops"`
	Dump json.RawMessage `json:"dump"`
}

type pairHandler interface {
	trace(req *request, buf []byte) ([]byte, error)
	memory(n int, hint int64, buf []byte) ([]byte, error)
}

type pair[K comparable, E any] struct {
	kc    codec[K]
	ec    codec[E]
	idiom func(map[K]E) // concrete range-delete loop (Go < 1.21 clear)
	info  mapInfo
}

func newPair[K comparable, E any](kc codec[K], ec codec[E], idiom func(map[K]E)) pairHandler {
	p := &pair[K, E]{kc: kc, ec: ec, idiom: idiom}
	mi, err := newMapInfo(reflect.TypeOf(map[K]E(nil)))
	if err != nil {
		panic(err)
	}
	p.info = mi
	return p
}

const (
	opAssign = iota
	opDelete
	opLookup
	opClear
	opIter
	opClone
)

type during[K comparable, E any] struct {
	at  int
	ops []op[K, E]
}

type op[K comparable, E any] struct {
	kind   int
	name   string
	k      K
	v      E
	stop   int64          // -1: until exhausted
	during []during[K, E] // sorted by at
}

func (p *pair[K, E]) parseOps(raws []rawOp, nested bool) ([]op[K, E], error) {
	ops := make([]op[K, E], len(raws))
	for i := range raws {
		r := &raws[i]
		o := &ops[i]
		o.name = r.Op
		var err error
		switch r.Op {
		case "assign":
			o.kind = opAssign
			if o.k, err = p.kc.parse(r.K); err == nil {
				o.v, err = p.ec.parse(r.V)
			}
		case "delete":
			o.kind = opDelete
			o.k, err = p.kc.parse(r.K)
		case "lookup":
			o.kind = opLookup
			o.k, err = p.kc.parse(r.K)
		case "clear":
			o.kind = opClear
		case "clone":
			o.kind = opClone
			if !haveClone {
				err = fmt.Errorf("maps.Clone needs Go 1.21")
			}
		case "iter":
			o.kind = opIter
			o.stop = -1
			if r.Stop != nil {
				if *r.Stop < 0 {
					err = fmt.Errorf("negative stop")
				}
				o.stop = *r.Stop
			}
			for key, sub := range r.During {
				at, e := strconv.Atoi(key)
				if e != nil || at < 0 {
					err = fmt.Errorf("bad during index %q", key)
					break
				}
				subOps, e := p.parseOps(sub, true)
				if e != nil {
					err = e
					break
				}
				o.during = append(o.during, during[K, E]{at, subOps})
			}
			sort.Slice(o.during, func(a, b int) bool { return o.during[a].at < o.during[b].at })
		default:
			err = fmt.Errorf("unknown op %q", r.Op)
		}
		if err != nil {
			where := "op"
			if nested {
				where = "nested op"
			}
			return nil, fmt.Errorf("%s %d (%s): %v", where, i, r.Op, err)
		}
	}
	return ops, nil
}

// traceSink keeps the traced map reachable from a global, so it escapes;
// cloneSink the last clone.
var traceSink, cloneSink interface{}

func hmapOf[K comparable, E any](m map[K]E) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&m))
}

// makeMap is not inlined so that hint stays a run-time value (makemap, never
// makemap_small).
//
//go:noinline
func makeMap[K comparable, E any](hint int64) map[K]E {
	m := make(map[K]E, hint)
	traceSink = m
	return m
}

// dumpSpec selects the records that carry "buckets"/"oldbuckets".
type dumpSpec struct {
	mode  int // 0 all, 1 last, 2 none, 3 listed
	which map[int]bool
}

func parseDump(raw json.RawMessage) (dumpSpec, error) {
	var d dumpSpec
	if isNull(raw) {
		return d, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		switch s {
		case "all":
			return d, nil
		case "last":
			d.mode = 1
			return d, nil
		case "none":
			d.mode = 2
			return d, nil
		}
		return d, fmt.Errorf("bad dump %q", s)
	}
	var idx []int
	if err := json.Unmarshal(raw, &idx); err != nil {
		return d, fmt.Errorf("dump must be \"all\", \"last\", \"none\" or a list of record indices")
	}
	d.mode = 3
	d.which = map[int]bool{}
	for _, i := range idx {
		d.which[i] = true
	}
	return d, nil
}

func (d *dumpSpec) want(rec, last int) bool {
	switch d.mode {
	case 0:
		return true
	case 1:
		return rec == last
	case 2:
		return false
	}
	return d.which[rec] || d.which[rec-last-1] // negative indices count from the end
}

func (p *pair[K, E]) trace(req *request, buf []byte) ([]byte, error) {
	ops, err := p.parseOps(req.Ops, false)
	if err != nil {
		return buf, err
	}
	dump, err := parseDump(req.Dump)
	if err != nil {
		return buf, err
	}
	traceSink = nil
	m := makeMap[K, E](req.Hint)
	h := hmapOf(m)
	last := len(ops)
	buf = append(buf, `{"kind":"trace","records":[{"op":"make","result":null,"state":`...)
	buf = appendState(buf, p, h, dump.want(0, last))
	buf = append(buf, '}')
	for i := range ops {
		buf = append(buf, `,{"op":"`...)
		buf = append(buf, ops[i].name...)
		buf = append(buf, `","result":`...)
		buf = p.exec(m, &ops[i], buf)
		buf = append(buf, `,"state":`...)
		buf = appendState(buf, p, h, dump.want(i+1, last))
		buf = append(buf, '}')
	}
	buf = append(buf, "]}"...)
	runtime.KeepAlive(m)
	return buf, nil
}

// exec runs one op on m and appends its JSON result.
func (p *pair[K, E]) exec(m map[K]E, o *op[K, E], buf []byte) []byte {
	switch o.kind {
	case opAssign:
		m[o.k] = o.v
		return append(buf, "null"...)
	case opDelete:
		delete(m, o.k)
		return append(buf, "null"...)
	case opLookup:
		v, ok := m[o.k]
		buf = append(buf, `{"found":`...)
		buf = appendBool(buf, ok)
		buf = append(buf, `,"v":`...)
		buf = p.ec.appendJSON(buf, &v)
		return append(buf, '}')
	case opClear:
		return appendIterStart(buf, clearMap(m, p.idiom))
	case opIter:
		return p.iter(m, o, buf)
	case opClone:
		// maps.Clone(m): the clone's full state, plus whatever a model needs
		// to replay the clone's random draws (appendCloneExtra).
		c := cloneMap(m)
		cloneSink = c
		buf = append(buf, `{"state":`...)
		if c == nil {
			buf = append(buf, "null"...)
		} else {
			buf = appendState(buf, p, hmapOf(c), true)
			buf = appendCloneExtra(buf, p, m, c)
		}
		return append(buf, '}')
	}
	panic("unreachable")
}

// iter ranges over m with reflect.MapIter (runtime mapiterinit/mapiternext),
// running the nested ops listed for an entry right after yielding it.
func (p *pair[K, E]) iter(m map[K]E, o *op[K, E], buf []byte) []byte {
	h := hmapOf(m)
	it := reflect.ValueOf(m).MapRange()
	var st *iterStart
	var seq, res, h0s []byte
	seq = append(seq, '[')
	res = append(res, '{')
	// The seed (hash0) after every nested op: a clear or a delete to empty
	// reseeds it, and later nested inserts are placed with the new seed.
	h0s = append(h0s, '{')
	next := 0 // index into o.during
	n := int64(0)
	for (o.stop < 0 || n < o.stop) && it.Next() {
		if n == 0 {
			s := readIterStart(it, h)
			st = &s
		} else {
			seq = append(seq, ',')
		}
		k := it.Key().Interface().(K)
		v := it.Value().Interface().(E)
		seq = append(seq, '[')
		seq = p.kc.appendJSON(seq, &k)
		seq = append(seq, ',')
		seq = p.ec.appendJSON(seq, &v)
		seq = append(seq, ']')
		for next < len(o.during) && int64(o.during[next].at) < n {
			next++
		}
		if next < len(o.during) && int64(o.during[next].at) == n {
			if len(res) > 1 {
				res = append(res, ',')
			}
			res = append(res, '"')
			res = strconv.AppendInt(res, n, 10)
			res = append(res, `":[`...)
			if len(h0s) > 1 {
				h0s = append(h0s, ',')
			}
			h0s = append(h0s, '"')
			h0s = strconv.AppendInt(h0s, n, 10)
			h0s = append(h0s, `":[`...)
			for j := range o.during[next].ops {
				if j > 0 {
					res = append(res, ',')
					h0s = append(h0s, ',')
				}
				res = p.exec(m, &o.during[next].ops[j], res)
				h0s = strconv.AppendUint(h0s, seedOf(hmapOf(m)), 10)
			}
			res = append(res, ']')
			h0s = append(h0s, ']')
		}
		n++
	}
	buf = append(buf, '{')
	buf = appendIterStartFields(buf, st)
	buf = append(buf, `,"seq":`...)
	buf = append(buf, seq...)
	buf = append(buf, `],"results":`...)
	buf = append(buf, res...)
	buf = append(buf, `},"`+seedsName+`":`...)
	buf = append(buf, h0s...)
	return append(buf, "}}"...)
}

// Memory measurement globals: package-level so that reading MemStats and
// keeping the map alive allocate nothing inside the measured windows.
var (
	msBefore, msAfter, msGC, msIter0, msIter1 runtime.MemStats
	msClone0, msClone1                        runtime.MemStats
	memSink                                   interface{}
)

//go:noinline
func makeMapMaybeHint[K comparable, E any](hint int64) map[K]E {
	if hint == 0 {
		m := make(map[K]E) // no hint: makemap_small
		memSink = m
		return m
	}
	m := make(map[K]E, hint)
	memSink = m
	return m
}

// memResult is one measurement of make + fill (see memory).
type memResult struct {
	total, heap, rng int64
	clone            int64 // TotalAlloc of maps.Clone(m) (-1: no maps.Clone)
	count            int
	shape            []byte // implementation fields (memShapeFields)
}

// memory measures make + fill three times, each with a fresh map, and
// reports the run that allocated least: whatever else the runtime allocates
// inside a window (rarely, a few bytes of its own bookkeeping) only adds.
func (p *pair[K, E]) memory(n int, hint int64, buf []byte) ([]byte, error) {
	if n < 0 {
		return buf, fmt.Errorf("negative n")
	}
	if p.kc.distinct > 0 && n > p.kc.distinct {
		n = p.kc.distinct
	}
	keys := make([]K, n)
	for i := range keys {
		keys[i] = p.kc.gen(i)
	}
	// Five runs; the reading that occurs most often wins (ties: the least
	// TotalAlloc).  Runtime bookkeeping adds bytes to one run's TotalAlloc,
	// and an unrelated object freed by the window's GC takes bytes off one
	// run's HeapAlloc: neither repeats, the map's own figures do.
	var runs [5]memResult
	for i := range runs {
		runs[i] = p.memoryOnce(keys, hint)
	}
	best, bestVotes := runs[0], 0
	for _, r := range runs {
		votes := 0
		for _, q := range runs {
			if q.total == r.total && q.heap == r.heap && q.rng == r.rng && q.clone == r.clone {
				votes++
			}
		}
		if votes > bestVotes || (votes == bestVotes && r.total < best.total) {
			best, bestVotes = r, votes
		}
	}
	buf = append(buf, `{"kind":"memory","total_alloc":`...)
	buf = strconv.AppendInt(buf, best.total, 10)
	buf = append(buf, `,"heap_alloc":`...)
	buf = strconv.AppendInt(buf, best.heap, 10)
	buf = append(buf, `,"range_alloc":`...)
	buf = strconv.AppendInt(buf, best.rng, 10)
	if best.clone >= 0 {
		buf = append(buf, `,"clone_alloc":`...)
		buf = strconv.AppendInt(buf, best.clone, 10)
	}
	buf = append(buf, `,"count":`...)
	buf = strconv.AppendInt(buf, int64(best.count), 10)
	// The seed (hash0; never reseeded while filling) lets a model reproduce
	// which keys collide, and so what the fill allocated.
	buf = append(buf, best.shape...)
	buf = append(buf, '}')
	return buf, nil
}

func (p *pair[K, E]) memoryOnce(keys []K, hint int64) memResult {
	var zero E
	memSink = nil
	traceSink = nil
	// No GC cycle may start inside the windows (starting one allocates).
	oldPercent := debug.SetGCPercent(-1)
	defer debug.SetGCPercent(oldPercent)
	// Two cycles: objects that die only during the first one (runtime
	// bookkeeping of the previous request) are gone before the first reading.
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&msBefore)
	m := makeMapMaybeHint[K, E](hint)
	for i := range keys {
		m[keys[i]] = zero
	}
	runtime.ReadMemStats(&msAfter)
	runtime.GC()
	runtime.ReadMemStats(&msGC)
	runtime.ReadMemStats(&msIter0)
	for range m {
	}
	runtime.ReadMemStats(&msIter1)
	runtime.ReadMemStats(&msClone0)
	clone := cloneForMemory(m)
	runtime.ReadMemStats(&msClone1)
	runtime.KeepAlive(keys)
	h := hmapOf(m)
	cloneBytes := int64(-1)
	if clone != nil {
		cloneBytes = int64(msClone1.TotalAlloc - msClone0.TotalAlloc)
	}
	// Bytes the collector itself allocated during the second cycle (a few
	// runtime objects, mostly in the first requests of a process) are not
	// the map's: subtract them.
	gcOwn := int64(msGC.TotalAlloc - msAfter.TotalAlloc)
	return memResult{
		total: int64(msAfter.TotalAlloc - msBefore.TotalAlloc),
		heap:  int64(msGC.HeapAlloc) - int64(msBefore.HeapAlloc) - gcOwn,
		rng:   int64(msIter1.TotalAlloc - msIter0.TotalAlloc),
		clone: cloneBytes,
		count: len(m),
		shape: memShapeFields(nil, h, mapPtrOrNil(clone)),
	}
}

func mapPtrOrNil[K comparable, E any](m map[K]E) unsafe.Pointer {
	if m == nil {
		return nil
	}
	return hmapOf(m)
}

// appendIterStart encodes an iteration start as an object (null: none).
func appendIterStart(buf []byte, st *iterStart) []byte {
	if st == nil {
		return append(buf, "null"...)
	}
	buf = append(buf, '{')
	buf = appendIterStartFields(buf, st)
	return append(buf, '}')
}
