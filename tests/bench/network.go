package bench

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"kurier/tests/oracle"
)

// The network benchmarks (issues #6 and #7, reported through this
// harness): Kurier's tcpd (with its TLS service) against Debian's
// couriertcpd (with couriertls), and Kurier's whole login chain (tcpd +
// imaplogin + authd + imapd) against Courier's (couriertcpd + couriertls +
// imaplogin + authdaemond + imapd), on loopback, both as Debian's start
// scripts run them. See doc.go for the rows and how they are measured.

// Metrics of the network rows. Both keep the report's ratio convention
// (below 1 = Kurier better): throughput is recorded as time per
// connection, the inverse of connections per second.
const (
	// PerConnection is the client's wall time divided by the number of
	// transactions completed, in milliseconds: 1000/throughput.
	PerConnection Metric = "ms-per-conn"
	// MemoryPerConnection is the growth of the server tree's summed
	// proportional set size per idle connection, in KiB.
	MemoryPerConnection Metric = "pss-KiB-per-conn"
)

// NetConfig is one run of the network benchmarks.
type NetConfig struct {
	Set  string
	Reps int
	// Duration of each throughput repetition.
	Duration time.Duration
	// Idle is the number of idle connections of the memory rows.
	Idle int
	// Only, if set, keeps the rows whose label matches.
	Only *regexp.Regexp
	// Seed and CorpusParent as in Config; the chain serves a Maildir of
	// ChainMessages messages.
	Seed          uint64
	CorpusParent  string
	ChainMessages int
}

// The account's login name and password.
const (
	netUser = "bench"
	netPass = "Bench pass 4711"
)

// netAccount is the userdb account both chains serve: mapped to an
// unprivileged system user (Courier's imapd needs a passwd entry for its
// uid), with the same sha512-crypt hash in both userdb files.
type netAccount struct {
	name, pass string
	uid, gid   int
	hash       string
}

// netEnv is the state of one run of the network benchmarks.
type netEnv struct {
	work    string // traversable by the account and the TLS user
	bin     string // Kurier's binaries
	courier *oracle.Courier
	cert    string // one self-signed ECDSA certificate for both servers
	tlsUser string // the TLS processes' user on both sides
	acct    netAccount
	corpus  *Corpus
}

// netTarget is one running server: an address and the roots of its
// process tree.
type netTarget struct {
	addr  string
	roots []int
	cmds  []*exec.Cmd
	logs  *limitedBuffer
}

// stop ends the target's processes: SIGTERM to the roots, then SIGKILL to
// whatever of their trees (processes this harness started) is left after
// five seconds.
func (tg *netTarget) stop() {
	if tg == nil {
		return
	}
	pids, _ := treePids(tg.roots)
	for _, c := range tg.cmds {
		c.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, c := range tg.cmds {
		done := make(chan struct{})
		go func() { c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(time.Until(deadline)):
			c.Process.Kill()
			<-done
		}
	}
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGKILL) // only this tree's leftovers
	}
}

// netKind is one server implementation on the network.
type netKind struct {
	name    string
	version string
	// tcpd starts the bare tcpd with prog behind it, over implicit TLS
	// when secure.
	tcpd func(secure bool, prog []string) (*netTarget, error)
	// chain starts the whole login chain; plain and secure share authd.
	chain func() (plain, secure *netTarget, stop func(), err error)
}

// netScenario is one row of the network report.
type netScenario struct {
	name    string
	chain   bool     // the whole login chain, else tcpd with prog
	prog    []string // tcpd's program
	secure  bool     // implicit TLS
	clients int      // concurrent clients of a throughput row
	idle    int      // > 0: memory per idle connection over this many
}

func (sc netScenario) label() string { return sc.name }

