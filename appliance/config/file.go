package config

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// File names inside the data directory.
const (
	// FileName is the configuration file.
	FileName = "appliance.json"
	// KeyFileName holds the random key that seals the enrollment token.
	KeyFileName = "secret.key"
)

// Permissions of what this package writes: the files hold a sealed secret and
// a password hash, so only the service user may read them.
const (
	fileMode fs.FileMode = 0o600
	dirMode  fs.FileMode = 0o700
)

// fileConfig is the on-disk shape of [Config]. Durations are Go duration
// strings ("10s") so a person can edit the file; the token is sealed.
type fileConfig struct {
	MasterURL            string `json:"master_url,omitempty"`
	TokenSealed          string `json:"token_sealed,omitempty"`
	WorkerID             string `json:"worker_id,omitempty"`
	WorkerName           string `json:"worker_name,omitempty"`
	MaxAccounts          int    `json:"max_accounts,omitempty"`
	SetupListen          string `json:"setup_listen,omitempty"`
	HeartbeatInterval    string `json:"heartbeat_interval,omitempty"`
	ConnectTimeout       string `json:"connect_timeout,omitempty"`
	ReconnectMin         string `json:"reconnect_min,omitempty"`
	ReconnectMax         string `json:"reconnect_max,omitempty"`
	ShutdownGrace        string `json:"shutdown_grace,omitempty"`
	OutboxResendInterval string `json:"outbox_resend_interval,omitempty"`
	ChromiumPath         string `json:"chromium_path,omitempty"`
	DouyinWWWOrigin      string `json:"douyin_www_origin,omitempty"`
	DouyinCreatorOrigin  string `json:"douyin_creator_origin,omitempty"`
	SetupPasswordHash    string `json:"setup_password_hash,omitempty"`
}

// Load reads the configuration of dataDir. A missing file gives the defaults.
// When the file has no worker id, Load generates one and writes the file at
// once, so the id stays the same across restarts even if setup never
// finishes. Load creates dataDir (mode 0700) when it does not exist. It does
// not validate: call [Config.Validate] after applying overrides.
func Load(dataDir string) (*Config, error) {
	if dataDir == "" {
		return nil, errors.New("loading config: data directory is empty")
	}
	if err := os.MkdirAll(dataDir, dirMode); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}

	cfg := New(dataDir)
	data, err := os.ReadFile(filepath.Join(dataDir, FileName))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// First run: defaults.
	case err != nil:
		return nil, fmt.Errorf("reading config: %w", err)
	default:
		if err = decode(cfg, data); err != nil {
			return nil, fmt.Errorf("reading %s: %w", FileName, err)
		}
	}

	if cfg.WorkerID == "" {
		if cfg.WorkerID, err = NewWorkerID(); err != nil {
			return nil, fmt.Errorf("generating worker id: %w", err)
		}
		if err = Save(cfg); err != nil {
			return nil, fmt.Errorf("keeping generated worker id: %w", err)
		}
	}
	return cfg, nil
}

