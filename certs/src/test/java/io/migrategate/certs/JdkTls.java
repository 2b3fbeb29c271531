package io.migrategate.certs;

import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/** The JDK's own TLS machinery configured from our certificates: the independent judge. */
final class JdkTls {
  private static final char[] PASSWORD = "unused".toCharArray();

  private JdkTls() {}

  static SSLContext serverContext(IssuedCertificate serving) throws Exception {
    KeyStore keyStore = KeyStore.getInstance("PKCS12");
    keyStore.load(null, null);
    keyStore.setKeyEntry(
        "serving",
        serving.privateKey(),
        PASSWORD,
        new Certificate[] {serving.certificate(), serving.issuer()});
    KeyManagerFactory keyManagers =
        KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keyManagers.init(keyStore, PASSWORD);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(keyManagers.getKeyManagers(), null, null);
    return context;
  }

  /** A client context that trusts only {@code ca}, not the JDK's default roots. */
  static SSLContext clientTrusting(X509Certificate ca) throws Exception {
    TrustManagerFactory trustManagers =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trustManagers.init(trustStore(ca));
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, trustManagers.getTrustManagers(), null);
    return context;
  }

  static KeyStore trustStore(X509Certificate ca) throws Exception {
    KeyStore trustStore = KeyStore.getInstance("PKCS12");
    trustStore.load(null, null);
    trustStore.setCertificateEntry("ca", ca);
    return trustStore;
  }
}
