//! Client-side pacing of writes, so an apply spends the write quota Graph
//! gives an app in a tenant (3,000 writes per 150 s) as fast as latency
//! allows, settles to the rate the quota refills at once that is spent, and
//! keeps out of a storm of 429s when others use the quota too. The quota is
//! per app and tenant, so the pacer is shared by every writer of a client.
//!
//! What Microsoft documents ("Identity and access service limits",
//! <https://learn.microsoft.com/graph/throttling-limits>): throttling "is
//! based on a token bucket algorithm"; an application+tenant pair may write
//! "3,000 requests per 2 minutes and 30 seconds"; `x-ms-resource-unit`
//! reports what each request cost; `x-ms-throttle-limit-percentage` is
//! "returned only when the application consumed more than 0.8 of its
//! limit" (0.8 to 1.8); a throttled request gets 429 with `Retry-After`. The
//! page does not say how large the bucket is or how it refills: continuously
//! (an unused quota takes 3,000 writes at once, then 20 a second), or whole
//! at the end of a fixed window, or a write at a time 150 s after it was
//! made (a sliding window). The pacer is built for the continuous reading,
//! which the word "bucket" suggests, and stays out of a storm under the
//! other two, where Graph's own signals stop it:
//!
//! - **The window.** The pacer keeps an estimate of the window its own
//!   writes have used: a model of Graph's bucket holding `QUOTA_SHARE` of
//!   the quota, full on an unused quota, which every write the pacer sends
//!   drains (less those Graph refused or never received) and which refills
//!   at `QUOTA_SHARE` of the quota's rate. While it holds enough, a write
//!   goes at once: an apply of up to 2,940 writes on an unused quota runs
//!   as fast as latency and the batches in flight allow (every reading of
//!   the quota admits that much on an unused window), and a longer burst
//!   keeps spending what the quota refills meanwhile.
//! - **The flow.** Once the model is spent, writes go at its refill rate
//!   (19.6 a second), from a small bucket of their own (`FLOW_SHARE` of the
//!   quota): the rate an apply of many windows settles to. The window and
//!   the flow together never send more than a continuously refilled bucket
//!   of the quota admits. Under a fixed or sliding window Graph refuses part
//!   of the flow; the refusals and their `Retry-After` then pace it, by the
//!   rules below. (A gate on the writes of the last 150 s alone would hold
//!   an apply of many windows to 3,000 per 150 s on top of the flow, or
//!   waste what the quota refills while a long burst is sent.)
//! - The pacer also counts its own writes of the last 150 s: the most of
//!   the quota they can have used under any reading, to judge pressure.
//! - **The first write of an apply goes alone** (a probe) until Graph
//!   answers it, so a quota another app has used up refuses one write, and
//!   its pressure report is heard before the window is spent.
//! - **Pressure.** A report of `x-ms-throttle-limit-percentage` is compared
//!   with the pacer's own use: a share the pacer's own writes explain is
//!   the quota spent as intended and changes nothing but the burst left. A
//!   share they do not explain means others use the quota: the window
//!   closes and the flow is capped at 1.6 − the share while Graph keeps
//!   reporting it, lifting over `RAMP` once it stops. Either way, no burst
//!   goes beyond the share of the quota Graph says is left.
//! - **A 429 with `Retry-After`** that may mean an empty quota (the whole
//!   request or every write of it refused, throttling, or pressure) pauses
//!   every writer until then (one request waiting is not enough: the others
//!   would meet the same empty quota); after a throttling episode's pause,
//!   one batch goes alone again until Graph answers.
//! - **Throttling** (a quarter or more of the writes Graph judged lately
//!   refused, and more than a few, or a refusal while Graph reports
//!   pressure) halves the flow's rate once per episode — answers to
//!   requests sent before the episode began do not halve it again — and
//!   closes the window until Graph accepts writes again without pressure
//!   the pacer's writes do not explain (the storm passed). The rate climbs
//!   back to full over `RAMP` after the pause, in time, not per answer.
//!   What the flow had left, and what it refilled during the pause, are
//!   given back when the storm passed, dropped when Graph then reports
//!   pressure.
//! - **A refusal under pressure** means the tenant's other writers use part
//!   of the quota: the pacer then keeps to 95 % of the rate Graph admitted
//!   over the last 6 s until the pressure ends (and at least 10 s), then
//!   climbs back over 30 s, instead of climbing back into more refusals.
//! - **A fault is not throttling.** A few refused writes among accepted
//!   ones (or the one of a retried pair) wait their own `Retry-After`
//!   before they are sent again, and pause no other writer; a 503 or a
//!   reset does not slow the pacer either.
//!
//! Time is passed in, so it is testable.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub use crate::plan::apply_time::{GRAPH_WRITE_WINDOW, GRAPH_WRITES_PER_WINDOW};

