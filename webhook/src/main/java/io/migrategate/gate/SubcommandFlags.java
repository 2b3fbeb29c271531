package io.migrategate.gate;

import io.migrategate.core.UsageException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The flags of the gate's one-shot subcommands ({@link GateUninstall}, {@link GateCheck}, {@link
 * io.migrategate.gate.status.GateStatus}): {@code --flag value} or {@code --flag=value}, each from
 * a small known set, and switches without a value; anything else is refused with the subcommand's
 * usage. (The server's own flags are picocli's, {@link GateCommandLine}.)
 */
public final class SubcommandFlags {
  private SubcommandFlags() {}

  /**
   * The value of each flag given, by flag; the last of a repeated flag wins.
   *
   * @param usage what to give instead, e.g. {@code --namespace NS [--kubeconfig FILE]}
   */
  public static Map<String, String> parse(List<String> args, Set<String> flags, String usage) {
    return parse(args, flags, Set.of(), usage);
  }

  /**
   * As {@link #parse(List, Set, String)}, with switches (e.g. {@code -A}) that take no value: a
   * switch given maps to {@code "true"}.
   */
  public static Map<String, String> parse(
      List<String> args, Set<String> flags, Set<String> switches, String usage) {
    Map<String, String> values = new HashMap<>();
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      int equals = arg.indexOf('=');
      String flag = equals < 0 ? arg : arg.substring(0, equals);
      if (switches.contains(arg)) {
        values.put(arg, "true");
      } else if (flags.contains(flag) && equals >= 0) {
        values.put(flag, arg.substring(equals + 1));
      } else if (flags.contains(flag) && i + 1 < args.size()) {
        values.put(flag, args.get(++i));
      } else if (flags.contains(flag)) {
        throw new UsageException(flag + " needs a value: give " + usage);
      } else {
        throw new UsageException("unknown argument '" + arg + "': give " + usage);
      }
    }
    return values;
  }
}
