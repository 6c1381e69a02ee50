package main

import (
	"context"
	"sort"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

type topicFields struct {
	Topic             string             `json:"topic"`
	Partitions        *int32             `json:"partitions"`
	ReplicationFactor *int16             `json:"replicationFactor"`
	Configs           map[string]*string `json:"configs"`
	ValidateOnly      bool               `json:"validateOnly"`
	IncludeInternal   bool               `json:"includeInternal"`
	Count             int                `json:"count"`
	Names             []string           `json:"names"`
	Set               map[string]string  `json:"set"`
	Delete            []string           `json:"delete"`
}

// withMessage keeps the broker's error text beside the error.
func withMessage(err error, message string) error {
	if err == nil || message == "" {
		return err
	}
	return &stepError{name: errorName(context.Background(), err), message: message}
}

func createTopic(d *Driver, ctx context.Context, step *Step) (any, error) {
	f, err := decode[topicFields](step)
	if err != nil {
		return nil, err
	}
	partitions, replicationFactor := int32(1), int16(-1)
	if f.Partitions != nil {
		partitions = *f.Partitions
	}
	if f.ReplicationFactor != nil {
		replicationFactor = *f.ReplicationFactor
	}
	return d.withAdmin(func(adm *kadm.Client) (any, error) {
		create := adm.CreateTopics
		if f.ValidateOnly {
			create = adm.ValidateCreateTopics
		}
		responses, err := create(ctx, partitions, replicationFactor, f.Configs, f.Topic)
		if err != nil {
			return nil, err
		}
		response := responses[f.Topic]
		return nil, withMessage(response.Err, response.ErrMessage)
	})
}

func describeTopic(d *Driver, ctx context.Context, step *Step) (any, error) {
	f, err := decode[topicFields](step)
	if err != nil {
		return nil, err
	}
	return d.withAdmin(func(adm *kadm.Client) (any, error) {
		details, err := adm.ListTopicsWithInternal(ctx, f.Topic)
		if err != nil {
			return nil, err
		}
		detail, found := details[f.Topic]
		if !found {
			return nil, &stepError{name: "UNKNOWN_TOPIC_OR_PARTITION", message: "not in the metadata response"}
		}
		if detail.Err != nil {
			return nil, detail.Err
		}
		partitions := []map[string]any{}
		for _, p := range detail.Partitions.Sorted() {
			partitions = append(partitions, map[string]any{
				"partition": p.Partition, "leader": p.Leader, "replicas": p.Replicas, "isr": sortedInts(p.ISR),
			})
		}
		return map[string]any{"topic": f.Topic, "internal": detail.IsInternal, "partitions": partitions}, nil
	})
}

func listTopics(d *Driver, ctx context.Context, step *Step) (any, error) {
	f, err := decode[topicFields](step)
	if err != nil {
		return nil, err
	}
	return d.withAdmin(func(adm *kadm.Client) (any, error) {
		details, err := adm.ListTopicsWithInternal(ctx)
		if err != nil {
			return nil, err
		}
		names := []string{}
		for name, detail := range details {
			if f.IncludeInternal || !detail.IsInternal {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		return names, nil
	})
}

func deleteTopic(d *Driver, ctx context.Context, step *Step) (any, error) {
	f, err := decode[topicFields](step)
	if err != nil {
		return nil, err
	}
	return d.withAdmin(func(adm *kadm.Client) (any, error) {
		responses, err := adm.DeleteTopics(ctx, f.Topic)
		if err != nil {
			return nil, err
		}
		response := responses[f.Topic]
		return nil, withMessage(response.Err, response.ErrMessage)
	})
}

func createPartitions(d *Driver, ctx context.Context, step *Step) (any, error) {
	f, err := decode[topicFields](step)
	if err != nil {
		return nil, err
	}
	return d.withAdmin(func(adm *kadm.Client) (any, error) {
		responses, err := adm.UpdatePartitions(ctx, f.Count, f.Topic)
		if err != nil {
			return nil, err
		}
		response := responses[f.Topic]
		return nil, withMessage(response.Err, response.ErrMessage)
	})
}

func describeConfigs(d *Driver, ctx context.Context, step *Step) (any, error) {
	f, err := decode[topicFields](step)
	if err != nil {
		return nil, err
	}
	return d.withAdmin(func(adm *kadm.Client) (any, error) {
		resources, err := adm.DescribeTopicConfigs(ctx, f.Topic)
		if err != nil {
			return nil, err
		}
		resource, err := resources.On(f.Topic, nil)
		if err != nil {
			return nil, err
		}
		if resource.Err != nil {
			return nil, withMessage(resource.Err, resource.ErrMessage)
		}
		wanted := map[string]bool{}
		for _, name := range f.Names {
			wanted[name] = true
		}
		configs := map[string]*string{}
		for _, config := range resource.Configs {
			if f.Names == nil || wanted[config.Key] {
				configs[config.Key] = config.Value // nil when sensitive
			}
		}
		return configs, nil
	})
}

func alterConfigs(d *Driver, ctx context.Context, step *Step) (any, error) {
	f, err := decode[topicFields](step)
	if err != nil {
		return nil, err
	}
	changes := []kadm.AlterConfig{}
	for name, value := range f.Set {
		changes = append(changes, kadm.AlterConfig{Op: kadm.SetConfig, Name: name, Value: kadm.StringPtr(value)})
	}
	for _, name := range f.Delete {
		changes = append(changes, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: name})
	}
	return d.withAdmin(func(adm *kadm.Client) (any, error) {
		alter := adm.AlterTopicConfigs
		if f.ValidateOnly {
			alter = adm.ValidateAlterTopicConfigs
		}
		responses, err := alter(ctx, changes, f.Topic)
		if err != nil {
			return nil, err
		}
		for _, response := range responses {
			if response.Err != nil {
				return nil, withMessage(response.Err, response.ErrMessage)
			}
		}
		return nil, nil
	})
}

// metadataOp sends a Metadata request itself: kadm never asks for automatic creation.
func metadataOp(d *Driver, ctx context.Context, step *Step) (any, error) {
	f, err := decode[struct {
		Topics          []string `json:"topics"`
		AllowAutoCreate bool     `json:"allowAutoCreate"`
	}](step)
	if err != nil {
		return nil, err
	}
	client, err := d.newClient()
	if err != nil {
		return nil, err
	}
	defer client.Close()
	request := kmsg.NewPtrMetadataRequest()
	request.AllowAutoTopicCreation = f.AllowAutoCreate
	if f.Topics != nil {
		request.Topics = []kmsg.MetadataRequestTopic{}
		for _, name := range f.Topics {
			topic := kmsg.NewMetadataRequestTopic()
			topic.Topic = kmsg.StringPtr(name)
			request.Topics = append(request.Topics, topic)
		}
	}
	response, err := request.RequestWith(ctx, client)
	if err != nil {
		return nil, err
	}
	brokers := []map[string]any{}
	sort.Slice(response.Brokers, func(i, j int) bool { return response.Brokers[i].NodeID < response.Brokers[j].NodeID })
	for _, b := range response.Brokers {
		brokers = append(brokers, map[string]any{"id": b.NodeID, "host": b.Host, "port": b.Port})
	}
	if f.Topics == nil {
		sort.Slice(response.Topics, func(i, j int) bool { return *response.Topics[i].Topic < *response.Topics[j].Topic })
	}
	topics := []map[string]any{}
	for _, t := range response.Topics {
		var topicErr any
		if err := kafkaError(t.ErrorCode); err != nil {
			topicErr = errorName(ctx, err)
		}
		topics = append(topics, map[string]any{"topic": *t.Topic, "error": topicErr, "partitions": len(t.Partitions)})
	}
	return map[string]any{"brokers": brokers, "topics": topics}, nil
}
