package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/bridge/outbox"
	"github.com/sage-mcp/sage/shared/api"
)

// A turn is durable in the outbox before any network call; a drain sends
// it and removes it only once the daemon acknowledged it.
func Example() {
	dir, err := os.MkdirTemp("", "outbox-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	ob, err := outbox.Open(dir, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	turn := api.Turn{IdempotencyKey: "session-1:p1", SessionID: "session-1", Project: "sage",
		UserPrompt: "Where do turns wait?", AssistantResponse: "In the outbox."}
	if err := ob.Append(turn); err != nil {
		fmt.Println(err)
		return
	}

	// The daemon is down: the drain stops and keeps the entry.
	down := outbox.SenderFunc(func(context.Context, []api.Turn) error {
		return fmt.Errorf("%w at http://127.0.0.1:17800: connection refused", client.ErrUnreachable)
	})
	res, err := ob.Drain(context.Background(), down)
	fmt.Println(res.Sent, res.Remaining, errors.Is(err, client.ErrUnreachable))

	// The daemon is back: the entry is sent once and removed.
	up := outbox.SenderFunc(func(_ context.Context, turns []api.Turn) error {
		for _, t := range turns {
			fmt.Println("sent", t.IdempotencyKey)
		}
		return nil
	})
	res, err = ob.Drain(context.Background(), up)
	fmt.Println(res.Sent, res.Remaining, err)
	// Output:
	// 0 1 true
	// sent session-1:p1
	// 1 0 <nil>
}
