"""One librdkafka (PyPI confluent-kafka) transactional producer driven line by line: the test
writes one JSON command per line on stdin and reads one JSON answer per line on stdout, so it can
stop the coordinator's node between two calls. Commands: init, begin, produce (topic, values
by partition, then flush), commit, abort, quit. An answer is {"ok": true} or {"ok": false,
"error": {name, fatal, abortable}}. Used by test/coordinator/transactions-failover.slow.ts."""
import json
import sys

from confluent_kafka import KafkaException, Producer

STEP_TIMEOUT_S = 90


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def error_of(exc):
    err = exc.args[0] if exc.args else None
    if hasattr(err, 'name'):
        return {'name': err.name(), 'fatal': err.fatal(), 'abortable': err.txn_requires_abort()}
    return {'name': str(exc), 'fatal': None, 'abortable': None}


def main(bs, txid, timeout_ms):
    producer = Producer({'bootstrap.servers': bs, 'transactional.id': txid,
                         'transaction.timeout.ms': int(timeout_ms),
                         'error_cb': lambda err: log('error_cb', err)})
    for line in sys.stdin:
        command = json.loads(line)
        op = command['op']
        try:
            if op == 'init':
                producer.init_transactions(STEP_TIMEOUT_S)
            elif op == 'begin':
                producer.begin_transaction()
            elif op == 'produce':
                failed = []
                for partition, value in enumerate(command['values']):
                    producer.produce(command['topic'], value=value.encode(), partition=partition,
                                     on_delivery=lambda err, _msg: err is not None and failed.append(err))
                remaining = producer.flush(STEP_TIMEOUT_S)
                if remaining != 0:
                    raise RuntimeError(f'{remaining} records not delivered within {STEP_TIMEOUT_S} s')
                if failed:
                    raise KafkaException(failed[0])
            elif op == 'commit':
                producer.commit_transaction(STEP_TIMEOUT_S)
            elif op == 'abort':
                producer.abort_transaction(STEP_TIMEOUT_S)
            elif op == 'quit':
                print(json.dumps({'ok': True}), flush=True)
                return
            else:
                raise RuntimeError(f'unknown command {op}')
            answer = {'ok': True}
        except KafkaException as exc:
            answer = {'ok': False, 'error': error_of(exc)}
        print(json.dumps(answer), flush=True)


if __name__ == '__main__':
    main(*sys.argv[1:])
