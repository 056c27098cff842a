package media

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"syscall"
	"time"

	"github.com/yuncan/yuncan"
)

// FileStore is a Store on the local file system: each key is a file under
// one directory. Directories are created 0700 and files 0600. All access
// goes through an os.Root, so even a symbolic link planted in the
// directory cannot lead outside it.
type FileStore struct {
	dir string
}

var _ Store = (*FileStore)(nil)

// NewFileStore returns a FileStore keeping its files under dir. The
// directory is created on the first Put.
func NewFileStore(dir string) *FileStore {
	return &FileStore{dir: dir}
}

// Put implements Store. It writes a temporary file beside the target,
// syncs it, renames it over the target and syncs the directory.
func (s *FileStore) Put(ctx context.Context, key string, data []byte) (err error) {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("media: put %s: %w", key, err)
		}
	}()
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return err
	}
	defer root.Close()

	dir := path.Dir(key)
	if _, err := root.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := root.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		// New directories are entries in their parents: make them last.
		for d := path.Dir(dir); ; d = path.Dir(d) {
			if err := syncDir(root, d); err != nil {
				return err
			}
			if d == "." {
				break
			}
		}
	}

	tmp := path.Join(dir, ".tmp-"+rand.Text())
	if err := writeFile(root, tmp, data); err != nil {
		root.Remove(tmp)
		return err
	}
	if err := root.Rename(tmp, key); err != nil {
		root.Remove(tmp)
		return err
	}
	return syncDir(root, dir)
}

// Open implements Store.
func (s *FileStore) Open(ctx context.Context, key string) (io.ReadSeekCloser, time.Time, error) {
	if err := checkKey(key); err != nil {
		return nil, time.Time{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, time.Time{}, err
	}
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return nil, time.Time{}, openError(key, err)
	}
	defer root.Close()
	f, err := root.Open(key)
	if err != nil {
		return nil, time.Time{}, openError(key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, time.Time{}, fmt.Errorf("media: open %s: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, time.Time{}, notFound(key, nil)
	}
	return f, fi.ModTime(), nil
}

// Delete implements Store.
func (s *FileStore) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	root, err := os.OpenRoot(s.dir)
	if absent(err) {
		return nil
	} else if err != nil {
		return fmt.Errorf("media: delete %s: %w", key, err)
	}
	defer root.Close()
	fi, err := root.Lstat(key)
	if absent(err) || err == nil && fi.IsDir() {
		return nil
	}
	if err == nil {
		err = root.Remove(key)
	}
	if err == nil {
		// Sync so that a crash cannot bring a deleted picture back.
		err = syncDir(root, path.Dir(key))
	}
	if err != nil && !absent(err) {
		return fmt.Errorf("media: delete %s: %w", key, err)
	}
	return nil
}

func writeFile(root *os.Root, name string, data []byte) error {
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(root *os.Root, dir string) error {
	d, err := root.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// absent reports whether err says a path does not exist, including a
// path that runs through a file as if it were a directory.
func absent(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

func openError(key string, err error) error {
	if absent(err) {
		return notFound(key, err)
	}
	return fmt.Errorf("media: open %s: %w", key, err)
}

func notFound(key string, cause error) error {
	e := yuncan.Errorf(yuncan.NotFound, "media not found")
	e.Err = fmt.Errorf("media: open %s: %w", key, cause)
	if cause == nil {
		e.Err = fmt.Errorf("media: open %s: not a file", key)
	}
	return e
}
