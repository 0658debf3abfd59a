package hub

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/tidewatch/tidewatch/protocol"
	"github.com/zishang520/socket.io/servers/socket/v3"
)

// handlerTimeout bounds the work one inbound message may cause.
const handlerTimeout = 15 * time.Second

// conn is the hub's state for one socket. A socket takes one role for its
// life: the first successful worker:register or client:connect decides.
type conn struct {
	sock *socket.Socket

	mu sync.Mutex
	identity
	// replaced marks a worker socket superseded by a newer connection or
	// taken offline, so its disconnect changes nothing.
	replaced bool
}

// identity is who a socket turned out to be.
type identity struct {
	role protocol.Role
	// Worker side.
	workerID string
	sealKey  []byte
	tokenID  string
	// Client side.
	userID    string
	admin     bool
	deviceID  string
	sessionID string
}

// snapshot returns the fields handlers read, under the lock.
func (c *conn) snapshot() identity {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.identity
}

// request is one inbound message being handled.
type request struct {
	c   *conn
	env protocol.Envelope
	ack socket.Ack
}

// reply answers the request with a payload of type typ.
func (h *Hub) reply(r *request, typ string, payload any) {
	emit(r.c.sock, protocol.NewMessage(typ, payload, h.cfg.Now(), r.env.RequestID), r.ack)
}

// fail answers the request with the contract's error envelope.
func (h *Hub) fail(r *request, perr *protocol.Error) {
	emit(r.c.sock, protocol.NewErrorMessage(r.env.Type, perr, h.cfg.Now(), r.env.RequestID), r.ack)
}

// onConnection wires a new socket.
func (h *Hub) onConnection(s *socket.Socket) {
	c := &conn{sock: s}
	_ = s.On(protocol.SocketEvent, func(args ...any) {
		h.onMessage(c, args)
	})
	_ = s.On("disconnect", func(...any) {
		h.onDisconnect(c)
	})
}

// onMessage decodes and dispatches one "message" event. Whatever arrives, it
// answers and returns: a bad message never closes the connection.
func (h *Hub) onMessage(c *conn, args []any) {
	var ack socket.Ack
	if n := len(args); n > 0 {
		if a, ok := args[n-1].(socket.Ack); ok {
			ack = a
			args = args[:n-1]
		}
	}
	r := &request{c: c, ack: ack}
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("recovered panic in handler", "type", r.env.Type, "panic", p)
			h.fail(r, protocol.Errorf(protocol.ErrInternal, "internal error handling %s", r.env.Type))
		}
	}()
	if len(args) == 0 {
		h.fail(r, protocol.Errorf(protocol.ErrInvalidPayload, "message event carried no envelope"))
		return
	}
	raw, err := rawJSON(args[0])
	if err != nil {
		h.fail(r, protocol.Errorf(protocol.ErrInvalidPayload, "message must be a JSON object"))
		return
	}
	env, payload, perr := protocol.Decode(raw)
	r.env = env
	if perr != nil {
		h.fail(r, perr)
		return
	}
	role, ok := protocol.SenderRole(env.Type)
	if !ok {
		h.fail(r, protocol.Errorf(protocol.ErrInvalidPayload, "%s is not a message the master accepts", env.Type))
		return
	}
	cur := c.snapshot()
	switch {
	case cur.role != protocol.RoleNone && cur.role != role:
		h.fail(r, protocol.Errorf(protocol.ErrInvalidPayload, "a %s connection cannot send %s", cur.role, env.Type))
		return
	case cur.role == protocol.RoleNone && env.Type != protocol.TypeWorkerRegister && env.Type != protocol.TypeClientConnect:
		first := protocol.TypeClientConnect
		if role == protocol.RoleWorker {
			first = protocol.TypeWorkerRegister
		}
		h.fail(r, protocol.Errorf(protocol.ErrAuthFailed, "send %s first", first))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), handlerTimeout)
	defer cancel()
	switch p := payload.(type) {
	case *protocol.WorkerRegister:
		h.handleRegister(ctx, r, p)
	case *protocol.WorkerHeartbeat:
		h.handleHeartbeat(ctx, r, cur, p)
	case *protocol.MessageDetected:
		h.handleDetected(ctx, r, cur, p)
	case *protocol.WorkerError:
		h.handleWorkerError(ctx, r, cur, p)
	case *protocol.TaskAssignAck:
		h.handleAssignAck(ctx, r, cur, p)
	case *protocol.CredentialsUpdate:
		h.handleCredentialsUpdate(ctx, r, cur, p)
	case *protocol.LoginQRCode:
		h.handleLoginQRCode(ctx, r, cur, p)
	case *protocol.LoginSuccess:
		h.handleLoginSuccess(ctx, r, cur, p)
	case *protocol.LoginFailed:
		h.handleLoginFailed(ctx, r, cur, p)
	case *protocol.ClientConnect:
		h.handleClientConnect(ctx, r, p)
	case *protocol.SyncRequest:
		h.handleSync(ctx, r, cur, p)
	case *protocol.NotificationRead:
		h.handleRead(ctx, r, cur, p)
	default:
		h.fail(r, protocol.Errorf(protocol.ErrInvalidPayload, "%s is not handled by this master", env.Type))
	}
}

// rawJSON turns what the Socket.IO decoder produced back into JSON bytes.
// A client may also send the envelope as a JSON string.
func rawJSON(v any) ([]byte, error) {
	if s, ok := v.(string); ok {
		return []byte(s), nil
	}
	return json.Marshal(v)
}

// onDisconnect forgets a socket's role.
func (h *Hub) onDisconnect(c *conn) {
	cur := c.snapshot()
	switch cur.role {
	case protocol.RoleWorker:
		c.mu.Lock()
		replaced := c.replaced
		c.mu.Unlock()
		if !replaced {
			h.workerDisconnected(cur.workerID, c)
		}
	case protocol.RoleClient:
		h.mu.Lock()
		h.clients--
		h.mu.Unlock()
		if h.m != nil {
			h.m.ClientsConnected.Dec()
		}
	}
}
