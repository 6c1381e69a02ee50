"""Transactional scenarios through librdkafka (PyPI confluent-kafka): one subcommand per
scenario, one JSON line on stdout with what was observed. Run by
test/coordinator/transactions-clients.test.ts against kstack and the Apache Kafka reference."""
import json
import sys
import time

from confluent_kafka import (Consumer, ConsumerGroupTopicPartitions, IsolationLevel, KafkaError, KafkaException,
                             Producer, TopicPartition)
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec

STEP_TIMEOUT_S = 30


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def create_topic(bs, topic, partitions=1):
    admin = AdminClient({'bootstrap.servers': bs})
    for future in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
        future.result(STEP_TIMEOUT_S)
    # Wait until the topic's metadata is there (a new topic may not be known at once).
    deadline = time.time() + STEP_TIMEOUT_S
    while time.time() < deadline:
        md = admin.list_topics(topic, timeout=5)
        t = md.topics.get(topic)
        if t is not None and t.error is None and len(t.partitions) == partitions:
            return
        time.sleep(0.2)
    raise RuntimeError(f'topic {topic} did not appear')


def producer(bs, txid, **extra):
    conf = {'bootstrap.servers': bs, 'transactional.id': txid}
    conf.update(extra)
    p = Producer(conf)
    p.init_transactions(STEP_TIMEOUT_S)
    return p


def read_all(bs, topic, isolation, partition=0):
    """Every value of the partition from offset 0 to the end the isolation level allows."""
    c = Consumer({'bootstrap.servers': bs, 'group.id': f'reader-{time.time()}', 'isolation.level': isolation,
                  'enable.partition.eof': True, 'enable.auto.commit': False})
    c.assign([TopicPartition(topic, partition, 0)])
    values = []
    deadline = time.time() + STEP_TIMEOUT_S
    try:
        while time.time() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == -191:  # _PARTITION_EOF
                    return values
                raise KafkaException(m.error())
            values.append(m.value().decode())
        raise RuntimeError(f'no end of partition within {STEP_TIMEOUT_S} s ({isolation}): {values}')
    finally:
        c.close()


def latest_offsets(bs, topic, partition=0):
    """ListOffsets latest under both isolation levels."""
    admin = AdminClient({'bootstrap.servers': bs})
    out = {}
    for name, level in (('committed', IsolationLevel.READ_COMMITTED), ('uncommitted', IsolationLevel.READ_UNCOMMITTED)):
        tp = TopicPartition(topic, partition)
        result = admin.list_offsets({tp: OffsetSpec.latest()}, isolation_level=level, request_timeout=STEP_TIMEOUT_S)
        out[name] = result[tp].result(STEP_TIMEOUT_S).offset
    return out


def wait_stable(bs, topic, partition):
    """Waits (bounded) until no open transaction holds the partition's last stable offset back."""
    deadline = time.time() + STEP_TIMEOUT_S
    while True:
        offsets = latest_offsets(bs, topic, partition)
        if offsets['committed'] == offsets['uncommitted']:
            return
        if time.time() > deadline:
            raise RuntimeError(f'{topic}-{partition}: last stable offset still behind after {STEP_TIMEOUT_S} s: {offsets}')
        time.sleep(0.1)


def error_of(exc):
    err = exc.args[0] if exc.args else None
    if hasattr(err, 'name'):
        return {'name': err.name(), 'fatal': err.fatal(), 'abortable': err.txn_requires_abort()}
    return {'name': str(exc), 'fatal': None, 'abortable': None}


def commit_abort(bs, topic, txid):
    create_topic(bs, topic)
    p = producer(bs, txid)
    p.begin_transaction()
    for i in range(3):
        p.produce(topic, value=f'commit-{i}'.encode())
    p.commit_transaction(STEP_TIMEOUT_S)
    p.begin_transaction()
    for i in range(2):
        p.produce(topic, value=f'abort-{i}'.encode())
    p.flush(STEP_TIMEOUT_S)
    p.abort_transaction(STEP_TIMEOUT_S)
    p.begin_transaction()
    p.produce(topic, value=b'commit-3')
    p.commit_transaction(STEP_TIMEOUT_S)
    return {'readCommitted': read_all(bs, topic, 'read_committed'),
            'readUncommitted': read_all(bs, topic, 'read_uncommitted'),
            'latest': latest_offsets(bs, topic)}


def open_transaction(bs, topic, txid):
    """An open transaction holds read_committed back at its first offset; its abort releases it."""
    create_topic(bs, topic)
    plain = Producer({'bootstrap.servers': bs})
    plain.produce(topic, value=b'before')
    plain.flush(STEP_TIMEOUT_S)
    p = producer(bs, txid)
    p.begin_transaction()
    p.produce(topic, value=b'open-0')
    p.produce(topic, value=b'open-1')
    p.flush(STEP_TIMEOUT_S)
    while_open = {'latest': latest_offsets(bs, topic),
                  'readCommitted': read_all(bs, topic, 'read_committed'),
                  'readUncommitted': read_all(bs, topic, 'read_uncommitted')}
    p.abort_transaction(STEP_TIMEOUT_S)
    # Non-transactional data after the abort is readable under read_committed again.
    plain.produce(topic, value=b'after')
    plain.flush(STEP_TIMEOUT_S)
    after = {'latest': latest_offsets(bs, topic),
             'readCommitted': read_all(bs, topic, 'read_committed'),
             'readUncommitted': read_all(bs, topic, 'read_uncommitted')}
    return {'whileOpen': while_open, 'afterAbort': after}


