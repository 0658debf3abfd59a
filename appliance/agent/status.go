package agent

import (
	"context"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/appliance/link"
	"github.com/tidewatch/tidewatch/appliance/setupweb"
	"github.com/tidewatch/tidewatch/crawler"
	"github.com/tidewatch/tidewatch/protocol"
	"github.com/tidewatch/tidewatch/sysinfo"
)

// type check
var _ setupweb.StatusSource = (*Agent)(nil)

// heartbeat samples the process tree and builds the next heartbeat.
func (a *Agent) heartbeat(ctx context.Context) (protocol.WorkerHeartbeat, error) {
	r, err := a.sampler.Sample(ctx)
	if err != nil {
		return protocol.WorkerHeartbeat{}, err
	}
	depth, derr := a.box.Depth(ctx)
	a.mu.Lock()
	a.reading, a.readingOK = r, true
	active, maxAcc, draining := len(a.accounts), a.app.MaxAccounts, a.draining
	a.mu.Unlock()
	var depthPtr *int
	if derr == nil {
		depthPtr = &depth
	}
	hb := HeartbeatOf(r, active, depthPtr)
	switch {
	case draining:
		hb.Status = protocol.WorkerStatusDraining
	case active >= maxAcc:
		hb.Status = protocol.WorkerStatusBusy
	}
	return hb, nil
}

// HeartbeatOf builds the worker:heartbeat payload (without worker_id) from
// one sysinfo reading: memory_usage is the process tree's memory in MB,
// cpu_usage its share of the whole machine in percent, and the optional
// system figures describe the machine. outboxDepth may be nil.
func HeartbeatOf(r sysinfo.Reading, activeTasks int, outboxDepth *int) protocol.WorkerHeartbeat {
	sys := &protocol.SystemInfo{
		MemoryTotalMB:  round2(r.System.TotalMemoryMB),
		MemoryUsedMB:   round2(r.System.UsedMemoryMB),
		Load1:          round2(r.System.Load1),
		Load5:          round2(r.System.Load5),
		Load15:         round2(r.System.Load15),
		DiskFreeMB:     round2(r.System.DiskFreeMB),
		UptimeSeconds:  int64(r.System.UptimeSeconds),
		NumCPU:         r.System.NumCPU,
		MemoryAccuracy: string(r.ProcessMemorySource),
	}
	if t := r.System.CPUTemperatureC; t != nil {
		v := round2(*t)
		sys.TemperatureC = &v
	}
	return protocol.WorkerHeartbeat{
		Status:      protocol.WorkerStatusOnline,
		ActiveTasks: activeTasks,
		MemoryUsage: round2(r.ProcessMemoryMB),
		CPUUsage:    round2(r.ProcessCPUPercent),
		OutboxDepth: outboxDepth,
		System:      sys,
	}
}

// round2 rounds to two decimals, which is all a dashboard shows.
func round2(v float64) float64 {
	return math.Round(v*100) / 100
}

// Status implements setupweb.StatusSource.
func (a *Agent) Status(ctx context.Context) setupweb.Status {
	r, ok := a.statusReading(ctx)
	depth := 0
	if a.box != nil {
		depth, _ = a.box.Depth(ctx)
	}
	a.mu.Lock()
	app := a.app
	st := setupweb.Status{
		WorkerID:    app.WorkerID,
		WorkerName:  app.WorkerName,
		MasterURL:   app.MasterURL,
		OutboxDepth: depth,
	}
	lnk, linkErr, dropped := a.lnk, a.linkErr, a.dropped
	for id, acc := range a.accounts {
		as := setupweb.AccountStatus{
			AccountID: id, Platform: acc.spec.platform, State: acc.state,
			LastPoll: acc.lastPoll.At, LastError: acc.lastError,
		}
		if !acc.lastPoll.At.IsZero() {
			as.LastResult = pollSummary(acc.lastPoll)
		}
		st.Accounts = append(st.Accounts, as)
	}
	a.mu.Unlock()
	slices.SortFunc(st.Accounts, func(x, y setupweb.AccountStatus) int { return strings.Compare(x.AccountID, y.AccountID) })

	switch {
	case app.MasterURL == "" || app.Token == "":
		st.Connection = setupweb.StateNotConfigured
	case lnk == nil:
		st.Connection, st.ConnectionDetail = setupweb.StateDisconnected, linkErr
	default:
		ls := lnk.Status()
		st.ConnectionDetail = ls.Detail
		switch ls.State {
		case link.StateConnected:
			st.Connection = setupweb.StateConnected
		case link.StateRejected:
			st.Connection = setupweb.StateRejected
		case link.StateConnecting:
			st.Connection = setupweb.StateConnecting
		default:
			st.Connection = setupweb.StateDisconnected
		}
	}
	if dropped > 0 {
		note := strconv.Itoa(dropped) + " undeliverable item(s) dropped; see the log"
		if st.ConnectionDetail != "" {
			note = st.ConnectionDetail + "; " + note
		}
		st.ConnectionDetail = note
	}
	if ok {
		st.System = setupweb.SystemInfo{
			CPUPercent:          round2(r.ProcessCPUPercent),
			MemoryMB:            round2(r.ProcessMemoryMB),
			SystemMemoryUsedMB:  r.System.UsedMemoryMB,
			SystemMemoryTotalMB: r.System.TotalMemoryMB,
			TemperatureC:        r.System.CPUTemperatureC,
			DiskFreeMB:          r.System.DiskFreeMB,
			Uptime:              processUptime(a.startedAt, a.now()),
		}
	}
	if a.conf.Ring != nil {
		st.LogLines = a.conf.Ring.Lines()
	}
	return st
}

// statusReading returns a recent reading, taking a new one when the last is
// older than statusSampleMaxAge (no heartbeats while disconnected).
func (a *Agent) statusReading(ctx context.Context) (sysinfo.Reading, bool) {
	a.mu.Lock()
	r, ok := a.reading, a.readingOK
	a.mu.Unlock()
	if (ok && a.now().Sub(r.At) < statusSampleMaxAge) || a.sampler == nil {
		return r, ok
	}
	sctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	nr, err := a.sampler.Sample(sctx)
	if err != nil {
		return r, ok
	}
	a.mu.Lock()
	a.reading, a.readingOK = nr, true
	a.mu.Unlock()
	return nr, true
}

// processUptime is how long the agent has been running.
func processUptime(started, now time.Time) time.Duration {
	if started.IsZero() {
		return 0
	}
	return now.Sub(started)
}

// pollSummary words a poll result for the status page.
func pollSummary(r crawler.PollResult) string {
	if r.Err != nil {
		if r.ErrorType != "" {
			return "failed (" + r.ErrorType + ")"
		}
		return "failed"
	}
	took := r.Duration.Round(100 * time.Millisecond).String()
	switch r.Found {
	case 0:
		return "nothing new (" + took + ")"
	case 1:
		return "1 new item (" + took + ")"
	default:
		return strconv.Itoa(r.Found) + " new items (" + took + ")"
	}
}

// listenPort returns the port of a listen address, or 0.
func listenPort(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

// outboundHost returns the local address of the route to the master: the
// address the master's operators can reach the setup page at on the LAN.
// Dialling UDP sends nothing; it only picks the route.
func outboundHost(ctx context.Context, masterURL string) string {
	u, err := url.Parse(masterURL)
	if err != nil || u.Hostname() == "" {
		return ""
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.DialContext(ctx, "udp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return ""
	}
	defer func() { _ = c.Close() }()
	if ua, ok := c.LocalAddr().(*net.UDPAddr); ok {
		return ua.IP.String()
	}
	return ""
}
