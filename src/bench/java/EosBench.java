import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;

/**
 * The Java side of src/bench/eos.ts (`node src/bench/eos.ts`): Kafka's own Java client and Kafka Streams
 * loading a cluster, reporting raw measurements as JSON lines on stdout (the TypeScript side computes the
 * statistics and the ratios). Three modes, each its own JVM:
 *
 * - `txn BOOTSTRAP TOPIC PARTITIONS RECORDS_PER_TXN WARMUP_TXNS MEASURED_TXNS RECORD_BYTES`: one
 *   transactional producer; each transaction sends RECORDS_PER_TXN records (record i to partition
 *   i % PARTITIONS, so every transaction spans every partition), flushes, and commits. After the warm-up
 *   transactions, one measured run of MEASURED_TXNS per line read on stdin (the bench interleaves the
 *   engines' runs), until stdin closes. Per run: the records/s over the run's wall time and each
 *   commitTransaction's duration (after the flush, so it is the EndTxn round trip alone) and each flush's.
 * - `streams BOOTSTRAP APP_ID INPUT OUTPUT STATE_DIR`: a Kafka Streams application with
 *   processing.guarantee=exactly_once_v2 and Streams' defaults otherwise (commit.interval.ms 100 under
 *   EOS), copying every input record to OUTPUT unchanged (a stateless step); runs until stdin closes.
 * - `driver BOOTSTRAP INPUT OUTPUT PARTITIONS RATE WARMUP_SECONDS SECONDS RECORD_BYTES DRAINED_LAG_MS
 *   DRAINED_SECONDS DRAIN_TIMEOUT_SECONDS`: a producer writing RATE records/s (open loop, a tick every
 *   TICK_MS) whose values start with System.nanoTime() at the send and a phase byte, and a read_committed
 *   consumer of OUTPUT noting, for each measured record, now minus the send time (same JVM, same clock).
 *   The warm-up (at the rate, not measured) lasts at least WARMUP_SECONDS and until the pipeline is
 *   drained: DRAINED_SECONDS consecutive one-second windows in which warm-up records arrived, none later
 *   than DRAINED_LAG_MS after its send. Not drained within DRAIN_TIMEOUT_SECONDS: the driver fails.
 */
public class EosBench {
  static final int TICK_MS = 5;
  static final byte WARMUP = 0;
  static final byte MEASURED = 1;
  /** nanoTime (8 bytes) and the phase byte lead every driver record. */
  static final int STAMP_BYTES = 9;
  /** After the last measured send, how long the consumer may take to read every measured record. */
  static final long DRAIN_TIMEOUT_MS = 60_000;
  /** The driver waits this long for the Streams output to carry its first warm-up record. */
  static final long FIRST_RECORD_TIMEOUT_MS = 180_000;
  /** The warm-up's drain check looks at the arrivals of each window this long. */
  static final long DRAIN_WINDOW_MS = 1_000;

  public static void main(String[] args) {
    try {
      run(args);
    } catch (Throwable e) {
      // A failure ends the JVM (exit 1, the cause on stderr) even with a client's threads still running.
      e.printStackTrace();
      System.exit(1);
    }
  }

