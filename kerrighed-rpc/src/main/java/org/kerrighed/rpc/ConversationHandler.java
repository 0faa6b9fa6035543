package org.kerrighed.rpc;

/**
 * Serves the accepting side of a conversation. Runs on a virtual thread of its own and may block; when it
 * returns, the accepting side's half of the conversation is closed (the initiator's receive then reports
 * end of stream). A thrown exception aborts the conversation and reaches the initiator as a
 * {@link RemoteException}.
 */
@FunctionalInterface
public interface ConversationHandler<O> {
    void onOpen(Conversation conversation, O opening) throws Exception;
}
