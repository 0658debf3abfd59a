package protocol

// Enumerations of the contract.
const (
	MessageTypeComment       = "comment"
	MessageTypeDirectMessage = "direct_message"

	ErrorTypeAuthFailed   = "auth_failed"
	ErrorTypeNetworkError = "network_error"
	ErrorTypeRateLimited  = "rate_limited"

	DeviceDesktop = "desktop"
	DeviceIOS     = "ios"
	DeviceAndroid = "android"
	DeviceWeb     = "web" // extension: the dashboard and CLI
	DeviceCLI     = "cli" // extension

	WorkerStatusOnline   = "online"
	WorkerStatusBusy     = "busy"
	WorkerStatusDraining = "draining"
	WorkerStatusOffline  = "offline"

	AccountStatusActive      = "active"
	AccountStatusPaused      = "paused"
	AccountStatusError       = "error"
	AccountStatusRateLimited = "rate_limited"
	AccountStatusUnassigned  = "unassigned"
	AccountStatusDeleted     = "deleted"

	PlatformDouyin = "douyin"
)

// WorkerRegister is the payload of worker:register.
type WorkerRegister struct {
	WorkerID     string   `json:"worker_id"`
	Host         string   `json:"host"`
	Port         int      `json:"port"`
	Version      string   `json:"version"`
	Capabilities []string `json:"capabilities"`
	MaxAccounts  int      `json:"max_accounts"`
	// AuthToken is the enrollment token when the handshake did not carry it
	// (extension).
	AuthToken string `json:"auth_token,omitempty"`
	// Name is a human name for the appliance (extension).
	Name string `json:"name,omitempty"`
}

// AssignedAccount is one entry of worker:register:ack's assigned_accounts.
// ID is the master's account id, AccountID the account's id on the platform.
type AssignedAccount struct {
	ID              string `json:"id"`
	Platform        string `json:"platform"`
	AccountID       string `json:"account_id"`
	Credentials     string `json:"credentials"`
	MonitorInterval int    `json:"monitor_interval"`
	AccountName     string `json:"account_name,omitempty"`
}

// WorkerRegisterAck is the payload of worker:register:ack.
type WorkerRegisterAck struct {
	Success          bool              `json:"success"`
	AssignedAccounts []AssignedAccount `json:"assigned_accounts"`
	// HeartbeatInterval tells the worker the master's expected period in
	// seconds (extension).
	HeartbeatInterval int `json:"heartbeat_interval,omitempty"`
}

// SystemInfo carries optional machine figures in a heartbeat (extension).
type SystemInfo struct {
	MemoryTotalMB  float64  `json:"memory_total_mb,omitempty"`
	MemoryUsedMB   float64  `json:"memory_used_mb,omitempty"`
	Load1          float64  `json:"load1,omitempty"`
	Load5          float64  `json:"load5,omitempty"`
	Load15         float64  `json:"load15,omitempty"`
	TemperatureC   *float64 `json:"temperature_c,omitempty"`
	DiskFreeMB     float64  `json:"disk_free_mb,omitempty"`
	UptimeSeconds  int64    `json:"uptime_seconds,omitempty"`
	NumCPU         int      `json:"num_cpu,omitempty"`
	MemoryAccuracy string   `json:"memory_accuracy,omitempty"`
}

// WorkerHeartbeat is the payload of worker:heartbeat.
type WorkerHeartbeat struct {
	WorkerID    string      `json:"worker_id"`
	Status      string      `json:"status"`
	ActiveTasks int         `json:"active_tasks"`
	MemoryUsage float64     `json:"memory_usage"`
	CPUUsage    float64     `json:"cpu_usage"`
	OutboxDepth *int        `json:"outbox_depth,omitempty"`
	System      *SystemInfo `json:"system,omitempty"`
}

// SuccessAck is the payload of acks that carry only success.
type SuccessAck struct {
	Success bool `json:"success"`
}

// MessageData is the detected item inside worker:message:detected. Comments
// fill the platform_comment_id/post fields, direct messages the
// platform_message_id/sender/conversation fields.
type MessageData struct {
	ID                string    `json:"id"`
	PlatformCommentID ID        `json:"platform_comment_id,omitempty"`
	PlatformMessageID ID        `json:"platform_message_id,omitempty"`
	Content           string    `json:"content"`
	AuthorName        string    `json:"author_name,omitempty"`
	AuthorID          ID        `json:"author_id,omitempty"`
	SenderID          ID        `json:"sender_id,omitempty"`
	SenderName        string    `json:"sender_name,omitempty"`
	ConversationID    string    `json:"conversation_id,omitempty"`
	PostID            ID        `json:"post_id,omitempty"`
	PostTitle         string    `json:"post_title,omitempty"`
	CreatedAt         Timestamp `json:"created_at"`
}

// PlatformID returns the platform's id for the item: the comment id or the
// message id, whichever the message type uses.
func (d MessageData) PlatformID(messageType string) string {
	if messageType == MessageTypeDirectMessage {
		if d.PlatformMessageID != "" {
			return string(d.PlatformMessageID)
		}
		return string(d.PlatformCommentID)
	}
	return string(d.PlatformCommentID)
}

// Author returns the author's display name, whichever field carried it.
func (d MessageData) Author() (name, id string) {
	name, id = d.AuthorName, string(d.AuthorID)
	if name == "" {
		name = d.SenderName
	}
	if id == "" {
		id = string(d.SenderID)
	}
	return name, id
}

