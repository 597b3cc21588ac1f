package proxy

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// JSON-RPC error codes used by the bridge. The -320xx codes are in the range
// JSON-RPC reserves for implementation-defined server errors.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeInternalError  = -32603
	// CodeUnavailable: the daemon could not be reached before the deadline.
	CodeUnavailable = -32000
	// CodeTimeout: the daemon did not answer before the deadline.
	CodeTimeout = -32001
	// CodeUnauthorized: the daemon rejected the token.
	CodeUnauthorized = -32002
	// CodeUpstream: the daemon answered with an HTTP error.
	CodeUpstream = -32003
	// CodeConnectionLost: the connection broke after the request was sent.
	CodeConnectionLost = -32004
	// CodeCancelled: the client cancelled the request before it was sent.
	CodeCancelled = -32800
)

// envelope is the part of a JSON-RPC message the bridge looks at. Everything
// else stays in the raw bytes, which are forwarded unchanged.
type envelope struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
	Result  json.RawMessage `json:"result"`
	Error   json.RawMessage `json:"error"`
}

type kind int

const (
	kindInvalid kind = iota
	kindRequest
	kindNotification
	kindResponse
)

func (e *envelope) kind() kind {
	switch {
	case e.Method != "" && hasID(e.ID):
		return kindRequest
	case e.Method != "":
		return kindNotification
	case hasID(e.ID) && (e.Result != nil || e.Error != nil):
		return kindResponse
	}
	return kindInvalid
}

func hasID(id json.RawMessage) bool {
	return len(id) > 0 && !bytes.Equal(id, nullJSON)
}

var nullJSON = []byte("null")

// validID reports whether raw is a JSON string or number, the id types
// JSON-RPC allows (null is handled separately).
func validID(raw json.RawMessage) bool {
	if len(raw) == 0 {
		return false
	}
	switch c := raw[0]; {
	case c == '"':
		return true
	case c == '-' || (c >= '0' && c <= '9'):
		return true
	}
	return false
}

