// Package health checks that a sage-daemon is up: GET <base>/healthz
// answers 200. The bridge's service and the installer's status use it.
package health

import (
	"context"
	"fmt"
	"net/http"
)

// Path is the daemon's health endpoint, under its base URL.
const Path = "/healthz"

// Check asks GET baseURL/healthz with client and returns nil on 200; the
// error names the URL and the status or the transport failure. Its time is
// bounded by ctx and client.
func Check(ctx context.Context, client *http.Client, baseURL string) error {
	url := baseURL + Path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health check: %s answered %s", url, resp.Status)
	}
	return nil
}
