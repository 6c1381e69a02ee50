package kstack.junit;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * JUnit 5 extension: one kstack test cluster per test class (started before its first test,
 * stopped after its last), injected as a {@link KstackCluster} parameter, and reset after every
 * test so the next one sees none of its data.
 *
 * <pre>
 * &#64;ExtendWith(KstackExtension.class)
 * &#64;KstackExtension.Args({"--clock", "manual"})   // optional serve.ts arguments
 * class OrdersTest {
 *   &#64;Test void orders(KstackCluster kafka) { ... kafka.bootstrapServers() ... }
 * }
 * </pre>
 */
public final class KstackExtension implements ParameterResolver, AfterEachCallback {
  /** serve.ts arguments for the class's cluster. */
  @Retention(RetentionPolicy.RUNTIME)
  @Target(ElementType.TYPE)
  public @interface Args {
    String[] value();
  }

  private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(KstackExtension.class);

  /** Stopped by JUnit when the class's store closes (after its last test). */
  private record Running(KstackCluster cluster) implements AutoCloseable {
    @Override
    public void close() throws Exception {
      cluster.close();
      if (cluster.exitCode() != 0) throw new IllegalStateException("serve.ts exited " + cluster.exitCode());
    }
  }

  private static KstackCluster cluster(ExtensionContext context) {
    Class<?> testClass = context.getRequiredTestClass();
    // The class's own context: the one above the test (and a repeated test's container).
    ExtensionContext classContext = context;
    while (classContext.getTestMethod().isPresent()) classContext = classContext.getParent().orElseThrow();
    return classContext
        .getStore(NAMESPACE)
        .getOrComputeIfAbsent(
            testClass,
            key -> {
              Args args = testClass.getAnnotation(Args.class);
              try {
                return new Running(KstackCluster.start(args == null ? new String[0] : args.value()));
              } catch (Exception e) {
                throw new IllegalStateException("kstack: " + e.getMessage(), e);
              }
            },
            Running.class)
        .cluster();
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == KstackCluster.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    return cluster(context);
  }

  @Override
  public void afterEach(ExtensionContext context) {
    cluster(context).reset();
  }
}
