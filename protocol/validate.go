package protocol

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Field limits. They bound what one message can make the master store.
const (
	maxIDLen      = 128
	maxNameLen    = 256
	maxContentLen = 16 << 10
	maxSealedLen  = 128 << 10
	maxAccounts   = 1000
	maxInterval   = 24 * 60 * 60
	maxListLen    = 32
)

// checker collects the first problem found, so Validate methods read as a
// list of rules.
type checker struct{ err error }

func (c *checker) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf(format, args...)
	}
}

// required checks a non-empty string field of bounded length.
func (c *checker) required(field, v string, maxLen int) {
	if strings.TrimSpace(v) == "" {
		c.fail("%s is required", field)
		return
	}
	c.optional(field, v, maxLen)
}

// optional checks a possibly empty string field of bounded length.
func (c *checker) optional(field, v string, maxLen int) {
	switch {
	case !utf8.ValidString(v):
		c.fail("%s is not valid UTF-8", field)
	case len(v) > maxLen:
		c.fail("%s is longer than %d bytes", field, maxLen)
	}
}

// oneOf checks an enumerated field.
func (c *checker) oneOf(field, v string, allowed ...string) {
	if !slices.Contains(allowed, v) {
		c.fail("%s must be one of %s, not %q", field, strings.Join(allowed, ", "), v)
	}
}

// between checks an integer range.
func (c *checker) between(field string, v, lo, hi int) {
	if v < lo || v > hi {
		c.fail("%s must be between %d and %d, not %d", field, lo, hi, v)
	}
}

// nonNegative checks a float figure.
func (c *checker) nonNegative(field string, v float64) {
	if v < 0 || v != v {
		c.fail("%s must be a non-negative number", field)
	}
}

// Validate implements Validator.
func (p *WorkerRegister) Validate() error {
	var c checker
	c.required("worker_id", p.WorkerID, maxIDLen)
	c.optional("host", p.Host, maxNameLen)
	c.between("port", p.Port, 0, 65535)
	c.optional("version", p.Version, maxIDLen)
	c.optional("name", p.Name, maxNameLen)
	c.optional("auth_token", p.AuthToken, maxNameLen)
	if len(p.Capabilities) == 0 {
		c.fail("capabilities must list at least one platform")
	}
	if len(p.Capabilities) > maxListLen {
		c.fail("capabilities lists more than %d platforms", maxListLen)
	}
	for i, cap := range p.Capabilities {
		c.required(fmt.Sprintf("capabilities[%d]", i), cap, maxIDLen)
	}
	c.between("max_accounts", p.MaxAccounts, 0, maxAccounts)
	return c.err
}

// Validate implements Validator.
func (p *WorkerRegisterAck) Validate() error {
	var c checker
	for i, a := range p.AssignedAccounts {
		c.required(fmt.Sprintf("assigned_accounts[%d].id", i), a.ID, maxIDLen)
		c.required(fmt.Sprintf("assigned_accounts[%d].platform", i), a.Platform, maxIDLen)
		c.between(fmt.Sprintf("assigned_accounts[%d].monitor_interval", i), a.MonitorInterval, 0, maxInterval)
	}
	return c.err
}

// Validate implements Validator.
func (p *WorkerHeartbeat) Validate() error {
	var c checker
	c.required("worker_id", p.WorkerID, maxIDLen)
	c.oneOf("status", p.Status, WorkerStatusOnline, WorkerStatusBusy, WorkerStatusDraining)
	c.between("active_tasks", p.ActiveTasks, 0, maxAccounts)
	c.nonNegative("memory_usage", p.MemoryUsage)
	c.nonNegative("cpu_usage", p.CPUUsage)
	if p.OutboxDepth != nil && *p.OutboxDepth < 0 {
		c.fail("outbox_depth must not be negative")
	}
	return c.err
}

// Validate implements Validator.
func (p *MessageDetected) Validate() error {
	var c checker
	c.required("worker_id", p.WorkerID, maxIDLen)
	c.required("account_id", p.AccountID, maxIDLen)
	c.oneOf("message_type", p.MessageType, MessageTypeComment, MessageTypeDirectMessage)
	d := p.Data
	c.required("data.id", d.ID, maxIDLen)
	switch p.MessageType {
	case MessageTypeComment:
		c.required("data.platform_comment_id", string(d.PlatformCommentID), maxIDLen)
	case MessageTypeDirectMessage:
		if d.PlatformMessageID == "" && d.PlatformCommentID == "" {
			c.fail("data.platform_message_id is required")
		}
		c.optional("data.platform_message_id", string(d.PlatformMessageID), maxIDLen)
	}
	c.optional("data.content", d.Content, maxContentLen)
	c.optional("data.author_name", d.AuthorName, maxNameLen)
	c.optional("data.author_id", string(d.AuthorID), maxIDLen)
	c.optional("data.sender_name", d.SenderName, maxNameLen)
	c.optional("data.sender_id", string(d.SenderID), maxIDLen)
	c.optional("data.conversation_id", d.ConversationID, maxNameLen)
	c.optional("data.post_id", string(d.PostID), maxIDLen)
	c.optional("data.post_title", d.PostTitle, maxContentLen)
	return c.err
}

