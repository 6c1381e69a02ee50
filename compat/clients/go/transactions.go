package main

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
)

type transactionalProduceFields struct {
	Topic           string `json:"topic"`
	TransactionalID string `json:"transactionalId"`
	Partition       *int32 `json:"partition"`
	Transactions    []struct {
		Messages []messageFields `json:"messages"`
		End      string          `json:"end"`
	} `json:"transactions"`
}

// transactionalProduce runs the step's transactions one after another through one
// transactional client: begin, produce every message synchronously, end with
// commit or abort.
func transactionalProduce(d *Driver, ctx context.Context, step *Step) (any, error) {
	f, err := decode[transactionalProduceFields](step)
	if err != nil {
		return nil, err
	}
	client, err := d.newClient(
		kgo.TransactionalID(f.TransactionalID),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(explicitPartitioner{kgo.StickyKeyPartitioner(nil)}),
	)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	fields := &produceFields{Topic: f.Topic, Partition: f.Partition}
	value := [][]map[string]any{}
	for _, transaction := range f.Transactions {
		if err := client.BeginTransaction(); err != nil {
			return value, err
		}
		records := make([]*kgo.Record, len(transaction.Messages))
		for i := range transaction.Messages {
			records[i] = toRecord(ctx, fields, &transaction.Messages[i])
		}
		sent := []map[string]any{}
		for _, result := range client.ProduceSync(ctx, records...) {
			if result.Err != nil {
				return value, result.Err
			}
			sent = append(sent, map[string]any{"partition": result.Record.Partition, "offset": result.Record.Offset})
		}
		end := kgo.TryAbort
		if transaction.End == "commit" {
			end = kgo.TryCommit
		} else if transaction.End != "abort" {
			return value, &stepError{name: "CLIENT_INVALID_ARGUMENT", message: fmt.Sprintf("end %q", transaction.End)}
		}
		if err := client.EndTransaction(ctx, end); err != nil {
			return value, err
		}
		value = append(value, sent)
	}
	return value, nil
}

type isolatedConsumeFields struct {
	Isolation string `json:"isolation"`
}

// isolatedConsume is consume with the fetch isolation level the step names.
func isolatedConsume(d *Driver, ctx context.Context, step *Step) (any, error) {
	f, err := decode[isolatedConsumeFields](step)
	if err != nil {
		return nil, err
	}
	switch f.Isolation {
	case "read_committed":
		return consumeWith(d, ctx, step, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	case "read_uncommitted":
		return consumeWith(d, ctx, step, kgo.FetchIsolationLevel(kgo.ReadUncommitted()))
	}
	return nil, &stepError{name: "CLIENT_INVALID_ARGUMENT", message: "isolation must be read_committed or read_uncommitted"}
}
