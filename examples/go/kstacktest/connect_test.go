package kstacktest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"kstack/examples/go/kstacktest"
)

// connectTimeout bounds each wait on the worker and the records (generous: CI machines are loaded).
const connectTimeout = 120 * time.Second

// connectREST is one call of Kafka Connect's REST API at k.ConnectURL; its JSON answer into `into`.
func connectREST(t *testing.T, k *kstacktest.Kafka, method, path string, body, into any) {
	t.Helper()
	var payload io.Reader
	if body != nil {
		encoded, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		payload = bytes.NewReader(encoded)
	}
	request, err := http.NewRequest(method, k.ConnectURL+path, payload)
	if err != nil {
		t.Fatal(err)
	}
	request.Header.Set("content-type", "application/json")
	response, err := (&http.Client{Timeout: connectTimeout}).Do(request)
	if err != nil {
		t.Fatalf("Connect %s %s: %v", method, path, err)
	}
	defer response.Body.Close()
	text, _ := io.ReadAll(response.Body)
	if response.StatusCode >= 300 {
		t.Fatalf("Connect %s %s: %d %s", method, path, response.StatusCode, text)
	}
	if into != nil {
		if err := json.Unmarshal(text, into); err != nil {
			t.Fatalf("Connect %s %s answered %q: %v", method, path, text, err)
		}
	}
}

// A cluster of its own with "--connect" (Kafka's Connect worker, a JVM): a FileStream source
// connector created through ConnectURL reads a file into a topic; Reset removes the connector.
func TestConnectFileSource(t *testing.T) {
	k, err := kstacktest.Start("--connect")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := k.Stop(); err != nil {
			t.Errorf("serve.ts did not stop cleanly: %v", err)
		}
	})
	if k.ConnectURL == "" {
		t.Fatal("the ready line names no connectUrl")
	}
	lines := []string{"first", "second", "third"}
	file := filepath.Join(t.TempDir(), "lines.txt")
	var text bytes.Buffer
	for _, line := range lines {
		text.WriteString(line + "\n")
	}
	if err := os.WriteFile(file, text.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	topic := k.Namespace(t) + "lines"
	connectREST(t, k, http.MethodPost, "/connectors", map[string]any{
		"name": "lines",
		"config": map[string]string{
			"connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
			"tasks.max":       "1",
			"file":            file,
			"topic":           topic,
			"value.converter": "org.apache.kafka.connect.storage.StringConverter",
		},
	}, nil)

	client, err := kgo.NewClient(
		kgo.SeedBrokers(k.BootstrapServers),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	var got []string
	for len(got) < len(lines) && ctx.Err() == nil {
		fetches := client.PollFetches(ctx)
		fetches.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	if !slices.Equal(got, lines) {
		t.Fatalf("the connector wrote %q, want %q", got, lines)
	}

	k.Reset(t)
	var connectors []string
	connectREST(t, k, http.MethodGet, "/connectors", nil, &connectors)
	if len(connectors) != 0 {
		t.Fatalf("connectors after Reset: %q", connectors)
	}
}
