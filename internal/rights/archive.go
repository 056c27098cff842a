package rights

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/yuncan/yuncan"
)

// file is one media file of the person.
type file struct{ table, column, key string }

// build writes the archive of r to <dir>/<id>.zip (0600) through a
// temporary file, so that a crash leaves no half archive under the final
// name, then marks r ready.
func (s *Service) build(ctx context.Context, r ExportRecord) error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("rights: exports folder: %w", err)
	}
	tmp, err := os.CreateTemp(s.dir, r.ID+".*.tmp")
	if err != nil {
		return fmt.Errorf("rights: archive file: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, nothing is there
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("rights: archive mode: %w", err)
	}
	zw := zip.NewWriter(tmp)
	werr := s.writeArchive(ctx, zw, r)
	if err := zw.Close(); werr == nil {
		werr = err
	}
	if err := tmp.Sync(); werr == nil {
		werr = err
	}
	info, err := tmp.Stat()
	if werr == nil {
		werr = err
	}
	if err := tmp.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		return fmt.Errorf("rights: build export %s: %w", r.ID, werr)
	}
	if err := os.Rename(tmp.Name(), s.archivePath(r.ID)); err != nil {
		return fmt.Errorf("rights: archive rename: %w", err)
	}
	now := s.now().UTC()
	r.Status, r.Progress, r.SizeBytes, r.ReadyAt, r.ExpiresAt, r.LeaseUntil, r.UpdatedAt =
		StatusReady, 100, info.Size(), now, now.Add(s.cfg.Keep), time.Time{}, now
	if err := s.store.UpdateExport(ctx, r); err != nil {
		// The request may be gone with its account (a cancellation ran
		// meanwhile): no archive may outlive its request.
		os.Remove(s.archivePath(r.ID))
		return fmt.Errorf("rights: export %s ready: %w", r.ID, err)
	}
	s.logger.InfoContext(ctx, "export ready", "export", r, "bytes", r.SizeBytes)
	return nil
}

func (s *Service) writeArchive(ctx context.Context, zw *zip.Writer, r ExportRecord) error {
	var files []file
	var tables []tableSummary
	for i, t := range Registry {
		if t.NoExport != "" {
			tables = append(tables, tableSummary{Table: t.Name, Left: t.NoExport})
			continue
		}
		rows, err := s.store.PersonRows(ctx, t, r.UserID)
		if err != nil {
			return fmt.Errorf("rows of %s: %w", t.Name, err)
		}
		out := make([]map[string]any, 0, len(rows))
		for _, row := range rows {
			o, fs, err := s.exportRow(t, row, r.UserID)
			if err != nil {
				return fmt.Errorf("row of %s: %w", t.Name, err)
			}
			out = append(out, o)
			files = append(files, fs...)
		}
		if err := writeJSON(zw, "data/"+t.Name+".json", out); err != nil {
			return err
		}
		tables = append(tables, tableSummary{Table: t.Name, Rows: len(out)})
		// Progress is the share of tables done, media counted as the last
		// tenth; each step extends the lease.
		r.Progress = (i + 1) * 90 / len(Registry)
		r.LeaseUntil, r.UpdatedAt = s.now().UTC().Add(s.cfg.Lease), s.now().UTC()
		if err := s.store.UpdateExport(ctx, r); err != nil {
			return fmt.Errorf("progress: %w", err)
		}
	}
	var missing []string
	for _, f := range files {
		ok, err := s.copyMedia(ctx, zw, f.key)
		if err != nil {
			return err
		}
		if !ok {
			missing = append(missing, f.key)
		}
	}
	m := manifest{ExportID: r.ID, UserID: r.UserID, CreatedAt: s.now().UTC().Format(time.RFC3339), Tables: tables, Missing: missing}
	for _, f := range files {
		m.Files = append(m.Files, mediaEntry{Path: "media/" + f.key, Table: f.table, Column: f.column})
	}
	if err := writeJSON(zw, "manifest.json", m); err != nil {
		return err
	}
	w, err := zw.Create("README.md")
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, readme(m))
	return err
}

// exportRow turns a stored row into what the person gets: omitted
// columns gone, other people blanked, sealed values opened (the key
// loses its _sealed suffix), times as RFC 3339 (null when unset).
func (s *Service) exportRow(t Table, row Row, userID string) (map[string]any, []file, error) {
	out := make(map[string]any, len(row))
	var files []file
	for col, v := range row {
		switch {
		case contains(t.Omit, col):
			continue
		case contains(t.Others, col):
			if str, _ := v.(string); str != userID {
				v = ""
			}
		case strings.HasSuffix(col, "_sealed"):
			str, _ := v.(string)
			plain, err := s.open(t.Name, col, str)
			if err != nil {
				return nil, nil, err
			}
			out[strings.TrimSuffix(col, "_sealed")] = plain
			continue
		case col == "at" || strings.HasSuffix(col, "_at") || strings.HasSuffix(col, "_until"):
			if n, ok := v.(int64); ok {
				if n == 0 {
					v = nil
				} else {
					v = time.Unix(0, n).UTC().Format(time.RFC3339Nano)
				}
			}
		case contains(t.Media, col):
			if key, _ := v.(string); key != "" {
				files = append(files, file{t.Name, col, key})
				out[col+"_file"] = "media/" + key
			}
		}
		if b, ok := v.([]byte); ok {
			v = string(b)
		}
		out[col] = v
	}
	return out, files, nil
}

func (s *Service) open(table, col, sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	c, ok := s.sealCtx(table, col)
	if !ok {
		return "", fmt.Errorf("%s.%s: no keyring context", table, col)
	}
	b, err := s.keys.Open(c, sealed)
	if err != nil {
		return "", fmt.Errorf("open %s.%s: %w", table, col, err)
	}
	return string(b), nil
}

func (s *Service) copyMedia(ctx context.Context, zw *zip.Writer, key string) (bool, error) {
	if s.media == nil {
		return false, nil
	}
	f, _, err := s.media.Open(ctx, key)
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("media %s: %w", key, err)
	}
	defer f.Close()
	// Stored, not deflated: the photos are compressed already.
	w, err := zw.CreateHeader(&zip.FileHeader{Name: path.Join("media", key), Method: zip.Store, Modified: s.now()})
	if err != nil {
		return false, err
	}
	if _, err := io.Copy(w, f); err != nil {
		return false, fmt.Errorf("media %s: %w", key, err)
	}
	return true, nil
}

func writeJSON(zw *zip.Writer, name string, v any) error {
	w, err := zw.Create(name)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

type tableSummary struct {
	Table string `json:"table"`
	Rows  int    `json:"rows"`
	// Left says why a registered table is not in the archive.
	Left string `json:"left_out,omitempty"`
}

type mediaEntry struct {
	Path   string `json:"path"`
	Table  string `json:"table"`
	Column string `json:"column"`
}

type manifest struct {
	ExportID  string         `json:"export_id"`
	UserID    string         `json:"user_id"`
	CreatedAt string         `json:"created_at"`
	Tables    []tableSummary `json:"tables"`
	Files     []mediaEntry   `json:"files"`
	// Missing are media keys a row names but the store no longer has.
	Missing []string `json:"missing_files,omitempty"`
}
