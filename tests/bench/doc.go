// Package bench compares the speed of Kurier's imapd with Debian's
// Courier-IMAP imapd on the same generated Maildir, in the same run.
//
// Usage:
//
//	go test -run '^$' -bench . -benchtime=2x ./tests/bench/          # all, ~5 min
//	go test -run '^$' -bench . -benchtime=2x -short ./tests/bench/   # without 100k
//
// Every scenario is a benchmark with a kurier and a courier sub-benchmark.
// Each runs its server process in PREAUTH mode over pipes (see Server) and
// times only the measured command(s): starting the process, copying the
// folder and unmeasured setup commands are outside the timer. The courier
// sub-benchmark reports courier/kurier (above 1: Kurier is faster), every
// sub-benchmark reports the server's peak RSS (VmHWM) as peak-KiB, and a
// table of all scenarios is printed at the end. With -benchtime=Nx the
// testing package first runs one unrecorded iteration, which also warms
// the page cache that both servers share (their folders hard-link the same
// message files); -benchtime=1x skips it and favours the second server.
//
// The corpora (Generate) are made once per size and seed and cached in
// $TMPDIR/kurier-bench-corpus-<N>-<seed>-v<format>: 10,000 messages take
// about 160 MB and 7 s, 100,000 about 1.6 GB and 1 min.
//
// Environment:
//
//	KURIER_BENCH_LARGE=0   skip the 100,000-message scenarios (as -short does)
//	KURIER_IMAPD           Kurier's imapd binary (default: go build kurier/imapd)
//	KURIER_BENCH_INPROC=1  run only Kurier, in the test process through
//	                       imapsession.Serve, so that -cpuprofile profiles it
//	KURIER_BENCH_WRAP      a command prefix for both servers, for diagnosis
//	                       (e.g. "strace -f -c -o /tmp/trace"; peak-KiB is
//	                       then the wrapper's)
//	KURIER_COURIER_DIR     where Courier is (see package oracle); without
//	                       Courier the courier sub-benchmarks are skipped
//
// Both servers get TZ=UTC, IMAP_CAPABILITY="IMAP4rev1 UIDPLUS CHILDREN
// NAMESPACE IDLE", IMAP_KEYWORDS=1, IMAP_USELOCKS=1,
// IMAP_MAILBOX_SANITY_CHECK=0, IMAP_ACL=0 and IMAP_EMPTYTRASH= (no purge).
//
// Timings are wall-clock on whatever else the machine runs: compare the two
// servers of one run, repeat with -count and use benchstat before trusting
// a difference under about 30%.
package bench
