package tcpd

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
)

// Options is tcpd's command line: couriertcpd's options
// (spec/courier-compat.md §3.1) plus Kurier's TLS options.
type Options struct {
	Address   string     // -address=: default bind address ("" or "0": all)
	Ports     []PortSpec // the port list
	Program   []string   // the program and its arguments
	MaxProcs  int        // -maxprocs= (40)
	MaxPerIP  int        // -maxperip= (4)
	MaxPerC   int        // -maxperc= (= MaxProcs)
	Warn      int        // -warn= (maxprocs - (maxprocs/10 + 1))
	Backlog   int        // -listen= (0: the system's maximum)
	Access    string     // -access=: the access file's text source
	AccessDat bool       // -access= named the compiled .dat; Access is its source
	DenyMsg   string     // -denymsg=
	NoDNS     bool       // -nodnslookup
	NoIdent   bool       // -noidentlookup
	HAProxy   bool       // -haproxy: PROXY v1/v2 header before the data
	PidFile   string     // -pid=
	Stop      bool       // -stop
	Restart   bool       // -restart
	User      string     // -user=
	Group     string     // -group=
	Stderr    string     // -stderr=socket or -stderr=<file>; "" inherits
	TLS       bool       // -tls (or a couriertls prefix): implicit TLS
	TLSUser   string     // -tlsuser= (courier if it exists, else nobody)
	StartTLS  bool       // STARTTLS offered: TLS_CERTFILE set and not -nostarttls
	NoSTLS    bool       // -nostarttls
	Notes     []string   // accepted-but-ignored settings, logged once at start
}

// PortSpec is one entry of the port list.
type PortSpec struct {
	Addr string // "" for the wildcard
	Port int
}

// ErrUsage is wrapped by every command-line error.
var ErrUsage = errors.New("tcpd: usage")

// refused names couriertcpd options Kurier does not implement, with the
// reason given to the admin.
var refused = map[string]string{
	"block":            "DNS blocklists are not supported",
	"allow":            "DNS allowlists are not supported",
	"drop":             "DNS blocklists are not supported",
	"accesslocal":      "access checks on the local address are not supported",
	"stderrlogger":     "run tcpd under systemd or courierlogger instead; its stderr is the log",
	"stderrloggername": "run tcpd under systemd or courierlogger instead; its stderr is the log",
}

// ParseArgs parses tcpd's arguments (without the program name). getenv
// reads the environment (TLS_CERTFILE decides whether STARTTLS is offered).
func ParseArgs(args []string, getenv func(string) string) (Options, error) {
	o := Options{MaxProcs: 40, MaxPerIP: 4, MaxPerC: -1, Warn: -1}
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		if a == "--" {
			i++
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		num := func() (int, error) {
			n, err := strconv.Atoi(val)
			if !hasVal || err != nil || n < 0 {
				return 0, fmt.Errorf("%w: -%s wants a number, got %q", ErrUsage, name, val)
			}
			return n, nil
		}
		var err error
		switch name {
		case "address":
			o.Address = val
		case "maxprocs":
			o.MaxProcs, err = num()
			if err == nil && o.MaxProcs == 0 {
				err = fmt.Errorf("%w: -maxprocs must be at least 1", ErrUsage)
			}
		case "maxperip":
			o.MaxPerIP, err = num()
		case "maxperc":
			o.MaxPerC, err = num()
		case "warn":
			o.Warn, err = num()
		case "listen":
			o.Backlog, err = num()
		case "access":
			o.Access = val
			if strings.HasSuffix(val, ".dat") {
				o.Access, o.AccessDat = strings.TrimSuffix(val, ".dat"), true
			}
		case "denymsg":
			o.DenyMsg = val
		case "nodnslookup":
			o.NoDNS = true
		case "noidentlookup":
			o.NoIdent = true
		case "haproxy":
			o.HAProxy = true
		case "pid":
			o.PidFile = val
		case "stop":
			o.Stop = true
		case "restart":
			o.Restart = true
		case "user":
			o.User = val
		case "group":
			o.Group = val
		case "stderr":
			o.Stderr = val
		case "proxy":
			o.Notes = append(o.Notes, "-proxy does nothing (as in couriertcpd)")
		case "tls":
			o.TLS = true
		case "tlsuser":
			o.TLSUser = val
		case "nostarttls":
			o.NoSTLS = true
		default:
			if why, ok := refused[name]; ok {
				return o, fmt.Errorf("%w: -%s: %s", ErrUsage, name, why)
			}
			return o, fmt.Errorf("%w: unknown option %q", ErrUsage, a)
		}
		if err != nil {
			return o, err
		}
		if (name == "address" || name == "access" || name == "pid" || name == "user" || name == "group" || name == "stderr" || name == "tlsuser") && (!hasVal || val == "") {
			return o, fmt.Errorf("%w: -%s wants a value", ErrUsage, name)
		}
	}
	if o.Stop || o.Restart {
		if o.PidFile == "" {
			return o, fmt.Errorf("%w: -stop and -restart need -pid=", ErrUsage)
		}
		return o, nil
	}
	rest := args[i:]
	if len(rest) < 2 {
		return o, fmt.Errorf("%w: tcpd [options] PORT[,PORT…] program [args…]", ErrUsage)
	}
	ports, err := parsePorts(rest[0])
	if err != nil {
		return o, err
	}
	o.Ports = ports
	o.Program = rest[1:]
	if filepath.Base(o.Program[0]) == "couriertls" {
		o.TLS = true
		j := 1
		for ; j < len(o.Program) && strings.HasPrefix(o.Program[j], "-"); j++ {
			if u, ok := strings.CutPrefix(o.Program[j], "-user="); ok && o.TLSUser == "" {
				o.TLSUser = u
			}
		}
		o.Notes = append(o.Notes, fmt.Sprintf("%q replaced by tcpd's TLS service", strings.Join(o.Program[:j], " ")))
		o.Program = o.Program[j:]
		if len(o.Program) == 0 {
			return o, fmt.Errorf("%w: no program after couriertls", ErrUsage)
		}
	}
	if o.MaxPerC < 0 {
		o.MaxPerC = o.MaxProcs
	}
	if o.Warn < 0 {
		o.Warn = o.MaxProcs - (o.MaxProcs/10 + 1)
	}
	if o.Stderr != "" && o.Stderr != "socket" && !filepath.IsAbs(o.Stderr) {
		return o, fmt.Errorf("%w: -stderr= wants \"socket\" or an absolute file name", ErrUsage)
	}
	o.StartTLS = !o.TLS && !o.NoSTLS && getenv("TLS_CERTFILE") != ""
	return o, nil
}

// parsePorts reads "port" or "ip.port" entries, comma separated; a port may
// be a service name.
func parsePorts(s string) ([]PortSpec, error) {
	var out []PortSpec
	for _, item := range strings.Split(s, ",") {
		addr, port := "", item
		if i := strings.LastIndexByte(item, '.'); i >= 0 {
			addr, port = item[:i], item[i+1:]
			if _, err := netip.ParseAddr(addr); err != nil {
				return nil, fmt.Errorf("%w: port list entry %q: bad address", ErrUsage, item)
			}
		}
		n, err := strconv.Atoi(port)
		if err != nil {
			n, err = net.LookupPort("tcp", port)
		}
		if err != nil || n <= 0 || n > 65535 {
			return nil, fmt.Errorf("%w: port list entry %q: bad port", ErrUsage, item)
		}
		out = append(out, PortSpec{Addr: addr, Port: n})
	}
	return out, nil
}
