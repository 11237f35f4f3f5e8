package contract

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Platform is what the Client sends as its login platform.
const Platform = "fieldsync-go"

// LoginRequest is the body of POST /v1/auth/login.
type LoginRequest struct {
	Username   string `json:"username"`
	Password   string `json:"password"`
	DeviceID   string `json:"device_id"`
	DeviceName string `json:"device_name,omitempty"`
	Platform   string `json:"platform,omitempty"`
}

// RefreshRequest is the body of POST /v1/auth/refresh.
type RefreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// UserSummary is the signed-in user, as login and refresh return it.
type UserSummary struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Role     string `json:"role"`
	UnitID   string `json:"unit_id"`
}

// TokenResponse answers login and refresh.
type TokenResponse struct {
	AccessToken  string      `json:"access_token"`
	RefreshToken string      `json:"refresh_token"`
	TokenType    string      `json:"token_type"`
	ExpiresIn    int         `json:"expires_in"`
	User         UserSummary `json:"user"`
}

// Login signs in on this device and keeps the tokens. Signing in again
// ends the device's previous session on the server.
func (c *Client) Login(ctx context.Context, username, password string) error {
	in := LoginRequest{Username: username, Password: password, DeviceID: c.deviceID, DeviceName: c.devName, Platform: Platform}
	body, err := marshalBody(in)
	if err != nil {
		return err
	}
	// Repeating a login whose answer was lost only replaces the session.
	res, err := c.call(ctx, request{method: http.MethodPost, path: "/v1/auth/login", safe: true, body: body})
	if err != nil {
		return fmt.Errorf("fieldsync: login: %w", err)
	}
	return c.keepTokens(res)
}

// Logout ends the device's session and forgets the tokens.
func (c *Client) Logout(ctx context.Context) error {
	_, err := c.call(ctx, request{method: http.MethodPost, path: "/v1/auth/logout", auth: true, safe: true})
	c.setTokens("", "", nil)
	return err
}

// AccessToken returns the current access token ("" before Login).
func (c *Client) AccessToken() string {
	c.tokMu.RLock()
	defer c.tokMu.RUnlock()
	return c.access
}

// User returns the signed-in user, or nil.
func (c *Client) User() *UserSummary {
	c.tokMu.RLock()
	defer c.tokMu.RUnlock()
	if c.user == nil {
		return nil
	}
	u := *c.user
	return &u
}

// renew refreshes the tokens after a request sent with the access token
// used was answered token_expired. Refreshes are serialized, and one that
// another goroutine has already made is not repeated: presenting a spent
// refresh token ends the whole session (refresh_token_reused).
func (c *Client) renew(ctx context.Context, used string) error {
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	c.tokMu.RLock()
	access, refresh := c.access, c.refresh
	c.tokMu.RUnlock()
	if access != used {
		return nil
	}
	if refresh == "" {
		return ErrNotLoggedIn
	}
	body, err := marshalBody(RefreshRequest{RefreshToken: refresh})
	if err != nil {
		return err
	}
	// Not safe to repeat: if the server spent the token but its answer was
	// lost, a repeat would be refresh_token_reused and end the session.
	res, err := c.call(ctx, request{method: http.MethodPost, path: "/v1/auth/refresh", body: body})
	if err != nil {
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized {
			c.setTokens("", "", nil) // the session is over: Login again
		}
		return fmt.Errorf("fieldsync: refresh: %w", err)
	}
	c.stats.refreshes.Add(1)
	return c.keepTokens(res)
}

func (c *Client) keepTokens(res *response) error {
	var tok TokenResponse
	if err := res.decode(&tok); err != nil {
		return err
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" {
		return errors.New("fieldsync: token response without tokens")
	}
	c.setTokens(tok.AccessToken, tok.RefreshToken, &tok.User)
	return nil
}

func (c *Client) setTokens(access, refresh string, user *UserSummary) {
	c.tokMu.Lock()
	defer c.tokMu.Unlock()
	c.access, c.refresh, c.user = access, refresh, user
}
