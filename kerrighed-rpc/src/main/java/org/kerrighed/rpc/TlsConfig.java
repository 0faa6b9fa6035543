package org.kerrighed.rpc;

import java.nio.file.Path;

/**
 * TLS for links, on top of the HMAC handshake (which authenticates nodes either way). Every node presents
 * the key in {@code keyStore} and trusts the certificates in {@code trustStore}; both are PKCS#12 files.
 *
 * @param keyStore           PKCS#12 file with this node's private key and certificate
 * @param keyStorePassword   its password
 * @param trustStore         PKCS#12 file with the certificates (or CA) peers must present
 * @param trustStorePassword its password
 */
public record TlsConfig(Path keyStore, char[] keyStorePassword, Path trustStore, char[] trustStorePassword) {
    public TlsConfig {
        Checks.notNull(keyStore, "keyStore");
        Checks.notNull(keyStorePassword, "keyStorePassword");
        Checks.notNull(trustStore, "trustStore");
        Checks.notNull(trustStorePassword, "trustStorePassword");
        keyStorePassword = keyStorePassword.clone();
        trustStorePassword = trustStorePassword.clone();
    }

    @Override
    public String toString() {
        return "TlsConfig[keyStore=" + keyStore + ", trustStore=" + trustStore + "]";
    }
}
