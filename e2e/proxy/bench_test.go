package proxy_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"net/http"

	"github.com/sage-mcp/sage/bridge/proxy"
)

// BenchmarkForward measures one tools/call round trip through an in-process
// bridge (pipes on both sides) to an in-process go-sdk server.
func BenchmarkForward(b *testing.B) {
	srv := mcp.NewServer(&mcp.Implementation{Name: "bench", Version: "1"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "echo"}, func(ctx context.Context, req *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: in.Text}}}, nil, nil
	})
	ts := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil))
	defer ts.Close()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	go proxy.Serve(context.Background(), inR, outW, proxy.Options{URL: ts.URL})
	defer inW.Close()
	rd := bufio.NewReader(outR)
	fmt.Fprintf(inW, `{"jsonrpc":"2.0","id":0,"method":"initialize","params":%s}`+"\n", initParams)
	if _, err := rd.ReadBytes('\n'); err != nil {
		b.Fatal(err)
	}
	fmt.Fprintln(inW, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fmt.Fprintf(inW, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}`+"\n", i+1)
		if _, err := rd.ReadBytes('\n'); err != nil {
			b.Fatal(err)
		}
	}
}
