package kstacktest_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"kstack/examples/go/kstacktest"
)

// parallelClusters is how many clusters TestParallelClusters starts at once.
const parallelClusters = 2

// Parallel subtests (t.Parallel), each starting a cluster of its own (kstacktest.Start, free
// ports): both run at once (each waits until every cluster is up), on distinct addresses, and the
// same topic name in each holds only that subtest's records.
func TestParallelClusters(t *testing.T) {
	var mu sync.Mutex
	addresses := map[string]bool{}
	var up sync.WaitGroup
	up.Add(parallelClusters)
	allUp := make(chan struct{})
	go func() { up.Wait(); close(allUp) }()
	t.Run("group", func(t *testing.T) {
		for _, name := range []string{"a", "b"} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				k, err := kstacktest.Start()
				up.Done()
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					if err := k.Stop(); err != nil {
						t.Errorf("serve.ts did not stop cleanly: %v", err)
					}
				})
				select {
				case <-allUp:
				case <-time.After(kstacktest.ReadyTimeout):
					t.Fatal("the other cluster did not start")
				}
				mu.Lock()
				addresses[k.BootstrapServers] = true
				mu.Unlock()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				c, err := kgo.NewClient(kgo.SeedBrokers(k.BootstrapServers))
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				admin := kadm.NewClient(c)
				if _, err := admin.CreateTopic(ctx, 1, 1, nil, "shared-name"); err != nil {
					t.Fatal(err)
				}
				records := make([]*kgo.Record, 5)
				for i := range records {
					records[i] = &kgo.Record{Topic: "shared-name", Value: []byte(name)}
				}
				if err := c.ProduceSync(ctx, records...).FirstErr(); err != nil {
					t.Fatal(err)
				}
				ends, err := admin.ListEndOffsets(ctx, "shared-name")
				if err != nil {
					t.Fatal(err)
				}
				if o, _ := ends.Lookup("shared-name", 0); o.Offset != int64(len(records)) {
					t.Fatalf("shared-name ends at %d: another cluster's records are here", o.Offset)
				}
			})
		}
	})
	if len(addresses) != parallelClusters {
		t.Fatalf("the clusters shared an address: %v", addresses)
	}
}
