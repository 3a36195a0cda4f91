package mavlink

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

// LoadSigningKey reads a MAVLink 2 signing key from a file: 64 hexadecimal characters are the 32-byte key
// itself; anything else is a passphrase, hashed with SHA-256 as QGroundControl and Mission Planner do.
// Errors never contain the key.
func LoadSigningKey(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if fi.Size() > 4096 {
		return nil, fmt.Errorf("signing key %s: %d bytes is too long for a key or passphrase", path, fi.Size())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	text := strings.TrimSpace(string(b))
	if text == "" {
		return nil, fmt.Errorf("signing key %s is empty", path)
	}
	if len(text) == 64 {
		if key, err := hex.DecodeString(text); err == nil {
			return key, nil
		}
	}
	sum := sha256.Sum256([]byte(text))
	return sum[:], nil
}
