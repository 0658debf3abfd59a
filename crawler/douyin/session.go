package douyin

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/tidewatch/tidewatch/crawler/browser"
)

// probeSource is the IM probe; __CONFIG__ is replaced by its settings.
//
//go:embed probe.js
var probeSource string

// probeMessage is one IM store message as the probe hands it over.
type probeMessage struct {
	ID             string `json:"id"`
	ConversationID string `json:"conversationId"`
	Sender         string `json:"sender"`
	Type           int    `json:"type"`
	Content        string `json:"content"`
	CreatedAt      int64  `json:"createdAt"`
	IsFromMe       bool   `json:"isFromMe"`
	Nickname       string `json:"nickname"`
}

// probeBatch is the argument of one binding call.
type probeBatch struct {
	Messages []probeMessage `json:"messages"`
}

// probeScript builds the probe for an origin, its localStorage values and
// the profile's names.
func probeScript(p *Profile, wwwOrigin string, ls map[string]string, intervalMs int64) (string, error) {
	if ls == nil {
		ls = map[string]string{}
	}
	cfg := map[string]any{
		"origin":       wwwOrigin,
		"localStorage": ls,
		"entry":        p.IMEntrySelector,
		"fiberPrefix":  p.ReactFiberPrefix,
		"storeProp":    p.IMStoreProp,
		"convList":     p.ConversationList,
		"pushList":     p.PushList,
		"binding":      p.BindingName,
		"intervalMs":   intervalMs,
		"msg": map[string]string{
			"serverId": p.Message.ServerID, "conversationId": p.Message.ConversationID,
			"sender": p.Message.Sender, "type": p.Message.Type, "content": p.Message.Content,
			"createdAt": p.Message.CreatedAt, "isFromMe": p.Message.IsFromMe,
		},
		"conv": map[string]string{
			"id": p.Conversation.ID, "nickname": p.Conversation.Nickname,
			"participants": p.Conversation.Participants, "participantUid": p.Conversation.ParticipantUID,
			"participantNickname": p.Conversation.ParticipantNickname,
		},
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return "", fmt.Errorf("encoding probe settings: %w", err)
	}
	return strings.Replace(probeSource, "__CONFIG__", string(b), 1), nil
}

// response is a notice feed response read from the page's traffic.
type response struct {
	status  int64
	headers map[string]string
	body    []byte
	// err is set when the request failed or its body could not be read.
	err error
}

// session is an account's tab: an incognito browser context with the
// credentials restored, the IM probe installed, and a listener noting the
// notice feed's responses.
type session struct {
	tab        *browser.Tab
	noticePath string
	wwwHost    string

	// responses receives notice feed responses in arrival order.
	responses chan response
	// fetch receives the request ids whose body is complete.
	fetch chan network.RequestID

	// mu guards the fields below, written by the listener.
	mu      sync.Mutex
	pending map[network.RequestID]response
	// docHeaders are the headers of the last main document response.
	docHeaders map[string]string
}

// openSession opens a tab for the account and prepares it before its first
// navigation.
func (m *monitor) openSession(ctx context.Context, creds Credentials) (*session, error) {
	tab, err := m.f.browser.NewTab(ctx)
	if err != nil {
		return nil, err
	}
	www, _ := url.Parse(m.f.cfg.WWWOrigin)
	s := &session{
		tab:        tab,
		noticePath: m.f.cfg.Profile.NoticePath,
		wwwHost:    www.Host,
		responses:  make(chan response, 8),
		fetch:      make(chan network.RequestID, 16),
		pending:    map[network.RequestID]response{},
	}
	tctx := tab.Context()
	if err := chromedp.Listen(tctx, s.onEvent); err != nil {
		tab.Close()
		return nil, fmt.Errorf("listening to the tab: %w", err)
	}
	go s.fetchBodies(tctx)
	script, err := probeScript(m.f.cfg.Profile, m.f.cfg.WWWOrigin, creds.LocalStorage, m.f.cfg.ProbeInterval.Milliseconds())
	if err != nil {
		tab.Close()
		return nil, err
	}
	steps := []func() error{
		func() error {
			return chromedp.Do(tctx, chromedp.ExposeFunc(m.f.cfg.Profile.BindingName, m.onProbe))
		},
		func() error {
			_, err := chromedp.Call(tctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: script})
			return err
		},
		func() error {
			_, err := chromedp.Call(tctx, network.SetCookies, network.SetCookiesParams{Cookies: creds.cookieParams()})
			return err
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			tab.Close()
			return nil, fmt.Errorf("preparing the tab: %w", err)
		}
	}
	return s, nil
}

// close closes the tab.
func (s *session) close() { s.tab.Close() }

// lowerHeaders copies headers with lower-case names and string values.
func lowerHeaders(h network.Headers) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[strings.ToLower(k)] = fmt.Sprint(v)
	}
	return out
}

// onEvent notes notice feed responses and hands finished ones to
// fetchBodies. It runs on the tab's reader goroutine: no commands here.
func (s *session) onEvent(ev any) {
	switch e := ev.(type) {
	case *network.EventResponseReceived:
		if e.Response == nil {
			return
		}
		if e.Type == network.ResourceTypeDocument {
			s.mu.Lock()
			s.docHeaders = lowerHeaders(e.Response.Headers)
			s.mu.Unlock()
			return
		}
		u, err := url.Parse(e.Response.URL)
		if err != nil || u.Host != s.wwwHost || u.Path != s.noticePath {
			return
		}
		s.mu.Lock()
		s.pending[e.RequestID] = response{status: e.Response.Status, headers: lowerHeaders(e.Response.Headers)}
		s.mu.Unlock()
	case *network.EventLoadingFinished:
		s.mu.Lock()
		_, ok := s.pending[e.RequestID]
		s.mu.Unlock()
		if ok {
			select {
			case s.fetch <- e.RequestID:
			default:
			}
		}
	case *network.EventLoadingFailed:
		s.mu.Lock()
		r, ok := s.pending[e.RequestID]
		delete(s.pending, e.RequestID)
		s.mu.Unlock()
		if ok {
			r.err = fmt.Errorf("notice request failed: %s", e.ErrorText)
			s.deliver(r)
		}
	}
}

// deliver queues r for the cycle, dropping it when nobody reads.
func (s *session) deliver(r response) {
	select {
	case s.responses <- r:
	default:
	}
}

// fetchBodies reads the bodies of finished notice responses; a body is
// complete only after loadingFinished, so it is fetched then and not at
// responseReceived.
func (s *session) fetchBodies(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-s.fetch:
			s.mu.Lock()
			r := s.pending[id]
			delete(s.pending, id)
			s.mu.Unlock()
			res, err := chromedp.Call(ctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: id})
			if err != nil {
				r.err = fmt.Errorf("reading the notice body: %w", err)
			} else {
				r.body = res.Body
			}
			s.deliver(r)
		}
	}
}

// resetCycle forgets responses of earlier navigations.
func (s *session) resetCycle() {
	s.mu.Lock()
	s.docHeaders = nil
	s.mu.Unlock()
	for {
		select {
		case <-s.responses:
		default:
			return
		}
	}
}

// documentHeaders returns the last main document's headers.
func (s *session) documentHeaders() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.docHeaders
}
