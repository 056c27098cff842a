package notify

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/yuncan/yuncan"
)

// SMTPConfig holds what the email adapter needs. It redacts the password
// when printed or logged.
type SMTPConfig struct {
	Host string
	Port string
	// Username and Password are sent with AUTH PLAIN; no AUTH when
	// Username is empty.
	Username string
	Password string
	// From is the sender, an RFC 5322 address with an optional name.
	From string
	// ImplicitTLS means TLS from the first byte (smtps, usually port 465);
	// otherwise the adapter upgrades with STARTTLS, and refuses to go on
	// without it unless Host is a loopback address.
	ImplicitTLS bool
	// Timeout bounds one whole delivery; zero means 30 seconds.
	Timeout time.Duration
}

// LogValue reports the configuration without the password.
func (c SMTPConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("host", c.Host), slog.String("port", c.Port),
		slog.String("username", c.Username), slog.String("from", c.From),
		slog.Bool("implicit_tls", c.ImplicitTLS),
	)
}

// String reports the configuration without the password, so that %v and
// %+v are safe.
func (c SMTPConfig) String() string {
	return fmt.Sprintf("{Host:%s Port:%s Username:%s Password:[redacted] From:%s ImplicitTLS:%t Timeout:%s}",
		c.Host, c.Port, c.Username, c.From, c.ImplicitTLS, c.Timeout)
}

// GoString makes %#v as safe as %v.
func (c SMTPConfig) GoString() string { return "notify.SMTPConfig" + c.String() }

// ParseSMTPURL reads smtp://user:pass@host:587?from=noreply@example.com
// (STARTTLS, port 587 by default) or smtps://user:pass@host:465?from=...
// (implicit TLS, port 465 by default). User and password are optional.
// Errors never repeat the URL, which may hold the password.
func ParseSMTPURL(raw string) (SMTPConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return SMTPConfig{}, errors.New("notify: smtp: not a valid URL")
	}
	var cfg SMTPConfig
	switch u.Scheme {
	case "smtp":
		cfg.Port = "587"
	case "smtps":
		cfg.Port, cfg.ImplicitTLS = "465", true
	default:
		return SMTPConfig{}, errors.New("notify: smtp: the URL scheme must be smtp or smtps")
	}
	cfg.Host = u.Hostname()
	if cfg.Host == "" || (u.Path != "" && u.Path != "/") {
		return SMTPConfig{}, errors.New("notify: smtp: the URL must be scheme://[user:pass@]host[:port]?from=address")
	}
	if p := u.Port(); p != "" {
		cfg.Port = p
	}
	if u.User != nil {
		cfg.Username = u.User.Username()
		cfg.Password, _ = u.User.Password()
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return SMTPConfig{}, errors.New("notify: smtp: the URL query is not valid")
	}
	for k := range q {
		if k != "from" {
			return SMTPConfig{}, fmt.Errorf("notify: smtp: unknown URL parameter %q", k)
		}
	}
	cfg.From = q.Get("from")
	if _, err := mail.ParseAddress(cfg.From); err != nil {
		return SMTPConfig{}, errors.New("notify: smtp: the URL needs ?from= with a valid sender address")
	}
	return cfg, nil
}

// SMTP sends email over SMTP with net/smtp.
type SMTP struct {
	cfg     SMTPConfig
	from    *mail.Address
	rootCAs *x509.CertPool // nil means the system roots; set by tests
	now     func() time.Time
}

// NewSMTP returns an adapter for cfg.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, errors.New("notify: smtp: from is not a valid address")
	}
	if cfg.Host == "" || cfg.Port == "" {
		return nil, errors.New("notify: smtp: host and port are required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &SMTP{cfg: cfg, from: from, now: time.Now}, nil
}

// Send delivers m to m.To. A malformed address, or one the server refuses
// permanently, is Invalid; any other failure is Unavailable. Errors carry
// the server's reply with the recipient's address taken out.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return yuncan.FieldError("to", "must be an email address")
	}
	msg, err := buildMessage(s.from, to, m.Subject, m.Body, s.now(), rand.Text())
	if err != nil {
		return fmt.Errorf("notify: smtp: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	step, err := s.deliver(ctx, to.Address, msg)
	if err == nil {
		return nil
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		err = fmt.Errorf("%d %s", te.Code, strings.ReplaceAll(te.Msg, to.Address, "<recipient>"))
		if step == "RCPT" && te.Code >= 500 {
			return &yuncan.Error{Code: yuncan.Invalid, Message: "the email address cannot receive mail",
				Err: fmt.Errorf("notify: smtp: %s: %w", step, err)}
		}
	}
	return unavailable("email", fmt.Errorf("notify: smtp: %s: %w", step, err))
}

// deliver runs one SMTP session and reports the step that failed.
func (s *SMTP) deliver(ctx context.Context, to string, msg []byte) (string, error) {
	addr := net.JoinHostPort(s.cfg.Host, s.cfg.Port)
	tlsConfig := &tls.Config{ServerName: s.cfg.Host, RootCAs: s.rootCAs, MinVersion: tls.VersionTLS12}
	var conn net.Conn
	var err error
	if s.cfg.ImplicitTLS {
		conn, err = (&tls.Dialer{Config: tlsConfig}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return "connect", err
	}
	defer conn.Close()
	// net/smtp knows no contexts: turn the context's end into a deadline.
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		return "greeting", err
	}
	defer c.Close()
	if !s.cfg.ImplicitTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConfig); err != nil {
				return "STARTTLS", err
			}
		} else if !isLoopback(s.cfg.Host) {
			return "STARTTLS", errors.New("the server does not offer STARTTLS; refusing to send in the clear")
		}
	}
	if s.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host)); err != nil {
			return "AUTH", err
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return "MAIL", err
	}
	if err := c.Rcpt(to); err != nil {
		return "RCPT", err
	}
	w, err := c.Data()
	if err != nil {
		return "DATA", err
	}
	if _, err := w.Write(msg); err != nil {
		return "DATA", err
	}
	if err := w.Close(); err != nil {
		return "DATA", err
	}
	// The server has taken the message; a failed QUIT must not make the
	// caller retry and send it twice.
	c.Quit()
	return "", nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
