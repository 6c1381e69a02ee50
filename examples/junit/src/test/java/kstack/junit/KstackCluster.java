package kstack.junit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A kstack test cluster: {@code node src/testing/serve.ts ARGS…} started, its ready line read, and
 * its HTTP control endpoint called (reset, namespaces, snapshots, the manual clock, broker faults).
 * Node 24 must be on PATH; {@code KSTACK_ROOT} names the kstack checkout when the tests live
 * outside it.
 */
public final class KstackCluster implements AutoCloseable {
  /** Generous: CI machines are loaded. */
  public static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
  /**
   * With "--connect" ready waits for Kafka's Connect worker too, a JVM: 10-60 s on a loaded machine,
   * over 240 s seen at load 60 with four JVMs starting at once (serve.ts gives up on the worker
   * itself after 180 s and says why).
   */
  public static final Duration CONNECT_READY_TIMEOUT = Duration.ofSeconds(420);
  public static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(120);

  private final Process process;
  private final HttpClient http = HttpClient.newHttpClient();
  private final String bootstrapServers;
  private final String controlUrl;
  private final String schemaRegistryUrl;
  private final String connectUrl;

  /** A refusal of the control endpoint: its HTTP status and error code (e.g. SNAPSHOT_NOT_FOUND). */
  public static final class KstackException extends RuntimeException {
    public final int status;
    public final String errorCode;

    KstackException(String request, int status, String body) {
      super("kstack: " + request + ": " + status + " " + body);
      this.status = status;
      this.errorCode = field(body, "error_code");
    }
  }

  private KstackCluster(Process process, String readyLine) {
    this.process = process;
    this.bootstrapServers = field(readyLine, "bootstrapServers");
    this.controlUrl = field(readyLine, "controlUrl");
    this.schemaRegistryUrl = field(readyLine, "schemaRegistryUrl");
    this.connectUrl = field(readyLine, "connectUrl");
    if (bootstrapServers == null || controlUrl == null) {
      process.destroyForcibly();
      throw new IllegalStateException("serve.ts printed " + readyLine);
    }
  }

  /** Starts a cluster with serve.ts arguments (e.g. "--brokers", "3" or "--clock", "manual"). */
  public static KstackCluster start(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("node", repoRoot().resolve("src/testing/serve.ts").toString()));
    command.addAll(List.of(args));
    Process process;
    try {
      process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    } catch (IOException e) {
      throw new IOException("starting node (Node 24 must be first on PATH): " + e.getMessage(), e);
    }
    BufferedReader stdout =
        new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
      try {
        return stdout.readLine();
      } catch (IOException e) {
        return null;
      }
    });
    Duration timeout = List.of(args).contains("--connect") ? CONNECT_READY_TIMEOUT : READY_TIMEOUT;
    String ready;
    try {
      ready = line.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
      process.destroyForcibly();
      throw new IllegalStateException("serve.ts not ready after " + timeout, e);
    }
    if (ready == null) {
      throw new IllegalStateException("serve.ts exited (" + process.waitFor() + ") before it was ready");
    }
    // Drain the rest so the process never blocks on a full pipe.
    Thread drain = new Thread(() -> {
      try {
        while (stdout.readLine() != null) {}
      } catch (IOException ignored) {
        // the process ended
      }
    });
    drain.setDaemon(true);
    drain.start();
    return new KstackCluster(process, ready);
  }

  private static Path repoRoot() {
    String root = System.getenv("KSTACK_ROOT");
    if (root != null && !root.isEmpty()) return Path.of(root);
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isRegularFile(dir.resolve("src/testing/serve.ts"))) return dir;
    }
    throw new IllegalStateException("no src/testing/serve.ts above the working directory: set KSTACK_ROOT");
  }

  /** The string value of a top-level JSON field (the endpoint's answers are flat). */
  static String field(String json, String name) {
    Matcher m = Pattern.compile("\"" + Pattern.quote(name) + "\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"").matcher(json);
    return m.find() ? m.group(1) : null;
  }

  private String call(String method, String path, String body) {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(controlUrl + path)).timeout(REQUEST_TIMEOUT);
    if (body == null) {
      request.method(method, HttpRequest.BodyPublishers.noBody());
    } else {
      request.header("content-type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
    }
    HttpResponse<String> response;
    try {
      response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new IllegalStateException("kstack: " + method + " " + path + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("kstack: " + method + " " + path + ": interrupted", e);
    }
    if (response.statusCode() >= 300) throw new KstackException(method + " " + path, response.statusCode(), response.body());
    return response.body();
  }

  /** Kafka's {@code bootstrap.servers}. */
  public String bootstrapServers() {
    return bootstrapServers;
  }

  public String controlUrl() {
    return controlUrl;
  }

  /** The Schema Registry of a cluster started with "--schema-registry" (emptied by every reset); null without. */
  public String schemaRegistryUrl() {
    return schemaRegistryUrl;
  }

  /**
   * Kafka Connect's REST API of a cluster started with "--connect" (every reset removes its
   * connectors and their offsets); null without.
   */
  public String connectUrl() {
    return connectUrl;
  }

  /** Back to the state right after start: topics, records, groups, offsets, transactions. */
  public void reset() {
    call("POST", "/reset", null);
  }

  /** A new prefix for this test's topics, groups and transactional ids. */
  public String namespace() {
    return field(call("POST", "/namespaces", null), "prefix");
  }

  public void snapshot(String name) {
    call("POST", "/snapshots/" + name, null);
  }

  public void restore(String name) {
    call("POST", "/snapshots/" + name + "/restore", null);
  }

  /** Moves a manual clock ("--clock", "manual") forward. */
  public void advanceClock(Duration by) {
    call("POST", "/clock/advance", "{\"ms\":" + by.toMillis() + "}");
  }

  /** Three brokers only: kills node {@code nodeId} (a crash). */
  public void kill(int nodeId) {
    call("POST", "/brokers/" + nodeId + "/kill", null);
  }

  /** Three brokers only: restarts a killed or stopped node; returns once it is registered and unfenced. */
  public void restart(int nodeId) {
    call("POST", "/brokers/" + nodeId + "/restart", null);
  }

  /** SIGTERM (a clean stop), then waits; the exit code. */
  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) process.destroy();
    if (!process.waitFor(READY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly().waitFor();
    }
  }

  int exitCode() {
    return process.exitValue();
  }
}
