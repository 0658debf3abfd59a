package outbox

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// crashEnv makes a re-executed test binary add entries and exit without
// closing the outbox; its value is the database path.
const crashEnv = "TIDEWATCH_OUTBOX_CRASH_DB"

// crashEntries is how many entries the crashing helper adds.
const crashEntries = 20

// TestMain runs the crash helper in re-executed copies of the test binary.
func TestMain(m *testing.M) {
	if path := os.Getenv(crashEnv); path != "" {
		os.Exit(runCrashHelper(path))
	}
	os.Exit(m.Run())
}

// runCrashHelper adds crashEntries entries and exits like a crash would:
// no Close, no checkpoint. It returns the exit status.
func runCrashHelper(path string) int {
	ctx := context.Background()
	o, err := Open(ctx, &Config{Path: path})
	if err != nil {
		return 3
	}
	for i := range crashEntries {
		if _, err = o.Add(ctx, "crash-"+strconv.Itoa(i), "comment", []byte("payload")); err != nil {
			return 4
		}
	}

	return 0
}

// fakeClock is a settable clock for Config.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

// Now returns the clock's time.
func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()

	return c.now
}

// Advance moves the clock forward.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newClock returns a clock at a fixed millisecond-precise instant.
func newClock() *fakeClock {
	return &fakeClock{now: time.UnixMilli(1_700_000_000_123)}
}

// openTest opens an outbox at path, closing it in Cleanup.
func openTest(t testing.TB, cfg *Config) *Outbox {
	t.Helper()

	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	o, err := Open(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = o.Close() })

	return o
}

// keys returns the keys of entries in order.
func keys(entries []Entry) []string {
	ks := make([]string, 0, len(entries))
	for _, e := range entries {
		ks = append(ks, e.Key)
	}

	return ks
}

func TestOutbox_survivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "data", "outbox.db")
	clock := newClock()

	o, err := Open(ctx, &Config{Path: path, Now: clock.Now})
	require.NoError(t, err)
	for i, k := range []string{"m1", "m2", "m3"} {
		added, addErr := o.Add(ctx, k, "comment", []byte("payload-"+k))
		require.NoError(t, addErr)
		require.True(t, added)
		clock.Advance(time.Duration(i+1) * time.Second)
	}
	require.NoError(t, o.MarkAttempt(ctx, "m2"))
	require.NoError(t, o.Close())

	// A reboot: a new process opens the same file.
	o2 := openTest(t, &Config{Path: path, Now: clock.Now})
	depth, err := o2.Depth(ctx)
	require.NoError(t, err)
	assert.Equal(t, 3, depth)

	got, err := o2.Pending(ctx, 10)
	require.NoError(t, err)
	require.Len(t, got, 3)
	assert.Equal(t, []string{"m1", "m2", "m3"}, keys(got))
	assert.Equal(t, []byte("payload-m2"), got[1].Payload)
	assert.Equal(t, "comment", got[1].Kind)
	assert.True(t, got[0].CreatedAt.Equal(time.UnixMilli(1_700_000_000_123)), "created %v", got[0].CreatedAt)
	assert.Equal(t, 1, got[1].Attempts)
	assert.False(t, got[1].LastAttemptAt.IsZero())
	assert.True(t, got[0].LastAttemptAt.IsZero())

	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
}

func TestOutbox_survivesCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "helper output: %s", out)

	o := openTest(t, &Config{Path: path})
	depth, err := o.Depth(context.Background())
	require.NoError(t, err)
	assert.Equal(t, crashEntries, depth)
}

func TestOutbox_Add_idempotent(t *testing.T) {
	ctx := context.Background()
	o := openTest(t, &Config{Path: filepath.Join(t.TempDir(), "outbox.db")})

	added, err := o.Add(ctx, "m1", "comment", []byte("first"))
	require.NoError(t, err)
	assert.True(t, added)

	added, err = o.Add(ctx, "m1", "direct_message", []byte("second"))
	require.NoError(t, err)
	assert.False(t, added)

	got, err := o.Pending(ctx, 10)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "comment", got[0].Kind, "the stored entry is kept")
	assert.Equal(t, []byte("first"), got[0].Payload)

	acked, err := o.Ack(ctx, "m1")
	require.NoError(t, err)
	require.True(t, acked)

	added, err = o.Add(ctx, "m1", "comment", nil)
	require.NoError(t, err)
	assert.True(t, added, "keys are only remembered while pending")
	got, err = o.Pending(ctx, 10)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.NotNil(t, got[0].Payload)
	assert.Empty(t, got[0].Payload)
}

