package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"runtime/debug"
	"strings"
)

// config is everything the flags and YUNCAN_* variables set.
type config struct {
	Addr      string
	Data      string
	DB        string
	BaseURL   string
	LogFormat string
	LogLevel  string
}

type flags struct {
	fs  *flag.FlagSet
	cfg *config
}

// newFlags declares the common flags; each defaults to its YUNCAN_*
// environment twin, then to the embedded default.
func newFlags(name string, getenv func(string) string, out io.Writer) flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	env := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	c := &config{}
	fs.StringVar(&c.Addr, "addr", env("YUNCAN_ADDR", "127.0.0.1:8080"), "listen address (YUNCAN_ADDR)")
	fs.StringVar(&c.Data, "data", env("YUNCAN_DATA", "data"), "data folder: SQLite file, keys, media, outbox (YUNCAN_DATA)")
	fs.StringVar(&c.DB, "db", env("YUNCAN_DB", ""), "database: empty for SQLite in the data folder, or a postgres:// DSN (YUNCAN_DB)")
	fs.StringVar(&c.BaseURL, "base-url", env("YUNCAN_BASE_URL", ""), "public base URL, e.g. https://yuncan.example (YUNCAN_BASE_URL)")
	fs.StringVar(&c.LogFormat, "log-format", env("YUNCAN_LOG_FORMAT", "text"), "log format: text or json (YUNCAN_LOG_FORMAT)")
	fs.StringVar(&c.LogLevel, "log-level", env("YUNCAN_LOG_LEVEL", "info"), "log level: debug, info, warn, error (YUNCAN_LOG_LEVEL)")
	return flags{fs: fs, cfg: c}
}

func (c *config) baseURL() (*url.URL, error) {
	if c.BaseURL == "" {
		return &url.URL{Scheme: "http", Host: c.Addr}, nil
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--base-url must be an http(s) URL, got %q", c.BaseURL)
	}
	return u, nil
}

func (c *config) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return nil, fmt.Errorf("--log-level must be debug, info, warn or error, got %q", c.LogLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(c.LogFormat) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, got %q", c.LogFormat)
}

// version is the module version, or the VCS revision of a local build.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "devel-" + s.Value[:12]
		}
	}
	return "devel"
}
