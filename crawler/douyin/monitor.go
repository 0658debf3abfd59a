package douyin

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/tidewatch/tidewatch/crawler"
	"github.com/tidewatch/tidewatch/crawler/browser"
	"github.com/tidewatch/tidewatch/protocol"
)

// Data.ID prefixes: stable ids unique per account and type.
const (
	commentIDPrefix = "dy-cmt-"
	dmIDPrefix      = "dy-dm-"
)

// maxKnown bounds the in-memory set of handled ids; past it the set starts
// over and the seen store answers instead.
const maxKnown = 5000

// maxPendingDMs bounds the messages waiting to be reported.
const maxPendingDMs = 2000

// monitor watches one account. Its loop goroutine owns the fields marked
// loop-owned; the others are guarded as noted.
type monitor struct {
	f        *Factory
	acc      crawler.Account
	sink     crawler.Sink
	log      *slog.Logger
	prof     *Profile
	interval time.Duration
	// cutoff is the baseline: items created before it are not news.
	cutoff time.Time

	cancel   context.CancelFunc
	done     chan struct{}
	stopOnce sync.Once

	// credsMu guards newCreds, set by UpdateCredentials.
	credsMu   sync.Mutex
	newCreds  []byte
	credsWake chan struct{}

	// dmMu guards dms, filled by the page probe.
	dmMu   sync.Mutex
	dms    map[string]probeMessage
	dmWake chan struct{}

	// Loop-owned.
	creds        Credentials
	sentCreds    Credentials
	lastCredSend time.Time
	sess         *session
	authStopped  bool
	failures     int
	known        map[string]struct{}
}

// cycleError is a classified failure of a cycle.
type cycleError struct {
	typ string
	msg string
	err error
}

// Error returns the message, with the cause when there is one.
func (e *cycleError) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}

// Unwrap returns the cause.
func (e *cycleError) Unwrap() error { return e.err }

// Constructors of classified failures.
func authFailed(msg string) *cycleError {
	return &cycleError{typ: protocol.ErrorTypeAuthFailed, msg: msg}
}

func rateLimited(msg string) *cycleError {
	return &cycleError{typ: protocol.ErrorTypeRateLimited, msg: msg}
}

func networkError(msg string, err error) *cycleError {
	return &cycleError{typ: protocol.ErrorTypeNetworkError, msg: msg, err: err}
}

// newMonitor prepares a monitor; run starts it.
func newMonitor(f *Factory, acc crawler.Account, creds Credentials, sink crawler.Sink) *monitor {
	now := f.cfg.Now()
	assigned := acc.AssignedAt
	if assigned.IsZero() {
		assigned = now
	}
	interval := acc.Interval
	if interval <= 0 {
		interval = f.cfg.DefaultInterval
	}
	return &monitor{
		f:            f,
		acc:          acc,
		sink:         sink,
		log:          f.log.With("account", acc.ID),
		prof:         f.cfg.Profile,
		interval:     interval,
		cutoff:       assigned.Add(-f.cfg.BacklogWindow),
		done:         make(chan struct{}),
		credsWake:    make(chan struct{}, 1),
		dms:          map[string]probeMessage{},
		dmWake:       make(chan struct{}, 1),
		creds:        creds,
		sentCreds:    creds,
		lastCredSend: now,
		known:        map[string]struct{}{},
	}
}

// Stop ends the monitor and waits for it to close its tab.
func (m *monitor) Stop(ctx context.Context) error {
	m.stopOnce.Do(m.cancel)
	select {
	case <-m.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stopping monitor %s: %w", m.acc.ID, ctx.Err())
	}
}

// stopped reports whether the loop has ended.
func (m *monitor) stopped() bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

// UpdateCredentials hands new credentials to the loop, which rebuilds the
// account's browser context with them and resumes after an auth failure.
func (m *monitor) UpdateCredentials(credentials []byte) {
	m.credsMu.Lock()
	m.newCreds = slices.Clone(credentials)
	m.credsMu.Unlock()
	select {
	case m.credsWake <- struct{}{}:
	default:
	}
}

