package message

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"
)

// TestGoIMAPExtract records why the package does not use go-imap's
// imapserver.Extract* helpers (v2.0.0-beta.8) on stored messages. If this
// test fails after an upgrade, go-imap changed: reconsider using it.
func TestGoIMAPExtract(t *testing.T) {
	t.Parallel()
	plain := testMessage(t, "plain.eml")
	mixed := testMessage(t, "mixed.eml")

	// 1. Sizes count the stored LFs, not CRLF: 79 octets for a body that
	//    BODY[1] sends in 85.
	bs := imapserver.ExtractBodyStructure(bytes.NewReader(plain)).(*imap.BodyStructureSinglePart)
	ours, _ := NewBytes(plain).BodyStructure()
	if bs.Size != 79 || ours.(*imap.BodyStructureSinglePart).Size != 85 {
		t.Errorf("go-imap size %d (want its LF count 79), ours %d", bs.Size, ours.(*imap.BodyStructureSinglePart).Size)
	}
	// 2. Sections mix line endings: the header is rewritten with CRLF, the
	//    body is copied with its LFs; and it is all built in memory.
	text := imapserver.ExtractBodySection(bytes.NewReader(plain), &imap.FetchItemBodySection{Part: []int{1}})
	if !bytes.Contains(text, []byte("Bob,\n\nare")) {
		t.Errorf("go-imap BODY[1] = %q, expected bare LFs", text)
	}
	// 3. MIME of part 1 of a single-part message is the whole header, not
	//    its MIME fields (Courier's form).
	mime := imapserver.ExtractBodySection(bytes.NewReader(plain), &imap.FetchItemBodySection{Part: []int{1}, Specifier: imap.PartSpecifierMIME})
	if !bytes.HasPrefix(mime, []byte("Return-Path:")) {
		t.Errorf("go-imap BODY[1.MIME] = %q", mime)
	}
	// 4. Part 1 of a leaf part is the part itself; Courier sends nothing.
	sub := imapserver.ExtractBodySection(bytes.NewReader(mixed), &imap.FetchItemBodySection{Part: []int{2, 1}})
	if len(sub) == 0 {
		t.Errorf("go-imap BODY[2.1] of a leaf is empty")
	}
	// 5. Groups vanish from the envelope, and Date is parsed, so that an
	//    unparsable date cannot be sent as Courier sends it.
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(testMessage(t, "rfc2047.eml"))))
	if err != nil {
		t.Fatal(err)
	}
	env := imapserver.ExtractEnvelope(h)
	if len(env.To) != 0 {
		t.Errorf("go-imap To = %+v, expected the group to be lost", env.To)
	}
	ourEnv, _ := NewBytes(testMessage(t, "rfc2047.eml")).Envelope()
	if len(ourEnv.To) != 2 || !ourEnv.To[0].IsGroupStart() {
		t.Errorf("our To = %+v", ourEnv.To)
	}
}