// netScenarios are the rows: tcpd alone (a program that prints a greeting
// and exits; for memory one that prints it and waits), then the chain.
func netScenarios(idle int) []netScenario {
	echo := []string{"/bin/echo", "* OK bench"}
	wait := []string{"/bin/sh", "-c", `echo "* OK bench"; exec cat`}
	var out []netScenario
	for _, secure := range []bool{false, true} {
		for _, n := range []int{1, 8} {
			out = append(out, netScenario{name: fmt.Sprintf("tcpd: connections, %s, %s", tlsName(secure), clientsName(n)), prog: echo, secure: secure, clients: n})
		}
	}
	out = append(out, netScenario{name: fmt.Sprintf("tcpd: memory per idle TLS connection (%d)", idle), prog: wait, secure: true, idle: idle})
	for _, secure := range []bool{false, true} {
		for _, n := range []int{1, 8} {
			out = append(out, netScenario{name: fmt.Sprintf("chain: LOGIN+SELECT+LOGOUT, %s, %s", tlsName(secure), clientsName(n)), chain: true, secure: secure, clients: n})
		}
	}
	out = append(out, netScenario{name: fmt.Sprintf("chain: memory per idle TLS connection before login (%d)", idle), chain: true, secure: true, idle: idle})
	return out
}

func tlsName(secure bool) string {
	if secure {
		return "TLS"
	}
	return "plain"
}

func clientsName(n int) string {
	if n == 1 {
		return "1 client"
	}
	return fmt.Sprintf("%d clients", n)
}

// netUnavailable returns why the network benchmarks cannot run here, or "".
func netUnavailable() string {
	if err := oracle.NamespaceSupport(); err != nil {
		return "Courier's login chain cannot run: " + err.Error()
	}
	return ""
}

