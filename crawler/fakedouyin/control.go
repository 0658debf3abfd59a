package fakedouyin

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"
)

// controlError is the body of a failed control call.
type controlError struct {
	Error string `json:"error"`
}

// controlFunc handles a control call and returns the value to answer with.
type controlFunc func(r *http.Request) (any, error)

// control adapts a controlFunc: JSON out, errors mapped to statuses.
func control(h controlFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := h(r)
		switch {
		case errors.Is(err, ErrNotFound):
			writeJSON(w, http.StatusNotFound, controlError{err.Error()})
		case errors.Is(err, ErrConflict):
			writeJSON(w, http.StatusConflict, controlError{err.Error()})
		case err != nil:
			writeJSON(w, http.StatusBadRequest, controlError{err.Error()})
		default:
			writeJSON(w, http.StatusOK, v)
		}
	}
}

// decode reads an optional JSON body into v; an empty body leaves v alone.
func decode(r *http.Request, v any) error {
	err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(v)
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// controlRoutes registers the control API on mux.
func (s *Server) controlRoutes(mux *http.ServeMux) {
	p := PathControlPrefix
	mux.HandleFunc("POST "+p+"accounts", control(func(r *http.Request) (any, error) {
		var spec AccountSpec
		if err := decode(r, &spec); err != nil {
			return nil, err
		}
		return s.CreateAccount(spec)
	}))
	mux.HandleFunc("GET "+p+"accounts", control(func(*http.Request) (any, error) {
		return s.Accounts(), nil
	}))
	mux.HandleFunc("GET "+p+"accounts/{uid}", control(func(r *http.Request) (any, error) {
		return s.Account(r.PathValue("uid"))
	}))
	mux.HandleFunc("POST "+p+"accounts/{uid}/comments", control(func(r *http.Request) (any, error) {
		var spec CommentSpec
		if err := decode(r, &spec); err != nil {
			return nil, err
		}
		return s.AddComment(r.PathValue("uid"), spec)
	}))
	mux.HandleFunc("POST "+p+"accounts/{uid}/dms", control(func(r *http.Request) (any, error) {
		var spec DMSpec
		if err := decode(r, &spec); err != nil {
			return nil, err
		}
		return s.AddDM(r.PathValue("uid"), spec)
	}))
	mux.HandleFunc("POST "+p+"accounts/{uid}/faults", control(func(r *http.Request) (any, error) {
		var patch FaultsPatch
		if err := decode(r, &patch); err != nil {
			return nil, err
		}
		return s.SetFaults(r.PathValue("uid"), patch)
	}))
	mux.HandleFunc("GET "+p+"logins", control(func(*http.Request) (any, error) {
		return s.LoginSessions(), nil
	}))
	mux.HandleFunc("POST "+p+"logins/{id}/{action}", control(func(r *http.Request) (any, error) {
		var body struct {
			UID string `json:"uid"`
		}
		if err := decode(r, &body); err != nil {
			return nil, err
		}
		return s.DoLogin(r.PathValue("id"), LoginAction(r.PathValue("action")), body.UID)
	}))
	mux.HandleFunc("POST "+p+"simulate", control(func(r *http.Request) (any, error) {
		var body SimulationState
		if err := decode(r, &body); err != nil {
			return nil, err
		}
		return s.SetSimulation(body.On, time.Duration(body.IntervalMS)*time.Millisecond), nil
	}))
}
