package kstack.junit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The extension with "--connect" (Kafka's Connect worker, a JVM, beside the cluster): a FileStream
 * source connector created through {@link KstackCluster#connectUrl()} reads a file into a topic;
 * the reset removes the connector.
 */
@ExtendWith(KstackExtension.class)
@KstackExtension.Args({"--connect"})
class KstackConnectTest {
  /** Generous: CI machines are loaded. */
  private static final long TIMEOUT_S = 120;
  private static final List<String> LINES = List.of("first", "second", "third");

  private final HttpClient http = HttpClient.newHttpClient();

  /** One call of Connect's REST API; its answer's body (a status of 300 or more fails). */
  private String rest(KstackCluster kafka, String method, String path, String body) throws Exception {
    HttpRequest request = HttpRequest.newBuilder(URI.create(kafka.connectUrl() + path))
        .timeout(Duration.ofSeconds(TIMEOUT_S))
        .header("content-type", "application/json")
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
        .build();
    HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() >= 300) {
      throw new IllegalStateException("Connect " + method + " " + path + ": " + response.statusCode() + " " + response.body());
    }
    return response.body();
  }

  private static List<String> read(KstackCluster kafka, String topic, String group, int count) {
    Properties config = new Properties();
    config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    config.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    List<String> values = new ArrayList<>();
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(config, new StringDeserializer(), new StringDeserializer())) {
      consumer.subscribe(List.of(topic));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_S);
      while (values.size() < count && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofSeconds(1))) values.add(record.value());
      }
    }
    return values;
  }

  @Test
  void fileSourceThenReset(KstackCluster kafka, @TempDir Path dir) throws Exception {
    assertNotNull(kafka.connectUrl(), "the ready line names a connectUrl");
    Path file = dir.resolve("lines.txt");
    Files.writeString(file, String.join("\n", LINES) + "\n");
    String prefix = kafka.namespace();
    String topic = prefix + "lines";
    rest(kafka, "POST", "/connectors", "{\"name\":\"lines\",\"config\":{"
        + "\"connector.class\":\"org.apache.kafka.connect.file.FileStreamSourceConnector\","
        + "\"tasks.max\":\"1\",\"file\":\"" + file + "\",\"topic\":\"" + topic + "\","
        + "\"value.converter\":\"org.apache.kafka.connect.storage.StringConverter\"}}");
    assertEquals(LINES, read(kafka, topic, prefix + "reader", LINES.size()));

    kafka.reset();
    assertEquals("[]", rest(kafka, "GET", "/connectors", null).strip(), "no connector after reset()");
  }
}
