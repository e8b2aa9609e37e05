package awsfake

import (
	"net/http"
	"time"
)

// FaultKind is the way an injected fault misbehaves.
type FaultKind int

// The faults the server can inject.
const (
	// Throttle answers 400 ThrottlingException (query protocol: Throttling),
	// which the SDK retries as a throttle.
	Throttle FaultKind = iota + 1
	// InternalFailure answers 500 InternalFailure, which the SDK retries.
	InternalFailure
	// ServiceUnavailable answers 503 ServiceUnavailable, which the SDK retries.
	ServiceUnavailable
	// Latency holds the call for Fault.Delay, then answers it normally.
	Latency
)

// String names the fault kind.
func (k FaultKind) String() string {
	switch k {
	case Throttle:
		return "Throttle"
	case InternalFailure:
		return "InternalFailure"
	case ServiceUnavailable:
		return "ServiceUnavailable"
	case Latency:
		return "Latency"
	case 0:
		return "none"
	}
	return "FaultKind(?)"
}

// response is the error answer of an error fault, in protocol p.
func (k FaultKind) response(p Protocol) Response {
	switch k {
	case Throttle:
		if p == ProtocolQuery {
			return APIError(http.StatusBadRequest, "Throttling", "Rate exceeded")
		}
		return APIError(http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
	case InternalFailure:
		return APIError(http.StatusInternalServerError, "InternalFailure", "The request processing has failed because of an unknown error.")
	default:
		return APIError(http.StatusServiceUnavailable, "ServiceUnavailable", "The service is unavailable. Try again later.")
	}
}

// Fault makes chosen calls misbehave. Calls are counted per fault, from 1, in
// arrival order; SDK retries are calls too. A fault with neither First nor
// Every hits every matching call; with both, it hits the multiples of Every
// up to First.
type Fault struct {
	// Operation limits the fault to one operation; empty means all.
	Operation string
	// Kind is the misbehaviour: a throttle, a 5xx, or latency.
	Kind FaultKind
	// First, if set, limits the fault to the first First matching calls.
	First int
	// Every, if set, limits the fault to every Every-th matching call.
	Every int
	// Delay is how long a Latency fault holds each call.
	Delay time.Duration
}

type fault struct {
	Fault
	seen int // matching calls so far
}

// Inject adds a fault. Faults stay for the life of the server. When several
// hit one call, their latencies add up and the first injected error wins.
func (s *Server) Inject(f Fault) {
	switch {
	case f.Kind < Throttle || f.Kind > Latency:
		s.fatalf("awsfake: Inject(%+v): unknown Kind", f)
	case f.Kind == Latency && f.Delay <= 0:
		s.fatalf("awsfake: Inject(%+v): Latency needs a Delay", f)
	case f.First < 0 || f.Every < 0:
		s.fatalf("awsfake: Inject(%+v): First and Every cannot be negative", f)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{Fault: f})
}

// hitFaults counts a call of op against every fault and says what they do to
// it: the total delay and the error kind, or Latency if it is only delayed.
// s.mu must be held.
func (s *Server) hitFaults(op string) (time.Duration, FaultKind) {
	var delay time.Duration
	var kind FaultKind
	for _, f := range s.faults {
		if f.Operation != "" && f.Operation != op {
			continue
		}
		f.seen++
		if (f.First > 0 && f.seen > f.First) || (f.Every > 0 && f.seen%f.Every != 0) {
			continue
		}
		switch {
		case f.Kind == Latency:
			delay += f.Delay
		case kind == 0:
			kind = f.Kind
		}
	}
	if kind == 0 && delay > 0 {
		kind = Latency
	}
	return delay, kind
}