// newNetEnv builds Kurier's programs, finds Courier's, and prepares the
// certificate, the account and its corpus. It skips t when Courier's
// network programs are unavailable.
func newNetEnv(t *testing.T, cfg NetConfig) *netEnv {
	t.Helper()
	if why := netUnavailable(); why != "" {
		t.Skip(why)
	}
	c := oracle.Imapd(t)
	for _, p := range []string{"usr/sbin/couriertcpd", "usr/bin/couriertls", "usr/lib/courier/courier/imaplogin",
		"usr/lib/courier/courier-authlib/authdaemond", "usr/sbin/makeuserdb"} {
		if _, err := os.Stat(c.Path(p)); err != nil {
			msg := fmt.Sprintf("Courier's %s is missing (run scripts/fetch-courier.sh again): %v", p, err)
			if oracle.Required() {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	work, err := os.MkdirTemp("", "kurier-netbench-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(work) })
	os.Chmod(work, 0o711) // the account reaches its home, the TLS user the certificate
	e := &netEnv{work: work, bin: filepath.Join(work, "bin"), courier: c}
	os.Mkdir(e.bin, 0o755)
	build := exec.Command("go", "build", "-o", e.bin+"/", "kurier/tcpd", "kurier/imaplogin", "kurier/imapd",
		"kurier/authd", "kurier/tools/mkimapdcert", "kurier/tools/userdbpw")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("bench: go build: %v\n%s", err, out)
	}

	// Debian runs couriertls as courier; Kurier's TLS service runs as the
	// same user (its own default too).
	e.tlsUser = "nobody"
	if _, err := user.Lookup("courier"); err == nil {
		e.tlsUser = "courier"
	}
	tlsU, err := user.Lookup(e.tlsUser)
	if err != nil {
		t.Fatal(err)
	}
	certDir := filepath.Join(work, "cert")
	os.Mkdir(certDir, 0o755)
	mk := exec.Command(filepath.Join(e.bin, "mkimapdcert"), "-cn", "localhost")
	mk.Env = append(os.Environ(), "KURIER_CONFDIR="+certDir)
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("bench: mkimapdcert: %v\n%s", err, out)
	}
	e.cert = filepath.Join(certDir, "imapd.pem")
	tuid, _ := strconv.Atoi(tlsU.Uid)
	tgid, _ := strconv.Atoi(tlsU.Gid)
	if err := os.Chown(e.cert, tuid, tgid); err != nil {
		t.Fatal(err)
	}

	// The account: kurtest if it exists (the project's test user), else nobody.
	u, err := user.Lookup("kurtest")
	if err != nil {
		if u, err = user.Lookup("nobody"); err != nil {
			t.Fatal(err)
		}
	}
	e.acct = netAccount{name: netUser, pass: netPass}
	e.acct.uid, _ = strconv.Atoi(u.Uid)
	e.acct.gid, _ = strconv.Atoi(u.Gid)
	pw := exec.Command(filepath.Join(e.bin, "userdbpw"), "-sha512")
	pw.Stdin = strings.NewReader(e.acct.pass + "\n")
	out, err := pw.Output()
	if err != nil {
		t.Fatalf("bench: userdbpw: %v", err)
	}
	e.acct.hash = strings.TrimSpace(string(out))
	if e.corpus, err = Generate(cfg.CorpusParent, cfg.ChainMessages, cfg.Seed); err != nil {
		t.Fatal(err)
	}
	return e
}

// freeLoopbackPort returns a loopback port nobody listens on now.
func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tcpdOpts are the options both tcpds get: loopback, limits well above
// the benchmarks' concurrency (Courier's default -maxperip is 4), and no
// DNS or ident lookups (Debian's TCPDOPTS).
func tcpdOpts() []string {
	return []string{"-address=127.0.0.1", "-maxprocs=400", "-maxperip=400", "-nodnslookup", "-noidentlookup"}
}

// tlsEnv is the TLS settings of both TLS programs: Debian's imapd-ssl
// defaults, with the benchmark's certificate and no session cache file.
func (e *netEnv) tlsEnv() []string {
	env := []string{"TLS_CERTFILE=" + e.cert, "TLS_VERIFYPEER=NONE", "TLS_CACHEFILE=", "TLS_DHPARAMS="}
	if _, err := os.Stat("/etc/ssl/certs/ca-certificates.crt"); err == nil {
		env = append(env, "TLS_TRUSTCERTS=/etc/ssl/certs/ca-certificates.crt")
	}
	return env
}

// startTarget starts cmds (the last one listening on port) and waits
// until port accepts connections.
func startTarget(port int, logs *limitedBuffer, cmds ...*exec.Cmd) (*netTarget, error) {
	tg := &netTarget{addr: fmt.Sprintf("127.0.0.1:%d", port), logs: logs}
	for _, c := range cmds {
		c.Stdout, c.Stderr = logs, logs
		if err := c.Start(); err != nil {
			tg.stop()
			return nil, err
		}
		tg.cmds = append(tg.cmds, c)
		tg.roots = append(tg.roots, c.Process.Pid)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", tg.addr); err == nil {
			c.Close()
			return tg, nil
		}
	}
	tg.stop()
	return nil, fmt.Errorf("nothing listens on %s after 10 s; log:\n%s", tg.addr, logs.String())
}

// kurierNet is Kurier's side: tcpd -tls for implicit TLS, and the chain
// from copies of this tree's etc/ files, run by tcpd --config as an admin
// runs it (pkg/listenconf).
func (e *netEnv) kurierNet() *netKind {
	k := &netKind{name: "kurier", version: strings.Replace(kurierVersion(), "imapd", "tcpd+imaplogin+authd+imapd", 1)}
	k.tcpd = func(secure bool, prog []string) (*netTarget, error) {
		port, err := freeLoopbackPort()
		if err != nil {
			return nil, err
		}
		args := tcpdOpts()
		env := []string{"PATH=/usr/bin:/bin"}
		if secure {
			args = append(args, "-tls", "-tlsuser="+e.tlsUser)
			env = append(env, e.tlsEnv()...)
		}
		cmd := exec.Command(filepath.Join(e.bin, "tcpd"), append(append(args, strconv.Itoa(port)), prog...)...)
		cmd.Env = env
		return startTarget(port, &limitedBuffer{}, cmd)
	}
	k.chain = func() (*netTarget, *netTarget, func(), error) {
		dir := filepath.Join(e.work, "kurier")
		conf, run := filepath.Join(dir, "etc"), filepath.Join(dir, "run")
		for _, d := range []string{conf, run} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return nil, nil, nil, err
			}
		}
		home, err := e.home()
		if err != nil {
			return nil, nil, nil, err
		}
		pport, err1 := freeLoopbackPort()
		sport, err2 := freeLoopbackPort()
		if err := errors.Join(err1, err2); err != nil {
			return nil, nil, nil, err
		}
		files := map[string]string{
			"imapd": fmt.Sprintf("ADDRESS=127.0.0.1\nPORT=%d\nMAXDAEMONS=400\nMAXPERIP=400\nPIDFILE=%s/imapd.pid\nIMAPACCESSFILE=%s/imapaccess\n"+
				"TCPDOPTS=\"-nodnslookup -noidentlookup -tlsuser=%s\"\nIMAP_EMPTYTRASH=\"\"\n", pport, run, conf, e.tlsUser),
			"imapd-ssl":    fmt.Sprintf("SSLADDRESS=127.0.0.1\nSSLPORT=%d\nSSLPIDFILE=%s/imapd-ssl.pid\n%s\n", sport, run, strings.Join(e.tlsEnv(), "\n")),
			"authdaemonrc": fmt.Sprintf("authmodulelist=\"authuserdb\"\nauthdaemonvar=%s/authdaemon\n", run),
		}
		for name, extra := range files {
			data, err := os.ReadFile(filepath.Join("..", "..", "etc", name))
			if err != nil {
				return nil, nil, nil, err
			}
			data = append(data, "\n# --- tests/bench network benchmarks ---\n"+extra...)
			if err := os.WriteFile(filepath.Join(conf, name), data, 0o644); err != nil {
				return nil, nil, nil, err
			}
		}
		if err := os.WriteFile(filepath.Join(conf, "imapaccess"), nil, 0o644); err != nil {
			return nil, nil, nil, err
		}
		if err := os.WriteFile(filepath.Join(conf, "userdb"), []byte(e.userdbLine(home)), 0o600); err != nil {
			return nil, nil, nil, err
		}
		env := []string{"PATH=/usr/bin:/bin", "KURIER_CONFDIR=" + conf}
		logs := &limitedBuffer{}
		authd := exec.Command(filepath.Join(e.bin, "authd"), "-private")
		authd.Env = env
		authd.Stdout, authd.Stderr = logs, logs
		if err := authd.Start(); err != nil {
			return nil, nil, nil, err
		}
		authTarget := &netTarget{cmds: []*exec.Cmd{authd}, roots: []int{authd.Process.Pid}}
		sock := filepath.Join(run, "authdaemon", "socket")
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if _, err := os.Stat(sock); err == nil {
				break
			}
			if time.Now().After(deadline) {
				authTarget.stop()
				return nil, nil, nil, fmt.Errorf("authd: no socket after 10 s:\n%s", logs.String())
			}
		}
		listener := func(file string, port int) (*netTarget, error) {
			cmd := exec.Command(filepath.Join(e.bin, "tcpd"), "--config", filepath.Join(conf, file), "--libexec", e.bin)
			cmd.Env = env
			tg, err := startTarget(port, logs, cmd)
			if err == nil {
				tg.roots = append(tg.roots, authd.Process.Pid)
			}
			return tg, err
		}
		plain, err := listener("imapd", pport)
		if err != nil {
			authTarget.stop()
			return nil, nil, nil, err
		}
		secure, err := listener("imapd-ssl", sport)
		if err != nil {
			plain.stop()
			authTarget.stop()
			return nil, nil, nil, err
		}
		return plain, secure, func() { plain.stop(); secure.stop(); authTarget.stop(); os.RemoveAll(home) }, nil
	}
	return k
}

