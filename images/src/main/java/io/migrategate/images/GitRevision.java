package io.migrategate.images;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/** The {@code org.opencontainers.image.revision} label: the commit, "-dirty" with local changes. */
final class GitRevision {
  private GitRevision() {}

  static String of(Path root) throws InterruptedException {
    try {
      String commit = git(root, "rev-parse", "HEAD").strip();
      if (commit.isEmpty()) {
        return "unknown";
      }
      boolean dirty = !git(root, "status", "--porcelain", "--untracked-files=no").isBlank();
      return dirty ? commit + "-dirty" : commit;
    } catch (IOException e) {
      return "unknown";
    }
  }

  private static String git(Path root, String... args) throws IOException, InterruptedException {
    List<String> command = new java.util.ArrayList<>(List.of("git", "-C", root.toString()));
    command.addAll(List.of(args));
    Process git =
        new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    String out = new String(git.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    return git.waitFor() == 0 ? out : "";
  }
}
