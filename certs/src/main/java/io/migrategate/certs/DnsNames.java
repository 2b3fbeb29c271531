package io.migrategate.certs;

import java.util.regex.Pattern;
import org.bouncycastle.util.IPAddress;

/** Syntax rules for names that go into a certificate's DNS subjectAltName. */
final class DnsNames {
  // RFC 1123 host name, optionally with one leading wildcard label ("*.example.org").
  private static final Pattern HOST_NAME =
      Pattern.compile(
          "(\\*\\.)?([A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)"
              + "(\\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*");

  private DnsNames() {}

  static boolean isValid(String name) {
    return name != null && name.length() <= 253 && HOST_NAME.matcher(name).matches();
  }

  static boolean isIpAddress(String value) {
    return value != null && IPAddress.isValid(value);
  }
}
