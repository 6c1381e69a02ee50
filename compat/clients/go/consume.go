package main

import (
	"context"
	"encoding/json"
	"errors"
	"sort"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

type consumeFields struct {
	Topic      string          `json:"topic"`
	Partitions []int32         `json:"partitions"`
	From       json.RawMessage `json:"from"`
	Count      int             `json:"count"`
}

func recordValue(r *kgo.Record) map[string]any {
	headers := []map[string]any{}
	for _, h := range r.Headers {
		headers = append(headers, map[string]any{"key": h.Key, "value": encodeBytes(h.Value, h.Value == nil)})
	}
	timestampType := "CreateTime"
	if r.Attrs.TimestampType() == 1 {
		timestampType = "LogAppendTime"
	}
	return map[string]any{
		"topic": r.Topic, "partition": r.Partition, "offset": r.Offset,
		"key": encodeBytes(r.Key, r.Key == nil), "value": encodeBytes(r.Value, r.Value == nil),
		"headers": headers, "timestamp": r.Timestamp.UnixMilli(), "timestampType": timestampType,
	}
}

func sortRecords(records []map[string]any) []map[string]any {
	sort.SliceStable(records, func(i, j int) bool {
		pi, pj := records[i]["partition"].(int32), records[j]["partition"].(int32)
		if pi != pj {
			return pi < pj
		}
		return records[i]["offset"].(int64) < records[j]["offset"].(int64)
	})
	return records
}

// startOffset maps the step's "from" to a kgo offset.
func startOffset(from json.RawMessage) (kgo.Offset, error) {
	var named string
	if json.Unmarshal(from, &named) == nil || len(from) == 0 {
		switch named {
		case "", "beginning":
			return kgo.NewOffset().AtStart(), nil
		case "end":
			return kgo.NewOffset().AtEnd(), nil
		}
		return kgo.Offset{}, &stepError{name: "CLIENT_INVALID_ARGUMENT", message: "from " + named}
	}
	var at struct {
		Offset    *int64 `json:"offset"`
		Timestamp *int64 `json:"timestamp"`
	}
	if err := json.Unmarshal(from, &at); err != nil {
		return kgo.Offset{}, err
	}
	if at.Offset != nil {
		return kgo.NewOffset().At(*at.Offset), nil
	}
	// AfterMilli: the first offset at or after the time, or the end when there is none.
	return kgo.NewOffset().AfterMilli(*at.Timestamp), nil
}

// existingPartitions checks the topic and partitions against the broker's metadata.
func (d *Driver) existingPartitions(ctx context.Context, topic string, wanted []int32) ([]int32, error) {
	found, err := d.withAdmin(func(adm *kadm.Client) (any, error) {
		details, err := adm.ListTopics(ctx, topic)
		if err != nil {
			return nil, err
		}
		if details[topic].Err != nil {
			return nil, details[topic].Err
		}
		return details[topic].Partitions.Numbers(), nil
	})
	if err != nil {
		return nil, err
	}
	present := map[int32]bool{}
	for _, p := range found.([]int32) {
		present[p] = true
	}
	if wanted == nil {
		return sortedInts(found.([]int32)), nil
	}
	for _, p := range wanted {
		if !present[p] {
			return nil, &stepError{name: "UNKNOWN_TOPIC_OR_PARTITION", message: "no such partition"}
		}
	}
	return wanted, nil
}

func consume(d *Driver, ctx context.Context, step *Step) (any, error) {
	return consumeWith(d, ctx, step)
}

// consumeWith assigns the step's partitions with the extra client options (an isolation level).
func consumeWith(d *Driver, ctx context.Context, step *Step, extra ...kgo.Opt) (any, error) {
	f, err := decode[consumeFields](step)
	if err != nil {
		return nil, err
	}
	partitions, err := d.existingPartitions(ctx, f.Topic, f.Partitions)
	if err != nil {
		return nil, err
	}
	offset, err := startOffset(f.From)
	if err != nil {
		return nil, err
	}
	assignment := map[int32]kgo.Offset{}
	for _, p := range partitions {
		assignment[p] = offset
	}
	client, err := d.newClient(append([]kgo.Opt{
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{f.Topic: assignment}),
		kgo.ConsumeResetOffset(kgo.NoResetOffset()), // out of range is an error, not a reset
	}, extra...)...)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	records, err := pollRecords(ctx, client, f.Count)
	return sortRecords(records), err
}

// pollRecords reads until count records or the step's deadline; running out of
// time is the normal end, a fetch error is the step's error.
func pollRecords(ctx context.Context, client *kgo.Client, count int) ([]map[string]any, error) {
	records := []map[string]any{}
	for len(records) < count && ctx.Err() == nil {
		fetches := client.PollRecords(ctx, count-len(records))
		for _, fetchErr := range fetches.Errors() {
			if errors.Is(fetchErr.Err, context.DeadlineExceeded) || errors.Is(fetchErr.Err, context.Canceled) {
				continue
			}
			return records, &stepError{name: errorName(context.Background(), fetchErr.Err), message: fetchErr.Err.Error(), value: sortRecords(records)}
		}
		fetches.EachRecord(func(r *kgo.Record) { records = append(records, recordValue(r)) })
	}
	return records, nil
}

// listOffsets sends ListOffsets itself: kadm replaces "no offset for that time"
// with the end offset, and the protocol wants Kafka's own answer.
func listOffsets(d *Driver, ctx context.Context, step *Step) (any, error) {
	f, err := decode[struct {
		Topic     string          `json:"topic"`
		Partition int32           `json:"partition"`
		Spec      json.RawMessage `json:"spec"`
	}](step)
	if err != nil {
		return nil, err
	}
	timestamp, byTime := int64(-1), false
	switch string(f.Spec) {
	case `"earliest"`:
		timestamp = -2
	case `"latest"`:
		timestamp = -1
	default:
		var spec struct {
			Timestamp int64 `json:"timestamp"`
		}
		if err := json.Unmarshal(f.Spec, &spec); err != nil {
			return nil, err
		}
		timestamp, byTime = spec.Timestamp, true
	}
	client, err := d.newClient()
	if err != nil {
		return nil, err
	}
	defer client.Close()
	request := kmsg.NewPtrListOffsetsRequest()
	request.ReplicaID = -1
	topic := kmsg.NewListOffsetsRequestTopic()
	topic.Topic = f.Topic
	partition := kmsg.NewListOffsetsRequestTopicPartition()
	partition.Partition, partition.Timestamp = f.Partition, timestamp
	topic.Partitions = append(topic.Partitions, partition)
	request.Topics = append(request.Topics, topic)
	response, err := request.RequestWith(ctx, client)
	if err != nil {
		return nil, err
	}
	for _, t := range response.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return nil, err
			}
			value := map[string]any{"offset": p.Offset}
			if byTime && p.Offset >= 0 && p.Timestamp >= 0 {
				value["timestamp"] = p.Timestamp
			}
			return value, nil
		}
	}
	return nil, &stepError{name: "UNKNOWN_TOPIC_OR_PARTITION", message: "no partition in the ListOffsets response"}
}
