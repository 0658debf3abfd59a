package protocol

import "strings"

// NewPayload returns a new, empty payload value for an event type, and false
// for a type this version does not know.
func NewPayload(typ string) (Validator, bool) {
	switch typ {
	case TypeWorkerRegister:
		return new(WorkerRegister), true
	case TypeWorkerRegisterAck:
		return new(WorkerRegisterAck), true
	case TypeWorkerHeartbeat:
		return new(WorkerHeartbeat), true
	case TypeWorkerHeartbeatAck:
		return new(SuccessAck), true
	case TypeMessageDetected:
		return new(MessageDetected), true
	case TypeMessageAck:
		return new(MessageAck), true
	case TypeWorkerError:
		return new(WorkerError), true
	case TypeTaskAssign:
		return new(TaskAssign), true
	case TypeTaskAssignAck:
		return new(TaskAssignAck), true
	case TypeTaskRevoke:
		return new(TaskRevoke), true
	case TypeShutdown:
		return new(Shutdown), true
	case TypeCredentialsUpdate:
		return new(CredentialsUpdate), true
	case TypeLoginStart:
		return new(LoginStart), true
	case TypeLoginCancel:
		return new(LoginCancel), true
	case TypeLoginQRCode:
		return new(LoginQRCode), true
	case TypeLoginSuccess:
		return new(LoginSuccess), true
	case TypeLoginFailed:
		return new(LoginFailed), true
	case TypeLoginUpdate:
		return new(LoginUpdate), true
	case TypeClientConnect:
		return new(ClientConnect), true
	case TypeClientConnectAck:
		return new(ClientConnectAck), true
	case TypeSyncRequest:
		return new(SyncRequest), true
	case TypeSyncResponse:
		return new(SyncResponse), true
	case TypeNotificationRead:
		return new(NotificationRead), true
	case TypeNotificationReadAck:
		return new(NotificationReadAck), true
	case TypeNotificationReadBy:
		return new(NotificationReadBy), true
	case TypeNotificationPush:
		return new(NotificationPush), true
	case TypeAccountUpdate:
		return new(AccountUpdate), true
	}
	switch {
	case strings.HasSuffix(typ, ":error"):
		return new(ErrorPayload), true
	case strings.HasSuffix(typ, ":ack"):
		// Acks of extension events carry success and maybe an id; a peer
		// that does not know the event still reads them.
		return new(SuccessAck), true
	}
	return nil, false
}

// Decode parses an envelope and its payload in one step: the envelope's
// rules, then the payload type named by its type, then that payload's
// validation. An unknown type is ERR_INVALID_PAYLOAD.
func Decode(data []byte) (Envelope, Validator, *Error) {
	env, perr := DecodeEnvelope(data)
	if perr != nil {
		return env, nil, perr
	}
	p, ok := NewPayload(env.Type)
	if !ok {
		return env, nil, Errorf(ErrInvalidPayload, "unknown message type %q", env.Type)
	}
	if err := decodeInto(env, p); err != nil {
		return env, nil, err
	}
	return env, p, nil
}

// Validate implements Validator.
func (p *ClientConnectAck) Validate() error { return nil }

// Validate implements Validator.
func (p *SyncResponse) Validate() error { return nil }

// Validate implements Validator.
func (p *NotificationReadAck) Validate() error { return nil }

// Validate implements Validator.
func (p *NotificationReadBy) Validate() error {
	var c checker
	c.required("notification_id", p.NotificationID, maxIDLen)
	return c.err
}
