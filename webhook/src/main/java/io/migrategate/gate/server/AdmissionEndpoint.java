package io.migrategate.gate.server;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DatabindException;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionRequest;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponse;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponseBuilder;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReview;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReviewBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.migrategate.gate.admission.AdmissionReviewer;
import io.migrategate.gate.admission.Reasons;
import io.migrategate.gate.admission.ReviewResult;
import io.migrategate.gate.admission.WouldBlockException;
import io.migrategate.gate.observability.GateLog;
import io.migrategate.gate.observability.GateMetrics;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The HTTP side of {@code POST /mutate}: decides which status a request body gets and what the
 * reply says, before and after the {@link AdmissionReviewer}. It owns the envelope rules (content
 * type, JSON, "an admission.k8s.io/v1 AdmissionReview with a request.uid"); the reviewer owns the
 * injection decision. Nothing here throws: every input ends in a {@link Reply}.
 */
public final class AdmissionEndpoint {
  public static final long MAX_BODY_BYTES = 3L * 1024 * 1024;
  static final String API_VERSION = "admission.k8s.io/v1";
  static final String KIND = "AdmissionReview";
  private static final int MAX_MESSAGE_CHARS = 300;

  /** One HTTP answer: status, JSON body, and the outcome to count. */
  record Reply(int status, Buffer body) {}

  private final AdmissionReviewer reviewer;
  private final ObjectMapper mapper;
  private final GateMetrics metrics;
  private final GateLog log;
  private final AtomicLong lastInternalErrorLogNanos =
      new AtomicLong(System.nanoTime() - 60_000_000_000L);

  public AdmissionEndpoint(AdmissionReviewer reviewer, GateMetrics metrics, GateLog log) {
    this.reviewer = reviewer;
    this.mapper = mapper();
    this.metrics = metrics;
    this.log = log;
  }

  /**
   * Jackson configured like fabric8's client, except that {@code request.object} and {@code
   * request.oldObject} stay JSON trees ({@link JsonNode}) instead of becoming typed models: the
   * reviewer works on the pod's JSON (to keep fields the model may not know), and binding a whole
   * Pod only to turn it back into a tree cost about a third of a review's CPU.
   */
  static ObjectMapper mapper() {
    ObjectMapper mapper = new ObjectMapper();
    new KubernetesSerialization(mapper, true);
    mapper.addMixIn(AdmissionRequest.class, ObjectsAsTrees.class);
    return mapper;
  }

  /** Mix-in for {@link AdmissionRequest}: its two embedded objects are read as trees. */
  abstract static class ObjectsAsTrees {
    @JsonDeserialize(using = TreeDeserializer.class)
    abstract void setObject(Object object);

    @JsonDeserialize(using = TreeDeserializer.class)
    abstract void setOldObject(Object oldObject);
  }

  /** Reads any JSON value as a tree: null, an object, or whatever the body holds there. */
  static final class TreeDeserializer extends JsonDeserializer<Object> {
    @Override
    public Object deserialize(JsonParser parser, DeserializationContext context)
        throws IOException {
      return parser.readValueAsTree();
    }
  }

  /** The media types the API server sends; parameters such as charset are allowed. */
  public static boolean isJson(String contentType) {
    if (contentType == null) {
      return false;
    }
    int semicolon = contentType.indexOf(';');
    String type = (semicolon < 0 ? contentType : contentType.substring(0, semicolon)).trim();
    return type.equalsIgnoreCase("application/json");
  }

  Reply unsupportedMediaType(String contentType) {
    return invalid(
        415,
        "unsupported-media-type",
        "UnsupportedMediaType",
        "Content-Type is '"
            + (contentType == null ? "" : shorten(contentType))
            + "': send the AdmissionReview as application/json");
  }

  Reply bodyTooLarge() {
    return invalid(
        413,
        "body-too-large",
        "RequestEntityTooLarge",
        "request body is larger than "
            + MAX_BODY_BYTES
            + " bytes, the limit for an AdmissionReview");
  }

  Reply serverError(Throwable failure) {
    return invalid(
        500,
        "server-error",
        "InternalError",
        "migrate-gate failed to handle the request: "
            + (failure == null ? "unknown error" : shorten(failure.toString())));
  }

  /**
   * Parses, checks and reviews one body. On an event loop it may throw {@link WouldBlockException}:
   * call it again from a worker thread.
   */
  Reply decide(byte[] body) {
    return decide(body, AdmissionReviewer.Entry.STANDARD);
  }

  /** {@link #decide(byte[])} for a review sent by the given webhook entry. */
  Reply decide(byte[] body, AdmissionReviewer.Entry entry) {
    if (body.length == 0) {
      return invalid(
          400, "malformed-json", "BadRequest", "request body is empty: send an AdmissionReview");
    }
    AdmissionReview review;
    try (JsonParser parser = mapper.createParser(body)) {
      review = mapper.readValue(parser, AdmissionReview.class);
      // Not DeserializationFeature.FAIL_ON_TRAILING_TOKENS: fabric8's nested deserializers
      // trip over it. A body is one JSON value, nothing after it.
      if (parser.nextToken() != null) {
        return invalid(
            400,
            "malformed-json",
            "BadRequest",
            "request body is not valid JSON: data after the end of the AdmissionReview");
      }
    } catch (DatabindException e) {
      // Valid JSON of the wrong shape somewhere: if the envelope still names a review, answer it.
      return undecodable(body, message(e));
    } catch (JsonProcessingException e) {
      return invalid(
          400, "malformed-json", "BadRequest", "request body is not valid JSON: " + message(e));
    } catch (Exception | StackOverflowError e) {
      return undecodable(body, e.toString());
    }
    String problem = envelopeProblem(review);
    if (problem != null) {
      return invalid(400, "not-admission-review", "BadRequest", problem);
    }
    return review(review, entry);
  }

