package api

import "time"

// Timeouts bound how long a client may take over each part of an
// exchange, so that a slow or stalled client cannot hold a connection, or
// what it was uploading, for ever. Zero fields take DefaultTimeouts.
type Timeouts struct {
	// Read bounds receiving a whole request, body included: long enough
	// for a large upload over a slow network.
	Read time.Duration
	// Write bounds writing a response; a streamed response has it moved
	// on while its bytes flow, so that only a client that stops reading
	// runs into it.
	Write time.Duration
	// Idle bounds a kept-alive connection waiting for its next request.
	Idle time.Duration
}

// DefaultTimeouts are the production values.
var DefaultTimeouts = Timeouts{Read: 10 * time.Minute, Write: 60 * time.Second, Idle: 120 * time.Second}

func (t Timeouts) orDefaults() Timeouts {
	if t.Read <= 0 {
		t.Read = DefaultTimeouts.Read
	}
	if t.Write <= 0 {
		t.Write = DefaultTimeouts.Write
	}
	if t.Idle <= 0 {
		t.Idle = DefaultTimeouts.Idle
	}
	return t
}