// run is the monitor's loop.
func (m *monitor) run(ctx context.Context) {
	defer close(m.done)
	defer m.f.forget(m)
	defer m.cleanup()
	defer func() {
		if p := recover(); p != nil {
			m.log.Error("monitor panicked", "panic", p)
		}
	}()
	m.log.Info("monitor started", "interval", m.interval, "baseline", m.cutoff)
	next := time.Now()
	for {
		if m.authStopped {
			select {
			case <-ctx.Done():
				return
			case <-m.credsWake:
				if m.takeCredentials() {
					next = time.Now()
				}
			}
			continue
		}
		var tabDone <-chan struct{}
		if m.sess != nil {
			tabDone = m.sess.tab.Done()
		}
		timer := time.NewTimer(max(time.Until(next), 0))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-m.credsWake:
			timer.Stop()
			if m.takeCredentials() {
				next = time.Now()
			}
			continue
		case <-m.dmWake:
			timer.Stop()
			if m.sess != nil {
				if _, err := m.flushDMs(ctx); err != nil && ctx.Err() == nil {
					m.log.Warn("handing over direct messages", "err", err)
				}
			}
			continue
		case <-tabDone:
			timer.Stop()
			next = m.tabEnded(ctx)
			continue
		case <-timer.C:
		}
		wait := m.cycle(ctx)
		next = time.Now().Add(wait)
	}
}

// takeCredentials applies credentials from UpdateCredentials and reports
// whether a poll should follow at once.
func (m *monitor) takeCredentials() bool {
	m.credsMu.Lock()
	raw := m.newCreds
	m.newCreds = nil
	m.credsMu.Unlock()
	if raw == nil {
		return false
	}
	c, err := ParseCredentials(raw)
	if err != nil {
		m.log.Warn("ignoring new credentials", "err", err)
		return false
	}
	m.log.Info("credentials replaced")
	m.creds, m.sentCreds = c, c
	m.lastCredSend = m.f.cfg.Now()
	m.closeSession()
	m.authStopped = false
	m.failures = 0
	return true
}

// tabEnded handles the end of the tab between cycles and returns when to
// poll next.
func (m *monitor) tabEnded(ctx context.Context) time.Time {
	err := m.sess.tab.Err()
	m.closeSession()
	switch {
	case ctx.Err() != nil || errors.Is(err, browser.ErrClosed):
		return time.Now().Add(time.Hour)
	case errors.Is(err, browser.ErrRestarted):
		m.log.Info("browser restarted; reopening the tab", "reason", err)
		return time.Now()
	default:
		return time.Now().Add(m.fail(ctx, networkError("browser tab lost", err)))
	}
}

// closeSession closes the tab, if any.
func (m *monitor) closeSession() {
	if m.sess != nil {
		m.sess.close()
		m.sess = nil
	}
}

// cleanup closes the tab and hands over a jar that changed since the last
// send, so the master keeps the freshest cookies.
func (m *monitor) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), m.f.cfg.StopTimeout)
	defer cancel()
	if len(changedCookies(m.sentCreds, m.creds)) > 0 && !m.authStopped {
		m.sendCredentials(ctx, m.creds)
	}
	m.closeSession()
	m.log.Info("monitor stopped")
}

// cycle polls once and returns the wait before the next cycle.
func (m *monitor) cycle(ctx context.Context) time.Duration {
	start := time.Now()
	out := m.poll(ctx)
	if ctx.Err() != nil {
		return 0
	}
	res := crawler.PollResult{At: start, Found: out.found, Duration: time.Since(start), Err: out.sinkErr}
	wait := m.jitter(m.interval)
	if cerr := out.cerr; cerr != nil {
		res.Err, res.ErrorType = cerr, cerr.typ
		wait = m.fail(ctx, cerr)
	} else if m.failures > 0 {
		m.log.Info("polling recovered", "after_failures", m.failures)
		m.failures = 0
	}
	m.sink.Polled(m.acc.ID, res)
	return wait
}

// fail reports a classified failure and returns the wait before the next
// cycle.
func (m *monitor) fail(ctx context.Context, e *cycleError) time.Duration {
	m.failures++
	m.log.Warn("poll failed", "type", e.typ, "err", e.Error(), "failures", m.failures)
	m.sink.Failed(ctx, m.acc.ID, e.typ, e.Error(), m.failures-1)
	switch e.typ {
	case protocol.ErrorTypeAuthFailed:
		// Nothing works until new credentials arrive.
		m.authStopped = true
		m.closeSession()
		return 0
	case protocol.ErrorTypeNetworkError:
		// A fresh tab (and browser, if it died) for the retry.
		m.closeSession()
	}
	return m.backoff(m.failures)
}