  static void run(String[] args) throws Exception {
    switch (args[0]) {
      case "txn" -> txn(args[1], args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]),
          Integer.parseInt(args[5]), Integer.parseInt(args[6]), Integer.parseInt(args[7]));
      case "streams" -> streams(args[1], args[2], args[3], args[4], args[5]);
      case "driver" -> driver(args[1], args[2], args[3], Integer.parseInt(args[4]), Integer.parseInt(args[5]),
          Integer.parseInt(args[6]), Integer.parseInt(args[7]), Integer.parseInt(args[8]),
          new DrainRule(Long.parseLong(args[9]), Integer.parseInt(args[10]), Long.parseLong(args[11])));
      default -> throw new IllegalArgumentException("unknown mode " + args[0]);
    }
  }

  static void event(String json) {
    System.out.println(json);
    System.out.flush();
  }

  static String jsonNumbers(List<Double> values) {
    StringBuilder out = new StringBuilder("[");
    for (int i = 0; i < values.size(); i++) {
      if (i > 0) out.append(',');
      out.append(String.format("%.3f", values.get(i)));
    }
    return out.append(']').toString();
  }

  static double msSince(long startNanos) {
    return (System.nanoTime() - startNanos) / 1e6;
  }

  static void txn(String bootstrap, String topic, int partitions, int recordsPerTxn, int warmupTxns,
      int measuredTxns, int recordBytes) throws Exception {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "eos-bench-txn-" + recordsPerTxn + "-" + ProcessHandle.current().pid());
    byte[] value = new byte[recordBytes];
    BufferedReader commands = new BufferedReader(new InputStreamReader(System.in));
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
      long initAt = System.nanoTime();
      producer.initTransactions();
      event("{\"event\":\"initialized\",\"ms\":" + String.format("%.3f", msSince(initAt)) + "}");
      for (int t = 0; t < warmupTxns; t++) transaction(producer, topic, partitions, recordsPerTxn, value, null, null);
      event("{\"event\":\"warmedUp\",\"transactions\":" + warmupTxns + "}");
      // One measured run per line; stdin's end (or the bench's death) ends the JVM.
      for (int run = 0; commands.readLine() != null; run++) {
        List<Double> commitMs = new ArrayList<>();
        List<Double> flushMs = new ArrayList<>();
        long runAt = System.nanoTime();
        for (int t = 0; t < measuredTxns; t++) transaction(producer, topic, partitions, recordsPerTxn, value, flushMs, commitMs);
        double seconds = msSince(runAt) / 1000;
        event("{\"event\":\"txnRun\",\"run\":" + (run + 1) + ",\"records\":" + ((long) measuredTxns * recordsPerTxn)
            + ",\"seconds\":" + String.format("%.4f", seconds) + ",\"commitMs\":" + jsonNumbers(commitMs)
            + ",\"flushMs\":" + jsonNumbers(flushMs) + "}");
      }
    }
  }

  static void transaction(KafkaProducer<byte[], byte[]> producer, String topic, int partitions, int records,
      byte[] value, List<Double> flushMs, List<Double> commitMs) {
    producer.beginTransaction();
    for (int i = 0; i < records; i++) producer.send(new ProducerRecord<>(topic, i % partitions, null, value));
    long flushAt = System.nanoTime();
    producer.flush();
    long commitAt = System.nanoTime();
    producer.commitTransaction();
    if (commitMs != null) {
      commitMs.add(msSince(commitAt));
      flushMs.add((commitAt - flushAt) / 1e6);
    }
  }

  static void streams(String bootstrap, String appId, String input, String output, String stateDir) throws Exception {
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
    props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 3);
    StreamsBuilder builder = new StreamsBuilder();
    builder.stream(input, Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()))
        .mapValues(v -> v)
        .to(output, Produced.with(Serdes.ByteArray(), Serdes.ByteArray()));
    KafkaStreams streams = new KafkaStreams(builder.build(), props);
    streams.setUncaughtExceptionHandler(e -> {
      event("{\"event\":\"streamsError\",\"error\":\"" + String.valueOf(e).replace("\"", "'") + "\"}");
      return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
    });
    streams.setStateListener((now, before) -> event("{\"event\":\"streamsState\",\"state\":\"" + now + "\"}"));
    // The effective commit interval (100 ms under exactly_once_v2 unless set), for the report.
    event("{\"event\":\"streamsConfig\",\"commitIntervalMs\":"
        + new StreamsConfig(props).getLong(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG) + "}");
    streams.start();
    // Until the bench closes stdin (or dies: then the pipe closes too).
    while (System.in.read() >= 0) {}
    streams.close(Duration.ofSeconds(30));
    event("{\"event\":\"closed\"}");
  }

  /** When the warm-up counts the pipeline drained (see the class comment), and how long it may take. */
  record DrainRule(long lagMs, int windows, long timeoutSeconds) {}

  /** The warm-up arrivals of the current window: the reader notes each one's lag, the sender takes the worst. */
  static final class DrainWindow {
    private long maxLagNanos = -1;

    synchronized void note(long lagNanos) {
      maxLagNanos = Math.max(maxLagNanos, lagNanos);
    }

    /** The window's largest lag in ms, -1 when nothing arrived in it; starts the next window. */
    synchronized double take() {
      double ms = maxLagNanos < 0 ? -1 : maxLagNanos / 1e6;
      maxLagNanos = -1;
      return ms;
    }
  }

  static void driver(String bootstrap, String input, String output, int partitions, int rate, int warmupSeconds,
      int seconds, int recordBytes, DrainRule drain) throws Exception {
    Properties c = new Properties();
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    List<TopicPartition> outputs = new ArrayList<>();
    for (int i = 0; i < partitions; i++) outputs.add(new TopicPartition(output, i));
    consumer.assign(outputs);
    consumer.seekToEnd(outputs);
    for (TopicPartition tp : outputs) consumer.position(tp);

    long measuredToSend = (long) rate * seconds;
    List<Double> latenciesMs = new ArrayList<>((int) measuredToSend);
    AtomicLong warmupSeen = new AtomicLong();
    AtomicLong lastMeasuredAt = new AtomicLong();
    AtomicReference<Throwable> consumerFailure = new AtomicReference<>();
    CountDownLatch firstSeen = new CountDownLatch(1);
    CountDownLatch allSeen = new CountDownLatch(1);
    DrainWindow window = new DrainWindow();
    Thread reader = new Thread(() -> {
      try {
        long measured = 0;
        while (measured < measuredToSend && !Thread.currentThread().isInterrupted()) {
          for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
            long now = System.nanoTime();
            ByteBuffer value = ByteBuffer.wrap(r.value());
            long sentAt = value.getLong();
            if (value.get() == MEASURED) {
              lastMeasuredAt.set(now);
              latenciesMs.add((now - sentAt) / 1e6);
              measured++;
            } else {
              window.note(now - sentAt);
              warmupSeen.incrementAndGet();
              firstSeen.countDown();
            }
          }
        }
        allSeen.countDown();
      } catch (org.apache.kafka.common.errors.InterruptException e) {
        // The drain timed out: the report says how many arrived.
      } catch (Throwable e) {
        consumerFailure.set(e);
        firstSeen.countDown();
        allSeen.countDown();
      }
    }, "eos-bench-reader");
    // A failed driver must not outlive its main thread for the reader's sake.
    reader.setDaemon(true);
    reader.start();

    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    // The record goes out at once: the figure is the pipeline's, not the driver's batching.
    p.put(ProducerConfig.LINGER_MS_CONFIG, 0);
    long sent = 0;
    long sendErrors;
    AtomicLong errors = new AtomicLong();
    double measuredSeconds;
    long measuredAt;
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
      // Warm-up: at the rate for at least warmupSeconds and until the pipeline is drained (the start's
      // backlog, the first transactions' set-up), so that the measured records do not carry it.
      long startAt = System.nanoTime();
      long warmupUntil = startAt + TimeUnit.SECONDS.toNanos(warmupSeconds);
      long firstDeadline = startAt + TimeUnit.MILLISECONDS.toNanos(FIRST_RECORD_TIMEOUT_MS);
      long drainDeadline = startAt + TimeUnit.SECONDS.toNanos(drain.timeoutSeconds());
      long windowEnd = startAt + TimeUnit.MILLISECONDS.toNanos(DRAIN_WINDOW_MS);
      List<Double> windowsMaxLagMs = new ArrayList<>();
      int drainedWindows = 0;
      long tick = 0;
      while (System.nanoTime() < warmupUntil || drainedWindows < drain.windows()) {
        long now = System.nanoTime();
        if (firstSeen.getCount() > 0 && now > firstDeadline)
          throw new IllegalStateException("no record through the Streams application within " + FIRST_RECORD_TIMEOUT_MS + " ms");
        if (now > drainDeadline)
          throw new IllegalStateException("the pipeline did not drain within " + drain.timeoutSeconds() + " s (" + drain.windows()
              + " consecutive windows of " + DRAIN_WINDOW_MS + " ms with every arrival within " + drain.lagMs()
              + " ms of its send); each window's largest lag, ms (-1: nothing arrived): " + windowsMaxLagMs);
        if (consumerFailure.get() != null) throw new IllegalStateException("the reader failed", consumerFailure.get());
        sent = sendTick(producer, input, partitions, rate, startAt, tick++, sent, WARMUP, recordBytes, errors, Long.MAX_VALUE);
        if (System.nanoTime() >= windowEnd) {
          windowEnd = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DRAIN_WINDOW_MS);
          double maxLagMs = window.take();
          windowsMaxLagMs.add(maxLagMs);
          drainedWindows = maxLagMs >= 0 && maxLagMs <= drain.lagMs() ? drainedWindows + 1 : 0;
        }
      }
      event("{\"event\":\"warmedUp\",\"records\":" + sent + ",\"seen\":" + warmupSeen.get() + ",\"seconds\":"
          + String.format("%.3f", msSince(startAt) / 1000) + ",\"windowsMaxLagMs\":" + jsonNumbers(windowsMaxLagMs) + "}");
      measuredAt = System.nanoTime();
      long measuredSent = 0;
      tick = 0;
      while (measuredSent < measuredToSend)
        measuredSent = sendTick(producer, input, partitions, rate, measuredAt, tick++, measuredSent, MEASURED, recordBytes, errors, measuredToSend);
      measuredSeconds = msSince(measuredAt) / 1000;
      producer.flush();
      sendErrors = errors.get();
    }
    boolean drained = allSeen.await(DRAIN_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    if (!drained) {
      reader.interrupt();
    }
    reader.join();
    consumer.close();
    if (consumerFailure.get() != null) throw new IllegalStateException("the reader failed", consumerFailure.get());
    // From the first measured send to the last measured arrival: at most the rate, below it when the
    // pipeline falls behind.
    double deliverySeconds = (lastMeasuredAt.get() - measuredAt) / 1e9;
    event("{\"event\":\"e2eRun\",\"sent\":" + measuredToSend + ",\"sendErrors\":" + sendErrors + ",\"sendSeconds\":"
        + String.format("%.4f", measuredSeconds) + ",\"received\":" + latenciesMs.size() + ",\"receiveSeconds\":"
        + String.format("%.4f", deliverySeconds) + ",\"drained\":" + drained + ",\"latencyMs\":" + jsonNumbers(latenciesMs) + "}");
  }

  /**
   * Waits for tick `tick` of the open-loop schedule from `startAt` (a late tick is not skipped: the
   * records are sent at once, so a stall shows in the latencies), then sends its share of records, up to
   * `limit` in all. Returns the records sent so far.
   */
  static long sendTick(KafkaProducer<byte[], byte[]> producer, String topic, int partitions, int rate, long startAt,
      long tick, long sent, byte phase, int recordBytes, AtomicLong errors, long limit) throws InterruptedException {
    long dueAt = startAt + TimeUnit.MILLISECONDS.toNanos(tick * TICK_MS);
    long wait = dueAt - System.nanoTime();
    if (wait > 0) TimeUnit.NANOSECONDS.sleep(wait);
    long due = Math.min(limit, (rate * (tick + 1) * TICK_MS) / 1000);
    for (; sent < due; sent++) {
      ByteBuffer value = ByteBuffer.allocate(Math.max(STAMP_BYTES, recordBytes));
      value.putLong(System.nanoTime()).put(phase);
      producer.send(new ProducerRecord<>(topic, (int) (sent % partitions), null, value.array()), (metadata, e) -> {
        if (e != null) errors.incrementAndGet();
      });
    }
    return sent;
  }
}
