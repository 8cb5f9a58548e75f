package dev.bpmntaskrouter.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Accepts a request only with {@code Authorization: Bearer <JWT>} whose
 * HS256 signature matches the shared secret, whose {@code exp} lies in the
 * future and whose {@code nbf}, when present, has passed. With an audience
 * configured, {@code aud} must name it. Any other request gets 401 with a
 * {@code WWW-Authenticate: Bearer} header (RFC 6750) whose
 * {@code error_description} says what was wrong.
 */
public class JwtBearerFilter implements Filter {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String PREFIX = "Bearer ";

  private final byte[] secret;
  private final String audience;

  public JwtBearerFilter(String secret, String audience) {
    this.secret = secret.getBytes(StandardCharsets.UTF_8);
    this.audience = audience;
  }

  @Override
  public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
      throws IOException, ServletException {
    String header = ((HttpServletRequest) request).getHeader("Authorization");
    String problem = header == null || !header.regionMatches(true, 0, PREFIX, 0, PREFIX.length())
        ? "missing bearer token"
        : check(header.substring(PREFIX.length()).trim());
    if (problem == null) {
      chain.doFilter(request, response);
      return;
    }

    HttpServletResponse http = (HttpServletResponse) response;
    http.setStatus(HttpServletResponse.SC_UNAUTHORIZED);
    http.setHeader("WWW-Authenticate", "Bearer error=\"invalid_token\", error_description=\"" + problem + "\"");
    http.setContentType("application/json");
    http.getWriter().write("{\"type\":\"AuthenticationException\",\"message\":\"" + problem + "\"}");
  }

  /** Returns what is wrong with the token, or null when it is valid. */
  private String check(String token) {
    String[] parts = token.split("\\.", -1);
    if (parts.length != 3) {
      return "malformed token";
    }

    try {
      JsonNode header = JSON.readTree(Base64.getUrlDecoder().decode(parts[0]));
      if (!"HS256".equals(header.path("alg").asText())) {
        return "unsupported algorithm";
      }
      byte[] expected = sign(parts[0] + "." + parts[1]);
      if (!MessageDigest.isEqual(expected, Base64.getUrlDecoder().decode(parts[2]))) {
        return "invalid signature";
      }

      JsonNode claims = JSON.readTree(Base64.getUrlDecoder().decode(parts[1]));
      long now = System.currentTimeMillis() / 1000;
      if (!claims.path("exp").canConvertToLong() || claims.path("exp").asLong() <= now) {
        return "token expired";
      }
      if (claims.has("nbf") && claims.path("nbf").asLong() > now) {
        return "token not yet valid";
      }
      if (audience != null && !hasAudience(claims.path("aud"))) {
        return "wrong audience";
      }
      return null;
    } catch (IllegalArgumentException | IOException e) {
      return "malformed token";
    }
  }

  private boolean hasAudience(JsonNode aud) {
    if (aud.isArray()) {
      for (JsonNode item : aud) {
        if (audience.equals(item.asText())) {
          return true;
        }
      }
      return false;
    }
    return audience.equals(aud.asText());
  }

  private byte[] sign(String content) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret, "HmacSHA256"));
      return mac.doFinal(content.getBytes(StandardCharsets.US_ASCII));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is not available in this JVM", e);
    }
  }
}
