//! Client-side pacing of writes, so a large apply runs near Graph's identity
//! write quota (3,000 writes per 150 s per app and tenant) without a storm of
//! 429s, and returns to that speed as soon as Graph allows. The quota is per
//! app and tenant, so the pacer is shared by every writer of the client:
//!
//! - a token bucket at 90 % of the quota sets the rate;
//! - a 429 with `Retry-After` pauses every writer until then (one request
//!   waiting is not enough: the others would meet the same empty quota);
//!   after it, one batch goes alone (a probe) until Graph answers, as at
//!   the start; the burst left before the refusal, and what this app's share
//!   of the quota refilled during the pause (it sent nothing), are given
//!   back if Graph then accepts writes without reporting pressure (a storm
//!   that passed: another app had used up the tenant's quota), dropped if it
//!   reports pressure (the quota itself is nearly used up);
//! - throttling (a quarter or more of the writes Graph judged lately
//!   refused, and more than a few, or a refusal while Graph reports
//!   pressure) lowers the rate once per episode — the answers to requests
//!   sent before the episode began do not lower it again — and the rate
//!   climbs back to full in time, over `RAMP` after the pause ends, not per
//!   answer received;
//! - `x-ms-throttle-limit-percentage` (sent above 0.8 of the quota) caps the
//!   rate while Graph keeps sending it, and the cap lifts over `RAMP` once it
//!   stops; a refusal under that pressure means the tenant's other writers
//!   use part of the quota, so the pacer then keeps just under the rate
//!   Graph was admitting (measured over the last seconds) until the pressure
//!   ends, instead of climbing back into more refusals;
//! - a few refused writes among accepted ones (or the one of a retried
//!   pair), a 503 or a reset is a fault, not throttling: it pauses (when it
//!   says how long) but does not slow the pacer.
//!
//! Time is passed in, so it is testable.

use std::time::{Duration, Instant};

/// Graph's documented write quota per app and tenant.
pub const GRAPH_WRITES_PER_WINDOW: u32 = 3_000;
/// The window of that quota.
pub const GRAPH_WRITE_WINDOW: Duration = Duration::from_secs(150);

/// Share of the quota the pacer aims for.
const TARGET_SHARE: f64 = 0.9;
/// Lowest rate multiplier the pacer falls to.
pub(super) const MIN_SLOWDOWN: f64 = 0.05;
/// What one throttling episode multiplies the rate by.
pub(super) const THROTTLED_FACTOR: f64 = 0.5;
/// Graph sends `x-ms-throttle-limit-percentage` only from this share of the
/// quota used up (C-THR).
pub(super) const PRESSURE_REPORTED_FROM: f64 = 0.8;
/// How long the rate takes to climb back to full once Graph accepts writes
/// again (after a pause) or stops reporting pressure.
pub const RAMP: Duration = Duration::from_secs(2);
/// How long a pressure report counts as recent, for judging a 429.
const PRESSURE_MEMORY: Duration = Duration::from_secs(5);

/// What Graph said about one answered write request (or one round of a
/// batch's write items).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WriteSignal {
    /// Write items sent.
    pub writes: u32,
    /// Of those, refused with 429.
    pub throttled: u32,
    /// The longest `Retry-After` of the 429s, when they gave one.
    pub retry_after: Option<Duration>,
    /// The highest `x-ms-throttle-limit-percentage` reported.
    pub pressure: Option<f64>,
    /// The request was refused whole (a `$batch` envelope answered 429):
    /// one refusal, which pauses but is throttling only under pressure;
    /// Graph judged none of its items.
    pub whole: bool,
}

/// The usage share Graph reported, when it reported one (0.8–1.8).
pub(super) fn reported_share(pressure: Option<f64>) -> Option<f64> {
    pressure.filter(|share| *share >= PRESSURE_REPORTED_FROM)
}

/// The rate cap after a report of `share` used at `now`: 0.8 used → 0.8 of
/// full speed; 1.0 → 0.6; above → lower. Reports within `RAMP` of the last
/// one (`previous`, reported at `previous_at`) keep the lowest cap.
pub(super) fn pressure_cap(previous: f64, previous_at: Option<Instant>, share: f64, now: Instant) -> f64 {
    let cap = (1.6 - share).clamp(MIN_SLOWDOWN, 1.0);
    let recent = previous_at.is_some_and(|at| now.saturating_duration_since(at) < RAMP);
    if recent { previous.min(cap) } else { cap }
}

