package io.migrategate.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The Maven properties as the image build reads them, and the mistakes it names. */
class BuildOptionsTest {
  private static List<String> args(String... extra) {
    List<String> args =
        new ArrayList<>(List.of("--out=/tmp/images", "--project-root=/repo", "--version=1.2.3"));
    args.addAll(List.of(extra));
    return args;
  }

  @Test
  void localBuildsAreNamedMigrateGateLocalAndNeverPushed() {
    BuildOptions options = BuildOptions.parse(args());
    assertEquals("migrate-gate.local/waiter:1.2.3", options.reference("waiter"));
    assertTrue(options.localBase());
    assertFalse(options.push());
  }

  @Test
  void aRegistryPrefixesBothImages() {
    BuildOptions options =
        BuildOptions.parse(args("--registry=registry.example.com/platform/", "--push=true"));
    assertEquals("registry.example.com/platform/webhook:1.2.3", options.reference("webhook"));
    assertTrue(options.push());
  }

  @Test
  void pushingTheLocalNameIsRefusedWithTheFix() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> BuildOptions.parse(args("--push=true")));
    assertEquals(
        "-Dimage.push=true needs a registry: add -Dimage.registry=<your registry>/<path>"
            + " (migrate-gate.local is the name of local builds)",
        e.getMessage());
  }

  @Test
  void anEmptyBaseSaysWhichValuesWork() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> BuildOptions.parse(args("--base=")));
    assertTrue(
        e.getMessage().startsWith("image.base is empty: use -Dimage.base=local"), e.getMessage());
  }

  @Test
  void unknownArgumentsAreRefused() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> BuildOptions.parse(args("--regsitry=x")));
    assertTrue(e.getMessage().startsWith("unknown argument --regsitry=x"), e.getMessage());
  }
}
