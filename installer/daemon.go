package installer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"strings"

	"github.com/sage-mcp/sage/shared/api"
	"github.com/sage-mcp/sage/shared/config"
)

// TokenHelp says where a token comes from and how to give it to install.
const TokenHelp = "Get the daemon's admin token with `docker compose exec sage sage-daemon token show` " +
	"(in the directory of Sage's docker-compose.yml) or `sage-daemon token show` (a native daemon; " +
	"same SAGE_DATA_DIR), or issue one with `sage-daemon token issue --name NAME`; then pass it with " +
	"--token TOKEN, --token-file FILE (a file holding it, such as the daemon's token file) or " +
	"--env-file FILE (a .env file with SAGE_TOKEN=…)."

// TokenState is what the daemon said about a token.
type TokenState int

// The outcomes of CheckToken.
const (
	// TokenUnverified: the daemon could not be reached, or its answer says
	// nothing about the token (5xx, 429, not a Sage daemon).
	TokenUnverified TokenState = iota
	// TokenAccepted: an authenticated request succeeded.
	TokenAccepted
	// TokenNotNeeded: there is no token and the daemon answered anyway
	// (SAGE_AUTH=off).
	TokenNotNeeded
	// TokenRejected: 401, the token is missing, invalid, expired or
	// revoked.
	TokenRejected
	// TokenForbidden: 403, the token lacks the memories scope.
	TokenForbidden
)

// CheckToken asks the daemon at url (its base URL or MCP endpoint) whether
// it accepts token, with an authenticated GET /api/v1/status. The error
// explains any state but TokenAccepted and TokenNotNeeded; the token never
// appears in it.
func CheckToken(ctx context.Context, hc *http.Client, url, token string) (TokenState, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	base := config.BaseURL(url)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+api.Version+"/status", nil)
	if err != nil {
		return TokenUnverified, fmt.Errorf("check token: %w", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *neturl.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is said once, below
		}
		return TokenUnverified, fmt.Errorf("cannot reach the daemon at %s: %w", base, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	msg := resp.Status
	var e api.ErrorBody
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		msg += ": " + e.Error.Message
	}
	switch {
	case resp.StatusCode == http.StatusOK && token == "":
		return TokenNotNeeded, nil
	case resp.StatusCode == http.StatusOK:
		return TokenAccepted, nil
	case resp.StatusCode == http.StatusUnauthorized && token == "":
		return TokenRejected, fmt.Errorf("the daemon at %s needs a token (%s)", base, msg)
	case resp.StatusCode == http.StatusUnauthorized:
		return TokenRejected, fmt.Errorf("the daemon at %s rejected the token (%s)", base, msg)
	case resp.StatusCode == http.StatusForbidden:
		return TokenForbidden, fmt.Errorf("the daemon at %s accepted the token but it may not use memories (%s)", base, msg)
	}
	return TokenUnverified, fmt.Errorf("could not check the token: %s%s/status answered %s", base, api.Version, strings.TrimSpace(msg))
}
