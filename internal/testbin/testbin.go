// Package testbin builds the project's commands and runs them as processes
// for end-to-end tests, so those tests exercise the binaries users run:
// flag parsing, environment, exit codes and signals included.
package testbin

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// DefaultBuildTimeout bounds Build.
const DefaultBuildTimeout = 5 * time.Minute

// DefaultTimeout bounds Run and every wait on a Process so a hang fails the
// test instead of the whole run; it is a deadline, not a speed assertion.
const DefaultTimeout = 60 * time.Second

// lineQueue is how many lines a stream holds before its reader waits for
// the test; see Lines.Drain.
const lineQueue = 1024

// BuildOptions tunes a build; nil means a plain `go build`.
type BuildOptions struct {
	// LDFlags is passed as -ldflags when not empty, e.g. to stamp a
	// version.
	LDFlags string
	// Env is added to the go command's environment, e.g. CGO_ENABLED=0.
	Env []string
}

// Compile builds the main package pkg (as `go build` takes it, relative to
// the test's working directory) into the file out. It takes no testing.TB
// so a TestMain can build a command once for every test of its binary.
func Compile(ctx context.Context, out, pkg string, opt *BuildOptions) error {
	args := []string{"build", "-o", out}
	if opt != nil && opt.LDFlags != "" {
		args = append(args, "-ldflags", opt.LDFlags)
	}
	cmd := exec.CommandContext(ctx, "go", append(args, pkg)...)
	if opt != nil && len(opt.Env) > 0 {
		cmd.Env = append(os.Environ(), opt.Env...)
	}
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, msg)
	}
	return nil
}

// Build is Compile within DefaultBuildTimeout for a single test; it fails
// tb when the build does and returns out.
func Build(tb testing.TB, out, pkg string, opt *BuildOptions) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), DefaultBuildTimeout)
	defer cancel()
	require.NoError(tb, Compile(ctx, out, pkg, opt))
	return out
}

// CleanEnv returns the test process's environment without the variables
// whose names start with prefix, plus extra, so settings of the machine
// running the tests do not leak into the binaries under test.
func CleanEnv(prefix string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, prefix) {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// Run runs bin to completion within DefaultTimeout with stdin as its
// standard input and env as its whole environment (nil: the test's), and
// returns its standard output, standard error and exit code. Only a failure
// to run it at all fails tb.
func Run(tb testing.TB, bin, stdin string, env []string, args ...string) (stdout, stderr string, code int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String(), errOut.String(), ee.ExitCode()
	}
	require.NoError(tb, err)
	return out.String(), errOut.String(), 0
}

// Lines collects the lines of one output stream of a Process: a test reads
// them in order with Next and WaitFor, and Text has all read so far.
type Lines struct {
	lines chan string
	done  chan struct{}

	mu  sync.Mutex
	all strings.Builder
}

// readLines starts collecting r.
func readLines(r io.Reader) *Lines {
	l := &Lines{lines: make(chan string, lineQueue), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		defer close(l.lines)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			l.mu.Lock()
			l.all.WriteString(sc.Text() + "\n")
			l.mu.Unlock()
			l.lines <- sc.Text()
		}
	}()
	return l
}

// Text returns every line collected so far.
func (l *Lines) Text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.all.String()
}

// Next returns the next line, failing tb when the stream ends or no line
// comes within DefaultTimeout; what names the line for the message.
func (l *Lines) Next(tb testing.TB, what string) string {
	tb.Helper()
	select {
	case s, ok := <-l.lines:
		require.True(tb, ok, "stream ended waiting for %s", what)
		return s
	case <-time.After(DefaultTimeout):
		tb.Fatalf("no %s within %s", what, DefaultTimeout)
		return ""
	}
}

// WaitFor skips lines until one contains s and returns it.
func (l *Lines) WaitFor(tb testing.TB, s string) string {
	tb.Helper()
	for {
		if line := l.Next(tb, fmt.Sprintf("a line with %q", s)); strings.Contains(line, s) {
			return line
		}
	}
}

// Drain discards the lines nobody will read, in the background, so a
// chatty process never blocks on a full pipe; Text still has them.
func (l *Lines) Drain() {
	go func() {
		for range l.lines {
		}
	}()
}

// Process is a started binary.
type Process struct {
	// Cmd is the running command.
	Cmd *exec.Cmd
	// Stdout and Stderr are its output streams.
	Stdout, Stderr *Lines

	exited chan struct{}
}

// Start starts bin with env as its whole environment (nil: the test's).
// The process is killed in tb's cleanup if it is still running.
func Start(tb testing.TB, bin string, env []string, args ...string) *Process {
	tb.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	outPipe, err := cmd.StdoutPipe()
	require.NoError(tb, err)
	errPipe, err := cmd.StderrPipe()
	require.NoError(tb, err)
	require.NoError(tb, cmd.Start())
	p := &Process{Cmd: cmd, Stdout: readLines(outPipe), Stderr: readLines(errPipe), exited: make(chan struct{})}
	go func() {
		// Wait closes the pipes, so it must follow the readers.
		<-p.Stdout.done
		<-p.Stderr.done
		_ = cmd.Wait()
		close(p.exited)
	}()
	tb.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// Terminate sends SIGTERM and returns the exit code, failing tb when the
// process does not exit within DefaultTimeout.
func (p *Process) Terminate(tb testing.TB) int {
	tb.Helper()
	require.NoError(tb, p.Cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.exited:
	case <-time.After(DefaultTimeout):
		tb.Fatalf("no exit after SIGTERM; stderr:\n%s", p.Stderr.Text())
	}
	return p.Cmd.ProcessState.ExitCode()
}