// courierNet is Courier's side, as Debian's packages run it:
// couriertcpd with "couriertls -server -tcpd -user=courier" before the
// program for implicit TLS (/usr/lib/courier/imapd-ssl), and the chain
// started from copies of Courier's own /etc/courier files the way Debian's
// start scripts do (both files sourced with set -a, IMAP_ULIMITD as ulimit
// -v, IMAP_UMASK), with authdaemond; each in a private mount namespace
// (package oracle) for the compiled-in paths.
func (e *netEnv) courierNet() *netKind {
	c := e.courier
	k := &netKind{name: "courier", version: c.Version + "; couriertcpd, couriertls, imaplogin, authdaemond (" + debVersion(c.Packages, "courier-base", "courier-authdaemon") + ")"}
	couriertls := c.Path("usr/bin/couriertls")
	k.tcpd = func(secure bool, prog []string) (*netTarget, error) {
		port, err := freeLoopbackPort()
		if err != nil {
			return nil, err
		}
		args := append(tcpdOpts(), strconv.Itoa(port))
		env := c.Environ()
		if secure {
			args = append(args, couriertls, "-server", "-tcpd", "-user="+e.tlsUser)
			env = c.Environ(e.tlsEnv()...)
		}
		cmd := exec.Command(c.Path("usr/sbin/couriertcpd"), append(args, prog...)...)
		cmd.Env = env
		return startTarget(port, &limitedBuffer{}, cmd)
	}
	k.chain = func() (*netTarget, *netTarget, func(), error) {
		dir := filepath.Join(e.work, "courier")
		etc, vardir, conf := filepath.Join(dir, "etc"), filepath.Join(dir, "authdaemon"), filepath.Join(dir, "conf")
		for _, d := range []string{filepath.Join(etc, "courier"), vardir, conf} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return nil, nil, nil, err
			}
		}
		home, err := e.home()
		if err != nil {
			return nil, nil, nil, err
		}
		pport, err1 := freeLoopbackPort()
		sport, err2 := freeLoopbackPort()
		if err := errors.Join(err1, err2); err != nil {
			return nil, nil, nil, err
		}
		files := map[string]string{
			filepath.Join(conf, "imapd"): fmt.Sprintf("ADDRESS=127.0.0.1\nPORT=%d\nMAXDAEMONS=400\nMAXPERIP=400\nIMAPACCESSFILE=%s/imapaccess\n"+
				"TCPDOPTS=\"-nodnslookup -noidentlookup\"\nIMAP_EMPTYTRASH=\"\"\n", pport, conf),
			filepath.Join(conf, "imapd-ssl"):              fmt.Sprintf("SSLADDRESS=127.0.0.1\nSSLPORT=%d\nCOURIERTLS=%s\n%s\n", sport, couriertls, strings.Join(e.tlsEnv(), "\n")),
			filepath.Join(etc, "courier", "authdaemonrc"): "authmodulelist=\"authuserdb\"\nauthdaemonvar=/run/courier/authdaemon\n",
		}
		for path, extra := range files {
			data, err := os.ReadFile(c.Path(filepath.Join("etc", "courier", filepath.Base(path))))
			if err != nil {
				return nil, nil, nil, err
			}
			data = append(data, "\n# --- tests/bench network benchmarks ---\n"+extra...)
			if err := os.WriteFile(path, data, 0o644); err != nil {
				return nil, nil, nil, err
			}
		}
		if err := os.WriteFile(filepath.Join(etc, "courier", "userdb"), []byte(e.userdbLine(home)), 0o600); err != nil {
			return nil, nil, nil, err
		}
		ad, err := c.StartAuthdaemond(etc, vardir)
		if err != nil {
			return nil, nil, nil, err
		}
		imaplogin, imapd := c.Path("usr/lib/courier/courier/imaplogin"), c.ImapdPath
		// The inner shell of Debian's /usr/lib/courier/imapd and imapd-ssl
		// (courierlogger and the access file's .dat left out).
		prelude := fmt.Sprintf("set -a\n. %s/imapd\n. %s/imapd-ssl\numask $IMAP_UMASK\nulimit -v $IMAP_ULIMITD\n", conf, conf)
		scripts := map[int]string{
			pport: prelude + fmt.Sprintf("IMAP_STARTTLS=$IMAPDSTARTTLS\nexec %s -address=$ADDRESS -maxprocs=$MAXDAEMONS -maxperip=$MAXPERIP $TCPDOPTS $PORT %s %s $MAILDIRPATH\n",
				c.Path("usr/sbin/couriertcpd"), imaplogin, imapd),
			sport: prelude + fmt.Sprintf("IMAP_TLS=1\nexec %s -address=$SSLADDRESS -maxprocs=$MAXDAEMONS -maxperip=$MAXPERIP $TCPDOPTS $SSLPORT $COURIERTLS -server -tcpd -user=%s %s %s $MAILDIRPATH\n",
				c.Path("usr/sbin/couriertcpd"), e.tlsUser, imaplogin, imapd),
		}
		logs := &limitedBuffer{}
		targets := map[int]*netTarget{}
		for _, port := range []int{pport, sport} {
			cmd := c.ChainCommand(vardir, c.Environ(), "/bin/sh", "-ec", scripts[port])
			tg, err := startTarget(port, logs, cmd)
			if err != nil {
				for _, t := range targets {
					t.stop()
				}
				ad.Stop()
				return nil, nil, nil, err
			}
			tg.roots = append(tg.roots, ad.Pid())
			targets[port] = tg
		}
		stop := func() { targets[pport].stop(); targets[sport].stop(); ad.Stop(); os.RemoveAll(home) }
		return targets[pport], targets[sport], stop, nil
	}
	return k
}

