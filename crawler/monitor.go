// Package crawler defines what a platform monitor is to the appliance, and
// its subpackages implement monitors: one per assigned account, each polling
// its platform through a shared headless browser.
//
// The appliance supervises monitors only through [Factory], [Monitor] and
// [Sink], so its tests can drive an in-test monitor and the browser code
// never learns about sockets, outboxes or the master.
package crawler

import (
	"context"
	"time"

	"github.com/tidewatch/tidewatch/protocol"
)

// Account is what a monitor needs to watch one account.
type Account struct {
	// ID is the master's account id.
	ID string
	// Platform is the platform name, such as "douyin".
	Platform string
	// PlatformAccountID is the account's own id on the platform (its uid),
	// used to tell the creator's own comments and messages apart.
	PlatformAccountID string
	// Name is the account's display name.
	Name string
	// Credentials is the opened credential blob (for Douyin, a JSON cookie
	// jar plus localStorage values). It is kept in memory only.
	Credentials []byte
	// Interval is the poll interval before jitter.
	Interval time.Duration
	// AssignedAt is when this appliance was given the account; items older
	// than it (less the backlog window) are the baseline, not news.
	AssignedAt time.Time
}

// Detection is one new item found by a monitor.
type Detection struct {
	// MessageType is protocol.MessageTypeComment or
	// protocol.MessageTypeDirectMessage.
	MessageType string
	// Data is the item, its ID field a stable id unique per account and type.
	Data protocol.MessageData
}

// PollResult summarises one poll cycle for the appliance's status page.
type PollResult struct {
	At       time.Time
	Found    int
	Duration time.Duration
	// Err is the cycle's failure, if any; ErrorType classifies it.
	Err       error
	ErrorType string
}

// Sink receives what a monitor observes. Implementations must be safe for
// concurrent use; Detected must not return before the item is durable.
type Sink interface {
	// Detected hands over new items. An error means they were not stored
	// and the monitor must offer them again on its next cycle.
	Detected(ctx context.Context, accountID string, items []Detection) error
	// Failed reports a classified failure (protocol.ErrorType*) with the
	// number of retries so far.
	Failed(ctx context.Context, accountID, errorType, message string, retryCount int)
	// CredentialsChanged hands over a rolled credential blob.
	CredentialsChanged(ctx context.Context, accountID string, credentials []byte, expiresAt time.Time)
	// Polled reports the end of a poll cycle.
	Polled(accountID string, r PollResult)
}

// Monitor watches one account until its context ends or it is stopped.
type Monitor interface {
	// Stop ends the monitor and waits for it to release its resources.
	Stop(ctx context.Context) error
	// UpdateCredentials replaces the account's credentials, for example
	// after a new login; a monitor stopped by an auth failure resumes.
	UpdateCredentials(credentials []byte)
}

// Factory starts monitors for one platform.
type Factory interface {
	// Platform is the capability this factory provides, such as "douyin".
	Platform() string
	// Start begins watching acc, reporting to sink. It returns quickly; the
	// monitor runs until Stop or until ctx ends.
	Start(ctx context.Context, acc Account, sink Sink) (Monitor, error)
	// Close releases shared resources (the browser) once all monitors are
	// stopped.
	Close(ctx context.Context) error
}
