// Package imaplogin is the pre-login half of an IMAP session: what Courier's
// imaplogin does between the connection and the exec of imapd. It speaks
// just enough IMAP for a client to secure the connection and authenticate
// (CAPABILITY, NOOP, LOGOUT, ID, STARTTLS, LOGIN, AUTHENTICATE), asks authd,
// and hands back the account; Handoff then becomes that account and execs
// imapd, which answers the login's tag.
//
// Nothing here buffers input: see reader. Output is buffered and flushed
// before every read.
package imaplogin

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"

	"kurier/pkg/accountopts"
	"kurier/pkg/authclient"
	"kurier/pkg/imapsession"
	"kurier/pkg/tlsproxy"
)

// Authenticator is the part of authclient.Client a session uses.
type Authenticator interface {
	Login(ctx context.Context, service, user, password, remoteIP string) (*authclient.Account, error)
	Auth(ctx context.Context, service, authType, authData, remoteIP string) (*authclient.Account, error)
	Pre(ctx context.Context, service, user string) (*authclient.Account, error)
}

// StartTLSFunc hands the connection to the TLS service after the tagged OK
// has been sent, and returns the plaintext stream that replaces it.
type StartTLSFunc func() (io.Reader, io.Writer, tlsproxy.Info, error)

// Options configures one pre-login session.
type Options struct {
	In     io.Reader // the connection; read one byte at a time, never buffered
	Out    io.Writer
	Getenv func(string) string // the environment tcpd and the config files gave us
	Auth   Authenticator
	// StartTLS is nil when tcpd gave no TLS service fd; STARTTLS is then
	// neither advertised nor accepted.
	StartTLS StartTLSFunc
	Log      *slog.Logger
	Hostname string // for CRAM challenges

	// FailDelay is how long a failed login waits before its NO (Courier:
	// 5 s); nothing else is read meanwhile, so password guessing by
	// pipelining gains nothing.
	FailDelay time.Duration
	// MaxFailures ends the connection after that many failed logins.
	MaxFailures int
}

// Defaults for Options.
const (
	DefaultFailDelay   = 5 * time.Second
	DefaultMaxFailures = 3
	// maxErrors is Courier's limit of consecutive protocol errors.
	maxErrors = 10
)

// Result is a successful login.
type Result struct {
	Tag       string              // the LOGIN or AUTHENTICATE tag, which imapd answers
	Account   *authclient.Account // authd's reply
	User      string              // the name the client logged in with
	Mechanism string              // "LOGIN" for the LOGIN command, else the SASL mechanism
	// TLSEnv is the environment a STARTTLS in this session added
	// (IMAP_TLS=1, TLS_CONNECTED_PROTOCOL=…); empty without one.
	TLSEnv []string
	// In and Out are the streams imapd must get as fds 0 and 1: the
	// originals, or after STARTTLS the TLS service's plaintext stream.
	In  io.Reader
	Out io.Writer
}

// ErrLogout ends a session that logged out; ErrTooManyErrors one that sent
// too many bad commands or failed logins. The client has been told.
var (
	ErrLogout        = errors.New("imaplogin: client logged out")
	ErrTooManyErrors = errors.New("imaplogin: too many errors")
)

// TempError is an authd failure that is not a "no" (daemon down, timeout).
// The client has been sent a BYE.
type TempError struct{ Err error }

func (e *TempError) Error() string {
	return "imaplogin: authentication service unavailable: " + e.Err.Error()
}
func (e *TempError) Unwrap() error { return e.Err }

type session struct {
	opts     Options
	in       reader
	out      *bufio.Writer
	rawOut   io.Writer
	env      map[string]string // set during the session (after STARTTLS)
	tlsEnv   []string
	ip, port string
	service  string
	failures int
	errors   int
}

