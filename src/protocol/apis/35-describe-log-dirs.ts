import { array, field, request, response, struct } from '../schema.ts';

// DescribeLogDirs (API key 35), written from Kafka's DescribeLogDirsRequest/DescribeLogDirsResponse message definitions.

export const DescribeLogDirsRequest = request(35, 'DescribeLogDirsRequest', '0-4', '2+', [
  field(
    'topics',
    array(
      struct('DescribableLogDirTopic', [
        field('topic', 'string', '0+'),
        field('partitions', array('int32'), '0+'),
      ]),
    ),
    '0+',
    { nullable: '0+' },
  ),
]);

export const DescribeLogDirsResponse = response(35, 'DescribeLogDirsResponse', '0-4', '2+', [
  field('throttleTimeMs', 'int32', '0+'),
  field('errorCode', 'int16', '3+'),
  field(
    'results',
    array(
      struct('DescribeLogDirsResult', [
        field('errorCode', 'int16', '0+'),
        field('logDir', 'string', '0+'),
        field(
          'topics',
          array(
            struct('DescribeLogDirsTopic', [
              field('name', 'string', '0+'),
              field(
                'partitions',
                array(
                  struct('DescribeLogDirsPartition', [
                    field('partitionIndex', 'int32', '0+'),
                    field('partitionSize', 'int64', '0+'),
                    field('offsetLag', 'int64', '0+'),
                    field('isFutureKey', 'bool', '0+'),
                  ]),
                ),
                '0+',
              ),
            ]),
          ),
          '0+',
        ),
        field('totalBytes', 'int64', '4+', { default: -1n }),
        field('usableBytes', 'int64', '4+', { default: -1n }),
      ]),
    ),
    '0+',
  ),
]);

/** A decoded DescribeLogDirsRequest (every version's fields; absent ones hold their default). */
export type DescribeLogDirsRequestData = {
  topics:
    | {
        topic: string;
        partitions: number[];
      }[]
    | null;
};

/** A decoded DescribeLogDirsResponse (every version's fields; absent ones hold their default). */
export type DescribeLogDirsResponseData = {
  throttleTimeMs: number;
  errorCode: number;
  results: {
    errorCode: number;
    logDir: string;
    topics: {
      name: string;
      partitions: {
        partitionIndex: number;
        partitionSize: bigint;
        offsetLag: bigint;
        isFutureKey: boolean;
      }[];
    }[];
    totalBytes: bigint;
    usableBytes: bigint;
  }[];
};