  private Reply review(AdmissionReview review, AdmissionReviewer.Entry entry) {
    String uid = review.getRequest().getUid();
    ReviewResult result;
    try {
      result = reviewer.review(review, entry);
    } catch (WouldBlockException e) {
      throw e;
    } catch (Throwable e) {
      return internalError(uid, "the reviewer failed: " + e);
    }
    if (result == null
        || result.response() == null
        || result.response().getResponse() == null
        || !uid.equals(result.response().getResponse().getUid())
        || result.outcome() == null) {
      return internalError(uid, "the reviewer returned no response for this request uid");
    }
    byte[] json;
    try {
      json = mapper.writeValueAsBytes(result.response());
    } catch (Exception | StackOverflowError e) {
      return internalError(uid, "cannot serialize the reviewer's response: " + e);
    }
    metrics.countReview(
        result.outcome().name().toLowerCase(Locale.ROOT), result.reason(), result.dryRun());
    return new Reply(200, Buffer.buffer(json));
  }

  /** Why this is not a review the gate answers, or null when it is one. */
  private static String envelopeProblem(AdmissionReview review) {
    if (review == null) {
      return "request body is JSON null: send an " + API_VERSION + " " + KIND;
    }
    if (!API_VERSION.equals(review.getApiVersion()) || !KIND.equals(review.getKind())) {
      return "expected apiVersion "
          + API_VERSION
          + " and kind "
          + KIND
          + ", got apiVersion '"
          + shorten(String.valueOf(review.getApiVersion()))
          + "' and kind '"
          + shorten(String.valueOf(review.getKind()))
          + "': list only v1 in the webhook's admissionReviewVersions";
    }
    AdmissionRequest request = review.getRequest();
    if (request == null) {
      return "the AdmissionReview has no request";
    }
    if (request.getUid() == null || request.getUid().isBlank()) {
      return "the AdmissionReview's request has no uid";
    }
    return null;
  }

  /**
   * The typed model rejected the body. When its envelope is still recognisably a v1 review with a
   * uid, deny that request with the decoding error (the API server shows it to the user); otherwise
   * it is a bad request.
   */
  private Reply undecodable(byte[] body, String error) {
    String uid = null;
    try {
      JsonNode tree = mapper.readTree(body);
      if (tree != null
          && tree.isObject()
          && API_VERSION.equals(tree.path("apiVersion").asText(null))
          && KIND.equals(tree.path("kind").asText(null))
          && tree.path("request").path("uid").isTextual()
          && !tree.path("request").path("uid").asText().isBlank()) {
        uid = tree.path("request").path("uid").asText();
      }
    } catch (Exception | StackOverflowError e) {
      // not even a JSON tree: a bad request
    }
    if (uid == null) {
      return invalid(
          400,
          "not-admission-review",
          "BadRequest",
          "request body is not an " + API_VERSION + " " + KIND + ": " + shorten(error));
    }
    metrics.countReview("error", "undecodable-request", false);
    return deny(uid, 400, "migrate-gate cannot decode this AdmissionReview: " + shorten(error));
  }

  private Reply internalError(String uid, String error) {
    metrics.countReview("error", Reasons.INTERNAL_ERROR, false);
    // A bug here repeats per request; one line a minute is enough to find it.
    long now = System.nanoTime();
    long last = lastInternalErrorLogNanos.get();
    if (now - last > 60_000_000_000L && lastInternalErrorLogNanos.compareAndSet(last, now)) {
      log.error("admission review failed inside the gate", "uid", uid, "error", error);
    }
    return deny(
        uid,
        500,
        "migrate-gate internal error, the pod was not admitted (see the gate's log): "
            + shorten(error));
  }

  /** An answered review that rejects the object; the uid is echoed as the API server requires. */
  private Reply deny(String uid, int code, String message) {
    AdmissionResponse response =
        new AdmissionResponseBuilder()
            .withUid(uid)
            .withAllowed(false)
            .withStatus(new StatusBuilder().withCode(code).withMessage(message).build())
            .build();
    AdmissionReview review =
        new AdmissionReviewBuilder()
            .withApiVersion(API_VERSION)
            .withKind(KIND)
            .withResponse(response)
            .build();
    return new Reply(200, json(review));
  }

  private Reply invalid(int status, String metricReason, String reason, String message) {
    metrics.countInvalidRequest(status, metricReason);
    Status body =
        new StatusBuilder()
            .withApiVersion("v1")
            .withKind("Status")
            .withNewMetadata()
            .endMetadata()
            .withStatus("Failure")
            .withReason(reason)
            .withCode(status)
            .withMessage(message)
            .build();
    return new Reply(status, json(body));
  }

  private Buffer json(Object value) {
    try {
      return Buffer.buffer(mapper.writeValueAsBytes(value));
    } catch (JsonProcessingException e) {
      // Our own small objects always serialize; keep a valid body regardless.
      return Buffer.buffer("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\"}");
    }
  }

  private static String message(JsonProcessingException e) {
    String message = e.getOriginalMessage();
    return shorten(message == null ? e.toString() : message);
  }

  private static String shorten(String text) {
    String single = text.replace('\n', ' ').replace('\r', ' ');
    return single.length() <= MAX_MESSAGE_CHARS
        ? single
        : single.substring(0, MAX_MESSAGE_CHARS) + "...";
  }
}
