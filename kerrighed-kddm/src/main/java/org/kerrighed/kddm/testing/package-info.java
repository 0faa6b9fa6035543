/** Test support for KDDM and the services built on it: an in-process cluster with views installed by hand. */
package org.kerrighed.kddm.testing;
