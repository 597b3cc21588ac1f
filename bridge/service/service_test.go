package service

import (
	"context"
	"encoding/xml"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ksvc "github.com/kardianos/service"
)

// fakeSystem is a service.System that records what it is asked instead of
// talking to a real service manager.
type fakeSystem struct {
	mu       sync.Mutex
	services []*fakeService
}

func (f *fakeSystem) String() string    { return "fake" }
func (f *fakeSystem) Detect() bool      { return true }
func (f *fakeSystem) Interactive() bool { return true }
func (f *fakeSystem) New(i ksvc.Interface, c *ksvc.Config) (ksvc.Service, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := &fakeService{cfg: c, prog: i}
	f.services = append(f.services, s)
	return s, nil
}

type fakeService struct {
	cfg       *ksvc.Config
	prog      ksvc.Interface
	installed bool
	running   bool
	calls     []string
}

func (s *fakeService) Run() error { return nil }
func (s *fakeService) Start() error {
	return s.do("start", s.installed, "not installed", func() { s.running = true })
}
func (s *fakeService) Stop() error    { return s.do("stop", true, "", func() { s.running = false }) }
func (s *fakeService) Restart() error { return s.do("restart", true, "", func() {}) }
func (s *fakeService) Install() error {
	return s.do("install", !s.installed, "already installed", func() { s.installed = true })
}
func (s *fakeService) Uninstall() error {
	return s.do("uninstall", s.installed, "not installed", func() { s.installed = false })
}

// do records the call name and applies it when ok; otherwise the call fails
// saying why.
func (s *fakeService) do(name string, ok bool, why string, apply func()) error {
	s.calls = append(s.calls, name)
	if !ok {
		return errors.New(why)
	}
	apply()
	return nil
}

func (s *fakeService) Logger(chan<- error) (ksvc.Logger, error)       { return nil, nil }
func (s *fakeService) SystemLogger(chan<- error) (ksvc.Logger, error) { return nil, nil }
func (s *fakeService) String() string                                 { return s.cfg.Name }
func (s *fakeService) Platform() string                               { return "fake" }
func (s *fakeService) Status() (ksvc.Status, error) {
	switch {
	case !s.installed:
		return ksvc.StatusUnknown, ksvc.ErrNotInstalled
	case s.running:
		return ksvc.StatusRunning, nil
	}
	return ksvc.StatusStopped, nil
}

func TestControlAgainstFakeSystem(t *testing.T) {
	fake := &fakeSystem{}
	ksvc.ChooseSystem(fake)
	exe := "/home/u/.local/bin/sage-bridge"
	s, err := New(nil, exe, []string{"service", "run"})
	if err != nil {
		t.Fatal(err)
	}
	fs := fake.services[0]
	if fs.cfg.Executable != exe || strings.Join(fs.cfg.Arguments, " ") != "service run" {
		t.Fatalf("config: executable %q arguments %q", fs.cfg.Executable, fs.cfg.Arguments)
	}
	switch runtime.GOOS {
	case "linux":
		if fs.cfg.Option["UserService"] != true {
			t.Errorf("UserService option = %v, want true", fs.cfg.Option["UserService"])
		}
		unit, _ := fs.cfg.Option["SystemdScript"].(string)
		if unit != SystemdUnit(exe, []string{"service", "run"}) {
			t.Errorf("SystemdScript option is not our rendered unit:\n%s", unit)
		}
	case "darwin":
		if fs.cfg.Option["LaunchdConfig"] != LaunchdPlist(Label, exe, []string{"service", "run"}) {
			t.Errorf("LaunchdConfig option is not our rendered plist")
		}
	}

	steps := []struct {
		action string
		want   string
		state  State
	}{
		{"install", "install done", StateStopped},
		{"install", "already installed (stopped)", StateStopped},
		{"start", "start done", StateRunning},
		{"start", "already running", StateRunning},
		{"stop", "stop done", StateStopped},
		{"stop", "not running (stopped)", StateStopped},
		{"uninstall", "uninstall done", StateNotInstalled},
		{"uninstall", "not installed", StateNotInstalled},
	}
	for _, st := range steps {
		msg, err := Control(s, st.action)
		if err != nil {
			t.Fatalf("%s: %v", st.action, err)
		}
		if msg != st.want {
			t.Errorf("%s: message %q, want %q", st.action, msg, st.want)
		}
		got, err := Status(s)
		if err != nil || got != st.state {
			t.Errorf("after %s: status %q (%v), want %q", st.action, got, err, st.state)
		}
	}
	if got := strings.Join(fs.calls, ","); got != "install,start,stop,uninstall" {
		t.Errorf("service manager calls %s, want install,start,stop,uninstall (idempotent repeats must not reach it)", got)
	}
	if _, err := Control(s, "explode"); err == nil {
		t.Error("unknown action: no error")
	}
	if _, err := New(nil, "/tmp/{{Name}}/sage-bridge", nil); !errors.Is(err, ErrTemplateChars) {
		t.Errorf("path with {{: err %v, want ErrTemplateChars", err)
	}
}

