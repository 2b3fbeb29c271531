package io.migrategate.cluster;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * What a real node changes on the host, as sorted text lines per aspect: the node's processes,
 * mounts, cgroups, network links, addresses and routes, iptables (all tables, both families,
 * counters zeroed), nftables tables, every sysctl under /proc/sys (minus counters that move on
 * their own) and the host paths the kubelet, containerd and CNI write to. Two snapshots compare
 * equal when the host is as it was.
 */
record HostSnapshot(Map<String, Set<String>> aspects) {

  /** Programs of the real node (process names, {@code comm}, at most 15 characters). */
  private static final Set<String> NODE_PROGRAMS =
      Set.of("kubelet", "kube-proxy", "containerd", "containerd-shim", "coredns", "pause");

  /**
   * Host paths written outside the node's state folder (hard-coded in kubelet, containerd, CNI).
   */
  private static final List<String> HOST_PATHS =
      List.of(
          "/var/log/pods",
          "/var/log/containers",
          "/var/lib/kubelet",
          "/var/lib/cni",
          "/run/containerd",
          "/var/run/netns",
          "/run/mount",
          "/usr/libexec/kubernetes",
          "/etc/cni",
          "/opt/cni",
          "/var/lib/containerd");

  /** Sysctls that change on their own (counters, random values). */
  private static final Pattern VOLATILE_SYSCTL =
      Pattern.compile(
          "fs\\.(dentry-state|file-nr|inode-nr|inode-state|aio-nr|quota\\..*)"
              + "|kernel\\.(ns_last_pid|random\\..*|pty\\.nr)"
              + "|net\\.netfilter\\.nf_conntrack_(count|expect_count)");

  private static final Pattern COUNTERS = Pattern.compile("\\[\\d+:\\d+\\]");

  static HostSnapshot take(Path nodeStateDir) {
    Map<String, Set<String>> aspects = new TreeMap<>();
    aspects.put("processes", processes(nodeStateDir));
    aspects.put("mounts", mounts());
    aspects.put("cgroups", cgroups());
    aspects.put("ip link", lines(command("ip", "-o", "link", "show")));
    aspects.put("ip addr", lines(command("ip", "-o", "addr", "show")));
    aspects.put("ip route", lines(command("ip", "route", "show", "table", "all")));
    aspects.put("ip -6 route", lines(command("ip", "-6", "route", "show", "table", "all")));
    aspects.put("iptables-save", iptables("iptables-save"));
    aspects.put("ip6tables-save", iptables("ip6tables-save"));
    aspects.put("nft list tables", lines(command("nft", "list", "tables")));
    aspects.put("sysctls", sysctls());
    aspects.put("host paths", hostPaths(nodeStateDir));
    return new HostSnapshot(aspects);
  }

  /** The differences, aspect by aspect ("-" only before, "+" only after); empty when equal. */
  String differencesTo(HostSnapshot after) {
    StringBuilder diff = new StringBuilder();
    for (String aspect : aspects.keySet()) {
      Set<String> gone = new TreeSet<>(aspects.get(aspect));
      gone.removeAll(after.aspects.get(aspect));
      Set<String> added = new TreeSet<>(after.aspects.get(aspect));
      added.removeAll(aspects.get(aspect));
      if (!gone.isEmpty() || !added.isEmpty()) {
        diff.append("== ").append(aspect).append('\n');
        gone.forEach(line -> diff.append("- ").append(line).append('\n'));
        added.forEach(line -> diff.append("+ ").append(line).append('\n'));
      }
    }
    return diff.toString();
  }