// debVersion picks the named packages' name=version out of a
// COURIER_PACKAGES list.
func debVersion(packages string, names ...string) string {
	var out []string
	for _, p := range strings.Fields(packages) {
		name, _, _ := strings.Cut(p, "=")
		for _, n := range names {
			if name == n {
				out = append(out, p)
			}
		}
	}
	return strings.Join(out, " ")
}

// home makes a fresh copy of the chain's corpus owned by the account.
func (e *netEnv) home() (string, error) {
	home, err := e.corpus.NewHome(e.work, CourierLayout)
	if err != nil {
		return "", err
	}
	if err := chownHome(home, e.acct.uid, e.acct.gid); err != nil {
		os.RemoveAll(home)
		return "", err
	}
	return home, nil
}

// userdbLine is the account's userdb entry, with home as its home.
func (e *netEnv) userdbLine(home string) string {
	return fmt.Sprintf("%s\tuid=%d|gid=%d|home=%s|mail=%s/Maildir|systempw=%s\n",
		e.acct.name, e.acct.uid, e.acct.gid, home, home, e.acct.hash)
}

// netInstance is one server's state during one row.
type netInstance struct {
	kind   *netKind
	target *netTarget
	res    *Result
	failed bool
	value  []float64
	wall   []float64
	cpu    []float64
	// authCPU is the authentication daemon's share of cpu (chain rows).
	authCPU []float64
	note    string
}

