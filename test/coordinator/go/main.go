// A KIP-848 consumer-group member on franz-go (kgo.ServerSideBalancer: the broker assigns).
//
// usage: kip848-member BOOTSTRAP GROUP TOPIC CLIENT_ID
//
// Prints one JSON object per line, as test/coordinator/python/kip848_member.py does:
// {"event":"start"}, {"event":"assign"|"revoke","partitions":[…]} (incremental) and
// {"event":"msg","p","o","v"} per record; offsets are committed synchronously after each
// poll. SIGTERM leaves the group (member epoch -1) and exits; SIGKILL is a crash.
package main

import (
	"context"
	"encoding/json"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func say(event map[string]any) {
	event["t"] = time.Now().UnixMilli()
	line, _ := json.Marshal(event)
	os.Stdout.Write(append(line, '\n'))
}

func partitions(assigned map[string][]int32) []int32 {
	out := []int32{}
	for _, ps := range assigned {
		out = append(out, ps...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func main() {
	bootstrap, group, topic, clientID := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	client, err := kgo.NewClient(
		kgo.SeedBrokers(bootstrap),
		kgo.ClientID(clientID),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.ServerSideBalancer(),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
			say(map[string]any{"event": "assign", "partitions": partitions(assigned)})
		}),
		kgo.OnPartitionsRevoked(func(ctx context.Context, c *kgo.Client, revoked map[string][]int32) {
			if err := c.CommitMarkedOffsets(ctx); err != nil {
				say(map[string]any{"event": "error", "error": err.Error()})
			}
			say(map[string]any{"event": "revoke", "partitions": partitions(revoked)})
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
			say(map[string]any{"event": "revoke", "partitions": partitions(lost)})
		}),
		kgo.AutoCommitMarks(),
		kgo.BlockRebalanceOnPoll(),
	)
	if err != nil {
		say(map[string]any{"event": "error", "error": err.Error()})
		os.Exit(1)
	}
	say(map[string]any{"event": "start"})
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-stop
		cancel()
	}()
	for ctx.Err() == nil {
		fetches := client.PollFetches(ctx)
		fetches.EachRecord(func(r *kgo.Record) {
			client.MarkCommitRecords(r)
			say(map[string]any{"event": "msg", "p": r.Partition, "o": r.Offset, "v": string(r.Value)})
		})
		if err := client.CommitMarkedOffsets(context.Background()); err != nil {
			say(map[string]any{"event": "error", "error": err.Error()})
		}
		client.AllowRebalance()
	}
	client.Close()
	say(map[string]any{"event": "closed"})
}
