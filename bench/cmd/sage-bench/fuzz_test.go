package main

import (
	"bufio"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// fuzzRoundTrip fuzzes parse from seeds: any input parses or fails
// cleanly, and a parsed value v survives parse(format(v)) as equal says.
func fuzzRoundTrip[T any](f *testing.F, parse func(string) (T, error), format func(T) string, equal func(a, b T) bool, seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parse(s)
		if err != nil {
			return
		}
		again, err := parse(format(v))
		if err != nil || !equal(again, v) {
			t.Fatalf("round trip of %+v: %+v, %v", v, again, err)
		}
	})
}

func equal[T comparable](a, b T) bool { return a == b }

// FuzzParseStatTicks: any input parses or fails cleanly, and a parsed
// value survives a round trip through a stat line of its own.
func FuzzParseStatTicks(f *testing.F) {
	fuzzRoundTrip(f, parseStatTicks, func(n int64) string {
		return fmt.Sprintf("1 (x) S 0 0 0 0 0 0 0 0 0 0 %d 0", n)
	}, equal,
		"1234 (sage-daemon) S 1 1234 1234 0 -1 4194560 900 0 0 0 250 75 0 0 20 0 9 0 100 2019356 7271 1",
		"99 (a) b) R 1 99 99 0 -1 0 0 0 0 0 10 5",
		")")
}

// FuzzParseMemStatus: any input parses or fails cleanly; a parse gives
// exactly what its VmRSS and VmHWM lines say.
func FuzzParseMemStatus(f *testing.F) {
	parse := func(s string) (memStatus, error) {
		return parseMemStatus("fuzz", bufio.NewScanner(strings.NewReader(s)))
	}
	fuzzRoundTrip(f, parse, func(m memStatus) string {
		return fmt.Sprintf("VmHWM: %d kB\nVmRSS: %d kB\n", m.VmHWMKiB, m.VmRSSKiB)
	}, equal,
		"VmHWM:\t   40960 kB\nVmRSS:\t   30720 kB\n",
		"VmRSS: 1 kB\nVmRSS: 2 kB\n",
		"VmRSS:")
}

// FuzzParseInts: a parsed list survives joinInts.
func FuzzParseInts(f *testing.F) {
	fuzzRoundTrip(f, parseInts, joinInts, slices.Equal, "1,4", " 1, 2 ,,8", "x")
}