// MessageDetected is the payload of worker:message:detected.
type MessageDetected struct {
	WorkerID    string      `json:"worker_id"`
	AccountID   string      `json:"account_id"`
	MessageType string      `json:"message_type"`
	Data        MessageData `json:"data"`
}

// MessageAck is the payload of worker:message:ack.
type MessageAck struct {
	Success   bool   `json:"success"`
	MessageID string `json:"message_id"`
	// Duplicate says the master had the item already (extension).
	Duplicate bool `json:"duplicate,omitempty"`
}

// ErrorDetails is worker:error's details object.
type ErrorDetails struct {
	Platform   string `json:"platform,omitempty"`
	RetryCount int    `json:"retry_count,omitempty"`
}

// WorkerError is the payload of worker:error.
type WorkerError struct {
	WorkerID     string       `json:"worker_id"`
	ErrorType    string       `json:"error_type"`
	AccountID    string       `json:"account_id"`
	ErrorMessage string       `json:"error_message"`
	Details      ErrorDetails `json:"details"`
}

// TaskAssign is the payload of master:task:assign. AccountID is the master's
// account id.
type TaskAssign struct {
	AccountID          string `json:"account_id"`
	Platform           string `json:"platform"`
	AccountCredentials string `json:"account_credentials"`
	MonitorInterval    int    `json:"monitor_interval"`
	// PlatformAccountID and AccountName help the monitor tell the creator's
	// own items apart (extension).
	PlatformAccountID string `json:"platform_account_id,omitempty"`
	AccountName       string `json:"account_name,omitempty"`
}

// TaskAssignAck is the payload of master:task:assign:ack.
type TaskAssignAck struct {
	Success      bool   `json:"success"`
	AccountID    string `json:"account_id"`
	ErrorMessage string `json:"error_message,omitempty"`
}

// TaskRevoke is the payload of master:task:revoke.
type TaskRevoke struct {
	AccountID string `json:"account_id"`
}

// Shutdown is the payload of master:shutdown.
type Shutdown struct {
	Reason          string `json:"reason"`
	GracefulTimeout int    `json:"graceful_timeout"`
}

// CredentialsUpdate is the payload of worker:credentials:update (extension):
// an account's rolled cookie jar, sealed like assigned credentials.
type CredentialsUpdate struct {
	WorkerID    string    `json:"worker_id"`
	AccountID   string    `json:"account_id"`
	Credentials string    `json:"credentials"`
	ExpiresAt   Timestamp `json:"expires_at,omitempty"`
}

// ClientConnect is the payload of client:connect.
type ClientConnect struct {
	DeviceID   string `json:"device_id"`
	DeviceType string `json:"device_type"`
	DeviceName string `json:"device_name"`
	AuthToken  string `json:"auth_token"`
}

// ClientConnectAck is the payload of client:connect:ack.
type ClientConnectAck struct {
	Success             bool   `json:"success"`
	SessionID           string `json:"session_id"`
	UnreadNotifications int    `json:"unread_notifications"`
}

// SyncRequest is the payload of client:sync:request. Cursor is the server
// sequence of the last notification seen (extension); it never skips one
// created in the same second as another.
type SyncRequest struct {
	DeviceID     string    `json:"device_id"`
	LastSyncTime Timestamp `json:"last_sync_time"`
	Cursor       ID        `json:"cursor,omitempty"`
	Limit        int       `json:"limit,omitempty"`
}

// SyncedNotification is one notification in client:sync:response.
type SyncedNotification struct {
	ID          string    `json:"id"`
	Type        string    `json:"type"`
	Title       string    `json:"title"`
	Content     string    `json:"content"`
	CreatedAt   Timestamp `json:"created_at"`
	AccountID   string    `json:"account_id,omitempty"`
	AccountName string    `json:"account_name,omitempty"`
	RelatedID   string    `json:"related_id,omitempty"`
	Read        bool      `json:"read"`
	Cursor      string    `json:"cursor,omitempty"`
}

// SyncResponse is the payload of client:sync:response.
type SyncResponse struct {
	Success       bool                 `json:"success"`
	Notifications []SyncedNotification `json:"notifications"`
	Cursor        string               `json:"cursor,omitempty"`
	HasMore       bool                 `json:"has_more"`
}

// NotificationRead is the payload of client:notification:read.
type NotificationRead struct {
	NotificationID string `json:"notification_id"`
}

// NotificationReadAck answers client:notification:read (extension).
type NotificationReadAck struct {
	Success        bool   `json:"success"`
	NotificationID string `json:"notification_id"`
}

// NotificationReadBy tells a user's other devices that a notification was
// read (extension, master:notification:read).
type NotificationReadBy struct {
	NotificationID string    `json:"notification_id"`
	ReadAt         Timestamp `json:"read_at"`
	DeviceID       string    `json:"device_id,omitempty"`
}

// NotificationPush is the payload of master:notification:push.
type NotificationPush struct {
	ID          string    `json:"id"`
	Type        string    `json:"type"`
	AccountID   string    `json:"account_id"`
	AccountName string    `json:"account_name"`
	Title       string    `json:"title"`
	Content     string    `json:"content"`
	RelatedID   string    `json:"related_id"`
	CreatedAt   Timestamp `json:"created_at"`
	Cursor      string    `json:"cursor,omitempty"`
}

// AccountUpdate is the payload of master:account:update.
type AccountUpdate struct {
	AccountID    string `json:"account_id"`
	Status       string `json:"status"`
	ErrorMessage string `json:"error_message,omitempty"`
	WorkerID     string `json:"worker_id,omitempty"`
}
