// Command registry-go-driver: franz-go's Schema Registry client (pkg/sr) against a registry and a
// Kafka cluster, as a separate process for test/registry. It registers a JSON Schema, round-trips
// records encoded by pkg/sr's Serde (Confluent's wire format) through Kafka with kgo, checks and
// registers a compatible evolution, is refused an incompatible one, and registers and reads back an
// Avro schema by id. Prints one JSON line: {"ok": bool, ...}.
//
// usage: registry-go-driver BOOTSTRAP REGISTRY_URL TOPIC
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

const (
	records        = 5
	consumeTimeout = 60 * time.Second
)

type order struct {
	ID   int    `json:"id"`
	Item string `json:"item"`
}

func run(bootstrap, url, topic string, summary map[string]any) error {
	ctx := context.Background()
	client, err := sr.NewClient(sr.URLs(url))
	if err != nil {
		return err
	}
	subject := topic + "-value"
	v1 := `{"type":"object","properties":{"id":{"type":"integer"},"item":{"type":"string"}},"required":["id"]}`
	registered, err := client.CreateSchema(ctx, subject, sr.Schema{Schema: v1, Type: sr.TypeJSON})
	if err != nil {
		return fmt.Errorf("register v1: %w", err)
	}
	summary["registered"] = map[string]int{"id": registered.ID, "version": registered.Version}

	var serde sr.Serde
	serde.Register(registered.ID, order{}, sr.EncodeFn(json.Marshal), sr.DecodeFn(json.Unmarshal))
	kafka, err := kgo.NewClient(
		kgo.SeedBrokers(bootstrap),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.AllowAutoTopicCreation(),
	)
	if err != nil {
		return err
	}
	defer kafka.Close()
	sent := make([]order, records)
	for i := range sent {
		sent[i] = order{ID: i, Item: fmt.Sprintf("item-%d", i)}
		value, err := serde.Encode(sent[i])
		if err != nil {
			return fmt.Errorf("encode: %w", err)
		}
		if i == 0 {
			summary["wire_prefix"] = fmt.Sprintf("%x", value[:5])
		}
		if err := kafka.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: value}).FirstErr(); err != nil {
			return fmt.Errorf("produce: %w", err)
		}
	}
	var received []order
	deadline, cancel := context.WithTimeout(ctx, consumeTimeout)
	defer cancel()
	for len(received) < records {
		fetches := kafka.PollFetches(deadline)
		if deadline.Err() != nil {
			return fmt.Errorf("consumed %d of %d within %s", len(received), records, consumeTimeout)
		}
		var decodeErr error
		fetches.EachRecord(func(r *kgo.Record) {
			var o order
			if err := serde.Decode(r.Value, &o); err != nil {
				decodeErr = err
				return
			}
			received = append(received, o)
		})
		if decodeErr != nil {
			return fmt.Errorf("decode: %w", decodeErr)
		}
	}
	roundTrip := len(received) == records
	for i := range received {
		roundTrip = roundTrip && received[i] == sent[i]
	}
	summary["round_trip"] = roundTrip

	v2 := `{"type":"object","properties":{"id":{"type":"integer"},"item":{"type":"string"},"note":{}},"required":["id"]}`
	check, err := client.CheckCompatibility(ctx, subject, -1, sr.Schema{Schema: v2, Type: sr.TypeJSON})
	if err != nil {
		return fmt.Errorf("check v2: %w", err)
	}
	summary["v2_compatible"] = check.Is
	evolved, err := client.CreateSchema(ctx, subject, sr.Schema{Schema: v2, Type: sr.TypeJSON})
	if err != nil {
		return fmt.Errorf("register v2: %w", err)
	}
	summary["evolved"] = map[string]int{"id": evolved.ID, "version": evolved.Version}
	bad := `{"type":"object","properties":{"id":{"type":"string"}},"required":["id","item"]}`
	_, err = client.CreateSchema(ctx, subject, sr.Schema{Schema: bad, Type: sr.TypeJSON})
	var refused *sr.ResponseError
	if errors.As(err, &refused) {
		summary["refused"] = map[string]any{"status": refused.StatusCode, "error_code": refused.ErrorCode, "message": refused.Message}
	}

	avro := `{"type":"record","name":"Ping","namespace":"kstack.go","fields":[{"name":"at","type":"long"}]}`
	avroSubject := topic + "-avro"
	avroRegistered, err := client.CreateSchema(ctx, avroSubject, sr.Schema{Schema: avro})
	if err != nil {
		return fmt.Errorf("register avro: %w", err)
	}
	byID, err := client.SchemaByID(ctx, avroRegistered.ID)
	if err != nil {
		return fmt.Errorf("schema by id: %w", err)
	}
	subjects, err := client.SubjectsByID(ctx, avroRegistered.ID)
	if err != nil {
		return fmt.Errorf("subjects by id: %w", err)
	}
	summary["avro_by_id"] = byID.Schema == avro && byID.Type == sr.TypeAvro
	summary["avro_subjects"] = subjects
	summary["ok"] = roundTrip && check.Is && evolved.ID != registered.ID && refused != nil &&
		refused.StatusCode == 409 && byID.Schema == avro && len(subjects) == 1 && subjects[0] == avroSubject
	return nil
}

func main() {
	summary := map[string]any{"ok": false}
	if len(os.Args) != 4 {
		summary["error"] = "usage: registry-go-driver BOOTSTRAP REGISTRY_URL TOPIC"
	} else if err := run(os.Args[1], os.Args[2], os.Args[3], summary); err != nil {
		summary["error"] = err.Error()
	}
	out, _ := json.Marshal(summary)
	fmt.Println(string(out))
}
