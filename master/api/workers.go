package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/tidewatch/tidewatch/master/hub"
	"github.com/tidewatch/tidewatch/master/store"
	"github.com/tidewatch/tidewatch/protocol"
)

// Shutdown grace bounds (seconds).
const (
	defaultShutdownGrace = 30
	maxShutdownGrace     = 60 * 60
)

// workerView is a worker as the API shows it: the stored row plus the
// hub's live view.
type workerView struct {
	ID              string                `json:"id"`
	TokenID         string                `json:"token_id"`
	Host            string                `json:"host"`
	Port            int                   `json:"port"`
	Version         string                `json:"version"`
	Capabilities    []string              `json:"capabilities"`
	MaxAccounts     int                   `json:"max_accounts"`
	Status          string                `json:"status"`
	Connected       bool                  `json:"connected"`
	ConnectedAt     int64                 `json:"connected_at"`
	LastSeenAt      int64                 `json:"last_seen_at"`
	LastHeartbeatAt int64                 `json:"last_heartbeat_at"`
	CPUUsage        float64               `json:"cpu_usage"`
	MemoryUsage     float64               `json:"memory_usage"`
	ActiveTasks     int                   `json:"active_tasks"`
	Extra           json.RawMessage       `json:"extra"`
	Accounts        []string              `json:"accounts"`
	History         []hub.HeartbeatSample `json:"history"`
}

// workerList is the body of GET /workers.
type workerList struct {
	Workers          []workerView `json:"workers"`
	ClientsConnected int          `json:"clients_connected"`
}

// workerStatus combines the stored status with the live view: a worker
// without a socket is offline whatever its row says (the row survives a
// master restart).
func workerStatus(w store.Worker, live hub.WorkerLive) string {
	switch {
	case !live.Connected || !live.Online:
		return protocol.WorkerStatusOffline
	case live.Draining:
		return protocol.WorkerStatusDraining
	case w.Status == "":
		return protocol.WorkerStatusOnline
	default:
		return w.Status
	}
}

// handleListWorkers lists every worker with its live state and the accounts
// assigned to it. Admin only: it shows every appliance's address and every
// user's account ids.
func (a *api) handleListWorkers(c echo.Context, _ store.Viewer) error {
	ctx := c.Request().Context()
	ws, err := a.st.ListWorkers(ctx)
	if err != nil {
		return fmt.Errorf("listing workers: %w", err)
	}
	accs, err := a.st.ListAccounts(ctx, store.Viewer{Admin: true})
	if err != nil {
		return fmt.Errorf("listing accounts: %w", err)
	}
	byWorker := map[string][]string{}
	for _, acc := range accs {
		if acc.WorkerID != "" {
			byWorker[acc.WorkerID] = append(byWorker[acc.WorkerID], acc.ID)
		}
	}
	out := workerList{Workers: make([]workerView, 0, len(ws)), ClientsConnected: a.fleet.ClientsConnected()}
	for _, w := range ws {
		live := a.fleet.WorkerLive(w.ID)
		wv := workerView{
			ID: w.ID, TokenID: w.TokenID, Host: w.Host, Port: w.Port, Version: w.Version,
			Capabilities: w.Capabilities, MaxAccounts: w.MaxAccounts, Status: workerStatus(w, live),
			Connected: live.Connected, ConnectedAt: unix(w.ConnectedAt), LastSeenAt: unix(w.LastSeenAt),
			LastHeartbeatAt: unix(w.LastHeartbeatAt), CPUUsage: w.CPUUsage, MemoryUsage: w.MemoryUsage,
			ActiveTasks: w.ActiveTasks, Extra: w.Extra, Accounts: byWorker[w.ID], History: live.History,
		}
		if wv.Capabilities == nil {
			wv.Capabilities = []string{}
		}
		if wv.Accounts == nil {
			wv.Accounts = []string{}
		}
		if wv.History == nil {
			wv.History = []hub.HeartbeatSample{}
		}
		out.Workers = append(out.Workers, wv)
	}
	return c.JSON(http.StatusOK, out)
}

// shutdownRequest is the body of POST /workers/{id}/shutdown; an empty body
// is allowed.
type shutdownRequest struct {
	Reason          string `json:"reason"`
	GracefulTimeout *int   `json:"graceful_timeout"`
}

// shutdownResponse answers an accepted shutdown.
type shutdownResponse struct {
	WorkerID        string `json:"worker_id"`
	Reason          string `json:"reason"`
	GracefulTimeout int    `json:"graceful_timeout"`
}

// handleShutdownWorker moves a worker's accounts away and tells it to shut
// down.
func (a *api) handleShutdownWorker(c echo.Context, v store.Viewer) error {
	id, err := pathID(c, "worker")
	if err != nil {
		return err
	}
	var req shutdownRequest
	if err := decodeOptionalJSON(c, &req); err != nil {
		return err
	}
	if err := checkText("reason", req.Reason, maxNameLen, false); err != nil {
		return err
	}
	grace := defaultShutdownGrace
	if req.GracefulTimeout != nil {
		grace = *req.GracefulTimeout
	}
	if grace < 0 || grace > maxShutdownGrace {
		return badRequest("graceful_timeout must be between 0 and %d seconds, not %d", maxShutdownGrace, grace)
	}
	ctx := c.Request().Context()
	if _, err := a.st.GetWorker(ctx, id); errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, codeNotFound, "no such worker")
	} else if err != nil {
		return fmt.Errorf("reading worker: %w", err)
	}
	err = a.fleet.ShutdownWorker(ctx, id, req.Reason, time.Duration(grace)*time.Second)
	if errors.Is(err, hub.ErrWorkerOffline) {
		return errorf(http.StatusConflict, codeWorkerOffline, "worker %s is offline", id)
	}
	if err != nil {
		return fmt.Errorf("shutting worker down: %w", err)
	}
	a.log.InfoContext(ctx, "worker shutdown requested", "worker_id", id, "by", v.UserID)
	return c.JSON(http.StatusAccepted, shutdownResponse{WorkerID: id, Reason: req.Reason, GracefulTimeout: grace})
}