// Validate implements Validator.
func (p *MessageAck) Validate() error {
	var c checker
	c.required("message_id", p.MessageID, maxIDLen)
	return c.err
}

// Validate implements Validator.
func (p *WorkerError) Validate() error {
	var c checker
	c.required("worker_id", p.WorkerID, maxIDLen)
	c.oneOf("error_type", p.ErrorType, ErrorTypeAuthFailed, ErrorTypeNetworkError, ErrorTypeRateLimited)
	c.optional("account_id", p.AccountID, maxIDLen)
	c.optional("error_message", p.ErrorMessage, maxContentLen)
	c.optional("details.platform", p.Details.Platform, maxIDLen)
	if p.Details.RetryCount < 0 {
		c.fail("details.retry_count must not be negative")
	}
	return c.err
}

// Validate implements Validator.
func (p *TaskAssign) Validate() error {
	var c checker
	c.required("account_id", p.AccountID, maxIDLen)
	c.required("platform", p.Platform, maxIDLen)
	c.optional("account_credentials", p.AccountCredentials, maxSealedLen)
	c.between("monitor_interval", p.MonitorInterval, 0, maxInterval)
	return c.err
}

// Validate implements Validator.
func (p *TaskAssignAck) Validate() error {
	var c checker
	c.required("account_id", p.AccountID, maxIDLen)
	c.optional("error_message", p.ErrorMessage, maxContentLen)
	return c.err
}

// Validate implements Validator.
func (p *TaskRevoke) Validate() error {
	var c checker
	c.required("account_id", p.AccountID, maxIDLen)
	return c.err
}

// Validate implements Validator.
func (p *Shutdown) Validate() error {
	var c checker
	c.optional("reason", p.Reason, maxNameLen)
	c.between("graceful_timeout", p.GracefulTimeout, 0, maxInterval)
	return c.err
}

// Validate implements Validator.
func (p *CredentialsUpdate) Validate() error {
	var c checker
	c.required("worker_id", p.WorkerID, maxIDLen)
	c.required("account_id", p.AccountID, maxIDLen)
	c.required("credentials", p.Credentials, maxSealedLen)
	return c.err
}

// Validate implements Validator.
func (p *ClientConnect) Validate() error {
	var c checker
	c.required("device_id", p.DeviceID, maxIDLen)
	c.oneOf("device_type", p.DeviceType, DeviceDesktop, DeviceIOS, DeviceAndroid, DeviceWeb, DeviceCLI)
	c.optional("device_name", p.DeviceName, maxNameLen)
	if p.AuthToken == "" {
		c.fail("auth_token is required")
	}
	c.optional("auth_token", p.AuthToken, 4096)
	return c.err
}

// Validate implements Validator.
func (p *SyncRequest) Validate() error {
	var c checker
	c.optional("device_id", p.DeviceID, maxIDLen)
	if p.Cursor != "" && !isDigits(string(p.Cursor)) {
		c.fail("cursor must be a cursor returned by the master")
	}
	c.between("limit", p.Limit, 0, 1000)
	return c.err
}

// Validate implements Validator.
func (p *NotificationRead) Validate() error {
	var c checker
	c.required("notification_id", p.NotificationID, maxIDLen)
	return c.err
}

// Validate implements Validator.
func (p *NotificationPush) Validate() error {
	var c checker
	c.required("id", p.ID, maxIDLen)
	c.oneOf("type", p.Type, MessageTypeComment, MessageTypeDirectMessage)
	c.required("account_id", p.AccountID, maxIDLen)
	return c.err
}

// Validate implements Validator.
func (p *AccountUpdate) Validate() error {
	var c checker
	c.required("account_id", p.AccountID, maxIDLen)
	c.required("status", p.Status, maxIDLen)
	return c.err
}

// Validate implements Validator.
func (p *SuccessAck) Validate() error { return nil }

// Validate implements Validator.
func (p *ErrorPayload) Validate() error {
	if p.ErrorCode == "" {
		return errors.New("error_code is required")
	}
	return nil
}

// isDigits reports whether s is a non-empty run of ASCII digits of a size
// that fits an int64.
func isDigits(s string) bool {
	if s == "" || len(s) > 18 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
