package fakeapi

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// sseEvent is one server-sent event.
type sseEvent struct {
	Event string
	Data  map[string]any
}

func MustPost(t *testing.T, url, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func MustReadSSE(t *testing.T, r io.Reader) []sseEvent {
	t.Helper()
	var out []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "event: "):
			cur.Event = strings.TrimPrefix(l, "event: ")
		case strings.HasPrefix(l, "data: "):
			if err := json.Unmarshal([]byte(strings.TrimPrefix(l, "data: ")), &cur.Data); err != nil {
				t.Fatalf("data %q: %v", l, err)
			}
		case l == "":
			out = append(out, cur)
			cur = sseEvent{}
		}
	}
	return out
}

const userBody = `{"model":"m","max_tokens":10,"stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"<system-reminder>ctx</system-reminder>"},{"type":"text","text":"Hello there"}]},{"role":"system","content":"late"}]}`

func TestStreaming(t *testing.T) {
	cases := []struct {
		name       string
		reply      Reply
		wantEvents []string
		wantText   string
		wantJSON   string
		wantStop   string
	}{
		{"text", Reply{Text: "A reply longer than one sixteen-byte chunk."},
			[]string{"message_start", "content_block_start", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"},
			"A reply longer than one sixteen-byte chunk.", "", "end_turn"},
		{"tool use", Reply{Text: "Running.", ToolName: "Bash", ToolInput: json.RawMessage(`{"command":"echo hi there"}`)},
			[]string{"message_start", "content_block_start", "content_block_delta", "content_block_stop", "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"},
			"Running.", `{"command":"echo hi there"}`, "tool_use"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got *Request
			s := New(func(r *Request) Reply { got = r; return tc.reply })
			defer s.Close()
			resp := MustPost(t, s.URL+"/v1/messages", userBody)
			if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
				t.Fatalf("content type %q", ct)
			}
			evs := MustReadSSE(t, resp.Body)
			var names []string
			var text, js, stop string
			for _, e := range evs {
				names = append(names, e.Event)
				if e.Data["type"] != e.Event {
					t.Errorf("event %s has type %v", e.Event, e.Data["type"])
				}
				if d, ok := e.Data["delta"].(map[string]any); ok {
					switch d["type"] {
					case "text_delta":
						text += d["text"].(string)
					case "input_json_delta":
						js += d["partial_json"].(string)
					}
					if s, ok := d["stop_reason"].(string); ok {
						stop = s
					}
				}
			}
			if strings.Join(names, ",") != strings.Join(tc.wantEvents, ",") {
				t.Errorf("events %v, want %v", names, tc.wantEvents)
			}
			if text != tc.wantText || js != tc.wantJSON || stop != tc.wantStop {
				t.Errorf("text %q json %q stop %q", text, js, stop)
			}
			if got == nil || got.Messages.Prompt() != "Hello there" || got.Messages.LastUser().Role != "user" {
				t.Fatalf("responder saw %+v", got)
			}
			if reqs := s.MessagesRequests(); len(reqs) != 1 || string(reqs[0].Body) != userBody {
				t.Errorf("kept requests %+v", reqs)
			}
		})
	}
}

func TestNonStreamingAndOtherEndpoints(t *testing.T) {
	s := New(Answers(map[string]string{"Hello there": "General Kenobi.", "Second": "Two."}))
	defer s.Close()
	resp := MustPost(t, s.URL+"/v1/messages", strings.Replace(userBody, `"stream":true`, `"stream":false`, 1))
	var m struct {
		Content []struct {
			Type, Text string
		}
		StopReason string `json:"stop_reason"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	if len(m.Content) != 1 || m.Content[0].Text != "General Kenobi." || m.StopReason != "end_turn" {
		t.Errorf("message %+v", m)
	}
	// Queued prompts joined into one get their answers joined.
	resp = MustPost(t, s.URL+"/v1/messages", `{"messages":[{"role":"user","content":"Hello there\nSecond"}]}`)
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || m.Content[0].Text != "General Kenobi. Two." {
		t.Errorf("joined prompts: %+v %v", m, err)
	}
	resp = MustPost(t, s.URL+"/v1/messages/count_tokens", userBody)
	var ct struct {
		InputTokens int `json:"input_tokens"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ct); err != nil || ct.InputTokens <= 0 {
		t.Errorf("count_tokens: %+v %v", ct, err)
	}
	head, err := http.Head(s.URL + "/")
	if err != nil || head.StatusCode != http.StatusOK {
		t.Fatalf("HEAD /: %v %v", head, err)
	}
	head.Body.Close()
	if resp := MustPost(t, s.URL+"/v1/messages", `not json`); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad body: %d", resp.StatusCode)
	}
	if n := len(s.Requests()); n != 5 {
		t.Errorf("%d requests kept, want 5", n)
	}
}

func TestToolResultAndWait(t *testing.T) {
	release := make(chan struct{})
	s := New(func(r *Request) Reply {
		if res, ok := r.Messages.ToolResult(); ok {
			tu, _ := r.Messages.LastToolUse()
			return Reply{Text: tu.Name + " said " + res}
		}
		return Reply{Text: "late", Wait: release}
	})
	defer s.Close()
	done := make(chan string, 1)
	go func() {
		resp, err := http.Post(s.URL+"/v1/messages", "application/json", strings.NewReader(`{"messages":[{"role":"user","content":"wait"}]}`))
		if err != nil {
			done <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- string(b)
	}()
	if !s.WaitFor(10*time.Second, func(rs []*Request) bool { return len(rs) == 1 }) {
		t.Fatal("request not recorded")
	}
	select {
	case b := <-done:
		t.Fatalf("answered before release: %s", b)
	default:
	}
	close(release)
	if b := <-done; !strings.Contains(b, "late") {
		t.Fatalf("after release: %s", b)
	}
	resp := MustPost(t, s.URL+"/v1/messages", `{"messages":[{"role":"user","content":"go"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"Bash","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"hi"}]}]}]}`)
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), "Bash said hi") {
		t.Fatalf("tool result reply: %s", b)
	}
}
