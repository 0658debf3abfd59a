// Package client is the reference Go client of the Tidewatch contract: the
// part of a desktop app, a bot or the tidewatch CLI that talks to a master.
//
// It has three layers, usable on their own:
//
//   - [Login] and [API] speak the master's REST API: a username and password
//     for a session token (JWT), and the lists of accounts and workers.
//   - [Dial] opens one Socket.IO connection, sends client:connect and gives a
//     [Session]: request/answer calls ([Session.Sync], [Session.MarkRead])
//     and a stream of unsolicited events (pushes, read marks, account
//     updates).
//   - [Client] keeps a session alive: it connects, catches up from the last
//     cursor with client:sync:request (page by page), delivers live pushes,
//     and on a lost connection reconnects with backoff and jitter and catches
//     up again. Every notification is delivered once, in order within a sync,
//     and the cursor is saved through a [StateStore] after each delivery, so
//     nothing is missed or repeated across disconnects and restarts.
//
// Resuming follows the server sequence, not the clock: the master gives every
// notification a cursor (an extension of the contract), the client joins the
// live stream first (client:connect) and only then asks for everything after
// its cursor, so nothing falls between the two.
package client
