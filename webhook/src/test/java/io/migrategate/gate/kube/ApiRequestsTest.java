package io.migrategate.gate.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ApiRequestsTest {
  @ParameterizedTest(name = "{0} {1} -> {2} {3}")
  @CsvSource({
    "GET, /apis/batch/v1/jobs?limit=500, list, jobs",
    "GET, /apis/batch/v1/jobs?allowWatchBookmarks=true&watch=true&resourceVersion=5, watch, jobs",
    "GET, /apis/batch/v1/namespaces/shop/jobs/migrate-v2, get, jobs",
    "PUT, /api/v1/namespaces/migrate-gate/configmaps/migrate-gate-ledger-shop, update, configmaps",
    "POST, /apis/authentication.k8s.io/v1/tokenreviews, create, tokenreviews",
    "PATCH, /api/v1/namespaces/shop/pods/web-1/status, patch, pods/status",
    "GET, /api/v1/namespaces/shop, get, namespaces",
    "GET, /api/v1/namespaces, list, namespaces",
    "DELETE, /api/v1/namespaces/shop/events, deletecollection, events",
    "GET, /openid/v1/jwks, get, /openid/v1/jwks",
  })
  void namesVerbAndResourceAsTheApiServerCountsThem(
      String method, String path, String verb, String resource) {
    ApiRequests requests = new ApiRequests();
    requests.count(method, URI.create("https://10.0.0.1:443" + path));
    assertEquals(
        "migrate_gate_api_requests_total{verb=\"" + verb + "\",resource=\"" + resource + "\"} 1",
        requests.render().lines().filter(l -> !l.startsWith("#")).findFirst().orElseThrow());
  }

  @Test
  void countsAddUpPerLabelSetAndStayBounded() {
    ApiRequests requests = new ApiRequests();
    for (int i = 0; i < 3; i++) {
      requests.count("PUT", URI.create("https://h/api/v1/namespaces/g/configmaps/c" + i));
    }
    for (int i = 0; i < ApiRequests.MAX_LABEL_SETS + 50; i++) {
      requests.count("GET", URI.create("https://h/odd/path/" + i));
    }
    String text = requests.render();
    assertTrue(
        text.contains("migrate_gate_api_requests_total{verb=\"update\",resource=\"configmaps\"} 3"),
        text);
    assertEquals(
        ApiRequests.MAX_LABEL_SETS + 1,
        text.lines().filter(l -> !l.startsWith("#")).count(),
        "label sets beyond the cap go to one overflow series");
    assertTrue(text.contains("{verb=\"other\",resource=\"other\"} 51"), text);
  }
}