/// Share of the quota the pacer spends (`plan::apply_time::PACED_QUOTA_SHARE`,
/// the one source of the rate a plan's time and an apply's time left count
/// at): the model of the window holds this share of the quota and refills
/// at this share of its rate (2,940 writes at once, then 19.6 a second).
/// The rest is the margin for the flow's own small burst (`FLOW_SHARE`) and
/// for rounding.
pub use crate::plan::apply_time::PACED_QUOTA_SHARE as QUOTA_SHARE;
/// The flow's token bucket holds this share of the quota (30 writes of
/// 3,000): with the window's `QUOTA_SHARE`, never more than the quota.
const FLOW_SHARE: f64 = 0.01;
/// A reported usage share at most this far above the pacer's own use is
/// explained by the pacer's own writes (Graph rounds the share to 0.01,
/// counts a write when it arrives, and may count a few the pacer did not
/// see, such as an earlier run's).
const EXPLAINED_BY_OWN_WRITES: f64 = 0.05;
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

/// The pacer's own writes of the last window, as Graph would count them:
/// refused writes and those that never reached Graph are taken back.
#[derive(Debug, Clone, Default)]
struct OwnWrites {
    /// When writes were sent, and how many, oldest first.
    sent: VecDeque<(Instant, f64)>,
    total: f64,
}

impl OwnWrites {
    fn add(&mut self, writes: f64, now: Instant) {
        match self.sent.back_mut() {
            Some((at, count)) if *at == now => *count += writes,
            _ => self.sent.push_back((now, writes)),
        }
        self.total += writes;
    }

    /// Forgets the writes sent a whole `window` ago or earlier.
    fn forget_older(&mut self, window: Duration, now: Instant) {
        while let Some(&(at, count)) = self.sent.front() {
            if now.saturating_duration_since(at) < window {
                break;
            }
            self.sent.pop_front();
            self.total -= count;
        }
        if self.sent.is_empty() {
            self.total = 0.0;
        }
    }

    /// Takes back `writes` Graph did not count, from the latest sent (the
    /// ones it just answered were sent within the last round trips).
    fn take_back(&mut self, mut writes: f64) {
        while writes > 0.0
            && let Some((_, count)) = self.sent.back_mut()
        {
            let taken = count.min(writes);
            *count -= taken;
            self.total -= taken;
            writes -= taken;
            if *count <= 0.0 {
                self.sent.pop_back();
            }
        }
        self.total = self.total.max(0.0);
    }

    fn count(&self) -> f64 {
        self.total
    }
}

