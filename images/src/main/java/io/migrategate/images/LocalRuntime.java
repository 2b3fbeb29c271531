package io.migrategate.images;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.spi.ToolProvider;
import java.util.stream.Stream;

/**
 * The base of local builds, where no registry is reachable: a Java runtime made by {@code jlink}
 * from the build JDK with only the modules an image needs, plus the glibc libraries it links (found
 * with {@code ldd}), a passwd entry for UID 65532 and an nsswitch.conf — what a distroless Java
 * base holds, made from what this machine has.
 *
 * <p>Kept in a cache keyed by every input (the JDK's release file and libjvm, the modules, the
 * options, the libraries), because the CDS archive jlink writes differs between runs of JDK 17 (the
 * rest is byte-identical): with the cache, the same inputs give the same image digest.
 */
final class LocalRuntime {
  /** Bump when the layout below changes, so old cache entries are not reused. */
  private static final String FORMAT = "3";

  static final String JAVA_HOME = "/opt/java";
  static final String JAVA = JAVA_HOME + "/bin/java";

  private static final Pattern LDD_LINE =
      Pattern.compile("^\\s*(?:\\S+ => )?(/\\S+) \\(0x[0-9a-f]+\\)$");

  /**
   * @param modules the modules to link
   * @param defaultCds whether to keep the JDK's default CDS archive of its own classes (the gate;
   *     the waiter brings a static archive of everything it loads instead)
   */
  record Spec(String name, List<String> modules, boolean defaultCds) {}

  private LocalRuntime() {}

  /** The runtime's root file system (cached), built when missing. */
  static Path rootfs(Spec spec, Path cacheDir) throws IOException, InterruptedException {
    Path javaHome = Path.of(System.getProperty("java.home"));
    Path jmods = javaHome.resolve("jmods");
    if (!Files.isDirectory(jmods)) {
      throw new IOException(
          "the build JDK "
              + javaHome
              + " has no jmods/ folder, so jlink cannot make a runtime from it: build with a"
              + " full JDK (Debian: openjdk-17-jdk-headless), or give a base image:"
              + " -Dimage.base=<registry>/eclipse-temurin:17-jre@sha256:...");
    }
    String key = key(spec, javaHome);
    Path root = cacheDir.resolve("runtime-" + spec.name() + "-" + key);
    if (Files.isDirectory(root)) {
      return root;
    }
    Files.createDirectories(cacheDir);
    Path partial = cacheDir.resolve("runtime-" + spec.name() + "-" + key + ".partial");
    Files.deleteIfExists(partial);
    Paths.deleteTree(partial);
    Path java = partial.resolve(JAVA_HOME.substring(1));
    Files.createDirectories(java.getParent());
    jlink(spec, java);
    stripSymbols(java.resolve("lib/server/libjvm.so"));
    copyLinkedLibraries(java, partial);
    writeOsFiles(partial);
    // The image's files carry ImageBuild.FILE_TIME; so must these, before any CDS archive is
    // dumped: an archive records the modification time of lib/modules (and of the jar) and does
    // not map where it differs.
    Paths.setTimes(partial, ImageBuild.FILE_TIME);
    if (spec.defaultCds()) {
      dumpDefaultArchive(java);
    }
    Files.move(partial, root, StandardCopyOption.ATOMIC_MOVE);
    return root;
  }

  private static void jlink(Spec spec, Path output) throws IOException {
    ToolProvider jlink =
        ToolProvider.findFirst("jlink")
            .orElseThrow(() -> new IOException("no jlink in the build JDK: use a full JDK"));
    StringWriter log = new StringWriter();
    List<String> args =
        new java.util.ArrayList<>(
            List.of(
                "--add-modules",
                String.join(",", spec.modules()),
                "--strip-debug",
                "--no-man-pages",
                "--no-header-files",
                // Zip the modules image: most classes come from a CDS archive at start-up.
                "--compress=2",
                "--output",
                output.toString()));
    int code = jlink.run(new PrintWriter(log), new PrintWriter(log), args.toArray(String[]::new));
    if (code != 0) {
      throw new IOException("jlink " + args + " failed (exit " + code + "):\n" + log);
    }
  }

