package tcpd

import (
	"fmt"
	"os/user"
	"strconv"
	"syscall"
)

// DropPrivileges switches tcpd itself to userName (and its primary group,
// or groupName) after its sockets are open (-user=, -group=), and verifies
// that root cannot be regained. Either name may be a number.
// TODO(#privsep): move into pkg/privsep once it exists.
func DropPrivileges(userName, groupName string) error {
	uid, gid := -1, -1
	if userName != "" {
		u, err := user.Lookup(userName)
		if err != nil {
			if u, err = user.LookupId(userName); err != nil {
				return fmt.Errorf("tcpd: -user=%s: %w", userName, err)
			}
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
	if groupName != "" {
		g, err := user.LookupGroup(groupName)
		if err != nil {
			if g, err = user.LookupGroupId(groupName); err != nil {
				return fmt.Errorf("tcpd: -group=%s: %w", groupName, err)
			}
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	if gid >= 0 {
		if err := syscall.Setgroups([]int{gid}); err != nil {
			return fmt.Errorf("tcpd: setgroups: %w", err)
		}
		if err := syscall.Setgid(gid); err != nil {
			return fmt.Errorf("tcpd: setgid %d: %w", gid, err)
		}
	}
	if uid >= 0 {
		if err := syscall.Setuid(uid); err != nil {
			return fmt.Errorf("tcpd: setuid %d: %w", uid, err)
		}
		if uid != 0 && syscall.Setuid(0) == nil {
			return fmt.Errorf("tcpd: could regain root after setuid %d", uid)
		}
	}
	return nil
}
