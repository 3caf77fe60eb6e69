// Package authproto is the authdaemon socket protocol of courier-authlib
// (spec/courier-compat.md §1.2–§1.3): the requests PRE, AUTH, PASSWD and
// ENUMERATE, and their replies. It holds no state and does no I/O of its own
// beyond the reader or buffer it is given, so the daemon (pkg/authd) and the
// client library (pkg/authclient) share one codec.
//
// The request parser is the part that sees untrusted bytes (anyone who can
// reach the socket): every read it makes is bounded by MaxRequest, and a
// request it cannot parse yields an error that says whether the daemon should
// answer FAIL (a known command with bad arguments) or close the connection
// without output (an unknown command or an oversized request), which is what
// Courier's authdaemond does.
package authproto

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// MaxRequest bounds the whole request, meta lines and AUTH body included.
// The largest legitimate request is an AUTH whose body holds a service name,
// an auth type, a user name and a password, or a CRAM challenge and response:
// a few hundred bytes in practice. 64 KiB leaves room for absurd passwords
// while a client cannot make the daemon buffer more. (Courier's authdaemond
// waits for an AUTH body of any announced length until its idle timeout; we
// close at once instead.)
const MaxRequest = 64 << 10

// MaxMetaLines bounds the NAME=value lines accepted before the command.
// authlib 0.71 clients send one (TCPREMOTEIP).
const MaxMetaLines = 16

// MaxReply bounds one account reply read by a client, and MaxReplyLine one
// line of any reply, ENUMERATE included.
const (
	MaxReply     = 1 << 20
	MaxReplyLine = 64 << 10
)

// Errors of ReadRequest. The daemon answers FAIL to ErrMalformed and closes
// the connection without output on the others (spec §1.2: "anything else:
// connection closed with no output").
var (
	ErrMalformed      = errors.New("authproto: malformed request")
	ErrUnknownCommand = errors.New("authproto: unknown command")
	ErrTooLarge       = errors.New("authproto: request too large")
)

// Errors of the reply parsers.
var (
	// ErrFail is the reply FAIL: the daemon said no.
	ErrFail = errors.New("authproto: FAIL")
	// ErrBadReply is a reply that is not in Courier's format.
	ErrBadReply = errors.New("authproto: malformed reply")
)

// Command is a request's command word.
type Command int

// The commands of spec §1.2.
const (
	CmdPre Command = iota + 1
	CmdAuth
	CmdPasswd
	CmdEnumerate
)

func (c Command) String() string {
	switch c {
	case CmdPre:
		return "PRE"
	case CmdAuth:
		return "AUTH"
	case CmdPasswd:
		return "PASSWD"
	case CmdEnumerate:
		return "ENUMERATE"
	}
	return "Command(" + strconv.Itoa(int(c)) + ")"
}

// Auth types carried by AUTH (spec §1.2). SASL PLAIN and LOGIN are decoded by
// the client and sent as AuthLogin.
const (
	AuthLogin      = "login"
	AuthCRAMMD5    = "cram-md5"
	AuthCRAMSHA1   = "cram-sha1"
	AuthCRAMSHA256 = "cram-sha256"
)

// MetaRemoteIP is the meta line that carries the client's address.
const MetaRemoteIP = "TCPREMOTEIP"

// Request is one parsed request. Which fields are set depends on Command:
//
//	PRE:       Module ("." = any), Service, User
//	AUTH:      Service, AuthType, AuthData (ends with "\n" as sent)
//	PASSWD:    Service, User, OldPass, NewPass
//	ENUMERATE: nothing
//
// Meta holds the NAME=value lines that preceded the command, in order;
// RemoteIP is the value of TCPREMOTEIP among them.
type Request struct {
	Command  Command
	Meta     []string
	RemoteIP string
	Module   string
	Service  string
	User     string
	AuthType string
	AuthData string
	OldPass  string
	NewPass  string
}

