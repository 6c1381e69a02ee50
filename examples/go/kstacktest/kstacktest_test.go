package kstacktest_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"kstack/examples/go/kstacktest"
)

func TestMain(m *testing.M) {
	os.Exit(kstacktest.Main(m, "--clock", "manual"))
}

func client(t *testing.T, k *kstacktest.Kafka) (*kgo.Client, *kadm.Client) {
	t.Helper()
	c, err := kgo.NewClient(kgo.SeedBrokers(k.BootstrapServers))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, kadm.NewClient(c)
}

// Each run writes to the same topic name; Reset (at the end of each) must leave no trace.
func TestResetIsolatesTests(t *testing.T) {
	for run := 0; run < 3; run++ {
		t.Run("run", func(t *testing.T) {
			k := kstacktest.Cluster(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, admin := client(t, k)
			topics, err := admin.ListTopics(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if topics.Has("shared-name") {
				t.Fatalf("run %d sees the topic of an earlier test", run)
			}
			if _, err := admin.CreateTopic(ctx, 1, 1, nil, "shared-name"); err != nil {
				t.Fatal(err)
			}
			if err := c.ProduceSync(ctx, &kgo.Record{Topic: "shared-name", Value: []byte("x")}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSnapshotAndClock(t *testing.T) {
	k := kstacktest.Cluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	prefix := k.Namespace(t)
	c, admin := client(t, k)
	topic := prefix + "events"
	if _, err := admin.CreateTopic(ctx, 1, 1, map[string]*string{"retention.ms": kadm.StringPtr("60000")}, topic); err != nil {
		t.Fatal(err)
	}
	if err := c.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("a")}, &kgo.Record{Topic: topic, Value: []byte("b")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	k.Snapshot(t, "two-events")
	k.AdvanceClock(t, 6*time.Minute+time.Millisecond) // past retention.ms and the 5 min retention check
	deadline := time.Now().Add(30 * time.Second)
	for {
		starts, err := admin.ListStartOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		if o, _ := starts.Lookup(topic, 0); o.Offset == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("retention did not delete the records after the clock moved")
		}
		time.Sleep(20 * time.Millisecond)
	}
	k.Restore(t, "two-events")
	starts, err := admin.ListStartOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := starts.Lookup(topic, 0); o.Offset != 0 {
		t.Fatalf("restored log starts at %d, want 0", o.Offset)
	}
}
