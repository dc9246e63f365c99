//! Client-side pacing of reads, so a partitioned sweep that reads sixteen
//! ranges side by side stays inside Graph's identity read quota instead of
//! meeting it as a wall of 429s. Graph meters reads in resource units per
//! application and tenant, over a token bucket of 10 s (C-THL): 3,500 units
//! for a tenant under 50 users, 5,000 up to 500, 8,000 above. Each answer
//! says what it cost (`x-ms-resource-unit`) and, above 0.8 of the quota, how
//! much of it is used (`x-ms-throttle-limit-percentage`, 0.8–1.8).
//!
//! The pacer is a token bucket over resource units, shared by every reader
//! of a client, apart from the write pacer (`pacing`), whose quota is a
//! different one:
//!
//! - it aims at 90 % of the quota and starts with a burst of half of that,
//!   so a sweep alone never takes more than half of Graph's bucket at once;
//! - a read may go when one unit (the least any request costs) is in the
//!   bucket; the cost Graph then reports is taken in full, so a dearer
//!   request leaves the bucket in debt and the next reads wait it out;
//! - a reported usage share above 0.8 is the truth about Graph's bucket
//!   (other clients of the same app use it too): the pacer's own bucket is
//!   lowered to what Graph says is left, and its rate is capped while the
//!   reports go on, lifting over `RAMP` once they stop;
//! - a 429 pauses every reader until its `Retry-After` (the quota is
//!   shared, so the other readers would meet it too), empties the bucket
//!   and halves the rate, which climbs back to full over `RAMP` after the
//!   pause.
//!
//! The quota of a tenant whose size is not yet known is the smallest (S);
//! once a sweep learns the number of users (`$count`), the pacer takes the
//! quota Graph documents for that size, and batched reads, which never
//! count, raise it as the users they have read prove the tenant larger. Time is passed in, so it
//! is testable.

use std::time::{Duration, Instant};

use super::pacing::{MIN_SLOWDOWN, THROTTLED_FACTOR, climbed, pressure_cap, reported_share};

/// The window of Graph's resource-unit quota (C-THL).
pub const READ_WINDOW: Duration = Duration::from_secs(10);

/// The resource units Graph allows an application per tenant in
/// `READ_WINDOW`, by the tenant's number of users (C-THL: S under 50 users,
/// M 50–500, L above).
pub fn documented_read_budget(users: u64) -> u32 {
    match users {
        0..50 => 3_500,
        50..=500 => 5_000,
        _ => 8_000,
    }
}

/// Share of the quota the pacer aims for.
const TARGET_SHARE: f64 = 0.9;
/// Share of the target the bucket holds when full (the burst).
const BURST_SHARE: f64 = 0.5;
/// What the cheapest request costs (C-THL: "never below 1").
const LEAST_COST: f64 = 1.0;
/// How long the rate takes to climb back to full.
pub const RAMP: Duration = super::pacing::RAMP;

/// What Graph said about one answered read.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ReadSignal {
    /// `x-ms-resource-unit`: what the request cost.
    pub resource_units: Option<u32>,
    /// `x-ms-throttle-limit-percentage`: the share of the quota used.
    pub pressure: Option<f64>,
    /// Refused with 429.
    pub throttled: bool,
    /// Its `Retry-After`.
    pub retry_after: Option<Duration>,
}

/// A token bucket over resource units, shared by every reader of a client.
#[derive(Debug, Clone)]
pub struct ReadPacer {
    /// The budget per `READ_WINDOW` it paces under, and whether it was told
    /// (then the tenant's size does not change it).
    budget: u32,
    fixed: bool,
    tokens: f64,
    last: Instant,
    /// No read is sent before this.
    paused_until: Instant,
    /// The rate multiplier the last throttling left, and when it starts
    /// climbing back (the end of that pause).
    floor: f64,
    ramp_from: Instant,
    /// The cap of the last pressure report, and when it came.
    pressure_cap: f64,
    pressure_at: Option<Instant>,
}

impl ReadPacer {
    /// A pacer for `budget` resource units per `READ_WINDOW`; `None` paces
    /// under Graph's documented quota for the tenant's size, the smallest
    /// until `tenant_users` says more.
    pub fn new(budget: Option<u32>, now: Instant) -> Self {
        let mut pacer = ReadPacer {
            budget: budget.unwrap_or_else(|| documented_read_budget(0)).max(1),
            fixed: budget.is_some(),
            tokens: 0.0,
            last: now,
            paused_until: now,
            floor: 1.0,
            ramp_from: now,
            pressure_cap: 1.0,
            pressure_at: None,
        };
        pacer.tokens = pacer.capacity();
        pacer
    }

