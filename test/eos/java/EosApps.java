import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;

/**
 * One instance of two exactly-once applications, for test/eos/eos-clusters.slow.ts:
 *
 * - a consume-transform-produce loop (the Java client's transactional API: read_committed consumer,
 *   transactional producer, sendOffsetsToTransaction) turning each input record vN into tN on LOOP_OUT;
 * - a Kafka Streams application with processing.guarantee=exactly_once_v2 counting input records per
 *   key into COUNTS (no cache, so every input record makes one count update).
 *
 * Run as `first` it creates the topics, writes the first input batch, starts both apps, fences a zombie
 * producer, then writes the second batch when told on stdin ("produce"); the test kills it with SIGKILL.
 * Run as `second` (same state dir, so Streams keeps its process id and transactional id; same loop
 * transactional id) it takes over, waits until read_committed readers of both outputs hold every
 * record of both batches, and reports what they hold. Events are JSON lines on stdout.
 */
public class EosApps {
  static final String INPUT = "eos-input";
  static final String LOOP_OUT = "eos-loop-out";
  static final String COUNTS = "eos-counts";
  static final String LOOP_TXN_ID = "eos-loop";
  static final String LOOP_GROUP = "eos-loop-group";
  static final String STREAMS_APP_ID = "eos-count";
  static final String ZOMBIE_TXN_ID = "eos-zombie";
  static final String ZOMBIE_VALUE = "ZOMBIE";
  static final int PARTITIONS = 3;
  /** Input keys k0..k(KEYS-1), record i has key k(i % KEYS). */
  static final int KEYS = 10;
  /** Records per input batch (a multiple of KEYS); two batches in all. */
  static final int BATCH = 200;
  static final int TOTAL = 2 * BATCH;
  /** Records the loop reads per transaction at most: many small transactions, so a kill lands in one. */
  static final int LOOP_MAX_POLL_RECORDS = 10;
  /**
   * The first instance holds its first transaction that starts past this many committed records open
   * (records sent and flushed, offsets added, no commit) until it is killed: the successor must abort it.
   */
  static final int LOOP_HOLD_AFTER = BATCH + 20;
  /** How long the second instance waits for complete outputs. */
  static final long COMPLETE_TIMEOUT_MS = 150_000;
  static final long START_TIMEOUT_MS = 120_000;

  static String bootstrap;
  static final AtomicLong loopCommitted = new AtomicLong();
  static final AtomicReference<Throwable> loopFailure = new AtomicReference<>();
  static volatile boolean running = true;

  public static void main(String[] args) throws Exception {
    bootstrap = args[0];
    String role = args[1];
    String stateDir = args[2];
    if (role.equals("first")) first(stateDir);
    else second(stateDir);
  }

  static void event(String json) {
    System.out.println(json);
    System.out.flush();
  }