/// A multiplier that was `from` climbing back to 1.0 linearly over `RAMP`
/// from `since`.
pub(super) fn climbed(from: f64, since: Instant, now: Instant) -> f64 {
    climbed_over(from, since, RAMP, now)
}

/// The same over `ramp`.
fn climbed_over(from: f64, since: Instant, ramp: Duration, now: Instant) -> f64 {
    let progress = now.saturating_duration_since(since).as_secs_f64() / ramp.as_secs_f64();
    (from + (1.0 - from) * progress.min(1.0)).min(1.0)
}

/// A token bucket for writes, shared by every writer of a client.
#[derive(Debug, Clone)]
pub struct WritePacer {
    /// Writes per second at full speed.
    rate: f64,
    capacity: f64,
    tokens: f64,
    last: Instant,
    /// No write is sent before this.
    paused_until: Instant,
    /// Until this (the end of a throttling episode's pause) what accrues is
    /// set aside in `saved` rather than spendable. A single fault's pause
    /// accrues as usual, so it costs an apply held back by the pacer nothing.
    quiet_until: Instant,
    /// The multiplier the rate fell to at the last throttling episode…
    floor: f64,
    /// …and when it starts climbing back (the end of that episode's pause).
    ramp_from: Instant,
    /// The cap of the last pressure report, and when it came.
    pressure_cap: f64,
    pressure_at: Option<Instant>,
    /// Counts throttling episodes; a write carries the episode it was sent in.
    episode: u64,
    /// Until Graph answers a first write, one batch goes alone (a probe), so
    /// a quota another app has used up refuses one batch, not every writer's.
    /// When the probe was let go; the gate lifts at the first answer, or
    /// after `PROBE_PATIENCE` (the probe may have met a reset, not an answer).
    probe_sent: Option<Instant>,
    answered: bool,
    /// The tokens a throttling episode set aside, and those accrued during
    /// its pause: given back when the next accepted answer reports no
    /// pressure (the refusal was a storm, not our own use of the quota),
    /// dropped when it does. The probe after the pause may use them.
    saved: f64,
    recent: RecentAnswers,
    admitted: AdmittedRate,
    /// Throttled while Graph reported pressure, or again soon after Graph
    /// accepted writes following a throttling: the tenant's other writers
    /// use part of the quota. The pacer then keeps under the rate Graph was
    /// admitting (a multiplier of full speed, and when it was learned) while
    /// the pressure lasts, and at least `ADMITTED_HOLD`.
    admitted_cap: Option<(f64, Instant)>,
    /// When the last throttling episode began, and whether Graph accepted
    /// writes since.
    last_episode_at: Option<Instant>,
    accepted_since_episode: bool,
    /// The last answer that accepted writes reported no pressure.
    last_accepted_unpressured: bool,
    /// The first such answer since the last pressure report.
    pressure_cleared_at: Option<Instant>,
}

/// How long an answer counts as recent when judging whether Graph is
/// throttling (the weight of an answer halves every this long).
const RECENT_HALF_LIFE: Duration = Duration::from_secs(1);
/// Fewer recent refusals than this are faults, not throttling: a retry of
/// two writes with one refused says nothing about the quota.
const THROTTLING_EVIDENCE: f64 = 4.0;

/// The writes Graph judged lately, and how many it refused, each answer
/// weighing less as it ages.
#[derive(Debug, Clone, Copy)]
struct RecentAnswers {
    judged: f64,
    refused: f64,
    at: Instant,
}

impl RecentAnswers {
    fn add(&mut self, judged: u32, refused: u32, now: Instant) {
        let age = now.saturating_duration_since(self.at).as_secs_f64();
        let weight = 0.5f64.powf(age / RECENT_HALF_LIFE.as_secs_f64());
        self.judged = self.judged * weight + f64::from(judged);
        self.refused = self.refused * weight + f64::from(refused);
        self.at = self.at.max(now);
    }

    /// Graph refuses a quarter or more of the writes it judges, and more
    /// than a fault's worth.
    fn throttling(&self) -> bool {
        self.refused >= THROTTLING_EVIDENCE && self.refused * 4.0 >= self.judged
    }
}

