package e2e

import (
	"encoding/json"
	"net/http"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFleet walks one fleet through its life: registration and heartbeats,
// assignment and revocation through the REST API, failover after kill -9,
// delivery of a message detected while the master was down, and a drain
// ordered by the master. The steps build on each other.
func TestFleet(t *testing.T) {
	f := newFleet(t)
	tokens := map[string]string{"w-a1": f.token("a1"), "w-a2": f.token("a2")}
	apps := map[string]*appliance{
		"w-a1": f.startAppliance("w-a1", tokens["w-a1"], ""),
		"w-a2": f.startAppliance("w-a2", tokens["w-a2"], ""),
	}

	// Registration, and heartbeats with real figures of the process.
	require.Eventually(t, func() bool {
		ws := f.api.workers()
		return ws["w-a1"].Connected && ws["w-a2"].Connected
	}, waitFor, poll, "appliances did not register")
	require.Eventually(t, func() bool {
		for _, w := range f.api.workers() {
			var mem, cpu bool
			for _, h := range w.History {
				mem = mem || h.MemoryUsage > 0
				cpu = cpu || h.CPUUsage > 0
			}
			if !mem || !cpu {
				return false
			}
		}
		return true
	}, 2*waitFor, poll, "heartbeats never carried non-zero CPU and memory")
	for id, w := range f.api.workers() {
		assert.Equal(t, []string{"douyin"}, w.Capabilities, id)
		assert.Contains(t, string(w.Extra), "outbox_depth", id)
	}

	// Assignment through the REST API reaches a monitor.
	acc1, acc2 := f.createAccount("1001"), f.createAccount("1002")
	holder := func(accID string) *appliance {
		w := f.api.account(accID).WorkerID
		if a := apps[w]; a != nil && a.monitoring(accID) {
			return a
		}
		return nil
	}
	require.Eventually(t, func() bool { return holder(acc1) != nil && holder(acc2) != nil }, waitFor, poll,
		"accounts were not assigned to running monitors")
	holder(acc1).detect(t, acc1, "live-1")
	require.Eventually(t, func() bool { return f.api.notificationsFor("live-1") == 1 }, waitFor, poll)

	// Revocation: pausing stops the monitor; resuming assigns it again.
	was := holder(acc2)
	require.Equal(t, http.StatusOK, f.api.do(http.MethodPatch, "/api/v1/accounts/"+acc2, map[string]any{"status": "paused"}, nil))
	require.Eventually(t, func() bool { return !was.monitoring(acc2) && f.api.account(acc2).WorkerID == "" }, waitFor, poll,
		"pausing did not revoke the account")
	require.Equal(t, http.StatusOK, f.api.do(http.MethodPatch, "/api/v1/accounts/"+acc2, map[string]any{"status": "active"}, nil))
	require.Eventually(t, func() bool { return holder(acc2) != nil }, waitFor, poll, "resuming did not assign the account")

	// kill -9 of the appliance holding acc1: its accounts reach the other
	// one within the configured timeouts.
	victim := holder(acc1)
	survivor := apps["w-a1"]
	if victim == survivor {
		survivor = apps["w-a2"]
	}
	killed := time.Now()
	victim.kill()
	bound := max(disconnectGrace, livenessTimeout) + 3*time.Second // sweep, assign and ack round trips
	require.Eventually(t, func() bool {
		return f.api.account(acc1).WorkerID == survivor.id && f.api.account(acc2).WorkerID == survivor.id &&
			survivor.monitoring(acc1) && survivor.monitoring(acc2)
	}, bound, poll, "accounts did not fail over within %s", bound)
	t.Logf("failover after kill -9 took %s (disconnect grace %s, liveness timeout %s)",
		time.Since(killed).Round(time.Millisecond), disconnectGrace, livenessTimeout)

	// A message detected while the master is down is delivered exactly once
	// after it comes back on the same address and data.
	f.stopMaster()
	detectedRE := regexp.MustCompile(`msg=detected .*account_id=` + regexp.QuoteMeta(acc1))
	before := survivor.countLog(detectedRE)
	survivor.detect(t, acc1, "offline-1")
	require.Eventually(t, func() bool { return survivor.countLog(detectedRE) > before }, waitFor, poll,
		"the appliance did not store the detection")
	f.startMaster(f.addr)
	require.Eventually(t, func() bool { return f.api.notificationsFor("offline-1") == 1 }, waitFor, poll,
		"the message detected during the outage never arrived")
	require.Eventually(t, func() bool { return outboxDepth(t, f.api.workers()[survivor.id]) == 0 }, waitFor, poll)
	assert.Equal(t, 1, f.api.notificationsFor("offline-1"), "delivered more than once")

	// Bring the killed appliance back on its data directory.
	back := f.startAppliance(victim.id, tokens[victim.id], victim.dataDir)
	apps[victim.id] = back
	require.Eventually(t, func() bool { return f.api.workers()[back.id].Connected }, waitFor, poll)

	// master:shutdown drains the survivor: it exits with the status the
	// service does not restart, and its accounts move.
	require.Equal(t, http.StatusAccepted, f.api.do(http.MethodPost, "/api/v1/workers/"+survivor.id+"/shutdown",
		map[string]any{"reason": "e2e", "graceful_timeout": 5}, nil))
	assert.Equal(t, exitCodeShutdownRequested, survivor.waitExit(waitFor))
	require.Eventually(t, func() bool {
		return f.api.account(acc1).WorkerID == back.id && f.api.account(acc2).WorkerID == back.id &&
			back.monitoring(acc1) && back.monitoring(acc2)
	}, waitFor, poll, "drained accounts did not move")
	assert.Equal(t, "offline", f.api.workers()[survivor.id].Status)

	// SIGTERM stops an appliance cleanly (the Socket.IO client must not
	// swallow it).
	assert.Zero(t, back.stop(syscall.SIGTERM, waitFor))
}

// TestWrongTokenRefused checks that an appliance with a bad token is refused,
// keeps running (and retrying), and stops on SIGTERM.
func TestWrongTokenRefused(t *testing.T) {
	f := newFleet(t)
	a := f.startAppliance("w-bad", "not-a-token", "")
	a.waitLog(regexp.MustCompile(`master refused registration.*code=ERR_AUTH_FAILED`), waitFor)
	w, known := f.api.workers()["w-bad"]
	assert.False(t, known && w.Connected, "a refused appliance must not be a connected worker")
	assert.False(t, a.exited(), "a refused appliance keeps running to show the problem on its page")
	assert.NotContains(t, a.log.String(), "not-a-token", "the token must never be logged")
	assert.Zero(t, a.stop(syscall.SIGTERM, waitFor))
}

// outboxDepth reads the outbox depth a worker last reported, or -1.
func outboxDepth(t *testing.T, w worker) int {
	t.Helper()
	var extra struct {
		OutboxDepth *int `json:"outbox_depth"`
	}
	if len(w.Extra) == 0 || json.Unmarshal(w.Extra, &extra) != nil || extra.OutboxDepth == nil {
		return -1
	}
	return *extra.OutboxDepth
}
