//! Injected faults and latency, so clients can be tested against the
//! failures real Graph produces: 429 with a `Retry-After` that is whole,
//! fractional or absent (C-THR), 503, and a dropped connection. Faults are
//! drawn from a seeded generator, so a run is repeatable. With lost answers
//! on, also the faults where the write happened but the client cannot know:
//! an answer slower than the client's timeout, a connection reset after the
//! write, and a batch item answered 503 after it was applied — the faults
//! that make a careless client create an object twice.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// One injected failure.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// 429 with this `Retry-After` value, or none.
    TooManyRequests { retry_after: Option<String> },
    /// 503 Service Unavailable.
    ServiceUnavailable,
    /// The connection is dropped without a response.
    ConnectionReset,
    /// The request is served, then its answer is held back (past the
    /// client's timeout, when the emulator's `slow_answer` is longer).
    SlowAnswer,
    /// The request is served, then the connection is dropped: the write
    /// happened, its answer is lost.
    ResetAfterWrite,
    /// A batch item is served, then answered 503 as if it had failed.
    UnavailableAfterWrite,
}

impl Fault {
    /// The fault's name, for the counters.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::TooManyRequests { retry_after: Some(_) } => "TooManyRequests",
            Fault::TooManyRequests { retry_after: None } => "TooManyRequestsWithoutRetryAfter",
            Fault::ServiceUnavailable => "ServiceUnavailable",
            Fault::ConnectionReset => "ConnectionReset",
            Fault::SlowAnswer => "SlowAnswer",
            Fault::ResetAfterWrite => "ResetAfterWrite",
            Fault::UnavailableAfterWrite => "UnavailableAfterWrite",
        }
    }
}

/// Decides, request by request, whether to inject a fault.
#[derive(Debug)]
pub struct FaultInjector {
    rate: f64,
    random: StdRng,
    /// Also inject the faults after which the write has happened.
    lost_answers: bool,
    /// Multiplies the `Retry-After` values of the 429s.
    retry_after_scale: f64,
}

impl FaultInjector {
    pub fn new(rate: f64, seed: u64) -> Self {
        FaultInjector {
            rate: rate.clamp(0.0, 1.0),
            random: StdRng::seed_from_u64(seed),
            lost_answers: false,
            retry_after_scale: 1.0,
        }
    }

    /// Adds the faults whose write happened to the kinds drawn. Without it,
    /// a seed draws the same sequence as before these kinds existed.
    pub fn with_lost_answers(mut self, lost_answers: bool) -> Self {
        self.lost_answers = lost_answers;
        self
    }

    /// Shortens (or stretches) the `Retry-After` of the 429s by `scale`;
    /// the sequence of faults a seed draws stays the same.
    pub fn with_retry_after_scale(mut self, scale: f64) -> Self {
        self.retry_after_scale = if scale > 0.0 { scale } else { 1.0 };
        self
    }

    /// The fault for the next request, if any. `allow_reset` is false for
    /// batch items, which cannot drop a connection of their own.
    pub fn next_fault(&mut self, allow_reset: bool) -> Option<Fault> {
        if self.rate <= 0.0 {
            return None;
        }
        // Always draw the same number of values, so one request's kind of
        // fault does not shift the sequence for the ones after it.
        let roll: f64 = self.random.random();
        let kind: u32 = self.random.random_range(0..if self.lost_answers { 5 } else { 3 });
        let retry_kind: u32 = self.random.random_range(0..3);
        let fraction: u32 = self.random.random_range(1..1000);
        if roll >= self.rate {
            return None;
        }
        Some(match kind {
            0 => Fault::TooManyRequests {
                retry_after: match (retry_kind, self.retry_after_scale) {
                    (0, 1.0) => Some("1".to_owned()),
                    // A fractional value like the older C-THR sample's `2.128`, kept short.
                    (1, 1.0) => Some(format!("0.{fraction:03}")),
                    (0, scale) => Some(format!("{:.3}", scale)),
                    (1, scale) => Some(format!("{:.3}", f64::from(fraction) / 1000.0 * scale)),
                    _ => None,
                },
            },
            1 => Fault::ServiceUnavailable,
            2 if allow_reset => Fault::ConnectionReset,
            2 => Fault::ServiceUnavailable,
            3 if allow_reset => Fault::SlowAnswer,
            _ if allow_reset => Fault::ResetAfterWrite,
            _ => Fault::UnavailableAfterWrite,
        })
    }
}

/// The delay added to every request before it is served.
pub async fn delay(latency: Duration) {
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_injects_the_same_faults() {
        let draw = |seed| {
            let mut injector = FaultInjector::new(0.5, seed);
            (0..50).map(|_| injector.next_fault(true)).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        let faults = draw(7);
        assert!(faults.iter().any(Option::is_some) && faults.iter().any(Option::is_none));
    }

    #[test]
    fn lost_answers_add_their_kinds_only_when_asked() {
        let draw = |lost, allow_reset| {
            let mut injector = FaultInjector::new(0.5, 11).with_lost_answers(lost);
            (0..400).filter_map(|_| injector.next_fault(allow_reset)).collect::<Vec<_>>()
        };
        let plain = draw(false, true);
        assert!(plain.iter().all(|fault| !matches!(
            fault,
            Fault::SlowAnswer | Fault::ResetAfterWrite | Fault::UnavailableAfterWrite
        )));
        let lost = draw(true, true);
        assert!(lost.contains(&Fault::SlowAnswer) && lost.contains(&Fault::ResetAfterWrite));
        assert!(draw(true, false).contains(&Fault::UnavailableAfterWrite));
        assert!(!draw(true, false).iter().any(|fault| matches!(
            fault,
            Fault::ConnectionReset | Fault::SlowAnswer | Fault::ResetAfterWrite
        )));
    }

    #[test]
    fn no_rate_no_faults() {
        let mut injector = FaultInjector::new(0.0, 1);
        assert!((0..100).all(|_| injector.next_fault(true).is_none()));
    }
}
