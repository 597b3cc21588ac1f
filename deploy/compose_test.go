package deploy_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/sage-mcp/sage/daemon/embed"
)

const (
	composeFile  = "docker-compose.yml"
	overrideFile = "docker-compose.pg-port.yml"
	// The files docker-compose.yml includes, by SAGE_EMBED_PROVIDER.
	embedFile        = "docker-compose.embed-openai.yml"
	embedBuiltinFile = "docker-compose.embed-builtin.yml"
	testPassword     = "0123456789abcdef-test-only"
)

// mustLoadCompose loads the compose files (copied into a directory of their
// own, so a developer's .env never leaks in) with exactly env as the
// interpolation environment, and the given profiles.
func mustLoadCompose(t *testing.T, env map[string]string, profiles []string, files ...string) *types.Project {
	t.Helper()
	p, err := loadCompose(t, env, profiles, files...)
	if err != nil {
		t.Fatalf("load %v: %v", files, err)
	}
	return p
}

func loadCompose(t *testing.T, env map[string]string, profiles []string, files ...string) (*types.Project, error) {
	t.Helper()
	dir := t.TempDir()
	mustCopyFiles(t, dir, files...)
	mustCopyFiles(t, dir, embedFile, embedBuiltinFile) // included by composeFile
	var kv []string
	for k, v := range env {
		kv = append(kv, k+"="+v)
	}
	var paths []string
	for _, f := range files {
		paths = append(paths, filepath.Join(dir, f))
	}
	opts, err := cli.NewProjectOptions(paths,
		cli.WithWorkingDirectory(dir),
		cli.WithEnv(kv),
		cli.WithProfiles(profiles),
	)
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

func mustService(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, ok := p.Services[name]
	if !ok {
		t.Fatalf("service %s is not enabled (enabled: %v)", name, p.ServiceNames())
	}
	return s
}

// mustNamedVolumeAt checks that a named volume of the project is mounted in
// s at target.
func mustNamedVolumeAt(t *testing.T, p *types.Project, s types.ServiceConfig, target string) {
	t.Helper()
	for _, v := range s.Volumes {
		if v.Target != target {
			continue
		}
		if v.Type != types.VolumeTypeVolume {
			t.Fatalf("%s: %s is a %s mount, want a named volume", s.Name, target, v.Type)
		}
		if _, ok := p.Volumes[v.Source]; !ok {
			t.Fatalf("%s: volume %q at %s is not declared under volumes:", s.Name, v.Source, target)
		}
		return
	}
	t.Fatalf("%s: nothing mounted at %s (volumes: %+v)", s.Name, target, s.Volumes)
}

func envValue(t *testing.T, s types.ServiceConfig, name string) string {
	t.Helper()
	v, ok := s.Environment[name]
	if !ok || v == nil {
		t.Fatalf("%s: environment has no %s", s.Name, name)
	}
	return *v
}

func TestComposeDefault(t *testing.T) {
	p := mustLoadCompose(t, map[string]string{"POSTGRES_PASSWORD": testPassword}, nil, composeFile)

	if got, want := p.ServiceNames(), []string{"embed", "pg", "sage"}; !slices.Equal(sorted(got), want) {
		t.Fatalf("enabled services = %v, want %v (ollama only with its profile)", got, want)
	}

	t.Run("pg", func(t *testing.T) {
		pg := mustService(t, p, "pg")
		if !regexp.MustCompile(`^pgvector/pgvector:pg1[6-9]$`).MatchString(pg.Image) {
			t.Errorf("pg image = %q, want pgvector/pgvector:pg16 or newer", pg.Image)
		}
		mustNamedVolumeAt(t, p, pg, "/var/lib/postgresql/data")
		if len(pg.Ports) != 0 {
			t.Errorf("pg publishes %+v; PostgreSQL must stay internal by default", pg.Ports)
		}
		if pg.HealthCheck == nil || pg.HealthCheck.Disable || !slices.Contains(pg.HealthCheck.Test, "pg_isready") {
			t.Errorf("pg healthcheck = %+v, want a pg_isready check", pg.HealthCheck)
		}
		if got := envValue(t, pg, "POSTGRES_PASSWORD"); got != testPassword {
			t.Errorf("pg POSTGRES_PASSWORD = %q, want the one from the environment", got)
		}
	})

	t.Run("sage", func(t *testing.T) {
		s := mustService(t, p, "sage")
		if s.Build == nil || s.Build.Dockerfile != "Dockerfile" || filepath.Clean(s.Build.Context) != filepath.Clean(p.WorkingDir) {
			t.Errorf("sage build = %+v, want the Dockerfile in the project directory", s.Build)
		}
		if s.Build != nil {
			if v, ok := s.Build.Args["VERSION"]; !ok || v == nil || *v == "" {
				t.Errorf("sage build args = %v, want VERSION", s.Build.Args)
			}
		}
		if s.Image == "" {
			t.Error("sage has no image name")
		}
		dep, ok := s.DependsOn["pg"]
		if !ok || dep.Condition != types.ServiceConditionHealthy {
			t.Errorf("sage depends_on pg = %+v, want condition service_healthy", dep)
		}
		mustNamedVolumeAt(t, p, s, "/data")
		if len(s.Ports) != 2 {
			t.Fatalf("sage ports = %+v, want exactly 127.0.0.1:17800:17800 and the console's 127.0.0.1:17801:17801", s.Ports)
		}
		for i, want := range []uint32{17800, 17801} {
			if pt := s.Ports[i]; pt.HostIP != "127.0.0.1" || pt.Published != fmt.Sprint(want) || pt.Target != want {
				t.Errorf("sage port = %+v, want 127.0.0.1:%d:%d", pt, want, want)
			}
		}
		if host, port, err := net.SplitHostPort(envValue(t, s, "SAGE_CONSOLE_LISTEN")); err != nil || host != "0.0.0.0" || port != "17801" {
			t.Errorf("SAGE_CONSOLE_LISTEN = %q, want 0.0.0.0:17801 (%v)", envValue(t, s, "SAGE_CONSOLE_LISTEN"), err)
		}
		if s.HealthCheck == nil || s.HealthCheck.Disable || !slices.Contains(s.HealthCheck.Test, "healthcheck") {
			t.Errorf("sage healthcheck = %+v, want sage-daemon healthcheck", s.HealthCheck)
		}
		if got := envValue(t, s, "SAGE_DATA_DIR"); got != "/data" {
			t.Errorf("SAGE_DATA_DIR = %q, want /data (the volume)", got)
		}
		host, port, err := net.SplitHostPort(envValue(t, s, "SAGE_LISTEN"))
		if err != nil || host != "0.0.0.0" || port != "17800" {
			t.Errorf("SAGE_LISTEN = %q, want 0.0.0.0:17800, every interface of the container (%v)", envValue(t, s, "SAGE_LISTEN"), err)
		}
		dbURL := envValue(t, s, "SAGE_DATABASE_URL")
		if !strings.Contains(dbURL, ":"+testPassword+"@pg:5432/") {
			t.Errorf("SAGE_DATABASE_URL does not point at pg with POSTGRES_PASSWORD")
		}
		if len(s.EnvFiles) != 1 || filepath.Base(s.EnvFiles[0].Path) != ".env" || bool(s.EnvFiles[0].Required) {
			t.Errorf("sage env_file = %+v, want an optional .env", s.EnvFiles)
		}
	})
}

func TestComposeEnvFile(t *testing.T) {
	// .env.example copied to .env (the documented first step), with the
	// password and one daemon setting filled in, reaches the sage service.
	dir := t.TempDir()
	mustCopyFiles(t, dir, composeFile, embedFile, embedBuiltinFile)
	example := string(mustReadFile(t, ".env.example"))
	example = strings.Replace(example, "\nPOSTGRES_PASSWORD=\n", "\nPOSTGRES_PASSWORD="+testPassword+"\n", 1)
	example = strings.Replace(example, "# SAGE_LOG_LEVEL=info", "SAGE_LOG_LEVEL=debug", 1)
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(example), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(dir, composeFile)},
		cli.WithWorkingDirectory(dir), cli.WithEnvFiles(), cli.WithDotEnv)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("load with .env from .env.example: %v", err)
	}
	s := mustService(t, p, "sage")
	if got := envValue(t, s, "SAGE_LOG_LEVEL"); got != "debug" {
		t.Errorf("SAGE_LOG_LEVEL from .env = %q, want debug", got)
	}
	if got := envValue(t, mustService(t, p, "pg"), "POSTGRES_PASSWORD"); got != testPassword {
		t.Errorf("POSTGRES_PASSWORD from .env = %q", got)
	}
}

