package deploy_test

import (
	"strings"
	"testing"

	"github.com/sage-mcp/sage/daemon/config"
)

// configTable renders config.EnvVars() as the README's markdown table.
func configTable() string {
	var b strings.Builder
	b.WriteString("| variable | default | what |\n| --- | --- | --- |\n")
	for _, v := range config.EnvVars() {
		def := ""
		if v.Default != "" {
			def = "`" + v.Default + "`"
		}
		desc := strings.NewReplacer("|", `\|`, "*", `\*`).Replace(v.Description)
		b.WriteString("| `" + v.Name + "` | " + def + " | " + desc + " |\n")
	}
	return b.String()
}

// mustReadmeSection returns the text between <!-- section:NAME --> and
// <!-- /section:NAME --> in README.md.
func mustReadmeSection(t *testing.T, name string) string {
	t.Helper()
	readme := string(mustReadFile(t, "README.md"))
	open, end := "<!-- section:"+name+" -->", "<!-- /section:"+name+" -->"
	i, j := strings.Index(readme, open), strings.Index(readme, end)
	if i < 0 || j < i {
		t.Fatalf("README.md: no section %s", name)
	}
	return readme[i+len(open) : j]
}

// TestReadmeConfigTable: the README's configuration table is exactly the
// variables the daemon reads (config.EnvVars), with their defaults.
func TestReadmeConfigTable(t *testing.T) {
	want := configTable()
	if !strings.Contains(mustReadmeSection(t, "config"), want) {
		t.Errorf("README.md section config does not hold the table of config.EnvVars(); replace it with:\n\n%s", want)
	}
}

// TestReadmeRun: the run section's commands match the deployment files.
func TestReadmeRun(t *testing.T) {
	run := mustReadmeSection(t, "run")
	for _, want := range []string{
		"cp .env.example .env",
		"POSTGRES_PASSWORD",
		"docker compose up -d",
		"docker compose cp sage:/data/token",
		"docker compose down",
		"docker compose down -v",
		"docker-compose.pg-port.yml",
		"--profile ollama",
	} {
		if !strings.Contains(run, want) {
			t.Errorf("README.md section run does not mention %q", want)
		}
	}
}
