package record

import (
	"os"
)

// segmentFile is an open segment file; *os.File implements it.
type segmentFile interface {
	Write(p []byte) (int, error)
	Sync() error
	Truncate(size int64) error
	Close() error
}

// fileSystem creates segment files. It is the seam where tests inject a
// full disk.
type fileSystem interface {
	MkdirAll(dir string) error
	// Create creates a new file, failing if it exists.
	Create(path string) (segmentFile, error)
	// SyncDir makes a new directory entry durable.
	SyncDir(dir string) error
}

// osFS is the real file system.
type osFS struct{}

func (osFS) MkdirAll(dir string) error { return os.MkdirAll(dir, 0o750) }

func (osFS) Create(path string) (segmentFile, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
}

func (osFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
