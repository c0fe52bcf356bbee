//go:build sealgate_pprof

package main

import (
	"net/http"
	_ "net/http/pprof" // profiling endpoints, only in binaries built with -tags sealgate_pprof
	"os"
)

// A profiling build serves net/http/pprof on SEALGATE_PPROF (e.g.
// 127.0.0.1:6060). The shipped binary has no such listener.
func init() {
	if addr := os.Getenv("SEALGATE_PPROF"); addr != "" {
		go http.ListenAndServe(addr, nil)
	}
}
