package protocol

// Event types of the contract (version 1.0.0), and the extensions Tidewatch
// adds. Extensions are optional: a plain v1.0 peer never sees one it did not
// ask for, except the ones a client opts into by connecting.
const (
	// Worker → master.
	TypeWorkerRegister    = "worker:register"
	TypeWorkerHeartbeat   = "worker:heartbeat"
	TypeMessageDetected   = "worker:message:detected"
	TypeWorkerError       = "worker:error"
	TypeTaskAssignAck     = "master:task:assign:ack"
	TypeCredentialsUpdate = "worker:credentials:update" // extension: rolled cookies
	TypeLoginQRCode       = "worker:login:qrcode"       // extension: QR login
	TypeLoginSuccess      = "worker:login:success"      // extension: QR login
	TypeLoginFailed       = "worker:login:failed"       // extension: QR login

	// Master → worker.
	TypeWorkerRegisterAck  = "worker:register:ack"
	TypeWorkerHeartbeatAck = "worker:heartbeat:ack"
	TypeMessageAck         = "worker:message:ack"
	TypeTaskAssign         = "master:task:assign"
	TypeTaskRevoke         = "master:task:revoke"
	TypeShutdown           = "master:shutdown"
	TypeLoginStart         = "master:login:start"  // extension: QR login
	TypeLoginCancel        = "master:login:cancel" // extension: QR login

	// Client → master.
	TypeClientConnect    = "client:connect"
	TypeSyncRequest      = "client:sync:request"
	TypeNotificationRead = "client:notification:read"

	// Master → client.
	TypeClientConnectAck    = "client:connect:ack"
	TypeSyncResponse        = "client:sync:response"
	TypeNotificationReadAck = "client:notification:read:ack" // extension
	TypeNotificationPush    = "master:notification:push"
	TypeAccountUpdate       = "master:account:update"
	TypeNotificationReadBy  = "master:notification:read" // extension: read on another device
	TypeLoginUpdate         = "master:login:update"      // extension: QR login progress
)

// Role says which kind of peer may send an event to the master.
type Role int

// Roles of the peers that send to the master.
const (
	RoleNone Role = iota
	RoleWorker
	RoleClient
)

// String implements fmt.Stringer.
func (r Role) String() string {
	switch r {
	case RoleWorker:
		return "worker"
	case RoleClient:
		return "client"
	default:
		return "none"
	}
}

// SenderRole returns the role that may send typ to the master, and false
// when the master accepts no such event.
func SenderRole(typ string) (Role, bool) {
	switch typ {
	case TypeWorkerRegister, TypeWorkerHeartbeat, TypeMessageDetected, TypeWorkerError,
		TypeTaskAssignAck, TypeCredentialsUpdate, TypeLoginQRCode, TypeLoginSuccess, TypeLoginFailed:
		return RoleWorker, true
	case TypeClientConnect, TypeSyncRequest, TypeNotificationRead:
		return RoleClient, true
	default:
		return RoleNone, false
	}
}
