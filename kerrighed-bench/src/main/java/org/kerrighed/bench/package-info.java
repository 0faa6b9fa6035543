/**
 * {@code krg bench NAME}: side-by-side benchmarks that run Kerrighed and its peer (raw Netty, Hazelcast)
 * in alternating rounds of the same run on the same machine, and report medians and the median of the
 * per-round ratios with their range ({@link org.kerrighed.bench.Rounds}, {@link org.kerrighed.bench.Row}).
 */
package org.kerrighed.bench;
