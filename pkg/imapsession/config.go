package imapsession

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"kurier/pkg/capability"
	"kurier/pkg/quota"
)

// Config is what a session needs from imapd's environment, read once at
// start-up with the meaning and defaults Courier's imapd gives each variable
// (spec/courier-compat.md §5.1). The zero value is not valid; use
// ConfigFromEnv or fill every field.
type Config struct {
	// Capabilities advertised after login, already filtered to what Kurier
	// implements.
	Capabilities []string
	// Ignored lists capabilities named in IMAP_CAPABILITY that Kurier
	// does not implement yet. tcpd --config reports them once at start-up;
	// imapd run from a shell reports them itself.
	Ignored []string

	Keywords     bool          // IMAP_KEYWORDS non-zero
	UseLocks     bool          // IMAP_USELOCKS (on unless its first char is not '1')
	TrashName    string        // IMAP_TRASHFOLDERNAME, "Trash"
	IdleInterval time.Duration // IMAP_IDLE_TIMEOUT: IDLE's poll interval without inotify
	EmptyTrash   []PurgeRule   // IMAP_EMPTYTRASH
	Quota        quota.Definition
	Hostname     string // HOSTNAME, for new file names
	AppendLimit  int64  // largest APPEND accepted, in bytes (APPENDLIMIT)
	LogDeletions bool   // IMAP_LOG_DELETIONS
	// IDFields is IMAP_ID_FIELDS: what ID tells about the server, bit 1
	// version, 2 OS name, 4 OS release (0: the name only). Courier offers ID
	// only when the variable is set; Kurier always does, with the name only
	// by default, since clients use it and it reveals nothing.
	IDFields int
	// SanityCheck is IMAP_MAILBOX_SANITY_CHECK (default on): the Maildir
	// must belong to the session's uid and gid.
	SanityCheck bool
}

// PurgeRule is one item of IMAP_EMPTYTRASH: messages older than Age in
// Folder (without "INBOX.") are removed at login and logout.
type PurgeRule struct {
	Folder string
	Age    time.Duration
}

// DefaultAppendLimit is the APPENDLIMIT when none is configured. Courier has
// no explicit limit (its ulimit -v bounds it); 64 MiB holds any message a
// mail system accepts today.
const DefaultAppendLimit = 64 << 20

// ConfigFromEnv reads the configuration from getenv (os.Getenv in imapd).
// Problems that Courier would silently ignore are returned as warnings to
// log once, not as errors: a typo in /etc/courier/imapd must not lock every
// user out.
func ConfigFromEnv(getenv func(string) string) (*Config, []string) {
	var warn []string
	c := &Config{
		Keywords:     atoiDefault(getenv("IMAP_KEYWORDS"), 0) != 0,
		UseLocks:     useLocks(getenv("IMAP_USELOCKS")),
		TrashName:    getenv("IMAP_TRASHFOLDERNAME"),
		IdleInterval: time.Duration(atoiDefault(getenv("IMAP_IDLE_TIMEOUT"), 60)) * time.Second,
		Hostname:     getenv("HOSTNAME"),
		AppendLimit:  DefaultAppendLimit,
		LogDeletions: getenv("IMAP_LOG_DELETIONS") != "",
		IDFields:     0,
		SanityCheck:  atoiDefault(getenv("IMAP_MAILBOX_SANITY_CHECK"), 1) != 0,
	}
	if c.TrashName == "" {
		c.TrashName = "Trash"
	}
	if c.IdleInterval <= 0 {
		c.IdleInterval = 60 * time.Second
	}
	if v, ok := lookup(getenv, "IMAP_ID_FIELDS"); ok {
		c.IDFields = atoiDefault(v, 0)
	}
	if v := getenv("MAILDIRQUOTA"); v != "" {
		d, err := quota.ParseDefinition(v)
		if err != nil {
			warn = append(warn, fmt.Sprintf("MAILDIRQUOTA=%q: %v", v, err))
		}
		c.Quota = d
	}
	rules, err := ParseEmptyTrash(getenv("IMAP_EMPTYTRASH"), c.TrashName)
	if err != nil {
		warn = append(warn, err.Error())
	}
	c.EmptyTrash = rules

	seen := map[string]bool{}
	add := func(cp string) {
		if !seen[strings.ToUpper(cp)] {
			seen[strings.ToUpper(cp)] = true
			c.Capabilities = append(c.Capabilities, cp)
		}
	}
	base := getenv("IMAP_CAPABILITY")
	if getenv("IMAP_TLS") != "" && atoiDefault(getenv("IMAP_TLS"), 0) != 0 && getenv("IMAP_CAPABILITY_TLS") != "" {
		base = getenv("IMAP_CAPABILITY_TLS")
	}
	if base == "" {
		base = "IMAP4rev1"
	}
	add("IMAP4rev1")
	for _, cp := range strings.Fields(base) {
		switch {
		case capability.Implemented(cp):
			add(cp)
		case capability.PreLogin(cp):
			// Pre-login capabilities: meaningless after login, as in
			// Courier (IMAP_STARTTLS is forced off in imapd).
		default:
			c.Ignored = append(c.Ignored, cp)
		}
	}
	for _, cp := range capability.Always {
		add(cp)
	}
	add(fmt.Sprintf("APPENDLIMIT=%d", c.AppendLimit))
	return c, warn
}

// LogWarnings logs what ConfigFromEnv reported, once at start-up.
func LogWarnings(log *slog.Logger, warnings []string) {
	for _, w := range warnings {
		log.Warn("configuration", "err", w)
	}
}

// useLocks is Courier's reading of IMAP_USELOCKS: on unless set to a value
// whose first character is not '1'.
func useLocks(v string) bool { return v == "" || v[0] == '1' }

func lookup(getenv func(string) string, key string) (string, bool) {
	v := getenv(key)
	return v, v != ""
}

// atoiDefault parses the leading integer of s as C's atoi does (Courier
// reads these variables with atoi), or returns def when s is empty.
func atoiDefault(s string, def int) int {
	s = strings.TrimSpace(s)
	if s == "" {
		return def
	}
	end := 0
	if end < len(s) && (s[end] == '-' || s[end] == '+') {
		end++
	}
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(s[:end])
	if err != nil {
		return 0
	}
	return n
}

// ParseEmptyTrash parses IMAP_EMPTYTRASH (spec §5.6): comma-separated
// "folder:days" items; a value without ':' and ',' is a day count for the
// trash folder; days <= 0 become 1.
func ParseEmptyTrash(v, trash string) ([]PurgeRule, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	if !strings.ContainsAny(v, ":,") {
		v = trash + ":" + v
	}
	var rules []PurgeRule
	for _, item := range strings.Split(v, ",") {
		folder, days, ok := strings.Cut(strings.TrimSpace(item), ":")
		if !ok || folder == "" {
			return rules, fmt.Errorf("IMAP_EMPTYTRASH: item %q is not folder:days", item)
		}
		d := atoiDefault(days, 1)
		if d <= 0 {
			d = 1
		}
		rules = append(rules, PurgeRule{Folder: folder, Age: time.Duration(d) * 24 * time.Hour})
	}
	return rules, nil
}