// backoff is the wait after n failures in a row.
func (m *monitor) backoff(n int) time.Duration {
	d := m.f.cfg.BackoffBase << min(n-1, 20)
	return m.jitter(min(d, m.f.cfg.BackoffMax))
}

// jitter spreads d by ±Config.Jitter.
func (m *monitor) jitter(d time.Duration) time.Duration {
	j := m.f.cfg.Jitter
	return time.Duration(float64(d) * (1 + j*(2*rand.Float64()-1)))
}

// outcome is the result of one poll.
type outcome struct {
	// found is how many items the sink took.
	found int
	// sinkErr is a failure of the sink: the items are offered again.
	sinkErr error
	// cerr is a classified failure of the platform.
	cerr *cycleError
}

// poll runs one cycle: the home page reload with its notice feed, the
// direct messages the probe collected, and the saving of the jar.
func (m *monitor) poll(ctx context.Context) outcome {
	var out outcome
	if m.sess == nil {
		s, err := m.openSession(ctx, m.creds)
		if err != nil {
			out.cerr = networkError("opening the browser tab", err)
			return out
		}
		m.sess = s
	}
	dets, ids, cerr := m.pollComments(ctx)
	if cerr == nil {
		n, err := m.report(ctx, kindComment, ids, dets)
		out.found += n
		out.sinkErr = err
		n, err = m.flushDMs(ctx)
		out.found += n
		out.sinkErr = errors.Join(out.sinkErr, err)
	}
	if m.sess != nil && m.sess.tab.Err() == nil {
		if aerr := m.saveCredentials(ctx, cerr == nil); aerr != nil && cerr == nil {
			cerr = aerr
		}
	}
	if cerr != nil && m.sess != nil {
		if terr := m.sess.tab.Err(); terr != nil {
			cerr = networkError("browser tab lost", terr)
		}
	}
	out.cerr = cerr
	return out
}

// pageState is what the monitor reads of a loaded page.
type pageState struct {
	URL     string `json:"url"`
	Title   string `json:"title"`
	Captcha bool   `json:"captcha"`
}

// pageStateJS evaluates to a pageState.
func (m *monitor) pageStateJS() string {
	sels, _ := json.Marshal(m.prof.CaptchaSelectors)
	return `({url: location.href, title: document.title, captcha: ` + string(sels) +
		`.some(function (s) { return !!document.querySelector(s); })})`
}

// pollComments reloads the home page under the navigation slot and returns
// the new comments of its notice feed.
func (m *monitor) pollComments(ctx context.Context) ([]crawler.Detection, []string, *cycleError) {
	release, err := m.f.browser.AcquireNavigation(ctx)
	if err != nil {
		return nil, nil, networkError("waiting to navigate", err)
	}
	defer release()
	s := m.sess
	s.resetCycle()
	nctx, cancel := context.WithTimeout(s.tab.Context(), m.f.cfg.NavigationTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()

	if err := chromedp.Do(nctx, chromedp.Navigate(m.f.cfg.WWWOrigin+m.prof.HomePath)); err != nil {
		return nil, nil, networkError("loading the home page", err)
	}
	st, err := chromedp.Run(nctx, chromedp.Evaluate[pageState](m.pageStateJS()))
	if err != nil {
		return nil, nil, networkError("reading the home page", err)
	}
	if m.isLoginURL(st.URL) {
		return nil, nil, authFailed("session expired: the home page sent us to the login page")
	}
	if st.Captcha || (m.prof.CaptchaTitle != "" && strings.Contains(st.Title, m.prof.CaptchaTitle)) {
		return nil, nil, rateLimited("captcha page instead of the home page")
	}
	if e := m.riskHeaders(s.documentHeaders()); e != nil {
		return nil, nil, e
	}
	timer := time.NewTimer(m.f.cfg.NoticeTimeout)
	defer timer.Stop()
	var r response
	select {
	case r = <-s.responses:
	case <-timer.C:
		return nil, nil, networkError("the home page made no notice feed request", nil)
	case <-nctx.Done():
		return nil, nil, networkError("waiting for the notice feed", nctx.Err())
	}
	release()
	feed, cerr := m.classifyNotice(r)
	if cerr != nil {
		return nil, nil, cerr
	}
	dets, ids := m.newComments(feed)
	return dets, ids, nil
}

// isLoginURL reports whether a page URL (host and path) is a login page.
func (m *monitor) isLoginURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	where := strings.ToLower(u.Host + u.Path)
	for _, marker := range m.prof.LoginURLMarkers {
		if strings.Contains(where, marker) {
			return true
		}
	}
	return false
}