func TestOutbox_order(t *testing.T) {
	ctx := context.Background()
	o := openTest(t, &Config{Path: filepath.Join(t.TempDir(), "outbox.db")})

	for _, k := range []string{"c", "a", "b", "e", "d"} {
		_, err := o.Add(ctx, k, "comment", []byte(k))
		require.NoError(t, err)
	}

	got, err := o.Pending(ctx, 3)
	require.NoError(t, err)
	assert.Equal(t, []string{"c", "a", "b"}, keys(got))
	assert.Less(t, got[0].Seq, got[1].Seq)

	// Acking the newest and re-adding must not reuse its position.
	_, err = o.Ack(ctx, "d")
	require.NoError(t, err)
	_, err = o.Ack(ctx, "a")
	require.NoError(t, err)
	_, err = o.Add(ctx, "f", "comment", nil)
	require.NoError(t, err)
	_, err = o.Add(ctx, "d", "comment", nil)
	require.NoError(t, err)

	got, err = o.Pending(ctx, 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"c", "b", "e", "f", "d"}, keys(got))

	_, err = o.Pending(ctx, 0)
	assert.EqualError(t, err, "outbox: pending: limit 0, want > 0")
}

func TestOutbox_Ack(t *testing.T) {
	ctx := context.Background()
	o := openTest(t, &Config{Path: filepath.Join(t.TempDir(), "outbox.db")})

	acked, err := o.Ack(ctx, "never-added")
	require.NoError(t, err)
	assert.False(t, acked)

	_, err = o.Add(ctx, "m1", "comment", nil)
	require.NoError(t, err)
	acked, err = o.Ack(ctx, "m1")
	require.NoError(t, err)
	assert.True(t, acked)
	acked, err = o.Ack(ctx, "m1")
	require.NoError(t, err)
	assert.False(t, acked, "a repeated ack finds nothing")

	depth, err := o.Depth(ctx)
	require.NoError(t, err)
	assert.Zero(t, depth)
}

func TestOutbox_MarkAttempt(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	o := openTest(t, &Config{Path: filepath.Join(t.TempDir(), "outbox.db"), Now: clock.Now})

	_, err := o.Add(ctx, "m1", "comment", nil)
	require.NoError(t, err)
	clock.Advance(time.Minute)
	require.NoError(t, o.MarkAttempt(ctx, "m1"))
	clock.Advance(time.Minute)
	require.NoError(t, o.MarkAttempt(ctx, "m1"))
	require.NoError(t, o.MarkAttempt(ctx, "unknown"))

	got, err := o.Pending(ctx, 1)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, 2, got[0].Attempts)
	assert.True(t, got[0].LastAttemptAt.Equal(clock.Now()), "last attempt %v", got[0].LastAttemptAt)
	assert.True(t, got[0].CreatedAt.Equal(clock.Now().Add(-2*time.Minute)))
}

