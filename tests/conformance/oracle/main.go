// Command oracle replays map traces on the real Go runtime (classic hmap/bmap
// maps, or Swiss-table maps on Go 1.24+ without GOEXPERIMENT=noswissmap) and
// reports the runtime's internal state after every operation, for
// pymap's conformance suite. Protocol: JSON lines on stdin/stdout, see
// tests/conformance/goruntime.py.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

func appendJSONString(buf []byte, s string) []byte {
	b, _ := json.Marshal(s)
	return append(buf, b...)
}

func errorLine(buf []byte, msg string) []byte {
	buf = append(buf, `{"kind":"error","error":`...)
	buf = appendJSONString(buf, msg)
	return append(buf, '}')
}

// handle answers one request line; recovered panics become error lines.
func handle(line []byte, buf []byte) (out []byte) {
	start := len(buf)
	defer func() {
		if r := recover(); r != nil {
			out = errorLine(buf[:start], fmt.Sprintf("panic: %v\n%s", r, debug.Stack()))
		}
	}()
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		return errorLine(buf, "bad request: "+err.Error())
	}
	var err error
	switch req.Kind {
	case "trace", "memory":
		p, ok := pairs[req.Key+"|"+req.Elem]
		if !ok {
			return errorLine(buf, fmt.Sprintf("unsupported key/elem pair %q/%q", req.Key, req.Elem))
		}
		if req.Kind == "trace" {
			buf, err = p.trace(&req, buf)
		} else {
			buf, err = p.memory(req.N, req.Hint, buf)
		}
	case "pairs":
		names := make([]string, 0, len(pairs))
		for k := range pairs {
			names = append(names, k)
		}
		b, _ := json.Marshal(names)
		buf = append(buf, `{"kind":"pairs","pairs":`...)
		buf = append(buf, b...)
		buf = append(buf, '}')
	case "panic": // test hook: a recovered panic becomes an error line
		panic("oracle panic requested")
	case "crash": // test hook: an unrecoverable panic kills the process
		done := make(chan struct{})
		go func() { panic("oracle crash requested") }()
		<-done
	default:
		err = fmt.Errorf("unknown request kind %q", req.Kind)
	}
	if err != nil {
		return errorLine(buf[:start], err.Error())
	}
	return buf
}

func checkLayout() error {
	if got := reflect.TypeOf(reflect.MapIter{}).Size(); got != reflect.TypeOf(reflect.Value{}).Size()+hiterSize {
		return fmt.Errorf("reflect.MapIter is %d bytes, expected Value + %d-byte hiter", got, hiterSize)
	}
	return nil
}

func init() {
	// No heap-profile sampling: keeps allocation accounting deterministic.
	runtime.MemProfileRate = 0
}

func main() {
	registerPairs()
	probeElemSize()
	// Warm up: the first measurements of a process see a few runtime
	// allocations (goroutine and allgs growth) in their windows.
	for i := 0; i < 3; i++ {
		pairs["int64|int64"].memory(8, 53, nil)
	}
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	r := bufio.NewReaderSize(os.Stdin, 1<<20)

	hdr := []byte(`{"go":`)
	hdr = appendJSONString(hdr, runtime.Version())
	hdr = append(hdr, `,"hashkey":[`...)
	for i, k := range hashkey {
		if i > 0 {
			hdr = append(hdr, ',')
		}
		hdr = strconv.AppendUint(hdr, uint64(k), 10)
	}
	hdr = append(hdr, `],"layout":"`+layoutName+`","clear_builtin":`...)
	hdr = appendBool(hdr, clearIsBuiltin)
	hdr = append(hdr, `,"ptr_arena":[`...)
	hdr = strconv.AppendUint(hdr, uint64(arenaBase()), 10)
	hdr = append(hdr, ',')
	hdr = strconv.AppendInt(hdr, int64(len(ptrArena)), 10)
	hdr = append(hdr, ",8]"...)
	hdr = append(hdr, `,"nbuckets_alloc":`...)
	hdr = appendBool(hdr, spanElemSizeOff >= 0)
	if err := checkLayout(); err != nil {
		hdr = append(hdr, `,"error":`...)
		hdr = appendJSONString(hdr, err.Error())
	}
	hdr = append(hdr, "}\n"...)
	w.Write(hdr)
	w.Flush()
	if err := checkLayout(); err != nil {
		fmt.Fprintln(os.Stderr, "oracle:", err)
		os.Exit(2)
	}

	var out []byte
	for {
		line, err := r.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) > 0 {
			out = handle(line, out[:0])
			out = append(out, '\n')
			if _, werr := w.Write(out); werr != nil {
				os.Exit(1)
			}
			w.Flush()
			if cap(out) > 64<<20 {
				out = nil // do not pin a huge buffer
			}
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "oracle: read:", err)
			os.Exit(1)
		}
	}
}
