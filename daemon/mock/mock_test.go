package mock_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/mock"
)

// TestService: a method calls its field; with the field nil, it panics
// naming the method and the field.
func TestService(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		method string
		call   func(s *mock.Service) error
	}{
		{"Remember", func(s *mock.Service) error { _, err := s.Remember(ctx, sage.Note{}); return err }},
		{"Status", func(s *mock.Service) error { _, err := s.Status(ctx); return err }},
		{"RenameSession", func(s *mock.Service) error { return s.RenameSession(ctx, "id", "title") }},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			msg := func() (msg string) {
				defer func() { msg = fmt.Sprint(recover()) }()
				_ = tt.call(&mock.Service{})
				return ""
			}()
			if !strings.Contains(msg, "Service."+tt.method+" called") || !strings.Contains(msg, tt.method+"Fn is nil") {
				t.Errorf("nil field: panic %q", msg)
			}
		})
	}
	want := fmt.Errorf("from the field")
	s := &mock.Service{
		RememberFn:      func(context.Context, sage.Note) (sage.SaveResult, error) { return sage.SaveResult{}, want },
		StatusFn:        func(context.Context) (sage.Status, error) { return sage.Status{}, want },
		RenameSessionFn: func(context.Context, string, string) error { return want },
	}
	for _, tt := range tests {
		if err := tt.call(s); err != want {
			t.Errorf("%s: %v, want the field's error", tt.method, err)
		}
	}
}
