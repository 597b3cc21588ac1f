package deploy_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sage-mcp/sage/deploy"
)

const (
	runtimeImage = "gcr.io/distroless/static-debian12:nonroot"
	daemonPort   = "17800"
	consolePort  = "17801" // the web console's own listener
)

func mustDockerfile(t testing.TB, name string) *deploy.Dockerfile {
	t.Helper()
	d, err := deploy.ParseDockerfile(bytes.NewReader(mustReadFile(t, name)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return d
}

// mustExecForm decodes the JSON (exec) form of CMD, ENTRYPOINT or
// HEALTHCHECK CMD.
func mustExecForm(t testing.TB, in deploy.Instruction, args string) []string {
	t.Helper()
	var out []string
	if err := json.Unmarshal([]byte(args), &out); err != nil || len(out) == 0 {
		t.Fatalf("line %d: %s %s: want the exec form [\"prog\", \"arg\", ...]", in.Line, in.Cmd, args)
	}
	return out
}

func mustOne(t testing.TB, s deploy.Stage, cmd string) deploy.Instruction {
	t.Helper()
	ins := s.Find(cmd)
	if len(ins) != 1 {
		t.Fatalf("stage %q: %d %s instructions, want 1", s.Name, len(ins), cmd)
	}
	return ins[0]
}

// envOf returns the ENV settings of a stage (NAME=value form only).
func envOf(t testing.TB, s deploy.Stage) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, in := range s.Find("ENV") {
		words, err := deploy.SplitWords(in.Args, func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatalf("line %d: ENV %s: %v", in.Line, in.Args, err)
		}
		for _, w := range words {
			k, v, ok := strings.Cut(w, "=")
			if !ok {
				t.Fatalf("line %d: ENV %s: use NAME=value", in.Line, in.Args)
			}
			env[k] = v
		}
	}
	return env
}

// daemonImage is what the runtime stage of a Dockerfile says about the image.
type daemonImage struct {
	entrypoint, cmd, healthcheck []string
	env                          map[string]string
}

// globalArgs returns the defaults of a Dockerfile's ARGs before the first
// FROM, each expanded with the ones before it.
func globalArgs(t testing.TB, d *deploy.Dockerfile) map[string]string {
	t.Helper()
	args := map[string]string{}
	lookup := func(k string) (string, bool) { v, ok := args[k]; return v, ok }
	for _, in := range d.Global {
		name, def, _ := strings.Cut(in.Args, "=")
		words, err := deploy.SplitWords(def, lookup)
		if err != nil || len(words) > 1 {
			t.Fatalf("line %d: ARG %s: want NAME[=value] (%v)", in.Line, in.Args, err)
		}
		args[name] = strings.Join(words, "")
	}
	return args
}

// mustBaseImage returns the image a stage is built FROM, its global build
// arguments at their defaults.
func mustBaseImage(t testing.TB, d *deploy.Dockerfile, s deploy.Stage) string {
	t.Helper()
	args := globalArgs(t, d)
	words, err := deploy.SplitWords(s.From, func(k string) (string, bool) { v, ok := args[k]; return v, ok })
	if err != nil || len(words) != 1 {
		t.Fatalf("FROM %s: want one image name (%v)", s.From, err)
	}
	return words[0]
}

// mustCheckRuntime checks the rules every sage-daemon image follows.
func mustCheckRuntime(t *testing.T, name string) daemonImage {
	t.Helper()
	d := mustDockerfile(t, name)
	s := d.Final()
	if from := mustBaseImage(t, d, s); from != runtimeImage {
		t.Errorf("%s: runtime image %q, want %s", name, from, runtimeImage)
	}
	user := mustOne(t, s, "USER").Args
	if u, _, _ := strings.Cut(user, ":"); u == "" || u == "0" || u == "root" {
		t.Errorf("%s: USER %q, want a non-root user", name, user)
	}
	if got := mustOne(t, s, "EXPOSE").Args; got != daemonPort+" "+consolePort {
		t.Errorf("%s: EXPOSE %s, want %s %s", name, got, daemonPort, consolePort)
	}
	vol := mustOne(t, s, "VOLUME")
	if vols := mustExecForm(t, vol, vol.Args); !slices.Equal(vols, []string{"/data"}) {
		t.Errorf("%s: VOLUME %v, want [/data]", name, vols)
	}
	img := daemonImage{env: envOf(t, s)}
	if got := img.env["SAGE_DATA_DIR"]; got != "/data" {
		t.Errorf("%s: SAGE_DATA_DIR=%q, want /data", name, got)
	}
	// Every interface of the container, explicitly: the daemon's own
	// default is loopback, which nothing outside the container reaches.
	if host, port, err := net.SplitHostPort(img.env["SAGE_LISTEN"]); err != nil || host != "0.0.0.0" || port != daemonPort {
		t.Errorf("%s: SAGE_LISTEN=%q, want 0.0.0.0:%s", name, img.env["SAGE_LISTEN"], daemonPort)
	}
	if host, port, err := net.SplitHostPort(img.env["SAGE_CONSOLE_LISTEN"]); err != nil || host != "0.0.0.0" || port != consolePort {
		t.Errorf("%s: SAGE_CONSOLE_LISTEN=%q, want 0.0.0.0:%s", name, img.env["SAGE_CONSOLE_LISTEN"], consolePort)
	}
	ep := mustOne(t, s, "ENTRYPOINT")
	img.entrypoint = mustExecForm(t, ep, ep.Args)
	cmd := mustOne(t, s, "CMD")
	img.cmd = mustExecForm(t, cmd, cmd.Args)
	hc := mustOne(t, s, "HEALTHCHECK")
	_, hcArgs, ok := strings.Cut(hc.Args, "CMD ")
	if !ok {
		t.Fatalf("%s: HEALTHCHECK %s: want HEALTHCHECK [options] CMD [...]", name, hc.Args)
	}
	img.healthcheck = mustExecForm(t, hc, strings.TrimSpace(hcArgs))
	if want := append(slices.Clone(img.entrypoint), "healthcheck"); !slices.Equal(img.healthcheck, want) {
		t.Errorf("%s: HEALTHCHECK CMD %v, want %v", name, img.healthcheck, want)
	}
	// The binary and the data directory (owned by the user) are copied in.
	var binary, data bool
	for _, c := range s.Find("COPY") {
		f := strings.Fields(c.Args)
		dst := f[len(f)-1]
		binary = binary || dst == img.entrypoint[0]
		if dst == "/data" {
			chown, _ := c.Flag("chown")
			cu, _, _ := strings.Cut(chown, ":")
			uu, _, _ := strings.Cut(user, ":")
			data = cu == uu
		}
	}
	if !binary {
		t.Errorf("%s: nothing is copied to the ENTRYPOINT %s", name, img.entrypoint[0])
	}
	if !data {
		t.Errorf("%s: /data is not created owned by USER %s", name, user)
	}
	return img
}

func TestDockerfileRuntime(t *testing.T) {
	img := mustCheckRuntime(t, "Dockerfile")
	if !slices.Equal(img.cmd, []string{"serve"}) {
		t.Errorf("CMD %v, want [serve]", img.cmd)
	}
}

// TestDockerfileReleaseMatches: goreleaser's image (Dockerfile.release) is
// the runtime stage of Dockerfile with prebuilt binaries.
func TestDockerfileReleaseMatches(t *testing.T) {
	mustCheckRuntime(t, "Dockerfile.release")
	strip := func(s deploy.Stage) []string {
		var out []string
		for _, in := range s.Instructions {
			if in.Cmd != "COPY" && !(in.Cmd == "ARG" && strings.HasPrefix(in.Args, "TARGET")) {
				out = append(out, in.Cmd+" "+strings.Join(in.Flags, " ")+" "+in.Args)
			}
		}
		return out
	}
	a := strip(mustDockerfile(t, "Dockerfile").Final())
	b := strip(mustDockerfile(t, "Dockerfile.release").Final())
	if !slices.Equal(a, b) {
		t.Errorf("the runtime stages differ beyond COPY:\nDockerfile:\n  %s\nDockerfile.release:\n  %s",
			strings.Join(a, "\n  "), strings.Join(b, "\n  "))
	}
}

// TestDockerfileBaseImages: every base image of Dockerfile is a global
// build argument whose default is the official image, which compose passes
// on from the environment (without a value of its own) and .env.example
// documents at that default; the same for compose's PostgreSQL image.
func TestDockerfileBaseImages(t *testing.T) {
	d := mustDockerfile(t, "Dockerfile")
	args := globalArgs(t, d)
	build, ok := d.Stage("build")
	if !ok {
		t.Fatal("Dockerfile: no build stage")
	}
	want := map[string]*regexp.Regexp{
		"SAGE_BUILD_IMAGE":   regexp.MustCompile(`^golang:` + regexp.QuoteMeta(args["GO_VERSION"]) + `-bookworm$`),
		"SAGE_RUNTIME_IMAGE": regexp.MustCompile(`^` + regexp.QuoteMeta(runtimeImage) + `$`),
	}
	for _, s := range []deploy.Stage{build, d.Final()} {
		name := strings.TrimSuffix(strings.TrimPrefix(s.From, "${"), "}")
		if _, ok := want[name]; !ok || s.From != "${"+name+"}" {
			t.Errorf("stage %q: FROM %s, want one of the build arguments %v", s.Name, s.From, slices.Sorted(maps.Keys(want)))
		}
	}
	if args["GO_VERSION"] == "" {
		t.Error("Dockerfile: no global ARG GO_VERSION=<version>")
	}
	example := map[string]deploy.EnvVar{}
	for _, v := range mustEnvExample(t) {
		example[v.Name] = v
	}
	// Unset, compose passes no value (the Dockerfile's default applies);
	// set, it passes the environment's.
	p := mustLoadCompose(t, map[string]string{"POSTGRES_PASSWORD": testPassword}, nil, composeFile)
	env := map[string]string{"POSTGRES_PASSWORD": testPassword}
	for name := range want {
		env[name] = "local/" + strings.ToLower(name) + ":test"
	}
	set := mustService(t, mustLoadCompose(t, env, nil, composeFile), "sage")
	for name, re := range want {
		if !re.MatchString(args[name]) {
			t.Errorf("Dockerfile: ARG %s=%s, want the default %s", name, args[name], re)
		}
		if v, ok := mustService(t, p, "sage").Build.Args[name]; ok {
			t.Errorf("compose sage build args without %s in the environment: %s=%v, want it left out", name, name, v)
		}
		if v := set.Build.Args[name]; v == nil || *v != env[name] {
			t.Errorf("compose sage build args with %s=%s in the environment: %v, want it passed on", name, env[name], v)
		}
		if v := example[name]; v.Section != deploy.SectionCompose || v.Set || v.Value != args[name] {
			t.Errorf(".env.example: %s = %+v, want `# %s=%s` in the compose block", name, v, name, args[name])
		}
	}
	def := mustService(t, p, "pg").Image
	if v := example["SAGE_PG_IMAGE"]; v.Section != deploy.SectionCompose || v.Set || v.Value != def {
		t.Errorf(".env.example: SAGE_PG_IMAGE = %+v, want `# SAGE_PG_IMAGE=%s` in the compose block", v, def)
	}
	p = mustLoadCompose(t, map[string]string{"POSTGRES_PASSWORD": testPassword, "SAGE_PG_IMAGE": "local/pg:test"}, nil, composeFile)
	if got := mustService(t, p, "pg").Image; got != "local/pg:test" {
		t.Errorf("pg image with SAGE_PG_IMAGE=local/pg:test: %q", got)
	}
}

func TestParseDockerfile(t *testing.T) {
	in := "# syntax=docker/dockerfile:1\nARG GO=1\n\nFROM golang:${GO} AS build\nRUN --mount=type=cache,target=/x \\\n    # comment inside\n    go build \\\n  ./x\nFROM scratch\nCOPY --from=build --chown=1:1 /a /b\n"
	d, err := deploy.ParseDockerfile(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Global) != 1 || d.Global[0].Args != "GO=1" {
		t.Errorf("global = %+v", d.Global)
	}
	if len(d.Stages) != 2 || d.Stages[0].Name != "build" || d.Stages[0].From != "golang:${GO}" || d.Final().From != "scratch" {
		t.Fatalf("stages = %+v", d.Stages)
	}
	run := mustOne(t, d.Stages[0], "RUN")
	if run.Line != 5 || strings.Join(strings.Fields(run.Args), " ") != "go build ./x" || len(run.Flags) != 1 {
		t.Errorf("RUN = %+v", run)
	}
	cp := mustOne(t, d.Final(), "COPY")
	if from, _ := cp.Flag("from"); from != "build" {
		t.Errorf("COPY --from = %q", from)
	}
	if _, ok := d.Stage("BUILD"); !ok {
		t.Error("stage lookup is case-sensitive")
	}
	for _, bad := range []string{"", "RUN x\n", "FROM a b c\n", "FROM a\nRUN <<EOF\nx\nEOF\n", "FROM a\n1RUN x\n"} {
		if _, err := deploy.ParseDockerfile(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzParseDockerfile(f *testing.F) {
	f.Add("FROM a AS b\nRUN x \\\n y\nCOPY --from=b /x /y\n")
	f.Add("ARG X\nFROM scratch\n")
	f.Fuzz(func(t *testing.T, in string) {
		d, err := deploy.ParseDockerfile(strings.NewReader(in))
		if err != nil {
			return
		}
		if len(d.Stages) == 0 {
			t.Fatalf("%q: parsed without a stage", in)
		}
		for _, s := range d.Stages {
			for _, in := range s.Instructions {
				if in.Cmd == "" || in.Cmd == "FROM" {
					t.Fatalf("bad instruction %+v", in)
				}
			}
		}
	})
}

// TestDockerfileCopiesEveryModule: the build stage's `go mod download` runs
// with go.work, so every module go.work uses must have its go.mod copied
// before it (a module added to go.work but not here fails the image build).
func TestDockerfileCopiesEveryModule(t *testing.T) {
	work := string(mustReadFile(t, "go.work"))
	var mods []string
	for _, m := range regexp.MustCompile(`(?m)^\s*\./([A-Za-z0-9_./-]+)\s*$`).FindAllStringSubmatch(work, -1) {
		mods = append(mods, m[1])
	}
	if len(mods) < 5 {
		t.Fatalf("go.work lists %v, want at least the five modules", mods)
	}
	build, ok := mustDockerfile(t, "Dockerfile").Stage("build")
	if !ok {
		t.Fatal("Dockerfile has no build stage")
	}
	copied := map[string]bool{}
	for _, in := range build.Instructions {
		if in.Cmd == "RUN" && strings.Contains(in.Args, "go mod download") {
			break
		}
		if in.Cmd == "COPY" {
			if f := strings.Fields(in.Args); len(f) == 2 && strings.HasSuffix(f[0], "/go.*") {
				copied[strings.TrimSuffix(f[0], "/go.*")] = true
			}
		}
	}
	for _, m := range mods {
		if !copied[m] {
			t.Errorf("go.work uses ./%s but the Dockerfile does not COPY %s/go.* before go mod download", m, m)
		}
	}
}