/// How far back the rate Graph admits writes at is measured.
const ADMITTED_WINDOW: Duration = Duration::from_secs(6);
/// Fewer answers than this in the window give no measure of that rate.
const ADMITTED_ANSWERS: usize = 3;
/// Share of the admitted rate the pacer keeps to, after throttling under
/// pressure: the quota left by the tenant's other writers, less a margin.
const ADMITTED_SHARE: f64 = 0.95;
/// How long that cap holds at least, once learned; a throttling again
/// within this time after Graph accepted writes is the quota, not a storm.
const ADMITTED_HOLD: Duration = Duration::from_secs(10);
/// How long that cap then takes to lift to full speed: slowly, since Graph
/// refused at a rate just above it (the quota's other writers may still be
/// there, without Graph reporting pressure).
const ADMITTED_CLIMB: Duration = Duration::from_secs(30);

/// The rate at which Graph accepted writes lately, from the answers of the
/// last `ADMITTED_WINDOW`.
#[derive(Debug, Clone, Default)]
struct AdmittedRate {
    answers: std::collections::VecDeque<(Instant, u32)>,
}

impl AdmittedRate {
    fn add(&mut self, accepted: u32, now: Instant) {
        if accepted == 0 {
            return;
        }
        self.answers.push_back((now, accepted));
        while self.answers.front().is_some_and(|(at, _)| now.saturating_duration_since(*at) > ADMITTED_WINDOW)
        {
            self.answers.pop_front();
        }
    }

    /// Writes per second between the first and the last answer of the
    /// window (the first one's writes were admitted before it began).
    fn per_second(&self) -> Option<f64> {
        let (first, _) = *self.answers.front()?;
        let (last, _) = *self.answers.back()?;
        let span = last.saturating_duration_since(first).as_secs_f64();
        if self.answers.len() < ADMITTED_ANSWERS || span <= 0.0 {
            return None;
        }
        let after_first: u32 = self.answers.iter().skip(1).map(|(_, accepted)| accepted).sum();
        Some(f64::from(after_first) / span)
    }
}

/// The longest wait `wait_for` asks for before the writer asks again.
const LONGEST_PACING_WAIT: Duration = Duration::from_millis(250);

