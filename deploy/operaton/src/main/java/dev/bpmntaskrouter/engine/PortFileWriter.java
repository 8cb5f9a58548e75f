package dev.bpmntaskrouter.engine;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.boot.web.context.WebServerApplicationContext;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

/**
 * Writes the HTTP port to the file named by {@code engine.port-file} once the
 * application is ready, so a launcher that started the engine with
 * {@code server.port=0} learns the port without parsing the log. The file
 * appears only after the process engine and the web server are both up.
 */
@Component
public class PortFileWriter {

  private static final Logger LOG = LoggerFactory.getLogger(PortFileWriter.class);

  private final String portFile;

  public PortFileWriter(@Value("${engine.port-file:}") String portFile) {
    this.portFile = portFile;
  }

  @EventListener
  public void onApplicationReady(ApplicationReadyEvent event) {
    if (portFile.isBlank()) {
      return;
    }
    if (!(event.getApplicationContext() instanceof WebServerApplicationContext context)) {
      throw new IllegalStateException("engine.port-file is set but the application runs no web server");
    }

    int port = context.getWebServer().getPort();
    writeAtomically(Path.of(portFile), Integer.toString(port));
    LOG.info("Wrote port {} to {}", port, portFile);
  }

  /** Writes through a temporary file and a rename, so a reader never sees a partial number. */
  private static void writeAtomically(Path target, String content) {
    Path absolute = target.toAbsolutePath();
    Path temporary = absolute.resolveSibling(absolute.getFileName() + ".tmp");
    try {
      Files.createDirectories(absolute.getParent());
      Files.writeString(temporary, content + "\n", StandardCharsets.US_ASCII);
      Files.move(temporary, absolute, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("failed to write the port file " + absolute, e);
    }
  }
}