func TestComposeRequiresPassword(t *testing.T) {
	for _, env := range []map[string]string{nil, {"POSTGRES_PASSWORD": ""}} {
		_, err := loadCompose(t, env, nil, composeFile)
		if err == nil || !strings.Contains(err.Error(), "POSTGRES_PASSWORD") {
			t.Errorf("env %v: err = %v, want a POSTGRES_PASSWORD error (no default password)", env, err)
		}
	}
	// No compose file carries a password of its own.
	for _, f := range []string{composeFile, overrideFile} {
		for _, line := range strings.Split(string(mustReadFile(t, f)), "\n") {
			if strings.Contains(line, "POSTGRES_PASSWORD:") && !strings.Contains(line, "${POSTGRES_PASSWORD:?") {
				t.Errorf("%s: %q: the password must come from .env, required", f, strings.TrimSpace(line))
			}
		}
	}
}

func TestComposePgPortOverride(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"POSTGRES_PASSWORD": testPassword}, "5433"},
		{map[string]string{"POSTGRES_PASSWORD": testPassword, "SAGE_PG_PORT": "6543"}, "6543"},
	} {
		p := mustLoadCompose(t, tc.env, nil, composeFile, overrideFile)
		pg := mustService(t, p, "pg")
		if len(pg.Ports) != 1 {
			t.Fatalf("pg ports = %+v, want one", pg.Ports)
		}
		if pt := pg.Ports[0]; pt.HostIP != "127.0.0.1" || pt.Published != tc.want || pt.Target != 5432 {
			t.Errorf("env %v: pg port = %+v, want 127.0.0.1:%s:5432", tc.env, pt, tc.want)
		}
		// The override changes nothing else.
		mustNamedVolumeAt(t, p, pg, "/var/lib/postgresql/data")
		if s := mustService(t, p, "sage"); len(s.Ports) != 2 || s.Ports[0].HostIP != "127.0.0.1" || s.Ports[1].HostIP != "127.0.0.1" {
			t.Errorf("sage ports with the override = %+v", s.Ports)
		}
	}
}