// riskHeaders classifies risk-control response headers.
func (m *monitor) riskHeaders(h map[string]string) *cycleError {
	for _, name := range m.prof.CaptchaHeaders {
		if _, ok := h[name]; ok {
			return rateLimited("captcha demanded (" + name + ")")
		}
	}
	for _, name := range m.prof.ThrottleHeaders {
		if _, ok := h[name]; ok {
			return rateLimited("throttled (" + name + ")")
		}
	}
	return nil
}

// classifyNotice checks a notice feed response and decodes it.
func (m *monitor) classifyNotice(r response) (noticeFeed, *cycleError) {
	var feed noticeFeed
	if r.err != nil {
		return feed, networkError("notice feed", r.err)
	}
	if e := m.riskHeaders(r.headers); e != nil {
		return feed, e
	}
	body := strings.TrimSpace(string(r.body))
	if body == "" {
		return feed, rateLimited(fmt.Sprintf("notice feed answered %d with an empty body", r.status))
	}
	if err := json.Unmarshal([]byte(body), &feed); err != nil {
		return feed, rateLimited("notice feed body is not JSON")
	}
	switch {
	case feed.StatusCode == nil:
		return feed, rateLimited("notice feed body has no status_code")
	case *feed.StatusCode == m.prof.StatusNotLoggedIn:
		return feed, authFailed(fmt.Sprintf("notice feed: status_code %d (not logged in)", *feed.StatusCode))
	case *feed.StatusCode != m.prof.StatusOK:
		return feed, rateLimited(fmt.Sprintf("notice feed: status_code %d", *feed.StatusCode))
	}
	return feed, nil
}

// newComments maps the feed's comments that are news: fans' comments of
// type NoticeTypeComment, newer than the baseline, not handled before.
func (m *monitor) newComments(feed noticeFeed) ([]crawler.Detection, []string) {
	var dets []crawler.Detection
	var ids []string
	for _, n := range feed.Notices {
		if n.Type != m.prof.NoticeTypeComment || n.Comment == nil {
			continue
		}
		c := n.Comment.Comment
		cid := string(c.CID)
		if cid == "" || m.isKnown(kindComment, cid) {
			continue
		}
		uid := string(c.User.UID)
		if (m.acc.PlatformAccountID != "" && uid == m.acc.PlatformAccountID) || c.LabelText == m.prof.AuthorLabel {
			m.markKnown(kindComment, cid)
			continue
		}
		created := c.CreateTime
		if created == 0 {
			created = n.CreateTime
		}
		ts := protocol.NormalizeUnix(created)
		if time.Unix(ts, 0).Before(m.baseline()) {
			m.markKnown(kindComment, cid)
			continue
		}
		post := string(c.AwemeID)
		if post == "" {
			post = string(n.Comment.Aweme.AwemeID)
		}
		ids = append(ids, cid)
		dets = append(dets, crawler.Detection{
			MessageType: protocol.MessageTypeComment,
			Data: protocol.MessageData{
				ID:                commentIDPrefix + cid,
				PlatformCommentID: protocol.ID(cid),
				Content:           c.Text,
				AuthorName:        c.User.Nickname,
				AuthorID:          protocol.ID(uid),
				PostID:            protocol.ID(post),
				PostTitle:         n.Comment.Aweme.Desc,
				CreatedAt:         protocol.Timestamp(ts),
			},
		})
	}
	return dets, ids
}

