package bench

import (
	"os"
	"syscall"
)

// nlink returns the file's link count (1 when unknown).
func nlink(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}
