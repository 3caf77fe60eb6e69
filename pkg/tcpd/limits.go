package tcpd

import (
	"net/netip"
	"sync"
)

// counts tracks connections in use: the total (slots) and the counts per
// address and per "C block" (the address without its last byte). It is safe
// for concurrent use.
type counts struct {
	mu    sync.Mutex
	cond  *sync.Cond
	max   int
	total int
	perIP map[netip.Addr]int
	perC  map[netip.Prefix]int
}

func newCounts(max int) *counts {
	c := &counts{max: max, perIP: map[netip.Addr]int{}, perC: map[netip.Prefix]int{}}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// acquire waits for a free slot and takes it.
func (c *counts) acquire() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.total >= c.max {
		c.cond.Wait()
	}
	c.total++
	return c.total
}

// release frees a slot.
func (c *counts) release() {
	c.mu.Lock()
	c.total--
	c.mu.Unlock()
	c.cond.Signal()
}

func cBlock(a netip.Addr) netip.Prefix {
	p, _ := a.Prefix(a.BitLen() - 8)
	return p
}

// admit counts a connection from a if fewer than maxIP (from the same
// address) and maxC (from its C block) are in use; 0 means no limit.
// It returns "" or the limit that refused it.
func (c *counts) admit(a netip.Addr, maxIP, maxC int) string {
	a = a.Unmap()
	cb := cBlock(a)
	c.mu.Lock()
	defer c.mu.Unlock()
	if maxIP > 0 && c.perIP[a] >= maxIP {
		return "maxperip"
	}
	if maxC > 0 && c.perC[cb] >= maxC {
		return "maxperc"
	}
	c.perIP[a]++
	c.perC[cb]++
	return ""
}

// leave undoes admit.
func (c *counts) leave(a netip.Addr) {
	a = a.Unmap()
	cb := cBlock(a)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.perIP[a]--; c.perIP[a] <= 0 {
		delete(c.perIP, a)
	}
	if c.perC[cb]--; c.perC[cb] <= 0 {
		delete(c.perC, cb)
	}
}

// InUse returns the slots in use and the number of addresses tracked.
func (c *counts) inUse() (total, addrs, blocks int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total, len(c.perIP), len(c.perC)
}
