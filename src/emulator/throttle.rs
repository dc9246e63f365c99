//! Graph's documented identity-and-access quotas (C-THL), so clients meet
//! the 429s, `Retry-After` and `x-ms-throttle-*` headers a busy tenant
//! produces: token buckets for resource units per 10 s (sized by the
//! tenant's user count) and writes per 150 s, per application and tenant,
//! scaled by `--throttle-scale`. The resource-unit cost of each request is
//! computed here too, since every response reports it (`x-ms-resource-unit`).
//!
//! C-THL names "a token bucket algorithm" and the quota (3,000 writes per
//! 2 minutes and 30 seconds) but not the bucket's size or how it refills.
//! Emulator's choice: a bucket that holds the whole quota, full when the
//! emulator starts (an unused quota) and refilled continuously at the
//! quota's rate (20 writes a second): the plainest reading of "token
//! bucket", under which an unused quota admits 3,000 writes at once and
//! then 20 a second. A fixed window (refilled whole every 150 s) or a
//! sliding one (each write freed 150 s after it) would admit the same
//! first burst and the same average, but refuse the steady rate that
//! follows it; the client's pacer is tested against the sliding reading
//! too (`graph/pacing.rs`).
//!
//! C-THL does not say whether the definition endpoints fall under these
//! limits; the emulator applies them to every Graph request (its own choice).
//! The emulator serves one application in one tenant, so only the
//! application+tenant quotas apply; the wider application-wide and
//! tenant-wide quotas are larger than these and never bind.
//!
//! `other_app_share` simulates a second app of the tenant taking that share
//! of the write quota (emulator's choice of model: the quota then behaves as
//! one the two apps share, as on a busy tenant). The
//! other app has been writing until now, so the write bucket starts empty,
//! then it takes its share of every refill: what is left is the rest.

use std::time::{Duration, Instant};

use axum::http::Method;

/// Resource units and writes per the application+tenant pair (C-THL).
const RESOURCE_UNIT_WINDOW: Duration = Duration::from_secs(10);
const WRITE_WINDOW: Duration = Duration::from_secs(150);
const WRITES_PER_WINDOW: f64 = 3_000.0;

/// The quota model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Throttle {
    /// No quotas: nothing is ever throttled.
    #[default]
    None,
    /// Graph's documented identity quotas per application and tenant.
    Graph,
}

/// What a request costs against the quotas (C-THL "resource unit cost").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestCost {
    pub resource_units: u32,
    pub write: bool,
}

/// C-THL: `GET users` costs 2, any other GET 1; POST/PATCH/PUT/DELETE cost
/// 1 and one write. `$select` takes 1 off, `$expand` adds 1, `$top` under 20
/// takes 1 off; never below 1.
pub fn request_cost(method: &Method, path: &str, query: &str) -> RequestCost {
    let write = *method != Method::GET;
    let mut units: i64 =
        if !write && path.trim_start_matches('/').to_ascii_lowercase().starts_with("users") { 2 } else { 1 };
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match key.to_ascii_lowercase().as_str() {
            "$select" => units -= 1,
            "$expand" => units += 1,
            "$top" if value.parse::<u32>().is_ok_and(|top| top < 20) => units -= 1,
            _ => {}
        }
    }
    RequestCost { resource_units: u32::try_from(units.max(1)).unwrap_or(1), write }
}

/// C-THL resource units per 10 s by tenant size: S under 50 users, M up to
/// 500, L above.
fn resource_units_per_window(user_count: usize) -> f64 {
    match user_count {
        0..50 => 3_500.0,
        50..=500 => 5_000.0,
        _ => 8_000.0,
    }
}

#[derive(Debug, Clone)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    fn refill(&mut self, capacity: f64, window: Duration, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * capacity / window.as_secs_f64()).min(capacity);
        self.updated = now;
    }

    /// As `refill`, with another app taking `other_share` of the refill rate.
    fn refill_shared(&mut self, capacity: f64, window: Duration, now: Instant, other_share: f64) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.refill(capacity, window, now);
        self.tokens = (self.tokens - elapsed * other_share * capacity / window.as_secs_f64()).max(0.0);
    }

    fn wait_for(&self, amount: f64, capacity: f64, window: Duration, other_share: f64) -> Duration {
        let missing = (amount - self.tokens).max(0.0);
        let rate = capacity * (1.0 - other_share).max(0.01) / window.as_secs_f64();
        Duration::from_secs_f64(missing / rate)
    }
}

/// The answer of the quota check.
#[derive(Debug, Clone, PartialEq)]
pub enum Admission {
    /// Served; `limit_percentage` is reported when above 0.8 (C-THR).
    Admitted { limit_percentage: Option<f64> },
    /// Refused with 429.
    Throttled { retry_after: Duration, information: &'static str },
}

/// The quota state of the one application+tenant pair the emulator serves.
#[derive(Debug, Clone)]
pub struct Throttler {
    mode: Throttle,
    scale: f64,
    /// Share of the write quota a second app of the tenant uses.
    other_app_share: f64,
    resource_units: Option<Bucket>,
    writes: Option<Bucket>,
}

impl Throttler {
    pub fn new(mode: Throttle, scale: f64, other_app_share: f64) -> Self {
        Throttler {
            mode,
            scale: if scale > 0.0 { scale } else { 1.0 },
            other_app_share: other_app_share.clamp(0.0, 0.99),
            resource_units: None,
            writes: None,
        }
    }

