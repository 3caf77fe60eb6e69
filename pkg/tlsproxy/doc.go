// Package tlsproxy is Kurier's TLS service: one unprivileged process, a child
// of tcpd, that terminates every TLS session of a listener as goroutines, in
// the manner of Postfix's tlsproxy (DESIGN §1). It replaces Courier's
// couriertls, which costs a process per session (spec/courier-compat.md §3.6).
//
// Users: tcpd (implicit TLS on 993: it hands each accepted socket over before
// it starts the program; and the service mode of its own binary, which runs
// Serve) and imaplogin (STARTTLS: StartTLS).
//
// # The hand-over protocol
//
// Two kinds of unix sockets carry it.
//
// The master channel is a SOCK_SEQPACKET socketpair between tcpd and the
// service. On it tcpd sends one message of type 'N' (new session) per
// connection, with exactly one descriptor attached by SCM_RIGHTS: the service's
// end of a fresh SOCK_STREAM socketpair, the session's control socket. The
// other end ("ctrl") goes to whoever will start TLS: tcpd itself for implicit
// TLS, or the program (imaplogin) as an inherited fd named by $KURIER_TLS_FD.
// The service sends one 'O' message on the master channel once its
// configuration loaded (tcpd waits for it), nothing else; it exits when the channel
// reaches EOF, after its sessions end.
//
// On a control socket, the starter sends one 'S' (start) message with the raw
// network socket attached by SCM_RIGHTS; its payload may carry timeout=<ms>
// (the handshake deadline, capped by the service's own) and ip=<addr> (for the
// service's logs). The service performs the handshake on the raw socket and
// answers with one 'O' (ok) message, whose payload gives the session's
// version, cipher, sni and peer (the verified client certificate, base64 DER),
// or one 'E' (error) message with err=<text>, after which it closes the
// control socket. After 'O' the control socket carries the session's
// plaintext in both directions; EOF on either side is passed on as a
// half-close (close_notify towards the client, shutdown(SHUT_WR) towards the
// program). A control socket that reaches EOF before any 'S' just ends.
//
// Every message is a 10-byte header followed by a payload:
//
//	"KTLS" | version (1 byte, = 1) | type (1 byte) | payload length (uint32, big endian)
//
// The payload is at most MaxPayload bytes of "key=value\n" lines: keys are
// lower-case ASCII letters, values printable ASCII; a key appears at most
// once; unknown keys are ignored, so a later version may add fields without
// breaking an older reader. A reader takes exactly the message's bytes from a
// control socket, never any plaintext after it.
//
// # Security
//
// The service refuses to run as root. It trusts its master channel (tcpd) and
// the starters that tcpd gave a control socket to; it trusts nothing the
// network sends. Handshakes have a deadline; payloads and descriptor counts
// are bounded.
package tlsproxy
