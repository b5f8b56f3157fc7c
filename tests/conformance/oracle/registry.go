package main

// Supported (key, elem) pairs. Adding a pair is one line in registerPairs;
// adding a type is one codec constructor call in the codecs block.

import "unsafe"

var pairs = map[string]pairHandler{}

// reg registers the pair (K, E). idiom must be the literal range-delete loop
//
//	func(m map[K]E) { for k := range m { delete(m, k) } }
//
// written with concrete types: Go 1.19 compiles it to one runtime mapclear
// call for reflexive keys (it does not recognise the idiom inside generic
// code, hence one closure per pair). Go >= 1.21 uses the clear builtin.
func reg[K comparable, E any](kc codec[K], ec codec[E], idiom func(map[K]E)) {
	pairs[kc.name+"|"+ec.name] = newPair(kc, ec, idiom)
}

func registerPairs() {
	var (
		i8    = signedCodec[int8]("int8")
		i16   = signedCodec[int16]("int16")
		i32   = signedCodec[int32]("int32")
		i64   = signedCodec[int64]("int64")
		iint  = signedCodec[int]("int")
		u8    = unsignedCodec[uint8]("uint8")
		u16   = unsignedCodec[uint16]("uint16")
		u32   = unsignedCodec[uint32]("uint32")
		u64   = unsignedCodec[uint64]("uint64")
		uptr  = unsignedCodec[uintptr]("uintptr")
		bl    = boolCodec()
		f32   = float32Codec()
		f64   = float64Codec()
		c64   = complex64Codec()
		c128  = complex128Codec()
		str   = stringCodec()
		empty = emptyStructCodec()
		b3    = byteArrayCodec[[3]byte]("[3]byte")
		b4    = byteArrayCodec[[4]byte]("[4]byte")
		b8    = byteArrayCodec[[8]byte]("[8]byte")
		b14   = byteArrayCodec[[14]byte]("[14]byte")
		b16   = byteArrayCodec[[16]byte]("[16]byte")
		b128  = byteArrayCodec[[128]byte]("[128]byte")
		b129  = byteArrayCodec[[129]byte]("[129]byte")
		b200  = byteArrayCodec[[200]byte]("[200]byte")
		ptr   = pointerCodec[unsafe.Pointer]("pointer")
		pint  = pointerCodec[*int]("*int")
	)

	// The pairs named in the protocol.
	reg(i64, i64, func(m map[int64]int64) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(i32, i8, func(m map[int32]int8) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(i8, i64, func(m map[int8]int64) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(str, i64, func(m map[string]int64) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(f64, i64, func(m map[float64]int64) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(b3, i16, func(m map[[3]byte]int16) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(b16, empty, func(m map[[16]byte]struct{}) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(b129, i64, func(m map[[129]byte]int64) {
		for k := range m {
			delete(m, k)
		}
	}) // indirect key
	reg(i64, b200, func(m map[int64][200]byte) {
		for k := range m {
			delete(m, k)
		}
	}) // indirect elem
	reg(empty, i64, func(m map[struct{}]int64) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(i64, ptr, func(m map[int64]unsafe.Pointer) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(str, b14, func(m map[string][14]byte) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(i64, pint, func(m map[int64]*int) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(f32, i64, func(m map[float32]int64) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(c128, i64, func(m map[complex128]int64) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(u64, str, func(m map[uint64]string) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(bl, i64, func(m map[bool]int64) {
		for k := range m {
			delete(m, k)
		}
	})

	// Extra pairs (one line each).
	reg(iint, iint, func(m map[int]int) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(i64, empty, func(m map[int64]struct{}) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(str, iint, func(m map[string]int) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(str, ptr, func(m map[string]unsafe.Pointer) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(str, str, func(m map[string]string) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(empty, empty, func(m map[struct{}]struct{}) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(u8, u8, func(m map[uint8]uint8) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(u16, u16, func(m map[uint16]uint16) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(u32, u32, func(m map[uint32]uint32) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(uptr, i64, func(m map[uintptr]int64) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(c64, i64, func(m map[complex64]int64) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(f64, f64, func(m map[float64]float64) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(b128, b128, func(m map[[128]byte][128]byte) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(b129, b200, func(m map[[129]byte][200]byte) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(i64, b128, func(m map[int64][128]byte) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(i16, i64, func(m map[int16]int64) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(i64, str, func(m map[int64]string) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(u64, u64, func(m map[uint64]uint64) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(b3, empty, func(m map[[3]byte]struct{}) {
		for k := range m {
			delete(m, k)
		}
	})

	// Swiss insert paths (cmd/compile mapfast): fast32 [4]byte keys, fast64
	// [8]byte keys, fast64ptr pointer keys; generic [16]byte/bool and a
	// string key with an indirect elem (elem > 128 B forces the generic path).
	reg(b4, i64, func(m map[[4]byte]int64) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(b8, i64, func(m map[[8]byte]int64) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(ptr, i64, func(m map[unsafe.Pointer]int64) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(b16, bl, func(m map[[16]byte]bool) {
		for k := range m {
			delete(m, k)
		}
	})
	reg(str, b200, func(m map[string][200]byte) {
		for k := range m {
			delete(m, k)
		}
	})
}