    /// Takes the request's cost from the buckets, or refuses it.
    pub fn admit(&mut self, cost: RequestCost, user_count: usize, now: Instant) -> Admission {
        if self.mode == Throttle::None {
            return Admission::Admitted { limit_percentage: None };
        }
        let unit_capacity = (resource_units_per_window(user_count) * self.scale).max(1.0);
        let write_capacity = (WRITES_PER_WINDOW * self.scale).max(1.0);
        let units = self.resource_units.get_or_insert(Bucket { tokens: unit_capacity, updated: now });
        units.refill(unit_capacity, RESOURCE_UNIT_WINDOW, now);
        let other = self.other_app_share;
        let first_tokens = if other > 0.0 { 0.0 } else { write_capacity };
        let writes = self.writes.get_or_insert(Bucket { tokens: first_tokens, updated: now });
        writes.refill_shared(write_capacity, WRITE_WINDOW, now, other);
        let unit_cost = f64::from(cost.resource_units).min(unit_capacity);
        if cost.write && writes.tokens < 1.0 {
            return Admission::Throttled {
                retry_after: writes.wait_for(1.0, write_capacity, WRITE_WINDOW, other),
                information: "WriteLimitExceeded",
            };
        }
        if units.tokens < unit_cost {
            return Admission::Throttled {
                retry_after: units.wait_for(unit_cost, unit_capacity, RESOURCE_UNIT_WINDOW, 0.0),
                information: "ResourceUnitLimitExceeded",
            };
        }
        units.tokens -= unit_cost;
        let mut used = 1.0 - units.tokens / unit_capacity;
        if cost.write {
            writes.tokens -= 1.0;
        }
        used = used.max(1.0 - writes.tokens / write_capacity);
        Admission::Admitted { limit_percentage: (used > 0.8).then_some(used) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_follow_the_documented_table() {
        assert_eq!(request_cost(&Method::GET, "users", "").resource_units, 2);
        assert_eq!(
            request_cost(&Method::GET, "users/x", "%24select=customSecurityAttributes").resource_units,
            1
        );
        assert_eq!(request_cost(&Method::GET, "directory/attributeSets", "").resource_units, 1);
        assert_eq!(request_cost(&Method::GET, "directory/attributeSets", "$top=5").resource_units, 1);
        assert_eq!(
            request_cost(
                &Method::GET,
                "directory/customSecurityAttributeDefinitions",
                "$expand=allowedValues"
            )
            .resource_units,
            2
        );
        let patch = request_cost(&Method::PATCH, "users/x", "");
        assert_eq!(patch, RequestCost { resource_units: 1, write: true });
    }

    #[test]
    fn writes_run_out_and_refill() {
        let start = Instant::now();
        // 3 writes per 150 s at this scale.
        let mut throttler = Throttler::new(Throttle::Graph, 0.001, 0.0);
        let write = RequestCost { resource_units: 1, write: true };
        for _ in 0..3 {
            assert!(matches!(throttler.admit(write, 0, start), Admission::Admitted { .. }));
        }
        let Admission::Throttled { retry_after, information } = throttler.admit(write, 0, start) else {
            panic!("the fourth write must be throttled");
        };
        assert_eq!(information, "WriteLimitExceeded");
        assert!(retry_after > Duration::from_secs(40) && retry_after <= Duration::from_secs(50));
        assert!(matches!(
            throttler.admit(write, 0, start + Duration::from_secs(51)),
            Admission::Admitted { .. }
        ));
    }

    #[test]
    fn a_second_app_leaves_only_the_rest_of_the_write_quota() {
        let start = Instant::now();
        // 30 writes per 150 s at this scale; the other app takes half: 0.1 write/s is left.
        let mut throttler = Throttler::new(Throttle::Graph, 0.01, 0.5);
        let write = RequestCost { resource_units: 1, write: true };
        let Admission::Throttled { retry_after, .. } = throttler.admit(write, 0, start) else {
            panic!("the other app has used the burst: the first write waits");
        };
        assert_eq!(retry_after, Duration::from_secs(10));
        // Over 1,000 s, writes sent as soon as allowed: 100 admitted, the half left.
        let mut admitted = 0;
        for second in 0..1_000 {
            if let Admission::Admitted { .. } = throttler.admit(write, 0, start + Duration::from_secs(second))
            {
                admitted += 1;
            }
        }
        assert!((99..=101).contains(&admitted), "{admitted}");
    }

    #[test]
    fn no_throttle_admits_everything() {
        let mut throttler = Throttler::new(Throttle::None, 1.0, 0.0);
        let write = RequestCost { resource_units: 1, write: true };
        assert!(
            (0..10_000).all(|_| throttler.admit(write, 0, Instant::now())
                == Admission::Admitted { limit_percentage: None })
        );
    }
}
