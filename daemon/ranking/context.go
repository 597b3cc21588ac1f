package ranking

import (
	"strings"
	"unicode/utf8"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/shared/textcut"
)

// ContextHeader starts every non-empty context block.
const ContextHeader = "Relevant memories (from Sage):\n"

// minLineRunes is the shortest line worth adding to a context block.
const minLineRunes = 40

// RenderContext writes items as lines "- [date · project · session] text"
// within maxChars runes, truncating the text of a line that does not fit,
// and returns the block and the items it holds.
func RenderContext(items []sage.Result, maxChars int) (string, []sage.Result) {
	var b strings.Builder
	used := 0
	var kept []sage.Result
	header := utf8.RuneCountInString(ContextHeader)
	for _, it := range items {
		if len(kept) == 0 {
			if header+minLineRunes > maxChars {
				break
			}
			b.WriteString(ContextHeader)
			used = header
		}
		label := it.OccurredAt.UTC().Format("2006-01-02")
		if it.Project != "" {
			label += " · " + it.Project
		}
		if it.SessionID != "" {
			label += " · " + textcut.Runes(it.SessionID, 12, textcut.Ellipsis)
		}
		if it.Kind != sage.KindTurn {
			label += " · " + string(it.Kind)
		}
		line := "- [" + label + "] " + strings.Join(strings.Fields(it.Text), " ")
		room := maxChars - used - 1 // the newline
		if room < minLineRunes {
			break
		}
		line = textcut.Runes(line, room, textcut.Ellipsis)
		b.WriteString(line)
		b.WriteString("\n")
		used += utf8.RuneCountInString(line) + 1
		kept = append(kept, it)
	}
	if len(kept) == 0 {
		return "", []sage.Result{}
	}
	return b.String(), kept
}
