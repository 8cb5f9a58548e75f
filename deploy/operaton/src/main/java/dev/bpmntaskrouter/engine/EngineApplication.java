package dev.bpmntaskrouter.engine;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * Operaton process engine with its REST API under {@code /engine-rest}, run by
 * the tests and the demo of bpmn-task-router. Settings are in
 * {@code application.properties}; {@code deploy/operaton/engine} and
 * {@code src/demo/operaton.ts} start it.
 */
@SpringBootApplication
public class EngineApplication {

  public static void main(String[] args) {
    SpringApplication.run(EngineApplication.class, args);
  }
}
