package io.migrategate.wait;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLSocketFactory;

/**
 * An SSLSocketFactory that remembers its sockets so that {@link #closeAll()} can cut them. Closing
 * the socket is the one way to end a blocked read on an {@code HttpsURLConnection} without taking
 * the connection's own locks (its {@code disconnect()} waits for the reader).
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

  /** Closes every socket made so far and any made from now on. */
  void closeAll() {
    closed = true;
    for (Socket socket : sockets) {
      closeQuietly(socket);
    }
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

  @Override
  public Socket createSocket() throws IOException {
    return track(delegate.createSocket());
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
