//! When to try a Graph request again and how long to wait: 429, 503 and 504
//! answers, connection resets and timeouts are retried with jittered
//! exponential backoff (backon) under a bounded total, and a `Retry-After`
//! header — which Graph may send as a fractional number of seconds —
//! replaces the computed delay.

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
    /// The longest time from the first attempt of one request to the start
    /// of its last retry, `Retry-After` waits included.
    pub max_total_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_attempts: 8,
            max_total_delay: Duration::from_secs(180),
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

/// The delay before the next attempt: the server's `Retry-After` when it
/// sent one, else the backoff's. `None` from the backoff (exhausted) stops,
/// whatever the server asks for.
pub fn next_delay(backoff: Option<Duration>, retry_after: Option<Duration>) -> Option<Duration> {
    backoff.map(|computed| retry_after.unwrap_or(computed))
}

/// `delay`, unless waiting it would take the retries of one request past
/// `limit` since the first attempt (a server asking for long waits again and
/// again cannot stretch the total).
pub fn within_total(elapsed: Duration, limit: Duration, delay: Option<Duration>) -> Option<Duration> {
    delay.filter(|delay| elapsed + *delay <= limit)
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
    fn an_exhausted_backoff_stops_even_when_the_server_asks_to_wait() {
        assert_eq!(next_delay(None, Some(Duration::from_secs(1))), None);
        assert_eq!(
            next_delay(Some(Duration::from_secs(3)), Some(Duration::from_millis(10))),
            Some(Duration::from_millis(10))
        );
        assert_eq!(next_delay(Some(Duration::from_secs(3)), None), Some(Duration::from_secs(3)));
    }

    #[test]
    fn long_server_waits_cannot_stretch_the_total() {
        let limit = Duration::from_secs(180);
        assert_eq!(
            within_total(Duration::from_secs(10), limit, Some(Duration::from_secs(60))),
            Some(Duration::from_secs(60))
        );
        assert_eq!(within_total(Duration::from_secs(150), limit, Some(Duration::from_secs(60))), None);
        assert_eq!(within_total(Duration::ZERO, limit, None), None);
    }

    #[test]
    fn the_backoff_is_bounded() {
        use backon::BackoffBuilder;
        let policy = RetryPolicy { max_attempts: 100, ..RetryPolicy::default() };
        let total: Duration = policy.backoff().build().sum();
        assert!(total <= policy.max_total_delay + policy.max_delay, "{total:?}");
    }
}