// RunNetwork measures the network rows on Kurier and Courier and returns
// the report (Messages is the chain's corpus size on chain rows, 0 on the
// tcpd rows). It skips t when Courier's chain cannot run here.
func RunNetwork(t *testing.T, cfg NetConfig) *Report {
	e := newNetEnv(t, cfg)
	kinds := []*netKind{e.kurierNet(), e.courierNet()}
	rep := &Report{
		Started: time.Now(), Set: cfg.Set, Reps: cfg.Reps, Warmup: true,
		Machine: ThisMachine(), Servers: map[string]string{}, Peers: []string{"courier"},
		RatioConvention: ratioConvention,
	}
	for _, k := range kinds {
		rep.Servers[k.name] = k.version
	}
	type chainTargets struct {
		plain, secure *netTarget
		stop          func()
		err           error
	}
	chains := map[string]*chainTargets{}
	defer func() {
		for _, ct := range chains {
			if ct.stop != nil {
				ct.stop()
			}
		}
	}()
	for _, sc := range netScenarios(cfg.Idle) {
		if cfg.Only != nil && !cfg.Only.MatchString(sc.label()) {
			continue
		}
		row := &Row{Scenario: sc.name, Metric: PerConnection, Results: map[string]*Result{}, Ratio: map[string]float64{}}
		if sc.idle > 0 {
			row.Metric = MemoryPerConnection
		}
		if sc.chain {
			row.Messages = cfg.ChainMessages
		}
		rep.Rows = append(rep.Rows, row)
		started := time.Now()
		var insts []*netInstance
		for _, k := range kinds {
			in := &netInstance{kind: k, res: &Result{}}
			row.Results[k.name] = in.res
			var err error
			if sc.chain {
				ct := chains[k.name]
				if ct == nil {
					ct = &chainTargets{}
					ct.plain, ct.secure, ct.stop, ct.err = k.chain()
					chains[k.name] = ct
				}
				in.target, err = ct.plain, ct.err
				if sc.secure {
					in.target = ct.secure
				}
			} else {
				in.target, err = k.tcpd(sc.secure, sc.prog)
			}
			if err != nil {
				in.res.Skipped = "failed: " + firstLine(err.Error())
				t.Errorf("bench: %s: start %s: %v", sc.name, k.name, err)
				continue
			}
			insts = append(insts, in)
		}
		measureNetRow(t, cfg, sc, insts)
		if !sc.chain {
			for _, in := range insts {
				in.target.stop()
			}
		}
		if r := Ratio(row.Results["kurier"].Value, row.Results["courier"].Value); r > 0 {
			row.Ratio["courier"] = r
		}
		t.Logf("bench: %-66s %s", sc.label(), netRowSummary(row, time.Since(started)))
	}
	rep.Duration = time.Since(rep.Started).Round(time.Second).String()
	return rep
}

