// Package watch is a list that grows while tests wait for it to hold
// something: the requests a fake server received (fakeapi), the events a
// Claude Code process printed (harness).
package watch

import (
	"sync"
	"time"
)

// List is appended to and waited on from any goroutine. The zero value is
// an empty list, ready to use.
type List[T any] struct {
	mu      sync.Mutex
	items   []T
	changed chan struct{} // closed and dropped on every change; made by a waiter
}

// Add appends the item that newItem returns for its index (the list's
// length before it), under the list's lock, and wakes the waiters.
func (l *List[T]) Add(newItem func(index int) T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.items = append(l.items, newItem(len(l.items)))
	l.wakeLocked()
}

// Wake makes the waiters check their condition again without adding
// anything (for example because the process that adds has ended).
func (l *List[T]) Wake() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.wakeLocked()
}

func (l *List[T]) wakeLocked() {
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
}

// All returns a copy of the items so far.
func (l *List[T]) All() []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]T(nil), l.items...)
}

// WaitFor waits until cond holds for the items so far, or timeout passes;
// it reports whether cond held. cond gets a copy and runs without the lock,
// once at first and again after every change.
func (l *List[T]) WaitFor(timeout time.Duration, cond func([]T) bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		items := append([]T(nil), l.items...)
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		ch := l.changed
		l.mu.Unlock()
		if cond(items) {
			return true
		}
		select {
		case <-ch:
		case <-deadline.C:
			return false
		}
	}
}
