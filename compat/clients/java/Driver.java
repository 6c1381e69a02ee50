// Compatibility driver for the Apache Kafka Java client (kafka-clients, same version as the reference
// cluster). Speaks compat/PROTOCOL.md: one JSON job on stdin, one JSON result on stdout.
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.AlterConfigsOptions;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.ApiException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.AppInfoParser;

public final class Driver {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final int DIGEST_THRESHOLD_BYTES = 64 * 1024;
  private static final int DEFAULT_TIMEOUT_MS = 30_000;

  /** A step outcome that is not "ok": carries the protocol status and normalised error. */
  static final class StepFailure extends RuntimeException {
    final String status;
    final String error;
    final JsonNode value;

    StepFailure(String status, String error, String message, JsonNode value) {
      super(message);
      this.status = status;
      this.error = error;
      this.value = value;
    }
  }

  private final String bootstrap;
  private final String clientId;
  private Admin admin;
  private final PrintStream out;

  Driver(String bootstrap, String clientId, PrintStream out) {
    this.bootstrap = bootstrap;
    this.clientId = clientId;
    this.out = out;
  }

  public static void main(String[] args) throws Exception {
    // Keep stdout for the result alone: anything the client prints goes to stderr.
    PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, "UTF-8");
    System.setOut(System.err);
    JsonNode job = JSON.readTree(System.in);
    String jobId = job.path("jobId").asText("job");
    Driver driver = new Driver(job.path("bootstrap").asText(), "kstack-compat-" + jobId.replaceAll("[^A-Za-z0-9._-]", "_"), out);
    ObjectNode result = NODES.objectNode();
    result.put("protocol", 1);
    result.set("client", clientInfo());
    ArrayNode results = result.putArray("results");
    boolean protocolOk = job.path("protocol").asInt(0) == 1;
    for (JsonNode step : job.path("steps")) {
      ObjectNode outcome = results.addObject();
      outcome.put("id", step.path("id").asText());
      outcome.put("op", step.path("op").asText());
      long started = System.nanoTime();
      boolean crash = false;
      try {
        if (!protocolOk) throw new StepFailure("error", "CLIENT_ERROR", "unsupported protocol version", null);
        crash = "crash".equals(step.path("exit").asText());
        JsonNode value = driver.run(step);
        outcome.put("status", "ok");
        outcome.set("value", value == null ? NODES.nullNode() : value);
      } catch (StepFailure failure) {
        outcome.put("status", failure.status);
        if ("unsupported".equals(failure.status)) outcome.put("reason", failure.getMessage());
        else {
          outcome.put("error", failure.error);
          if (failure.getMessage() != null) outcome.put("message", failure.getMessage());
        }
        outcome.set("value", failure.value == null ? NODES.nullNode() : failure.value);
      } catch (Throwable thrown) {
        Throwable cause = unwrap(thrown);
        outcome.put("status", "error");
        outcome.put("error", errorName(cause));
        outcome.put("message", cause.getClass().getSimpleName() + ": " + cause.getMessage());
        outcome.set("value", NODES.nullNode());
      }
      outcome.put("durationMs", (System.nanoTime() - started) / 1_000_000);
      if (crash) {
        out.println(JSON.writeValueAsString(result));
        out.flush();
        Runtime.getRuntime().halt(0); // no close, no LeaveGroup: a killed member
      }
    }
    out.println(JSON.writeValueAsString(result));
    out.flush();
    driver.close();
    System.exit(0);
  }

  /**
   * The security profile's client settings (compat/runner/security.ts): KSTACK_COMPAT_SECURITY holds
   * {"protocol", "mechanism"?, "username"?, "password"?, "caFile"?}; unset means PLAINTEXT.
   */
  static void applySecurity(Properties props) {
    String raw = System.getenv("KSTACK_COMPAT_SECURITY");
    if (raw == null || raw.isEmpty()) return;
    JsonNode security;
    try {
      security = new ObjectMapper().readTree(raw);
    } catch (Exception e) {
      throw new IllegalArgumentException("KSTACK_COMPAT_SECURITY is not JSON: " + e.getMessage());
    }
    props.put("security.protocol", security.path("protocol").asText());
    if (security.path("mechanism").asText().equals("OAUTHBEARER")) {
      // Kafka's default login callback handler makes an unsecured JWS with this sub.
      props.put("sasl.mechanism", "OAUTHBEARER");
      props.put("sasl.jaas.config", "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required"
          + " unsecuredLoginStringClaim_sub=\"" + security.path("username").asText() + "\";");
    } else if (security.has("mechanism")) {
      String mechanism = security.path("mechanism").asText();
      String module = mechanism.startsWith("SCRAM-")
          ? "org.apache.kafka.common.security.scram.ScramLoginModule"
          : "org.apache.kafka.common.security.plain.PlainLoginModule";
      props.put("sasl.mechanism", mechanism);
      props.put("sasl.jaas.config", module + " required username=\"" + security.path("username").asText()
          + "\" password=\"" + security.path("password").asText() + "\";");
    }
    if (security.has("caFile")) {
      props.put("ssl.truststore.type", "PEM");
      props.put("ssl.truststore.location", security.path("caFile").asText());
    }
  }

  static ObjectNode clientInfo() {
    ObjectNode info = NODES.objectNode();
    info.put("name", "java");
    info.put("version", AppInfoParser.getVersion());
    info.put("library", "kafka-clients " + AppInfoParser.getVersion());
    return info;
  }

  void close() {
    if (admin != null) admin.close(Duration.ofSeconds(5));
  }

  // ---- errors ----------------------------------------------------------------------------------------

  static Throwable unwrap(Throwable thrown) {
    Throwable current = thrown;
    while ((current instanceof ExecutionException || current.getClass() == KafkaException.class)
        && current.getCause() != null) {
      current = current.getCause();
    }
    return current;
  }

  static String errorName(Throwable thrown) {
    Throwable cause = unwrap(thrown);
    if (cause instanceof TimeoutException) {
      String message = String.valueOf(cause.getMessage());
      if (message.contains("not present in metadata")) return "UNKNOWN_TOPIC_OR_PARTITION";
      return "CLIENT_TIMEOUT";
    }
    if (cause instanceof org.apache.kafka.clients.consumer.OffsetOutOfRangeException) return "OFFSET_OUT_OF_RANGE";
    if (cause instanceof ApiException) {
      Errors error = Errors.forException(cause);
      if (error != Errors.UNKNOWN_SERVER_ERROR
          || cause instanceof org.apache.kafka.common.errors.UnknownServerException) {
        return error.name();
      }
    }
    if (cause instanceof IllegalArgumentException) return "CLIENT_INVALID_ARGUMENT";
    return "CLIENT_ERROR";
  }

  // ---- encodings -------------------------------------------------------------------------------------

  static byte[] bytesIn(JsonNode node) {
    if (node == null || node.isMissingNode() || node.isNull()) return null;
    if (node.isTextual()) return node.asText().getBytes(StandardCharsets.UTF_8);
    if (node.has("base64")) return Base64.getDecoder().decode(node.get("base64").asText());
    if (node.has("fill")) {
      byte[] fill = node.get("fill").asText().getBytes(StandardCharsets.UTF_8);
      int size = node.get("size").asInt();
      byte[] bytes = new byte[size];
      for (int i = 0; i < size; i++) bytes[i] = fill[i % fill.length];
      return bytes;
    }
    throw new StepFailure("error", "CLIENT_INVALID_ARGUMENT", "bad Bytes value: " + node, null);
  }

  static JsonNode bytesOut(byte[] bytes) {
    if (bytes == null) return NODES.nullNode();
    if (bytes.length > DIGEST_THRESHOLD_BYTES) {
      ObjectNode digest = NODES.objectNode();
      digest.put("size", bytes.length);
      try {
        StringBuilder hex = new StringBuilder();
        for (byte b : MessageDigest.getInstance("SHA-256").digest(bytes)) hex.append(String.format("%02x", b));
        digest.put("sha256", hex.toString());
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      return digest;
    }
    try {
      String text = StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes))
          .toString();
      return NODES.textNode(text);
    } catch (CharacterCodingException e) {
      ObjectNode base64 = NODES.objectNode();
      base64.put("base64", Base64.getEncoder().encodeToString(bytes));
      return base64;
    }
  }

  static int timeoutMs(JsonNode step) {
    return step.path("timeoutMs").asInt(DEFAULT_TIMEOUT_MS);
  }

  static StepFailure unsupported(String reason) {
    return new StepFailure("unsupported", null, reason, null);
  }

  // ---- dispatch --------------------------------------------------------------------------------------

  JsonNode run(JsonNode step) throws Exception {
    String op = step.path("op").asText();
    switch (op) {
      case "createTopic": return createTopic(step);
      case "describeTopic": return describeTopic(step);
      case "listTopics": return listTopics(step);
      case "deleteTopic": return deleteTopic(step);
      case "createPartitions": return createPartitions(step);
      case "describeConfigs": return describeConfigs(step);
      case "alterConfigs": return alterConfigs(step);
      case "metadata": return metadata(step);
      case "produce": return produce(step);
      case "consume": return consume(step);
      case "transactionalProduce": return transactionalProduce(step);
      case "isolatedConsume": return isolatedConsume(step);
      case "listOffsets": return listOffsets(step);
      case "groupConsume": return groupConsume(step);
      case "commitOffsets": return commitOffsets(step);
      case "listGroups": return listGroups(step);
      case "describeGroup": return describeGroup(step);
      case "deleteGroup": return deleteGroup(step);
      case "groupOffsets": return groupOffsets(step);
      case "clientInfo": return clientInfo();
      case "sleep":
        Thread.sleep(step.path("ms").asLong());
        return null;
      default: throw unsupported("unknown op " + op);
    }
  }

  Admin admin() {
    if (admin == null) {
      Properties props = new Properties();
      props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      applySecurity(props);
      props.put(AdminClientConfig.CLIENT_ID_CONFIG, clientId + "-admin");
      admin = Admin.create(props);
    }
    return admin;
  }

  static <T> T await(Future<T> future, JsonNode step) throws Exception {
    try {
      return future.get(timeoutMs(step), TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new StepFailure("error", "CLIENT_TIMEOUT", "no answer within " + timeoutMs(step) + " ms", null);
    }
  }

  // ---- topics ----------------------------------------------------------------------------------------

  JsonNode createTopic(JsonNode step) throws Exception {
    int partitions = step.path("partitions").asInt(1);
    int replication = step.path("replicationFactor").asInt(-1);
    NewTopic topic = new NewTopic(
        step.path("topic").asText(),
        partitions == -1 ? Optional.empty() : Optional.of(partitions),
        replication == -1 ? Optional.empty() : Optional.of((short) replication));
    topic.configs(stringMap(step.path("configs")));
    CreateTopicsOptions options = new CreateTopicsOptions().validateOnly(step.path("validateOnly").asBoolean(false));
    await(admin().createTopics(List.of(topic), options).all(), step);
    return null;
  }

  static Map<String, String> stringMap(JsonNode node) {
    Map<String, String> map = new HashMap<>();
    Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
    while (fields.hasNext()) {
      Map.Entry<String, JsonNode> field = fields.next();
      map.put(field.getKey(), field.getValue().isNull() ? null : field.getValue().asText());
    }
    return map;
  }

  JsonNode describeTopic(JsonNode step) throws Exception {
    String name = step.path("topic").asText();
    TopicDescription description = await(admin().describeTopics(List.of(name)).allTopicNames(), step).get(name);
    ObjectNode value = NODES.objectNode();
    value.put("topic", description.name());
    value.put("internal", description.isInternal());
    ArrayNode partitions = value.putArray("partitions");
    List<TopicPartitionInfo> infos = new ArrayList<>(description.partitions());
    infos.sort(Comparator.comparingInt(TopicPartitionInfo::partition));
    for (TopicPartitionInfo info : infos) {
      ObjectNode partition = partitions.addObject();
      partition.put("partition", info.partition());
      if (info.leader() == null || info.leader().isEmpty()) partition.put("leader", -1);
      else partition.put("leader", info.leader().id());
      ArrayNode replicas = partition.putArray("replicas");
      for (Node node : info.replicas()) replicas.add(node.id());
      ArrayNode isr = partition.putArray("isr");
      info.isr().stream().map(Node::id).sorted().forEach(isr::add);
    }
    return value;
  }

  JsonNode listTopics(JsonNode step) throws Exception {
    ListTopicsOptions options = new ListTopicsOptions().listInternal(step.path("includeInternal").asBoolean(false));
    ArrayNode names = NODES.arrayNode();
    await(admin().listTopics(options).names(), step).stream().sorted().forEach(names::add);
    return names;
  }

  JsonNode deleteTopic(JsonNode step) throws Exception {
    await(admin().deleteTopics(List.of(step.path("topic").asText())).all(), step);
    return null;
  }

  JsonNode createPartitions(JsonNode step) throws Exception {
    Map<String, NewPartitions> request =
        Map.of(step.path("topic").asText(), NewPartitions.increaseTo(step.path("count").asInt()));
    await(admin().createPartitions(request).all(), step);
    return null;
  }

  JsonNode describeConfigs(JsonNode step) throws Exception {
    ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, step.path("topic").asText());
    Config config = await(admin().describeConfigs(List.of(resource)).all(), step).get(resource);
    List<String> names = new ArrayList<>();
    step.path("names").forEach(n -> names.add(n.asText()));
    ObjectNode value = NODES.objectNode();
    Map<String, String> sorted = new TreeMap<>();
    for (ConfigEntry entry : config.entries()) {
      if (names.isEmpty() || names.contains(entry.name())) sorted.put(entry.name(), entry.isSensitive() ? null : entry.value());
    }
    sorted.forEach((k, v) -> {
      if (v == null) value.putNull(k);
      else value.put(k, v);
    });
    return value;
  }

  JsonNode alterConfigs(JsonNode step) throws Exception {
    ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, step.path("topic").asText());
    List<AlterConfigOp> ops = new ArrayList<>();
    stringMap(step.path("set")).forEach((k, v) -> ops.add(new AlterConfigOp(new ConfigEntry(k, v), AlterConfigOp.OpType.SET)));
    step.path("delete").forEach(k -> ops.add(new AlterConfigOp(new ConfigEntry(k.asText(), null), AlterConfigOp.OpType.DELETE)));
    AlterConfigsOptions options = new AlterConfigsOptions().validateOnly(step.path("validateOnly").asBoolean(false));
    await(admin().incrementalAlterConfigs(Map.of(resource, ops), options).all(), step);
    return null;
  }

  JsonNode metadata(JsonNode step) throws Exception {
    ObjectNode value = NODES.objectNode();
    ArrayNode brokers = value.putArray("brokers");
    List<Node> nodes = new ArrayList<>(await(admin().describeCluster().nodes(), step));
    nodes.sort(Comparator.comparingInt(Node::id));
    for (Node node : nodes) {
      ObjectNode broker = brokers.addObject();
      broker.put("id", node.id());
      broker.put("host", node.host());
      broker.put("port", node.port());
    }
    ArrayNode topics = value.putArray("topics");
    List<String> names = new ArrayList<>();
    step.path("topics").forEach(t -> names.add(t.asText()));
    if (!step.has("topics")) {
      await(admin().listTopics().names(), step).stream().sorted().forEach(names::add);
    }
    boolean autoCreate = step.path("allowAutoCreate").asBoolean(false);
    // The consumer's metadata request carries allow_auto_topic_creation from allow.auto.create.topics.
    try (KafkaConsumer<byte[], byte[]> consumer = consumer(null, Map.of(
        ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, String.valueOf(autoCreate)))) {
      for (String name : names) {
        ObjectNode topic = topics.addObject();
        topic.put("topic", name);
        try {
          List<PartitionInfo> partitions = consumer.partitionsFor(name, Duration.ofMillis(Math.min(timeoutMs(step), 5000)));
          if (partitions == null || partitions.isEmpty()) {
            topic.put("error", "UNKNOWN_TOPIC_OR_PARTITION");
            topic.put("partitions", 0);
          } else {
            topic.putNull("error");
            topic.put("partitions", partitions.size());
          }
        } catch (Exception e) {
          String error = errorName(e);
          topic.put("error", "CLIENT_TIMEOUT".equals(error) ? "UNKNOWN_TOPIC_OR_PARTITION" : error);
          topic.put("partitions", 0);
        }
      }
    }
    return value;
  }

  // ---- produce ---------------------------------------------------------------------------------------

  JsonNode produce(JsonNode step) throws Exception {
    int timeout = timeoutMs(step);
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    applySecurity(props);
    props.put(ProducerConfig.CLIENT_ID_CONFIG, clientId + "-producer");
    JsonNode acks = step.path("acks");
    String acksValue = acks.isMissingNode() || acks.isNull() ? "all" : acks.asText();
    if ("-1".equals(acksValue)) acksValue = "all";
    props.put(ProducerConfig.ACKS_CONFIG, acksValue);
    props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, step.path("compression").asText("none"));
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, String.valueOf(step.path("idempotent").asBoolean(false)));
    if (step.has("retries")) props.put(ProducerConfig.RETRIES_CONFIG, String.valueOf(step.get("retries").asInt()));
    int linger = step.path("lingerMs").asInt(0);
    props.put(ProducerConfig.LINGER_MS_CONFIG, String.valueOf(linger));
    int requestTimeout = Math.max(1000, Math.min(30_000, timeout / 2));
    props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(requestTimeout));
    props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, String.valueOf(Math.max(requestTimeout + linger, timeout - 1000)));
    props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, String.valueOf(Math.max(1000, timeout / 2)));
    if (step.has("clientMaxBytes")) {
      int max = step.path("clientMaxBytes").asInt();
      props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(Math.max(max, 1_048_576)));
      props.put(ProducerConfig.BUFFER_MEMORY_CONFIG, String.valueOf(Math.max(64L * 1024 * 1024, 4L * max)));
      props.put(ProducerConfig.BATCH_SIZE_CONFIG, "16384");
    }
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    String topic = step.path("topic").asText();
    Integer defaultPartition = step.has("partition") ? step.get("partition").asInt() : null;
    ArrayNode value = NODES.arrayNode();
    String firstError = null;
    String firstMessage = null;
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
      List<Future<RecordMetadata>> futures = new ArrayList<>();
      List<Throwable> sendErrors = new ArrayList<>();
      for (JsonNode message : step.path("messages")) {
        Integer partition = message.has("partition") ? Integer.valueOf(message.get("partition").asInt()) : defaultPartition;
        Long timestamp = message.has("timestamp") ? message.get("timestamp").asLong() : null;
        List<Header> headers = new ArrayList<>();
        for (JsonNode header : message.path("headers")) {
          headers.add(new RecordHeader(header.path("key").asText(), bytesIn(header.get("value"))));
        }
        ProducerRecord<byte[], byte[]> record =
            new ProducerRecord<>(topic, partition, timestamp, bytesIn(message.get("key")), bytesIn(message.get("value")), headers);
        try {
          futures.add(producer.send(record));
          sendErrors.add(null);
        } catch (Exception e) {
          futures.add(null);
          sendErrors.add(e);
        }
      }
      producer.flush();
      for (int i = 0; i < futures.size(); i++) {
        ObjectNode entry = value.addObject();
        Throwable error = sendErrors.get(i);
        if (error == null) {
          try {
            RecordMetadata metadata = futures.get(i).get(timeout, TimeUnit.MILLISECONDS);
            entry.put("partition", metadata.partition());
            entry.put("offset", metadata.hasOffset() ? metadata.offset() : -1);
            continue;
          } catch (Exception e) {
            error = e;
          }
        }
        String name = errorName(error);
        entry.put("error", name);
        if (firstError == null) {
          firstError = name;
          firstMessage = unwrap(error).getClass().getSimpleName() + ": " + unwrap(error).getMessage();
        }
      }
      producer.close(Duration.ofSeconds(5));
    }
    if (firstError != null) throw new StepFailure("error", firstError, firstMessage, value);
    return value;
  }

  // ---- consume ---------------------------------------------------------------------------------------

  KafkaConsumer<byte[], byte[]> consumer(String group, Map<String, String> extra) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    applySecurity(props);
    props.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId + "-consumer");
    if (group != null) props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false");
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    props.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, String.valueOf(64 * 1024 * 1024));
    props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(16 * 1024 * 1024));
    props.putAll(extra);
    return new KafkaConsumer<>(props);
  }

  List<TopicPartition> partitionsOf(String topic, JsonNode step) throws Exception {
    TopicDescription description = await(admin().describeTopics(List.of(topic)).allTopicNames(), step).get(topic);
    List<TopicPartition> all = new ArrayList<>();
    for (TopicPartitionInfo info : description.partitions()) all.add(new TopicPartition(topic, info.partition()));
    if (!step.has("partitions")) return all;
    List<TopicPartition> chosen = new ArrayList<>();
    for (JsonNode p : step.path("partitions")) {
      TopicPartition tp = new TopicPartition(topic, p.asInt());
      if (!all.contains(tp)) {
        throw new StepFailure("error", "UNKNOWN_TOPIC_OR_PARTITION", "no partition " + tp, null);
      }
      chosen.add(tp);
    }
    return chosen;
  }

  static ObjectNode recordOut(ConsumerRecord<byte[], byte[]> record) {
    ObjectNode node = NODES.objectNode();
    node.put("topic", record.topic());
    node.put("partition", record.partition());
    node.put("offset", record.offset());
    node.set("key", bytesOut(record.key()));
    node.set("value", bytesOut(record.value()));
    ArrayNode headers = node.putArray("headers");
    for (Header header : record.headers()) {
      ObjectNode h = headers.addObject();
      h.put("key", header.key());
      h.set("value", bytesOut(header.value()));
    }
    node.put("timestamp", record.timestamp());
    node.put("timestampType", record.timestampType() == TimestampType.LOG_APPEND_TIME ? "LogAppendTime" : "CreateTime");
    return node;
  }

  static ArrayNode sortRecords(List<ObjectNode> records) {
    records.sort(Comparator.<ObjectNode>comparingInt(r -> r.get("partition").asInt()).thenComparingLong(r -> r.get("offset").asLong()));
    ArrayNode array = NODES.arrayNode();
    records.forEach(array::add);
    return array;
  }

  JsonNode consume(JsonNode step) throws Exception {
    return consume(step, Map.of(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none"));
  }

  JsonNode isolatedConsume(JsonNode step) throws Exception {
    String isolation = step.path("isolation").asText("");
    if (!"read_committed".equals(isolation) && !"read_uncommitted".equals(isolation)) {
      throw new StepFailure("error", "CLIENT_INVALID_ARGUMENT", "isolation must be read_committed or read_uncommitted", null);
    }
    return consume(step, Map.of(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none", ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation));
  }

  JsonNode transactionalProduce(JsonNode step) throws Exception {
    int timeout = timeoutMs(step);
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    applySecurity(props);
    props.put(ProducerConfig.CLIENT_ID_CONFIG, clientId + "-producer");
    props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, step.path("transactionalId").asText());
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, String.valueOf(Math.max(1000, timeout / 2)));
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    String topic = step.path("topic").asText();
    Integer defaultPartition = step.has("partition") ? step.get("partition").asInt() : null;
    ArrayNode value = NODES.arrayNode();
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
      producer.initTransactions();
      for (JsonNode transaction : step.path("transactions")) {
        producer.beginTransaction();
        List<Future<RecordMetadata>> futures = new ArrayList<>();
        for (JsonNode message : transaction.path("messages")) {
          Integer partition = message.has("partition") ? Integer.valueOf(message.get("partition").asInt()) : defaultPartition;
          futures.add(producer.send(new ProducerRecord<>(topic, partition, bytesIn(message.get("key")), bytesIn(message.get("value")))));
        }
        producer.flush();
        ArrayNode sent = value.addArray();
        for (Future<RecordMetadata> future : futures) {
          RecordMetadata metadata = future.get(timeout, TimeUnit.MILLISECONDS);
          sent.addObject().put("partition", metadata.partition()).put("offset", metadata.offset());
        }
        if ("commit".equals(transaction.path("end").asText())) producer.commitTransaction();
        else producer.abortTransaction();
      }
      producer.close(Duration.ofSeconds(5));
    }
    return value;
  }

  JsonNode consume(JsonNode step, Map<String, String> settings) throws Exception {
    long deadline = System.currentTimeMillis() + timeoutMs(step);
    String topic = step.path("topic").asText();
    List<TopicPartition> partitions = partitionsOf(topic, step);
    int count = step.path("count").asInt();
    List<ObjectNode> records = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> consumer = consumer(null, settings)) {
      consumer.assign(partitions);
      JsonNode from = step.path("from");
      if (from.isTextual() && "beginning".equals(from.asText())) consumer.seekToBeginning(partitions);
      else if (from.isTextual() && "end".equals(from.asText())) consumer.seekToEnd(partitions);
      else if (from.has("offset")) for (TopicPartition tp : partitions) consumer.seek(tp, from.get("offset").asLong());
      else if (from.has("timestamp")) {
        Map<TopicPartition, Long> query = new HashMap<>();
        for (TopicPartition tp : partitions) query.put(tp, from.get("timestamp").asLong());
        Map<TopicPartition, OffsetAndTimestamp> found = consumer.offsetsForTimes(query);
        List<TopicPartition> toEnd = new ArrayList<>();
        for (TopicPartition tp : partitions) {
          OffsetAndTimestamp at = found.get(tp);
          if (at == null) toEnd.add(tp);
          else consumer.seek(tp, at.offset());
        }
        if (!toEnd.isEmpty()) consumer.seekToEnd(toEnd);
      } else throw new StepFailure("error", "CLIENT_INVALID_ARGUMENT", "bad from: " + from, null);
      while (records.size() < count && System.currentTimeMillis() < deadline) {
        long left = Math.max(1, Math.min(500, deadline - System.currentTimeMillis()));
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(left))) {
          if (records.size() < count) records.add(recordOut(record));
        }
      }
    }
    return sortRecords(records);
  }

  JsonNode listOffsets(JsonNode step) throws Exception {
    TopicPartition tp = new TopicPartition(step.path("topic").asText(), step.path("partition").asInt(0));
    // The admin client retries an unknown partition until its timeout; the metadata already says it is unknown.
    partitionsOf(tp.topic(), NODES.objectNode().put("timeoutMs", timeoutMs(step)).set("partitions", NODES.arrayNode().add(tp.partition())));
    JsonNode spec = step.path("spec");
    OffsetSpec offsetSpec;
    boolean byTime = false;
    if (spec.isTextual() && "earliest".equals(spec.asText())) offsetSpec = OffsetSpec.earliest();
    else if (spec.isTextual() && "latest".equals(spec.asText())) offsetSpec = OffsetSpec.latest();
    else if (spec.has("timestamp")) {
      offsetSpec = OffsetSpec.forTimestamp(spec.get("timestamp").asLong());
      byTime = true;
    } else throw new StepFailure("error", "CLIENT_INVALID_ARGUMENT", "bad spec: " + spec, null);
    ListOffsetsResult.ListOffsetsResultInfo info = await(admin().listOffsets(Map.of(tp, offsetSpec)).partitionResult(tp), step);
    ObjectNode value = NODES.objectNode();
    value.put("offset", info.offset());
    if (byTime && info.offset() >= 0 && info.timestamp() >= 0) value.put("timestamp", info.timestamp());
    return value;
  }

  // ---- groups ----------------------------------------------------------------------------------------

  JsonNode groupConsume(JsonNode step) throws Exception {
    long deadline = System.currentTimeMillis() + timeoutMs(step);
    String commit = step.path("commit").asText("sync");
    Map<String, String> extra = new HashMap<>();
    extra.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
    extra.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, step.path("reset").asText("earliest"));
    extra.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, String.valueOf(step.path("sessionTimeoutMs").asInt(10_000)));
    extra.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "1000");
    if ("auto".equals(commit)) {
      extra.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "true");
      extra.put(ConsumerConfig.AUTO_COMMIT_INTERVAL_MS_CONFIG, "1000");
    }
    if (step.has("instanceId")) extra.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, step.get("instanceId").asText());
    List<String> topics = new ArrayList<>();
    step.path("topics").forEach(t -> topics.add(t.asText()));
    int count = step.path("count").asInt();
    List<ObjectNode> records = new ArrayList<>();
    Map<TopicPartition, OffsetAndMetadata> next = new HashMap<>();
    KafkaConsumer<byte[], byte[]> consumer = consumer(step.path("group").asText(), extra);
    ArrayNode assignment = NODES.arrayNode();
    consumer.subscribe(topics);
    while (records.size() < count && System.currentTimeMillis() < deadline) {
      long left = Math.max(1, Math.min(500, deadline - System.currentTimeMillis()));
      for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(left))) {
        if (records.size() >= count) break;
        records.add(recordOut(record));
        next.put(new TopicPartition(record.topic(), record.partition()), new OffsetAndMetadata(record.offset() + 1));
      }
    }
    if ("sync".equals(commit) && !next.isEmpty()) consumer.commitSync(next, Duration.ofMillis(Math.max(5000, deadline - System.currentTimeMillis())));
    Collection<TopicPartition> held = consumer.assignment();
    held.stream()
        .sorted(Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition))
        .forEach(tp -> {
          ObjectNode a = assignment.addObject();
          a.put("topic", tp.topic());
          a.put("partition", tp.partition());
        });
    if (!"crash".equals(step.path("exit").asText())) consumer.close(Duration.ofSeconds(10));
    ObjectNode value = NODES.objectNode();
    value.set("records", sortRecords(records));
    value.set("assignment", assignment);
    return value;
  }

  JsonNode commitOffsets(JsonNode step) throws Exception {
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    for (JsonNode o : step.path("offsets")) {
      offsets.put(new TopicPartition(o.path("topic").asText(), o.path("partition").asInt()), new OffsetAndMetadata(o.path("offset").asLong()));
    }
    await(admin().alterConsumerGroupOffsets(step.path("group").asText(), offsets).all(), step);
    return null;
  }

  @SuppressWarnings("deprecation")
  JsonNode listGroups(JsonNode step) throws Exception {
    List<ConsumerGroupListing> listings = new ArrayList<>(await(admin().listConsumerGroups().all(), step));
    listings.sort(Comparator.comparing(ConsumerGroupListing::groupId));
    ArrayNode value = NODES.arrayNode();
    for (ConsumerGroupListing listing : listings) {
      ObjectNode group = value.addObject();
      group.put("group", listing.groupId());
      listing.groupState().ifPresent(state -> group.put("state", state.toString()));
    }
    return value;
  }

  JsonNode describeGroup(JsonNode step) throws Exception {
    String id = step.path("group").asText();
    ConsumerGroupDescription description = await(admin().describeConsumerGroups(List.of(id)).all(), step).get(id);
    ObjectNode value = NODES.objectNode();
    value.put("group", description.groupId());
    value.put("state", description.groupState().toString());
    value.put("protocolType", description.isSimpleConsumerGroup() ? "" : "consumer");
    value.put("protocol", description.partitionAssignor());
    List<MemberDescription> members = new ArrayList<>(description.members());
    members.sort(Comparator.comparing((MemberDescription m) -> m.groupInstanceId().orElse("")).thenComparing(MemberDescription::clientId));
    ArrayNode array = value.putArray("members");
    for (MemberDescription member : members) {
      ObjectNode m = array.addObject();
      m.put("clientId", member.clientId());
      if (member.groupInstanceId().isPresent()) m.put("instanceId", member.groupInstanceId().get());
      else m.putNull("instanceId");
      ArrayNode assignment = m.putArray("assignment");
      member.assignment().topicPartitions().stream()
          .sorted(Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition))
          .forEach(tp -> {
            ObjectNode a = assignment.addObject();
            a.put("topic", tp.topic());
            a.put("partition", tp.partition());
          });
    }
    return value;
  }

  JsonNode deleteGroup(JsonNode step) throws Exception {
    await(admin().deleteConsumerGroups(List.of(step.path("group").asText())).all(), step);
    return null;
  }

  JsonNode groupOffsets(JsonNode step) throws Exception {
    String group = step.path("group").asText();
    Map<TopicPartition, OffsetAndMetadata> committed =
        await(admin().listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata(), step);
    Map<TopicPartition, Long> offsets = new TreeMap<>(Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition));
    committed.forEach((tp, om) -> offsets.put(tp, om == null ? -1L : om.offset()));
    if (step.has("topic")) {
      String topic = step.get("topic").asText();
      offsets.keySet().removeIf(tp -> !tp.topic().equals(topic));
      for (TopicPartition tp : partitionsOf(topic, NODES.objectNode().put("timeoutMs", timeoutMs(step)))) offsets.putIfAbsent(tp, -1L);
    }
    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    offsets.keySet().forEach(tp -> latest.put(tp, OffsetSpec.latest()));
    Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> ends = await(admin().listOffsets(latest).all(), step);
    ArrayNode value = NODES.arrayNode();
    offsets.forEach((tp, offset) -> {
      long end = ends.get(tp).offset();
      ObjectNode entry = value.addObject();
      entry.put("topic", tp.topic());
      entry.put("partition", tp.partition());
      entry.put("offset", offset);
      entry.put("logEndOffset", end);
      entry.put("lag", offset < 0 ? end : end - offset);
    });
    return value;
  }
}
