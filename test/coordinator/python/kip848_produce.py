"""Creates a topic if missing and produces values (librdkafka through PyPI confluent-kafka).

usage: kip848_produce.py BOOTSTRAP TOPIC PARTITIONS FIRST COUNT

Produces the values FIRST..FIRST+COUNT-1 (decimal strings), value i to partition i % PARTITIONS,
idempotently, and prints {"produced": COUNT} once every one is acknowledged.
"""
import json
import sys

from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, topic = sys.argv[1:3]
partitions, first, count = (int(a) for a in sys.argv[3:6])
admin = AdminClient({'bootstrap.servers': bootstrap})
for future in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
    try:
        future.result()
    except KafkaException as error:
        if 'TOPIC_ALREADY_EXISTS' not in str(error):
            raise
producer = Producer({'bootstrap.servers': bootstrap, 'enable.idempotence': True})
failures = []
for i in range(first, first + count):
    producer.produce(topic, value=str(i).encode(), partition=i % partitions,
                     on_delivery=lambda err, _msg: err and failures.append(str(err)))
producer.flush(60)
if failures or len(producer) > 0:
    sys.exit(f'not acknowledged: {failures} ({len(producer)} still queued)')
print(json.dumps({'produced': count}), flush=True)
