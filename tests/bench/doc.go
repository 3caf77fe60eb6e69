// Package bench is the benchmark harness of make bench (issue #4): it
// measures Kurier's imapd against Debian's Courier-IMAP imapd and Dovecot's
// imap on the same generated Maildir, in the same run, and writes a
// markdown table, JSON and an SVG chart of Kurier's ratios to each peer.
//
// Usage:
//
//	make bench        # 1,000 and 10,000 messages, 5 repetitions (~10 min)
//	make bench-full   # adds 100,000 messages, 3 repetitions
//	KURIER_BENCH=quick go test -v -count=1 -run '^TestBench$' -timeout 60m ./tests/bench/
//
// Results go to bench-results/<UTC time>/ in the module root (git-ignored):
// report.md, report.json and ratios.svg. The ratio convention, everywhere:
// kurier/peer of the medians, so below 1 means Kurier is faster (or, for
// the memory row, smaller).
//
// Servers. All three run in PREAUTH mode over pipes (Server), each on its
// own fresh copy of the corpus (Corpus.NewHome: hard links to the cached
// message files, which no server changes in place):
//
//   - kurier: imapd built from this tree (or $KURIER_IMAPD), ./Maildir;
//   - courier: Debian's imapd found by package oracle
//     (scripts/fetch-courier.sh), with IMAP_ENHANCEDIDLE=1;
//   - dovecot: Debian's Dovecot 2.3 unpacked by scripts/fetch-dovecot.sh,
//     its imap binary run directly through doveconf with a private
//     configuration in the work directory (logs to stderr, Maildir++ with
//     Courier's INBOX. namespace, indexes in the Maildir, all else
//     default). Dovecot refuses mail access as root, so under root it runs
//     as nobody (65534) on a home given to nobody, with private copies of
//     the message files (see chownHome). Its copy of the corpus carries
//     the same keywords in Dovecot's format (DovecotLayout).
//
// A server that is not available (Courier or Dovecot not fetched) or lacks
// a scenario's capability is listed as skipped, with the reason; Courier
// 5.0.13 has no MOVE command. With CI=true a missing Courier fails, as in
// package oracle.
//
// Scenarios (scenarios): SELECT first (no uid db or index yet) and second,
// FETCH of metadata on every size; on 10,000 messages FETCH BODY.PEEK[] of
// 1,000, SEARCH HEADER and TEXT, STORE, COPY and UID MOVE of 5,000
// keyworded messages, APPEND of 2,000, EXPUNGE of 5,000, IDLE latency (a
// second writer delivers into new/ while the session idles; the time until
// "* n EXISTS", median of 5 deliveries) and one session's peak RSS.
// Scenarios that change the folder get a fresh home per repetition;
// read-only ones reuse one session, so their repetitions see warm caches
// (Dovecot's index cache included) — the first-SELECT rows are the cold
// figures.
//
// Measurement (Run): every scenario and server gets one unrecorded warm-up,
// then the repetitions, rotating the servers' order. Each repetition
// records the client's wall time of the measured commands only (starting a
// server, copying the corpus and setup commands are outside), the server
// process's user+system CPU time over the same span (/proc/PID/stat, 10 ms
// ticks) and its VmHWM at the end (peak RSS since the session started).
// The report gives the median with [min–max] and keeps every sample in the
// JSON, with the machine (cores, CPU model, memory, kernel, load) and the
// servers' versions. Timings are wall-clock on whatever else the machine
// runs: compare servers within one run, not across runs.
//
// The corpora (Generate) are made once per size and seed and cached in
// $TMPDIR/kurier-bench-corpus-<N>-<seed>-v<format>: 10,000 messages take
// about 160 MB and 7 s, 100,000 about 1.6 GB and 1 min.
//
// TestSmoke runs every scenario once on 50 messages in make test, so that
// the harness cannot rot; the statistics and writers have unit tests.
//
// Environment:
//
//	KURIER_BENCH           quick or full: run TestBench (else it skips)
//	KURIER_BENCH_REPS      repetitions (default 5 quick, 3 full)
//	KURIER_BENCH_ONLY      a regexp: only the scenarios whose "name (size)" match
//	KURIER_BENCH_OUT       results directory (default ../../bench-results)
//	KURIER_IMAPD           Kurier's imapd binary (default: go build kurier/imapd)
//	KURIER_BENCH_INPROC=1  run Kurier in the test process through
//	                       imapsession.Serve, so that -cpuprofile profiles it
//	                       (its CPU and memory are then not measured)
//	KURIER_BENCH_WRAP      a command prefix for every server, for diagnosis
//	                       (e.g. "strace -f -c -o /tmp/trace"; CPU and memory
//	                       are then the wrapper's)
//	KURIER_COURIER_DIR     where Courier is (see package oracle)
//	KURIER_DOVECOT_DIR     where Dovecot is (default ~/.cache/kurier/dovecot)
//
// Kurier and Courier get TZ=UTC, IMAP_CAPABILITY="IMAP4rev1 UIDPLUS
// CHILDREN NAMESPACE IDLE", IMAP_KEYWORDS=1, IMAP_USELOCKS=1,
// IMAP_MAILBOX_SANITY_CHECK=0, IMAP_ACL=0 and IMAP_EMPTYTRASH= (no purge).
//
// The network modes are TestBenchNetwork (network.go, root only): tcpd
// against couriertcpd (+ couriertls), connections per second and memory
// per idle TLS connection, and the whole login chain against Courier's,
// LOGIN + SELECT + LOGOUT per second, plain and TLS. Dovecot's login path
// is not measured yet.
package bench