def committed_offset(bs, group, topic, stable=False):
    """The group's committed offset of partition 0; with stable, once no transaction holds it
    pending (OffsetFetch RequireStable answers UNSTABLE_OFFSET_COMMIT until the markers are
    written: Kafka answers EndTxn before it writes them)."""
    admin = AdminClient({'bootstrap.servers': bs})
    request = [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0)])]
    deadline = time.time() + STEP_TIMEOUT_S
    while True:
        try:
            result = admin.list_consumer_group_offsets(request, require_stable=stable)[group].result(STEP_TIMEOUT_S)
            partition = result.topic_partitions[0]
            unstable = partition.error is not None and partition.error.code() == KafkaError.UNSTABLE_OFFSET_COMMIT
        except KafkaException as e:
            if e.args[0].code() != KafkaError.UNSTABLE_OFFSET_COMMIT:
                raise
            unstable = True
        if not unstable:
            return partition.offset
        if time.time() > deadline:
            raise RuntimeError(f'offsets of {group} still unstable after {STEP_TIMEOUT_S} s')
        time.sleep(0.2)


def consume_transform_produce(bs, source, sink, group, txid, protocol='classic'):
    """Reads 5 records, writes them transformed and commits the input offsets in one transaction;
    then the same with an abort: the output and the group's offset reflect only the commit.
    protocol 'consumer' makes the consumer a KIP-848 member, whose member epoch is the
    TxnOffsetCommit's generation."""
    create_topic(bs, source)
    create_topic(bs, sink)
    plain = Producer({'bootstrap.servers': bs})
    for i in range(10):
        plain.produce(source, value=f'in-{i}'.encode())
    plain.flush(STEP_TIMEOUT_S)
    c = Consumer({'bootstrap.servers': bs, 'group.id': group, 'isolation.level': 'read_committed',
                  'enable.auto.commit': False, 'auto.offset.reset': 'earliest', 'group.protocol': protocol})
    c.subscribe([source])
    p = producer(bs, txid)
    rounds = []
    for outcome in ('commit', 'abort'):
        got = []
        deadline = time.time() + STEP_TIMEOUT_S
        while len(got) < 5 and time.time() < deadline:
            for m in c.consume(5 - len(got), 1.0):
                if m.error():
                    raise KafkaException(m.error())
                got.append(m)
        if len(got) < 5:
            raise RuntimeError(f'read {len(got)} of 5 input records')
        p.begin_transaction()
        for m in got:
            p.produce(sink, value=m.value().decode().replace('in-', 'out-').encode())
        p.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(), STEP_TIMEOUT_S)
        p.flush(STEP_TIMEOUT_S)
        pending = committed_offset(bs, group, source)
        if outcome == 'commit':
            p.commit_transaction(STEP_TIMEOUT_S)
        else:
            p.abort_transaction(STEP_TIMEOUT_S)
        rounds.append({'outcome': outcome, 'input': [m.value().decode() for m in got],
                       'offsetBeforeEnd': pending, 'offsetAfterEnd': committed_offset(bs, group, source, stable=True)})
        if outcome == 'commit':
            pass
    c.close()
    return {'rounds': rounds, 'sinkReadCommitted': read_all(bs, sink, 'read_committed'),
            'sinkReadUncommitted': read_all(bs, sink, 'read_uncommitted')}


def fence(bs, topic, txid):
    """A second producer with the same transactional id fences the first (a zombie)."""
    create_topic(bs, topic)
    zombie = producer(bs, txid)
    zombie.begin_transaction()
    zombie.produce(topic, value=b'zombie')
    zombie.flush(STEP_TIMEOUT_S)
    successor = producer(bs, txid)  # aborts the zombie's open transaction and bumps the epoch
    successor.begin_transaction()
    successor.produce(topic, value=b'successor')
    successor.commit_transaction(STEP_TIMEOUT_S)
    zombie_error = None
    try:
        zombie.produce(topic, value=b'zombie-late')
        zombie.commit_transaction(STEP_TIMEOUT_S)
    except KafkaException as exc:
        zombie_error = error_of(exc)
    return {'zombieError': zombie_error, 'readCommitted': read_all(bs, topic, 'read_committed'),
            'readUncommitted': read_all(bs, topic, 'read_uncommitted')}


