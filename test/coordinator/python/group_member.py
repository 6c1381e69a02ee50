"""A consumer-group member driven by the coordinator tests (librdkafka through confluent_kafka).

usage: group_member.py BOOTSTRAP GROUP TOPIC CLIENT_ID [INSTANCE_ID]

Prints one JSON object per line: {"event": "assign"|"revoke", "partitions": [...]} on
rebalances and {"event": "msg", "p": partition, "o": offset, "v": value} per record, each
record's offset committed synchronously before the next poll. SIGTERM closes the consumer
cleanly (LeaveGroup for a dynamic member); SIGKILL is a crash.
"""
import json
import signal
import sys

from confluent_kafka import Consumer

bootstrap, group, topic, client_id = sys.argv[1:5]
instance_id = sys.argv[5] if len(sys.argv) > 5 else None
running = True


def stop(_signum, _frame):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)


def say(**event):
    print(json.dumps(event), flush=True)


config = {
    'bootstrap.servers': bootstrap,
    'group.id': group,
    'client.id': client_id,
    'auto.offset.reset': 'earliest',
    'enable.auto.commit': False,
    'session.timeout.ms': 6000,
    'heartbeat.interval.ms': 500,
    'partition.assignment.strategy': 'range,roundrobin',
}
if instance_id:
    config['group.instance.id'] = instance_id
consumer = Consumer(config)
consumer.subscribe(
    [topic],
    on_assign=lambda c, ps: say(event='assign', partitions=sorted(p.partition for p in ps)),
    on_revoke=lambda c, ps: say(event='revoke', partitions=sorted(p.partition for p in ps)),
)
say(event='started')
while running:
    message = consumer.poll(0.2)
    if message is None:
        continue
    if message.error():
        say(event='error', error=str(message.error()))
        continue
    consumer.commit(message=message, asynchronous=False)
    say(event='msg', p=message.partition(), o=message.offset(), v=message.value().decode())
consumer.close()
say(event='closed')