    /// The resource units per `READ_WINDOW` it paces under (Graph's quota
    /// for the tenant's size, or the budget it was told).
    pub fn budget(&self) -> u32 {
        self.budget
    }

    /// Resource units per second at full speed.
    pub fn rate(&self) -> f64 {
        f64::from(self.budget) * TARGET_SHARE / READ_WINDOW.as_secs_f64()
    }

    fn capacity(&self) -> f64 {
        (f64::from(self.budget) * TARGET_SHARE * BURST_SHARE).max(LEAST_COST)
    }

    /// The tenant holds `users` users: the quota Graph documents for its
    /// size applies (unless the budget was told).
    pub fn tenant_users(&mut self, users: u64, now: Instant) {
        if !self.fixed {
            self.refill(now);
            self.budget = documented_read_budget(users);
        }
    }

    /// The tenant holds at least `users` users (it has served that many):
    /// a larger size class than the one paced under applies, a smaller one
    /// never does. Reads that never count the tenant (batched GETs of the
    /// declared users) learn its size this way.
    pub fn tenant_has_at_least(&mut self, users: u64, now: Instant) {
        let documented = documented_read_budget(users);
        if !self.fixed && documented > self.budget {
            self.refill(now);
            self.budget = documented;
        }
    }

    /// The rate multiplier at `now` (1.0 = full speed).
    pub fn slowdown(&self, now: Instant) -> f64 {
        let throttled = climbed(self.floor, self.ramp_from, now);
        let pressured = match self.pressure_at {
            Some(at) => climbed(self.pressure_cap, at + RAMP / 2, now),
            None => 1.0,
        };
        throttled.min(pressured).max(MIN_SLOWDOWN)
    }

