package org.kerrighed.epm;

import java.util.concurrent.Callable;

/** Programs that run a {@link Runnable} or a {@link Callable} (of registered types) as a process. */
final class TaskPrograms {
    private TaskPrograms() {
    }

    /** Runs {@code task}; exit code 0. */
    record RunnableProgram(Runnable task) implements Program {
        @Override
        public int run(ProcessContext ctx) {
            task.run();
            return 0;
        }
    }

    /** Calls {@code task}; its value is the process's result. */
    record CallableProgram(Callable<?> task) implements Program {
        @Override
        public int run(ProcessContext ctx) throws Exception {
            ctx.setResult(task.call());
            return 0;
        }
    }
}
