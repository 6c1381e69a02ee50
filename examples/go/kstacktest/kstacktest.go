// Package kstacktest starts a kstack test cluster (src/testing/serve.ts) for Go tests and drives
// it through its HTTP control endpoint: Reset between tests, snapshots, the manual clock.
//
//	func TestMain(m *testing.M) { os.Exit(kstacktest.Main(m, "--topics-file", "topics.txt")) }
//	func TestOrders(t *testing.T) { k := kstacktest.Cluster(t); ...; k.Reset(t) }
package kstacktest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

// ReadyTimeout bounds the wait for the cluster's ready line (generous: CI machines are loaded).
const ReadyTimeout = 60 * time.Second

// ConnectReadyTimeout replaces ReadyTimeout with "--connect": ready then waits for Kafka's Connect
// worker too, a JVM: 10-60 s on a loaded machine, and over 240 s was seen at load 60 with four
// JVMs starting at once; serve.ts gives up on the worker itself after 180 s and says why.
const ConnectReadyTimeout = 420 * time.Second

// Kafka is a running test cluster.
type Kafka struct {
	BootstrapServers string `json:"bootstrapServers"`
	ControlURL       string `json:"controlUrl"`
	// SchemaRegistryURL is the Schema Registry started with "--schema-registry" (emptied by every
	// Reset); "" without it.
	SchemaRegistryURL string `json:"schemaRegistryUrl"`
	// ConnectURL is Kafka Connect's REST API, started with "--connect" (every Reset removes its
	// connectors and their offsets); "" without it.
	ConnectURL string `json:"connectUrl"`
	cmd        *exec.Cmd
}

var shared *Kafka

// repoRoot is KSTACK_ROOT, else the first parent folder holding src/testing/serve.ts.
func repoRoot() (string, error) {
	if root := os.Getenv("KSTACK_ROOT"); root != "" {
		return root, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "src", "testing", "serve.ts")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no src/testing/serve.ts above the working directory: set KSTACK_ROOT")
		}
		dir = parent
	}
}

// Start runs `node src/testing/serve.ts ARGS…` and waits for its ready line.
func Start(args ...string) (*Kafka, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("node", append([]string{filepath.Join(root, "src", "testing", "serve.ts")}, args...)...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting node (Node 24 must be first on PATH): %w", err)
	}
	lines := make(chan string, 1)
	go func() {
		scanner := bufio.NewScanner(stdout)
		if scanner.Scan() {
			lines <- scanner.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	timeout := ReadyTimeout
	if slices.Contains(args, "--connect") {
		timeout = ConnectReadyTimeout
	}
	select {
	case line, ok := <-lines:
		if !ok {
			_ = cmd.Wait()
			return nil, fmt.Errorf("serve.ts exited before it was ready")
		}
		k := &Kafka{cmd: cmd}
		if err := json.Unmarshal([]byte(line), k); err != nil {
			_ = cmd.Process.Kill()
			return nil, fmt.Errorf("serve.ts printed %q: %w", line, err)
		}
		return k, nil
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("serve.ts not ready after %s", timeout)
	}
}

// Stop ends the cluster (SIGTERM: a clean stop) and waits for it.
func (k *Kafka) Stop() error {
	if err := k.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	return k.cmd.Wait()
}

// Main starts one cluster for a package's tests, runs them, stops it; returns the exit code.
func Main(m *testing.M, args ...string) int {
	k, err := Start(args...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kstacktest:", err)
		return 1
	}
	shared = k
	code := m.Run()
	if err := k.Stop(); err != nil && code == 0 {
		fmt.Fprintln(os.Stderr, "kstacktest: stop:", err)
		return 1
	}
	return code
}

// Cluster is the cluster Main started; it is reset when the test ends.
func Cluster(t testing.TB) *Kafka {
	t.Helper()
	if shared == nil {
		t.Fatal("kstacktest: call kstacktest.Main from TestMain first")
	}
	t.Cleanup(func() { shared.Reset(t) })
	return shared
}

func (k *Kafka) post(t testing.TB, path string, body any, into any) {
	t.Helper()
	var payload io.Reader
	if body != nil {
		encoded, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		payload = bytes.NewReader(encoded)
	}
	request, err := http.NewRequest(http.MethodPost, k.ControlURL+path, payload)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		request.Header.Set("content-type", "application/json")
	}
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatalf("kstacktest: POST %s: %v", path, err)
	}
	defer response.Body.Close()
	text, _ := io.ReadAll(response.Body)
	if response.StatusCode >= 300 {
		t.Fatalf("kstacktest: POST %s: %d %s", path, response.StatusCode, text)
	}
	if into != nil {
		if err := json.Unmarshal(text, into); err != nil {
			t.Fatalf("kstacktest: POST %s answered %q: %v", path, text, err)
		}
	}
}

// Reset returns the cluster to its state after start.
func (k *Kafka) Reset(t testing.TB) { k.post(t, "/reset", nil, nil) }

// Snapshot saves the whole state under name.
func (k *Kafka) Snapshot(t testing.TB, name string) { k.post(t, "/snapshots/"+name, nil, nil) }

// Restore replaces the state with snapshot name.
func (k *Kafka) Restore(t testing.TB, name string) {
	k.post(t, "/snapshots/"+name+"/restore", nil, nil)
}

// Namespace is a new prefix for this test's topics, groups and transactional ids.
func (k *Kafka) Namespace(t testing.TB) string {
	var answer struct {
		Prefix string `json:"prefix"`
	}
	k.post(t, "/namespaces", nil, &answer)
	return answer.Prefix
}

// AdvanceClock moves a manual clock (started with "--clock", "manual") forward.
func (k *Kafka) AdvanceClock(t testing.TB, d time.Duration) {
	k.post(t, "/clock/advance", map[string]int64{"ms": d.Milliseconds()}, nil)
}