// TestComposeEmbed: by default an embedding service (text-embeddings-inference
// serving a multilingual model into a named volume, on the compose network
// only) runs and the daemon's openai embedder points at it; the model and
// image can be changed in .env; SAGE_EMBED_PROVIDER=builtin leaves it out.
func TestComposeEmbed(t *testing.T) {
	for _, tc := range []struct {
		name      string
		env       map[string]string
		image     string // of the embed service; "" means no service
		provider  string
		model     string
		embedURL  string
		knownDims int // the daemon knows the model's vector length
	}{
		{name: "default", env: map[string]string{},
			image: "ghcr.io/huggingface/text-embeddings-inference:cpu-", provider: "openai",
			model: "intfloat/multilingual-e5-small", embedURL: "http://embed/v1", knownDims: 384},
		{name: "another model and image", env: map[string]string{"SAGE_EMBED_MODEL": "BAAI/bge-m3", "SAGE_EMBED_IMAGE": "mirror.example/tei:cpu-1.8"},
			image: "mirror.example/tei:cpu-1.8", provider: "openai", model: "BAAI/bge-m3", embedURL: "http://embed/v1", knownDims: 1024},
		{name: "builtin", env: map[string]string{"SAGE_EMBED_PROVIDER": "builtin"}, provider: "builtin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.env["POSTGRES_PASSWORD"] = testPassword
			p := mustLoadCompose(t, tc.env, nil, composeFile)
			s := mustService(t, p, "sage")
			if got := envValue(t, s, "SAGE_EMBED_PROVIDER"); got != tc.provider {
				t.Errorf("sage SAGE_EMBED_PROVIDER = %q, want %q", got, tc.provider)
			}
			e, ok := p.Services["embed"]
			if tc.image == "" {
				if ok {
					t.Fatalf("embed service enabled with SAGE_EMBED_PROVIDER=%s", tc.provider)
				}
				if got, want := sorted(p.ServiceNames()), []string{"pg", "sage"}; !slices.Equal(got, want) {
					t.Errorf("services = %v, want %v", got, want)
				}
				return
			}
			if !ok {
				t.Fatalf("no embed service (services %v)", p.ServiceNames())
			}
			if !strings.HasPrefix(e.Image, tc.image) {
				t.Errorf("embed image = %q, want %s…", e.Image, tc.image)
			}
			if len(e.Profiles) != 0 {
				t.Errorf("embed profiles = %v: it must start with a plain docker compose up -d", e.Profiles)
			}
			if e.Restart != types.RestartPolicyUnlessStopped {
				t.Errorf("embed restart = %q", e.Restart)
			}
			if len(e.Ports) != 0 {
				t.Errorf("embed publishes %+v; the daemon reaches it on the compose network", e.Ports)
			}
			// TEI keeps downloaded models under /data: a named volume, so
			// the model is pulled once.
			mustNamedVolumeAt(t, p, e, "/data")
			cmd := strings.Join(e.Command, " ")
			for _, want := range []string{"--model-id " + tc.model, "--port 80", "--auto-truncate", "--max-client-batch-size 64"} {
				if !strings.Contains(cmd, want) {
					t.Errorf("embed command %q lacks %q", cmd, want)
				}
			}
			if got := envValue(t, s, "SAGE_EMBED_URL"); got != tc.embedURL {
				t.Errorf("sage SAGE_EMBED_URL = %q, want %q", got, tc.embedURL)
			}
			if got := envValue(t, s, "SAGE_EMBED_MODEL"); got != tc.model {
				t.Errorf("sage SAGE_EMBED_MODEL = %q, want %q (the model the service serves)", got, tc.model)
			}
			// The daemon accepts that configuration as it is.
			cfg := embed.Config{Provider: tc.provider, URL: tc.embedURL, Model: tc.model}
			if err := cfg.Validate(); err != nil {
				t.Errorf("the daemon refuses the compose embed settings: %v", err)
			}
			emb, err := embed.New(cfg, nil)
			if err != nil || emb.Dimensions() != tc.knownDims {
				t.Errorf("embedder for %s: %v dims, %v (want %d)", tc.model, emb, err, tc.knownDims)
			}
			// The daemon does not wait for the model: saves go pending.
			if _, dep := s.DependsOn["embed"]; dep {
				t.Errorf("sage depends_on embed: the daemon must start while the model downloads")
			}
		})
	}
}

