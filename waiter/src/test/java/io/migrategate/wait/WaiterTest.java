package io.migrategate.wait;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobConditionBuilder;
import io.migrategate.core.JobVerdictTest;
import io.migrategate.wait.WaiterConfig.LogFormat;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The waiting loop against a scripted Job source: exit codes, reasons and the log lines. */
class WaiterTest {
  private final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();

  /** A source that plays back events given per Job as soon as it is asked to follow that Job. */
  private static final class ScriptedSource implements JobSource {
    final Map<String, List<JobEvent>> script = new ConcurrentHashMap<>();

    ScriptedSource on(String job, JobEvent... events) {
      script.put(job, List.of(events));
      return this;
    }

    @Override
    public void follow(String namespace, String job, Consumer<JobEvent> events) {
      script.getOrDefault(job, List.of()).forEach(events);
    }

    @Override
    public void close() {}
  }

  @Test
  void exitsZeroWhenTheJobCompletes() throws Exception {
    Exit exit =
        run(
            config("db-migrate"),
            new ScriptedSource()
                .on(
                    "db-migrate",
                    new JobEvent.Missing("db-migrate"),
                    observed("db-migrate", "uid-1", running()),
                    observed("db-migrate", "uid-1", complete())));
    assertEquals(ExitCode.SUCCEEDED, exit.code());
    assertEquals(
        List.of("not_found", "running", "succeeded"), events(), "one line per state transition");
    assertTrue(log().contains("msg=\"not found, waiting for it to be created\""), log());
    assertTrue(log().contains("succeeded after"), log());
  }

  @Test
  void exitsTwoWithTheConditionsReasonWhenTheJobFails() throws Exception {
    Exit exit =
        run(
            config("db-migrate"),
            new ScriptedSource()
                .on(
                    "db-migrate",
                    observed("db-migrate", "uid-1", running()),
                    observed(
                        "db-migrate",
                        "uid-1",
                        condition(
                            "Failed",
                            "BackoffLimitExceeded",
                            "Job has reached the specified backoff limit"))));
    assertEquals(ExitCode.JOB_FAILED, exit.code());
    assertEquals(
        "job shop/db-migrate failed: BackoffLimitExceeded: Job has reached the specified backoff limit",
        exit.reason());
  }

  @Test
  void logsTheSameStateOnlyOnce() throws Exception {
    run(
        config("db-migrate"),
        new ScriptedSource()
            .on(
                "db-migrate",
                observed("db-migrate", "uid-1", running()),
                observed("db-migrate", "uid-1", running()),
                observed("db-migrate", "uid-1", running()),
                new JobEvent.Missing("db-migrate"),
                new JobEvent.Missing("db-migrate"),
                observed("db-migrate", "uid-2", complete())));
    assertEquals(List.of("running", "not_found", "recreated", "succeeded"), events());
    assertTrue(log().contains("deleted, waiting for it to be re-created"), log());
  }

  @Test
  void judgesTheNewJobWhenItIsRecreatedUnderTheSameName() throws Exception {
    Exit exit =
        run(
            config("db-migrate"),
            new ScriptedSource()
                .on(
                    "db-migrate",
                    observed("db-migrate", "old", running()),
                    observed(
                        "db-migrate",
                        "new",
                        condition(
                            "Failed",
                            "DeadlineExceeded",
                            "Job was active longer than specified deadline"))));
    assertEquals(ExitCode.JOB_FAILED, exit.code());
    assertTrue(log().contains("event=recreated uid=new"), log());
  }

  @Test
  void allJobsMustSucceed() throws Exception {
    Exit exit =
        run(
            config("schema,data"),
            new ScriptedSource()
                .on("schema", observed("schema", "u1", complete()))
                .on("data", observed("data", "u2", running()), observed("data", "u2", complete())));
    assertEquals(ExitCode.SUCCEEDED, exit.code());
    assertEquals(List.of("succeeded", "running", "succeeded"), events());
  }

  @Test
  void theFirstFailureFailsEvenIfOtherJobsSucceed() throws Exception {
    Exit exit =
        run(
            config("schema,data"),
            new ScriptedSource()
                .on("schema", observed("schema", "u1", complete()))
                .on(
                    "data",
                    observed(
                        "data", "u2", condition("FailureTarget", "PodFailurePolicy", "exit 42"))));
    assertEquals(ExitCode.JOB_FAILED, exit.code());
    assertEquals("job shop/data failed: PodFailurePolicy: exit 42", exit.reason());
  }

  @Test
  void aSuspendedJobKeepsTheWaiterWaitingUntilTheTimeout() throws Exception {
    WaiterConfig config = withTimeout(config("db-migrate"), Duration.ofMillis(300));
    long start = System.nanoTime();
    Exit exit =
        run(
            config,
            new ScriptedSource()
                .on(
                    "db-migrate",
                    observed(
                        "db-migrate",
                        "u1",
                        condition("Suspended", "JobSuspended", "Job suspended"))));
    assertEquals(ExitCode.TIMEOUT, exit.code());
    assertTrue(System.nanoTime() - start >= Duration.ofMillis(300).toNanos());
    assertTrue(
        exit.reason()
            .matches(
                "timed out after \\d+\\.\\d s waiting for job shop/db-migrate \\(suspended\\)"),
        exit.reason());
    assertEquals(List.of("suspended", "timeout"), events());
  }

