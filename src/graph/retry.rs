//! When to try a Graph request again and how long to wait: 429, 503 and 504
//! answers, connection resets and timeouts are retried (reads also on 500
//! and 502, as the Azure SDK retries them: a gateway's error on an
//! idempotent GET is transient), with jittered exponential backoff (backon)
//! under a bounded total. A `Retry-After` header — which Graph may send as a
//! fractional number of seconds — is Graph asking for a wait.
//!
//! A request's budget measures Graph's refusals, not the tool's own waits:
//! the failures (503, resets, timeouts…) count against `max_attempts`, and
//! the time spent in flight and in backoff against `max_total_delay`; the
//! time spent waiting for the pacer, in a pause every writer shares, or for a
//! `Retry-After` counts only against the much larger `max_throttle_wait`.

use std::time::Duration;

use backon::ExponentialBuilder;

/// The longest `Retry-After` honoured; a larger one is capped.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// How hard to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub min_delay: Duration,
    pub max_delay: Duration,
    pub max_attempts: usize,
    /// The longest time one request may spend in flight and in backoff,
    /// from its first attempt to the start of its last retry. Waits for the
    /// pacer, pauses and `Retry-After` are not counted here.
    pub max_total_delay: Duration,
    /// The longest time one request may wait because Graph throttles it
    /// (pacer waits, pauses, `Retry-After`), so a throttling that never ends
    /// still ends the apply.
    pub max_throttle_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_attempts: 8,
            max_total_delay: Duration::from_secs(180),
            max_throttle_wait: Duration::from_secs(600),
        }
    }
}

impl RetryPolicy {
    /// The backoff schedule: jittered, exponential, bounded in count and total.
    pub fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_attempts)
            .with_total_delay(Some(self.max_total_delay))
            .with_jitter()
    }

    /// This policy with every duration multiplied by `factor` (the tests
    /// and benchmarks run a shortened outage; the rule stays the same).
    pub fn scaled(&self, factor: f64) -> RetryPolicy {
        let scale = |duration: Duration| duration.mul_f64(factor);
        RetryPolicy {
            min_delay: scale(self.min_delay),
            max_delay: scale(self.max_delay),
            max_attempts: self.max_attempts,
            max_total_delay: scale(self.max_total_delay),
            max_throttle_wait: scale(self.max_throttle_wait),
        }
    }
}

/// Why an attempt failed, as the budget sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 429 with a `Retry-After`: Graph asks for this wait.
    Throttled(Duration),
    /// Anything else worth another attempt (503, reset, timeout, a 429
    /// without `Retry-After`): a failure, waited out with backoff, or with
    /// the `Retry-After` it came with.
    Failed(Option<Duration>),
}

/// What one request (or one batch, with its rounds) has used of its policy.
#[derive(Debug)]
pub struct RetryBudget {
    policy: RetryPolicy,
    backoff: backon::ExponentialBackoff,
    /// Time in flight and in backoff.
    own: Duration,
    /// Time waiting for the pacer, pauses and `Retry-After`.
    throttled: Duration,
    failures: usize,
}

impl RetryBudget {
    pub fn new(policy: RetryPolicy) -> Self {
        RetryBudget {
            policy,
            backoff: Self::backoff_of(&policy),
            own: Duration::ZERO,
            throttled: Duration::ZERO,
            failures: 0,
        }
    }

    /// The jittered exponential schedule; the count and the total are
    /// judged here, over own time only.
    fn backoff_of(policy: &RetryPolicy) -> backon::ExponentialBackoff {
        use backon::BackoffBuilder;
        ExponentialBuilder::default()
            .with_min_delay(policy.min_delay)
            .with_max_delay(policy.max_delay)
            .with_max_times(usize::MAX)
            .with_jitter()
            .build()
    }

    /// Time spent in flight.
    pub fn spent(&mut self, in_flight: Duration) {
        self.own += in_flight;
    }

    /// Graph answered part of the request (some items of a batch) and the
    /// rest met faults of their own: the backoff starts again from its
    /// shortest wait, since Graph is not failing. The failures still count.
    pub fn progressed(&mut self) {
        self.backoff = Self::backoff_of(&self.policy);
    }

    /// Time spent waiting because of throttling (the pacer, a pause).
    pub fn waited(&mut self, wait: Duration) {
        self.throttled += wait;
    }

    /// The wait before the next attempt after `refusal`, or `None` when the
    /// budget is spent. A `Throttled` wait is the caller's to take (writes
    /// take it in the shared pause); it counts as throttled time.
    pub fn next(&mut self, refusal: Refusal) -> Option<Duration> {
        let delay = match refusal {
            Refusal::Throttled(wait) => {
                self.throttled += wait;
                return (self.throttled <= self.policy.max_throttle_wait).then_some(wait);
            }
            Refusal::Failed(asked) => {
                self.failures += 1;
                if self.failures > self.policy.max_attempts {
                    return None;
                }
                // Jitter adds up to the delay itself; the cap holds jitter
                // included, so no wait of our own exceeds `max_delay`.
                let computed = self.backoff.next()?.min(self.policy.max_delay);
                asked.unwrap_or(computed)
            }
        };
        if self.own + delay > self.policy.max_total_delay || self.throttled > self.policy.max_throttle_wait {
            return None;
        }
        self.own += delay;
        Some(delay)
    }

    /// The failures counted so far.
    pub fn failures(&self) -> usize {
        self.failures
    }

    /// Whether the throttled time is spent (checked after a pacer wait).
    pub fn throttle_spent(&self) -> bool {
        self.throttled > self.policy.max_throttle_wait
    }
}