// Run serves the session until a login succeeds (Result), the client logs
// out (ErrLogout), or the session must end (any other error; the client has
// been told when it can be).
func Run(ctx context.Context, opts Options) (*Result, error) {
	if opts.FailDelay == 0 {
		opts.FailDelay = DefaultFailDelay
	}
	if opts.MaxFailures == 0 {
		opts.MaxFailures = DefaultMaxFailures
	}
	if opts.Hostname == "" {
		opts.Hostname = "localhost"
	}
	s := &session{opts: opts, env: map[string]string{}}
	s.setStreams(opts.In, opts.Out)
	s.ip = s.getenv("TCPREMOTEIP")
	if s.ip == "" {
		s.ip = "127.0.0.1"
	}
	s.port = s.getenv("TCPREMOTEPORT")
	if s.port == "" {
		s.port = "N/A"
	}
	s.service = "imap"
	if lp := s.getenv("TCPLOCALPORT"); lp != "" {
		if v := s.getenv("AUTHSERVICE" + lp); v != "" {
			s.service = v
		}
	}
	s.log().Info("connection")
	s.printf("* OK [CAPABILITY %s] Kurier IMAP server ready.\r\n", strings.Join(s.capabilities(), " "))
	for {
		if err := s.out.Flush(); err != nil {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		cmd, err := s.in.readCommand()
		if err != nil {
			var pe *protocolError
			var fe *fatalError
			switch {
			case errors.As(err, &pe):
				if err := s.protocolError(pe.tag, pe.msg); err != nil {
					return nil, err
				}
				continue
			case errors.As(err, &fe):
				s.printf("* BYE %s\r\n", fe.msg)
				s.out.Flush()
				s.log().Warn("session ended", "reason", fe.msg)
				return nil, fmt.Errorf("imaplogin: %s", fe.msg)
			}
			return nil, err
		}
		res, err := s.dispatch(ctx, cmd)
		if res != nil || err != nil {
			s.out.Flush()
			return res, err
		}
	}
}

func (s *session) setStreams(in io.Reader, out io.Writer) {
	s.in = reader{r: in, continuation: func() error {
		s.printf("+ Ready for literal data\r\n")
		return s.out.Flush()
	}}
	s.rawOut = out
	s.out = bufio.NewWriter(out)
}

func (s *session) log() *slog.Logger { return s.opts.Log.With("ip", s.ip, "port", s.port) }

func (s *session) getenv(k string) string {
	if v, ok := s.env[k]; ok {
		return v
	}
	return s.opts.Getenv(k)
}

func (s *session) printf(format string, args ...any) { fmt.Fprintf(s.out, format, args...) }

func envInt(v string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(v))
	return n
}

func (s *session) tls() bool { return envInt(s.getenv("IMAP_TLS")) != 0 }

// starttlsAvailable: IMAP_STARTTLS says yes and tcpd gave us a TLS service.
func (s *session) starttlsAvailable() bool {
	v := s.getenv("IMAP_STARTTLS")
	return s.opts.StartTLS != nil && !s.tls() && v != "" && (v[0] == 'y' || v[0] == 'Y')
}

// loginDisabled: IMAP_TLS_REQUIRED and the connection is not yet secure.
func (s *session) loginDisabled() bool {
	return !s.tls() && envInt(s.getenv("IMAP_TLS_REQUIRED")) != 0
}

// mechanisms Kurier's imaplogin can carry to authd.
var mechanisms = map[string]bool{"PLAIN": true, "LOGIN": true, "CRAM-MD5": true, "CRAM-SHA1": true, "CRAM-SHA256": true, "EXTERNAL": true}

// capabilities is what imapd will advertise after login, plus the pre-login
// ones: AUTH= as the configuration lists them (IMAP_CAPABILITY_TLS on a
// secure connection, spec §4.1), STARTTLS, LOGINDISABLED.
func (s *session) capabilities() []string {
	cfg, _ := imapsession.ConfigFromEnv(s.getenv)
	caps := append([]string(nil), cfg.Capabilities...)
	base := s.getenv("IMAP_CAPABILITY")
	if s.tls() && s.getenv("IMAP_CAPABILITY_TLS") != "" {
		base = s.getenv("IMAP_CAPABILITY_TLS")
	}
	var auth []string
	for _, c := range strings.Fields(base) {
		if m, ok := strings.CutPrefix(strings.ToUpper(c), "AUTH="); ok && mechanisms[m] && m != "EXTERNAL" {
			auth = append(auth, "AUTH="+m)
		}
	}
	if s.externalIdentity() != "" {
		auth = append(auth, "AUTH=EXTERNAL")
	}
	// RFC 4959: AUTHENTICATE takes an initial response; clients use it
	// only when told, and save a round trip.
	auth = append(auth, "SASL-IR")
	if s.starttlsAvailable() {
		auth = append(auth, "STARTTLS")
		if s.loginDisabled() {
			auth = append(auth, "LOGINDISABLED")
		}
	} else if s.loginDisabled() {
		auth = append(auth, "LOGINDISABLED")
	}
	// After IMAP4rev1, as clients expect the pre-login items early.
	return append(caps[:1], append(auth, caps[1:]...)...)
}

