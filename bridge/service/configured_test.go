package service

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sage-mcp/sage/bridge/outbox"
	"github.com/sage-mcp/sage/shared/api"
	"github.com/sage-mcp/sage/shared/config"
	"github.com/sage-mcp/sage/testkit/wanterr"
)

func TestConfiguredRunner(t *testing.T) {
	tests := []struct {
		name, file, flag string
		wantDir, wantErr string
	}{
		{"compose_dir from the file", `{"url":"http://127.0.0.1:17899/mcp","compose_dir":"/srv/sage"}`, "", "/srv/sage", ""},
		{"the flag wins", `{"compose_dir":"/srv/sage"}`, "/opt/other", "/opt/other", ""},
		{"none", `{}`, "", "", ""},
		{"relative", `{"compose_dir":"srv/sage"}`, "", "", "compose_dir must be an absolute path"},
		{"bad file", `{"compose_dir":5}`, "", "", "invalid config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.json")
			if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			t.Setenv(config.EnvConfig, path)
			t.Setenv(config.EnvURL, "")
			r, err := ConfiguredRunner(tt.flag, 5*time.Second, nil)
			if !wanterr.Check(t, err, tt.wantErr) {
				return
			}
			if r.ComposeDir != tt.wantDir || r.Interval != 5*time.Second || r.Drain == nil {
				t.Fatalf("runner = %+v, want compose dir %q", r, tt.wantDir)
			}
		})
	}
}

func TestDrainerBusyIsNoError(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(outbox.EnvDir, dir)
	ob, err := outbox.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ob.Append(api.Turn{SessionID: "s", UserPrompt: "p", AssistantResponse: "r", IdempotencyKey: "k1"}); err != nil {
		t.Fatal(err)
	}
	inner := make(chan int, 1)
	release := make(chan struct{})
	drain := Drainer(outbox.SenderFunc(func(ctx context.Context, turns []api.Turn) error {
		// While the first drain holds the lock, a second one is busy.
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		n, err := Drainer(outbox.SenderFunc(func(context.Context, []api.Turn) error { return nil }), nil)(short)
		if err != nil {
			t.Errorf("second drain: %v", err)
		}
		inner <- n
		close(release)
		return nil
	}), nil)
	sent, err := drain(context.Background())
	<-release
	if err != nil || sent != 1 {
		t.Fatalf("drain = %d, %v; want 1 sent", sent, err)
	}
	if n := <-inner; n != 0 {
		t.Fatalf("busy drain sent %d, want 0", n)
	}
}
