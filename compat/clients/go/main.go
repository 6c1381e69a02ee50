// Command franz-driver is the compatibility driver for franz-go (kgo and kadm):
// it reads one job as JSON on stdin and writes one result on stdout, as
// compat/PROTOCOL.md says. One function per op, in the files named after the
// op's group (topics.go, produce.go, consume.go, groups.go).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	protocolVersion      = 1
	defaultStepTimeoutMs = 30000
	// How long a step may overrun its budget before the driver gives up on it.
	watchdogGrace = 15 * time.Second
)

// Step is one job step: its common fields, and the raw object for the op's own.
type Step struct {
	ID        string  `json:"id"`
	Op        string  `json:"op"`
	TimeoutMs float64 `json:"timeoutMs"`
	Exit      string  `json:"exit"`
	raw       json.RawMessage
}

type Job struct {
	Protocol  int               `json:"protocol"`
	Bootstrap string            `json:"bootstrap"`
	JobID     string            `json:"jobId"`
	Steps     []json.RawMessage `json:"steps"`
}

type Result struct {
	ID         string `json:"id"`
	Op         string `json:"op"`
	Status     string `json:"status"`
	Value      any    `json:"value"`
	Error      string `json:"error,omitempty"`
	Message    string `json:"message,omitempty"`
	Reason     string `json:"reason,omitempty"`
	DurationMs int64  `json:"durationMs"`
}

type ClientInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Library string `json:"library"`
}

// Driver holds what the steps of one job share: the seed brokers and the client id.
type Driver struct {
	bootstrap []string
	clientID  string
	info      ClientInfo
}

// stepError is a failed step with a normalised error name (PROTOCOL.md section 6).
type stepError struct {
	name    string
	message string
	value   any
}

func (e *stepError) Error() string { return e.name + ": " + e.message }

// unsupported is a step the client cannot do; the text is the reason.
type unsupported struct{ reason string }

func (e *unsupported) Error() string { return e.reason }

type opFunc func(d *Driver, ctx context.Context, step *Step) (any, error)

var ops = map[string]opFunc{
	"createTopic":          createTopic,
	"describeTopic":        describeTopic,
	"listTopics":           listTopics,
	"deleteTopic":          deleteTopic,
	"createPartitions":     createPartitions,
	"describeConfigs":      describeConfigs,
	"alterConfigs":         alterConfigs,
	"metadata":             metadataOp,
	"produce":              produce,
	"consume":              consume,
	"transactionalProduce": transactionalProduce,
	"isolatedConsume":      isolatedConsume,
	"listOffsets":          listOffsets,
	"groupConsume":         groupConsume,
	"commitOffsets":        commitOffsets,
	"listGroups":           listGroups,
	"describeGroup":        describeGroup,
	"deleteGroup":          deleteGroup,
	"groupOffsets":         groupOffsets,
	"clientInfo":           func(d *Driver, _ context.Context, _ *Step) (any, error) { return d.info, nil },
	"sleep":                sleepOp,
}

func main() {
	output := os.Stdout
	// Only the result goes to stdout; anything else printed goes to stderr.
	os.Stdout = os.Stderr
	input, err := io.ReadAll(os.Stdin)
	var job Job
	if err == nil {
		err = json.Unmarshal(input, &job)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "franz-driver: cannot read the job:", err)
		os.Exit(2)
	}
	d := &Driver{bootstrap: splitBootstrap(job.Bootstrap), clientID: clientID(job.JobID), info: clientInfo()}
	steps := make([]*Step, len(job.Steps))
	for i, raw := range job.Steps {
		steps[i] = &Step{raw: raw}
		_ = json.Unmarshal(raw, steps[i])
	}
	results := make([]Result, 0, len(steps))
	for _, step := range steps {
		if job.Protocol != protocolVersion {
			results = append(results, Result{ID: step.ID, Op: step.Op, Status: "error", Error: "CLIENT_ERROR", Message: "driver speaks protocol 1"})
			continue
		}
		results = append(results, d.runStep(step))
		if step.Exit == "crash" {
			writeResult(output, d.info, results)
			os.Exit(0) // no Close: the group never hears a LeaveGroup
		}
	}
	writeResult(output, d.info, results)
}