// baseline is the creation time before which items are not news: the
// assignment less the backlog window, and never older than the seen-ids
// retention, so a pruned id cannot come back as news.
func (m *monitor) baseline() time.Time {
	if r := m.f.cfg.Now().Add(-m.f.cfg.SeenRetention); r.After(m.cutoff) {
		return r
	}
	return m.cutoff
}

// onProbe receives messages from the page probe. It runs on its own
// goroutine per call.
func (m *monitor) onProbe(_ context.Context, batch probeBatch) (chromedp.Void, error) {
	m.dmMu.Lock()
	for _, msg := range batch.Messages {
		if msg.ID == "" || len(m.dms) >= maxPendingDMs {
			continue
		}
		if _, ok := m.dms[msg.ID]; !ok {
			m.dms[msg.ID] = msg
		}
	}
	m.dmMu.Unlock()
	select {
	case m.dmWake <- struct{}{}:
	default:
	}
	return chromedp.Void{}, nil
}

// flushDMs reports the collected messages that are news and returns how
// many it handed over. Messages the sink refused stay for the next try.
func (m *monitor) flushDMs(ctx context.Context) (int, error) {
	m.dmMu.Lock()
	batch := make([]probeMessage, 0, len(m.dms))
	for _, msg := range m.dms {
		batch = append(batch, msg)
	}
	m.dmMu.Unlock()
	if len(batch) == 0 {
		return 0, nil
	}
	slices.SortFunc(batch, func(a, b probeMessage) int { return cmp.Compare(a.CreatedAt, b.CreatedAt) })
	var dets []crawler.Detection
	var ids, dropped []string
	for _, msg := range batch {
		d, ok := m.mapDM(msg)
		if !ok {
			dropped = append(dropped, msg.ID)
			continue
		}
		ids = append(ids, msg.ID)
		dets = append(dets, d)
	}
	n, err := m.report(ctx, kindDM, ids, dets)
	m.dmMu.Lock()
	for _, id := range dropped {
		delete(m.dms, id)
	}
	if err == nil {
		for _, id := range ids {
			delete(m.dms, id)
		}
	}
	m.dmMu.Unlock()
	return n, err
}

// mapDM maps a store message that is news; ok is false for the account's
// own messages, system notices, non-text messages, the baseline and
// messages handled before.
func (m *monitor) mapDM(msg probeMessage) (crawler.Detection, bool) {
	if m.isKnown(kindDM, msg.ID) {
		return crawler.Detection{}, false
	}
	skip := msg.IsFromMe || (m.acc.PlatformAccountID != "" && msg.Sender == m.acc.PlatformAccountID) ||
		!slices.Contains(m.prof.TextMessageTypes, msg.Type)
	var content messageContent
	if err := json.Unmarshal([]byte(msg.Content), &content); err != nil {
		skip = true
	}
	ts := protocol.NormalizeUnix(msg.CreatedAt)
	if skip || content.AweType == m.prof.SystemAweType || content.Text == "" || time.Unix(ts, 0).Before(m.baseline()) {
		m.markKnown(kindDM, msg.ID)
		return crawler.Detection{}, false
	}
	return crawler.Detection{
		MessageType: protocol.MessageTypeDirectMessage,
		Data: protocol.MessageData{
			ID:                dmIDPrefix + msg.ID,
			PlatformMessageID: protocol.ID(msg.ID),
			Content:           content.Text,
			AuthorID:          protocol.ID(msg.Sender),
			AuthorName:        msg.Nickname,
			SenderID:          protocol.ID(msg.Sender),
			SenderName:        msg.Nickname,
			ConversationID:    msg.ConversationID,
			CreatedAt:         protocol.Timestamp(ts),
		},
	}, true
}

// report hands the items not seen before to the sink and records them as
// seen once the sink holds them.
func (m *monitor) report(ctx context.Context, kind string, ids []string, dets []crawler.Detection) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	fresh, err := m.f.seen.filterUnseen(ctx, m.acc.ID, kind, ids)
	if err != nil {
		return 0, err
	}
	if len(fresh) < len(ids) {
		keep := map[string]bool{}
		for _, id := range fresh {
			keep[id] = true
		}
		var kept []crawler.Detection
		for i, id := range ids {
			if keep[id] {
				kept = append(kept, dets[i])
			} else {
				m.markKnown(kind, id)
			}
		}
		dets = kept
	}
	if len(dets) == 0 {
		return 0, nil
	}
	if err := m.sink.Detected(ctx, m.acc.ID, dets); err != nil {
		return 0, fmt.Errorf("handing over %d items: %w", len(dets), err)
	}
	if err := m.f.seen.add(ctx, m.acc.ID, kind, fresh, m.f.cfg.Now()); err != nil {
		// The sink holds them and the master deduplicates; keep going.
		m.log.Warn("recording seen items", "err", err)
	}
	for _, id := range fresh {
		m.markKnown(kind, id)
	}
	m.log.Info("new items", "kind", kind, "count", len(dets))
	return len(dets), nil
}

