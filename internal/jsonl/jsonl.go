// Package jsonl appends JSON objects, one per line, to a file, durably:
// the development outboxes (SMS, email, push, the real-name certifier)
// are such files, read by people trying the service and by tests.
package jsonl

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// File is a JSON-lines file that is only appended to. Its folder is made
// with mode 0700 and the file with 0600 on the first append. It is safe
// for concurrent use; lines never interleave.
type File struct {
	path string
	mu   sync.Mutex
}

// New returns the file at path; nothing is touched until Append.
func New(path string) *File { return &File{path: path} }

// Path is the file appended to.
func (f *File) Path() string { return f.path }

// Append writes v as one JSON line and syncs it before returning, so an
// appended line survives a crash.
func (f *File) Append(v any) error {
	line, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("jsonl: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(f.path), 0o700); err != nil {
		return fmt.Errorf("jsonl: %w", err)
	}
	w, err := os.OpenFile(f.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("jsonl: %w", err)
	}
	if _, err := w.Write(append(line, '\n')); err != nil {
		w.Close()
		return fmt.Errorf("jsonl: %w", err)
	}
	if err := w.Sync(); err != nil {
		w.Close()
		return fmt.Errorf("jsonl: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("jsonl: %w", err)
	}
	return nil
}
