package io.migrategate.cluster;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Marks a test class that runs against the shared local control plane. Test methods and
 * constructors may take {@link LocalCluster} or {@code KubernetesClient} parameters. Tests isolate
 * by namespace ({@link LocalCluster#createNamespace}).
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(LocalClusterExtension.class)
@Tag("cluster")
public @interface LocalClusterTest {
  /**
   * The real-node cluster ({@link LocalCluster#realNode()}: pods really run, as root) instead of
   * kwok's fake node ({@link LocalCluster#shared()}).
   */
  boolean realNode() default false;
}
