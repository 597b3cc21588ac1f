package deploy_test

import (
	"context"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/sage-mcp/sage/deploy"
	"github.com/sage-mcp/sage/testkit/daemontest"
	"github.com/sage-mcp/sage/testkit/pgtest"
)

const testVersion = "v0.0.0-deploytest"

// dockerBuild is the build of sage-daemon as the Dockerfile runs it.
type dockerBuild struct {
	env  []string // ENV of the build stage and the command's NAME=value prefix
	args []string // go build ... with -o replaced
}

// mustDockerBuild extracts the `go build` RUN line of the Dockerfile's build
// stage (the one the runtime stage copies the binary from), expands its
// variables like the builder would (VERSION from --build-arg, TARGETOS and
// TARGETARCH of this machine) and points -o at out.
func mustDockerBuild(t *testing.T, out string) dockerBuild {
	t.Helper()
	d := mustDockerfile(t, "Dockerfile")
	var from string
	for _, c := range d.Final().Find("COPY") {
		if f, ok := c.Flag("from"); ok && strings.HasSuffix(c.Args, "/sage-daemon") {
			from = f
		}
	}
	stage, ok := d.Stage(from)
	if !ok {
		t.Fatalf("Dockerfile: the runtime stage copies sage-daemon from %q, which is not a stage", from)
	}
	args := map[string]string{"VERSION": testVersion, "TARGETOS": runtime.GOOS, "TARGETARCH": runtime.GOARCH}
	env := envOf(t, stage)
	lookup := func(k string) (string, bool) {
		if v, ok := env[k]; ok {
			return v, true
		}
		v, ok := args[k]
		return v, ok
	}
	// The test runs the build in the root of the context copy: that is
	// what the stage does when it copies the whole context to its WORKDIR.
	whole := false
	for _, c := range stage.Find("COPY") {
		whole = whole || (len(c.Flags) == 0 && strings.Join(strings.Fields(c.Args), " ") == ". .")
	}
	if !whole || len(stage.Find("WORKDIR")) != 1 {
		t.Fatalf("Dockerfile: the build stage must set one WORKDIR and COPY . . into it")
	}
	var b dockerBuild
	for k, v := range env {
		b.env = append(b.env, k+"="+v)
	}
	for _, run := range stage.Find("RUN") {
		if !strings.Contains(run.Args, "go build") {
			continue
		}
		if b.args != nil {
			t.Fatalf("Dockerfile:%d: a second go build", run.Line)
		}
		words, err := deploy.SplitWords(run.Args, lookup)
		if err != nil {
			t.Fatalf("Dockerfile:%d: %v", run.Line, err)
		}
		for len(words) > 0 && strings.Contains(words[0], "=") {
			b.env = append(b.env, words[0])
			words = words[1:]
		}
		if len(words) < 2 || words[0] != "go" || words[1] != "build" {
			t.Fatalf("Dockerfile:%d: want [NAME=value...] go build ..., got %q", run.Line, words)
		}
		for i := range words {
			if words[i] == "-o" && i+1 < len(words) {
				words[i+1] = out
			}
		}
		b.args = words
	}
	if b.args == nil {
		t.Fatal("Dockerfile: no `go build` in the build stage")
	}
	return b
}

