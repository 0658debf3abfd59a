package fakedouyin

import (
	"context"
	"time"
)

// SimulationState reports simulated traffic.
type SimulationState struct {
	On bool `json:"on"`
	// IntervalMS is the pause between rounds in milliseconds.
	IntervalMS int64 `json:"interval_ms"`
}

// SetSimulation turns simulated traffic on or off; interval > 0 also
// changes the pause between rounds. Each round adds a fan comment to every
// account and, every other round on average, a DM.
func (s *Server) SetSimulation(on bool, interval time.Duration) SimulationState {
	s.mu.Lock()
	s.simOn = on
	if interval > 0 {
		s.simInterval = interval
	}
	st := SimulationState{On: s.simOn, IntervalMS: s.simInterval.Milliseconds()}
	s.mu.Unlock()
	select {
	case s.simWake <- struct{}{}:
	default:
	}
	return st
}

// simulate produces traffic while it is on; it is a goroutine started by
// Start and ends with ctx.
func (s *Server) simulate(ctx context.Context) {
	defer s.wg.Done()
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("simulation panicked", "panic", p)
		}
	}()
	for {
		s.mu.Lock()
		on, interval := s.simOn, s.simInterval
		s.mu.Unlock()
		if !on {
			select {
			case <-ctx.Done():
				return
			case <-s.simWake:
				continue
			}
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.simWake:
			t.Stop()
		case <-t.C:
			s.simulateRound()
		}
	}
}

// simulateRound adds one round of traffic to every account.
func (s *Server) simulateRound() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, uid := range s.order {
		a := s.accounts[uid]
		if len(a.videos) > 0 {
			spec := CommentSpec{AwemeID: a.videos[s.rng.IntN(len(a.videos))].AwemeID}
			if s.rng.IntN(10) == 0 {
				spec.Kind = KindMention
			}
			if _, err := s.addCommentLocked(a, spec); err != nil {
				s.log.Error("simulating comment", "uid", uid, "err", err)
			}
		}
		if s.rng.IntN(2) == 0 {
			s.addDMLocked(a, DMSpec{System: s.rng.IntN(15) == 0})
		}
	}
}
