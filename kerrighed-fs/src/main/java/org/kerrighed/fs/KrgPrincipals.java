package org.kerrighed.fs;

import java.nio.file.ProviderMismatchException;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.nio.file.attribute.UserPrincipalNotFoundException;

/** Users and groups of krg file systems: numeric ids, named by their decimal form. */
final class KrgPrincipals {
    /** Finds {@code "1000"} as uid (or gid) 1000; any other name is not found. */
    static final UserPrincipalLookupService LOOKUP = new UserPrincipalLookupService() {
        @Override
        public UserPrincipal lookupPrincipalByName(String name) throws UserPrincipalNotFoundException {
            return new User(id(name));
        }

        @Override
        public GroupPrincipal lookupPrincipalByGroupName(String group) throws UserPrincipalNotFoundException {
            return new Group(id(group));
        }
    };

    private KrgPrincipals() {
    }

    private static int id(String name) throws UserPrincipalNotFoundException {
        try {
            int id = Integer.parseInt(name);
            if (id >= 0 && name.equals(Integer.toString(id))) {
                return id;
            }
        } catch (NumberFormatException e) {
            // not found, below
        }
        throw new UserPrincipalNotFoundException(name);
    }

    /** The uid of a user of a krg file system. @throws ProviderMismatchException for another provider's user */
    static int uid(UserPrincipal p) {
        if (p instanceof User u) {
            return u.uid();
        }
        throw new ProviderMismatchException("not a krg user (find it with the krg lookup service): " + p);
    }

    /** The gid of a group of a krg file system. @throws ProviderMismatchException for another provider's group */
    static int gid(GroupPrincipal p) {
        if (p instanceof Group g) {
            return g.gid();
        }
        throw new ProviderMismatchException("not a krg group (find it with the krg lookup service): " + p);
    }

    record User(int uid) implements UserPrincipal {
        @Override
        public String getName() {
            return Integer.toString(uid);
        }

        @Override
        public String toString() {
            return getName();
        }
    }

    record Group(int gid) implements GroupPrincipal {
        @Override
        public String getName() {
            return Integer.toString(gid);
        }

        @Override
        public String toString() {
            return getName();
        }
    }
}