// mustCopyContext copies the repository into a new directory as docker
// would send it as the build context: without what .dockerignore excludes.
func mustCopyContext(t *testing.T) string {
	t.Helper()
	root := mustRepoRoot(t)
	f, err := os.Open(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	patterns, err := ignorefile.ReadAll(f)
	f.Close()
	if err != nil {
		t.Fatalf(".dockerignore: %v", err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatalf(".dockerignore: %v", err)
	}
	dst := t.TempDir()
	err = filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed while we walk: another test's temporary file
		}
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil || rel == "." {
			return err
		}
		skip, err := pm.MatchesOrParentMatches(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		if skip {
			if e.IsDir() && !pm.Exclusions() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		switch {
		case e.IsDir():
			return os.MkdirAll(target, 0o755)
		case e.Type().IsRegular():
			if err := copyFile(path, target); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		return nil // sockets, symlinks: not part of a build
	})
	if err != nil {
		t.Fatalf("copy the build context: %v", err)
	}
	return dst
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// TestDockerBuildAndHealthcheck builds sage-daemon with the Dockerfile's own
// build line on the filtered build context, checks the binary is static and
// stamped, runs it as the image would (CMD) against a fresh database, and
// checks the image's HEALTHCHECK command: 0 while it serves, 1 once it is
// stopped.
func TestDockerBuildAndHealthcheck(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	ctxDir := mustCopyContext(t)
	bin := filepath.Join(t.TempDir(), "sage-daemon")
	b := mustDockerBuild(t, bin)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, b.args[0], b.args[1:]...)
	build.Dir = ctxDir
	build.Env = append(withoutEnv(os.Environ(), "GOWORK", "GOFLAGS"), b.env...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s (in the build context): %v\n%s", strings.Join(b.args, " "), err, out)
	}

	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatalf("read build info: %v", err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if settings["CGO_ENABLED"] != "0" {
		t.Errorf("CGO_ENABLED = %q, want 0 (a static binary for distroless)", settings["CGO_ENABLED"])
	}
	if settings["-trimpath"] != "true" {
		t.Errorf("-trimpath = %q, want true", settings["-trimpath"])
	}
	// -trimpath keeps -ldflags out of the build info: check their effects.
	// -s -w: no symbol table, no DWARF.
	if runtime.GOOS != "linux" {
		// The image is Linux; elsewhere only the build itself is checked.
	} else if ef, err := elf.Open(bin); err != nil {
		t.Errorf("open the binary as ELF: %v", err)
	} else {
		for _, name := range []string{".symtab", ".debug_info"} {
			if ef.Section(name) != nil {
				t.Errorf("the binary has %s: -ldflags \"-s -w\" did not apply", name)
			}
		}
		ef.Close()
	}
	// -X ...shared/version.Version:
	out, err := exec.CommandContext(ctx, bin, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), testVersion) {
		t.Errorf("sage-daemon version = %q, %v; want %s", out, err, testVersion)
	}

	// Run it like the image: ENTRYPOINT + CMD with the image's ENV, the data
	// directory and listen address moved somewhere free.
	img := mustCheckRuntime(t, "Dockerfile")
	dataDir := t.TempDir()
	env := withoutEnv(os.Environ(), "SAGE_")
	for k, v := range img.env {
		env = append(env, k+"="+v)
	}
	env = append(env,
		"SAGE_DATA_DIR="+dataDir,
		"SAGE_LISTEN="+mustFreeAddr(t),
		"SAGE_DATABASE_URL="+dbURL,
	)
	serve := exec.Command(bin, append(img.entrypoint[1:], img.cmd...)...)
	serve.Env = env
	logs := &daemontest.Output{}
	serve.Stdout, serve.Stderr = logs, logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = serve.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = serve.Process.Kill()
			<-exited
		}
	}
	defer stop()
	defer func() {
		if t.Failed() {
			t.Logf("sage-daemon log:\n%s", logs.String())
		}
	}()

	healthcheck := func() (int, string) {
		c := exec.CommandContext(ctx, bin, img.healthcheck[1:]...)
		c.Env = env
		out, err := c.CombinedOutput()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return 0, string(out)
		case errors.As(err, &ee):
			return ee.ExitCode(), string(out)
		}
		t.Fatalf("run healthcheck: %v", err)
		return -1, ""
	}

	// Up: the healthcheck turns 0 once the daemon serves (startup includes
	// migrating the new database).
	deadline := time.Now().Add(2 * time.Minute)
	for {
		code, out := healthcheck()
		if code == 0 {
			break
		}
		select {
		case err := <-exited:
			stopped = true
			t.Fatalf("sage-daemon exited at start: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthcheck still exits %d after 2 minutes: %s", code, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "token")); err != nil {
		t.Errorf("no admin token file in SAGE_DATA_DIR (the README sends users there): %v", err)
	}

	// Down: exit status 1, which docker reads as unhealthy.
	stop()
	if code, out := healthcheck(); code != 1 {
		t.Errorf("healthcheck with the daemon stopped exits %d (%s), want 1", code, out)
	}
}

// withoutEnv drops the variables named, or starting with a name ending in _.
func withoutEnv(env []string, names ...string) []string {
	var out []string
next:
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		for _, n := range names {
			if k == n || (strings.HasSuffix(n, "_") && strings.HasPrefix(k, n)) {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}

func mustFreeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
