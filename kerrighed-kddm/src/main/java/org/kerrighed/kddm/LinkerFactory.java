package org.kerrighed.kddm;

/**
 * Builds a set's linker on a node from the set's spec: how a node that did not create a dynamic set
 * instantiates it. Register the same factories under the same names on every node.
 */
@FunctionalInterface
public interface LinkerFactory {
    IoLinker<?> create(long setId, SetSpec spec);
}
