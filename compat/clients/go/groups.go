package main

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

type groupFields struct {
	Group            string   `json:"group"`
	Topics           []string `json:"topics"`
	Topic            *string  `json:"topic"`
	Count            int      `json:"count"`
	Reset            string   `json:"reset"`
	Commit           string   `json:"commit"`
	InstanceID       string   `json:"instanceId"`
	SessionTimeoutMs *int     `json:"sessionTimeoutMs"`
	Exit             string   `json:"exit"`
	Offsets          []struct {
		Topic     string `json:"topic"`
		Partition int32  `json:"partition"`
		Offset    int64  `json:"offset"`
	} `json:"offsets"`
}

// assignmentTracker keeps the partitions the member holds, from kgo's callbacks.
type assignmentTracker struct {
	mutex sync.Mutex
	held  map[string][]int32
}

func (a *assignmentTracker) set(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	a.mutex.Lock()
	defer a.mutex.Unlock()
	for topic, partitions := range assigned {
		a.held[topic] = append(a.held[topic], partitions...)
	}
}

func (a *assignmentTracker) remove(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	a.mutex.Lock()
	defer a.mutex.Unlock()
	for topic, partitions := range lost {
		gone := map[int32]bool{}
		for _, p := range partitions {
			gone[p] = true
		}
		kept := []int32{}
		for _, p := range a.held[topic] {
			if !gone[p] {
				kept = append(kept, p)
			}
		}
		a.held[topic] = kept
	}
}

func (a *assignmentTracker) sorted() []map[string]any {
	a.mutex.Lock()
	defer a.mutex.Unlock()
	return topicPartitionList(a.held)
}

func topicPartitionList(partitions map[string][]int32) []map[string]any {
	topics := make([]string, 0, len(partitions))
	for topic := range partitions {
		topics = append(topics, topic)
	}
	sort.Strings(topics)
	list := []map[string]any{}
	for _, topic := range topics {
		for _, p := range sortedInts(partitions[topic]) {
			list = append(list, map[string]any{"topic": topic, "partition": p})
		}
	}
	return list
}

func groupConsumerOptions(f *groupFields, tracker *assignmentTracker) []kgo.Opt {
	reset := kgo.NewOffset().AtStart()
	if f.Reset == "latest" {
		reset = kgo.NewOffset().AtEnd()
	}
	sessionTimeout := 10000
	if f.SessionTimeoutMs != nil {
		sessionTimeout = *f.SessionTimeoutMs
	}
	options := []kgo.Opt{
		kgo.ConsumerGroup(f.Group),
		kgo.ConsumeTopics(f.Topics...),
		kgo.ConsumeResetOffset(reset),
		kgo.SessionTimeout(time.Duration(sessionTimeout) * time.Millisecond),
		kgo.OnPartitionsAssigned(tracker.set),
		kgo.OnPartitionsRevoked(tracker.remove),
		kgo.OnPartitionsLost(tracker.remove),
	}
	if f.Commit == "auto" {
		options = append(options, kgo.AutoCommitInterval(time.Second))
	} else {
		options = append(options, kgo.DisableAutoCommit())
	}
	if f.InstanceID != "" {
		options = append(options, kgo.InstanceID(f.InstanceID))
	}
	return options
}

func groupConsume(d *Driver, ctx context.Context, step *Step) (any, error) {
	f, err := decode[groupFields](step)
	if err != nil {
		return nil, err
	}
	tracker := &assignmentTracker{held: map[string][]int32{}}
	client, err := d.newClient(groupConsumerOptions(f, tracker)...)
	if err != nil {
		return nil, err
	}
	var records []map[string]any
	var polled []*kgo.Record
	for len(polled) < f.Count && ctx.Err() == nil {
		fetches := client.PollRecords(ctx, f.Count-len(polled))
		fetches.EachRecord(func(r *kgo.Record) { polled = append(polled, r) })
	}
	for _, r := range polled {
		records = append(records, recordValue(r))
	}
	if (f.Commit == "" || f.Commit == "sync") && len(polled) > 0 {
		commitContext, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = client.CommitRecords(commitContext, polled...)
	}
	value := map[string]any{"records": sortRecords(append([]map[string]any{}, records...)), "assignment": tracker.sorted()}
	if f.Exit != "crash" {
		client.Close()
	}
	return value, err
}

