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
)

const (
	composeFile  = "docker-compose.yml"
	overrideFile = "docker-compose.pg-port.yml"
	testPassword = "0123456789abcdef-test-only"
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

	if got, want := p.ServiceNames(), []string{"pg", "sage"}; !slices.Equal(sorted(got), want) {
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
	mustCopyFiles(t, dir, composeFile)
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
	if len(p.Services) != 3 {
		t.Errorf("services = %v, want pg, sage, ollama", p.ServiceNames())
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
