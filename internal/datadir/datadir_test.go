package datadir

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// holdEnv makes the test binary a process that holds a directory until
// killed (TestHoldHelper).
const holdEnv = "WEFT_DATADIR_TEST_HOLD"

// TestHoldHelper is not a test: run with holdEnv set, it holds that
// directory, says so and waits to be killed.
func TestHoldHelper(t *testing.T) {
	dir := os.Getenv(holdEnv)
	if dir == "" {
		t.Skip("helper process for TestHeldByAnotherProcess")
	}
	if _, err := Acquire(dir); err != nil {
		os.Stdout.WriteString("error " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.WriteString("held\n")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until killed
	os.Exit(0)
}

func TestAcquireRelease(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		existing string // the lock file's content before Acquire, "" for none
	}{
		{"fresh directory", ""},
		{"file left by a dead process", "999999999\n"},
		{"file of garbage", "not a pid at all, and rather longer than any pid could be\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if tc.existing != "" {
				if err := os.WriteFile(filepath.Join(dir, FileName), []byte(tc.existing), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			l, err := Acquire(dir)
			if err != nil {
				t.Fatalf("Acquire: %v", err)
			}
			_, err = Acquire(dir)
			held, ok := err.(*HeldError)
			if !ok || !IsHeld(err) {
				t.Fatalf("second Acquire = %v, want a HeldError", err)
			}
			if held.PID != os.Getpid() || held.Dir != dir || !strings.Contains(err.Error(), dir) {
				t.Errorf("HeldError %+v (%v): want pid %d and the directory named", held, err, os.Getpid())
			}
			if err := l.Release(); err != nil {
				t.Fatal(err)
			}
			if err := l.Release(); err != nil {
				t.Errorf("second Release: %v", err)
			}
			l, err = Acquire(dir)
			if err != nil {
				t.Fatalf("Acquire after Release: %v", err)
			}
			if err := l.Release(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAcquireMissingDirectory(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "no", "such")
	if _, err := Acquire(dir); err == nil || IsHeld(err) {
		t.Fatalf("Acquire of a missing directory = %v, want an error", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Acquire created %s: %v", dir, err)
	}
}

// TestHeldByAnotherProcess: a directory another process holds is refused
// with its pid; once that process is killed (SIGKILL: it cleans nothing
// up), the directory is free.
func TestHeldByAnotherProcess(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHoldHelper$")
	cmd.Env = append(os.Environ(), holdEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "held\n" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("helper said %q, %v", line, err)
	}
	_, err = Acquire(dir)
	held, ok := err.(*HeldError)
	if !ok || held.PID != cmd.Process.Pid {
		t.Errorf("Acquire while the helper holds it = %v, want a HeldError with pid %d", err, cmd.Process.Pid)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	l, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after the holder was killed: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
}
