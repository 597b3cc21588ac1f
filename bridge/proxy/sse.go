package proxy

// Reading the daemon's text/event-stream responses.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

func drain(r io.Reader) { io.Copy(io.Discard, io.LimitReader(r, 64<<10)) }

// drainStream reads what is left of a response stream (at most 1 MiB, for
// at most 2 s) and closes it.
func drainStream(body io.ReadCloser) {
	t := time.AfterFunc(2*time.Second, func() { body.Close() })
	io.Copy(io.Discard, io.LimitReader(body, 1<<20))
	t.Stop()
	body.Close()
}

// sseReaders recycles the buffered readers of response streams: one per
// call would be the bridge's largest allocation.
var sseReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 32<<10) }}

// readSSE parses a text/event-stream and calls fn with each event's data
// until fn returns true or the stream ends.
func readSSE(r io.Reader, max int, fn func(data []byte) bool) error {
	br := sseReaders.Get().(*bufio.Reader)
	br.Reset(r)
	defer func() {
		br.Reset(nil)
		sseReaders.Put(br)
	}()
	var data []byte
	var lineBuf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			lineBuf = append(lineBuf, chunk...)
			if len(lineBuf) > max {
				return fmt.Errorf("event larger than %d bytes", max)
			}
			continue
		}
		ln := chunk
		if lineBuf != nil {
			lineBuf = append(lineBuf, chunk...)
			ln, lineBuf = lineBuf, nil
		}
		ln = bytes.TrimRight(ln, "\r\n")
		switch {
		case len(ln) == 0:
			if len(data) > 0 {
				if fn(data) {
					return nil
				}
				data = nil
			}
		case ln[0] == ':':
		case bytes.HasPrefix(ln, []byte("data:")):
			v := ln[5:]
			if len(v) > 0 && v[0] == ' ' {
				v = v[1:]
			}
			if data != nil {
				data = append(data, '\n')
			}
			if len(data)+len(v) > max {
				return fmt.Errorf("event larger than %d bytes", max)
			}
			data = append(data, v...)
			if data == nil {
				data = []byte{}
			}
		}
		if err != nil {
			if len(data) > 0 && errors.Is(err, io.EOF) {
				if fn(data) {
					return nil
				}
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}