func TestComposeOllamaProfile(t *testing.T) {
	p := mustLoadCompose(t, map[string]string{"POSTGRES_PASSWORD": testPassword}, []string{"ollama"}, composeFile)
	o := mustService(t, p, "ollama")
	if !strings.HasPrefix(o.Image, "ollama/ollama") {
		t.Errorf("ollama image = %q", o.Image)
	}
	if !slices.Equal(o.Profiles, []string{"ollama"}) {
		t.Errorf("ollama profiles = %v, want [ollama]", o.Profiles)
	}
	if len(o.Ports) != 0 {
		t.Errorf("ollama publishes %+v; sage reaches it on the compose network", o.Ports)
	}
	mustNamedVolumeAt(t, p, o, "/root/.ollama")
}

// TestComposeEveryService checks rules that hold for every service, with
// every profile and the override enabled.
func TestComposeEveryService(t *testing.T) {
	p := mustLoadCompose(t, map[string]string{"POSTGRES_PASSWORD": testPassword}, []string{"*"}, composeFile, overrideFile)
	if len(p.Services) != 4 {
		t.Errorf("services = %v, want embed, pg, sage, ollama", p.ServiceNames())
	}
	for name, s := range p.Services {
		if s.Restart != types.RestartPolicyUnlessStopped {
			t.Errorf("%s: restart = %q, want unless-stopped", name, s.Restart)
		}
		for _, pt := range s.Ports {
			if pt.HostIP != "127.0.0.1" {
				t.Errorf("%s: port %+v is published beyond loopback", name, pt)
			}
		}
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeBind {
				t.Errorf("%s: bind mount %s: use named volumes", name, v.Source)
			}
		}
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestComposeIncludesShipped: the files docker-compose.yml includes (one
// per SAGE_EMBED_PROVIDER) exist and go into the daemon's release archive
// beside it, or compose could not load it there.
func TestComposeIncludesShipped(t *testing.T) {
	release := string(mustReadFile(t, "goreleaser.yaml"))
	for _, f := range []string{composeFile, embedFile, embedBuiltinFile} {
		mustReadFile(t, f)
		if !strings.Contains(release, "\n      - "+f+"\n") {
			t.Errorf("goreleaser.yaml does not put %s into the archives", f)
		}
	}
	include := regexp.MustCompile(`path: docker-compose\.embed-\$\{SAGE_EMBED_PROVIDER:-openai\}\.yml`)
	if !include.MatchString(string(mustReadFile(t, composeFile))) {
		t.Errorf("%s does not include the embed file by SAGE_EMBED_PROVIDER", composeFile)
	}
}
