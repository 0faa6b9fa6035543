package org.kerrighed.rpc;

import java.net.InetSocketAddress;

/**
 * A host name or address plus a TCP port. Immutable.
 *
 * @param host a host name or IP literal (IPv6 literals without brackets)
 * @param port 0-65535; 0 means "pick an ephemeral port" where a bind address is meant
 */
public record HostAndPort(String host, int port) {
    public HostAndPort {
        Checks.notNull(host, "host");
        if (host.isBlank()) {
            throw new IllegalArgumentException("host must not be blank");
        }
        Checks.inRange(port, 0, 65535, "port");
    }

    /**
     * Parses {@code host:port} or {@code [v6]:port}.
     *
     * @throws IllegalArgumentException naming the text when it is not of that form
     */
    public static HostAndPort parse(String text) {
        Checks.notNull(text, "text");
        String s = text.trim();
        int colon = s.lastIndexOf(':');
        if (colon <= 0 || colon == s.length() - 1) {
            throw new IllegalArgumentException("expected HOST:PORT, got '" + text + "'");
        }
        String host = s.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(s.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("expected HOST:PORT with a numeric port, got '" + text + "'");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port out of range 0-65535 in '" + text + "'");
        }
        return new HostAndPort(host, port);
    }

    public static HostAndPort of(InetSocketAddress address) {
        return new HostAndPort(address.getHostString(), address.getPort());
    }

    public InetSocketAddress toSocketAddress() {
        return new InetSocketAddress(host, port);
    }

    @Override
    public String toString() {
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    }
}