func TestSystemdUnit(t *testing.T) {
	tests := []struct {
		exe, wantExec string
		args          []string
	}{
		{"/home/u/.local/bin/sage-bridge", "ExecStart=/home/u/.local/bin/sage-bridge service run\n", []string{"service", "run"}},
		{"/home/my user/bin/sage-bridge", `ExecStart="/home/my user/bin/sage-bridge" service run --compose-dir "/srv/my sage"` + "\n", []string{"service", "run", "--compose-dir", "/srv/my sage"}},
		{"/opt/100%/$HOME/sage-bridge", "ExecStart=/opt/100%%/$$HOME/sage-bridge service run\n", []string{"service", "run"}},
	}
	for _, tt := range tests {
		unit := SystemdUnit(tt.exe, tt.args)
		for _, want := range []string{"[Unit]\n", "[Service]\n", tt.wantExec, "[Install]\nWantedBy=default.target\n", "Restart=on-failure\n"} {
			if !strings.Contains(unit, want) {
				t.Errorf("unit for %q lacks %q:\n%s", tt.exe, want, unit)
			}
		}
		if strings.Contains(unit, "multi-user.target") {
			t.Errorf("unit targets multi-user.target, which a user manager never reaches:\n%s", unit)
		}
	}
}

func TestLaunchdPlist(t *testing.T) {
	exe := "/Users/o'neil & co/bin/sage-bridge"
	args := []string{"service", "run", "--compose-dir", "/Users/x/<sage>"}
	plist := LaunchdPlist(Label, exe, args)
	// Decode the plist's top-level dict into key → value elements.
	type value struct {
		XMLName xml.Name
		Text    string   `xml:",chardata"`
		Strings []string `xml:"string"`
	}
	var doc struct {
		Dict struct {
			Items []value `xml:",any"`
		} `xml:"dict"`
	}
	dec := xml.NewDecoder(strings.NewReader(plist))
	dec.Strict = true
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("plist is not valid XML: %v\n%s", err, plist)
	}
	got := map[string]value{}
	items := doc.Dict.Items
	for i := 0; i+1 < len(items); i += 2 {
		if items[i].XMLName.Local != "key" {
			t.Fatalf("dict item %d is <%s>, want <key>", i, items[i].XMLName.Local)
		}
		got[items[i].Text] = items[i+1]
	}
	if v := got["Label"]; v.Text != Label {
		t.Errorf("Label = %q, want %q", v.Text, Label)
	}
	pa := got["ProgramArguments"]
	if want := append([]string{exe}, args...); strings.Join(pa.Strings, "|") != strings.Join(want, "|") {
		t.Errorf("ProgramArguments = %q, want %q", pa.Strings, want)
	}
	for _, k := range []string{"RunAtLoad", "KeepAlive"} {
		if got[k].XMLName.Local != "true" {
			t.Errorf("%s = <%s/>, want <true/>", k, got[k].XMLName.Local)
		}
	}
}

func TestRunnerDrainsAndWatchesHealth(t *testing.T) {
	var healthy atomic.Bool
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		if !healthy.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()

	var drains atomic.Int64
	drained := make(chan struct{}, 100)
	composed := make(chan string, 1)
	r := &Runner{
		BaseURL:    srv.URL,
		ComposeDir: "/srv/sage",
		Compose:    func(_ context.Context, dir string) error { composed <- dir; return nil },
		Drain: func(context.Context) (int, error) {
			drains.Add(1)
			drained <- struct{}{}
			return 1, nil
		},
		Interval: MinInterval,
	}
	if err := r.Healthy(context.Background()); err == nil {
		t.Fatal("Healthy: no error while /healthz answers 503")
	}
	healthy.Store(true)
	if err := r.Healthy(context.Background()); err != nil {
		t.Fatalf("Healthy: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	if dir := <-composed; dir != "/srv/sage" {
		t.Errorf("compose ran in %q", dir)
	}
	select {
	case <-drained:
	case <-time.After(30 * time.Second):
		t.Fatal("the runner never drained the outbox")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if hits.Load() < 3 { // two direct checks + at least one round
		t.Errorf("health endpoint hit %d times", hits.Load())
	}

	// A daemon that is down is not drained into.
	healthy.Store(false)
	before := drains.Load()
	if up := r.round(context.Background(), slog.New(slog.DiscardHandler)); up {
		t.Error("round: daemon reported up while /healthz answers 503")
	}
	if drains.Load() != before {
		t.Error("round drained while the daemon was down")
	}

	if err := (&Runner{Interval: time.Millisecond}).Validate(); err == nil {
		t.Error("Validate: no error for a 1ms interval")
	}
}

func TestProgramStartStop(t *testing.T) {
	started := make(chan struct{})
	p := &Program{Runner: &Runner{Interval: time.Hour, Drain: func(context.Context) (int, error) {
		close(started)
		return 0, nil
	}}}
	if err := p.Start(nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(nil); err == nil {
		t.Error("second Start: no error")
	}
	<-started
	if err := p.Stop(nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(nil); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}
