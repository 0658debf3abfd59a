package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/tidewatch/tidewatch/master/auth"
	"github.com/tidewatch/tidewatch/master/store"
)

// tokenView is an enrollment token as listed; the secret is never listed.
type tokenView struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	CreatedAt  int64  `json:"created_at"`
	RevokedAt  *int64 `json:"revoked_at"`
	LastUsedAt *int64 `json:"last_used_at"`
}

// tokenList is the body of GET /worker-tokens.
type tokenList struct {
	Tokens []tokenView `json:"tokens"`
}

// newTokenView answers POST /worker-tokens: the only time the secret is
// shown.
type newTokenView struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	CreatedAt int64  `json:"created_at"`
	Token     string `json:"token"`
}

// handleListTokens lists enrollment tokens, revoked ones included.
func (a *api) handleListTokens(c echo.Context, _ store.Viewer) error {
	toks, err := a.st.ListWorkerTokens(c.Request().Context())
	if err != nil {
		return fmt.Errorf("listing worker tokens: %w", err)
	}
	out := tokenList{Tokens: make([]tokenView, 0, len(toks))}
	for _, t := range toks {
		out.Tokens = append(out.Tokens, tokenView{
			ID: t.ID, Name: t.Name, CreatedAt: unix(t.CreatedAt),
			RevokedAt: unixOrNil(t.RevokedAt), LastUsedAt: unixOrNil(t.LastUsedAt),
		})
	}
	return c.JSON(http.StatusOK, out)
}

// createTokenRequest is the body of POST /worker-tokens.
type createTokenRequest struct {
	Name string `json:"name"`
}

// handleCreateToken creates an enrollment token and shows its secret once.
func (a *api) handleCreateToken(c echo.Context, v store.Viewer) error {
	var req createTokenRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := checkText("name", req.Name, maxNameLen, true); err != nil {
		return err
	}
	ctx := c.Request().Context()
	t, secret, err := a.st.CreateWorkerToken(ctx, req.Name)
	if err != nil {
		return fmt.Errorf("creating worker token: %w", err)
	}
	a.log.InfoContext(ctx, "worker token created", "token_id", t.ID, "by", v.UserID)
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusCreated, newTokenView{ID: t.ID, Name: t.Name, CreatedAt: unix(t.CreatedAt), Token: secret})
}

// handleRevokeToken revokes an enrollment token: workers can no longer
// register with it.
func (a *api) handleRevokeToken(c echo.Context, v store.Viewer) error {
	id, err := pathID(c, "worker token")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	err = a.st.RevokeWorkerToken(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, codeNotFound, "no such worker token")
	}
	if err != nil {
		return fmt.Errorf("revoking worker token: %w", err)
	}
	a.fleet.TokenRevoked(ctx, id)
	a.log.InfoContext(ctx, "worker token revoked", "token_id", id, "by", v.UserID)
	return c.NoContent(http.StatusNoContent)
}

// userView is a user as the API shows it.
type userView struct {
	ID        string `json:"id"`
	Username  string `json:"username"`
	Admin     bool   `json:"admin"`
	CreatedAt int64  `json:"created_at"`
}

// userViewOf converts a stored user.
func userViewOf(u store.User) userView {
	return userView{ID: u.ID, Username: u.Username, Admin: u.Admin, CreatedAt: unix(u.CreatedAt)}
}

// userList is the body of GET /users.
type userList struct {
	Users []userView `json:"users"`
}

// handleListUsers lists every user.
func (a *api) handleListUsers(c echo.Context, _ store.Viewer) error {
	us, err := a.st.ListUsers(c.Request().Context())
	if err != nil {
		return fmt.Errorf("listing users: %w", err)
	}
	out := userList{Users: make([]userView, 0, len(us))}
	for _, u := range us {
		out.Users = append(out.Users, userViewOf(u))
	}
	return c.JSON(http.StatusOK, out)
}

// createUserRequest is the body of POST /users.
type createUserRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Admin    bool   `json:"admin"`
}

// handleCreateUser adds a user.
func (a *api) handleCreateUser(c echo.Context, v store.Viewer) error {
	var req createUserRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := CheckUsername(req.Username); err != nil {
		return badRequest("%s", err.Error())
	}
	hash, err := auth.HashPasswordCost(req.Password, a.pwCost)
	switch {
	case errors.Is(err, auth.ErrPasswordTooShort):
		return badRequest("password must be at least %d characters", auth.MinPasswordLength)
	case errors.Is(err, auth.ErrPasswordTooLong):
		return badRequest("password must be at most 72 bytes")
	case err != nil:
		return fmt.Errorf("hashing password: %w", err)
	}
	ctx := c.Request().Context()
	u, err := a.st.CreateUser(ctx, req.Username, hash, req.Admin)
	if errors.Is(err, store.ErrConflict) {
		return errorf(http.StatusConflict, codeConflict, "username %q is taken", req.Username)
	}
	if err != nil {
		return fmt.Errorf("creating user: %w", err)
	}
	a.log.InfoContext(ctx, "user created", "user_id", u.ID, "admin", u.Admin, "by", v.UserID)
	return c.JSON(http.StatusCreated, userViewOf(u))
}

// CheckUsername reports what is wrong with a username, if anything: it must
// be 1 to 64 bytes of printable characters without spaces. The command line
// applies the same rule.
func CheckUsername(name string) error {
	switch {
	case name == "":
		return errors.New("username is required")
	case len(name) > maxUsernameLen:
		return fmt.Errorf("username is longer than %d bytes", maxUsernameLen)
	case !utf8.ValidString(name):
		return errors.New("username is not valid UTF-8")
	case strings.ContainsFunc(name, func(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) }):
		return errors.New("username must not contain spaces or control characters")
	}
	return nil
}