// externalIdentity is the login name a verified client certificate gives,
// through the subject field TLS_EXTERNAL names (e.g. "emailaddress", "cn").
func (s *session) externalIdentity() string {
	field := s.getenv("TLS_EXTERNAL")
	if field == "" || !s.tls() {
		return ""
	}
	return s.getenv("TLS_SUBJECT_" + strings.ToUpper(field))
}

// protocolError answers a malformed command and counts it.
func (s *session) protocolError(tag, msg string) error {
	if tag == "" {
		tag = "*"
	}
	s.printf("%s BAD %s\r\n", tag, msg)
	return s.countError()
}

func (s *session) countError() error {
	s.errors++
	if s.errors >= maxErrors {
		s.printf("* BYE Too many consecutive protocol errors.\r\n")
		s.out.Flush()
		s.log().Warn("session ended", "reason", "too many consecutive protocol errors")
		return ErrTooManyErrors
	}
	return nil
}

func (s *session) dispatch(ctx context.Context, cmd *command) (*Result, error) {
	switch cmd.name {
	case "CAPABILITY":
		if len(cmd.args) != 0 {
			return nil, s.protocolError(cmd.tag, "CAPABILITY takes no arguments")
		}
		s.printf("* CAPABILITY %s\r\n%s OK CAPABILITY completed\r\n", strings.Join(s.capabilities(), " "), cmd.tag)
	case "NOOP":
		s.printf("%s OK NOOP completed\r\n", cmd.tag)
	case "LOGOUT":
		s.printf("* BYE Kurier IMAP server logging out\r\n%s OK LOGOUT completed\r\n", cmd.tag)
		s.log().Info("logout")
		return nil, ErrLogout
	case "ID":
		s.printf("* ID (\"name\" \"Kurier\")\r\n%s OK ID completed\r\n", cmd.tag)
	case "STARTTLS":
		return nil, s.starttls(cmd)
	case "LOGIN":
		return s.loginCommand(ctx, cmd)
	case "AUTHENTICATE":
		return s.authenticate(ctx, cmd)
	default:
		s.printf("%s NO %s is not available before login.\r\n", cmd.tag, sanitize(cmd.name))
		return nil, s.countError()
	}
	s.errors = 0
	return nil, nil
}

