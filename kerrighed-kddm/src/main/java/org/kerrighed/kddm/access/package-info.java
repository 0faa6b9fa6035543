/**
 * Who calls and what they may do: credentials, holders, and SysV-style permission modes, shared by the
 * services built on KDDM (shared memory, IPC, the file system) and filled per process by the process layer.
 */
package org.kerrighed.kddm.access;
