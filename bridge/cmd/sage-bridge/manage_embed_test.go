package main

import (
	"context"
	"strings"
	"testing"

	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/shared/api"
	"github.com/sage-mcp/sage/testkit/daemontest"
)

// TestManageStatusEmbedderDown: with the daemon's embedding service not
// answering, a save still succeeds and `sage_manage status` says the
// embedder's state and how many memories wait for a vector.
func TestManageStatusEmbedderDown(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{Env: []string{
		"SAGE_EMBED_PROVIDER=openai",
		"SAGE_EMBED_URL=http://127.0.0.1:1/v1", // nothing listens on port 1
		"SAGE_EMBED_MODEL=intfloat/multilingual-e5-small",
		"SAGE_EMBED_MAX_RETRIES=-1",
	}})
	manageSetEnv(t, d.MCPURL, d.Token)
	c := client.New(d.URL, d.Token)
	if _, err := c.SaveTurns(context.Background(), []api.Turn{
		{IdempotencyKey: "e:1", SessionID: "e", Project: "sage", UserPrompt: "login bug?", AssistantResponse: "The auth regression."},
	}); err != nil {
		t.Fatalf("save while the embedder is down: %v", err)
	}
	r := manageMustRun(t, "", "status")
	for _, want := range []string{"openai, model intfloat/multilingual-e5-small@384", "downloading, 1 pending, keyword search only", "connection refused"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, r.stdout)
		}
	}
}
