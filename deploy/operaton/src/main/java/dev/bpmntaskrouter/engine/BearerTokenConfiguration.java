package dev.bpmntaskrouter.engine;

import java.nio.charset.StandardCharsets;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Protects {@code /engine-rest/*} with OAuth 2.0 bearer tokens when
 * {@code engine.oauth.enabled=true}. The tokens are JWTs signed with HS256 and
 * the shared secret {@code engine.oauth.jwt-secret}, as issued by a token
 * endpoint that knows the same secret (the tests start one on loopback).
 * This stands in for an identity provider in tests and demos; it is not a
 * replacement for a real resource-server set-up.
 */
@Configuration
@ConditionalOnProperty(name = "engine.oauth.enabled", havingValue = "true")
public class BearerTokenConfiguration {

  /** Shortest secret accepted: HS256 keys should have at least 256 bits. */
  private static final int MIN_SECRET_BYTES = 32;

  @Bean
  public FilterRegistrationBean<JwtBearerFilter> jwtBearerFilter(
      @Value("${engine.oauth.jwt-secret:}") String secret,
      @Value("${engine.oauth.audience:}") String audience,
      @Value("${engine.basic-auth:false}") boolean basicAuth) {
    if (basicAuth) {
      throw new IllegalStateException(
          "engine.oauth.enabled=true and engine.basic-auth=true were both set; turn one of them off");
    }
    if (secret.getBytes(StandardCharsets.UTF_8).length < MIN_SECRET_BYTES) {
      throw new IllegalStateException(
          "engine.oauth.enabled=true needs engine.oauth.jwt-secret (environment ENGINE_OAUTH_JWTSECRET) "
              + "of at least " + MIN_SECRET_BYTES + " bytes");
    }

    FilterRegistrationBean<JwtBearerFilter> registration =
        new FilterRegistrationBean<>(new JwtBearerFilter(secret, audience.isBlank() ? null : audience));
    registration.setName("engine-bearer-token");
    registration.addUrlPatterns("/engine-rest/*");
    return registration;
  }
}
