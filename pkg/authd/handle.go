package authd

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"kurier/pkg/authmod"
	"kurier/pkg/authproto"
)

var failReply = []byte("FAIL\n")

// handle runs req through the module chain and returns the reply, or nil to
// close the connection without one (a temporary failure).
func (s *Server) handle(ctx context.Context, req *authproto.Request) []byte {
	setup := s.setup.Load()
	start := time.Now()
	switch req.Command {
	case authproto.CmdPre:
		return s.account(setup, req, req.User, start, func(m authmod.Module) (*authproto.Account, error) {
			if req.Module != "." && req.Module != m.Name() {
				return nil, authmod.ErrNotFound
			}
			return m.Pre(ctx, req.Service, req.User)
		})
	case authproto.CmdAuth:
		return s.account(setup, req, authUser(req), start, func(m authmod.Module) (*authproto.Account, error) {
			return m.Auth(ctx, req)
		})
	case authproto.CmdPasswd:
		module, err := s.chain(setup, func(m authmod.Module) (*authproto.Account, error) {
			return nil, m.Passwd(ctx, req.Service, req.User, req.OldPass, req.NewPass)
		})
		s.logDecision(req, req.User, module, err, start)
		switch {
		case err == nil:
			return []byte("OK\n")
		case temporary(err):
			return nil
		}
		return failReply
	case authproto.CmdEnumerate:
		return s.enumerate(ctx, setup)
	}
	return nil
}

// account serves PRE and AUTH: the first module's account with
// DEFAULTOPTIONS merged in, FAIL, or nil for a temporary failure.
func (s *Server) account(setup *Setup, req *authproto.Request, user string, start time.Time,
	call func(authmod.Module) (*authproto.Account, error)) []byte {
	var acct *authproto.Account
	module, err := s.chain(setup, func(m authmod.Module) (*authproto.Account, error) {
		a, err := call(m)
		acct = a
		return a, err
	})
	s.logDecision(req, user, module, err, start)
	switch {
	case err == nil:
		acct.Options = MergeOptions(acct.Options, setup.Config.DefaultOptions)
		return authproto.AppendAccount(nil, acct)
	case temporary(err):
		return nil
	}
	return failReply
}

// chain asks the modules in order until one knows the user; it returns the
// module that decided ("" if none did) and its error (ErrNotFound if none).
func (s *Server) chain(setup *Setup, call func(authmod.Module) (*authproto.Account, error)) (string, error) {
	for _, m := range setup.Modules {
		_, err := call(m)
		if errors.Is(err, authmod.ErrNotFound) || errors.Is(err, authmod.ErrUnsupported) {
			continue
		}
		return m.Name(), err
	}
	return "", authmod.ErrNotFound
}

func temporary(err error) bool {
	return err != nil && !errors.Is(err, authmod.ErrRejected) && !errors.Is(err, authmod.ErrNotFound)
}

// logDecision writes the one line per decision: command, user, service,
// remote ip, module, result and reason. Passwords and CRAM responses never
// reach it: only the user name is taken from the request's data.
func (s *Server) logDecision(req *authproto.Request, user, module string, err error, start time.Time) {
	attrs := []any{"user", user, "service", req.Service}
	if req.RemoteIP != "" {
		attrs = append(attrs, "ip", req.RemoteIP)
	}
	if req.Command == authproto.CmdAuth {
		attrs = append(attrs, "type", req.AuthType)
	}
	if module != "" {
		attrs = append(attrs, "module", module)
	}
	level := slog.LevelInfo
	var rej *authmod.Rejection
	switch {
	case err == nil:
		attrs = append(attrs, "result", "ok")
	case errors.As(err, &rej):
		attrs = append(attrs, "result", "rejected", "reason", rej.Reason)
		level = slog.LevelWarn
	case errors.Is(err, authmod.ErrRejected):
		attrs = append(attrs, "result", "rejected")
		level = slog.LevelWarn
	case errors.Is(err, authmod.ErrNotFound):
		attrs = append(attrs, "result", "notfound")
		level = slog.LevelWarn
	default:
		attrs = append(attrs, "result", "tempfail", "err", err.Error())
		level = slog.LevelError
	}
	attrs = append(attrs, "dur", time.Since(start).Round(time.Microsecond))
	s.log.Log(context.Background(), level, req.Command.String(), attrs...)
}

// authUser is the user an AUTH request names, for the log.
func authUser(req *authproto.Request) string {
	switch req.AuthType {
	case authproto.AuthLogin:
		if u, _, err := authproto.ParseLogin(req.AuthData); err == nil {
			return u
		}
	case authproto.AuthCRAMMD5, authproto.AuthCRAMSHA1, authproto.AuthCRAMSHA256:
		if _, u, _, err := authproto.ParseCRAM(req.AuthData); err == nil {
			return u
		}
	}
	return ""
}

// enumerate lists every module's accounts (spec §1.3's format); modules that
// cannot enumerate are left out, as Courier does.
func (s *Server) enumerate(ctx context.Context, setup *Setup) []byte {
	var b []byte
	for _, m := range setup.Modules {
		var part []byte
		part = authproto.AppendEnumModule(part, m.Name())
		// DEFAULTOPTIONS merged in, as Courier's authdaemond does here too
		// (tests/authdcompat).
		err := m.Enumerate(ctx, func(e *authproto.EnumEntry) {
			e.Options = MergeOptions(e.Options, setup.Config.DefaultOptions)
			part = authproto.AppendEnumEntry(part, e)
		})
		if errors.Is(err, authmod.ErrUnsupported) {
			continue
		}
		if err != nil {
			s.log.Error("ENUMERATE", "module", m.Name(), "result", "tempfail", "err", err.Error())
			return nil
		}
		b = append(b, part...)
	}
	s.log.Info("ENUMERATE", "result", "ok")
	return authproto.AppendEnd(b)
}
