package daemontest_test

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/sage-mcp/sage/shared/api"
	"github.com/sage-mcp/sage/testkit/daemontest"
)

func mustStatus(t *testing.T, d *daemontest.Daemon, token string) (int, api.Status) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, d.URL+api.Version+"/status", nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET status: %v", err)
	}
	defer resp.Body.Close()
	var st api.Status
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			t.Fatalf("decode status: %v", err)
		}
	}
	return resp.StatusCode, st
}

func TestStartRestart(t *testing.T) {
	d := daemontest.Start(t)
	if code, st := mustStatus(t, d, d.Token); code != http.StatusOK || st.Version == "" {
		t.Fatalf("status with token = %d %+v; want 200 with a version", code, st)
	}
	if code, _ := mustStatus(t, d, ""); code != http.StatusUnauthorized {
		t.Fatalf("status without token = %d; want 401", code)
	}
	d.Stop()
	if _, err := http.Get(d.URL + "/healthz"); err == nil {
		t.Fatal("daemon still answers after Stop")
	}
	url := d.URL
	d.Start()
	if d.URL != url {
		t.Fatalf("restart moved the daemon from %s to %s; want the same port", url, d.URL)
	}
	if code, _ := mustStatus(t, d, d.Token); code != http.StatusOK {
		t.Fatalf("status after restart = %d; want 200", code)
	}
}

func TestNewDatabaseDropped(t *testing.T) {
	var dbURL string
	t.Run("owner", func(t *testing.T) {
		dbURL = daemontest.NewDatabase(t)
		d := daemontest.Start(t, daemontest.Options{DatabaseURL: dbURL})
		if code, _ := mustStatus(t, d, d.Token); code != http.StatusOK {
			t.Fatalf("status on the new database = %d; want 200", code)
		}
	})
	// The database is gone once its test ended: a daemon on it cannot start.
	bin := daemontest.MustBuildCommand(t, "testkit/cmd/sage-testdb")
	out, err := exec.Command(bin, "drop", dbURL).CombinedOutput()
	if err != nil {
		t.Fatalf("dropping an already dropped database should succeed (IF EXISTS): %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "drop", "postgres://x@127.0.0.1:1/not_ours").CombinedOutput(); err == nil || !strings.Contains(string(out), "not a database made by pgtest") {
		t.Fatalf("drop of a foreign database = %v %s; want refused", err, out)
	}
}
