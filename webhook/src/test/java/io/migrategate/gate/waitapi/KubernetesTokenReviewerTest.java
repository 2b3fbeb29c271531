package io.migrategate.gate.waitapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.migrategate.gate.waitapi.TokenReviewer.Result;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What the gate accepts of an API server's TokenReview answer (the API server's own behaviour for
 * real tokens is in GateSecurityClusterTest): only a confirmed audience and a pod-bound token.
 */
@EnableKubernetesMockClient
class KubernetesTokenReviewerTest {
  private static final String PATH = "/apis/authentication.k8s.io/v1/tokenreviews";

  KubernetesMockServer server;
  KubernetesClient client;

  private Result answer(TokenReview review) {
    server.expect().post().withPath(PATH).andReturn(201, review).once();
    return new KubernetesTokenReviewer(client, "migrate-gate").review(FakeJwt.podBound());
  }

  private static TokenReview authenticated(
      List<String> audiences, Map<String, List<String>> extra) {
    return new TokenReviewBuilder()
        .withStatus(
            new TokenReviewStatusBuilder()
                .withAuthenticated(true)
                .withAudiences(audiences)
                .withNewUser()
                .withUsername("system:serviceaccount:shop:app")
                .withExtra(extra)
                .endUser()
                .build())
        .build();
  }

  private static final Map<String, List<String>> POD =
      Map.of(
          "authentication.kubernetes.io/pod-name", List.of("web-1"),
          "authentication.kubernetes.io/pod-uid", List.of("0d6e6a2f-7c35-4c1e-9a43-1f0e6b6d9e01"));

  @Test
  void aPodBoundTokenForTheGatesAudienceIsAccepted() {
    Result.Authenticated caller =
        assertInstanceOf(
            Result.Authenticated.class, answer(authenticated(List.of("migrate-gate"), POD)));
    assertEquals("shop", caller.namespace());
    assertEquals("app", caller.serviceAccount());
    assertEquals("web-1", caller.pod());
    assertTrue(caller.expiresAtEpochSecond() > 0, "exp read from the token");
  }

  @Test
  void emptyAudiencesAreRejected() {
    // Empty status.audiences means "the API server's own audiences", not the gate's.
    Result.Rejected rejected =
        assertInstanceOf(Result.Rejected.class, answer(authenticated(List.of(), POD)));
    assertTrue(rejected.reason().contains("empty status.audiences"), rejected.reason());
  }

  @Test
  void anotherAudienceIsRejected() {
    assertInstanceOf(
        Result.Rejected.class,
        answer(authenticated(List.of("https://kubernetes.default.svc.cluster.local"), POD)));
  }

  @Test
  void aTokenNotBoundToAPodIsRejected() {
    Result.Rejected rejected =
        assertInstanceOf(
            Result.Rejected.class, answer(authenticated(List.of("migrate-gate"), Map.of())));
    assertTrue(rejected.reason().contains("not bound to a pod"), rejected.reason());
    assertInstanceOf(
        Result.Rejected.class,
        answer(
            authenticated(
                List.of("migrate-gate"),
                Map.of("authentication.kubernetes.io/pod-name", List.of("web-1")))));
  }

  @Test
  void anUnauthenticatedTokenIsRejectedAndAFailedReviewIsUnavailable() {
    assertInstanceOf(
        Result.Rejected.class,
        answer(
            new TokenReviewBuilder()
                .withStatus(
                    new TokenReviewStatusBuilder()
                        .withAuthenticated(false)
                        .withError("invalid bearer token")
                        .build())
                .build()));
    server.expect().post().withPath(PATH).andReturn(500, "boom").once();
    assertInstanceOf(
        Result.Unavailable.class,
        new KubernetesTokenReviewer(client, "migrate-gate").review(FakeJwt.podBound()));
  }
}