/// The pacer of writes, shared by every writer of a client.
#[derive(Debug, Clone)]
pub struct WritePacer {
    /// Graph's quota: writes per `window`.
    budget: f64,
    window: Duration,
    /// The pacer's own writes of the last `window`.
    own: OwnWrites,
    /// The model of the window: what Graph's bucket holds for this app as
    /// its own writes leave it (`QUOTA_SHARE` of the quota when full). In
    /// debt after the flow's writes when it was empty.
    window_left: f64,
    window_capacity: f64,
    /// The flow (and the window's refill): writes per second at full speed…
    rate: f64,
    /// …and the flow's token bucket (in debt after a batch larger than it holds).
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
    /// The cap of the last pressure report the pacer's own writes did not
    /// explain, and when it came.
    pressure_cap: f64,
    pressure_at: Option<Instant>,
    /// When Graph last reported pressure at all (explained or not).
    pressure_heard_at: Option<Instant>,
    /// What Graph said is left of the quota at its last report, less what
    /// the pacer sent since.
    left: f64,
    /// Counts throttling episodes; a write carries the episode it was sent in.
    episode: u64,
    /// Graph accepted writes sent in the current episode, without pressure
    /// the pacer's writes do not explain: the storm passed, the window is
    /// open again.
    storm_passed: bool,
    /// Until Graph answers a first write, one batch goes alone (a probe), so
    /// a quota another app has used up refuses one batch, not every writer's.
    /// When the probe was let go; the gate lifts at the first answer, or
    /// after `PROBE_PATIENCE` (the probe may have met a reset, not an answer).
    probe_sent: Option<Instant>,
    answered: bool,
    /// The flow's tokens a throttling episode set aside, and those accrued
    /// during its pause: given back when the next accepted answer reports no
    /// pressure the pacer does not explain (the refusal was a storm), dropped
    /// when it does. The probe after the pause may use them.
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
    /// The last answer that accepted writes reported no pressure the
    /// pacer's own writes do not explain.
    last_accepted_unpressured: bool,
    /// The first such answer since the last unexplained pressure report.
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
    answers: VecDeque<(Instant, u32)>,
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
/// How often they ask whether it came: the window opens at its answer,
/// and on a fast network a round trip is a few milliseconds.
const PROBE_POLL: Duration = Duration::from_millis(1);

impl WritePacer {
    /// A pacer for `budget` writes per `window`, on a quota it has not used.
    pub fn new(budget: u32, window: Duration, now: Instant) -> Self {
        let budget = f64::from(budget.max(1));
        let capacity = (budget * FLOW_SHARE).max(1.0);
        WritePacer {
            budget,
            window,
            own: OwnWrites::default(),
            window_left: budget * QUOTA_SHARE,
            window_capacity: budget * QUOTA_SHARE,
            rate: budget * QUOTA_SHARE / window.as_secs_f64().max(0.001),
            capacity,
            tokens: capacity,
            last: now,
            paused_until: now,
            quiet_until: now,
            floor: 1.0,
            ramp_from: now,
            pressure_cap: 1.0,
            pressure_at: None,
            pressure_heard_at: None,
            left: budget,
            episode: 0,
            storm_passed: false,
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
        throttled.min(self.pressure_slowdown(now)).min(self.admitted_slowdown(now)).max(MIN_SLOWDOWN)
    }

    /// The pressure cap's part of `slowdown`: it holds until Graph accepts
    /// writes without reporting pressure (or stops answering for a while),
    /// then lifts over `RAMP`.
    fn pressure_slowdown(&self, now: Instant) -> f64 {
        self.pressure_lifts().map_or(1.0, |from| climbed(self.pressure_cap, from, now))
    }

    /// The flow's rate at full speed, in writes per second: the rate an
    /// apply of many windows settles to.
    pub fn sustained_rate(&self) -> f64 {
        self.rate
    }

    /// How long `writes` more writes take at the pacer's pace from `now`,
    /// latency aside: what the window still takes at once, then the rest at
    /// the flow's rate as it is now (slowed while Graph throttles or reports
    /// pressure), after any pause. An estimate for a progress line's time
    /// left: the window is counted as the quota's continuous refill would
    /// give it back.
    pub fn expected_time_for(&self, writes: u64, now: Instant) -> Duration {
        let pause = self.paused_until.saturating_duration_since(now);
        let at_once = self.window_room(now) + self.tokens.max(0.0);
        let rest = writes as f64 - at_once;
        if rest <= 0.0 {
            return pause;
        }
        pause + Duration::from_secs_f64(rest / (self.rate * self.slowdown(now)))
    }

    fn refill(&mut self, now: Instant) {
        self.own.forget_older(self.window, now);
        if self.pressure_heard_at.is_none_or(|at| now.saturating_duration_since(at) >= PRESSURE_MEMORY) {
            self.left = self.budget;
        }
        if now <= self.last {
            return;
        }
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.window_left = (self.window_left + elapsed * self.rate).min(self.window_capacity);
        let quiet_end = self.quiet_until.min(now);
        if quiet_end > self.last {
            // During a throttling episode's pause this app sends nothing, so
            // its own share of the quota fills as usual; what accrues is set
            // aside, to be given back only if Graph then accepts writes
            // without reporting pressure.
            let quiet = quiet_end.duration_since(self.last).as_secs_f64();
            self.saved = (self.saved + quiet * self.rate).min(self.capacity);
        }
        let from = self.last.max(quiet_end);
        let elapsed = now.saturating_duration_since(from).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate * self.slowdown(now)).min(self.capacity);
        self.last = now;
    }

    /// Whether the window may be spent: no throttling since Graph last
    /// accepted writes, and no pressure the pacer's writes do not explain.
    fn window_open(&self, now: Instant) -> bool {
        (self.episode == 0 || self.storm_passed)
            && self.pressure_slowdown(now) >= 1.0
            && self.admitted_slowdown(now) >= 1.0
    }

    /// Writes the window takes at once: what its model holds, and no more
    /// than Graph last said is left.
    fn window_room(&self, now: Instant) -> f64 {
        if !self.window_open(now) {
            return 0.0;
        }
        self.window_left.min(self.left).max(0.0)
    }

    /// Takes `writes` as sent now.
    fn sent(&mut self, writes: f64, now: Instant) {
        self.own.add(writes, now);
        self.window_left -= writes;
        self.left -= writes;
        self.probe_sent.get_or_insert(now);
    }

    /// How long to wait before `writes` may be sent; zero means "send now",
    /// and they are then counted as sent. Call again after waiting: a pause
    /// may have begun meanwhile.
    pub fn wait_for(&mut self, writes: u32, now: Instant) -> Duration {
        self.refill(now);
        if now < self.paused_until {
            return self.paused_until - now;
        }
        if !self.answered
            && let Some(sent) = self.probe_sent
            && now < sent + PROBE_PATIENCE
        {
            return PROBE_POLL;
        }
        let wanted = f64::from(writes);
        if self.answered && wanted <= self.window_room(now) {
            self.sent(wanted, now);
            return Duration::ZERO;
        }
        // The flow: a batch larger than its bucket goes once the bucket is
        // full, and leaves it in debt.
        let needed = wanted.min(self.capacity);
        if self.probe_sent.is_none()
            && self.last_accepted_unpressured
            && !self.pressured(now)
            && self.tokens < needed
            && self.saved >= needed - self.tokens
        {
            // The probe after a storm's pause goes on the tokens set aside: it
            // is one batch, alone, and waiting for the slowed rate to pay for
            // it would only lengthen the pause. Under pressure, or before
            // Graph ever accepted a write without it, it waits: the quota
            // itself may be what ran out.
            self.saved -= needed - self.tokens;
            self.tokens = needed;
        }
        if self.tokens >= needed {
            self.tokens -= wanted;
            self.sent(wanted, now);
            return Duration::ZERO;
        }
        let missing = needed - self.tokens;
        // At most a short while: the rate may be climbing back, the window
        // may free up as old writes leave it, and a wait computed at today's
        // slowed rate would outlast both.
        Duration::from_secs_f64(missing / (self.rate * self.slowdown(now)))
            .clamp(Duration::from_millis(1), LONGEST_PACING_WAIT)
    }

