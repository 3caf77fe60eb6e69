// Package tcpd holds end-to-end tests of the tcpd binary with real clients
// (net.Dial, openssl s_client, curl, systemd-socket-activate) and imapd in
// PREAUTH mode behind it.
package tcpd
