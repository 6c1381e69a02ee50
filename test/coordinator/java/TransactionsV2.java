// Kafka's Java client (the reference's kafka-clients) running transactions against a broker given
// as args[0] (args[1] names the run, args[2] the topics' replication factor, default 1), for test/coordinator/transactions-v2.slow.ts: commit, abort, a zombie fenced, and a
// consume-transform-produce loop with sendOffsetsToTransaction; then a read_committed read of what
// was written and the producer epochs the partitions hold (DescribeProducers). One JSON object per
// line on stdout; the test asserts on them.
import java.time.Duration;
import java.util.*;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.*;

public class TransactionsV2 {
  static String bootstrap;
  static String run;

  static void emit(String json) {
    System.out.println(json);
    System.out.flush();
  }

  static KafkaProducer<String, String> producer(String transactionalId) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "120000");
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "30000");
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "120000");
    return new KafkaProducer<>(p);
  }

  static KafkaConsumer<String, String> consumer(String group) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    if (group != null) p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    return new KafkaConsumer<>(p);
  }

  /** Every committed value of a one-partition topic, read_committed, up to its end. */
  static List<String> readCommitted(String topic) {
    List<String> values = new ArrayList<>();
    try (KafkaConsumer<String, String> c = consumer(null)) {
      TopicPartition tp = new TopicPartition(topic, 0);
      c.assign(List.of(tp));
      c.seekToBeginning(List.of(tp));
      long end = c.endOffsets(List.of(tp)).get(tp);
      long deadline = System.currentTimeMillis() + 60_000;
      while (c.position(tp) < end && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) values.add(r.value());
      }
    }
    return values;
  }

  static String list(List<String> values) {
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < values.size(); i++) b.append(i == 0 ? "" : ",").append('"').append(values.get(i)).append('"');
    return b.append(']').toString();
  }

  public static void main(String[] args) throws Exception {
    bootstrap = args[0];
    run = args[1];
    short replicationFactor = args.length > 2 ? Short.parseShort(args[2]) : 1;
    String data = "txv2-data-" + run, in = "txv2-in-" + run, out = "txv2-out-" + run;
    Properties ap = new Properties();
    ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin admin = Admin.create(ap)) {
      admin.createTopics(List.of(new NewTopic(data, 1, replicationFactor), new NewTopic(in, 1, replicationFactor),
              new NewTopic(out, 1, replicationFactor)))
          .all().get();
      // The feature level the broker finalizes, as the client reads it to pick the protocol.
      FinalizedVersionRange tv = admin.describeFeatures().featureMetadata().get().finalizedFeatures().get("transaction.version");
      emit("{\"event\":\"features\",\"transactionVersion\":" + (tv == null ? 0 : tv.maxVersionLevel()) + "}");

      // Commit, then abort, then commit again, with one producer.
      try (KafkaProducer<String, String> p = producer("txv2-a-" + run)) {
        p.initTransactions();
        p.beginTransaction();
        for (int i = 0; i < 3; i++) p.send(new ProducerRecord<>(data, 0, null, "commit-1-" + i));
        p.commitTransaction();
        p.beginTransaction();
        for (int i = 0; i < 3; i++) p.send(new ProducerRecord<>(data, 0, null, "abort-" + i));
        p.flush();
        p.abortTransaction();
        p.beginTransaction();
        p.send(new ProducerRecord<>(data, 0, null, "commit-2-0"));
        p.commitTransaction();
      }
      TopicPartition dataTp = new TopicPartition(data, 0);
      for (ProducerState s : admin.describeProducers(List.of(dataTp)).partitionResult(dataTp).get().activeProducers())
        emit("{\"event\":\"producer\",\"topic\":\"data\",\"producerId\":" + s.producerId() + ",\"epoch\":" + s.producerEpoch() + "}");

      // A zombie: a second producer with the same id fences the first.
      String zombieId = "txv2-z-" + run;
      KafkaProducer<String, String> zombie = producer(zombieId);
      zombie.initTransactions();
      zombie.beginTransaction();
      zombie.send(new ProducerRecord<>(data, 0, null, "zombie-0")).get();
      try (KafkaProducer<String, String> successor = producer(zombieId)) {
        successor.initTransactions();
        String outcome;
        try {
          zombie.send(new ProducerRecord<>(data, 0, null, "zombie-1"));
          zombie.commitTransaction();
          outcome = "committed";
        } catch (ProducerFencedException e) {
          outcome = "fenced";
        } catch (KafkaException e) {
          outcome = e.getClass().getSimpleName() + (e.getCause() == null ? "" : "/" + e.getCause().getClass().getSimpleName());
        }
        emit("{\"event\":\"zombie\",\"outcome\":\"" + outcome + "\"}");
        successor.beginTransaction();
        successor.send(new ProducerRecord<>(data, 0, null, "successor-0"));
        successor.commitTransaction();
      } finally {
        zombie.close(Duration.ofSeconds(5));
      }

      // Consume-transform-produce: the input's records, upper-cased, exactly once.
      try (KafkaProducer<String, String> plain = new KafkaProducer<>(Map.of(
          ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
          ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName(),
          ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName()))) {
        for (int i = 0; i < 20; i++) plain.send(new ProducerRecord<>(in, 0, null, "r" + i));
      }
      String group = "txv2-g-" + run;
      try (KafkaConsumer<String, String> c = consumer(group);
           KafkaProducer<String, String> p = producer("txv2-etl-" + run)) {
        p.initTransactions();
        c.subscribe(List.of(in));
        int done = 0, transactions = 0;
        long deadline = System.currentTimeMillis() + 90_000;
        while (done < 20 && System.currentTimeMillis() < deadline) {
          ConsumerRecords<String, String> records = c.poll(Duration.ofMillis(500));
          if (records.isEmpty()) continue;
          p.beginTransaction();
          Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
          for (ConsumerRecord<String, String> r : records) {
            p.send(new ProducerRecord<>(out, 0, null, r.value().toUpperCase()));
            offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
            done++;
          }
          p.sendOffsetsToTransaction(offsets, c.groupMetadata());
          p.commitTransaction();
          transactions++;
        }
        emit("{\"event\":\"etl\",\"consumed\":" + done + ",\"transactions\":" + transactions + "}");
      }
      long committed = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get()
          .get(new TopicPartition(in, 0)).offset();
      emit("{\"event\":\"groupOffset\",\"offset\":" + committed + "}");
      emit("{\"event\":\"read\",\"topic\":\"data\",\"values\":" + list(readCommitted(data)) + "}");
      emit("{\"event\":\"read\",\"topic\":\"out\",\"values\":" + list(readCommitted(out)) + "}");
    }
    emit("{\"event\":\"done\"}");
  }
}