// isKnown reports whether an id was handled already in this run.
func (m *monitor) isKnown(kind, id string) bool {
	_, ok := m.known[kind+":"+id]
	return ok
}

// markKnown remembers a handled id.
func (m *monitor) markKnown(kind, id string) {
	if len(m.known) >= maxKnown {
		clear(m.known)
	}
	m.known[kind+":"+id] = struct{}{}
}

// localStorageJS reads the credential keys of the www origin, or nothing
// elsewhere.
func (m *monitor) localStorageJS() string {
	keys, _ := json.Marshal(m.prof.LocalStorageKeys)
	origin, _ := json.Marshal(m.f.cfg.WWWOrigin)
	return `(function () {
  var out = {};
  if (location.origin !== ` + string(origin) + `) return out;
  try { ` + string(keys) + `.forEach(function (k) { var v = localStorage.getItem(k); if (v !== null) out[k] = v; }); } catch (e) {}
  return out;
})()`
}

// saveCredentials reads the jar back from the browser, hands it to the
// sink when it changed, and with check set reports a jar without a
// session cookie as an auth failure.
func (m *monitor) saveCredentials(ctx context.Context, check bool) *cycleError {
	tctx, cancel := context.WithTimeout(m.sess.tab.Context(), m.f.cfg.NavigationTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	res, err := chromedp.Call(tctx, network.GetCookies, network.GetCookiesParams{
		URLs: []string{m.f.cfg.WWWOrigin + "/", m.f.cfg.CreatorOrigin + "/"},
	})
	if err != nil {
		m.log.Debug("reading cookies", "err", err)
		return nil
	}
	cur := Credentials{Cookies: dedupe(fromBrowser(res.Cookies)), LocalStorage: map[string]string{}}
	for k, v := range m.creds.LocalStorage {
		cur.LocalStorage[k] = v
	}
	if ls, err := chromedp.Run(tctx, chromedp.Evaluate[map[string]string](m.localStorageJS())); err == nil {
		for k, v := range ls {
			cur.LocalStorage[k] = v
		}
	}
	if _, ok := cur.cookie(m.prof.SessionCookie); !ok {
		if check {
			return authFailed("no " + m.prof.SessionCookie + " cookie in the jar")
		}
		return nil
	}
	m.creds = cur
	changed := changedCookies(m.sentCreds, cur)
	if len(changed) == 0 {
		return nil
	}
	important := slices.ContainsFunc(changed, func(name string) bool {
		return name == "localStorage" || slices.Contains(m.prof.SessionCookies, name)
	})
	due := m.f.cfg.CredentialsInterval < 0 || m.f.cfg.Now().Sub(m.lastCredSend) >= m.f.cfg.CredentialsInterval
	if important || due {
		m.sendCredentials(ctx, cur)
	}
	return nil
}

// sendCredentials hands a jar to the sink.
func (m *monitor) sendCredentials(ctx context.Context, c Credentials) {
	blob, err := json.Marshal(c)
	if err != nil {
		m.log.Error("encoding credentials", "err", err)
		return
	}
	m.sink.CredentialsChanged(ctx, m.acc.ID, blob, c.expiresAt(m.prof.SessionCookie))
	m.sentCreds = c
	m.lastCredSend = m.f.cfg.Now()
	m.log.Debug("credentials handed over")
}

// dedupe drops repeated cookies of a sorted jar.
func dedupe(cs []Cookie) []Cookie {
	return slices.CompactFunc(cs, func(a, b Cookie) bool {
		return a.Name == b.Name && a.Domain == b.Domain && a.Path == b.Path
	})
}
