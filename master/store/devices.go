package store

import (
	"context"
	"fmt"
	"time"
)

// Device is a client device of a user, recorded on client:connect.
type Device struct {
	UserID     string
	DeviceID   string
	DeviceType string // desktop, ios, android, web, cli, ...
	DeviceName string
	LastSeenAt time.Time
}

// SQL for devices.
const (
	sqlUpsertDevice = `INSERT INTO devices (user_id, device_id, device_type, device_name, last_seen_at)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (user_id, device_id) DO UPDATE SET
	device_type = excluded.device_type, device_name = excluded.device_name, last_seen_at = excluded.last_seen_at`
	sqlListDevices = `SELECT user_id, device_id, device_type, device_name, last_seen_at FROM devices
WHERE user_id = ? ORDER BY last_seen_at DESC, device_id`
)

// UpsertDevice records a device of a user; zero LastSeenAt means now. It
// returns ErrNotFound if the user does not exist.
func (s *Store) UpsertDevice(ctx context.Context, d Device) error {
	if d.UserID == "" || d.DeviceID == "" {
		return fmt.Errorf("%w: user id and device id are required", ErrInvalid)
	}
	seen := toDB(d.LastSeenAt)
	if seen == 0 {
		seen = s.nowDB()
	}

	_, err := s.wdb.ExecContext(ctx, sqlUpsertDevice, d.UserID, d.DeviceID, d.DeviceType, d.DeviceName, seen)
	if isForeignKeyViolation(err) {
		return fmt.Errorf("user %q: %w", d.UserID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("upserting device: %w", err)
	}

	return nil
}

// ListDevices returns the devices of a user, most recently seen first.
func (s *Store) ListDevices(ctx context.Context, userID string) ([]Device, error) {
	rows, err := s.rdb.QueryContext(ctx, sqlListDevices, userID)
	if err != nil {
		return nil, fmt.Errorf("listing devices: %w", err)
	}
	defer func() { _ = rows.Close() }()

	var devices []Device
	for rows.Next() {
		var (
			d    Device
			seen int64
		)
		if err = rows.Scan(&d.UserID, &d.DeviceID, &d.DeviceType, &d.DeviceName, &seen); err != nil {
			return nil, fmt.Errorf("scanning device: %w", err)
		}
		d.LastSeenAt = fromDB(seen)
		devices = append(devices, d)
	}
	if err = rows.Err(); err != nil {
		return nil, fmt.Errorf("listing devices: %w", err)
	}

	return devices, nil
}
