package mcpserver

import (
	"context"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/shared/textcut"
)

// PromptRecall is the name of the recall prompt.
const PromptRecall = "recall"

func (h *handlers) addPrompts(s *mcp.Server) {
	s.AddPrompt(&mcp.Prompt{
		Name:        PromptRecall,
		Title:       "Recall from memory",
		Description: "Recall what Sage remembers about a topic and put it into the conversation.",
		Arguments: []*mcp.PromptArgument{
			{Name: "topic", Description: "The topic or question to recall memories about (at most 4096 bytes).", Required: true},
			{Name: "project", Description: "Only memories of this project (and the global ones); default: the X-Sage-Project header."},
		},
	}, h.recall)
}

func (h *handlers) recall(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
	ctx = withNamespace(ctx, req.Extra)
	topic := strings.TrimSpace(req.Params.Arguments["topic"])
	if topic == "" {
		topic = strings.TrimSpace(req.Params.Arguments["query"]) // the argument's other name
	}
	if topic == "" {
		return nil, invalid("topic", "is required")
	}
	var arg *string
	if p, ok := req.Params.Arguments["project"]; ok {
		arg = &p
	}
	project, err := argOrHeader(arg, req.Extra, HeaderProject)
	if err != nil {
		return nil, h.fail(ctx, PromptRecall, err, "")
	}
	q := sage.ContextQuery{Query: topic, Filter: sage.Filter{Project: project}}
	c, err := h.svc.Context(ctx, q)
	if err != nil {
		return nil, h.fail(ctx, PromptRecall, err, "")
	}
	block := textcut.Runes(c.Text, sage.DefaultMaxChars, "")
	var text string
	if block == "" {
		text = fmt.Sprintf("Sage has no memories about %q yet. Say so, and continue without them.", topic)
	} else {
		text = fmt.Sprintf("Here is what Sage remembers about %q from earlier sessions:\n\n%s\n\nUse what is relevant; say when it seems out of date.", topic, block)
	}
	return &mcp.GetPromptResult{
		Description: fmt.Sprintf("What Sage remembers about %q (%s)", textcut.Bytes(topic, 200, textcut.Ellipsis), countMemories(len(c.Items))),
		Messages:    []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: text}}},
	}, nil
}

// countMemories says "1 memory" or "N memories".
func countMemories(n int) string {
	if n == 1 {
		return "1 memory"
	}
	return fmt.Sprintf("%d memories", n)
}