func commitOffsets(d *Driver, ctx context.Context, step *Step) (any, error) {
	f, err := decode[groupFields](step)
	if err != nil {
		return nil, err
	}
	offsets := kadm.Offsets{}
	for _, o := range f.Offsets {
		offsets.Add(kadm.Offset{Topic: o.Topic, Partition: o.Partition, At: o.Offset, LeaderEpoch: -1})
	}
	return d.withAdmin(func(adm *kadm.Client) (any, error) {
		responses, err := adm.CommitOffsets(ctx, f.Group, offsets)
		if err != nil {
			return nil, err
		}
		return nil, responses.Error()
	})
}

func listGroups(d *Driver, ctx context.Context, _ *Step) (any, error) {
	return d.withAdmin(func(adm *kadm.Client) (any, error) {
		groups, err := adm.ListGroups(ctx)
		if err != nil {
			return nil, err
		}
		list := []map[string]any{}
		for _, name := range groups.Sorted() {
			list = append(list, map[string]any{"group": name.Group, "state": name.State})
		}
		return list, nil
	})
}

func describeGroup(d *Driver, ctx context.Context, step *Step) (any, error) {
	f, err := decode[groupFields](step)
	if err != nil {
		return nil, err
	}
	return d.withAdmin(func(adm *kadm.Client) (any, error) {
		groups, err := adm.DescribeGroups(ctx, f.Group)
		if err != nil {
			return nil, err
		}
		group := groups[f.Group]
		if group.Err != nil {
			return nil, withMessage(group.Err, group.ErrMessage)
		}
		members := []map[string]any{}
		for _, m := range group.Members {
			assigned := map[string][]int32{}
			if consumer, ok := m.Assigned.AsConsumer(); ok {
				for _, t := range consumer.Topics {
					assigned[t.Topic] = append(assigned[t.Topic], t.Partitions...)
				}
			}
			members = append(members, map[string]any{"clientId": m.ClientID, "instanceId": m.InstanceID, "assignment": topicPartitionList(assigned)})
		}
		sort.SliceStable(members, func(i, j int) bool { return memberKey(members[i]) < memberKey(members[j]) })
		return map[string]any{
			"group": group.Group, "state": group.State, "protocolType": group.ProtocolType,
			"protocol": group.Protocol, "members": members,
		}, nil
	})
}

func memberKey(member map[string]any) string {
	instance := ""
	if id, _ := member["instanceId"].(*string); id != nil {
		instance = *id
	}
	return instance + "\x00" + member["clientId"].(string)
}

func deleteGroup(d *Driver, ctx context.Context, step *Step) (any, error) {
	f, err := decode[groupFields](step)
	if err != nil {
		return nil, err
	}
	return d.withAdmin(func(adm *kadm.Client) (any, error) {
		responses, err := adm.DeleteGroups(ctx, f.Group)
		if err != nil {
			return nil, err
		}
		response := responses[f.Group]
		return nil, withMessage(response.Err, response.ErrMessage)
	})
}

func groupOffsets(d *Driver, ctx context.Context, step *Step) (any, error) {
	f, err := decode[groupFields](step)
	if err != nil {
		return nil, err
	}
	return d.withAdmin(func(adm *kadm.Client) (any, error) {
		var committed kadm.OffsetResponses
		if f.Topic != nil {
			committed, err = adm.FetchOffsetsForTopics(ctx, f.Group, *f.Topic)
		} else {
			committed, err = adm.FetchOffsets(ctx, f.Group)
		}
		if err == nil {
			err = committed.Error()
		}
		if err != nil {
			return nil, err
		}
		ends, err := adm.ListEndOffsets(ctx, committed.Offsets().TopicsSet().Topics()...)
		if err != nil {
			return nil, err
		}
		rows := []map[string]any{}
		for _, o := range committed.Sorted() {
			end, _ := ends.Lookup(o.Topic, o.Partition)
			lag := end.Offset - o.At
			if o.At < 0 {
				lag = end.Offset
			}
			rows = append(rows, map[string]any{"topic": o.Topic, "partition": o.Partition, "offset": o.At, "logEndOffset": end.Offset, "lag": lag})
		}
		return rows, nil
	})
}
