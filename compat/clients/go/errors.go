package main

import (
	"context"
	"errors"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// errorName normalises a franz-go error to a Kafka protocol error name or a
// CLIENT_* name (PROTOCOL.md section 6). kerr.Error messages already are the names.
func errorName(ctx context.Context, err error) string {
	var kafkaErr *kerr.Error
	switch {
	case errors.As(err, &kafkaErr):
		// kgo fails a record that cannot fit a batch before sending it with
		// "(uncompressed_bytes=N)"; the broker's answer adds ", compressed_bytes=N".
		if kafkaErr == kerr.MessageTooLarge && !strings.Contains(err.Error(), " compressed_bytes=") {
			return "CLIENT_MESSAGE_TOO_LARGE"
		}
		return kafkaErr.Message
	case errors.Is(err, kgo.ErrRecordTimeout), errors.Is(err, context.DeadlineExceeded), ctx.Err() != nil:
		return "CLIENT_TIMEOUT"
	case strings.Contains(err.Error(), "invalid record partitioning choice"):
		// A partition the broker's metadata does not have (PROTOCOL.md section 6).
		return "UNKNOWN_TOPIC_OR_PARTITION"
	}
	return "CLIENT_ERROR"
}

// kafkaError turns a protocol error code into an error, nil for 0.
func kafkaError(code int16) error {
	return kerr.ErrorForCode(code)
}
