// Package authmod is the contract between authd and its authentication
// modules (authuserdb, authshadow, authpam: the subpackages), and the
// password checks they share.
//
// authd tries the modules of authmodulelist in order (spec §1.4). A module
// answers each request with one of four outcomes, which decide whether the
// next module is asked:
//
//	account, nil        the module knows the user and accepts: stop, reply
//	nil, ErrNotFound    the module does not know the user: ask the next one
//	nil, ErrRejected    the module knows the user and refuses (wrong
//	                    password, locked or expired account): stop, FAIL
//	nil, other error    the module could not decide (file unreadable, PAM
//	                    error): stop, close without a reply, which clients
//	                    report as a temporary failure rather than a wrong
//	                    password
//
// ErrUnsupported (a request the module cannot serve, such as CRAM against
// PAM) counts as ErrNotFound. Modules must be safe for concurrent use: authd
// serves many requests at once.
package authmod

import (
	"context"
	"errors"

	"kurier/pkg/authproto"
)

// Outcomes other than success; see the package comment.
var (
	ErrNotFound    = errors.New("authmod: no such user")
	ErrRejected    = errors.New("authmod: rejected")
	ErrUnsupported = errors.New("authmod: not supported by this module")
)

// Module is one authentication module. Reload is called on SIGHUP and must
// leave the module serving its old data if the new data cannot be read.
type Module interface {
	// Name is the name used in authmodulelist and logs ("authuserdb").
	Name() string
	// Pre looks user up for service without a password.
	Pre(ctx context.Context, service, user string) (*authproto.Account, error)
	// Auth checks the credentials of an AUTH request.
	Auth(ctx context.Context, req *authproto.Request) (*authproto.Account, error)
	// Passwd changes user's password for service.
	Passwd(ctx context.Context, service, user, oldPass, newPass string) error
	// Enumerate calls emit for every account; ErrUnsupported if the module
	// cannot list its accounts.
	Enumerate(ctx context.Context, emit func(*authproto.EnumEntry)) error
	// Reload re-reads the module's data and configuration.
	Reload() error
}

// Rejection carries why a module refused a known user, for the log line
// (never the password). errors.Is(err, ErrRejected) holds for it.
type Rejection struct{ Reason string }

func (r *Rejection) Error() string { return "authmod: rejected: " + r.Reason }

// Is makes errors.Is(r, ErrRejected) true.
func (r *Rejection) Is(target error) bool { return target == ErrRejected }

// Reject returns a rejection with a reason for the log.
func Reject(reason string) error { return &Rejection{Reason: reason} }
