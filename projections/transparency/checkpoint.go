package transparency

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Checkpoint is what a signed checkpoint commits to: the log's origin (the key's name), the
// tree size and the root hash, and the stream heads at that size (nil in checkpoints signed
// before the heads commitment existed).
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   []byte
	Heads  *HeadsCommitment
}

// Body is the C2SP tlog-checkpoint text: origin, decimal size and base64 root, one a line,
// then the heads extension line when there are heads.
func (c Checkpoint) Body() string {
	body := fmt.Sprintf("%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root))
	if c.Heads != nil {
		body += c.Heads.line() + "\n"
	}
	return body
}

// parseBody reads a checkpoint body; extension lines after the root are allowed, the heads
// line is read and other ones are ignored.
func parseBody(text string) (Checkpoint, error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 || lines[0] == "" {
		return Checkpoint{}, errors.New("transparency: a checkpoint needs origin, size and root lines")
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil || (len(lines[1]) > 1 && lines[1][0] == '0') {
		return Checkpoint{}, fmt.Errorf("transparency: checkpoint size %q", lines[1])
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != hasher.Size() {
		return Checkpoint{}, fmt.Errorf("transparency: checkpoint root %q", lines[2])
	}
	c := Checkpoint{Origin: lines[0], Size: size, Root: root}
	for _, ext := range strings.Split(strings.TrimSuffix(lines[3], "\n"), "\n") {
		if ext == "" {
			continue
		}
		h, ok, err := parseHeadsLine(ext)
		if err != nil {
			return Checkpoint{}, err
		}
		if ok && c.Heads != nil {
			return Checkpoint{}, errors.New("transparency: a checkpoint with two heads lines")
		}
		if ok {
			c.Heads = &h
		}
	}
	return c, nil
}

// Sign signs the checkpoint as a note. The signer's name must be the origin.
func Sign(c Checkpoint, s note.Signer) ([]byte, error) {
	if s.Name() != c.Origin {
		return nil, fmt.Errorf("transparency: key %q cannot sign for origin %q", s.Name(), c.Origin)
	}
	return note.Sign(&note.Note{Text: c.Body()}, s)
}

// Open checks a signed checkpoint against the verifier and returns what it commits to. It
// fails when no signature of that key is valid or the origin is not the key's name.
func Open(signed []byte, v note.Verifier) (Checkpoint, error) {
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("transparency: checkpoint signature: %w", err)
	}
	c, err := parseBody(n.Text)
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != v.Name() {
		return Checkpoint{}, fmt.Errorf("transparency: checkpoint origin %q is not the key's %q", c.Origin, v.Name())
	}
	return c, nil
}

// Key is the log's signing key and its public verifier key (note formats).
type Key struct {
	Signer   note.Signer
	Verifier note.Verifier
	Public   string // the verifier key, "<name>+<hash>+<base64 key>"
}

// GenerateKey makes an Ed25519 key for the origin and returns the key file's text: the
// private key on the first line, the public verifier key on the second.
func GenerateKey(origin string) (file []byte, public string, err error) {
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		return nil, "", fmt.Errorf("transparency: key for origin %q: %w", origin, err)
	}
	return []byte(skey + "\n" + vkey + "\n"), vkey, nil
}

// ParseKey reads a key file written by GenerateKey and checks that its halves belong together.
func ParseKey(file []byte) (*Key, error) {
	lines := strings.Fields(string(file))
	if len(lines) != 2 {
		return nil, errors.New("transparency: a key file has the private and the public key, one a line")
	}
	s, err := note.NewSigner(lines[0])
	if err != nil {
		return nil, fmt.Errorf("transparency: private key: %w", err)
	}
	v, err := note.NewVerifier(lines[1])
	if err != nil {
		return nil, fmt.Errorf("transparency: public key: %w", err)
	}
	probe := []byte("custody key check\n")
	sig, err := s.Sign(probe)
	if err != nil || s.Name() != v.Name() || s.KeyHash() != v.KeyHash() || !v.Verify(probe, sig) {
		return nil, errors.New("transparency: the key file's private and public keys do not match")
	}
	return &Key{Signer: s, Verifier: v, Public: lines[1]}, nil
}

// LoadKey reads a key file.
func LoadKey(path string) (*Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("transparency: key file: %w", err)
	}
	return ParseKey(b)
}

// ParseVerifier reads a public key given as the verifier key itself or as a file holding it
// (a key file's public line, or a file with only the verifier key).
func ParseVerifier(s string) (note.Verifier, error) {
	if b, err := os.ReadFile(s); err == nil {
		fields := strings.Fields(string(bytes.TrimSpace(b)))
		if len(fields) == 0 {
			return nil, fmt.Errorf("transparency: %s holds no key", s)
		}
		s = fields[len(fields)-1]
	}
	v, err := note.NewVerifier(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("transparency: public key: %w", err)
	}
	return v, nil
}
