package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Worker statuses.
const (
	WorkerOnline   = "online"
	WorkerBusy     = "busy" // online, and says it has no room to spare
	WorkerOffline  = "offline"
	WorkerDraining = "draining"
)

// Worker is an appliance as last seen by the master, one row per worker id.
type Worker struct {
	ID              string
	TokenID         string // enrollment token it registered with
	Host            string
	Port            int
	Version         string
	Capabilities    []string // platforms it can monitor
	MaxAccounts     int
	Status          string // WorkerOnline, WorkerOffline or WorkerDraining
	ConnectedAt     time.Time
	LastSeenAt      time.Time
	LastHeartbeatAt time.Time
	ActiveTasks     int
	MemoryUsage     float64         // MB
	CPUUsage        float64         // percent
	Extra           json.RawMessage // optional heartbeat fields, a JSON object or nil
}

// SQL for workers.
const (
	sqlUpsertWorker = `INSERT INTO workers (id, token_id, host, port, version, capabilities, max_accounts,
	status, connected_at, last_seen_at, last_heartbeat_at, active_tasks, memory_usage, cpu_usage, extra)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
	token_id = excluded.token_id, host = excluded.host, port = excluded.port,
	version = excluded.version, capabilities = excluded.capabilities,
	max_accounts = excluded.max_accounts, status = excluded.status,
	connected_at = excluded.connected_at, last_seen_at = excluded.last_seen_at,
	last_heartbeat_at = excluded.last_heartbeat_at, active_tasks = excluded.active_tasks,
	memory_usage = excluded.memory_usage, cpu_usage = excluded.cpu_usage, extra = excluded.extra`
	sqlRecordHeartbeat = `UPDATE workers SET status = ?, active_tasks = ?, memory_usage = ?, cpu_usage = ?,
	extra = ?, last_heartbeat_at = ?, last_seen_at = max(last_seen_at, ?) WHERE id = ?`
	sqlSetWorkerStatus = `UPDATE workers SET status = ? WHERE id = ?`
	sqlWorkerColumns   = `id, token_id, host, port, version, capabilities, max_accounts, status,
	connected_at, last_seen_at, last_heartbeat_at, active_tasks, memory_usage, cpu_usage, extra`
	sqlGetWorker   = `SELECT ` + sqlWorkerColumns + ` FROM workers WHERE id = ?`
	sqlListWorkers = `SELECT ` + sqlWorkerColumns + ` FROM workers ORDER BY id`
)

// validWorkerStatus reports whether st is a known worker status.
func validWorkerStatus(st string) bool {
	switch st {
	case WorkerOnline, WorkerBusy, WorkerOffline, WorkerDraining:
		return true
	default:
		return false
	}
}

// nullJSON stores an empty RawMessage as NULL.
func nullJSON(v json.RawMessage) sql.NullString {
	if len(v) == 0 {
		return sql.NullString{}
	}

	return sql.NullString{String: string(v), Valid: true}
}

// UpsertWorker records a worker on registration, replacing every field of
// an existing row. Empty Status means WorkerOnline; zero ConnectedAt and
// LastSeenAt mean now.
func (s *Store) UpsertWorker(ctx context.Context, w Worker) error {
	if w.ID == "" {
		return fmt.Errorf("%w: empty worker id", ErrInvalid)
	}
	if w.Status == "" {
		w.Status = WorkerOnline
	}
	if !validWorkerStatus(w.Status) {
		return fmt.Errorf("%w: worker status %q", ErrInvalid, w.Status)
	}
	if w.Extra != nil && !json.Valid(w.Extra) {
		return fmt.Errorf("%w: extra is not JSON", ErrInvalid)
	}
	now := fromDB(s.nowDB())
	if w.ConnectedAt.IsZero() {
		w.ConnectedAt = now
	}
	if w.LastSeenAt.IsZero() {
		w.LastSeenAt = now
	}
	caps := w.Capabilities
	if caps == nil {
		caps = []string{}
	}
	capsJSON, err := json.Marshal(caps)
	if err != nil {
		return fmt.Errorf("encoding capabilities: %w", err)
	}

	_, err = s.wdb.ExecContext(ctx, sqlUpsertWorker, w.ID, w.TokenID, w.Host, w.Port, w.Version, string(capsJSON),
		w.MaxAccounts, w.Status, toDB(w.ConnectedAt), toDB(w.LastSeenAt), toDB(w.LastHeartbeatAt),
		w.ActiveTasks, w.MemoryUsage, w.CPUUsage, nullJSON(w.Extra))
	if err != nil {
		return fmt.Errorf("upserting worker: %w", err)
	}

	return nil
}

