package notify

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
)

// fakeSMTP is a minimal SMTP server on 127.0.0.1 that records one session
// per connection.
type fakeSMTP struct {
	Port     string
	auth     bool        // advertise AUTH PLAIN
	starttls *tls.Config // offer STARTTLS with this config when set
	sessions chan fakeSession
}

// fakeSession is what one client did.
type fakeSession struct {
	Commands []string // verbs and arguments, AUTH payload left out
	User     string
	Password string
	TLS      bool
	Data     []byte
}

// startFakeSMTP listens on 127.0.0.1; implicit, when set, wraps the
// listener in TLS.
func startFakeSMTP(t testing.TB, auth bool, starttls, implicit *tls.Config) *fakeSMTP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if implicit != nil {
		ln = tls.NewListener(ln, implicit)
	}
	f := &fakeSMTP{auth: auth, starttls: starttls, sessions: make(chan fakeSession, 10)}
	_, f.Port, _ = net.SplitHostPort(ln.Addr().String())
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer conn.Close()
				s := f.serve(conn, implicit != nil)
				f.sessions <- s
			})
		}
	})
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return f
}

func (f *fakeSMTP) serve(conn net.Conn, isTLS bool) fakeSession {
	s := fakeSession{TLS: isTLS}
	tp := textproto.NewConn(conn)
	tp.PrintfLine("220 fake ESMTP")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return s
		}
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		if verb == "AUTH" {
			s.Commands = append(s.Commands, "AUTH")
		} else {
			s.Commands = append(s.Commands, line)
		}
		switch verb {
		case "EHLO", "HELO":
			ext := []string{"fake", "SIZE 1000000"}
			if f.starttls != nil && !s.TLS {
				ext = append(ext, "STARTTLS")
			}
			if f.auth {
				ext = append(ext, "AUTH PLAIN")
			}
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				tp.PrintfLine("250%s%s", sep, e)
			}
		case "STARTTLS":
			tp.PrintfLine("220 go ahead")
			tc := tls.Server(conn, f.starttls)
			if err := tc.Handshake(); err != nil {
				return s
			}
			conn, s.TLS = tc, true
			tp = textproto.NewConn(tc)
		case "AUTH":
			mech, payload, _ := strings.Cut(arg, " ")
			raw, err := base64.StdEncoding.DecodeString(payload)
			parts := strings.Split(string(raw), "\x00")
			if mech != "PLAIN" || err != nil || len(parts) != 3 {
				tp.PrintfLine("535 bad auth")
				continue
			}
			s.User, s.Password = parts[1], parts[2]
			tp.PrintfLine("235 ok")
		case "RCPT":
			if strings.Contains(arg, "nobody@") {
				tp.PrintfLine("550 5.1.1 %s: no such user", strings.TrimPrefix(arg, "TO:"))
				continue
			}
			tp.PrintfLine("250 ok")
		case "DATA":
			tp.PrintfLine("354 go on")
			s.Data, err = tp.ReadDotBytes()
			if err != nil {
				return s
			}
			tp.PrintfLine("250 queued")
		case "QUIT":
			tp.PrintfLine("221 bye")
			return s
		case "MAIL", "RSET", "NOOP":
			tp.PrintfLine("250 ok")
		default:
			tp.PrintfLine("502 not implemented")
		}
	}
}

// silentListener accepts connections and never answers, to test timeouts.
func silentListener(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { bufio.NewReader(conn).ReadString(0); conn.Close() })
		}
	})
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}