    fn refill(&mut self, now: Instant) {
        if now <= self.last {
            return;
        }
        // Nothing accrues during a pause: Graph's bucket was empty.
        let from = self.last.max(self.paused_until.min(now));
        let elapsed = now.saturating_duration_since(from).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate() * self.slowdown(now)).min(self.capacity());
        self.last = now;
    }

    /// How long to wait before a read may be sent; zero means "send now",
    /// and one unit is then taken (the rest of its cost when it is
    /// answered). Call again after waiting.
    pub fn wait_for(&mut self, now: Instant) -> Duration {
        self.refill(now);
        if now < self.paused_until {
            return self.paused_until - now;
        }
        if self.tokens >= LEAST_COST {
            self.tokens -= LEAST_COST;
            return Duration::ZERO;
        }
        let missing = LEAST_COST - self.tokens;
        Duration::from_secs_f64(missing / (self.rate() * self.slowdown(now))).max(Duration::from_millis(1))
    }

    /// Takes in what Graph answered to a read sent through `wait_for`.
    pub fn observe(&mut self, signal: ReadSignal, now: Instant) {
        self.refill(now);
        if let Some(units) = signal.resource_units.filter(|_| !signal.throttled) {
            self.tokens -= (f64::from(units) - LEAST_COST).max(0.0);
        }
        if let Some(share) = reported_share(signal.pressure) {
            // Graph's bucket has `1 - share` of the quota left (less than
            // nothing above 1.0): ours holds no more than that.
            let left = (1.0 - share) * f64::from(self.budget);
            self.tokens = self.tokens.min(left);
            self.pressure_cap = pressure_cap(self.pressure_cap, self.pressure_at, share, now);
            self.pressure_at = Some(now);
        }
        if signal.throttled {
            let pause_ends = now + signal.retry_after.unwrap_or(Duration::ZERO);
            // One throttling per pause: the answers of reads sent before it
            // do not slow the rate again.
            if pause_ends > self.paused_until && now >= self.paused_until {
                self.floor = (self.slowdown(now) * THROTTLED_FACTOR).max(MIN_SLOWDOWN);
            }
            self.paused_until = self.paused_until.max(pause_ends);
            self.ramp_from = self.ramp_from.max(self.paused_until);
            self.tokens = self.tokens.min(0.0);
        }
    }

    /// Until when readers are paused (in the past when they are not).
    pub fn paused_until(&self) -> Instant {
        self.paused_until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(units: u32) -> ReadSignal {
        ReadSignal { resource_units: Some(units), ..ReadSignal::default() }
    }

    /// Graph's side of the quota, as the emulator models it: a bucket of
    /// `budget` units per `READ_WINDOW` that starts full, of which another
    /// client of the app takes `other_share` of every refill.
    struct GraphBucket {
        budget: f64,
        tokens: f64,
        at: Instant,
        other_share: f64,
    }

    impl GraphBucket {
        fn new(budget: u32, other_share: f64, now: Instant) -> Self {
            GraphBucket { budget: f64::from(budget), tokens: f64::from(budget), at: now, other_share }
        }

        /// Graph's answer to a read costing `cost` at `now`.
        fn answer(&mut self, cost: u32, now: Instant) -> ReadSignal {
            let rate = self.budget / READ_WINDOW.as_secs_f64();
            let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
            self.tokens = (self.tokens + elapsed * rate * (1.0 - self.other_share)).min(self.budget);
            self.at = now;
            let cost = f64::from(cost);
            if self.tokens < cost {
                let wait = (cost - self.tokens) / (rate * (1.0 - self.other_share));
                return ReadSignal {
                    throttled: true,
                    retry_after: Some(Duration::from_secs_f64(wait)),
                    ..ReadSignal::default()
                };
            }
            self.tokens -= cost;
            let used = 1.0 - self.tokens / self.budget;
            ReadSignal {
                resource_units: Some(cost as u32),
                pressure: (used > super::super::pacing::PRESSURE_REPORTED_FROM).then_some(used),
                ..ReadSignal::default()
            }
        }
    }

    /// Reads of `cost` units sent as soon as the pacer allows from `from`
    /// to `to`, each answered at once by `graph`. Returns the units Graph
    /// served and the reads it refused.
    fn read_between(
        pacer: &mut ReadPacer,
        graph: &mut GraphBucket,
        from: Instant,
        to: Instant,
        cost: u32,
    ) -> (u64, u64) {
        let mut clock = from;
        let (mut units, mut refused) = (0u64, 0u64);
        while clock < to {
            let wait = pacer.wait_for(clock);
            if wait.is_zero() {
                let answer = graph.answer(cost, clock);
                if answer.throttled {
                    refused += 1;
                } else {
                    units += u64::from(cost);
                }
                pacer.observe(answer, clock);
            } else {
                clock += wait;
            }
        }
        (units, refused)
    }

    #[test]
    fn the_quota_follows_the_tenant_size_graph_documents() {
        assert_eq!(documented_read_budget(0), 3_500);
        assert_eq!(documented_read_budget(49), 3_500);
        assert_eq!(documented_read_budget(50), 5_000);
        assert_eq!(documented_read_budget(500), 5_000);
        assert_eq!(documented_read_budget(501), 8_000);
        let now = Instant::now();
        let mut pacer = ReadPacer::new(None, now);
        assert_eq!(pacer.rate(), 315.0);
        pacer.tenant_users(1_000_000, now);
        assert_eq!(pacer.rate(), 720.0);
        let mut told = ReadPacer::new(Some(80), now);
        told.tenant_users(1_000_000, now);
        assert_eq!(told.rate(), 7.2, "a budget told is kept");
    }

    #[test]
    fn users_already_read_only_ever_raise_the_quota() {
        let now = Instant::now();
        let mut pacer = ReadPacer::new(None, now);
        pacer.tenant_has_at_least(49, now);
        assert_eq!(pacer.budget(), 3_500);
        pacer.tenant_has_at_least(50, now);
        assert_eq!(pacer.budget(), 5_000);
        pacer.tenant_has_at_least(501, now);
        assert_eq!(pacer.budget(), 8_000);
        pacer.tenant_has_at_least(10, now);
        assert_eq!(pacer.budget(), 8_000, "a smaller lower bound says nothing new");
        let mut told = ReadPacer::new(Some(80), now);
        told.tenant_has_at_least(1_000, now);
        assert_eq!(told.budget(), 80, "a budget told is kept");
    }

    #[test]
    fn reads_near_the_quota_without_a_refusal() {
        let start = Instant::now();
        let minute = start + READ_WINDOW * 6;
        for cost in [1, 2, 3] {
            let mut pacer = ReadPacer::new(Some(8_000), start);
            let mut graph = GraphBucket::new(8_000, 0.0, start);
            let (units, refused) = read_between(&mut pacer, &mut graph, start, minute, cost);
            assert_eq!(refused, 0, "{cost}");
            // A minute at 90 % of 800 units/s, plus the burst.
            assert!((43_000..=48_000 + 3_600).contains(&units), "{cost}: {units}");
        }
    }

    #[test]
    fn a_quota_shared_with_another_client_is_found_from_graphs_reports() {
        let start = Instant::now();
        let minute = start + READ_WINDOW * 6;
        let mut pacer = ReadPacer::new(Some(8_000), start);
        // Another client of the app takes half of every refill.
        let mut graph = GraphBucket::new(8_000, 0.5, start);
        let (units, refused) = read_between(&mut pacer, &mut graph, start, minute, 1);
        // The half left is 400 units/s: 24,000 a minute, plus Graph's full bucket at the start.
        assert!((24_000 * 8 / 10..=32_000).contains(&units), "{units}");
        assert!(refused <= units / 100, "{refused} refused of {units}");
    }

    #[test]
    fn a_dear_read_is_paid_in_full_by_the_next_ones() {
        let now = Instant::now();
        // 10 units per 10 s at 90 %: 0.9 unit/s, a burst of 4.5.
        let mut pacer = ReadPacer::new(Some(10), now);
        assert_eq!(pacer.wait_for(now), Duration::ZERO);
        pacer.observe(answered(8), now);
        // 4.5 - 8 = -3.5: one more unit takes 4.5 / 0.9 = 5 s.
        let wait = pacer.wait_for(now);
        assert!((wait.as_secs_f64() - 5.0).abs() < 1e-6, "{wait:?}");
        assert_eq!(pacer.wait_for(now + wait), Duration::ZERO);
    }

    #[test]
    fn a_throttled_read_pauses_every_reader_and_slows_the_rate_once() {
        let now = Instant::now();
        let mut pacer = ReadPacer::new(Some(8_000), now);
        let refused =
            ReadSignal { throttled: true, retry_after: Some(Duration::from_secs(3)), ..Default::default() };
        pacer.observe(refused, now);
        // Other readers refused in the same pause do not slow it again.
        let also = ReadSignal { retry_after: Some(Duration::from_millis(2_990)), ..refused };
        pacer.observe(also, now + Duration::from_millis(10));
        assert_eq!(pacer.wait_for(now + Duration::from_secs(1)), Duration::from_secs(2));
        let after = now + Duration::from_secs(3);
        assert!((pacer.slowdown(after) - THROTTLED_FACTOR).abs() < 1e-9, "{}", pacer.slowdown(after));
        // The bucket was emptied: no burst after the pause, one unit at half speed.
        let wait = pacer.wait_for(after);
        assert!(wait > Duration::ZERO && wait < Duration::from_millis(10), "{wait:?}");
        // …and the rate is full again once the climb is over.
        assert_eq!(pacer.slowdown(after + RAMP), 1.0);
        let mut graph = GraphBucket::new(8_000, 0.0, after);
        let (window, refused) =
            read_between(&mut pacer, &mut graph, after + RAMP, after + RAMP + READ_WINDOW, 1);
        assert!(window >= 7_000 && refused == 0, "{window}, {refused}");
    }

    #[test]
    fn graphs_reported_usage_lowers_the_bucket_and_caps_the_rate() {
        let now = Instant::now();
        let mut pacer = ReadPacer::new(Some(1_000), now);
        // A full burst (450 units), but Graph says 95 % of its bucket is
        // used (another client of the app): 50 units are left.
        let pressured = ReadSignal { resource_units: Some(1), pressure: Some(0.95), ..Default::default() };
        assert_eq!(pacer.wait_for(now), Duration::ZERO);
        pacer.observe(pressured, now);
        let sent = (0..100).take_while(|_| pacer.wait_for(now).is_zero()).count();
        assert_eq!(sent, 50);
        assert!((pacer.slowdown(now) - 0.65).abs() < 1e-9, "{}", pacer.slowdown(now));
        // Above the quota: the bucket is in debt, a wait before the next read.
        pacer.observe(ReadSignal { pressure: Some(1.2), ..pressured }, now);
        let wait = pacer.wait_for(now);
        // 200 units of debt + 1, at 90 units/s × 0.4.
        assert!((wait.as_secs_f64() - 201.0 / 36.0).abs() < 1e-6, "{wait:?}");
        // Reports below 0.8 are not sent; the cap lifts in time.
        assert_eq!(pacer.slowdown(now + RAMP * 2), 1.0);
    }
}
