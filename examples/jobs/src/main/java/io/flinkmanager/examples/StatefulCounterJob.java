package io.flinkmanager.examples;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.lib.NumberSequenceSource;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * A small stateful streaming job for testing job management: an unbounded sequence of numbers, throttled,
 * keyed by {@code number % keys}, a {@link ValueState} counting records per key, and a sink. It runs until
 * it is stopped or cancelled, checkpoints periodically, and can be made to fail.
 *
 * <p>Arguments: {@code --rate R} records per second in total (default 10), {@code --keys K} distinct
 * keys (default 8), {@code --fail-after N} throw after N records processed by one counting subtask in
 * the current attempt (default: never), {@code --checkpoint-interval-ms MS} (default 2000, 0 disables).
 *
 * <p>It compiles and runs unchanged on Flink 1.18 to 2.3, so it uses only what all of them have: the
 * FLIP-27 {@link NumberSequenceSource} (the data generator source is not in 1.18's distribution), no
 * {@code open} override (its parameter changed from {@code Configuration} to {@code OpenContext}), no
 * {@code ParameterTool} (it moved packages in 2.0), and {@code print()} as the sink (the discarding sinks
 * moved packages too); the counting function emits nothing, so nothing is printed.
 */
public final class StatefulCounterJob {

    private StatefulCounterJob() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> params = parse(args);
        double rate = Double.parseDouble(params.getOrDefault("rate", "10"));
        long keys = Long.parseLong(params.getOrDefault("keys", "8"));
        long failAfter = Long.parseLong(params.getOrDefault("fail-after", "-1"));
        long checkpointIntervalMs = Long.parseLong(params.getOrDefault("checkpoint-interval-ms", "2000"));
        if (rate <= 0 || keys <= 0) {
            throw new IllegalArgumentException("--rate and --keys must be positive");
        }

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        if (checkpointIntervalMs > 0) {
            env.enableCheckpointing(checkpointIntervalMs);
        }
        // Each of the parallel throttles lets rate / parallelism records per second through.
        long pauseMicros = Math.max(1L, Math.round(1_000_000.0 * Math.max(1, env.getParallelism()) / rate));

        env.fromSource(new NumberSequenceSource(0L, Long.MAX_VALUE), WatermarkStrategy.noWatermarks(), "numbers")
                .uid("numbers")
                .map(new Throttle(pauseMicros))
                .uid("throttle")
                .name("throttle")
                .keyBy(number -> number % keys)
                .process(new CountPerKey(failAfter))
                .uid("count-per-key")
                .name("count-per-key")
                .print()
                .uid("sink")
                .name("sink");

        env.execute("StatefulCounterJob");
    }

    /** {@code --name value} pairs. */
    static Map<String, String> parse(String[] args) {
        Map<String, String> params = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("arguments are --name value pairs, got " + String.join(" ", args));
            }
            params.put(args[i].substring(2), args[++i]);
        }
        return params;
    }

    /** Passes each number on after a pause: the source itself has no rate limit. */
    static final class Throttle implements MapFunction<Long, Long> {
        private static final long serialVersionUID = 1L;
        private final long pauseMicros;

        Throttle(long pauseMicros) {
            this.pauseMicros = pauseMicros;
        }

        @Override
        public Long map(Long number) throws InterruptedException {
            Thread.sleep(pauseMicros / 1000, (int) (pauseMicros % 1000) * 1000);
            return number;
        }
    }

    /**
     * Counts records per key in keyed state; fails on request; emits nothing. Its metrics
     * {@code recordsThisAttempt} and {@code restoredKeys} (keys whose count came from a checkpoint or
     * savepoint rather than from this attempt) make a restore visible through the REST API.
     */
    static final class CountPerKey extends KeyedProcessFunction<Long, Long, Long> {
        private static final long serialVersionUID = 1L;
        private final long failAfter;
        private transient ValueState<Long> count;
        private transient Counter recordsThisAttempt;
        private transient Counter restoredKeys;
        private transient Set<Long> keysSeenThisAttempt;
        private transient long processed;

        CountPerKey(long failAfter) {
            this.failAfter = failAfter;
        }

        @Override
        public void processElement(Long number, Context context, Collector<Long> out) throws Exception {
            if (count == null) {
                count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Types.LONG));
                recordsThisAttempt = getRuntimeContext().getMetricGroup().counter("recordsThisAttempt");
                restoredKeys = getRuntimeContext().getMetricGroup().counter("restoredKeys");
                keysSeenThisAttempt = new HashSet<>();
            }
            if (failAfter >= 0 && processed >= failAfter) {
                throw new IllegalStateException(
                        "StatefulCounterJob fails on purpose after " + processed + " records (--fail-after " + failAfter + ")");
            }
            Long previous = count.value();
            if (keysSeenThisAttempt.add(context.getCurrentKey()) && previous != null) {
                restoredKeys.inc();
            }
            count.update((previous == null ? 0L : previous) + 1);
            processed++;
            recordsThisAttempt.inc();
        }
    }
}