def timeout(bs, topic, txid):
    """An open transaction older than transaction.timeout.ms is aborted by the coordinator."""
    create_topic(bs, topic)
    p = producer(bs, txid, **{'transaction.timeout.ms': 2000})
    p.begin_transaction()
    p.produce(topic, value=b'timed-out')
    p.flush(STEP_TIMEOUT_S)
    started = time.time()
    held = latest_offsets(bs, topic)
    deadline = started + 60
    while time.time() < deadline:
        now = latest_offsets(bs, topic)
        if now['committed'] == now['uncommitted']:
            break
        time.sleep(0.5)
    released = latest_offsets(bs, topic)
    commit_error = None
    try:
        p.commit_transaction(STEP_TIMEOUT_S)
    except KafkaException as exc:
        commit_error = error_of(exc)
    return {'heldBack': held, 'released': released, 'commitError': commit_error,
            'readCommitted': read_all(bs, topic, 'read_committed'),
            'readUncommitted': read_all(bs, topic, 'read_uncommitted')}


def invalid_timeout(bs, txid):
    try:
        producer(bs, txid, **{'transaction.timeout.ms': 900001})
        return {'error': None}
    except KafkaException as exc:
        return {'error': error_of(exc)}


def crash_phase1(bs, topic, txid):
    """Commits one transaction and leaves a second open (the broker is then killed)."""
    create_topic(bs, topic)
    p = producer(bs, txid, **{'transaction.timeout.ms': 3000})
    p.begin_transaction()
    p.produce(topic, value=b'committed-before-crash')
    p.commit_transaction(STEP_TIMEOUT_S)
    p.begin_transaction()
    p.produce(topic, value=b'open-at-crash')
    p.flush(STEP_TIMEOUT_S)
    return {'latest': latest_offsets(bs, topic)}


def crash_phase2(bs, topic, txid):
    """After the restart: the open transaction is aborted on its timeout; the id starts again."""
    started = time.time()
    held = latest_offsets(bs, topic)
    deadline = started + 60
    while time.time() < deadline and latest_offsets(bs, topic)['committed'] != latest_offsets(bs, topic)['uncommitted']:
        time.sleep(0.5)
    released = latest_offsets(bs, topic)
    p = producer(bs, txid)
    p.begin_transaction()
    p.produce(topic, value=b'committed-after-restart')
    p.commit_transaction(STEP_TIMEOUT_S)
    return {'heldBack': held, 'released': released,
            'readCommitted': read_all(bs, topic, 'read_committed'),
            'readUncommitted': read_all(bs, topic, 'read_uncommitted')}


def partitions_commit_abort(bs, topic, txid, partitions):
    """Commit, abort, commit across every partition of an existing topic (a cluster: other leaders than the coordinator)."""
    n = int(partitions)
    p = producer(bs, txid)
    p.begin_transaction()
    for i in range(n):
        p.produce(topic, value=f'commit-a-{i}'.encode(), partition=i)
    p.commit_transaction(STEP_TIMEOUT_S)
    p.begin_transaction()
    for i in range(n):
        p.produce(topic, value=f'abort-{i}'.encode(), partition=i)
    p.flush(STEP_TIMEOUT_S)
    p.abort_transaction(STEP_TIMEOUT_S)
    p.begin_transaction()
    for i in range(n):
        p.produce(topic, value=f'commit-b-{i}'.encode(), partition=i)
    p.commit_transaction(STEP_TIMEOUT_S)
    # commit_transaction returns once the coordinator has decided; the markers reach the partition
    # leaders after (in Kafka too), and read_committed stops at the last stable offset until then.
    for i in range(n):
        wait_stable(bs, topic, i)
    return {'readCommitted': [read_all(bs, topic, 'read_committed', i) for i in range(n)],
            'readUncommitted': [read_all(bs, topic, 'read_uncommitted', i) for i in range(n)]}


def read_partitions(bs, topic, partitions):
    """Once no transaction holds any partition back: every partition under both isolation levels."""
    n = int(partitions)
    for i in range(n):
        wait_stable(bs, topic, i)
    return {'readCommitted': [read_all(bs, topic, 'read_committed', i) for i in range(n)],
            'readUncommitted': [read_all(bs, topic, 'read_uncommitted', i) for i in range(n)]}


def read(bs, topic):
    committed = read_all(bs, topic, 'read_committed')
    uncommitted = read_all(bs, topic, 'read_uncommitted')
    return {'readCommitted': committed, 'readUncommitted': uncommitted,
            'counts': {'committed': len(committed), 'uncommitted': len(uncommitted)}}


SCENARIOS = {
    'read': read,
    'read-partitions': read_partitions,
    'commit-abort': commit_abort,
    'partitions-commit-abort': partitions_commit_abort,
    'open-transaction': open_transaction,
    'consume-transform-produce': consume_transform_produce,
    'fence': fence,
    'timeout': timeout,
    'invalid-timeout': invalid_timeout,
    'crash-phase1': crash_phase1,
    'crash-phase2': crash_phase2,
}

if __name__ == '__main__':
    print(json.dumps(SCENARIOS[sys.argv[1]](*sys.argv[2:])), flush=True)
