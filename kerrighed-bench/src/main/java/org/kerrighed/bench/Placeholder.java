package org.kerrighed.bench; /** placeholder */ final class Placeholder {}