  private static Set<String> processes(Path nodeStateDir) {
    Set<String> result = new TreeSet<>();
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      for (Path proc : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
        try {
          String comm = Files.readString(proc.resolve("comm")).strip();
          String cmdline =
              new String(Files.readAllBytes(proc.resolve("cmdline")), StandardCharsets.UTF_8)
                  .replace('\0', ' ')
                  .strip();
          String cgroup = Files.readString(proc.resolve("cgroup"));
          if (NODE_PROGRAMS.contains(comm)
              || cmdline.contains(nodeStateDir.toString())
              || cgroup.contains("kubepods")) {
            result.add(comm + ": " + cmdline);
          }
        } catch (IOException e) {
          // the process ended while we looked
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot list /proc", e);
    }
    return result;
  }

  /** Mount point, file system type and source of every mount of this mount namespace. */
  private static Set<String> mounts() {
    Set<String> result = new TreeSet<>();
    for (String line : read(Path.of("/proc/self/mountinfo"))) {
      String[] halves = line.split(" - ", 2);
      String[] fields = halves[0].split(" ");
      String[] fs = halves.length > 1 ? halves[1].split(" ") : new String[0];
      result.add(
          fields[4]
              + " "
              + fields[3]
              + " "
              + (fs.length > 0 ? fs[0] : "")
              + " "
              + (fs.length > 1 ? fs[1] : ""));
    }
    return result;
  }

  /**
   * Cgroup folders down to three levels. The sandbox that runs these tests gives each of its
   * commands a memory cgroup under /process_api, which come and go on their own: left out.
   */
  private static Set<String> cgroups() {
    Set<String> result = new TreeSet<>();
    try (Stream<Path> dirs = Files.walk(Path.of("/sys/fs/cgroup"), 3)) {
      dirs.filter(Files::isDirectory)
          .map(Path::toString)
          .filter(p -> !p.contains("/process_api"))
          .forEach(result::add);
    } catch (IOException | RuntimeException e) {
      result.add("cannot walk /sys/fs/cgroup: " + e);
    }
    return result;
  }

  private static Set<String> iptables(String save) {
    Set<String> result = new TreeSet<>();
    String table = "";
    for (String line : command(save).split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      if (line.startsWith("*")) {
        table = line;
      }
      result.add(table + " " + COUNTERS.matcher(line).replaceAll("[0:0]"));
    }
    return result;
  }

  private static Set<String> sysctls() {
    Set<String> result = new TreeSet<>();
    Path root = Path.of("/proc/sys");
    try (Stream<Path> files = Files.walk(root)) {
      for (Path file : files.filter(Files::isRegularFile).toList()) {
        String key = root.relativize(file).toString().replace('/', '.');
        if (VOLATILE_SYSCTL.matcher(key).matches() || !Files.isReadable(file)) {
          continue;
        }
        try {
          result.add(key + " = " + Files.readString(file).strip().replaceAll("\\s+", " "));
        } catch (IOException | RuntimeException e) {
          // write-only or not readable in this state (e.g. stable_secret): not a setting to compare
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot walk /proc/sys", e);
    }
    return result;
  }

  private static Set<String> hostPaths(Path nodeStateDir) {
    Set<String> result = new TreeSet<>();
    List<Path> roots = new ArrayList<>();
    HOST_PATHS.forEach(p -> roots.add(Path.of(p)));
    roots.add(nodeStateDir);
    for (Path root : roots) {
      if (!Files.exists(root)) {
        continue;
      }
      try (Stream<Path> paths = Files.walk(root, 3)) {
        paths.map(Path::toString).forEach(result::add);
      } catch (IOException | RuntimeException e) {
        result.add(root + " (cannot list: " + e.getMessage() + ")");
      }
    }
    return result;
  }

  private static List<String> read(Path file) {
    try {
      return Files.readAllLines(file);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + file, e);
    }
  }

  private static Set<String> lines(String text) {
    Set<String> result = new TreeSet<>();
    for (String line : text.split("\n")) {
      if (!line.isBlank() && !line.contains(" cache ")) {
        result.add(line.strip());
      }
    }
    return result;
  }

  /** A command's standard output, or a line naming why it could not run. */
  private static String command(String... command) {
    try {
      Process process =
          new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
      String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        return "timed out: " + String.join(" ", command);
      }
      return out;
    } catch (IOException e) {
      return "cannot run " + String.join(" ", command) + ": " + e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
