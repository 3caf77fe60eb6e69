package oracle

// Running Debian's network programs (couriertcpd, couriertls, imaplogin,
// authdaemond) from the unpacked tree, for the network benchmarks of
// tests/bench and any test that needs Courier's whole login chain.
//
// Courier's authentication client library has the socket path
// /run/courier/authdaemon/socket compiled in, and authdaemond has
// /etc/courier/authdaemonrc and its modules' directory /usr/lib/courier-authlib
// compiled in. So each such process runs in a private mount namespace
// (unshare -m, which makes propagation private): a tmpfs covers /run, the
// caller's socket directory is bind-mounted on /run/courier/authdaemon, and
// for authdaemond /etc is an overlay whose upper layer holds the caller's
// courier/ directory and /usr/lib an overlay with the unpacked libraries on
// top. Nothing on the host changes. This needs root: NamespaceSupport says
// why it is unavailable otherwise. tests/authdcompat does the same by hand.

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// AuthdaemonDir is where Courier's programs look for authdaemond's socket.
const AuthdaemonDir = "/run/courier/authdaemon"

// Path returns the absolute path of rel inside the unpacked (or installed)
// tree, such as "usr/bin/couriertls" or "usr/sbin/couriertcpd".
func (c *Courier) Path(rel string) string { return filepath.Join(c.root, rel) }

// NamespaceSupport returns nil when Courier's chain can run here (root,
// unshare, mount and perl present, mount namespaces allowed), else why not.
func NamespaceSupport() error {
	if os.Geteuid() != 0 {
		return errors.New("needs root: Courier's programs run in a private mount namespace")
	}
	for _, tool := range []string{"unshare", "mount", "perl"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found", tool)
		}
	}
	if out, err := exec.Command("unshare", "-m", "true").CombinedOutput(); err != nil {
		return fmt.Errorf("unshare -m: %v %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// mountRun returns the shell commands that give the namespace a private
// /run with vardir on AuthdaemonDir.
func mountRun(vardir string) string {
	return fmt.Sprintf("mount -t tmpfs none /run\nmkdir -p %s /run/k/up /run/k/work\nmount --bind %s %s\n",
		AuthdaemonDir, shellQuote(vardir), AuthdaemonDir)
}

// NamespaceCommand returns a command that runs path with args in a private
// mount namespace where AuthdaemonDir is vardir (where an authdaemond
// started by StartAuthdaemond, or any daemon speaking its protocol, has its
// socket), with exactly the environment env. The shell execs path, so the
// command's process is path's once it runs.
func NamespaceCommand(vardir string, env []string, path string, args ...string) *exec.Cmd {
	script := mountRun(vardir) + `exec "$@"`
	cmd := exec.Command("unshare", append([]string{"-m", "sh", "-ec", script, "sh", path}, args...)...)
	cmd.Env = env
	return cmd
}

// PublishedDir is where ChainCommand's namespace shows the Courier tree.
const PublishedDir = "/run/courier-oracle"

// ChainCommand is NamespaceCommand for a chain whose programs change to an
// account's uid: the unpacked tree usually lives in root's home (mode
// 0700), which imaplogin could not exec imapd from once it is the user.
// So the namespace also bind-mounts the tree (c.Dir) on PublishedDir, and
// every occurrence of c.Dir in env, path and args (a shell script
// included) is rewritten to PublishedDir. An installed Courier is run as
// is.
func (c *Courier) ChainCommand(vardir string, env []string, path string, args ...string) *exec.Cmd {
	if c.root == c.Dir { // installed: nothing to publish
		return NamespaceCommand(vardir, env, path, args...)
	}
	pub := func(s string) string { return strings.ReplaceAll(s, c.Dir, PublishedDir) }
	script := mountRun(vardir) + fmt.Sprintf("mkdir -p %[2]s\nmount --bind %[1]s %[2]s\n", shellQuote(c.Dir), PublishedDir) + `exec "$@"`
	argv := []string{"-m", "sh", "-ec", script, "sh", pub(path)}
	for _, a := range args {
		argv = append(argv, pub(a))
	}
	cmd := exec.Command("unshare", argv...)
	for _, e := range env {
		cmd.Env = append(cmd.Env, pub(e))
	}
	return cmd
}

// Authdaemond is Debian's authdaemond running in its own mount namespace.
type Authdaemond struct {
	// VarDir holds its socket ("socket"): pass it to NamespaceCommand.
	VarDir string
	cmd    *exec.Cmd
	done   chan struct{}
	log    *lockedBuffer

	stopped sync.Once
}

// StartAuthdaemond runs makeuserdb and authdaemond with etcDir overlaid on
// /etc: etcDir/courier must hold authdaemonrc (with
// authdaemonvar=/run/courier/authdaemon) and, for authuserdb, userdb (mode
// 0600). The daemon's socket ends up in vardir, which must exist. As
// Debian's wrapper does, authdaemonrc's settings are exported to the daemon
// (it takes DEFAULTOPTIONS from its environment). It returns once the socket
// accepts connections; Stop ends the daemon.
func (c *Courier) StartAuthdaemond(etcDir, vardir string) (*Authdaemond, error) {
	script := mountRun(vardir) + fmt.Sprintf(`cp -a %[1]s/. /run/k/up/
mount -t overlay overlay -o lowerdir=/etc,upperdir=/run/k/up,workdir=/run/k/work /etc
mount -t overlay overlay -o lowerdir=%[2]s:/usr/lib /usr/lib
if [ -f /etc/courier/userdb ]; then perl %[3]s; fi
set -a; . /etc/courier/authdaemonrc; set +a
exec %[4]s
`, shellQuote(etcDir), shellQuote(c.Path("usr/lib")), shellQuote(c.Path("usr/sbin/makeuserdb")),
		shellQuote(c.Path("usr/lib/courier/courier-authlib/authdaemond")))
	a := &Authdaemond{VarDir: vardir, done: make(chan struct{}), log: &lockedBuffer{}}
	a.cmd = exec.Command("unshare", "-m", "sh", "-ec", script)
	a.cmd.Env = c.Environ()
	a.cmd.Stdout, a.cmd.Stderr = a.log, a.log
	if err := a.cmd.Start(); err != nil {
		return nil, fmt.Errorf("oracle: authdaemond: %w", err)
	}
	go func() { a.cmd.Wait(); close(a.done) }()
	sock := filepath.Join(vardir, "socket")
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if conn, err := net.Dial("unix", sock); err == nil {
			conn.Close()
			return a, nil
		}
		select {
		case <-a.done:
			return nil, fmt.Errorf("oracle: authdaemond exited: %s", a.log.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	a.Stop()
	return nil, fmt.Errorf("oracle: authdaemond: no socket after 10 s: %s", a.log.String())
}

// Pid is the daemon's process id (its worker processes are its children).
func (a *Authdaemond) Pid() int { return a.cmd.Process.Pid }

// Log returns what the daemon wrote on its standard output and error.
func (a *Authdaemond) Log() string { return a.log.String() }

// Stop ends the daemon (SIGTERM, then SIGKILL after 5 s) and waits for it.
func (a *Authdaemond) Stop() {
	a.stopped.Do(func() {
		a.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-a.done:
		case <-time.After(5 * time.Second):
			a.cmd.Process.Kill()
			<-a.done
		}
	})
}

// shellQuote quotes s for sh.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
