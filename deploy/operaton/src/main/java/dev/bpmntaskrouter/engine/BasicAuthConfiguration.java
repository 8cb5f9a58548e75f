package dev.bpmntaskrouter.engine;

import org.operaton.bpm.engine.rest.security.auth.ProcessEngineAuthenticationFilter;
import org.operaton.bpm.engine.rest.security.auth.impl.HttpBasicAuthenticationProvider;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Protects {@code /engine-rest/*} with HTTP basic authentication when
 * {@code engine.basic-auth=true}. Credentials are checked against the engine's
 * identity service, so the admin user named by {@code operaton.bpm.admin-user.id}
 * and {@code operaton.bpm.admin-user.password} (created at start by the
 * Operaton starter when missing) is the account to use.
 */
@Configuration
@ConditionalOnProperty(name = "engine.basic-auth", havingValue = "true")
public class BasicAuthConfiguration {

  @Bean
  public FilterRegistrationBean<ProcessEngineAuthenticationFilter> processEngineAuthenticationFilter(
      @Value("${operaton.bpm.admin-user.id:}") String adminUserId,
      @Value("${operaton.bpm.admin-user.password:}") String adminPassword) {
    if (adminUserId.isBlank() || adminPassword.isBlank()) {
      throw new IllegalStateException(
          "engine.basic-auth=true needs operaton.bpm.admin-user.id and operaton.bpm.admin-user.password "
              + "(environment OPERATON_BPM_ADMINUSER_ID and OPERATON_BPM_ADMINUSER_PASSWORD)");
    }

    FilterRegistrationBean<ProcessEngineAuthenticationFilter> registration =
        new FilterRegistrationBean<>(new ProcessEngineAuthenticationFilter());
    registration.setName("operaton-basic-auth");
    registration.addInitParameter(
        ProcessEngineAuthenticationFilter.AUTHENTICATION_PROVIDER_PARAM,
        HttpBasicAuthenticationProvider.class.getName());
    registration.addUrlPatterns("/engine-rest/*");
    return registration;
  }
}
