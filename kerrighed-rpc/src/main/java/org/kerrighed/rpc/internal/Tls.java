package org.kerrighed.rpc.internal;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import org.kerrighed.rpc.KerrighedException;
import org.kerrighed.rpc.TlsConfig;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.TrustManagerFactory;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;

/** Builds Netty SSL contexts from PKCS#12 stores; both sides present certificates (mutual TLS). */
final class Tls {
    private Tls() {
    }

    static SslContext server(TlsConfig c) {
        try {
            return SslContextBuilder.forServer(keys(c)).trustManager(trust(c)).clientAuth(ClientAuth.REQUIRE).build();
        } catch (Exception e) {
            throw new KerrighedException("tls: cannot build the server context from " + c + ": " + e.getMessage(), e);
        }
    }

    static SslContext client(TlsConfig c) {
        try {
            // Nodes are dialed by address and prove themselves with a trusted certificate (and the HMAC
            // handshake), so the certificate need not name the host.
            return SslContextBuilder.forClient().keyManager(keys(c)).trustManager(trust(c))
                    .endpointIdentificationAlgorithm(null).build();
        } catch (Exception e) {
            throw new KerrighedException("tls: cannot build the client context from " + c + ": " + e.getMessage(), e);
        }
    }

    private static KeyStore load(Path file, char[] password) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(file)) {
            ks.load(in, password);
        }
        return ks;
    }

    private static KeyManagerFactory keys(TlsConfig c) throws Exception {
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(load(c.keyStore(), c.keyStorePassword()), c.keyStorePassword());
        return kmf;
    }

    private static TrustManagerFactory trust(TlsConfig c) throws Exception {
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(load(c.trustStore(), c.trustStorePassword()));
        return tmf;
    }
}
