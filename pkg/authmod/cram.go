package authmod

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
)

// CRAM secrets: userdb's hmac-md5pw, hmac-sha1pw and hmac-sha256pw fields
// hold, in hex, the HMAC key's two intermediate hash states — the state
// after the outer block (key XOR opad), then after the inner block (key XOR
// ipad), each written as the hash would write a digest. That is what
// Courier's userdbpw -hmac-md5 prints (checked against it in
// tests/authdcompat), and it lets the server check a CRAM response without
// storing the password.

// cramHash describes one hash for the state import and export below.
type cramHash struct {
	new   func() hash.Hash
	magic string // prefix of the Go standard library's marshalled state
	words int    // 32-bit words of state
	le    bool   // digest bytes are little-endian words (MD5)
}

var cramHashes = map[string]cramHash{
	"md5":    {md5.New, "md5\x01", 4, true},
	"sha1":   {sha1.New, "sha\x01", 5, false},
	"sha256": {sha256.New, "sha\x03", 8, false},
}

// CRAMSecret returns the hex secret for alg ("md5", "sha1", "sha256") and
// password, as userdbpw -hmac-<alg> prints it.
func CRAMSecret(alg, password string) (string, error) {
	h, ok := cramHashes[alg]
	if !ok {
		return "", fmt.Errorf("authmod: unknown hmac %q", alg)
	}
	key := []byte(password)
	if len(key) > 64 {
		k := h.new()
		k.Write(key)
		key = k.Sum(nil)
	}
	var out []byte
	for _, pad := range []byte{0x5c, 0x36} {
		block := make([]byte, 64)
		copy(block, key)
		for i := range block {
			block[i] ^= pad
		}
		d := h.new()
		d.Write(block)
		m, err := d.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			return "", err
		}
		out = append(out, h.toDigest(m[len(h.magic):len(h.magic)+4*h.words])...)
	}
	return hex.EncodeToString(out), nil
}

// CRAMDigest returns the lower-case hex HMAC of challenge under the secret
// stored for alg, the value a client's CRAM response must carry.
func CRAMDigest(alg, secret string, challenge []byte) (string, error) {
	h, ok := cramHashes[alg]
	if !ok {
		return "", fmt.Errorf("authmod: unknown hmac %q", alg)
	}
	raw, err := hex.DecodeString(secret)
	n := 4 * h.words
	if err != nil || len(raw) != 2*n {
		return "", errors.New("authmod: malformed hmac-" + alg + "pw")
	}
	inner, err := h.resume(raw[n:])
	if err != nil {
		return "", err
	}
	inner.Write(challenge)
	outer, err := h.resume(raw[:n])
	if err != nil {
		return "", err
	}
	outer.Write(inner.Sum(nil))
	return hex.EncodeToString(outer.Sum(nil)), nil
}

// resume returns a hash that continues from state (digest byte order) after
// one 64-byte block.
func (h cramHash) resume(state []byte) (hash.Hash, error) {
	m := []byte(h.magic)
	for i := 0; i < h.words; i++ {
		w := state[4*i : 4*i+4]
		if h.le {
			m = binary.BigEndian.AppendUint32(m, binary.LittleEndian.Uint32(w))
		} else {
			m = append(m, w...)
		}
	}
	m = append(m, make([]byte, 64)...)       // empty buffer
	m = binary.BigEndian.AppendUint64(m, 64) // one block hashed so far
	d := h.new()
	if err := d.(encoding.BinaryUnmarshaler).UnmarshalBinary(m); err != nil {
		return nil, fmt.Errorf("authmod: resume hmac state: %w", err)
	}
	return d, nil
}

// toDigest turns marshalled state words (big-endian) into digest byte order.
func (h cramHash) toDigest(words []byte) []byte {
	out := make([]byte, len(words))
	for i := 0; i+4 <= len(words); i += 4 {
		v := binary.BigEndian.Uint32(words[i:])
		if h.le {
			binary.LittleEndian.PutUint32(out[i:], v)
		} else {
			binary.BigEndian.PutUint32(out[i:], v)
		}
	}
	return out
}
