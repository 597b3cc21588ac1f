package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/sage-mcp/sage/shared/api"
)

// Settings returns the daemon's recall settings for project (saved in the
// console; Stored is false while none were).
func (c *Client) Settings(ctx context.Context, project string) (api.Settings, error) {
	q := url.Values{}
	setStr(q, "project", project)
	var out api.Settings
	if err := c.call(ctx, http.MethodGet, "/settings", q, nil, &out); err != nil {
		return out, fmt.Errorf("settings: %w", err)
	}
	return out, nil
}
