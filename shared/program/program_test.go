//go:build unix

package program

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"
)

// TestCodeCancelsOnSignal: SIGTERM and SIGINT cancel the context run gets
// instead of killing the process, and run's code is returned.
func TestCodeCancelsOnSignal(t *testing.T) {
	tests := []struct {
		name string
		sig  syscall.Signal
		want int
	}{
		{"SIGTERM", syscall.SIGTERM, 3},
		{"SIGINT", syscall.SIGINT, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := code(func(ctx context.Context) int {
				if err := ctx.Err(); err != nil {
					t.Fatalf("context done before any signal: %v", err)
				}
				if err := syscall.Kill(syscall.Getpid(), tt.sig); err != nil {
					t.Fatal(err)
				}
				select {
				case <-ctx.Done():
				case <-time.After(10 * time.Second):
					t.Fatalf("%v did not cancel the context", tt.sig)
				}
				if !errors.Is(ctx.Err(), context.Canceled) {
					t.Fatalf("ctx.Err() = %v, want context.Canceled", ctx.Err())
				}
				return tt.want
			})
			if got != tt.want {
				t.Fatalf("code = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestCodeReturnsRunsCode: without a signal, the context stays live and
// run's code comes back unchanged.
func TestCodeReturnsRunsCode(t *testing.T) {
	for _, want := range []int{0, 1, 2} {
		got := code(func(ctx context.Context) int {
			if err := ctx.Err(); err != nil {
				t.Fatalf("context done without a signal: %v", err)
			}
			return want
		})
		if got != want {
			t.Fatalf("code = %d, want %d", got, want)
		}
	}
}
