package watch

import (
	"slices"
	"testing"
	"time"
)

// TestWaitFor: a waiter sees items added by another goroutine, each with
// its index, and gives up at its timeout when its condition never holds.
func TestWaitFor(t *testing.T) {
	tests := []struct {
		name string
		add  int
		cond func([]string) bool
		want bool
	}{
		{"holds at once", 0, func([]string) bool { return true }, true},
		{"holds after adds", 3, func(l []string) bool { return slices.Equal(l, []string{"a0", "a1", "a2"}) }, true},
		{"never holds", 2, func(l []string) bool { return len(l) > 2 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l List[string]
			done := make(chan struct{})
			go func() {
				defer close(done)
				for range tt.add {
					l.Add(func(i int) string { return "a" + string(rune('0'+i)) })
				}
			}()
			timeout := 10 * time.Second
			if !tt.want {
				timeout = 50 * time.Millisecond
			}
			if got := l.WaitFor(timeout, tt.cond); got != tt.want {
				t.Errorf("WaitFor = %v, want %v (items %q)", got, tt.want, l.All())
			}
			<-done
			if n := len(l.All()); n != tt.add {
				t.Errorf("%d items, want %d", n, tt.add)
			}
		})
	}
}

// TestWake: Wake makes a waiter check its condition again although nothing
// was added.
func TestWake(t *testing.T) {
	var l List[int]
	ended := make(chan struct{})
	checks := make(chan int, 16)
	go func() {
		<-checks // the first check ran: the waiter waits now, or soon will
		close(ended)
		l.Wake()
	}()
	ok := l.WaitFor(10*time.Second, func([]int) bool {
		select {
		case <-ended:
			return true
		default:
			checks <- 1
			return false
		}
	})
	if !ok {
		t.Fatal("WaitFor did not see the wake-up")
	}
}
