package kstack.junit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The extension with Apache Kafka's Java client: isolation by reset, snapshots, the manual clock. */
@ExtendWith(KstackExtension.class)
@KstackExtension.Args({"--clock", "manual"})
class KstackExtensionTest {
  /** Generous: CI machines are loaded. */
  private static final long TIMEOUT_S = 30;

  private static Admin admin(KstackCluster kafka) {
    Properties config = new Properties();
    config.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    return Admin.create(config);
  }

  private static void produce(KstackCluster kafka, String topic, String... values) throws Exception {
    Properties config = new Properties();
    config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    config.put(ProducerConfig.ACKS_CONFIG, "all");
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(config, new StringSerializer(), new StringSerializer())) {
      for (String value : values) producer.send(new ProducerRecord<>(topic, value)).get(TIMEOUT_S, TimeUnit.SECONDS);
    }
  }

  private static long startOffset(Admin admin, String topic) throws Exception {
    TopicPartition partition = new TopicPartition(topic, 0);
    return admin.listOffsets(Map.of(partition, OffsetSpec.earliest())).partitionResult(partition).get(TIMEOUT_S, TimeUnit.SECONDS).offset();
  }

  /** Each repetition creates the same topic name; the reset after each must leave no trace of it. */
  @RepeatedTest(3)
  void resetIsolatesTests(KstackCluster kafka) throws Exception {
    try (Admin admin = admin(kafka)) {
      assertFalse(admin.listTopics().names().get(TIMEOUT_S, TimeUnit.SECONDS).contains("shared-name"), "sees the topic of an earlier test");
      admin.createTopics(List.of(new NewTopic("shared-name", 1, (short) 1))).all().get(TIMEOUT_S, TimeUnit.SECONDS);
    }
    produce(kafka, "shared-name", "x");
  }

  @Test
  void snapshotAndClock(KstackCluster kafka) throws Exception {
    String topic = kafka.namespace() + "events";
    try (Admin admin = admin(kafka)) {
      admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1).configs(Map.of("retention.ms", "60000"))))
          .all()
          .get(TIMEOUT_S, TimeUnit.SECONDS);
      produce(kafka, topic, "a", "b");
      kafka.snapshot("two-events");
      kafka.advanceClock(Duration.ofMinutes(6).plusMillis(1)); // past retention.ms and the 5 min check
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_S);
      while (startOffset(admin, topic) != 2) {
        assertTrue(System.nanoTime() < deadline, "retention did not delete the records after the clock moved");
        Thread.sleep(50);
      }
      kafka.restore("two-events");
      assertEquals(0, startOffset(admin, topic));
    }
  }

  @Test
  void badInputIsRefusedByName(KstackCluster kafka) {
    KstackCluster.KstackException refused = assertThrows(KstackCluster.KstackException.class, () -> kafka.restore("no-such-snapshot"));
    assertEquals(404, refused.status);
    assertEquals("SNAPSHOT_NOT_FOUND", refused.errorCode);
  }
}
