package org.kerrighed.bench;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RoundsTest {
    @Test
    void ratioIsTheMedianOfPerRoundRatiosNotTheRatioOfMedians() {
        Rounds r = new Rounds();
        r.metric("rtt", "us", "netty", Goal.ratioAtMost(1.25));
        r.add("rtt", 10, 10);    // 1.0
        r.add("rtt", 30, 20);    // 1.5
        r.add("rtt", 12, 10);    // 1.2
        Row row = r.rows().getFirst();
        assertEquals(12, row.ours());
        assertEquals(10, row.peerValue());
        assertEquals(1.2, row.ratio(), 1e-9);
        assertEquals(1.0, row.ratioMin(), 1e-9);
        assertEquals(1.5, row.ratioMax(), 1e-9);
        assertEquals(3, row.rounds());
        assertTrue(row.met());
    }

    @Test
    void goalsOnOursAndOnTheRatio() {
        Rounds r = new Rounds();
        r.metric("detect", "ms", "hazelcast", Goal.oursAtMost(1000));
        r.metric("tput", "calls/s", "netty", Goal.ratioAtLeast(0.8));
        r.add("detect", 1200, 300);
        r.add("tput", 70, 100);
        List<Row> rows = r.rows();
        assertFalse(rows.get(0).met());
        assertFalse(rows.get(1).met());
    }

    @Test
    void evenCountsTakeTheMeanOfTheMiddleTwo() {
        assertEquals(2.5, Rounds.median(new double[]{1, 2, 3, 4}));
        assertTrue(Double.isNaN(Rounds.median(new double[0])));
        assertEquals(3, Rounds.percentile(new long[]{1, 2, 3, 4}, 0.5 + 1e-9));
        assertEquals(4, Rounds.percentile(new long[]{1, 2, 3, 4}, 0.99));
    }

    @Test
    void jsonRowHasTheDocumentedFields() {
        Rounds r = new Rounds();
        r.metric("join_ms", "ms", "hazelcast", null);
        r.add("join_ms", 500, 1000);
        Map<String, Object> json = r.rows().getFirst().toJson();
        assertEquals(List.of("name", "unit", "ours", "peer", "peerValue", "ratio", "ratioMin", "ratioMax", "rounds",
                "goal", "met"), List.copyOf(json.keySet()));
        assertEquals(0.5, json.get("ratio"));
        assertNull(json.get("goal"));
        assertNull(json.get("met"));
    }

    @Test
    void undeclaredMetricsAndBadGoalsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new Rounds().add("nope", 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new Goal("peer", "<=", 1));
        assertThrows(IllegalArgumentException.class, () -> new Goal("ratio", "<", 1));
    }
}