/// How long the other writers wait for the first probe's answer at most.
const PROBE_PATIENCE: Duration = Duration::from_secs(1);

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
            paused_until: now,
            quiet_until: now,
            floor: 1.0,
            ramp_from: now,
            pressure_cap: 1.0,
            pressure_at: None,
            episode: 0,
            probe_sent: None,
            answered: false,
            saved: 0.0,
            recent: RecentAnswers { judged: 0.0, refused: 0.0, at: now },
            admitted: AdmittedRate::default(),
            admitted_cap: None,
            last_episode_at: None,
            accepted_since_episode: false,
            last_accepted_unpressured: false,
            pressure_cleared_at: None,
        }
    }

    /// The rate multiplier at `now` (1.0 = full speed): the lower of the
    /// climb back from the last throttling and the pressure caps.
    pub fn slowdown(&self, now: Instant) -> f64 {
        let throttled = climbed(self.floor, self.ramp_from, now);
        // The pressure cap holds until Graph accepts writes without reporting
        // pressure (or stops answering for a while), then lifts over RAMP;
        // the admitted rate holds as long, and at least ADMITTED_HOLD.
        let pressured = self.pressure_lifts().map_or(1.0, |from| climbed(self.pressure_cap, from, now));
        throttled.min(pressured).min(self.admitted_slowdown(now)).max(MIN_SLOWDOWN)
    }

    fn refill(&mut self, now: Instant) {
        if now <= self.last {
            return;
        }
        let quiet_end = self.quiet_until.min(now);
        if quiet_end > self.last {
            // During a throttling episode's pause this app sends nothing, so
            // its own share of the quota fills as usual; what accrues is set
            // aside with the burst, to be given back only if Graph then
            // accepts writes without reporting pressure.
            let quiet = quiet_end.duration_since(self.last).as_secs_f64();
            self.saved = (self.saved + quiet * self.rate).min(self.capacity);
        }
        let from = self.last.max(quiet_end);
        let elapsed = now.saturating_duration_since(from).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate * self.slowdown(now)).min(self.capacity);
        self.last = now;
    }

    /// How long to wait before `writes` may be sent; zero means "send now",
    /// and the tokens are then taken. Call again after waiting: a pause may
    /// have begun meanwhile.
    pub fn wait_for(&mut self, writes: u32, now: Instant) -> Duration {
        self.refill(now);
        if now < self.paused_until {
            return self.paused_until - now;
        }
        if !self.answered
            && let Some(sent) = self.probe_sent
            && now < sent + PROBE_PATIENCE
        {
            return Duration::from_millis(5);
        }
        let writes = f64::from(writes).min(self.capacity);
        if self.probe_sent.is_none()
            && self.last_accepted_unpressured
            && !self.pressured(now)
            && self.tokens < writes
            && self.saved >= writes - self.tokens
        {
            // The probe after a storm's pause goes on the tokens set aside: it
            // is one batch, alone, and waiting for the slowed rate to pay for
            // it would only lengthen the pause. Under pressure, or before
            // Graph ever accepted a write without it, it waits: the quota
            // itself may be what ran out.
            self.saved -= writes - self.tokens;
            self.tokens = writes;
        }
        if self.tokens >= writes {
            self.tokens -= writes;
            self.probe_sent.get_or_insert(now);
            return Duration::ZERO;
        }
        let missing = writes - self.tokens;
        // At most a short while: the rate may be climbing back, and a wait
        // computed at today's slowed rate would outlast the climb.
        Duration::from_secs_f64(missing / (self.rate * self.slowdown(now)))
            .clamp(Duration::from_millis(1), LONGEST_PACING_WAIT)
    }

    /// Writes that failed without being served (503, a reset, a timeout)
    /// give their tokens back: Graph did not count them, and an outage must
    /// not be paced as if it were writing. They also count as the probe's answer.
    pub fn refund(&mut self, writes: u32) {
        self.tokens = (self.tokens + f64::from(writes)).min(self.capacity);
        self.answered = true;
    }

    /// The episode a write sent now belongs to.
    pub fn episode(&self) -> u64 {
        self.episode
    }

    /// The admitted-rate cap's part of `slowdown`.
    fn admitted_slowdown(&self, now: Instant) -> f64 {
        self.admitted_cap.map_or(1.0, |(cap, learned)| {
            let lifts = self.pressure_lifts().unwrap_or(learned).max(learned + ADMITTED_HOLD);
            climbed_over(cap, lifts, ADMITTED_CLIMB, now)
        })
    }

    /// When the pressure cap starts lifting: at the first answer without
    /// pressure after the last report, or `PRESSURE_MEMORY` after it.
    fn pressure_lifts(&self) -> Option<Instant> {
        self.pressure_at
            .map(|at| self.pressure_cleared_at.unwrap_or(at + PRESSURE_MEMORY).min(at + PRESSURE_MEMORY))
    }

    /// Whether Graph reported pressure lately.
    fn pressured(&self, now: Instant) -> bool {
        self.pressure_at.is_some_and(|at| now.saturating_duration_since(at) < PRESSURE_MEMORY)
    }

    /// Takes in what Graph answered to writes sent in episode `sent_in`.
    pub fn observe(&mut self, signal: WriteSignal, sent_in: u64, now: Instant) {
        self.answered = true;
        if !signal.whole {
            self.recent.add(signal.writes, signal.throttled, now);
            let accepted = signal.writes - signal.throttled.min(signal.writes);
            self.admitted.add(accepted, now);
            if accepted > 0 {
                // Only writes sent after the episode began say Graph accepts
                // again; a late answer to one sent before says nothing.
                self.accepted_since_episode |= sent_in == self.episode;
                self.last_accepted_unpressured = reported_share(signal.pressure).is_none();
                if self.last_accepted_unpressured && self.pressure_at.is_some() {
                    self.pressure_cleared_at.get_or_insert(now);
                }
            }
        }
        if signal.throttled == 0 && signal.writes > 0 && self.saved > 0.0 {
            if reported_share(signal.pressure).is_none() && self.admitted_slowdown(now) >= 1.0 {
                self.tokens = (self.tokens + self.saved).min(self.capacity);
            }
            self.saved = 0.0;
        }
        if let Some(share) = reported_share(signal.pressure) {
            // The quota has only the rest left: no burst beyond it.
            self.tokens = self.tokens.min((1.0 - share).max(0.0) * self.capacity);
            self.pressure_cap = pressure_cap(self.pressure_cap, self.pressure_at, share, now);
            self.pressure_at = Some(now);
            self.pressure_cleared_at = None;
        }
        if signal.throttled == 0 {
            return;
        }
        // Graph did not count the writes it refused: their tokens come back,
        // set aside while a throttling episode's pause lasts.
        let refused = f64::from(signal.throttled);
        if now < self.quiet_until {
            self.saved = (self.saved + refused).min(self.capacity);
        } else {
            self.tokens = (self.tokens + refused).min(self.capacity);
        }
        if let Some(wait) = signal.retry_after {
            self.paused_until = self.paused_until.max(now + wait);
        }
        let pressured = self.pressured(now);
        // An envelope refused whole is one refusal: Graph judged none of its items.
        let refusing = !signal.whole && self.recent.throttling();
        if sent_in == self.episode && (refusing || pressured) {
            let recurrent = self.accepted_since_episode
                && self.last_episode_at.is_some_and(|at| now.saturating_duration_since(at) < ADMITTED_HOLD);
            self.episode += 1;
            self.last_episode_at = Some(now);
            self.accepted_since_episode = false;
            self.floor = (self.slowdown(now) * THROTTLED_FACTOR).max(MIN_SLOWDOWN);
            let admitted = self.admitted.per_second().filter(|_| pressured || recurrent);
            if let Some(admitted) = admitted {
                // Graph admitted this much while others used the rest: keep
                // just under it, rather than climbing back into the refusals;
                // never below where halving would have put it (the pacer may
                // have been sending slower than Graph would admit). What was
                // set aside is dropped: the quota, not a storm, refused.
                let cap = (ADMITTED_SHARE * admitted / self.rate).clamp(self.floor, 1.0);
                self.admitted_cap = Some((cap, now));
                self.floor = self.floor.max(cap * THROTTLED_FACTOR.sqrt());
                self.saved = 0.0;
            } else {
                self.saved = self.saved.max(self.tokens);
            }
            self.tokens = self.tokens.min(0.0);
            // After the pause, one batch goes alone again.
            self.answered = false;
            self.probe_sent = None;
        }
        if self.episode > sent_in {
            self.quiet_until = self.quiet_until.max(self.paused_until);
        }
        if sent_in + 1 >= self.episode {
            // The climb starts when the (latest) pause ends.
            self.ramp_from = self.ramp_from.max(self.paused_until.max(now));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(writes: u32, throttled: u32, retry_after: Option<u64>) -> WriteSignal {
        WriteSignal {
            writes,
            throttled,
            retry_after: retry_after.map(Duration::from_secs),
            pressure: None,
            whole: false,
        }
    }

    #[test]
    fn the_first_batch_goes_alone_until_graph_answers_it() {
        let now = Instant::now();
        let mut pacer = WritePacer::new(3000, GRAPH_WRITE_WINDOW, now);
        assert_eq!(pacer.wait_for(20, now), Duration::ZERO);
        assert!(pacer.wait_for(20, now) > Duration::ZERO, "the others wait for the probe's answer");
        // Without an answer (a reset), they go after a while anyway.
        assert_eq!(pacer.wait_for(20, now + PROBE_PATIENCE), Duration::ZERO);
        let mut pacer = WritePacer::new(3000, GRAPH_WRITE_WINDOW, now);
        assert_eq!(pacer.wait_for(20, now), Duration::ZERO);
        pacer.observe(signal(20, 0, None), 0, now);
        assert_eq!(pacer.wait_for(20, now), Duration::ZERO, "answered: the burst is open");
    }

    /// Sends batches of 20 as fast as the pacer allows, from `from` to `to`;
    /// Graph answers each at once, accepting it.
    fn sent_between(pacer: &mut WritePacer, from: Instant, to: Instant) -> u32 {
        let mut clock = from;
        let mut sent = 0u32;
        while clock < to {
            let wait = pacer.wait_for(20, clock);
            if wait.is_zero() {
                sent += 20;
                pacer.observe(signal(20, 0, None), pacer.episode(), clock);
            } else {
                clock += wait;
            }
        }
        sent
    }

    #[test]
    fn stays_under_the_quota_over_a_window() {
        let start = Instant::now();
        let mut pacer = WritePacer::new(GRAPH_WRITES_PER_WINDOW, GRAPH_WRITE_WINDOW, start);
        let sent = sent_between(&mut pacer, start, start + GRAPH_WRITE_WINDOW);
        assert!(sent <= GRAPH_WRITES_PER_WINDOW, "{sent}");
        assert!(sent >= GRAPH_WRITES_PER_WINDOW * 8 / 10, "too slow: {sent}");
    }

    #[test]
    fn a_throttled_write_pauses_every_writer_until_retry_after() {
        let now = Instant::now();
        let mut pacer = WritePacer::new(3000, GRAPH_WRITE_WINDOW, now);
        assert_eq!(pacer.wait_for(20, now), Duration::ZERO);
        pacer.observe(signal(20, 0, None), pacer.episode(), now);
        pacer.observe(signal(20, 20, Some(10)), pacer.episode(), now);
        assert_eq!(pacer.wait_for(1, now), Duration::from_secs(10));
        // Any writer, even with tokens left, waits for the pause to end.
        assert_eq!(pacer.wait_for(1, now + Duration::from_secs(3)), Duration::from_secs(7));
        let after = now + Duration::from_secs(10);
        assert_eq!(pacer.wait_for(20, after), Duration::ZERO, "one batch goes alone, a probe…");
        assert!(pacer.wait_for(1, after) > Duration::ZERO, "…no burst until it is answered");
        // Had Graph never accepted a write, the probe would wait for the slowed rate.
        let mut pacer = WritePacer::new(3000, GRAPH_WRITE_WINDOW, now);
        assert_eq!(pacer.wait_for(20, now), Duration::ZERO);
        pacer.observe(signal(20, 20, Some(10)), pacer.episode(), now);
        assert!(pacer.wait_for(20, after) > Duration::ZERO);
    }

    #[test]
    fn the_rate_comes_back_in_time_not_per_answer() {
        let start = Instant::now();
        let mut pacer = WritePacer::new(3000, GRAPH_WRITE_WINDOW, start);
        // Five throttling episodes in a row (a storm): the rate falls low…
        let mut clock = start;
        for _ in 0..5 {
            pacer.observe(signal(20, 20, Some(2)), pacer.episode(), clock);
            clock += Duration::from_secs(2);
        }
        assert!(pacer.slowdown(clock) < 0.1, "{}", pacer.slowdown(clock));
        // A writer asks again soon, rather than sleeping out a wait computed
        // at the slowed rate while the rate climbs back.
        assert!(pacer.wait_for(20, clock) <= LONGEST_PACING_WAIT);
        // …and with no answer at all, time alone brings it back to full.
        assert_eq!(pacer.slowdown(clock + RAMP), 1.0);
        let full = sent_between(&mut pacer, clock + RAMP, clock + RAMP + Duration::from_secs(60));
        // 60 s at 18 writes/s, plus the climb's few.
        assert!(full >= 1_000, "{full}");
    }

    #[test]
    fn after_a_storm_the_quota_refilled_during_it_is_spent_at_once() {
        let start = Instant::now();
        let mut pacer = WritePacer::new(3000, GRAPH_WRITE_WINDOW, start);
        // 100 writes of the 270 burst go through, then every write is refused
        // with `Retry-After: 2` for 10 s (another app used up the quota).
        let storm_ends = start + Duration::from_secs(10);
        let mut clock = start;
        let mut accepted = 0;
        let mut probes = 0;
        while accepted < 100 {
            assert_eq!(pacer.wait_for(20, clock), Duration::ZERO);
            accepted += 20;
            pacer.observe(signal(20, 0, None), pacer.episode(), clock);
            clock += Duration::from_millis(20);
        }
        // Four batches were in flight when the storm began: three refused
        // whole, and one answered last with half of it accepted (sent before).
        let sent_in = pacer.episode();
        for _ in 0..3 {
            pacer.observe(signal(20, 20, Some(2)), sent_in, clock);
        }
        pacer.observe(signal(20, 10, Some(2)), sent_in, clock);
        while clock < storm_ends {
            let wait = pacer.wait_for(20, clock);
            if !wait.is_zero() {
                clock += wait;
                continue;
            }
            probes += 1;
            pacer.observe(signal(20, 20, Some(2)), pacer.episode(), clock);
        }
        // One probe per Retry-After: the probe after a pause does not wait
        // for the slowed rate to pay for it.
        assert!(probes <= 6, "{probes} probes in a 10 s storm");
        // The probe after the storm is accepted without pressure…
        assert_eq!(pacer.wait_for(20, clock), Duration::ZERO);
        pacer.observe(signal(20, 0, None), pacer.episode(), clock);
        // …and the whole burst is there again: what was left of it, and what
        // the quota refilled while this app sent nothing.
        assert_eq!(pacer.wait_for(240, clock), Duration::ZERO);
    }

    #[test]
    fn answers_to_writes_sent_before_the_episode_do_not_slow_it_again() {
        let now = Instant::now();
        let mut pacer = WritePacer::new(3000, GRAPH_WRITE_WINDOW, now);
        let sent_in = pacer.episode();
        for _ in 0..4 {
            pacer.observe(signal(20, 20, Some(1)), sent_in, now);
        }
        let after = now + Duration::from_secs(1);
        assert!((pacer.slowdown(after) - THROTTLED_FACTOR).abs() < 1e-9, "{}", pacer.slowdown(after));
    }

    #[test]
    fn after_a_storm_the_burst_left_is_given_back_but_not_under_pressure() {
        let now = Instant::now();
        for (pressure, burst_back) in [(None, true), (Some(1.0), false)] {
            let mut pacer = WritePacer::new(3000, GRAPH_WRITE_WINDOW, now);
            assert_eq!(pacer.wait_for(20, now), Duration::ZERO);
            pacer.observe(signal(20, 0, None), 0, now);
            pacer.observe(signal(20, 20, Some(2)), pacer.episode(), now);
            let after = now + Duration::from_secs(2) + RAMP;
            assert_eq!(pacer.wait_for(20, after), Duration::ZERO, "the probe");
            assert!(pacer.wait_for(20, after) > Duration::ZERO, "alone");
            pacer.observe(
                WriteSignal { writes: 20, throttled: 0, retry_after: None, pressure, whole: false },
                pacer.episode(),
                after,
            );
            let next = pacer.wait_for(200, after);
            assert_eq!(next.is_zero(), burst_back, "{pressure:?}: {next:?}");
        }
    }

    #[test]
    fn single_faults_pause_but_do_not_slow() {
        let now = Instant::now();
        let mut pacer = WritePacer::new(3000, GRAPH_WRITE_WINDOW, now);
        pacer.observe(signal(20, 1, Some(1)), pacer.episode(), now);
        assert_eq!(pacer.wait_for(1, now), Duration::from_secs(1));
        assert_eq!(pacer.slowdown(now + Duration::from_secs(1)), 1.0);
        // An envelope refused whole is one refusal: it pauses, it does not slow.
        let whole = WriteSignal { whole: true, ..signal(20, 20, Some(1)) };
        pacer.observe(whole, pacer.episode(), now);
        assert_eq!(pacer.slowdown(now + Duration::from_secs(1)), 1.0);
        // 503s and resets give their tokens back; answers without a 429 change nothing.
        let later = now + Duration::from_secs(1);
        assert_eq!(pacer.wait_for(260, later), Duration::ZERO);
        assert!(pacer.wait_for(20, later) > Duration::ZERO);
        pacer.refund(20);
        assert_eq!(pacer.wait_for(20, later), Duration::ZERO, "the refunded tokens");
        pacer.observe(signal(20, 0, None), pacer.episode(), now);
        assert_eq!(pacer.slowdown(now), 1.0);
    }

    #[test]
    fn a_retried_pair_with_one_refused_is_a_fault_not_throttling() {
        let now = Instant::now();
        let mut pacer = WritePacer::new(3000, GRAPH_WRITE_WINDOW, now);
        pacer.observe(signal(20, 2, Some(1)), pacer.episode(), now);
        // The two are retried alone, and one of them meets another 429.
        let later = now + Duration::from_secs(1);
        pacer.observe(signal(2, 1, Some(1)), pacer.episode(), later);
        assert_eq!(pacer.episode(), 0, "no throttling episode");
        assert_eq!(pacer.slowdown(later + Duration::from_secs(1)), 1.0);
        // Graph refusing batch after batch is throttling, though (one episode
        // for the batches sent together).
        let sent_in = pacer.episode();
        for round in 0..3 {
            pacer.observe(signal(20, 20, Some(1)), sent_in, later + Duration::from_millis(round));
        }
        assert_eq!(pacer.episode(), 1);
    }

    /// Graph's write quota for this app and tenant, another app of the
    /// tenant taking half of its refill; empty at the start.
    struct SharedQuota {
        capacity: f64,
        tokens: f64,
        at: Instant,
        refill_per_second: f64,
    }

    impl SharedQuota {
        /// Judges `writes` sent at `now`, item by item, as Graph does.
        fn answer(&mut self, writes: u32, now: Instant) -> WriteSignal {
            self.tokens += now.saturating_duration_since(self.at).as_secs_f64() * self.refill_per_second;
            self.tokens = self.tokens.min(self.capacity);
            self.at = now;
            let admitted = (self.tokens.floor() as u32).min(writes);
            self.tokens -= f64::from(admitted);
            let throttled = writes - admitted;
            let missing = (1.0 - self.tokens).max(0.0);
            WriteSignal {
                writes,
                throttled,
                // Whole seconds, at least one, as the emulator and Graph's samples give them.
                retry_after: (throttled > 0)
                    .then(|| Duration::from_secs_f64((missing / self.refill_per_second).ceil().max(1.0))),
                pressure: (admitted > 0).then(|| 1.0 - self.tokens / self.capacity),
                whole: false,
            }
        }
    }

    /// An apply of `seconds` against a quota of `budget` writes per 150 s
    /// that another app uses half of: writes per second as a share of the
    /// half left, and the share of writes refused.
    fn with_half_the_quota_left(budget: u32, seconds: u64) -> (f64, f64) {
        let start = Instant::now();
        let full = f64::from(budget) / GRAPH_WRITE_WINDOW.as_secs_f64();
        let mut graph = SharedQuota {
            capacity: f64::from(budget),
            tokens: 0.0,
            at: start,
            refill_per_second: full / 2.0,
        };
        let mut pacer = WritePacer::new(budget, GRAPH_WRITE_WINDOW, start);
        let (mut clock, mut retry) = (start, 0u32);
        let (mut accepted, mut refused) = (0u32, 0u32);
        while clock < start + Duration::from_secs(seconds) {
            // The first write goes alone (as an apply's does); writes refused
            // are sent again on their own, then full batches.
            let writes = if accepted + refused == 0 {
                1
            } else if retry > 0 {
                retry
            } else {
                20
            };
            let wait = pacer.wait_for(writes, clock);
            if !wait.is_zero() {
                clock += wait;
                continue;
            }
            let sent_in = pacer.episode();
            let signal = graph.answer(writes, clock);
            retry = signal.throttled;
            accepted += writes - signal.throttled;
            refused += signal.throttled;
            pacer.observe(signal, sent_in, clock);
        }
        let rate = f64::from(accepted) / seconds as f64;
        (rate / (full / 2.0), f64::from(refused) / f64::from(accepted + refused))
    }

    #[test]
    fn with_half_the_quota_used_by_another_app_it_keeps_to_the_half_left() {
        // Graph's quota over a long apply, and the benchmark's ×10 quota over 20 s.
        for (budget, seconds) in [(GRAPH_WRITES_PER_WINDOW, 300), (GRAPH_WRITES_PER_WINDOW * 10, 20)] {
            let (rate, refused) = with_half_the_quota_left(budget, seconds);
            assert!((0.9..=1.0).contains(&rate), "{budget}: {rate:.3} of the half left");
            assert!(refused <= 0.01, "{budget}: {:.2} % refused", refused * 100.0);
        }
    }

    #[test]
    fn pressure_caps_the_rate_while_reported_and_lifts_in_time() {
        let now = Instant::now();
        let mut pacer = WritePacer::new(3000, GRAPH_WRITE_WINDOW, now);
        let pressure = |share| WriteSignal {
            writes: 20,
            throttled: 0,
            retry_after: None,
            pressure: Some(share),
            whole: false,
        };
        pacer.observe(pressure(1.2), 0, now);
        assert!((pacer.slowdown(now) - 0.4).abs() < 1e-9);
        // A 429 while Graph reports pressure is throttling, even for one write.
        pacer.observe(signal(20, 1, Some(1)), pacer.episode(), now);
        assert!((pacer.slowdown(now) - 0.2).abs() < 1e-9, "{}", pacer.slowdown(now));
        assert_eq!(pacer.slowdown(now + Duration::from_secs(1) + RAMP * 2), 1.0);
    }
}
