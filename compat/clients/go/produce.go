package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

type messageFields struct {
	Key       Bytes  `json:"key"`
	Value     Bytes  `json:"value"`
	Timestamp *int64 `json:"timestamp"`
	Partition *int32 `json:"partition"`
	Headers   []struct {
		Key   string `json:"key"`
		Value Bytes  `json:"value"`
	} `json:"headers"`
}

type produceFields struct {
	Topic          string          `json:"topic"`
	Messages       []messageFields `json:"messages"`
	Partition      *int32          `json:"partition"`
	Compression    string          `json:"compression"`
	Acks           json.RawMessage `json:"acks"`
	Idempotent     bool            `json:"idempotent"`
	ClientMaxBytes *int32          `json:"clientMaxBytes"`
	LingerMs       int             `json:"lingerMs"`
	Retries        *int            `json:"retries"`
}

var codecs = map[string]kgo.CompressionCodec{
	"": kgo.NoCompression(), "none": kgo.NoCompression(), "gzip": kgo.GzipCompression(),
	"snappy": kgo.SnappyCompression(), "lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
}

// producerOptions maps the step's settings to kgo options. Like the Java,
// librdkafka and kafkajs producers, it lets the broker create a missing topic.
// The step's deadline reaches the records through their context: kgo's
// RecordDeliveryTimeout counts from each record's own timestamp, which a
// scenario may set years back.
func producerOptions(f *produceFields) ([]kgo.Opt, error) {
	codec, known := codecs[f.Compression]
	if !known {
		return nil, &unsupported{reason: "franz-go has no codec " + f.Compression}
	}
	options := []kgo.Opt{
		kgo.ProducerBatchCompression(codec),
		kgo.ProducerLinger(time.Duration(f.LingerMs) * time.Millisecond),
		kgo.RecordPartitioner(explicitPartitioner{kgo.StickyKeyPartitioner(nil)}),
		kgo.AllowAutoTopicCreation(),
	}
	switch string(f.Acks) {
	case "", `"all"`, "-1":
		options = append(options, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "1":
		options = append(options, kgo.RequiredAcks(kgo.LeaderAck()))
	case "0":
		options = append(options, kgo.RequiredAcks(kgo.NoAck()))
	default:
		return nil, &stepError{name: "CLIENT_INVALID_ARGUMENT", message: "acks " + string(f.Acks)}
	}
	if !f.Idempotent {
		options = append(options, kgo.DisableIdempotentWrite())
	}
	if f.ClientMaxBytes != nil {
		options = append(options, kgo.ProducerBatchMaxBytes(*f.ClientMaxBytes+4096))
	}
	if f.Retries != nil {
		options = append(options, kgo.RecordRetries(*f.Retries))
	}
	return options, nil
}

func produce(d *Driver, ctx context.Context, step *Step) (any, error) {
	f, err := decode[produceFields](step)
	if err != nil {
		return nil, err
	}
	options, err := producerOptions(f)
	if err != nil {
		return nil, err
	}
	client, err := d.newClient(options...)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	outcomes := make([]map[string]any, len(f.Messages))
	var mutex sync.Mutex
	for i := range f.Messages {
		client.Produce(ctx, toRecord(ctx, f, &f.Messages[i]), func(r *kgo.Record, err error) {
			mutex.Lock()
			defer mutex.Unlock()
			if err != nil {
				outcomes[i] = map[string]any{"error": errorName(ctx, err), "message": err.Error()}
				return
			}
			offset := r.Offset
			if string(f.Acks) == "0" {
				offset = -1 // acks=0: the client cannot know the offset
			}
			outcomes[i] = map[string]any{"partition": r.Partition, "offset": offset}
		})
	}
	_ = client.Flush(ctx)
	return produceValue(outcomes)
}

// produceValue reports one outcome per message; the first failure is the step's error.
func produceValue(outcomes []map[string]any) (any, error) {
	var firstFailure map[string]any
	for i, outcome := range outcomes {
		if outcome == nil {
			outcome = map[string]any{"error": "CLIENT_TIMEOUT", "message": "no delivery report within the step's budget"}
			outcomes[i] = outcome
		}
		if outcome["error"] != nil && firstFailure == nil {
			firstFailure = outcome
		}
	}
	messages := make([]string, len(outcomes))
	for i, outcome := range outcomes {
		messages[i], _ = outcome["message"].(string)
		delete(outcome, "message")
	}
	if firstFailure != nil {
		return nil, &stepError{name: firstFailure["error"].(string), message: fmt.Sprint(messages), value: outcomes}
	}
	return outcomes, nil
}

type explicitPartitionKey struct{}

func toRecord(ctx context.Context, f *produceFields, m *messageFields) *kgo.Record {
	record := &kgo.Record{Topic: f.Topic, Context: ctx}
	if m.Key.isSet {
		record.Key = m.Key.data
	}
	if m.Value.isSet {
		record.Value = m.Value.data
	}
	for _, h := range m.Headers {
		header := kgo.RecordHeader{Key: h.Key}
		if h.Value.isSet {
			header.Value = h.Value.data
		}
		record.Headers = append(record.Headers, header)
	}
	if m.Timestamp != nil {
		record.Timestamp = time.UnixMilli(*m.Timestamp)
	}
	partition := f.Partition
	if m.Partition != nil {
		partition = m.Partition
	}
	if partition != nil {
		record.Partition = *partition
		record.Context = context.WithValue(ctx, explicitPartitionKey{}, true)
	}
	return record
}

// explicitPartitioner sends a record to the partition the step names, and any
// other record through kgo's default (Java-compatible) key partitioner.
type explicitPartitioner struct{ fallback kgo.Partitioner }

func (p explicitPartitioner) ForTopic(topic string) kgo.TopicPartitioner {
	return explicitTopicPartitioner{p.fallback.ForTopic(topic)}
}

type explicitTopicPartitioner struct{ fallback kgo.TopicPartitioner }

func isExplicit(r *kgo.Record) bool {
	return r.Context != nil && r.Context.Value(explicitPartitionKey{}) != nil
}

func (p explicitTopicPartitioner) RequiresConsistency(r *kgo.Record) bool {
	return isExplicit(r) || p.fallback.RequiresConsistency(r)
}

func (p explicitTopicPartitioner) Partition(r *kgo.Record, n int) int {
	if isExplicit(r) {
		return int(r.Partition)
	}
	return p.fallback.Partition(r, n)
}