  static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  static void first(String stateDir) throws Exception {
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
      List<NewTopic> topics = new ArrayList<>();
      for (String name : List.of(INPUT, LOOP_OUT, COUNTS))
        topics.add(new NewTopic(name, PARTITIONS, (short) 3).configs(Map.of("min.insync.replicas", "2")));
      admin.createTopics(topics).all().get(60, TimeUnit.SECONDS);
      produceBatch(0);
      KafkaStreams streams = startStreams(stateDir);
      Thread loop = startLoop(LOOP_HOLD_AFTER);
      long deadline = System.currentTimeMillis() + START_TIMEOUT_MS;
      while (streams.state() != KafkaStreams.State.RUNNING || loopCommitted.get() == 0) {
        if (System.currentTimeMillis() > deadline)
          throw new IllegalStateException("not started: streams " + streams.state() + ", loop committed " + loopCommitted.get());
        failIfLoopDied();
        Thread.sleep(50);
      }
      int coordinator = admin.describeTransactions(List.of(LOOP_TXN_ID)).all().get(60, TimeUnit.SECONDS)
          .get(LOOP_TXN_ID).coordinatorId();
      event("{\"event\":\"started\",\"loopCoordinator\":" + coordinator + "}");
      event("{\"event\":\"zombie\",\"outcome\":" + quote(fenceZombie()) + "}");
      // Progress reports, while the test kills a broker and then this process.
      Thread progress = new Thread(() -> {
        long last = -1;
        while (running) {
          long now = loopCommitted.get();
          if (now != last) event("{\"event\":\"loop\",\"committed\":" + now + "}");
          last = now;
          try { Thread.sleep(100); } catch (InterruptedException e) { return; }
        }
      });
      progress.setDaemon(true);
      progress.start();
      BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      for (String line; (line = stdin.readLine()) != null; ) {
        if (line.equals("produce")) {
          produceBatch(1);
          event("{\"event\":\"produced\",\"total\":" + TOTAL + "}");
        }
      }
      // stdin closed without the expected SIGKILL: stop cleanly.
      running = false;
      loop.join();
      streams.close(Duration.ofSeconds(30));
    }
  }

  static void second(String stateDir) throws Exception {
    KafkaStreams streams = startStreams(stateDir);
    Thread loop = startLoop(Integer.MAX_VALUE);
    event("{\"event\":\"resumed\"}");
    Map<String, String> readCommitted = Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    Map<String, List<String>> loopOut = new TreeMap<>();
    Map<String, List<Long>> counts = new TreeMap<>();
    try (KafkaConsumer<String, String> loopReader = reader(readCommitted, StringDeserializer.class);
        KafkaConsumer<String, Long> countReader = reader(readCommitted, LongDeserializer.class)) {
      assignAll(loopReader, LOOP_OUT);
      assignAll(countReader, COUNTS);
      long deadline = System.currentTimeMillis() + COMPLETE_TIMEOUT_MS;
      while (!complete(loopOut, counts) && System.currentTimeMillis() < deadline) {
        failIfLoopDied();
        for (ConsumerRecord<String, String> r : loopReader.poll(Duration.ofMillis(200)))
          loopOut.computeIfAbsent(r.value(), v -> new ArrayList<>()).add(r.key());
        for (ConsumerRecord<String, Long> r : countReader.poll(Duration.ofMillis(200)))
          counts.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(r.value());
      }
    }
    event("{\"event\":\"complete\",\"loopCommitted\":" + loopCommitted.get() + "}");
    running = false;
    loop.join();
    streams.close(Duration.ofSeconds(30));
    report(loopOut, counts);
    event("{\"event\":\"uncommitted\",\"records\":" + countUncommitted() + "}");
    event("{\"event\":\"done\"}");
  }

  /** Every transformed record seen, and every key's count at its final value. */
  static boolean complete(Map<String, List<String>> loopOut, Map<String, List<Long>> counts) {
    int transformed = 0;
    for (int i = 0; i < TOTAL; i++) if (loopOut.containsKey("t" + i)) transformed++;
    if (transformed < TOTAL) return false;
    for (int k = 0; k < KEYS; k++) {
      List<Long> seen = counts.get("k" + k);
      if (seen == null || seen.get(seen.size() - 1) < TOTAL / KEYS) return false;
    }
    return true;
  }

  static void report(Map<String, List<String>> loopOut, Map<String, List<Long>> counts) {
    List<String> missing = new ArrayList<>();
    List<String> duplicated = new ArrayList<>();
    List<String> unexpected = new ArrayList<>();
    for (int i = 0; i < TOTAL; i++) {
      List<String> keys = loopOut.get("t" + i);
      if (keys == null) missing.add("t" + i);
      else if (keys.size() > 1) duplicated.add("t" + i);
    }
    for (String value : loopOut.keySet())
      if (!value.matches("t\\d+") || Integer.parseInt(value.substring(1)) >= TOTAL) unexpected.add(value);
    event("{\"event\":\"loopOutput\",\"distinct\":" + loopOut.size() + ",\"missing\":" + jsonList(missing)
        + ",\"duplicated\":" + jsonList(duplicated) + ",\"unexpected\":" + jsonList(unexpected) + "}");
    // Without a cache every input record makes one update: a key's committed counts are 1, 2, ... n.
    StringBuilder perKey = new StringBuilder("{");
    for (Map.Entry<String, List<Long>> e : counts.entrySet()) {
      if (perKey.length() > 1) perKey.append(',');
      List<Long> seen = e.getValue();
      boolean contiguous = true;
      for (int i = 0; i < seen.size(); i++) if (seen.get(i) != i + 1) contiguous = false;
      perKey.append(quote(e.getKey())).append(":{\"updates\":").append(seen.size())
          .append(",\"last\":").append(seen.get(seen.size() - 1))
          .append(",\"contiguous\":").append(contiguous).append('}');
    }
    event("{\"event\":\"counts\",\"expected\":" + (TOTAL / KEYS) + ",\"keys\":" + perKey.append('}') + "}");
  }

  /**
   * The records of LOOP_OUT read_uncommitted, aborted ones included (the zombie's at least): more than
   * TOTAL shows the read_committed reader had aborted records to skip.
   */
  static long countUncommitted() {
    try (KafkaConsumer<String, String> reader = reader(Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted"), StringDeserializer.class)) {
      assignAll(reader, LOOP_OUT);
      Map<TopicPartition, Long> ends = reader.endOffsets(reader.assignment());
      long records = 0;
      long deadline = System.currentTimeMillis() + COMPLETE_TIMEOUT_MS;
      while (System.currentTimeMillis() < deadline) {
        records += reader.poll(Duration.ofMillis(200)).count();
        boolean atEnd = true;
        for (TopicPartition tp : reader.assignment()) if (reader.position(tp) < ends.get(tp)) atEnd = false;
        if (atEnd) break;
      }
      return records;
    }
  }

  static String jsonList(List<String> values) {
    List<String> quoted = new ArrayList<>();
    for (String v : values.subList(0, Math.min(values.size(), 20))) quoted.add(quote(v));
    return "[" + String.join(",", quoted) + "]";
  }

  /** Writes input batch `index` (records index*BATCH .. +BATCH) with an idempotent acks=all producer. */
  static void produceBatch(int index) throws Exception {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
      List<java.util.concurrent.Future<?>> sent = new ArrayList<>();
      for (int i = index * BATCH; i < (index + 1) * BATCH; i++)
        sent.add(producer.send(new ProducerRecord<>(INPUT, "k" + (i % KEYS), "v" + i)));
      for (java.util.concurrent.Future<?> f : sent) f.get(120, TimeUnit.SECONDS);
    }
  }

  static KafkaStreams startStreams(String stateDir) {
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, STREAMS_APP_ID);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
    props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 3);
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
    props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
    // A killed instance's member leaves the group after this; Kafka's minimum session.
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), 6000);
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG), 1000);
    StreamsBuilder builder = new StreamsBuilder();
    builder.stream(INPUT, Consumed.with(Serdes.String(), Serdes.String()))
        .groupByKey()
        // A persistent (RocksDB) store, Streams' default: with one, Streams keeps its process id in the
        // state dir, so the restarted instance has the killed one's transactional id and fences it.
        .count(Materialized.<String, Long, org.apache.kafka.streams.state.KeyValueStore<org.apache.kafka.common.utils.Bytes, byte[]>>as("eos-count-store")
            .withKeySerde(Serdes.String()).withValueSerde(Serdes.Long()))
        .toStream()
        .to(COUNTS, Produced.with(Serdes.String(), Serdes.Long()));
    KafkaStreams streams = new KafkaStreams(builder.build(), props);
    streams.setUncaughtExceptionHandler(e -> {
      event("{\"event\":\"streamsError\",\"error\":" + quote(String.valueOf(e)) + "}");
      return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
    });
    streams.setStateListener((now, before) ->
        event("{\"event\":\"streamsState\",\"state\":" + quote(now.toString()) + "}"));
    streams.start();
    return streams;
  }

  static Thread startLoop(int holdAfter) {
    Thread thread = new Thread(() -> {
      try {
        runLoop(holdAfter);
      } catch (Throwable e) {
        event("{\"event\":\"loopFailed\",\"error\":" + quote(String.valueOf(e)) + "}");
        loopFailure.set(e);
      }
    }, "eos-loop");
    thread.start();
    return thread;
  }

  static void failIfLoopDied() {
    Throwable failure = loopFailure.get();
    if (failure != null) throw new IllegalStateException("the loop failed", failure);
  }

  /** The transactional consume-transform-produce loop: one transaction per poll. */
  static void runLoop(int holdAfter) throws InterruptedException {
    Properties c = new Properties();
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    c.put(ConsumerConfig.GROUP_ID_CONFIG, LOOP_GROUP);
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, LOOP_MAX_POLL_RECORDS);
    c.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 6000);
    c.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 1000);
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, LOOP_TXN_ID);
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(c, new StringDeserializer(), new StringDeserializer());
        KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
      producer.initTransactions();
      consumer.subscribe(List.of(INPUT));
      while (running) {
        ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(100));
        if (records.isEmpty()) continue;
        producer.beginTransaction();
        try {
          Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
          for (ConsumerRecord<String, String> r : records) {
            producer.send(new ProducerRecord<>(LOOP_OUT, r.key(), "t" + r.value().substring(1)));
            offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
          }
          producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
          if (loopCommitted.get() >= holdAfter) {
            producer.flush();
            event("{\"event\":\"holding\",\"records\":" + records.count() + "}");
            Thread.sleep(Long.MAX_VALUE);
          }
          producer.commitTransaction();
          loopCommitted.addAndGet(records.count());
        } catch (ProducerFencedException | InvalidProducerEpochException e) {
          throw e;
        } catch (org.apache.kafka.common.errors.TimeoutException e) {
          // Not abortable: the client must retry the commit (Kafka's KafkaProducer contract).
          event("{\"event\":\"loopCommitTimedOut\",\"error\":" + quote(String.valueOf(e)) + "}");
          producer.commitTransaction();
          loopCommitted.addAndGet(records.count());
        } catch (KafkaException e) {
          // Kafka's pattern for an abortable error (a broker lost mid-transaction): abort, go back to
          // the committed offsets and process those records again in a new transaction.
          event("{\"event\":\"loopAborted\",\"error\":" + quote(String.valueOf(e)) + "}");
          producer.abortTransaction();
          rewind(consumer);
        }
      }
    }
  }

  static void rewind(KafkaConsumer<String, String> consumer) {
    Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(consumer.assignment());
    for (TopicPartition tp : consumer.assignment()) {
      OffsetAndMetadata offset = committed.get(tp);
      if (offset == null) consumer.seekToBeginning(List.of(tp));
      else consumer.seek(tp, offset.offset());
    }
  }

  /**
   * A zombie: a producer in a transaction with a record on LOOP_OUT, replaced by a second producer with
   * its transactional id. The zombie's commit must fail and its record must never be read committed.
   */
  static String fenceZombie() {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, ZOMBIE_TXN_ID);
    try (KafkaProducer<String, String> zombie = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
        KafkaProducer<String, String> successor = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
      zombie.initTransactions();
      zombie.beginTransaction();
      zombie.send(new ProducerRecord<>(LOOP_OUT, "zombie", ZOMBIE_VALUE));
      zombie.flush();
      successor.initTransactions();
      try {
        zombie.commitTransaction();
        return "committed";
      } catch (ProducerFencedException | InvalidProducerEpochException e) {
        return e.getClass().getSimpleName();
      } catch (KafkaException e) {
        return "other: " + e;
      }
    }
  }

  static <V> KafkaConsumer<String, V> reader(Map<String, String> extra, Class<?> valueDeserializer) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, valueDeserializer.getName());
    props.putAll(extra);
    return new KafkaConsumer<>(props);
  }

  static void assignAll(KafkaConsumer<?, ?> consumer, String topic) {
    List<TopicPartition> partitions = new ArrayList<>();
    for (int p = 0; p < PARTITIONS; p++) partitions.add(new TopicPartition(topic, p));
    consumer.assign(partitions);
    consumer.seekToBeginning(partitions);
  }
}
