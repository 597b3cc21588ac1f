package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The SDK validates tool arguments against the input schema before a
// handler runs, and reports a failure as an IsError result in the words of
// the JSON schema validator ("validating \"arguments\": validating root:
// validating /properties/limit: maximum: 101/1 is greater than
// 100.000000"). friendlyArguments rewrites those into the style of every
// other tool error: "invalid limit: must be an integer from 1 to 100".

const sdkArgumentsPrefix = `validating "arguments": `

var (
	reProperty   = regexp.MustCompile(`/properties/([^/:\s]+)`)
	reMissing    = regexp.MustCompile(`required: missing properties: \[(.*?)\]`)
	reAdditional = regexp.MustCompile(`unexpected additional properties \[(.*?)\]`)
	reQuoted     = regexp.MustCompile(`"([^"]*)"`)
)

// The input schemas the tools advertise leave out additionalProperties
// (to save the characters in every model request, see addTools), so the
// SDK lets unknown arguments through; friendlyArguments refuses them
// itself, before the tool runs.

// friendlyArguments is a receiving middleware for tools/call.
func (h *handlers) friendlyArguments(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		if call, ok := req.(*mcp.CallToolRequest); ok && method == "tools/call" && call.Params != nil {
			if msg := h.unknownArguments(call.Params.Name, call.Params.Arguments); msg != "" {
				return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: msg}}}, nil
			}
		}
		res, err := next(ctx, method, req)
		if err != nil || method != "tools/call" {
			return res, err
		}
		ctr, ok := res.(*mcp.CallToolResult)
		call, ok2 := req.(*mcp.CallToolRequest)
		if !ok || !ok2 || !ctr.IsError || len(ctr.Content) != 1 || call.Params == nil {
			return res, err
		}
		tc, ok := ctr.Content[0].(*mcp.TextContent)
		if !ok || !strings.HasPrefix(tc.Text, sdkArgumentsPrefix) {
			return res, err
		}
		tc.Text = h.argumentsMessage(call.Params.Name, tc.Text)
		return res, err
	}
}

// argumentsMessage turns an SDK argument validation message for tool into
// "invalid <field>: <what is expected>".
func (h *handlers) argumentsMessage(tool, msg string) string {
	schema := h.inputs[tool]
	if schema == nil {
		return msg
	}
	if m := reMissing.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("invalid %s: is required", strings.Join(unquote(m[1]), ", "))
	}
	if m := reAdditional.FindStringSubmatch(msg); m != nil {
		return unknownMessage(tool, schema, unquote(m[1]))
	}
	if m := reProperty.FindStringSubmatch(msg); m != nil {
		if p := schema.Properties[m[1]]; p != nil {
			return fmt.Sprintf("invalid %s: %s", m[1], expect(p))
		}
	}
	return "invalid arguments: " + strings.TrimPrefix(msg, sdkArgumentsPrefix)
}

// unknownArguments returns the message refusing the arguments of a call
// of tool that its input schema does not know, or "" when there are none
// (or the arguments are no JSON object: the SDK reports that).
func (h *handlers) unknownArguments(tool string, args json.RawMessage) string {
	schema := h.inputs[tool]
	if schema == nil || len(args) == 0 {
		return ""
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(args, &m) != nil {
		return ""
	}
	var unknown []string
	for name := range m {
		if _, ok := schema.Properties[name]; !ok {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) == 0 {
		return ""
	}
	slices.Sort(unknown)
	return unknownMessage(tool, schema, unknown)
}

// unknownMessage says which arguments tool does not take, and which it does.
func unknownMessage(tool string, schema *jsonschema.Schema, unknown []string) string {
	names := slices.Sorted(maps.Keys(schema.Properties))
	takes := strings.Join(names, ", ")
	if len(names) == 0 {
		takes = "no arguments"
	}
	return fmt.Sprintf("unknown argument %s: %s takes %s", strings.Join(unknown, ", "), tool, takes)
}

// unquote returns the quoted strings of a Go-quoted list.
func unquote(list string) []string {
	var out []string
	for _, m := range reQuoted.FindAllStringSubmatch(list, -1) {
		out = append(out, m[1])
	}
	if len(out) == 0 {
		out = []string{list}
	}
	return out
}

// expect says what a property accepts.
func expect(p *jsonschema.Schema) string {
	if len(p.Enum) > 0 {
		vs := make([]string, len(p.Enum))
		for i, v := range p.Enum {
			vs[i] = fmt.Sprint(v)
		}
		return "must be one of " + strings.Join(vs, ", ")
	}
	typ := p.Type
	for _, t := range p.Types {
		if t != "null" {
			typ = t
		}
	}
	switch typ {
	case "integer":
		if p.Minimum != nil && p.Maximum != nil {
			return fmt.Sprintf("must be an integer from %v to %v", *p.Minimum, *p.Maximum)
		}
		return "must be an integer"
	case "array":
		s := "must be a list"
		if p.Items != nil && p.Items.Type != "" {
			s += " of " + p.Items.Type + "s"
		}
		if p.MaxItems != nil {
			s += fmt.Sprintf(" of at most %d items", *p.MaxItems)
		}
		return s
	case "object":
		return "must be a JSON object"
	case "":
		return "has the wrong type"
	}
	return "must be a " + typ
}