// measureNetRow runs one warm-up and the repetitions of a row, rotating
// the servers' order, and summarises them into the results.
func measureNetRow(t *testing.T, cfg NetConfig, sc netScenario, insts []*netInstance) {
	for r := range cfg.Reps + 1 {
		for j := range insts {
			in := insts[(j+r)%len(insts)]
			if in.failed {
				continue
			}
			if err := in.once(cfg, sc, r > 0); err != nil {
				in.failed = true
				in.res.Skipped = "failed: " + firstLine(err.Error())
				t.Errorf("bench: %s on %s: %v\nserver log:\n%s", sc.name, in.kind.name, err, in.target.logs.String())
			}
		}
	}
	for _, in := range insts {
		if in.failed {
			continue
		}
		in.res.Value = Summarize(in.value)
		in.res.WallMS = Summarize(in.wall)
		in.res.CPUMS = Summarize(in.cpu)
		in.res.Note = in.note
	}
}

// settle is how long the harness lets a server's last sessions exit (and
// be reaped, so that their CPU time reaches their parent) before reading
// the tree's CPU time.
const settle = 200 * time.Millisecond

// once runs one repetition (the warm-up when !recorded): a throughput run
// of cfg.Duration, or the memory of sc.idle idle connections.
func (in *netInstance) once(cfg NetConfig, sc netScenario, recorded bool) error {
	tg := in.target
	if sc.idle > 0 {
		return in.memory(sc, recorded)
	}
	op := greetOp
	if sc.chain {
		op = loginOp(netUser, netPass)
	}
	d := cfg.Duration
	if !recorded {
		d = min(d, 500*time.Millisecond)
	}
	time.Sleep(settle)
	cpu0, auth0, err := in.cpuTime()
	if err != nil {
		return err
	}
	ops, elapsed, note, err := drive(op, tg.addr, sc.secure, sc.clients, d)
	if err != nil {
		return err
	}
	time.Sleep(settle)
	cpu1, auth1, err := in.cpuTime()
	if err != nil {
		return err
	}
	if recorded {
		ms := float64(elapsed) / float64(time.Millisecond)
		perOp := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(ops) }
		in.wall = append(in.wall, ms)
		in.value = append(in.value, ms/float64(ops))
		in.cpu = append(in.cpu, perOp(cpu1-cpu0))
		in.authCPU = append(in.authCPU, perOp(auth1-auth0))
		in.note = note
		if sc.chain {
			in.note += fmt.Sprintf("; authentication daemon %s ms CPU per login", num(Summarize(in.authCPU).Median))
		}
	}
	return nil
}

// cpuTime returns the CPU time of the target's whole tree and, for a
// chain, of the authentication daemon's tree (the roots after the first).
func (in *netInstance) cpuTime() (all, auth time.Duration, err error) {
	roots := in.target.roots
	if all, err = treeCPU(roots); err != nil || len(roots) < 2 {
		return all, 0, err
	}
	auth, err = treeCPU(roots[1:])
	return all, auth, err
}

// memory opens sc.idle idle connections and records the growth of the
// tree's summed PSS per connection; then it closes them and waits for
// their processes to go.
func (in *netInstance) memory(sc netScenario, recorded bool) error {
	tg := in.target
	base, nBase, err := treePSS(tg.roots)
	if err != nil {
		return err
	}
	conns, err := idleConns(tg.addr, sc.secure, sc.idle)
	if err != nil {
		return err
	}
	time.Sleep(500 * time.Millisecond) // let every connection's processes start
	after, nAfter, err := treePSS(tg.roots)
	closeAll(conns)
	if err != nil {
		return err
	}
	// Wait for the connections' processes to exit before the next run.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		pids, err := treePids(tg.roots)
		if err != nil {
			return err
		}
		if len(pids) <= nBase {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d processes left 15 s after closing the connections, %d before", len(pids), nBase)
		}
	}
	if recorded {
		in.value = append(in.value, float64(after-base)/float64(sc.idle))
		in.note = fmt.Sprintf("%.1f processes per connection; tree %d KiB idle", float64(nAfter-nBase)/float64(sc.idle), base)
	}
	return nil
}

// netRowSummary is the progress line of one network row.
func netRowSummary(row *Row, took time.Duration) string {
	return fmt.Sprintf("kurier %s; courier %s; ratio %s (%v)", netCell(row.Results["kurier"], row.Metric),
		netCell(row.Results["courier"], row.Metric), ratioText(row.Ratio["courier"]), took.Round(100*time.Millisecond))
}