  /**
   * Copies every library outside the runtime that its ELF files link (libc, libm, libz, the dynamic
   * loader, ...) to the same path in the image, as regular files.
   */
  private static void copyLinkedLibraries(Path java, Path root)
      throws IOException, InterruptedException {
    Set<String> libraries = linkedLibraries(java);
    for (String library : libraries) {
      Path source = Path.of(library);
      Path target = root.resolve(library.substring(1));
      Files.createDirectories(target.getParent());
      Files.copy(source.toRealPath(), target, StandardCopyOption.REPLACE_EXISTING);
    }
    // Their licenses go along (Debian keeps one copyright file per package).
    for (String pkg : List.of("libc6", "zlib1g")) {
      Path copyright = Path.of("/usr/share/doc", pkg, "copyright");
      if (Files.isReadable(copyright)) {
        Path target = root.resolve("usr/share/doc").resolve(pkg).resolve("copyright");
        Files.createDirectories(target.getParent());
        Files.copy(copyright, target, StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }

  /** The libraries outside {@code java} that the runtime's ELF files link. */
  static Set<String> linkedLibraries(Path java) throws IOException, InterruptedException {
    List<Path> elfFiles;
    try (Stream<Path> files = Files.walk(java)) {
      elfFiles =
          files
              .filter(f -> Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS))
              .filter(LocalRuntime::isElf)
              .toList();
    }
    return linkedLibraries(java, elfFiles);
  }

  private static Set<String> linkedLibraries(Path java, List<Path> elfFiles)
      throws IOException, InterruptedException {
    Set<String> libraries = new TreeSet<>();
    for (Path elf : elfFiles) {
      Process ldd = new ProcessBuilder("ldd", elf.toString()).redirectErrorStream(true).start();
      String output = new String(ldd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (ldd.waitFor() != 0) {
        continue; // "not a dynamic executable": static, nothing to copy
      }
      for (String line : output.split("\n")) {
        // "libjvm.so => not found": the runtime's own libraries are found through the loaded
        // JVM, not the search path; anything else missing cannot run.
        if (line.contains("=> not found") && !ownLibrary(java, line.trim().split(" ")[0])) {
          throw new IOException(
              "ldd " + elf + " cannot resolve a library: " + line.trim() + " (install it)");
        }
        Matcher m = LDD_LINE.matcher(line);
        if (m.matches() && !Path.of(m.group(1)).startsWith(java)) {
          libraries.add(m.group(1));
        }
      }
    }
    if (libraries.stream().noneMatch(l -> l.contains("/ld-"))) {
      throw new IOException("ldd found no dynamic loader for the runtime in " + java);
    }
    return libraries;
  }

  /**
   * The JDK's default CDS archive of its own classes ({@code lib/server/classes.jsa}), what {@code
   * jlink --generate-cds-archive} makes, dumped here after the file times are final.
   */
  private static void dumpDefaultArchive(Path java) throws IOException, InterruptedException {
    Process dump =
        new ProcessBuilder(java.resolve("bin/java").toString(), "-Xshare:dump", "-Xlog:cds=off")
            .redirectErrorStream(true)
            .start();
    String output = new String(dump.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (dump.waitFor() != 0) {
      throw new IOException("dumping the default CDS archive of " + java + " failed:\n" + output);
    }
    Files.setLastModifiedTime(
        java.resolve("lib/server/classes.jsa"), FileTime.from(ImageBuild.FILE_TIME));
  }

  /**
   * Debian ships libjvm.so with its symbol table (3.5 MB of 23); only a crash report's native
   * frames would name functions with it. The image goes without, like the JDK's release builds.
   */
  private static void stripSymbols(Path library) throws IOException, InterruptedException {
    Process strip =
        new ProcessBuilder("strip", "--strip-unneeded", library.toString())
            .redirectErrorStream(true)
            .start();
    String output = new String(strip.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (strip.waitFor() != 0) {
      throw new IOException(
          "strip --strip-unneeded " + library + " failed (binutils installed?): " + output);
    }
  }

  private static boolean ownLibrary(Path java, String name) {
    try (Stream<Path> files = Files.walk(java)) {
      return files.anyMatch(f -> f.getFileName().toString().equals(name));
    } catch (IOException e) {
      return false;
    }
  }

  private static boolean isElf(Path file) {
    try (var in = Files.newInputStream(file)) {
      byte[] magic = in.readNBytes(4);
      return magic.length == 4
          && magic[0] == 0x7f
          && magic[1] == 'E'
          && magic[2] == 'L'
          && magic[3] == 'F';
    } catch (IOException e) {
      return false;
    }
  }

  private static void writeOsFiles(Path root) throws IOException {
    Path etc = root.resolve("etc");
    Files.createDirectories(etc);
    // Numeric UID 65532 (the distroless "nonroot") with a home, so the JVM's user.home resolves.
    Files.writeString(
        etc.resolve("passwd"),
        "root:x:0:0:root:/root:/sbin/nologin\n"
            + "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n");
    Files.writeString(etc.resolve("group"), "root:x:0:\nnonroot:x:65532:\n");
    // The kubelet mounts /etc/hosts and /etc/resolv.conf; glibc reads this to use both.
    Files.writeString(etc.resolve("nsswitch.conf"), "hosts: files dns\n");
    Files.createDirectories(root.resolve("home/nonroot"));
    Files.createDirectories(root.resolve("tmp"));
  }

  private static String key(Spec spec, Path javaHome) throws IOException, InterruptedException {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      digest.update(FORMAT.getBytes(StandardCharsets.UTF_8));
      digest.update(spec.toString().getBytes(StandardCharsets.UTF_8));
      digest.update(javaHome.toString().getBytes(StandardCharsets.UTF_8));
      digest.update(Files.readAllBytes(javaHome.resolve("release")));
      Path libjvm = javaHome.resolve("lib/server/libjvm.so");
      digest.update(
          (Files.size(libjvm) + "@" + Files.getLastModifiedTime(libjvm))
              .getBytes(StandardCharsets.UTF_8));
      // The build JDK links more than a runtime does (X11, ALSA...): its launcher, VM and zip
      // library link everything the runtimes need from the system (libc, libm, libz, ld.so).
      List<Path> core =
          List.of(javaHome.resolve("bin/java"), libjvm, javaHome.resolve("lib/libzip.so"));
      for (String library : linkedLibraries(javaHome, core)) {
        Path real = Path.of(library).toRealPath();
        digest.update(
            (library + "=" + real + ":" + Files.size(real) + "@" + Files.getLastModifiedTime(real))
                .getBytes(StandardCharsets.UTF_8));
      }
      return HexFormat.of().formatHex(digest.digest()).substring(0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
