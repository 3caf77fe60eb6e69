// Package tcpd is the connection server behind the tcpd binary, Kurier's
// couriertcpd (spec/courier-compat.md §3, DESIGN §1): it listens, applies the
// access file and the limits, optionally reads a PROXY header, hands TLS to
// the TLS service (pkg/tlsproxy), and runs one program per connection with
// the connection on fds 0 and 1 and the TCP* environment.
//
// Limits are Courier's: while MaxProcs connections are in use the server
// stops accepting (clients wait in the kernel's backlog); a connection over
// MaxPerIP (or the access file's MAXCPERIP) or MaxPerC (same address but its
// last byte) is closed at once and logged. A slot is held from accept until
// the program is reaped (or the connection refused), so counting stays exact
// under churn. A TLS handshake (implicit TLS) happens before the program
// starts and has a deadline, so a client stalling mid-handshake holds its
// slot no longer than HandshakeTimeout and never costs a process.
package tcpd
