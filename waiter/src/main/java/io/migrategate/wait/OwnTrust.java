package io.migrategate.wait;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.List;
import javax.net.ssl.HostnameVerifier;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * TLS that trusts exactly the given CAs (the cluster's, or the gate's), never the JDK's own list.
 */
final class OwnTrust {
  /**
   * Host name verification by the JDK's RFC 2818 check ({@code HttpsURLConnection} runs it first
   * and asks this verifier only about a name that check rejected: the answer stays no). Any
   * verifier but the default keeps JSSE from doing the same check itself, which in JDK 17.0.x first
   * loads and parses all of cacerts to see whether the chain ends at a public CA (where wildcard
   * names are restricted): about 60 ms of a 400 ms cold start, for chains that end at the cluster's
   * CA.
   */
  static final HostnameVerifier NAME_CHECK_ONLY = (host, session) -> false;

  private OwnTrust() {}

  /**
   * @param cas the only trust anchors
   * @param keys a client certificate, or null
   */
  static SSLContext context(List<? extends Certificate> cas, KeyManager[] keys)
      throws GeneralSecurityException, IOException {
    KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
    store.load(null, null);
    for (int i = 0; i < cas.size(); i++) {
      store.setCertificateEntry("ca-" + i, cas.get(i));
    }
    TrustManagerFactory factory =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init(store);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(keys, factory.getTrustManagers(), null);
    return context;
  }
}
