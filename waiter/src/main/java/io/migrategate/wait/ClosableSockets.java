package io.migrategate.wait;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

/**
 * An SSLSocketFactory that remembers its sockets so that {@link #closeAll()} can cut them. Closing
 * the socket is the one way to end a blocked read on an {@code HttpsURLConnection} without taking
 * the connection's own locks (its {@code disconnect()} waits for the reader).
 *
 * <p>The TCP socket under each TLS socket is ours too ({@link #createSocket()} hands out a plain
 * one, and {@code HttpsURLConnection} layers TLS over it), because closing a TLS socket is not
 * enough: JDK 17's {@code SSLSocket.close()} may wait for the read lock of a thread blocked in a
 * read, up to that read's timeout (minutes, for a watch). Closing the TCP socket first makes the
 * blocked read fail at once.
 */
final class ClosableSockets extends SSLSocketFactory {
  private final SSLSocketFactory delegate;
  private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  /**
   * Also the JVM's default factory for {@code HttpsURLConnection}: every such connection asks for
   * the default factory when it is constructed, before the caller sets its own, and the JDK's
   * default context parses the ~140 CAs of {@code cacerts}: about 70 ms of a 400 ms cold start. The
   * waiter's connections all carry their own trust, so the JDK's CAs are never loaded.
   */
  static ClosableSockets installedAsDefault(SSLSocketFactory delegate) {
    ClosableSockets sockets = new ClosableSockets(delegate);
    HttpsURLConnection.setDefaultSSLSocketFactory(sockets);
    return sockets;
  }

  ClosableSockets(SSLSocketFactory delegate) {
    this.delegate = delegate;
  }

  /** A connection's TLS: sockets from this factory, host names checked as {@link OwnTrust} says. */
  void configure(HttpsURLConnection connection) {
    connection.setSSLSocketFactory(this);
    connection.setHostnameVerifier(OwnTrust.NAME_CHECK_ONLY);
  }

  /** Closes every socket made so far and any made from now on: TCP first, then TLS. */
  void closeAll() {
    closed = true;
    sockets.stream().filter(s -> !(s instanceof SSLSocket)).forEach(ClosableSockets::closeQuietly);
    sockets.forEach(ClosableSockets::closeQuietly);
    sockets.clear();
  }

  private Socket track(Socket socket) throws IOException {
    sockets.removeIf(Socket::isClosed);
    sockets.add(socket);
    if (closed) {
      closeQuietly(socket);
      throw new IOException("closed");
    }
    return socket;
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException ignored) {
      // closing to stop; nothing left to do
    }
  }

  @Override
  public String[] getDefaultCipherSuites() {
    return delegate.getDefaultCipherSuites();
  }

  @Override
  public String[] getSupportedCipherSuites() {
    return delegate.getSupportedCipherSuites();
  }

  @Override
  public Socket createSocket(Socket socket, String host, int port, boolean autoClose)
      throws IOException {
    return track(delegate.createSocket(socket, host, port, autoClose));
  }

  /** Unconnected and plain: the caller connects it and asks for TLS over it (see above). */
  @Override
  public Socket createSocket() throws IOException {
    return track(new Socket());
  }

  @Override
  public Socket createSocket(String host, int port) throws IOException {
    return track(delegate.createSocket(host, port));
  }

  @Override
  public Socket createSocket(String host, int port, InetAddress localHost, int localPort)
      throws IOException {
    return track(delegate.createSocket(host, port, localHost, localPort));
  }

  @Override
  public Socket createSocket(InetAddress host, int port) throws IOException {
    return track(delegate.createSocket(host, port));
  }

  @Override
  public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
      throws IOException {
    return track(delegate.createSocket(address, port, localAddress, localPort));
  }
}
