package main

import "testing"

func TestWithDatabase(t *testing.T) {
	tests := []struct{ in, want string }{
		// The user's name is the database's: only the path changes.
		{"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "postgres://postgres@127.0.0.1:5432/gate_x?sslmode=disable"},
		{"postgres://u:p@h/sage_test", "postgres://u:p@h/gate_x"},
		{"postgres://h:5432", "postgres://h:5432/gate_x"},
	}
	for _, tt := range tests {
		got, err := withDatabase(tt.in, "gate_x")
		if err != nil || got != tt.want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := withDatabase("postgres://h:port/x", "gate_x"); err == nil {
		t.Error("withDatabase accepted a bad port")
	}
}
