// Package safe turns a panic into an error, so that one bad input (an event a projection
// cannot handle, a publisher that panics) fails one call instead of the whole process.
package safe

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
)

// Panic is a recovered panic: its value and the place it happened (file:line of the first
// frame outside the runtime). It holds no stack arguments, so no payload reaches a log.
type Panic struct {
	Value any
	Where string
}

func (p *Panic) Error() string { return fmt.Sprintf("panic at %s: %v", p.Where, p.Value) }

// Unwrap lets errors.Is see through a panic whose value is an error.
func (p *Panic) Unwrap() error {
	if err, ok := p.Value.(error); ok {
		return err
	}
	return nil
}

// Call runs fn and returns its error, or a *Panic if it panicked.
func Call(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &Panic{Value: v, Where: where()}
		}
	}()
	return fn()
}

// IsPanic reports whether err is or wraps a recovered panic.
func IsPanic(err error) bool {
	var p *Panic
	return errors.As(err, &p)
}

// where names the frame that panicked: the first one below the recovery that is neither the
// runtime nor this package.
func where() string {
	pcs := make([]uintptr, 32)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if !strings.HasPrefix(f.Function, "runtime.") && !strings.Contains(f.Function, "/internal/safe.") {
			return fmt.Sprintf("%s (%s:%d)", f.Function, shortFile(f.File), f.Line)
		}
		if !more {
			return "unknown"
		}
	}
}

func shortFile(path string) string {
	if i := strings.LastIndex(path, "/"); i >= 0 {
		if j := strings.LastIndex(path[:i], "/"); j >= 0 {
			return path[j+1:]
		}
	}
	return path
}
