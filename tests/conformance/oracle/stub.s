// Empty assembly file: its presence lets main declare body-less functions
// that are bound to runtime symbols with //go:linkname (see runtime_link.go).
