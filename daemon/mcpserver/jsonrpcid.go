package mcpserver

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
)

// keepIDs keeps JSON-RPC ids exact over direct HTTP. The go-sdk decodes a
// numeric id through float64 or int64, so 1.5 would come back as 1 and
// 9007199254740993123 rounded, and re-encodes strings (an escaped "\u0041"
// comes back as "A"). Like the bridge ("Bytes unchanged" in
// docs/ARCHITECTURE.md), readOnce replaces every id that would not
// survive (see portableID) by a string that carries its original bytes,
// hex encoded, in requests and in notifications/cancelled (rewrite), and
// puts the original bytes back in whatever the handler writes, JSON or SSE
// (idWriter). The mapping needs no state, so it holds across the requests
// of a session.
type keepIDs struct {
	prefix []byte // `"sage-id-<random>:`, the start of a substituted id
}

func newKeepIDs() *keepIDs {
	var nonce [6]byte
	_, _ = rand.Read(nonce[:])
	return &keepIDs{prefix: []byte(`"sage-id-` + hex.EncodeToString(nonce[:]) + ":")}
}

// rewrite substitutes the non-portable ids of a message or batch.
func (k *keepIDs) rewrite(body []byte) ([]byte, bool) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var batch []json.RawMessage
		if json.Unmarshal(body, &batch) != nil {
			return body, false
		}
		changed := false
		for i, m := range batch {
			if out, ok := k.rewriteOne(m); ok {
				batch[i], changed = out, true
			}
		}
		if !changed {
			return body, false
		}
		out, err := json.Marshal(batch)
		return out, err == nil
	}
	return k.rewriteOne(body)
}

func (k *keepIDs) rewriteOne(msg []byte) ([]byte, bool) {
	var env struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params struct {
			RequestID json.RawMessage `json:"requestId"`
		} `json:"params"`
	}
	if json.Unmarshal(msg, &env) != nil {
		return msg, false
	}
	idBad := hasID(env.ID) && !portableID(env.ID)
	cancelBad := env.Method == "notifications/cancelled" && hasID(env.Params.RequestID) && !portableID(env.Params.RequestID)
	if !idBad && !cancelBad {
		return msg, false
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(msg, &fields) != nil {
		return msg, false
	}
	if idBad {
		fields["id"] = k.substitute(env.ID)
	}
	if cancelBad {
		var params map[string]json.RawMessage
		if json.Unmarshal(fields["params"], &params) == nil {
			params["requestId"] = k.substitute(env.Params.RequestID)
			if p, err := json.Marshal(params); err == nil {
				fields["params"] = p
			}
		}
	}
	out, err := json.Marshal(fields)
	if err != nil {
		return msg, false
	}
	return out, true
}

// substitute returns the string id standing for id.
func (k *keepIDs) substitute(id json.RawMessage) json.RawMessage {
	out := make([]byte, 0, len(k.prefix)+2*len(id)+1)
	out = append(out, k.prefix...)
	out = hex.AppendEncode(out, bytes.TrimSpace(id))
	return append(out, '"')
}

// idWriter puts the original ids back into everything written. The go-sdk
// writes each JSON response and each SSE event in one Write, so a
// substituted id never straddles two.
type idWriter struct {
	http.ResponseWriter
	prefix []byte
}

func (w *idWriter) Write(p []byte) (int, error) {
	if !bytes.Contains(p, w.prefix) {
		return w.ResponseWriter.Write(p)
	}
	if _, err := w.ResponseWriter.Write(restoreIDs(p, w.prefix)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Unwrap lets http.ResponseController reach the connection (Flush).
func (w *idWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// restoreIDs replaces every substituted id in p by its original bytes.
func restoreIDs(p, prefix []byte) []byte {
	var out []byte
	for {
		i := bytes.Index(p, prefix)
		if i < 0 {
			return append(out, p...)
		}
		rest := p[i+len(prefix):]
		end := bytes.IndexByte(rest, '"')
		if end < 0 {
			return append(out, p...)
		}
		orig := make([]byte, hex.DecodedLen(end))
		if _, err := hex.Decode(orig, rest[:end]); err != nil || end%2 != 0 {
			out = append(out, p[:i+len(prefix)]...)
			p = rest
			continue
		}
		out = append(append(out, p[:i]...), orig...)
		p = rest[end+1:]
	}
}

// hasID reports whether a raw id is present and not null.
func hasID(id json.RawMessage) bool {
	id = bytes.TrimSpace(id)
	return len(id) > 0 && !bytes.Equal(id, []byte("null"))
}

// portableID reports whether id survives the go-sdk's decoding byte for
// byte: strings without escapes, and integer literals of at most 15 digits
// without a leading zero, fraction, exponent or "-0" (as in the bridge).
func portableID(id json.RawMessage) bool {
	id = bytes.TrimSpace(id)
	if len(id) == 0 {
		return false
	}
	if id[0] == '"' {
		return len(id) >= 2 && bytes.IndexByte(id[1:len(id)-1], '\\') < 0
	}
	if id[0] != '-' && (id[0] < '0' || id[0] > '9') {
		return true // not a number: the go-sdk rejects it as it is
	}
	s := id
	if s[0] == '-' {
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 15 || (s[0] == '0' && len(s) > 1) || bytes.Equal(id, []byte("-0")) {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
