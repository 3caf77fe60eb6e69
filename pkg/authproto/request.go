package authproto

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrBadArgument is a value a client may not send: it would change the
// framing of the request (a newline, or a tab in PASSWD), or is empty.
var ErrBadArgument = errors.New("authproto: invalid request argument")

func refuse(what, v, bad string) error {
	if v == "" {
		return fmt.Errorf("%w: empty %s", ErrBadArgument, what)
	}
	if strings.ContainsAny(v, bad) {
		return fmt.Errorf("%w: %s contains %q", ErrBadArgument, what, bad)
	}
	return nil
}

// appendMeta appends the TCPREMOTEIP meta line, if ip is set.
func appendMeta(b []byte, ip string) ([]byte, error) {
	if ip == "" {
		return b, nil
	}
	if err := refuse("remote address", ip, "\n"); err != nil {
		return nil, err
	}
	return append(append(append(b, MetaRemoteIP+"="...), ip...), '\n'), nil
}

// AppendPre appends "PRE <module> <service> <user>\n"; module "" means ".",
// any module.
func AppendPre(b []byte, module, service, user string) ([]byte, error) {
	if module == "" {
		module = "."
	}
	if err := refuse("module", module, " \n"); err != nil {
		return nil, err
	}
	if err := refuse("service", service, " \n"); err != nil {
		return nil, err
	}
	if err := refuse("user", user, "\n"); err != nil {
		return nil, err
	}
	return fmt.Appendf(b, "PRE %s %s %s\n", module, service, user), nil
}

// AppendAuth appends an AUTH request, preceded by TCPREMOTEIP=remoteIP when
// remoteIP is set. data is sent as given plus a final newline if it lacks one.
func AppendAuth(b []byte, service, authType, data, remoteIP string) ([]byte, error) {
	if err := refuse("service", service, "\n"); err != nil {
		return nil, err
	}
	if err := refuse("auth type", authType, "\n"); err != nil {
		return nil, err
	}
	if !strings.HasSuffix(data, "\n") {
		data += "\n"
	}
	body := len(service) + 1 + len(authType) + 1 + len(data)
	if body > MaxRequest {
		return nil, fmt.Errorf("%w: AUTH body of %d bytes exceeds %d", ErrBadArgument, body, MaxRequest)
	}
	b, err := appendMeta(b, remoteIP)
	if err != nil {
		return nil, err
	}
	b = append(b, "AUTH "...)
	b = strconv.AppendInt(b, int64(body), 10)
	b = append(b, '\n')
	b = append(append(b, service...), '\n')
	b = append(append(b, authType...), '\n')
	return append(b, data...), nil
}

// LoginData returns the AUTH data of type "login" for user and password,
// refusing values with a newline.
func LoginData(user, password string) (string, error) {
	if err := refuse("user", user, "\n"); err != nil {
		return "", err
	}
	if strings.Contains(password, "\n") {
		return "", fmt.Errorf("%w: password contains a newline", ErrBadArgument)
	}
	return user + "\n" + password + "\n", nil
}

// AppendPasswd appends "PASSWD <service>\t<user>\t<old>\t<new>\n".
func AppendPasswd(b []byte, service, user, oldPass, newPass string) ([]byte, error) {
	if err := refuse("service", service, "\t\n"); err != nil {
		return nil, err
	}
	if err := refuse("user", user, "\t\n"); err != nil {
		return nil, err
	}
	if strings.ContainsAny(oldPass, "\t\n") || strings.ContainsAny(newPass, "\t\n") {
		return nil, fmt.Errorf("%w: password contains a tab or newline", ErrBadArgument)
	}
	return fmt.Appendf(b, "PASSWD %s\t%s\t%s\t%s\n", service, user, oldPass, newPass), nil
}

// AppendEnumerate appends "ENUMERATE\n".
func AppendEnumerate(b []byte) []byte { return append(b, "ENUMERATE\n"...) }