func (d *Driver) runStep(step *Step) Result {
	op, known := ops[step.Op]
	if !known {
		return Result{ID: step.ID, Op: step.Op, Status: "unsupported", Reason: "this driver does not know op " + step.Op}
	}
	budget := stepBudget(step)
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	started := time.Now()
	done := make(chan Result, 1)
	go func() { done <- d.call(op, ctx, step) }()
	var result Result
	select {
	case result = <-done:
	case <-time.After(budget + watchdogGrace):
		result = Result{Status: "error", Error: "CLIENT_TIMEOUT", Message: "the client did not return"}
	}
	result.ID, result.Op = step.ID, step.Op
	if result.Status != "unsupported" {
		result.DurationMs = time.Since(started).Milliseconds()
	}
	return result
}

func (d *Driver) call(op opFunc, ctx context.Context, step *Step) (result Result) {
	defer func() {
		if r := recover(); r != nil {
			result = Result{Status: "error", Error: "CLIENT_ERROR", Message: fmt.Sprintf("panic: %v", r)}
		}
	}()
	value, err := op(d, ctx, step)
	if err == nil {
		return Result{Status: "ok", Value: value}
	}
	if u, ok := err.(*unsupported); ok {
		return Result{Status: "unsupported", Reason: u.reason}
	}
	if s, ok := err.(*stepError); ok {
		return Result{Status: "error", Value: s.value, Error: s.name, Message: s.message}
	}
	return Result{Status: "error", Value: value, Error: errorName(ctx, err), Message: err.Error()}
}

func writeResult(output *os.File, info ClientInfo, results []Result) {
	encoded, _ := json.Marshal(map[string]any{"protocol": protocolVersion, "client": info, "results": results})
	output.Write(append(encoded, '\n'))
	output.Sync()
}

func stepBudget(step *Step) time.Duration {
	ms := step.TimeoutMs
	if ms <= 0 {
		ms = defaultStepTimeoutMs
	}
	return time.Duration(ms * float64(time.Millisecond))
}

func clientID(jobID string) string {
	return "kstack-compat-" + regexp.MustCompile(`[^A-Za-z0-9._-]`).ReplaceAllString(jobID, "_")
}

func clientInfo() ClientInfo {
	version := "unknown"
	if build, ok := debug.ReadBuildInfo(); ok {
		for _, module := range build.Deps {
			if module.Path == "github.com/twmb/franz-go" {
				version = module.Version
			}
		}
	}
	return ClientInfo{Name: "franz-go", Version: version, Library: "franz-go " + version}
}

// decode reads the op's own fields from the step object.
func decode[T any](step *Step) (*T, error) {
	var fields T
	if err := json.Unmarshal(step.raw, &fields); err != nil {
		return nil, &stepError{name: "CLIENT_ERROR", message: "bad step: " + err.Error()}
	}
	return &fields, nil
}

// newClient makes a kgo client for one step; the caller closes it.
func (d *Driver) newClient(extra ...kgo.Opt) (*kgo.Client, error) {
	security, err := securityOptions()
	if err != nil {
		return nil, &stepError{name: "CLIENT_ERROR", message: err.Error()}
	}
	options := append([]kgo.Opt{kgo.SeedBrokers(d.bootstrap...), kgo.ClientID(d.clientID)}, security...)
	return kgo.NewClient(append(options, extra...)...)
}

// withAdmin runs fn with an admin client made for the step.
func (d *Driver) withAdmin(fn func(*kadm.Client) (any, error)) (any, error) {
	client, err := d.newClient()
	if err != nil {
		return nil, err
	}
	defer client.Close()
	return fn(kadm.NewClient(client))
}

func sleepOp(_ *Driver, ctx context.Context, step *Step) (any, error) {
	fields, err := decode[struct {
		Ms float64 `json:"ms"`
	}](step)
	if err != nil {
		return nil, err
	}
	select {
	case <-time.After(time.Duration(fields.Ms * float64(time.Millisecond))):
	case <-ctx.Done():
	}
	return nil, nil
}

func sortedInts(values []int32) []int32 {
	sorted := append([]int32{}, values...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	return sorted
}

func splitBootstrap(bootstrap string) []string {
	var brokers []string
	for _, broker := range strings.Split(bootstrap, ",") {
		if broker = strings.TrimSpace(broker); broker != "" {
			brokers = append(brokers, broker)
		}
	}
	return brokers
}
