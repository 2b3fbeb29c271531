import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The waiter's flags as picocli would declare them (environment defaults included). */
@Command(name = "migrate-wait")
public class PicocliParse {
  @Option(names = "--namespace", defaultValue = "${env:MIGRATE_GATE_NAMESPACE}")
  String namespace;

  @Option(names = "--job", defaultValue = "${env:MIGRATE_GATE_JOBS}")
  String jobs;

  @Option(names = "--timeout", defaultValue = "${env:MIGRATE_GATE_TIMEOUT}")
  String timeout;

  @Option(names = "--kubeconfig", defaultValue = "${env:MIGRATE_GATE_KUBECONFIG}")
  String kubeconfig;

  @Option(names = "--gate-url", defaultValue = "${env:MIGRATE_GATE_URL}")
  String url;

  @Option(names = "--token-file", defaultValue = "${env:MIGRATE_GATE_TOKEN_FILE}")
  String token;

  @Option(names = "--termination-log", defaultValue = "${env:MIGRATE_GATE_TERMINATION_LOG}")
  String terminationLog;

  @Option(names = "--revision", defaultValue = "${env:MIGRATE_GATE_REVISION}")
  String revision;

  public static void main(String[] args) {
    PicocliParse flags = new PicocliParse();
    new CommandLine(flags).parseArgs(args);
    System.out.println(flags.namespace);
  }
}
