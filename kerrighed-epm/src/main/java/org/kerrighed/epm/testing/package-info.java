/**
 * Support for tests of code that uses the process layer: {@link org.kerrighed.epm.testing.TestJars} builds
 * application JARs at test time.
 */
package org.kerrighed.epm.testing;
