// Package auth holds the master's authentication primitives: password
// hashing (bcrypt), client session tokens (HS256 JWT), appliance enrollment
// secrets, and the master key file. It does no storage of its own.
package auth
