import java.nio.file.Path;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;

/**
 * Starts one OpenSearch node from the jars on the classpath. Maven Central carries no distribution
 * tarball, so the plugins a distribution would load from its modules/ folder are passed as classpath
 * plugins instead. Bootstrap checks and the security manager belong to the distribution's Bootstrap
 * class and are skipped: this node serves tests and the demo on loopback only.
 *
 * Usage: java -cp 'lib/*:classes' Launcher <home> <http port> <transport port>
 */
public final class Launcher {
    private static final List<Class<? extends Plugin>> CLASSPATH_PLUGINS = List.of(
        org.opensearch.transport.Netty4Plugin.class,
        org.opensearch.analysis.common.CommonAnalysisPlugin.class,
        org.opensearch.index.mapper.MapperExtrasPlugin.class,
        org.opensearch.index.reindex.ReindexPlugin.class,
        org.opensearch.painless.PainlessPlugin.class
    );

    static final class ClasspathNode extends Node {
        ClasspathNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
            super(environment, plugins, true);
        }
    }

    public static void main(String[] args) throws Exception {
        Path home = Path.of(args[0]).toAbsolutePath();
        Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", "shardline-stack")
            .put("node.name", "shardline-1")
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", args[1])
            .put("transport.port", args[2])
            // One node: replicas could never be assigned, and the health would stay yellow.
            .put("cluster.default_number_of_replicas", 0)
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put("action.auto_create_index", true)
            .build();
        LogConfigurator.configureWithoutConfig(settings);
        Environment environment = InternalSettingsPreparer.prepareEnvironment(settings, Collections.emptyMap(), null, () -> "shardline-1");
        Node node = new ClasspathNode(environment, CLASSPATH_PLUGINS);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }));
        node.start();
        stopped.await();
    }
}
