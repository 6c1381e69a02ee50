"""A KIP-848 consumer-group member (librdkafka through PyPI confluent-kafka, group.protocol=consumer).

usage: kip848_member.py BOOTSTRAP GROUP TOPIC CLIENT_ID [INSTANCE_ID]

KIP848_GROUP_PROTOCOL=classic in the environment makes it a classic-protocol member instead.
KIP848_REPORT_COMMIT_ERRORS=1 prints a failed commit as {"event": "commit-error", "p", "o", "error"}
(with its value "v") and goes on (a coordinator failover may refuse a commit); otherwise the error ends the member.

Prints one JSON object per line: {"event": "assign"|"revoke", "partitions": [...], "t": ms} on
assignment changes (incremental: KIP-848 is cooperative) and {"event": "msg", "p", "o", "v"} per
record, each record's offset committed synchronously before the next poll. SIGTERM closes the
consumer cleanly (it leaves the group with member epoch -1); SIGKILL is a crash.
"""
import json
import os
import signal
import sys
import time

from confluent_kafka import Consumer, KafkaException

bootstrap, group, topic, client_id = sys.argv[1:5]
instance_id = sys.argv[5] if len(sys.argv) > 5 else None
running = True


def stop(_signum, _frame):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)


def say(**event):
    event['t'] = int(time.time() * 1000)
    print(json.dumps(event), flush=True)


config = {
    'bootstrap.servers': bootstrap,
    'group.id': group,
    'client.id': client_id,
    'group.protocol': os.environ.get('KIP848_GROUP_PROTOCOL', 'consumer'),
    'auto.offset.reset': 'earliest',
    'enable.auto.commit': False,
}
if instance_id:
    config['group.instance.id'] = instance_id
consumer = Consumer(config)
say(event='start')
consumer.subscribe(
    [topic],
    on_assign=lambda c, ps: say(event='assign', partitions=sorted(p.partition for p in ps)),
    on_revoke=lambda c, ps: say(event='revoke', partitions=sorted(p.partition for p in ps)),
)
while running:
    message = consumer.poll(0.2)
    if message is None:
        continue
    if message.error():
        say(event='error', error=str(message.error()))
        continue
    try:
        consumer.commit(message=message, asynchronous=False)
    except KafkaException as error:
        if os.environ.get('KIP848_REPORT_COMMIT_ERRORS') != '1':
            raise
        say(event='commit-error', p=message.partition(), o=message.offset(), v=message.value().decode(),
            error=str(error))
        continue
    say(event='msg', p=message.partition(), o=message.offset(), v=message.value().decode())
consumer.close()
say(event='closed')
