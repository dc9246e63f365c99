//! Client-side pacing of writes, so a large apply runs near Graph's identity
//! write quota (3,000 writes per 150 s per app and tenant) without a storm of
//! 429s: a token bucket whose rate drops when Graph reports pressure
//! (`x-ms-throttle-limit-percentage`, sent above 0.8) or throttles, and
//! recovers slowly while it does not. Time is passed in, so it is testable.

use std::time::{Duration, Instant};

/// Graph's documented write quota per app and tenant.
pub const GRAPH_WRITES_PER_WINDOW: u32 = 3_000;
/// The window of that quota.
pub const GRAPH_WRITE_WINDOW: Duration = Duration::from_secs(150);

/// Share of the quota the pacer aims for.
const TARGET_SHARE: f64 = 0.9;
/// Lowest rate multiplier the pacer falls to.
const MIN_SLOWDOWN: f64 = 0.05;

/// A token bucket for writes.
#[derive(Debug, Clone)]
pub struct WritePacer {
    /// Writes per second at full speed.
    rate: f64,
    capacity: f64,
    tokens: f64,
    last: Instant,
    /// 1.0 at full speed; lower after pressure or throttling.
    slowdown: f64,
}

impl WritePacer {
    /// A pacer for `budget` writes per `window`; it starts with a burst of a
    /// tenth of the budget.
    pub fn new(budget: u32, window: Duration, now: Instant) -> Self {
        let budget = f64::from(budget.max(1));
        let capacity = (budget * TARGET_SHARE / 10.0).max(1.0);
        WritePacer {
            rate: budget * TARGET_SHARE / window.as_secs_f64().max(0.001),
            capacity,
            tokens: capacity,
            last: now,
            slowdown: 1.0,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * self.rate * self.slowdown).min(self.capacity);
    }

    /// Takes `writes` tokens and says how long to wait before sending them.
    pub fn reserve(&mut self, writes: u32, now: Instant) -> Duration {
        self.refill(now);
        self.tokens -= f64::from(writes);
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / (self.rate * self.slowdown))
        }
    }

    /// Graph's `x-ms-throttle-limit-percentage` (0.8–1.8), or `None` when
    /// the response had none (usage below 80 %).
    pub fn observe_pressure(&mut self, limit_percentage: Option<f64>) {
        match limit_percentage {
            Some(share) if share >= 0.8 => {
                let target = (1.6 - share).clamp(MIN_SLOWDOWN, 1.0);
                self.slowdown = self.slowdown.min(target);
            }
            _ => self.slowdown = (self.slowdown * 1.05).min(1.0),
        }
    }

    /// A write was throttled (429): halve the rate and drop the burst.
    pub fn observe_throttled(&mut self) {
        self.slowdown = (self.slowdown * 0.5).max(MIN_SLOWDOWN);
        self.tokens = self.tokens.min(0.0);
    }

    /// The current rate multiplier (1.0 = full speed).
    pub fn slowdown(&self) -> f64 {
        self.slowdown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_under_the_quota_over_a_window() {
        let start = Instant::now();
        let mut pacer = WritePacer::new(GRAPH_WRITES_PER_WINDOW, GRAPH_WRITE_WINDOW, start);
        let mut clock = start;
        let mut sent = 0u32;
        // Send batches of 20 as fast as the pacer allows, for one window.
        while clock < start + GRAPH_WRITE_WINDOW {
            clock += pacer.reserve(20, clock);
            if clock < start + GRAPH_WRITE_WINDOW {
                sent += 20;
            }
        }
        assert!(sent <= GRAPH_WRITES_PER_WINDOW, "{sent}");
        assert!(sent >= GRAPH_WRITES_PER_WINDOW * 8 / 10, "too slow: {sent}");
    }

    #[test]
    fn pressure_and_throttling_slow_it_down_and_it_recovers() {
        let now = Instant::now();
        let mut pacer = WritePacer::new(3000, GRAPH_WRITE_WINDOW, now);
        pacer.observe_pressure(Some(1.2));
        assert!((pacer.slowdown() - 0.4).abs() < 1e-9);
        pacer.observe_throttled();
        assert!((pacer.slowdown() - 0.2).abs() < 1e-9);
        assert!(pacer.reserve(1, now) > Duration::ZERO);
        for _ in 0..100 {
            pacer.observe_pressure(None);
        }
        assert_eq!(pacer.slowdown(), 1.0);
    }
}
