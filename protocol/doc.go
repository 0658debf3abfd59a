// Package protocol is the Tidewatch Socket.IO contract as Go types: the
// message envelope, one payload type per event, validation, error codes,
// version negotiation and timestamp normalisation.
//
// It is pure: no I/O, no clocks read implicitly. Both the master and the
// appliance import it, so a rule about the wire lives here exactly once.
//
// Every message travels as the Socket.IO event "message" carrying an
// [Envelope]. Identifiers are strings on the wire; 64-bit platform ids sent as
// JSON numbers lose digits, so numbers are accepted only where they are small.
// Timestamps are accepted in seconds or milliseconds and always emitted in
// seconds.
package protocol

// SocketEvent is the one Socket.IO event name every envelope travels under.
const SocketEvent = "message"
