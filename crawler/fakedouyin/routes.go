package fakedouyin

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// routes builds the handler of both origins and the control API.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	get := func(path string) string { return http.MethodGet + " " + path + "{$}" }
	// www origin.
	mux.HandleFunc(get(PathHome), s.page(s.handleHome, pageHome))
	mux.HandleFunc(get(PathPassportLogin), s.handleLoginPage)
	mux.HandleFunc(get(PathNoticeDetail), s.api(s.apiNoticeDetail))
	mux.HandleFunc(get(PathIMSync), s.api(s.apiIMSync))
	mux.HandleFunc(get(PathQRCodeGet), s.handleQRGet)
	mux.HandleFunc(get(PathQRCodeCheck), s.handleQRCheck)
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	// creator origin.
	mux.HandleFunc("GET "+PathCreatorComment, s.page(s.handleCreatorComment, pageCreator))
	mux.HandleFunc("GET "+PathCreatorLogin, s.handleLoginPage)
	mux.HandleFunc(get(PathCommentList), s.api(s.apiCommentList))
	// control API.
	s.controlRoutes(mux)
	return mux
}

// pageKind tells the guard how a page reacts to a missing session.
type pageKind int

// Page kinds.
const (
	// pageHome shows the login panel to a logged-out visitor.
	pageHome pageKind = iota
	// pageCreator redirects a logged-out visitor to the creator login.
	pageCreator
)

// request is what the guard found out about a request's session.
type request struct {
	// uid is the logged-in account, empty when logged out.
	uid string
	// sid is the sessionid cookie value.
	sid    string
	faults Faults
}

// identify resolves the sessionid cookie of r.
func (s *Server) identify(r *http.Request) request {
	c, err := r.Cookie(CookieSessionID)
	if err != nil {
		return request{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	uid, ok := s.sessions[c.Value]
	if !ok {
		return request{}
	}
	return request{uid: uid, sid: c.Value, faults: s.accounts[uid].faults}
}

// drop closes the connection of r without an answer.
func drop(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2): abort the handler, which resets the stream.
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// page wraps a page handler with the session and fault checks of pages.
func (s *Server) page(h func(http.ResponseWriter, *http.Request, request), kind pageKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req := s.identify(r)
		f := req.faults
		switch {
		case req.uid != "" && f.Drop:
			drop(w)
		case req.uid != "" && f.Expired:
			target := PathPassportLogin
			if kind == pageCreator {
				target = PathCreatorLogin
			}
			http.Redirect(w, r, target+"?redirect_url="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
		case req.uid == "" && kind == pageCreator:
			http.Redirect(w, r, PathCreatorLogin+"?redirect_url="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
		case req.uid != "" && f.Captcha:
			s.renderCaptcha(w)
		default:
			w.Header().Set("Cache-Control", "no-store")
			h(w, r, req)
		}
	}
}

// apiFunc builds the JSON body of an API answer for a logged-in account.
type apiFunc func(r *http.Request, req request) any

// notLoggedIn is the body of an API answer to a missing or dead session.
type notLoggedIn struct {
	StatusCode int    `json:"status_code"`
	StatusMsg  string `json:"status_msg"`
}

// api wraps an API handler with the session and fault checks of APIs.
func (s *Server) api(h apiFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req := s.identify(r)
		f := req.faults
		w.Header().Set("Cache-Control", "no-store")
		switch {
		case req.uid != "" && f.Drop:
			drop(w)
			return
		case req.uid == "" || f.Expired:
			writeJSON(w, http.StatusOK, notLoggedIn{StatusCode: StatusNotLoggedIn, StatusMsg: "用户未登录"})
			return
		case f.Captcha:
			w.Header().Set(HeaderBDTuring, `{"code":"10000","from":"","type":"verify","version":"","region":"cn","subtype":"slide","ui_type":"","detail":"`+randomish(r)+`","verify_event":"","fp":"verify_`+randomish(r)+`"}`)
			w.WriteHeader(http.StatusOK)
			return
		case f.Throttle:
			w.Header().Set(HeaderWhaleAbort, `{"abort_type":"throughput","ttl":60}`)
			w.WriteHeader(http.StatusOK)
			return
		}
		body, err := json.Marshal(h(r, req))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if f.Slow > 0 {
			writeSlow(w, r, body, f.Slow)
			return
		}
		_, _ = w.Write(body)
	}
}

// randomish derives a short opaque string from the request, enough to make
// header values look alive without touching the server's generator.
func randomish(r *http.Request) string {
	return url.QueryEscape(r.RemoteAddr + time.Now().Format("150405.000000"))
}

// slowChunks is how many pieces a slow body is cut into.
const slowChunks = 8

// writeSlow sends the headers and the first byte at once, then the rest of
// body in pieces spread over delay, so the response finishes loading only
// after delay.
func writeSlow(w http.ResponseWriter, r *http.Request, body []byte, delay time.Duration) {
	rc := http.NewResponseController(w)
	w.WriteHeader(http.StatusOK)
	step := delay / slowChunks
	chunk := max((len(body)+slowChunks-1)/slowChunks, 1)
	for len(body) > 0 {
		n := min(chunk, len(body))
		if _, err := w.Write(body[:n]); err != nil {
			return
		}
		body = body[n:]
		_ = rc.Flush()
		t := time.NewTimer(step)
		select {
		case <-r.Context().Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
