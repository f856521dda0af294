package api

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/valyala/fasthttp"
)

// Logger is a fasthttp.Logger that redacts: fasthttp's messages carry
// client addresses, request URIs and raw request bytes in their arguments,
// so Logger drops every argument and keeps only the message with its verbs
// removed, plus a coarse class of the error if one is passed.
type Logger struct {
	l *slog.Logger
}

var _ fasthttp.Logger = (*Logger)(nil)

// NewLogger returns a redacting logger writing to l (slog.Default if nil).
func NewLogger(l *slog.Logger) *Logger {
	if l == nil {
		l = slog.Default()
	}
	return &Logger{l: l}
}

// Printf logs format with its verbs removed and its arguments dropped.
func (g *Logger) Printf(format string, args ...any) {
	class := "none"
	for _, a := range args {
		if err, ok := a.(error); ok {
			class = errorClass(err)
		}
	}
	g.l.LogAttrs(context.Background(), slog.LevelWarn, "fasthttp: "+stripVerbs(format),
		slog.String("class", class))
}

// stripVerbs removes printf verbs (and the quotes or brackets around them)
// from a format string, so no argument can leak through it.
func stripVerbs(f string) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		// Skip flags, width, precision and the verb letter.
		j := i + 1
		for j < len(f) && strings.IndexByte("+-# 0123456789.*[]", f[j]) >= 0 {
			j++
		}
		if j < len(f) && f[j] == '%' {
			b.WriteByte('%')
		} else {
			b.WriteString("_")
		}
		i = j
	}
	return strings.TrimSpace(b.String())
}

// errorClass maps an error to a fixed label that cannot carry input.
func errorClass(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return "body_too_large"
	case errors.Is(err, fasthttp.ErrConcurrencyLimit):
		return "concurrency_limit"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed):
		return "connection_closed"
	}
	var small *fasthttp.ErrSmallBuffer
	if errors.As(err, &small) {
		return "header_too_large"
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "small read buffer"):
		return "header_too_large"
	case strings.Contains(msg, "reading request headers"), strings.Contains(msg, "cannot parse"),
		strings.Contains(msg, "unsupported http"),
		strings.Contains(msg, "unexpected"), strings.Contains(msg, "invalid"):
		return "bad_request"
	case strings.Contains(msg, "timeout"):
		return "timeout"
	}
	return "other"
}
