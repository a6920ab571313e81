package io.flinkmanager.examples;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.util.Collector;
import org.apache.flink.util.ParameterTool;

import java.util.HashSet;
import java.util.Set;

/**
 * A small stateful streaming job for testing job management: a rate-limited generator of numbers,
 * keyed by {@code number % keys}, a {@link ValueState} counting records per key, and a discarding sink.
 * It runs until it is stopped or cancelled, checkpoints periodically, and can be made to fail.
 *
 * <p>Arguments: {@code --rate R} records per second in total (default 10), {@code --keys K} distinct
 * keys (default 8), {@code --fail-after N} throw after N records processed by one counting subtask in
 * the current attempt (default: never), {@code --checkpoint-interval-ms MS} (default 2000, 0 disables).
 */
public final class StatefulCounterJob {

    private StatefulCounterJob() {}

    public static void main(String[] args) throws Exception {
        ParameterTool params = ParameterTool.fromArgs(args);
        double rate = params.getDouble("rate", 10.0);
        long keys = params.getLong("keys", 8L);
        long failAfter = params.getLong("fail-after", -1L);
        long checkpointIntervalMs = params.getLong("checkpoint-interval-ms", 2000L);
        if (rate <= 0 || keys <= 0) {
            throw new IllegalArgumentException("--rate and --keys must be positive");
        }

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        if (checkpointIntervalMs > 0) {
            env.enableCheckpointing(checkpointIntervalMs);
        }
        env.getConfig().setGlobalJobParameters(params);

        // Long.MAX_VALUE records at a few per second: unbounded for any practical purpose.
        DataGeneratorSource<Long> numbers =
                new DataGeneratorSource<>(
                        index -> index, Long.MAX_VALUE, RateLimiterStrategy.perSecond(rate), Types.LONG);

        env.fromSource(numbers, WatermarkStrategy.noWatermarks(), "numbers")
                .uid("numbers")
                .keyBy(number -> number % keys)
                .process(new CountPerKey(failAfter))
                .uid("count-per-key")
                .name("count-per-key")
                .sinkTo(new DiscardingSink<>())
                .uid("discard")
                .name("discard");

        env.execute("StatefulCounterJob");
    }

    /**
     * Counts records per key in keyed state and emits the running count; fails on request. Its metrics
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
        public void open(OpenContext openContext) {
            count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Types.LONG));
            recordsThisAttempt = getRuntimeContext().getMetricGroup().counter("recordsThisAttempt");
            restoredKeys = getRuntimeContext().getMetricGroup().counter("restoredKeys");
            keysSeenThisAttempt = new HashSet<>();
        }

        @Override
        public void processElement(Long number, Context context, Collector<Long> out) throws Exception {
            if (failAfter >= 0 && processed >= failAfter) {
                throw new IllegalStateException(
                        "StatefulCounterJob fails on purpose after " + processed + " records (--fail-after " + failAfter + ")");
            }
            Long previous = count.value();
            if (keysSeenThisAttempt.add(context.getCurrentKey()) && previous != null) {
                restoredKeys.inc();
            }
            long next = (previous == null ? 0L : previous) + 1;
            count.update(next);
            processed++;
            recordsThisAttempt.inc();
            out.collect(next);
        }
    }
}