  @Test
  void aMissingJobTimesOutSayingItWasNotFound() throws Exception {
    Exit exit =
        run(
            withTimeout(config("db-migrate"), Duration.ofMillis(100)),
            new ScriptedSource().on("db-migrate", new JobEvent.Missing("db-migrate")));
    assertEquals(ExitCode.TIMEOUT, exit.code());
    assertTrue(exit.reason().contains("job shop/db-migrate (not found)"), exit.reason());
  }

  @Test
  void aJobOfAnotherRevisionIsNotASuccess() throws Exception {
    WaiterConfig config =
        new WaiterConfig(
            "shop",
            List.of("db-migrate"),
            Optional.of(Duration.ofMillis(100)),
            "42",
            Optional.empty(),
            Path.of("/nonexistent"),
            LogFormat.TEXT);
    Exit exit =
        run(
            config,
            new ScriptedSource().on("db-migrate", observed("db-migrate", "u1", complete())));
    assertEquals(ExitCode.TIMEOUT, exit.code());
    assertTrue(log().contains("a different run (no revision, expecting 42)"), log());
  }

  @Test
  void deniedAccessExitsFourWithTheSourcesMessage() throws Exception {
    String message = "not permitted: ServiceAccount shop/app cannot get jobs.batch \"db-migrate\"";
    Exit exit =
        run(
            config("db-migrate"),
            new ScriptedSource().on("db-migrate", new JobEvent.Denied("db-migrate", message)));
    assertEquals(ExitCode.NOT_PERMITTED, exit.code());
    assertEquals(message, exit.reason());
  }

  @Test
  void jsonLogsCarryTheSameFields() throws Exception {
    WaiterConfig json =
        new WaiterConfig(
            "shop",
            List.of("db-migrate"),
            Optional.empty(),
            null,
            Optional.empty(),
            Path.of("/nonexistent"),
            LogFormat.JSON);
    run(
        json,
        new ScriptedSource()
            .on(
                "db-migrate",
                observed("db-migrate", "u1", running()),
                observed("db-migrate", "u1", complete())));
    String first = log().lines().findFirst().orElseThrow();
    assertTrue(
        first.matches(
            "\\{\"ts\":\"[^\"]+\",\"level\":\"info\",\"job\":\"shop/db-migrate\",\"event\":\"running\",\"uid\":\"u1\",\"msg\":\"running \\(1 active\\)\"}"),
        first);
  }

  private Exit run(WaiterConfig config, JobSource source) throws InterruptedException {
    WaitLog log =
        new WaitLog(
            config.logFormat(),
            new PrintStream(logBytes, true, StandardCharsets.UTF_8),
            Clock.systemUTC());
    return new Waiter(config, source, log, System::nanoTime).await();
  }

  private String log() {
    return logBytes.toString(StandardCharsets.UTF_8);
  }

  /** The event= values of the log, in order. */
  private List<String> events() {
    return log()
        .lines()
        .map(line -> line.replaceAll(".* event=(\\S+).*", "$1"))
        .collect(Collectors.toCollection(ArrayList::new));
  }

  private static WaiterConfig config(String jobs) {
    return new WaiterConfig(
        "shop",
        List.of(jobs.split(",")),
        Optional.empty(),
        null,
        Optional.empty(),
        Path.of("/nonexistent"),
        LogFormat.TEXT);
  }

  private static WaiterConfig withTimeout(WaiterConfig config, Duration timeout) {
    return new WaiterConfig(
        config.namespace(),
        config.jobs(),
        Optional.of(timeout),
        config.revision(),
        config.kubeconfig(),
        config.terminationLog(),
        config.logFormat());
  }

  private static JobEvent observed(String name, String uid, JobBuilder job) {
    return new JobEvent.Observed(
        name,
        JobVerdictTest.snapshot(
            job.editOrNewMetadata()
                .withNamespace("shop")
                .withName(name)
                .withUid(uid)
                .endMetadata()
                .build()));
  }

  private static JobBuilder running() {
    return new JobBuilder().withNewStatus().withActive(1).endStatus();
  }

  private static JobBuilder complete() {
    return condition("Complete", "CompletionsReached", "Reached expected number of succeeded pods");
  }

  private static JobBuilder condition(String type, String reason, String message) {
    return new JobBuilder()
        .withNewStatus()
        .withConditions(
            new JobConditionBuilder()
                .withType(type)
                .withStatus("True")
                .withReason(reason)
                .withMessage(message)
                .build())
        .endStatus();
  }
}
