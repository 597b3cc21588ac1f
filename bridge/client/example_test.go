package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/shared/api"
)

// fakeDaemon plays the daemon's REST API for the examples: GET
// /api/v1/search answers one memory to the token "sage_example", and
// everything else gets 401.
func fakeDaemon() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer sage_example" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(api.ErrorBody{Error: api.ErrorDetail{Code: "unauthorized", Message: "invalid token"}})
			return
		}
		if r.URL.Path != "/api/v1/search" {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(api.SearchResponse{Results: []api.Memory{
			{ID: 7, Kind: "fact", Project: r.URL.Query().Get("project"), Text: "The outbox is one fsynced file per turn."},
		}})
	}))
}

func ExampleClient_Search() {
	daemon := fakeDaemon()
	defer daemon.Close()

	c := client.New(daemon.URL, "sage_example") // the base URL, without /api/v1
	ms, err := c.Search(context.Background(), client.SearchParams{Query: "outbox format", Project: "sage", Limit: 5})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range ms {
		fmt.Printf("#%d %s [%s]: %s\n", m.ID, m.Kind, m.Project, m.Text)
	}
	// Output:
	// #7 fact [sage]: The outbox is one fsynced file per turn.
}

func ExampleError() {
	daemon := fakeDaemon()
	defer daemon.Close()

	_, err := client.New(daemon.URL, "wrong").Search(context.Background(), client.SearchParams{Query: "x"})
	fmt.Println(errors.Is(err, client.ErrUnauthorized))
	var e *client.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, e.Code, e.Temporary())
	}
	// Output:
	// true
	// 401 unauthorized false
}

func ExampleErrUnreachable() {
	daemon := fakeDaemon()
	daemon.Close() // nothing listens any more

	_, err := client.New(daemon.URL, "sage_example").Status(context.Background())
	fmt.Println(errors.Is(err, client.ErrUnreachable))
	// Output:
	// true
}