// sanitize keeps a client-supplied word printable in a response.
func sanitize(s string) string {
	if len(s) > 32 {
		s = s[:32]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x21 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}

func (s *session) starttls(cmd *command) error {
	if s.tls() {
		s.printf("%s BAD The connection is already secure.\r\n", cmd.tag)
		return s.countError()
	}
	if !s.starttlsAvailable() {
		s.printf("%s NO STARTTLS is not available here.\r\n", cmd.tag)
		return s.countError()
	}
	if len(cmd.args) != 0 {
		return s.protocolError(cmd.tag, "STARTTLS takes no arguments")
	}
	s.printf("%s OK Begin SSL/TLS negotiation now.\r\n", cmd.tag)
	if err := s.out.Flush(); err != nil {
		return err
	}
	in, out, info, err := s.opts.StartTLS()
	if err != nil {
		// The raw connection is the TLS service's now: nothing more
		// can be said to the client in plaintext.
		s.log().Warn("starttls failed", "err", err)
		return fmt.Errorf("imaplogin: STARTTLS: %w", err)
	}
	// RFC 3501 §6.2.1: nothing the client sent before the handshake
	// counts. The reader never reads ahead, so there is nothing buffered
	// to discard; those bytes went to the TLS service and broke the
	// handshake instead.
	s.setStreams(in, out)
	s.tlsEnv = append([]string{"IMAP_TLS=1", "IMAP_STARTTLS=NO", "IMAP_TLS_REQUIRED=0"}, info.Environ()...)
	for _, kv := range s.tlsEnv {
		k, v, _ := strings.Cut(kv, "=")
		s.env[k] = v
	}
	s.log().Info("starttls", "protocol", info.Protocol())
	s.errors = 0
	return nil
}

// errRejected is a failed login; the session says NO and goes on.
var errRejected = errors.New("login rejected")

// check turns an authd answer into the session's terms.
func check(acct *authclient.Account, err error) (*authclient.Account, error) {
	switch {
	case err == nil:
		return acct, nil
	case errors.Is(err, authclient.ErrRejected):
		return nil, errRejected
	}
	return nil, &TempError{Err: err}
}

func (s *session) loginCommand(ctx context.Context, cmd *command) (*Result, error) {
	user, ok1 := cmd.astring(0)
	pass, ok2 := cmd.astring(1)
	if !ok1 || !ok2 || len(cmd.args) != 2 {
		return nil, s.protocolError(cmd.tag, "LOGIN needs a user name and a password")
	}
	if s.loginDisabled() {
		s.printf("%s NO [PRIVACYREQUIRED] STARTTLS required\r\n", cmd.tag)
		return nil, s.countError()
	}
	acct, err := check(s.opts.Auth.Login(ctx, s.service, user, pass, s.ip))
	return s.finish(cmd.tag, user, "LOGIN", acct, err)
}

// finish ends a LOGIN or AUTHENTICATE: the Result, a NO after the failure
// delay, or a BYE.
func (s *session) finish(tag, user, mech string, acct *authclient.Account, err error) (*Result, error) {
	var te *TempError
	switch {
	case errors.As(err, &te):
		s.log().Error("authentication service unavailable", "user", user, "mech", mech, "err", te.Err)
		s.printf("* BYE [UNAVAILABLE] Temporary problem, please try again later\r\n")
		return nil, err
	case err != nil:
		s.failures++
		s.log().Info("login failed", "user", user, "mech", mech, "reason", err.Error())
		s.out.Flush()
		time.Sleep(s.opts.FailDelay)
		s.printf("%s NO [AUTHENTICATIONFAILED] Login failed.\r\n", tag)
		if s.failures >= s.opts.MaxFailures {
			s.printf("* BYE Too many failed logins.\r\n")
			s.log().Warn("session ended", "reason", "too many failed logins", "failures", s.failures)
			return nil, ErrTooManyErrors
		}
		return nil, nil
	}
	if refusal := accountopts.Refusal(acct.Options, s.tls()); refusal != "" {
		s.log().Info("login refused", "user", user, "mech", mech, "reason", refusal)
		s.printf("%s NO [CONTACTADMIN] %s\r\n", tag, refusal)
		return nil, s.countError()
	}
	s.errors = 0
	return &Result{Tag: tag, Account: acct, User: user, Mechanism: mech, TLSEnv: s.tlsEnv, In: s.in.r, Out: s.rawOut}, nil
}

// authenticate runs a SASL exchange (RFC 3501 §6.2.2, SASL-IR RFC 4959).
func (s *session) authenticate(ctx context.Context, cmd *command) (*Result, error) {
	if len(cmd.args) < 1 || len(cmd.args) > 2 || cmd.args[0].kind != atomToken {
		return nil, s.protocolError(cmd.tag, "AUTHENTICATE needs a mechanism name")
	}
	mech := strings.ToUpper(cmd.args[0].value)
	if s.loginDisabled() && mech != "EXTERNAL" {
		s.printf("%s NO [PRIVACYREQUIRED] STARTTLS required\r\n", cmd.tag)
		return nil, s.countError()
	}
	var acct *authclient.Account
	var user string
	var authErr error
	run := func(a *authclient.Account, err error) error {
		acct, authErr = check(a, err)
		return authErr
	}
	var server sasl.Server
	switch mech {
	case "PLAIN":
		server = sasl.NewPlainServer(func(identity, username, password string) error {
			user = username
			if identity != "" && identity != username {
				authErr = errRejected
				return authErr
			}
			return run(s.opts.Auth.Login(ctx, s.service, username, password, s.ip))
		})
	case "LOGIN":
		server = &loginServer{authenticate: func(username, password string) error {
			user = username
			return run(s.opts.Auth.Login(ctx, s.service, username, password, s.ip))
		}}
	case "CRAM-MD5", "CRAM-SHA1", "CRAM-SHA256":
		server = &cramServer{challenge: s.challenge(), authenticate: func(challenge, response []byte) error {
			user, _, _ = strings.Cut(string(response), " ")
			data := base64.StdEncoding.EncodeToString(challenge) + "\n" + base64.StdEncoding.EncodeToString(response)
			return run(s.opts.Auth.Auth(ctx, s.service, strings.ToLower(mech), data, s.ip))
		}}
	case "EXTERNAL":
		id := s.externalIdentity()
		if id == "" {
			s.printf("%s NO AUTHENTICATE EXTERNAL needs a verified TLS client certificate.\r\n", cmd.tag)
			return nil, s.countError()
		}
		server = sasl.NewExternalServer(func(identity string) error {
			user = id
			if identity != "" && identity != id {
				authErr = errRejected
				return authErr
			}
			return run(s.opts.Auth.Pre(ctx, s.service, id))
		})
	default:
		s.printf("%s NO Unsupported authentication mechanism %s.\r\n", cmd.tag, sanitize(mech))
		return nil, s.countError()
	}

	var response []byte
	if len(cmd.args) == 2 {
		ir := cmd.args[1].value
		if ir == "=" {
			response = []byte{}
		} else {
			var err error
			if response, err = base64.StdEncoding.DecodeString(ir); err != nil {
				return nil, s.protocolError(cmd.tag, "initial response is not valid base64")
			}
		}
	}
	for {
		challenge, done, err := server.Next(response)
		if authErr != nil {
			return s.finish(cmd.tag, user, mech, nil, authErr)
		}
		if err != nil {
			// The client's message did not parse: a malformed
			// exchange, which counts as a failed login attempt.
			return s.finish(cmd.tag, user, mech, nil, fmt.Errorf("malformed %s exchange: %v", mech, err))
		}
		if done {
			return s.finish(cmd.tag, user, mech, acct, nil)
		}
		s.printf("+ %s\r\n", base64.StdEncoding.EncodeToString(challenge))
		if err := s.out.Flush(); err != nil {
			return nil, err
		}
		line, err := s.in.readLine(MaxLine)
		if err != nil {
			var pe *protocolError
			if errors.As(err, &pe) {
				return nil, s.protocolError(cmd.tag, pe.msg)
			}
			return nil, err
		}
		if line == "*" {
			s.printf("%s BAD AUTHENTICATE cancelled\r\n", cmd.tag)
			return nil, s.countError()
		}
		if response, err = base64.StdEncoding.DecodeString(line); err != nil {
			return nil, s.protocolError(cmd.tag, "response is not valid base64")
		}
	}
}

// challenge makes a CRAM challenge in the customary msg-id form.
func (s *session) challenge() []byte {
	var b [8]byte
	rand.Read(b[:])
	return []byte(fmt.Sprintf("<%s.%d@%s>", hex.EncodeToString(b[:]), time.Now().Unix(), s.opts.Hostname))
}

// loginServer is the obsolete but still common SASL LOGIN mechanism
// (draft-murchison-sasl-login), which go-sasl offers only as a client.
type loginServer struct {
	step         int
	user         string
	authenticate func(user, password string) error
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if response == nil {
			return []byte("Username:"), false, nil
		}
		fallthrough // SASL-IR carried the user name
	case 1:
		l.user = string(response)
		l.step = 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.authenticate(l.user, string(response))
	}
	return nil, false, errors.New("unexpected LOGIN response")
}

// cramServer sends the challenge and passes the reply, unverified, to authd:
// only authd holds the secret (userdb's hmac-*pw fields).
type cramServer struct {
	challenge    []byte
	sent         bool
	authenticate func(challenge, response []byte) error
}

func (c *cramServer) Next(response []byte) ([]byte, bool, error) {
	if !c.sent {
		c.sent = true
		if len(response) > 0 {
			return nil, false, errors.New("CRAM takes no initial response")
		}
		return c.challenge, false, nil
	}
	user, digest, ok := strings.Cut(string(response), " ")
	if !ok || user == "" || len(digest) < 32 {
		return nil, false, errors.New("CRAM response is not \"user digest\"")
	}
	return nil, true, c.authenticate(c.challenge, response)
}