// decode fills cfg from the file's bytes, keeping defaults for fields the file
// leaves out.
func decode(cfg *Config, data []byte) error {
	var fc fileConfig
	if err := json.Unmarshal(data, &fc); err != nil {
		return fmt.Errorf("decoding json: %w", err)
	}
	setString(&cfg.MasterURL, fc.MasterURL)
	setString(&cfg.WorkerID, fc.WorkerID)
	setString(&cfg.WorkerName, fc.WorkerName)
	setString(&cfg.SetupListen, fc.SetupListen)
	setString(&cfg.ChromiumPath, fc.ChromiumPath)
	setString(&cfg.DouyinWWWOrigin, fc.DouyinWWWOrigin)
	setString(&cfg.DouyinCreatorOrigin, fc.DouyinCreatorOrigin)
	setString(&cfg.SetupPasswordHash, fc.SetupPasswordHash)
	if fc.MaxAccounts != 0 {
		cfg.MaxAccounts = fc.MaxAccounts
	}
	for _, d := range []struct {
		field string
		raw   string
		dst   *time.Duration
	}{
		{"heartbeat_interval", fc.HeartbeatInterval, &cfg.HeartbeatInterval},
		{"connect_timeout", fc.ConnectTimeout, &cfg.ConnectTimeout},
		{"reconnect_min", fc.ReconnectMin, &cfg.ReconnectMin},
		{"reconnect_max", fc.ReconnectMax, &cfg.ReconnectMax},
		{"shutdown_grace", fc.ShutdownGrace, &cfg.ShutdownGrace},
		{"outbox_resend_interval", fc.OutboxResendInterval, &cfg.OutboxResendInterval},
	} {
		if d.raw == "" {
			continue
		}
		v, err := time.ParseDuration(d.raw)
		if err != nil {
			return fmt.Errorf("%s: %w", d.field, err)
		}
		*d.dst = v
	}
	if fc.TokenSealed != "" {
		token, err := openToken(cfg.DataDir, fc.TokenSealed)
		if err != nil {
			return fmt.Errorf("token: %w", err)
		}
		cfg.Token = token
	}
	return nil
}

// setString sets *dst to v unless v is empty.
func setString(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

// Save writes cfg to its data directory atomically (temporary file, fsync,
// rename) with mode 0600. The token is sealed; a fresh nonce is used on every
// save. Save does not validate.
func Save(cfg *Config) error {
	if cfg.DataDir == "" {
		return errors.New("saving config: data directory is empty")
	}
	fc := fileConfig{
		MasterURL:            cfg.MasterURL,
		WorkerID:             cfg.WorkerID,
		WorkerName:           cfg.WorkerName,
		MaxAccounts:          cfg.MaxAccounts,
		SetupListen:          cfg.SetupListen,
		HeartbeatInterval:    cfg.HeartbeatInterval.String(),
		ConnectTimeout:       cfg.ConnectTimeout.String(),
		ReconnectMin:         cfg.ReconnectMin.String(),
		ReconnectMax:         cfg.ReconnectMax.String(),
		ShutdownGrace:        cfg.ShutdownGrace.String(),
		OutboxResendInterval: cfg.OutboxResendInterval.String(),
		ChromiumPath:         cfg.ChromiumPath,
		DouyinWWWOrigin:      cfg.DouyinWWWOrigin,
		DouyinCreatorOrigin:  cfg.DouyinCreatorOrigin,
		SetupPasswordHash:    cfg.SetupPasswordHash,
	}
	if cfg.Token != "" {
		sealed, err := sealToken(cfg.DataDir, cfg.Token)
		if err != nil {
			return fmt.Errorf("sealing token: %w", err)
		}
		fc.TokenSealed = sealed
	}
	data, err := json.MarshalIndent(fc, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding config: %w", err)
	}
	if err = os.MkdirAll(cfg.DataDir, dirMode); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	if err = writeFileAtomic(filepath.Join(cfg.DataDir, FileName), append(data, '\n')); err != nil {
		return fmt.Errorf("saving config: %w", err)
	}
	return nil
}

// writeFileAtomic replaces path with data so that a reader (or a power cut)
// sees either the old or the new content, never a torn file.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("creating temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(fileMode); err != nil {
		return fmt.Errorf("setting file mode: %w", err)
	}
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("writing temporary file: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("syncing temporary file: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("closing temporary file: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("renaming temporary file: %w", err)
	}
	// Sync the directory so the rename itself survives a power cut; some
	// file systems refuse to sync directories, which is harmless here.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// Store reads and writes the configuration file of one data directory. It
// satisfies the setup page's configuration store.
type Store struct {
	// Dir is the data directory; must not be empty.
	Dir string
}

// Load returns the configuration stored in s.Dir (see [Load]).
func (s *Store) Load(_ context.Context) (*Config, error) {
	return Load(s.Dir)
}

// Save writes cfg into s.Dir, whatever cfg.DataDir says.
func (s *Store) Save(_ context.Context, cfg *Config) error {
	cp := cfg.Clone()
	cp.DataDir = s.Dir
	return Save(cp)
}