// ReadRequest reads one request from r, never more than MaxRequest bytes of
// it. The caller bounds the time (a read deadline on the connection); a
// reader that ends early gives io.ErrUnexpectedEOF (io.EOF before the first
// byte).
func ReadRequest(r *bufio.Reader) (*Request, error) {
	budget := MaxRequest
	req := &Request{}
	for {
		line, err := readLine(r, budget)
		if err != nil {
			if err == io.EOF && budget < MaxRequest {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		budget -= len(line) + 1
		if name, value, ok := metaLine(line); ok {
			if len(req.Meta) == MaxMetaLines {
				return nil, fmt.Errorf("%w: more than %d meta lines", ErrMalformed, MaxMetaLines)
			}
			req.Meta = append(req.Meta, line)
			if name == MetaRemoteIP {
				req.RemoteIP = value
			}
			continue
		}
		return req, parseCommand(r, req, line, budget)
	}
}

// readLine reads a line of at most limit bytes and returns it without its
// newline.
func readLine(r *bufio.Reader, limit int) (string, error) {
	var buf []byte
	for {
		frag, err := r.ReadSlice('\n')
		if len(buf)+len(frag) > limit+1 {
			return "", ErrTooLarge
		}
		buf = append(buf, frag...)
		switch err {
		case nil:
			return string(buf[:len(buf)-1]), nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			if len(buf) > 0 {
				return "", io.ErrUnexpectedEOF
			}
			return "", io.EOF
		default:
			return "", err
		}
	}
}

// metaLine reports whether line is NAME=value with NAME a shell-style name,
// the form of the meta lines that may precede a command.
func metaLine(line string) (name, value string, ok bool) {
	name, value, ok = strings.Cut(line, "=")
	if !ok || name == "" {
		return "", "", false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return "", "", false
		}
	}
	return name, value, true
}

func parseCommand(r *bufio.Reader, req *Request, line string, budget int) error {
	word, rest, _ := strings.Cut(line, " ")
	switch word {
	case "PRE":
		req.Command = CmdPre
		f := strings.SplitN(rest, " ", 3)
		if len(f) != 3 || f[0] == "" || f[1] == "" || f[2] == "" {
			return fmt.Errorf("%w: PRE needs module, service and user", ErrMalformed)
		}
		req.Module, req.Service, req.User = f[0], f[1], f[2]
		return checkFields(req.Module, req.Service, req.User)
	case "AUTH":
		req.Command = CmdAuth
		n, err := strconv.Atoi(rest)
		if err != nil || n <= 0 || rest[0] == '+' {
			return fmt.Errorf("%w: AUTH length %q", ErrMalformed, rest)
		}
		if n > budget {
			return fmt.Errorf("%w: AUTH body of %d bytes", ErrTooLarge, n)
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		service, rest, ok1 := bytes.Cut(body, []byte{'\n'})
		authType, data, ok2 := bytes.Cut(rest, []byte{'\n'})
		if !ok1 || !ok2 || len(service) == 0 || len(authType) == 0 {
			return fmt.Errorf("%w: AUTH body needs service and auth type lines", ErrMalformed)
		}
		req.Service, req.AuthType, req.AuthData = string(service), string(authType), string(data)
		return checkFields(req.Service, req.AuthType)
	case "PASSWD":
		req.Command = CmdPasswd
		f := strings.Split(rest, "\t")
		if len(f) != 4 || f[0] == "" || f[1] == "" {
			return fmt.Errorf("%w: PASSWD needs service, user, old and new password", ErrMalformed)
		}
		req.Service, req.User, req.OldPass, req.NewPass = f[0], f[1], f[2], f[3]
		return checkFields(req.Service, req.User)
	case "ENUMERATE":
		req.Command = CmdEnumerate
		if rest != "" || strings.Contains(line, " ") {
			return fmt.Errorf("%w: ENUMERATE takes no arguments", ErrMalformed)
		}
		return nil
	}
	return ErrUnknownCommand
}

// checkFields refuses control characters in names (service, user, module,
// auth type): no module has an account called "alice\r", and refusing here
// keeps such bytes out of the logs.
func checkFields(fields ...string) error {
	for _, f := range fields {
		for i := 0; i < len(f); i++ {
			if f[i] < ' ' || f[i] == 0x7f {
				return fmt.Errorf("%w: control character in %q", ErrMalformed, f)
			}
		}
	}
	return nil
}

// ParseLogin splits the AUTH data of type "login", "<user>\n<password>\n".
func ParseLogin(data string) (user, password string, err error) {
	user, rest, ok := strings.Cut(data, "\n")
	if !ok || user == "" {
		return "", "", fmt.Errorf("%w: login data needs a user line", ErrMalformed)
	}
	password, rest, ok = strings.Cut(rest, "\n")
	if !ok || rest != "" {
		return "", "", fmt.Errorf("%w: login data needs exactly a user and a password line", ErrMalformed)
	}
	if err := checkFields(user); err != nil {
		return "", "", err
	}
	return user, password, nil
}

// ParseCRAM splits the AUTH data of the CRAM types, "<base64 challenge>\n<base64
// response>\n", and returns the decoded challenge, the user and the hex
// digest from the decoded response "<user> <hex digest>".
func ParseCRAM(data string) (challenge []byte, user, digest string, err error) {
	c64, rest, ok := strings.Cut(data, "\n")
	r64, rest2, ok2 := strings.Cut(rest, "\n")
	if !ok || !ok2 || rest2 != "" {
		return nil, "", "", fmt.Errorf("%w: cram data needs a challenge and a response line", ErrMalformed)
	}
	challenge, err = decodeBase64(c64)
	if err != nil {
		return nil, "", "", fmt.Errorf("%w: cram challenge: %v", ErrMalformed, err)
	}
	resp, err := decodeBase64(r64)
	if err != nil {
		return nil, "", "", fmt.Errorf("%w: cram response: %v", ErrMalformed, err)
	}
	i := bytes.LastIndexByte(resp, ' ')
	if i <= 0 {
		return nil, "", "", fmt.Errorf("%w: cram response is not \"user digest\"", ErrMalformed)
	}
	user, digest = string(resp[:i]), string(resp[i+1:])
	if err := checkFields(user); err != nil {
		return nil, "", "", err
	}
	return challenge, user, digest, nil
}

// decodeBase64 accepts padded and unpadded standard base64, as clients differ.
func decodeBase64(s string) ([]byte, error) {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}
