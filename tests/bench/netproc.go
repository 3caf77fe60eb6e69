package bench

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A network server is a tree of processes (tcpd, its TLS service, one or
// more processes per connection, authd and its workers): these functions
// account for all of it through /proc.

// procStat is what the network benchmarks read from /proc/PID/stat.
type procStat struct {
	ppid int
	// cpu is utime+stime+cutime+cstime: the process's own CPU time and
	// that of the children it has reaped, so that a tree's sum counts the
	// connections that have come and gone.
	cpu time.Duration
}

// parseProcStat parses the content of /proc/PID/stat. The command name
// (second field, in parentheses) may hold spaces and parentheses, so the
// fields are counted after its last ")".
func parseProcStat(stat string) (procStat, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return procStat{}, errors.New("bench: /proc stat: no command name")
	}
	// After ")": state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17).
	f := strings.Fields(stat[i+1:])
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("bench: /proc stat: %d fields after the name", len(f))
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil || ppid < 0 {
		return procStat{}, fmt.Errorf("bench: /proc stat: bad ppid %q", f[1])
	}
	var ticks int64
	for _, v := range f[11:15] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > maxTicks {
			return procStat{}, fmt.Errorf("bench: /proc stat: bad time %q", v)
		}
		ticks += n
	}
	return procStat{ppid: ppid, cpu: time.Duration(ticks) * time.Second / userHZ}, nil
}

// allProcs reads the stat of every process; processes that vanish while
// it reads are left out.
func allProcs() (map[int]procStat, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	procs := make(map[int]procStat, len(ents))
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		st, err := parseProcStat(string(data))
		if err != nil {
			return nil, fmt.Errorf("bench: /proc/%d/stat: %w", pid, err)
		}
		procs[pid] = st
	}
	return procs, nil
}

// treeOf returns roots and all their living descendants, sorted, from a
// snapshot of allProcs.
func treeOf(procs map[int]procStat, roots []int) []int {
	children := map[int][]int{}
	for pid, st := range procs {
		children[st.ppid] = append(children[st.ppid], pid)
	}
	var out []int
	seen := map[int]bool{}
	queue := slices.Clone(roots)
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if seen[pid] {
			continue
		}
		seen[pid] = true
		if _, alive := procs[pid]; !alive {
			continue
		}
		out = append(out, pid)
		queue = append(queue, children[pid]...)
	}
	slices.Sort(out)
	return out
}

// treePids returns the living processes of the trees rooted at roots.
func treePids(roots []int) ([]int, error) {
	procs, err := allProcs()
	if err != nil {
		return nil, err
	}
	return treeOf(procs, roots), nil
}

// treeCPU returns the CPU time of the trees rooted at roots: every living
// process's own time plus that of the children it has reaped.
func treeCPU(roots []int) (time.Duration, error) {
	procs, err := allProcs()
	if err != nil {
		return 0, err
	}
	var sum time.Duration
	for _, pid := range treeOf(procs, roots) {
		sum += procs[pid].cpu
	}
	return sum, nil
}

// parsePss returns the "Pss:" figure of /proc/PID/smaps_rollup, in KiB.
func parsePss(rollup string) (int64, error) {
	sc := bufio.NewScanner(strings.NewReader(rollup))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
			f := strings.Fields(v)
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("bench: smaps_rollup: bad Pss line %q", sc.Text())
			}
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, errors.New("bench: smaps_rollup: no Pss line")
}

// treePSS returns the summed proportional set size of the trees rooted at
// roots, in KiB, and the number of processes: shared pages are divided
// among the processes that map them, so the sum is what the tree costs the
// machine. Reading another user's smaps_rollup needs root (or ptrace
// rights).
func treePSS(roots []int) (kib int64, n int, err error) {
	pids, err := treePids(roots)
	if err != nil {
		return 0, 0, err
	}
	for _, pid := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		if errors.Is(err, os.ErrNotExist) {
			continue // exited meanwhile
		}
		if err != nil {
			return 0, 0, err
		}
		if len(data) == 0 {
			continue // a zombie: no memory
		}
		pss, err := parsePss(string(data))
		if err != nil {
			return 0, 0, fmt.Errorf("bench: /proc/%d: %w", pid, err)
		}
		kib += pss
		n++
	}
	return kib, n, nil
}