func TestOutbox_concurrentAdders(t *testing.T) {
	ctx := context.Background()
	o := openTest(t, &Config{Path: filepath.Join(t.TempDir(), "outbox.db")})

	const (
		adders = 8
		perAdd = 25
		unique = 100
	)
	var added atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, adders*perAdd)
	for a := range adders {
		wg.Go(func() {
			for i := range perAdd {
				// Adders overlap on keys, as monitors re-detect messages.
				k := fmt.Sprintf("m%03d", (a*perAdd+i)%unique)
				ok, err := o.Add(ctx, k, "comment", []byte(k))
				if err != nil {
					errs <- err

					continue
				}
				if ok {
					added.Add(1)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}

	assert.Equal(t, int64(unique), added.Load())
	depth, err := o.Depth(ctx)
	require.NoError(t, err)
	assert.Equal(t, unique, depth)
}

func TestOutbox_MaxEntries(t *testing.T) {
	ctx := context.Background()
	o := openTest(t, &Config{Path: filepath.Join(t.TempDir(), "outbox.db"), MaxEntries: 3})

	for _, k := range []string{"m1", "m2", "m3"} {
		added, err := o.Add(ctx, k, "comment", nil)
		require.NoError(t, err)
		require.True(t, added)
	}

	added, err := o.Add(ctx, "m4", "comment", nil)
	assert.ErrorIs(t, err, ErrFull)
	assert.EqualError(t, err, `outbox: adding "m4": outbox full: 3 entries`)
	assert.False(t, added)

	added, err = o.Add(ctx, "m2", "comment", nil)
	assert.NoError(t, err, "a pending key is not refused when full")
	assert.False(t, added)

	_, err = o.Ack(ctx, "m1")
	require.NoError(t, err)
	added, err = o.Add(ctx, "m4", "comment", nil)
	require.NoError(t, err)
	assert.True(t, added)

	got, err := o.Pending(ctx, 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"m2", "m3", "m4"}, keys(got))
}

func TestOutbox_Add_rejects(t *testing.T) {
	ctx := context.Background()
	o := openTest(t, &Config{Path: filepath.Join(t.TempDir(), "outbox.db"), MaxPayloadBytes: 8})

	_, err := o.Add(ctx, "", "comment", nil)
	assert.EqualError(t, err, "outbox: empty key")
	_, err = o.Add(ctx, "m1", "", nil)
	assert.EqualError(t, err, "outbox: empty kind")
	_, err = o.Add(ctx, "m1", "comment", make([]byte, 9))
	assert.ErrorIs(t, err, ErrPayloadTooLarge)

	depth, err := o.Depth(ctx)
	require.NoError(t, err)
	assert.Zero(t, depth)
}

func TestOpen_durableSettings(t *testing.T) {
	o := openTest(t, &Config{Path: filepath.Join(t.TempDir(), "outbox.db")})
	ctx := context.Background()

	var mode string
	require.NoError(t, o.db.QueryRowContext(ctx, sqlJournalMode).Scan(&mode))
	assert.Equal(t, "wal", mode)
	var sync int
	require.NoError(t, o.db.QueryRowContext(ctx, sqlSynchronous).Scan(&sync))
	assert.Equal(t, synchronousFull, sync)
	var busy int
	require.NoError(t, o.db.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&busy))
	assert.Equal(t, int(DefaultBusyTimeout/time.Millisecond), busy)
	var version int
	require.NoError(t, o.db.QueryRowContext(ctx, sqlSelectSchemaVersion).Scan(&version))
	assert.Equal(t, len(migrations), version)
}

func TestOpen_newerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "outbox.db")
	o, err := Open(ctx, &Config{Path: path})
	require.NoError(t, err)
	require.NoError(t, o.Close())

	db, err := sql.Open(driverName, path)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, sqlUpdateSchemaVersion, 99)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	_, err = Open(ctx, &Config{Path: path})
	assert.ErrorContains(t, err, "schema version 99 is newer than this program's 1")
}

func TestOpen_badConfig(t *testing.T) {
	testCases := []struct {
		name       string
		cfg        *Config
		wantErrMsg string
	}{{
		name:       "nil",
		cfg:        nil,
		wantErrMsg: "outbox: nil config",
	}, {
		name:       "no path",
		cfg:        &Config{},
		wantErrMsg: "outbox: empty path",
	}, {
		name:       "query in path",
		cfg:        &Config{Path: "outbox.db?_journal_mode=DELETE"},
		wantErrMsg: `outbox: path "outbox.db?_journal_mode=DELETE": "?" and "#" are not allowed`,
	}, {
		name:       "negative max entries",
		cfg:        &Config{Path: "x.db", MaxEntries: -1},
		wantErrMsg: "outbox: negative max entries -1",
	}, {
		name:       "negative busy timeout",
		cfg:        &Config{Path: "x.db", BusyTimeout: -time.Second},
		wantErrMsg: "outbox: negative busy timeout -1s",
	}}

	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(context.Background(), tc.cfg)
			assert.EqualError(t, err, tc.wantErrMsg)
		})
	}
}

// BenchmarkOutbox_AddAck measures one durable Add plus its Ack: two
// committed, fsynced transactions per operation, with the outbox empty and
// with it holding half its default bound (Add counts the entries).
func BenchmarkOutbox_AddAck(b *testing.B) {
	for _, depth := range []int{0, DefaultMaxEntries / 2} {
		b.Run("depth="+strconv.Itoa(depth), func(b *testing.B) {
			benchmarkAddAck(b, depth)
		})
	}
}

// benchmarkAddAck runs BenchmarkOutbox_AddAck over an outbox holding depth
// entries.
func benchmarkAddAck(b *testing.B, depth int) {
	ctx := context.Background()
	o := openTest(b, &Config{Path: filepath.Join(b.TempDir(), "outbox.db")})
	payload := make([]byte, 512)

	// Prefill in one transaction; durable Adds one by one would take
	// seconds.
	tx, err := o.db.BeginTx(ctx, nil)
	require.NoError(b, err)
	for i := range depth {
		_, err = tx.ExecContext(ctx, sqlInsert, "old"+strconv.Itoa(i), "comment", payload, int64(i))
		require.NoError(b, err)
	}
	require.NoError(b, tx.Commit())

	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := "m" + strconv.Itoa(i)
		i++
		if _, err := o.Add(ctx, k, "comment", payload); err != nil {
			b.Fatal(err)
		}
		if _, err := o.Ack(ctx, k); err != nil {
			b.Fatal(err)
		}
	}
}
