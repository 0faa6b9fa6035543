package org.kerrighed.kddm.access;

/** A caller's credentials do not allow what it asked (Unix {@code EACCES} / {@code EPERM}). */
public class PermissionDeniedException extends SecurityException {
    public PermissionDeniedException(String message) {
        super(message);
    }
}