// RecordHeartbeat stores a heartbeat of a registered worker; zero at means
// now. It returns ErrNotFound for an unknown worker.
func (s *Store) RecordHeartbeat(ctx context.Context, id, status string, activeTasks int, mem, cpu float64,
	extra json.RawMessage, at time.Time,
) error {
	if !validWorkerStatus(status) {
		return fmt.Errorf("%w: worker status %q", ErrInvalid, status)
	}
	if extra != nil && !json.Valid(extra) {
		return fmt.Errorf("%w: extra is not JSON", ErrInvalid)
	}
	atDB := toDB(at)
	if atDB == 0 {
		atDB = s.nowDB()
	}

	res, err := s.wdb.ExecContext(ctx, sqlRecordHeartbeat, status, activeTasks, mem, cpu, nullJSON(extra), atDB, atDB, id)
	if err != nil {
		return fmt.Errorf("recording heartbeat: %w", err)
	}

	return oneRow(res, "worker", id)
}

// SetWorkerStatus changes a worker's status (e.g. to WorkerOffline when its
// heartbeats stop). It returns ErrNotFound for an unknown worker.
func (s *Store) SetWorkerStatus(ctx context.Context, id, status string) error {
	if !validWorkerStatus(status) {
		return fmt.Errorf("%w: worker status %q", ErrInvalid, status)
	}

	res, err := s.wdb.ExecContext(ctx, sqlSetWorkerStatus, status, id)
	if err != nil {
		return fmt.Errorf("setting worker status: %w", err)
	}

	return oneRow(res, "worker", id)
}

// oneRow turns "no row affected" into ErrNotFound.
func oneRow(res sql.Result, what, id string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("counting rows: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("%s %q: %w", what, id, ErrNotFound)
	}

	return nil
}

// scanWorker reads sqlWorkerColumns.
func scanWorker(sc scanner) (Worker, error) {
	var (
		w                      Worker
		caps                   string
		connected, seen, hbeat int64
		extra                  sql.NullString
	)
	err := sc.Scan(&w.ID, &w.TokenID, &w.Host, &w.Port, &w.Version, &caps, &w.MaxAccounts, &w.Status,
		&connected, &seen, &hbeat, &w.ActiveTasks, &w.MemoryUsage, &w.CPUUsage, &extra)
	if err != nil {
		return Worker{}, err
	}
	if err = json.Unmarshal([]byte(caps), &w.Capabilities); err != nil {
		return Worker{}, fmt.Errorf("decoding capabilities: %w", err)
	}
	w.ConnectedAt, w.LastSeenAt, w.LastHeartbeatAt = fromDB(connected), fromDB(seen), fromDB(hbeat)
	if extra.Valid {
		w.Extra = json.RawMessage(extra.String)
	}

	return w, nil
}

// GetWorker returns the worker with id, or ErrNotFound.
func (s *Store) GetWorker(ctx context.Context, id string) (Worker, error) {
	w, err := scanWorker(s.rdb.QueryRowContext(ctx, sqlGetWorker, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Worker{}, fmt.Errorf("worker %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Worker{}, fmt.Errorf("reading worker: %w", err)
	}

	return w, nil
}

// ListWorkers returns every worker ordered by id.
func (s *Store) ListWorkers(ctx context.Context) ([]Worker, error) {
	rows, err := s.rdb.QueryContext(ctx, sqlListWorkers)
	if err != nil {
		return nil, fmt.Errorf("listing workers: %w", err)
	}
	defer func() { _ = rows.Close() }()

	var workers []Worker
	for rows.Next() {
		w, err := scanWorker(rows)
		if err != nil {
			return nil, fmt.Errorf("scanning worker: %w", err)
		}
		workers = append(workers, w)
	}
	if err = rows.Err(); err != nil {
		return nil, fmt.Errorf("listing workers: %w", err)
	}

	return workers, nil
}
