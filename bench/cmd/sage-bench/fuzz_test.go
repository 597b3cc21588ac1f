package main

import (
	"bufio"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// FuzzParseStatTicks: any input parses or fails cleanly, and a parsed
// value survives a round trip through a stat line of its own.
func FuzzParseStatTicks(f *testing.F) {
	f.Add("1234 (sage-daemon) S 1 1234 1234 0 -1 4194560 900 0 0 0 250 75 0 0 20 0 9 0 100 2019356 7271 1")
	f.Add("99 (a) b) R 1 99 99 0 -1 0 0 0 0 0 10 5")
	f.Add(")")
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseStatTicks(s)
		if err != nil {
			return
		}
		line := fmt.Sprintf("1 (x) S 0 0 0 0 0 0 0 0 0 0 %d 0", n)
		if m, err := parseStatTicks(line); err != nil || m != n {
			t.Fatalf("round trip of %d: %d, %v", n, m, err)
		}
	})
}

// FuzzParseMemStatus: any input parses or fails cleanly; a parse gives
// exactly what its VmRSS and VmHWM lines say.
func FuzzParseMemStatus(f *testing.F) {
	f.Add("VmHWM:\t   40960 kB\nVmRSS:\t   30720 kB\n")
	f.Add("VmRSS: 1 kB\nVmRSS: 2 kB\n")
	f.Add("VmRSS:")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseMemStatus("fuzz", bufio.NewScanner(strings.NewReader(s)))
		if err != nil {
			return
		}
		again, err := parseMemStatus("fuzz", bufio.NewScanner(strings.NewReader(
			fmt.Sprintf("VmHWM: %d kB\nVmRSS: %d kB\n", m.VmHWMKiB, m.VmRSSKiB))))
		if err != nil || again != m {
			t.Fatalf("round trip of %+v: %+v, %v", m, again, err)
		}
	})
}

// FuzzParseInts: a parsed list survives joinInts.
func FuzzParseInts(f *testing.F) {
	f.Add("1,4")
	f.Add(" 1, 2 ,,8")
	f.Add("x")
	f.Fuzz(func(t *testing.T, s string) {
		l, err := parseInts(s)
		if err != nil {
			return
		}
		again, err := parseInts(joinInts(l))
		if err != nil || !slices.Equal(again, l) {
			t.Fatalf("round trip of %v: %v, %v", l, again, err)
		}
	})
}