// portableID reports whether id survives a decoder that reads numbers as
// float64 and integers as int64 (as the go-sdk does) byte for byte: strings,
// and integer literals of at most 15 digits without sign tricks, fraction or
// exponent. Other ids are replaced by a bridge id upstream and restored on
// the way back.
func portableID(id json.RawMessage) bool {
	if len(id) == 0 {
		return false
	}
	if id[0] == '"' {
		// A string with escapes might be re-encoded differently.
		return bytes.IndexByte(id[1:len(id)-1], '\\') < 0
	}
	s := id
	if s[0] == '-' {
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 15 || (s[0] == '0' && len(s) > 1) {
		return false
	}
	if len(id) == 2 && id[0] == '-' && id[1] == '0' {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// errorResponse builds a JSON-RPC error response with the given raw id (nil
// means null).
func errorResponse(id json.RawMessage, code int, msg string) []byte {
	if !hasID(id) {
		id = nullJSON
	}
	b := make([]byte, 0, 64+len(id)+len(msg))
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = append(b, id...)
	b = append(b, `,"error":{"code":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, `,"message":`...)
	m, _ := json.Marshal(msg)
	b = append(b, m...)
	b = append(b, "}}"...)
	return b
}

// resultResponse builds a JSON-RPC success response.
func resultResponse(id, result json.RawMessage) []byte {
	b := make([]byte, 0, 32+len(id)+len(result))
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = append(b, id...)
	b = append(b, `,"result":`...)
	b = append(b, result...)
	b = append(b, '}')
	return b
}

// withID returns msg (a request or response object) with its id replaced
// by id. The other members keep their bytes (no HTML escaping, no number
// re-encoding); only their order may change.
func withID(msg []byte, id json.RawMessage) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(msg, &m); err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(msg)+len(id)+16)
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = append(b, id...)
	for k, v := range m {
		if k == "id" || k == "jsonrpc" {
			continue
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		b = append(b, ',')
		b = append(b, kb...)
		b = append(b, ':')
		b = append(b, v...)
	}
	return append(b, '}'), nil
}

// oneLine makes msg a single line: pretty-printed JSON from the server is
// compacted (which never changes a value's bytes).
func oneLine(msg []byte) []byte {
	if bytes.IndexByte(msg, '\n') < 0 && bytes.IndexByte(msg, '\r') < 0 {
		return msg
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, msg); err != nil {
		return nil
	}
	return buf.Bytes()
}

// maxScannedID bounds the id an idScanner captures; a longer id is not
// reported.
const maxScannedID = 1024

// idScanner finds the top-level "id" member of a JSON object that arrives
// in pieces, keeping only that member's bytes: a line over the size limit is
// never buffered whole, yet its error answer carries its id. It is lenient
// (it does not validate the rest of the object) and gives up on anything
// that is not an object.
type idScanner struct {
	state  scanState
	depth  int  // nesting depth inside a skipped member value
	inStr  bool // inside a string of a skipped value
	esc    bool // after a backslash in a string
	key    []byte
	isID   bool // the member being read is "id"
	id     []byte
	result json.RawMessage
}

type scanState int

const (
	scanStart    scanState = iota // before the opening brace
	scanKey                       // expecting a member name or '}'
	scanKeyStr                    // inside a member name
	scanColon                     // expecting ':'
	scanValue                     // expecting a member value
	scanSkip                      // inside a skipped value
	scanIDString                  // capturing a string id
	scanIDNumber                  // capturing a number id
	scanComma                     // expecting ',' or '}'
	scanDone                      // finished (found or gave up)
)

// Done reports whether feeding more bytes can change ID.
func (s *idScanner) Done() bool { return s.state == scanDone }

// ID returns the id found (a JSON string or number) or nil.
func (s *idScanner) ID() json.RawMessage { return s.result }

// Feed feeds the next bytes of the object.
func (s *idScanner) Feed(p []byte) {
	for i := 0; i < len(p) && s.state != scanDone; i++ {
		if !s.step(p[i]) {
			i-- // the byte ended a number: look at it again
		}
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// step consumes c and reports whether it did; false means c must be
// stepped again in the new state.
func (s *idScanner) step(c byte) bool {
	switch s.state {
	case scanStart:
		s.expect(c, '{', scanKey)
	case scanKey:
		if s.expect(c, '"', scanKeyStr) { // '}' or junk: no id
			s.key = append(s.key[:0], c)
		}
	case scanKeyStr:
		if len(s.key) < 64 {
			s.key = append(s.key, c)
		}
		if s.stringEnds(c) {
			var k string
			s.isID = json.Unmarshal(s.key, &k) == nil && k == "id"
			s.state = scanColon
		}
	case scanColon:
		s.expect(c, ':', scanValue)
	case scanValue:
		switch {
		case isSpace(c):
		case s.isID && c == '"':
			s.state, s.id = scanIDString, append(s.id[:0], c)
		case s.isID && (c == '-' || (c >= '0' && c <= '9')):
			s.state, s.id = scanIDNumber, append(s.id[:0], c)
		case s.isID: // null, an object…: not a usable id
			s.state = scanDone
		case c == '"':
			s.state, s.inStr, s.depth = scanSkip, true, 0
		case c == '{' || c == '[':
			s.state, s.depth = scanSkip, 1
		default: // a literal or a number: skipped up to the delimiter
			s.state, s.depth = scanSkip, 0
		}
	case scanSkip:
		switch {
		case s.inStr:
			if s.stringEnds(c) {
				s.inStr = false
				if s.depth == 0 {
					s.state = scanComma
				}
			}
		case c == '"':
			s.inStr = true
		case c == '{' || c == '[':
			s.depth++
		case c == '}' || c == ']':
			if s.depth == 0 {
				s.state = scanComma
				return false
			}
			s.depth--
			if s.depth == 0 {
				s.state = scanComma
			}
		case s.depth == 0 && (c == ',' || isSpace(c)):
			s.state = scanComma
			return false
		}
	case scanIDString:
		if len(s.id) >= maxScannedID {
			s.state = scanDone
			return true
		}
		s.id = append(s.id, c)
		if s.stringEnds(c) {
			s.finish()
		}
	case scanIDNumber:
		if c == '+' || c == '-' || c == '.' || c == 'e' || c == 'E' || (c >= '0' && c <= '9') {
			if len(s.id) >= maxScannedID {
				s.state = scanDone
				return true
			}
			s.id = append(s.id, c)
			return true
		}
		s.finish()
	case scanComma:
		s.expect(c, ',', scanKey) // '}' ends the object; anything else is junk
	}
	return true
}

// expect skips white space and moves to next on want, reporting whether it
// did; on anything else the scan gives up.
func (s *idScanner) expect(c, want byte, next scanState) bool {
	switch {
	case isSpace(c):
	case c == want:
		s.state = next
		return true
	default:
		s.state = scanDone
	}
	return false
}

// stringEnds follows c inside a JSON string, minding backslash escapes, and
// reports whether c is the closing quote.
func (s *idScanner) stringEnds(c byte) bool {
	switch {
	case s.esc:
		s.esc = false
	case c == '\\':
		s.esc = true
	case c == '"':
		return true
	}
	return false
}

// finish ends the scan with the captured id if it is valid JSON.
func (s *idScanner) finish() {
	s.state = scanDone
	if json.Valid(s.id) && validID(s.id) {
		s.result = json.RawMessage(bytes.Clone(s.id))
	}
}
