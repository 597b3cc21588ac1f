package daemontest_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/sage-mcp/sage/shared/api"
	"github.com/sage-mcp/sage/shared/daemontest"
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
	d.Start()
	if code, _ := mustStatus(t, d, d.Token); code != http.StatusOK {
		t.Fatalf("status after restart = %d; want 200", code)
	}
}
