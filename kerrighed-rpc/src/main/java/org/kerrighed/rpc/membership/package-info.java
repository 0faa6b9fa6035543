/**
 * Membership and hotplug: which nodes form the cluster, at which epoch, and what every service does when
 * one joins, leaves or fails. Start from {@link org.kerrighed.rpc.membership.Membership} and
 * {@link org.kerrighed.rpc.membership.HotplugHook}.
 */
package org.kerrighed.rpc.membership;