/// `Retry-After` as seconds, whole or fractional (`10`, `2.128`). HTTP dates
/// and nonsense give `None`: the caller then uses its backoff.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let seconds: f64 = value.trim().parse().ok()?;
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(seconds).min(MAX_RETRY_AFTER))
}

/// Whether an HTTP status is worth another attempt of the same request.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 503 | 504)
}

/// Whether an HTTP status is worth another attempt of the same read: also
/// 500 and 502, which on an idempotent GET are transient (the Azure SDK
/// retries them too). A write answered so keeps its read-back rule.
pub fn is_retryable_read_status(status: u16) -> bool {
    is_retryable_status(status) || matches!(status, 500 | 502)
}

/// Whether `status` is worth another attempt of a request with `method`.
pub fn is_retryable(method: &str, status: u16) -> bool {
    if method.eq_ignore_ascii_case("GET") {
        is_retryable_read_status(status)
    } else {
        is_retryable_status(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_may_be_fractional_or_absent() {
        assert_eq!(parse_retry_after("10"), Some(Duration::from_secs(10)));
        assert_eq!(parse_retry_after(" 2.128 "), Some(Duration::from_millis(2128)));
        assert_eq!(parse_retry_after("0"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("NaN"), None);
        assert_eq!(parse_retry_after("100000"), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn retryable_statuses_are_the_documented_ones() {
        for status in [429, 503, 504] {
            assert!(is_retryable_status(status));
        }
        for status in [200, 204, 400, 401, 403, 404, 409, 500] {
            assert!(!is_retryable_status(status));
        }
    }

    #[test]
    fn reads_are_also_retried_on_500_and_502_writes_are_not() {
        for status in [429, 500, 502, 503, 504] {
            assert!(is_retryable("GET", status), "{status}");
        }
        for status in [500, 502] {
            assert!(!is_retryable("PATCH", status) && !is_retryable("POST", status), "{status}");
        }
        assert!(!is_retryable("GET", 400) && !is_retryable("GET", 501));
    }

    #[test]
    fn throttled_waits_do_not_use_up_the_failure_budget() {
        let policy = RetryPolicy {
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_attempts: 3,
            max_total_delay: Duration::from_secs(2),
            max_throttle_wait: Duration::from_secs(60),
        };
        let mut budget = RetryBudget::new(policy);
        // Long pacer waits and many 429s with Retry-After: still within budget.
        let half_second = Duration::from_millis(500);
        for _ in 0..59 {
            budget.waited(half_second);
            assert_eq!(budget.next(Refusal::Throttled(half_second)), Some(half_second));
        }
        assert!(!budget.throttle_spent());
        // …until a throttling that does not end has used up its own bound.
        assert_eq!(budget.next(Refusal::Throttled(Duration::from_secs(2))), None);
        assert!(budget.throttle_spent());
        let mut budget = RetryBudget::new(policy);
        budget.waited(Duration::from_secs(30));
        // Three failures are allowed, the fourth ends it.
        for _ in 0..3 {
            assert!(budget.next(Refusal::Failed(None)).is_some());
        }
        assert_eq!(budget.next(Refusal::Failed(None)), None);
        // Own time ends it too: in flight for longer than the total.
        let mut budget = RetryBudget::new(policy);
        budget.spent(Duration::from_secs(2));
        assert_eq!(budget.next(Refusal::Failed(None)), None);
    }

    #[test]
    fn progress_starts_the_backoff_again_but_failures_still_count() {
        let policy = RetryPolicy {
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
            max_attempts: 4,
            max_total_delay: Duration::from_secs(60),
            max_throttle_wait: Duration::from_secs(60),
        };
        let mut budget = RetryBudget::new(policy);
        let first = budget.next(Refusal::Failed(None)).unwrap();
        let second = budget.next(Refusal::Failed(None)).unwrap();
        let third = budget.next(Refusal::Failed(None)).unwrap();
        assert!(third > first && third >= Duration::from_millis(400), "{first:?} {second:?} {third:?}");
        budget.progressed();
        // Jitter adds at most the delay itself: back to 100–200 ms.
        assert!(budget.next(Refusal::Failed(None)).unwrap() <= Duration::from_millis(200));
        assert_eq!(budget.next(Refusal::Failed(None)), None, "the fifth failure ends it");
    }

    #[test]
    fn no_wait_exceeds_the_cap_jitter_included() {
        let policy =
            RetryPolicy { max_attempts: 200, max_total_delay: Duration::MAX, ..RetryPolicy::default() };
        let mut budget = RetryBudget::new(policy);
        let waits: Vec<Duration> = (0..200).map_while(|_| budget.next(Refusal::Failed(None))).collect();
        assert_eq!(waits.len(), 200);
        assert!(waits.iter().all(|wait| *wait <= policy.max_delay), "{:?}", waits.iter().max());
        // Eight retries wait at most 1 + 2 + 4 + 8 + 16 + 30 + 30 + 30 s.
        let mut budget = RetryBudget::new(RetryPolicy::default());
        let waits: Vec<Duration> = (0..9).map_while(|_| budget.next(Refusal::Failed(None))).collect();
        assert_eq!(waits.len(), 8, "eight retries");
        assert!(waits.iter().sum::<Duration>() <= Duration::from_secs(121), "{waits:?}");
    }

    #[test]
    fn the_backoff_is_bounded() {
        use backon::BackoffBuilder;
        let policy = RetryPolicy { max_attempts: 100, ..RetryPolicy::default() };
        let total: Duration = policy.backoff().build().sum();
        assert!(total <= policy.max_total_delay + policy.max_delay, "{total:?}");
    }
}
