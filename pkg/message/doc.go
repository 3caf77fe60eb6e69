// Package message answers FETCH and SEARCH about one stored message,
// independently of sessions and Maildirs: given the bytes of a Maildir file
// (LF line endings, spec/courier-compat.md §6.2), it computes RFC822.SIZE,
// ENVELOPE, BODY and BODYSTRUCTURE, every BODY[section]<partial> and
// BINARY[section] form, and whether the message matches the content keys of
// a SEARCH. imapd's FETCH and SEARCH handlers use it; the speed cache may
// store what it computes (sizes, envelopes, body structures) in the wire
// form it produces.
//
// # CRLF view
//
// A Maildir file has LF line endings; IMAP sees CRLF. Every LF is sent as
// CRLF and every other byte unchanged, a CR included (a file stored with
// CRLF is sent with CR CR LF, as Courier sends it). A CR that is the last
// byte of a file is not sent, as Courier does not send it. RFC822.SIZE, section
// sizes, partial offsets, body sizes and line counts all refer to this
// view. CRLFReader converts a stream; LFWriter and ToLF convert the other
// way, for APPEND: a CRLF pair becomes LF and a lone CR is kept.
//
// Courier 5.0.13's APPEND stores differently (observed with the test
// oracle): it drops lone CRs, turns CRs at the end of the literal into
// one LF, and appends an LF when the literal does not end with one. Kurier
// keeps the client's bytes, so that BODY[] gives back what was appended.
//
// # Streaming
//
// A Message reads its file through an io.ReaderAt, and only as far as it
// must: the header for ENVELOPE and header searches, everything for
// BODYSTRUCTURE, part sections and body searches. Files up to LoadLimit are
// then kept in memory; larger ones are read in chunks for each operation,
// and a Section is written with WriteTo without being loaded, so BODY[] of
// a 50 MB message needs no 50 MB buffer. A partial fetch reads the file up
// to its offset.
//
// # Compatibility with Courier
//
// Output follows what Courier-IMAP 5.0.13 sends, as observed by the
// differential tests (oracle_test.go), with these deliberate differences,
// where Courier's output is wrong:
//
//   - Some message/rfc822 and multipart parts that end at a boundary (a
//     digest entry, a forwarded message whose body has no final line
//     break): Courier counts, and sends in their sections, the CR of the
//     CRLF before the boundary, a stray CR (the size is one more). Kurier
//     sends the content.
//   - A message without a blank line after its header: Courier cuts the
//     last CRLF of the header in two (BODY[HEADER] ends with a CR, TEXT is
//     that LF). Kurier sends the header whole and an empty body.
//   - Groups in address lists: Courier loses the group name and sends both
//     markers as (NIL NIL "" NIL); Kurier sends (NIL NIL "name" NIL) and
//     (NIL NIL NIL NIL). A lone comment, or one after an address in
//     angle brackets, makes Courier add an empty address, and comments
//     inside an addr-spec stay in its mailbox and host; Kurier drops such
//     comments.
//   - Long runs of 8-bit header text are split into encoded words at other
//     points than Courier splits them.
//   - Part 1 of a message whose own type is message/rfc822: Courier sends
//     the encapsulated message's body and MIME header; Kurier sends the
//     encapsulated message (whose size BODYSTRUCTURE reports) and the
//     message's own MIME header.
//   - A multipart whose boundary never occurs: Courier shows it as one part
//     in BODYSTRUCTURE yet sends BODY[1] empty; Kurier sends its body.
//
// A part whose header runs into the next delimiter without a blank line is
// treated like a message without blank line. A file stored with CRLF has
// its blank line stored as "\r\n": Courier sends that as a header line in
// HEADER.FIELDS.NOT, Kurier does not. SEARCH differences are listed with
// Matcher.
//
// # Use of go-imap
//
// The package uses go-imap's types (imap.FetchItemBodySection,
// imap.SearchCriteria, imap.Envelope, imap.BodyStructure) but not its
// imapserver.Extract* helpers, which are wrong for stored messages (see
// goimap_test.go): they count sizes in LF octets, send bodies with bare
// LFs, build every section in memory, lose groups, and cannot give
// Courier's forms (raw Date, parameter order, MIME headers). Envelope and
// BodyStructure still return go-imap's types, for tests and clients;
// AppendEnvelope and AppendBodyStructure give the exact wire form.
package message
