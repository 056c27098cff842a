package queue

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/yuncan/yuncan"
)

// startEmbedded starts an in-process NATS server with JetStream storing
// under cfg.Dir. It listens on no port: the only client is this process,
// through nats.InProcessServer.
//
// Durability: SyncAlways makes the server fsync each write before it
// acknowledges it, so an acknowledged message survives a power loss or a
// kernel crash, not only a process kill (a process kill alone loses nothing
// either way: the file store writes a message to its file before the ack).
// docs/queue.md has the measured cost.
func startEmbedded(cfg Config, log *slog.Logger) (*server.Server, error) {
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("queue: make %s: %w", cfg.Dir, err)
	}
	opts := &server.Options{
		ServerName:         "yuncan-embedded",
		DontListen:         true,
		NoSigs:             true, // the process owns its signals
		JetStream:          true,
		StoreDir:           cfg.Dir,
		SyncAlways:         true,
		MaxPayload:         8 << 20, // a batch of recipients is well under this
		JetStreamMaxMemory: 64 << 20,
	}
	if cfg.syncEvery > 0 {
		opts.SyncAlways = false
		opts.SyncInterval = cfg.syncEvery
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, yuncan.Errorf(yuncan.Invalid, "queue: embedded nats: %v", err)
	}
	ns.SetLoggerV2(slogAdapter{log.With(slog.String("nats", "embedded"))}, false, false, false)
	ns.Start()
	if !ns.ReadyForConnections(embeddedStartMax) {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, unavailable("queue: embedded nats", fmt.Errorf("not ready after %s", embeddedStartMax))
	}
	return ns, nil
}

// slogAdapter carries the embedded server's log to slog. The server logs
// its own state (stream names, paths, limits), not message payloads. Its
// start-up banner is a page of notices, so notices go to Debug.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Noticef(format string, v ...any) { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Warnf(format string, v ...any)   { a.l.Warn(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Fatalf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Errorf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Debugf(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Tracef(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
