package postgres

import (
	"errors"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	tests := []struct {
		name, err, url string
		want, gone     string
	}{
		{"password", "open database: failed to connect to `user=sage database=sage`: s3cret!: denied", "postgres://sage:s3cret!@db:5432/sage", "denied", "s3cret!"},
		{"escaped password", "dial postgres://sage:p%40ss@db/sage: refused", "postgres://sage:p%40ss@db/sage", "refused", "p%40ss"},
		{"keyword form", "cannot parse `host=db password=hunter2 user=x`: bad", "", "bad", "hunter2"},
		{"nothing secret", "create extension vector: permission denied", "postgres://sage@db/sage", "permission denied", "@@"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Redact(errors.New(tt.err), tt.url)
			if strings.Contains(got, tt.gone) || !strings.Contains(got, tt.want) {
				t.Fatalf("Redact = %q", got)
			}
		})
	}
	if Redact(nil, "x") != "" {
		t.Fatal("Redact(nil) is not empty")
	}
}