    /// How long every writer is paused from `now` (a `Retry-After`): what
    /// a client sending unpaced still waits.
    pub fn pause_left(&self, now: Instant) -> Duration {
        self.paused_until.saturating_duration_since(now)
    }

    /// Writes that failed without being served (503, a reset, a timeout)
    /// give their place back: Graph did not count them, and an outage must
    /// not be paced as if it were writing. They also count as the probe's answer.
    pub fn refund(&mut self, writes: u32) {
        let writes = f64::from(writes);
        self.tokens = (self.tokens + writes).min(self.capacity);
        self.own.take_back(writes);
        self.window_left = (self.window_left + writes).min(self.window_capacity);
        self.left += writes;
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

    /// Whether Graph reported pressure lately (explained or not).
    fn pressured(&self, now: Instant) -> bool {
        self.pressure_heard_at.is_some_and(|at| now.saturating_duration_since(at) < PRESSURE_MEMORY)
    }

    /// Takes in what Graph answered to writes sent in episode `sent_in`.
    pub fn observe(&mut self, signal: WriteSignal, sent_in: u64, now: Instant) {
        self.answered = true;
        self.own.forget_older(self.window, now);
        let refused = signal.throttled.min(signal.writes);
        // Graph did not count the writes it refused.
        self.own.take_back(f64::from(refused));
        self.window_left = (self.window_left + f64::from(refused)).min(self.window_capacity);
        let reported = reported_share(signal.pressure);
        // The most of the quota the pacer's own writes can have used: all of
        // the last window's (a sliding reading), or what the model spent.
        let own_share = (self.own.count() / self.budget).max(1.0 - self.window_left.max(0.0) / self.budget);
        // Pressure the pacer's own writes do not explain: others use the quota.
        let unexplained = reported.filter(|share| *share > own_share + EXPLAINED_BY_OWN_WRITES);
        if !signal.whole {
            self.recent.add(signal.writes, signal.throttled, now);
            let accepted = signal.writes - refused;
            self.admitted.add(accepted, now);
            if accepted > 0 {
                // Only writes sent after the episode began say Graph accepts
                // again; a late answer to one sent before says nothing.
                self.accepted_since_episode |= sent_in == self.episode;
                self.last_accepted_unpressured = unexplained.is_none();
                if self.last_accepted_unpressured {
                    self.storm_passed |= sent_in == self.episode;
                    if self.pressure_at.is_some() {
                        self.pressure_cleared_at.get_or_insert(now);
                    }
                }
            }
        }
        if signal.throttled == 0 && signal.writes > 0 && self.saved > 0.0 {
            if unexplained.is_none() && self.admitted_slowdown(now) >= 1.0 {
                self.tokens = (self.tokens + self.saved).min(self.capacity);
            }
            self.saved = 0.0;
        }
        if let Some(share) = reported {
            // The quota has only the rest left: no burst beyond it.
            self.left = (1.0 - share).max(0.0) * self.budget;
            self.tokens = self.tokens.min(self.left);
            self.pressure_heard_at = Some(now);
        }
        if let Some(share) = unexplained {
            self.pressure_cap = pressure_cap(self.pressure_cap, self.pressure_at, share, now);
            self.pressure_at = Some(now);
            self.pressure_cleared_at = None;
        }
        if signal.throttled == 0 {
            return;
        }
        // Graph did not count the writes it refused: their tokens come back,
        // set aside while a throttling episode's pause lasts.
        let refused = f64::from(refused);
        if now < self.quiet_until {
            self.saved = (self.saved + refused).min(self.capacity);
        } else {
            self.tokens = (self.tokens + refused).min(self.capacity);
        }
        let pressured = self.pressured(now);
        // An envelope refused whole is one refusal: Graph judged none of its items.
        let refusing = !signal.whole && self.recent.throttling();
        // Every writer waits when the quota may be empty: Graph refused the
        // whole request or every write of it, throttles, or reports
        // pressure. A few writes refused among accepted ones are a fault:
        // only their own retry waits (the client's retry does that).
        let quota_may_be_empty = signal.whole || signal.throttled >= signal.writes || refusing || pressured;
        if let Some(wait) = signal.retry_after.filter(|_| quota_may_be_empty) {
            self.paused_until = self.paused_until.max(now + wait);
        }
        if sent_in == self.episode && (refusing || pressured) {
            let recurrent = self.accepted_since_episode
                && self.last_episode_at.is_some_and(|at| now.saturating_duration_since(at) < ADMITTED_HOLD);
            self.episode += 1;
            self.storm_passed = false;
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

    fn pressured(writes: u32, share: f64) -> WriteSignal {
        WriteSignal { pressure: Some(share), ..signal(writes, 0, None) }
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
        assert_eq!(pacer.wait_for(20, now), Duration::ZERO, "answered: the window is open");
    }

    /// Graph's write quota as one of the readings its documentation leaves
    /// open, with another app of the tenant taking `other_share` of it.
    #[derive(Debug, Clone)]
    enum Quota {
        /// A token bucket of the quota, refilled continuously (the emulator's reading).
        Bucket { tokens: f64, at: Instant },
        /// Each admitted write frees its place a window later.
        Sliding { admitted: VecDeque<Instant> },
    }

    #[derive(Debug, Clone)]
    struct Graph {
        quota: Quota,
        budget: f64,
        other_share: f64,
    }

    impl Graph {
        fn bucket(budget: u32, start: Instant, other_share: f64) -> Self {
            // The other app has been writing until now: its share of the bucket is used.
            let full = f64::from(budget) * (1.0 - other_share.min(1.0) * 2.0).max(0.0);
            Graph { quota: Quota::Bucket { tokens: full, at: start }, budget: f64::from(budget), other_share }
        }

        fn sliding(budget: u32) -> Self {
            Graph {
                quota: Quota::Sliding { admitted: VecDeque::new() },
                budget: f64::from(budget),
                other_share: 0.0,
            }
        }

        fn refill_per_second(&self) -> f64 {
            self.budget * (1.0 - self.other_share) / GRAPH_WRITE_WINDOW.as_secs_f64()
        }

        /// Judges `writes` arriving at `now`, item by item, as Graph does;
        /// reports pressure from 0.8 used, `Retry-After` in whole seconds.
        fn answer(&mut self, writes: u32, now: Instant) -> WriteSignal {
            let refill = self.refill_per_second();
            let budget = self.budget;
            let (admitted, used, retry_after) = match &mut self.quota {
                Quota::Bucket { tokens, at } => {
                    *tokens =
                        (*tokens + now.saturating_duration_since(*at).as_secs_f64() * refill).min(budget);
                    *at = now;
                    let admitted = (tokens.floor().max(0.0) as u32).min(writes);
                    *tokens -= f64::from(admitted);
                    let missing = (1.0 - *tokens).max(0.0);
                    (admitted, 1.0 - *tokens / budget, missing / refill)
                }
                Quota::Sliding { admitted: log } => {
                    while log
                        .front()
                        .is_some_and(|at| now.saturating_duration_since(*at) >= GRAPH_WRITE_WINDOW)
                    {
                        log.pop_front();
                    }
                    let room = (budget as usize).saturating_sub(log.len());
                    let admitted = (room as u32).min(writes);
                    log.extend(std::iter::repeat_n(now, admitted as usize));
                    let frees = log.front().map_or(Duration::ZERO, |at| {
                        (*at + GRAPH_WRITE_WINDOW).saturating_duration_since(now)
                    });
                    (admitted, log.len() as f64 / budget, frees.as_secs_f64())
                }
            };
            let throttled = writes - admitted;
            WriteSignal {
                writes,
                throttled,
                retry_after: (throttled > 0).then(|| Duration::from_secs_f64(retry_after.ceil().max(1.0))),
                pressure: (used >= PRESSURE_REPORTED_FROM).then_some(used),
                whole: false,
            }
        }
    }

    /// What an apply measured.
    #[derive(Debug)]
    struct Run {
        took: Duration,
        refused: u32,
        /// Accepted writes per second over the last `GRAPH_WRITE_WINDOW`.
        last_window_rate: f64,
        /// Times the pacer held a write back once Graph had answered the first.
        held: u32,
    }

    /// An apply of `writes` in batches of 20, the first write alone,
    /// `in_flight` batches at most, each answered `latency` after it is
    /// sent; writes Graph refuses are sent again (the batch's remainder, as
    /// the client retries it). `paced: false` sends with no pacer at all,
    /// only honouring `Retry-After`.
    fn apply(graph: &mut Graph, writes: u32, in_flight: usize, latency: Duration, paced: bool) -> Run {
        let start = Instant::now();
        let mut pacer = WritePacer::new(graph.budget as u32, GRAPH_WRITE_WINDOW, start);
        let mut clock = start;
        let mut queue: VecDeque<u32> = std::iter::once(1)
            .chain((0..(writes - 1).div_ceil(20)).map(|batch| (writes - 1 - batch * 20).min(20)))
            .collect();
        let mut flying: Vec<(Instant, u32, u64)> = Vec::new();
        let (mut refused, mut held, mut answered_any) = (0, 0, false);
        let mut accepted_at: Vec<(Instant, u32)> = Vec::new();
        let mut paused_until = start;
        while !queue.is_empty() || !flying.is_empty() {
            // The first write waits for its answer, as an apply's does.
            let first_pending = !answered_any && !flying.is_empty();
            if flying.len() < in_flight
                && !first_pending
                && let Some(&batch) = queue.front()
            {
                let wait = if paced {
                    pacer.wait_for(batch, clock)
                } else {
                    paused_until.saturating_duration_since(clock)
                };
                if wait.is_zero() {
                    queue.pop_front();
                    flying.push((clock + latency, batch, pacer.episode()));
                    continue;
                }
                if answered_any && paced {
                    held += 1;
                }
                let next_answer = flying.iter().map(|(at, ..)| *at).min();
                clock = next_answer.map_or(clock + wait, |answer| answer.min(clock + wait));
                if next_answer.is_none_or(|answer| answer > clock) {
                    continue;
                }
            } else {
                clock = clock.max(flying.iter().map(|(at, ..)| *at).min().expect("a batch in flight"));
            }
            let position = flying.iter().position(|(at, ..)| *at <= clock).expect("an answer is due");
            let (at, batch, sent_in) = flying.swap_remove(position);
            let answer = graph.answer(batch, at);
            answered_any = true;
            refused += answer.throttled;
            accepted_at.push((at, batch - answer.throttled));
            if let Some(wait) = answer.retry_after {
                paused_until = paused_until.max(at + wait);
            }
            if answer.throttled > 0 {
                queue.push_front(answer.throttled);
            }
            pacer.observe(answer, sent_in, at);
        }
        let took = clock.saturating_duration_since(start);
        let last_window: u32 = accepted_at
            .iter()
            .filter(|(at, _)| clock.saturating_duration_since(*at) < GRAPH_WRITE_WINDOW)
            .map(|(_, accepted)| accepted)
            .sum();
        Run {
            took,
            refused,
            last_window_rate: f64::from(last_window) / GRAPH_WRITE_WINDOW.as_secs_f64(),
            held,
        }
    }

    const LATENCY: Duration = Duration::from_millis(20);

    #[test]
    fn a_burst_of_2900_on_an_unused_window_is_not_slowed() {
        for writes in [1_000, 2_900] {
            let start = Instant::now();
            let paced = apply(&mut Graph::bucket(3000, start, 0.0), writes, 4, LATENCY, true);
            let unpaced = apply(&mut Graph::bucket(3000, start, 0.0), writes, 4, LATENCY, false);
            assert_eq!(paced.held, 0, "{writes}: {paced:?}");
            assert_eq!(paced.refused, 0, "{writes}: {paced:?}");
            // 1 + 145 batches of 20, 4 at a time: 38 round trips of 20 ms.
            assert_eq!(paced.took, unpaced.took, "{writes}");
            assert!(paced.took <= LATENCY * (2 + (writes - 1).div_ceil(80)), "{writes}: {paced:?}");
        }
    }

    #[test]
    fn ten_thousand_writes_settle_to_the_sustained_rate_after_the_window() {
        let start = Instant::now();
        let run = apply(&mut Graph::bucket(3000, start, 0.0), 10_000, 4, LATENCY, true);
        assert_eq!(run.refused, 0, "{run:?}");
        // The floor: what the quota admits past its first window, at 20 a second.
        let floor = f64::from(10_000 - 3_000) / 20.0;
        let ratio = run.took.as_secs_f64() / floor;
        assert!(ratio <= 1.05, "{ratio:.3} × the floor: {run:?}");
        // The last window ran at the flow's rate, 98 % of the refill.
        assert!((19.0..=20.0).contains(&run.last_window_rate), "{run:?}");
        let pacer = WritePacer::new(3000, GRAPH_WRITE_WINDOW, start);
        assert!((pacer.sustained_rate() - 19.6).abs() < 1e-9);
    }

    #[test]
    fn a_burst_longer_than_latency_allows_spends_what_the_quota_refills_meanwhile() {
        // A million writes at a hundred times Graph's quota: the burst of
        // 294,000 takes over a minute at 4 batches in flight, while the
        // quota refills 2,000 a second.
        let start = Instant::now();
        let budget = GRAPH_WRITES_PER_WINDOW * 100;
        let run = apply(&mut Graph::bucket(budget, start, 0.0), 1_000_000, 4, LATENCY, true);
        assert_eq!(run.refused, 0, "{run:?}");
        let floor = f64::from(1_000_000 - budget) / 2_000.0;
        let ratio = run.took.as_secs_f64() / floor;
        assert!(ratio <= 1.05, "{ratio:.3} × the floor: {run:?}");
    }

    #[test]
    fn under_a_sliding_window_reading_of_the_quota_the_apply_finishes_without_a_storm() {
        // A reading Microsoft's page leaves open: the window refuses the
        // flow until the first burst leaves it; Retry-After then paces it.
        let run = apply(&mut Graph::sliding(3000), 10_000, 4, LATENCY, true);
        let refused_share = f64::from(run.refused) / 10_000.0;
        assert!(refused_share <= 0.02, "{:.2} % refused: {run:?}", refused_share * 100.0);
        // That reading admits 3,000 writes per 150 s: the fourth window ends it.
        assert!(run.took <= GRAPH_WRITE_WINDOW * 4, "{run:?}");
    }

    #[test]
    fn with_half_the_quota_used_by_another_app_429s_stay_under_one_percent() {
        for (budget, seconds) in [(GRAPH_WRITES_PER_WINDOW, 300), (GRAPH_WRITES_PER_WINDOW * 10, 60)] {
            let start = Instant::now();
            let mut graph = Graph::bucket(budget, start, 0.5);
            let half_left = graph.refill_per_second();
            let writes = (half_left * seconds as f64) as u32;
            let run = apply(&mut graph, writes, 4, LATENCY, true);
            let rate = f64::from(writes) / run.took.as_secs_f64() / half_left;
            let refused = f64::from(run.refused) / f64::from(writes);
            assert!((0.9..=1.0).contains(&rate), "{budget}: {rate:.3} of the half left: {run:?}");
            assert!(refused <= 0.01, "{budget}: {:.2} % refused: {run:?}", refused * 100.0);
        }
    }

    #[test]
    fn the_window_and_the_flow_never_send_more_than_the_bucket_admits() {
        // One writer as fast as the pacer lets it, answered at once, over 10 minutes.
        let start = Instant::now();
        let mut graph = Graph::bucket(3000, start, 0.0);
        let mut pacer = WritePacer::new(3000, GRAPH_WRITE_WINDOW, start);
        let mut clock = start;
        let (mut sent, mut refused) = (0u32, 0u32);
        while clock < start + GRAPH_WRITE_WINDOW * 4 {
            let wait = pacer.wait_for(20, clock);
            if !wait.is_zero() {
                clock += wait;
                continue;
            }
            let sent_in = pacer.episode();
            let answer = graph.answer(20, clock);
            sent += 20;
            refused += answer.throttled;
            pacer.observe(answer, sent_in, clock);
        }
        assert_eq!(refused, 0);
        // The window, then the flow for 600 s.
        assert!(sent >= 2_940 + 19 * 600, "{sent}");
    }

    #[test]
    fn pressure_the_pacers_own_writes_explain_does_not_slow_it() {
        let now = Instant::now();
        let mut pacer = WritePacer::new(3000, GRAPH_WRITE_WINDOW, now);
        assert_eq!(pacer.wait_for(1, now), Duration::ZERO);
        pacer.observe(signal(1, 0, None), 0, now);
        for _ in 0..125 {
            assert_eq!(pacer.wait_for(20, now), Duration::ZERO);
        }
        // 2,501 of its own writes in the window: Graph reports 0.83 used.
        pacer.observe(pressured(20, 0.83), 0, now);
        assert_eq!(pacer.slowdown(now), 1.0);
        assert_eq!(pacer.wait_for(400, now), Duration::ZERO, "the window's rest");
        // Another app's writes: Graph reports more used than this app wrote.
        let mut pacer = WritePacer::new(3000, GRAPH_WRITE_WINDOW, now);
        assert_eq!(pacer.wait_for(1, now), Duration::ZERO);
        pacer.observe(pressured(1, 0.83), 0, now);
        assert!((pacer.slowdown(now) - 0.77).abs() < 1e-9, "{}", pacer.slowdown(now));
        // The window closed: only the flow's small bucket (30 writes) is left.
        assert!(pacer.wait_for(100, now) > Duration::ZERO, "the window closed");
    }

    #[test]
    fn no_burst_beyond_what_graph_says_is_left() {
        let now = Instant::now();
        let mut pacer = WritePacer::new(3000, GRAPH_WRITE_WINDOW, now);
        assert_eq!(pacer.wait_for(1, now), Duration::ZERO);
        pacer.observe(signal(1, 0, None), 0, now);
        assert_eq!(pacer.wait_for(2_400, now), Duration::ZERO);
        // Graph says 0.85 is used (a few writes of an earlier run too): 450
        // are left, not the 519 of the window its own count leaves.
        pacer.observe(pressured(20, 0.85), 0, now);
        assert_eq!(pacer.slowdown(now), 1.0, "explained, within a few writes");
        assert_eq!(pacer.wait_for(450, now), Duration::ZERO);
        // Then only the flow's small bucket (30 writes), at the flow's rate.
        assert!(pacer.wait_for(100, now) > Duration::ZERO);
    }

    #[test]
    fn the_plans_time_is_counted_at_the_pacers_sustained_rate() {
        let now = Instant::now();
        let pacer = WritePacer::new(GRAPH_WRITES_PER_WINDOW, GRAPH_WRITE_WINDOW, now);
        assert!((pacer.sustained_rate() - crate::plan::apply_time::paced_writes_per_second()).abs() < 1e-9);
        // The pacer also sends its flow's small bucket at once (30 writes):
        // the plan's estimate is at most that much longer.
        let planned = crate::plan::apply_time::paced_time(100_000);
        let paced = pacer.expected_time_for(100_000, now);
        assert!(planned >= paced && planned - paced <= Duration::from_secs_f64(30.0 / 19.6 + 1e-6));
    }

    #[test]
    fn expected_time_counts_the_window_then_the_flow() {
        let now = Instant::now();
        let pacer = WritePacer::new(3000, GRAPH_WRITE_WINDOW, now);
        assert_eq!(pacer.expected_time_for(2_000, now), Duration::ZERO);
        // 100,000 writes: 2,970 at once, the rest at 19.6 a second.
        let expected = (100_000.0 - 2_970.0) / 19.6;
        assert!((pacer.expected_time_for(100_000, now).as_secs_f64() - expected).abs() < 1e-6);
        // While every writer is paused, the pause comes first.
        let mut pacer = pacer;
        pacer.observe(WriteSignal { whole: true, ..signal(20, 20, Some(7)) }, 0, now);
        assert_eq!(pacer.expected_time_for(1, now), Duration::from_secs(7));
    }

    #[test]
    fn a_throttled_write_pauses_every_writer_until_retry_after() {
        let now = Instant::now();
        let mut pacer = WritePacer::new(3000, GRAPH_WRITE_WINDOW, now);
        assert_eq!(pacer.wait_for(20, now), Duration::ZERO);
        pacer.observe(signal(20, 0, None), pacer.episode(), now);
        pacer.observe(signal(20, 20, Some(10)), pacer.episode(), now);
        assert_eq!(pacer.wait_for(1, now), Duration::from_secs(10));
        // Any writer, even with the window unspent, waits for the pause to end.
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
    }

    #[test]
    fn after_a_storm_the_window_is_spent_at_once() {
        let start = Instant::now();
        let mut pacer = WritePacer::new(3000, GRAPH_WRITE_WINDOW, start);
        // 100 writes go through, then every write is refused with
        // `Retry-After: 2` for 10 s (another app used up the tenant's quota).
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
            assert_eq!(pacer.wait_for(20, clock), Duration::ZERO);
        }
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
        // …and the window is there again: the refused writes were not counted.
        assert_eq!(pacer.wait_for(2_500, clock), Duration::ZERO);
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
    fn after_a_storm_the_window_is_given_back_but_not_under_pressure() {
        let now = Instant::now();
        for (pressure, window_back) in [(None, true), (Some(1.0), false)] {
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
            assert_eq!(next.is_zero(), window_back, "{pressure:?}: {next:?}");
        }
    }

    #[test]
    fn single_faults_do_not_slow_and_pause_only_when_the_quota_may_be_empty() {
        let now = Instant::now();
        let mut pacer = WritePacer::new(3000, GRAPH_WRITE_WINDOW, now);
        assert_eq!(pacer.wait_for(1, now), Duration::ZERO);
        pacer.observe(signal(1, 0, None), 0, now);
        // One write refused among accepted ones: only its retry waits.
        pacer.observe(signal(20, 1, Some(1)), pacer.episode(), now);
        assert_eq!(pacer.wait_for(1, now), Duration::ZERO);
        assert_eq!(pacer.slowdown(now), 1.0);
        // An envelope refused whole is one refusal: it pauses, it does not slow.
        let whole = WriteSignal { whole: true, ..signal(20, 20, Some(1)) };
        pacer.observe(whole, pacer.episode(), now);
        assert_eq!(pacer.wait_for(1, now), Duration::from_secs(1));
        assert_eq!(pacer.slowdown(now + Duration::from_secs(1)), 1.0);
        // So does the one write of a probe, refused.
        let mut alone = WritePacer::new(3000, GRAPH_WRITE_WINDOW, now);
        assert_eq!(alone.wait_for(1, now), Duration::ZERO);
        alone.observe(signal(1, 1, Some(2)), 0, now);
        assert_eq!(alone.wait_for(1, now), Duration::from_secs(2));
        assert_eq!(alone.episode(), 0, "one refusal is not throttling");
        // 503s and resets give their place back; answers without a 429 change nothing.
        let later = now + Duration::from_secs(1);
        assert_eq!(pacer.wait_for(2_940, later), Duration::ZERO, "the window");
        assert_eq!(pacer.wait_for(30, later), Duration::ZERO, "the flow's bucket");
        assert!(pacer.wait_for(20, later) > Duration::ZERO);
        pacer.refund(20);
        assert_eq!(pacer.wait_for(20, later), Duration::ZERO, "the writes given back");
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

    #[test]
    fn pressure_caps_the_rate_while_reported_and_lifts_in_time() {
        let now = Instant::now();
        let mut pacer = WritePacer::new(3000, GRAPH_WRITE_WINDOW, now);
        pacer.observe(pressured(20, 1.2), 0, now);
        assert!((pacer.slowdown(now) - 0.4).abs() < 1e-9);
        // A 429 while Graph reports pressure is throttling, even for one write.
        pacer.observe(signal(20, 1, Some(1)), pacer.episode(), now);
        assert!((pacer.slowdown(now) - 0.2).abs() < 1e-9, "{}", pacer.slowdown(now));
        assert_eq!(pacer.slowdown(now + Duration::from_secs(1) + RAMP * 2), 1.0);
    }
}
