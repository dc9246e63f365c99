//! How long an apply takes at Graph's write quota, known before it starts:
//! a plan past one window of the quota says so (a CI job must last that
//! long, or the apply must be cut with `--max-duration` and resumed), and
//! an apply in progress shows the time left from the quota, which recent
//! speed alone gets wrong while the first window's writes go out at once.
//! Pure: the numbers are Microsoft's documented quota, not measurements.
//!
//! Graph allows one app 3,000 writes per 150 s in a tenant (identity and
//! access service limits:
//! <https://learn.microsoft.com/en-us/graph/throttling-limits#identity-and-access-service-limits>).
//! An unused window lets the first 3,000 go as fast as Graph answers; past
//! it, 20 writes per second is the floor whatever the pacing. The write
//! pacer (`graph::pacing`) spends `PACED_QUOTA_SHARE` of this quota, so the
//! time a plan states and an apply's time left are computed at the rate the
//! pacer sustains (19.6 writes a second), from the constants here: one
//! source for the quota and the rate.

use std::collections::BTreeSet;
use std::time::Duration;

use super::order::step;
use super::{Address, Change, Note, Snapshot, Target};

/// Graph's documented write quota per app and tenant.
pub const GRAPH_WRITES_PER_WINDOW: u32 = 3_000;
/// The window of that quota.
pub const GRAPH_WRITE_WINDOW: Duration = Duration::from_secs(150);

/// Share of the quota the write pacer spends: its model of the window holds
/// this share of the quota and refills at this share of the quota's rate
/// (2,940 writes at once, then 19.6 a second). The rest is its margin.
pub const PACED_QUOTA_SHARE: f64 = 0.98;

/// The writes per second the quota sustains past its first window (20).
pub fn sustained_writes_per_second() -> f64 {
    f64::from(GRAPH_WRITES_PER_WINDOW) / GRAPH_WRITE_WINDOW.as_secs_f64()
}

/// The writes per second the write pacer sustains past the first window
/// (19.6): `PACED_QUOTA_SHARE` of `sustained_writes_per_second`.
pub fn paced_writes_per_second() -> f64 {
    sustained_writes_per_second() * PACED_QUOTA_SHARE
}

/// The requests an apply of `changes` sends: one per changed principal
/// (all its values in one PATCH), and one per other object each step
/// changes (a definition's update and reactivation are one PATCH).
pub fn write_count(changes: &[Change]) -> usize {
    let mut objects = BTreeSet::new();
    for change in changes {
        let object = match (&change.address, change.after.as_ref().or(change.before.as_ref())) {
            (Address::Assignment { .. }, Some(Snapshot::Assignment { principal, .. })) => {
                format!("{:?}/{}", principal.kind, principal.object_id)
            }
            (Address::Assignment { principal, .. }, _) => principal.to_string(),
            (Address::AllowedValue { set, attribute, value }, _) => format!("{set}.{attribute}={value}"),
            (Address::Definition { set, attribute }, _) => format!("{set}.{attribute}"),
            (Address::AttributeSet { set }, _) => set.clone(),
            (Address::GroupAssignment { group, set, attribute }, _) => format!("{group}/{set}.{attribute}"),
        };
        objects.insert((step(change), object));
    }
    objects.len()
}

/// The least time `writes` take at the quota, from an unused window: the
/// first window's writes count as no time (they go as fast as Graph
/// answers), the rest at the sustained rate.
pub fn quota_floor(writes: usize) -> Duration {
    let past_window = writes.saturating_sub(GRAPH_WRITES_PER_WINDOW as usize);
    Duration::from_secs_f64(past_window as f64 / sustained_writes_per_second())
}

/// How long `writes` take at the write pacer's pace from an unused window,
/// latency aside: the pacer's share of the window at once, the rest at its
/// sustained rate. What a plan states and an apply's time left count from.
pub fn paced_time(writes: usize) -> Duration {
    paced_time_at(writes, GRAPH_WRITES_PER_WINDOW, GRAPH_WRITE_WINDOW)
}

/// `paced_time` at a quota of `budget` writes per `window` (what the client
/// paces under: Graph's, or a scaled one against the emulator).
pub fn paced_time_at(writes: usize, budget: u32, window: Duration) -> Duration {
    let at_once = f64::from(budget) * PACED_QUOTA_SHARE;
    let rate = at_once / window.as_secs_f64().max(0.001);
    let past_window = (writes as f64 - at_once).max(0.0);
    Duration::from_secs_f64(past_window / rate)
}

/// Whether a plan of this many writes takes longer than a window, and is
/// worth a word on how long it takes.
pub fn is_long(writes: usize) -> bool {
    writes > GRAPH_WRITES_PER_WINDOW as usize
}

/// The time left of an apply that has sent `sent` of `total` writes in
/// `elapsed`, at `recent` writes per second lately (if known): the larger
/// of what the pacer still takes (the apply cannot end before `paced`, its
/// paced time for all `total` writes: `paced_time`) and what the recent
/// speed gives.
pub fn time_left(sent: u64, total: u64, elapsed: Duration, recent: Option<f64>, paced: Duration) -> Duration {
    let left = total.saturating_sub(sent);
    let by_quota = paced.saturating_sub(elapsed);
    let by_speed = recent
        .filter(|rate| *rate > 0.0 && rate.is_finite())
        .map_or(Duration::ZERO, |rate| Duration::from_secs_f64(left as f64 / rate));
    by_quota.max(by_speed)
}

/// `1 h 23 min`, `12 min`, `40 s`: rounded as a person would say it.
pub fn describe(duration: Duration) -> String {
    let seconds = duration.as_secs_f64().round() as u64;
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3_600 => format!("{} min", (seconds + 30) / 60),
        _ => {
            let minutes = (seconds + 30) / 60;
            match minutes % 60 {
                0 => format!("{} h", minutes / 60),
                rest => format!("{} h {rest} min", minutes / 60),
            }
        }
    }
}

/// How the expected-time note begins (so a resumed plan can replace it).
pub const NOTE_PREFIX: &str = "Applying this plan takes about ";

/// The plan's word on how long its apply takes, for a plan against Graph
/// past one window of the quota.
pub fn note(changes: &[Change], target: &Target) -> Option<Note> {
    if !matches!(target, Target::Graph { .. }) {
        return None;
    }
    let writes = write_count(changes);
    is_long(writes).then(|| Note {
        address: None,
        message: format!(
            "{NOTE_PREFIX}{} at Graph's write quota: {} writes, the first {} as fast as Graph answers, \
             the rest at {} per second ({}% of Graph's 3,000 writes per 150 s per app and tenant). \
             Give the CI job that long, or apply with --max-duration and apply the same saved plan \
             again to finish.",
            describe(paced_time(writes)),
            thousands(writes),
            thousands((f64::from(GRAPH_WRITES_PER_WINDOW) * PACED_QUOTA_SHARE) as usize),
            paced_writes_per_second(),
            (PACED_QUOTA_SHARE * 100.0).round()
        ),
    })
}

/// `100000` → `100,000`.
fn thousands(number: usize) -> String {
    let digits = number.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::live::PrincipalId;
    use crate::model::{AttributeValue, PrincipalKey, PrincipalKind};
    use crate::plan::Action;

    fn assign(user: usize, attribute: &str) -> Change {
        Change {
            seq: 1,
            action: Action::Assign,
            address: Address::Assignment {
                principal: PrincipalKey::User(format!("u{user}@x")),
                set: "Eng".into(),
                attribute: attribute.into(),
            },
            before: None,
            after: Some(Snapshot::Assignment {
                principal: PrincipalId { kind: PrincipalKind::User, object_id: format!("id-{user}") },
                value: AttributeValue::Integer(1),
            }),
        }
    }

    #[test]
    fn the_floor_is_the_writes_past_the_first_window_at_twenty_a_second() {
        assert_eq!(sustained_writes_per_second(), 20.0);
        assert_eq!(quota_floor(2_900), Duration::ZERO);
        assert_eq!(quota_floor(3_000), Duration::ZERO);
        assert_eq!(quota_floor(10_000), Duration::from_secs(350));
        // Tagging 100,000 users: (100,000 - 3,000) / 20 = 4,850 s.
        assert_eq!(describe(quota_floor(100_000)), "1 h 21 min");
        assert_eq!(describe(quota_floor(1_000_000)), "13 h 51 min");
        assert!(!is_long(3_000) && is_long(3_001));
    }

    #[test]
    fn the_paced_time_is_at_the_pacers_share_of_the_quota() {
        assert!((paced_writes_per_second() - 19.6).abs() < 1e-9);
        assert_eq!(paced_time(2_940), Duration::ZERO);
        // 10,000 writes: (10,000 - 2,940) / 19.6 = 360.2 s.
        assert!((paced_time(10_000).as_secs_f64() - 7_060.0 / 19.6).abs() < 1e-6);
        // Tagging 100,000 users: (100,000 - 2,940) / 19.6 = 4,952 s.
        assert_eq!(describe(paced_time(100_000)), "1 h 23 min");
        assert!(paced_time(1_000_000) > quota_floor(1_000_000));
        // A quota scaled by 100 (the emulator's), the same shape.
        let scaled = paced_time_at(1_000_000, GRAPH_WRITES_PER_WINDOW * 100, GRAPH_WRITE_WINDOW);
        assert!((scaled.as_secs_f64() - (1_000_000.0 - 294_000.0) / 1_960.0).abs() < 1e-6);
    }

    #[test]
    fn one_write_per_principal_whatever_it_changes() {
        let changes: Vec<Change> = (0..5).flat_map(|user| [assign(user, "A"), assign(user, "B")]).collect();
        assert_eq!(write_count(&changes), 5);
    }

    #[test]
    fn durations_read_as_a_person_says_them() {
        assert_eq!(describe(Duration::from_secs(40)), "40 s");
        assert_eq!(describe(Duration::from_secs(12 * 60 + 10)), "12 min");
        assert_eq!(describe(Duration::from_secs(3_600)), "1 h");
        assert_eq!(describe(Duration::from_secs(5 * 3_600 + 29 * 60 + 50)), "5 h 30 min");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(999), "999");
    }

    #[test]
    fn time_left_is_never_below_what_the_quota_allows() {
        // 10,000 writes: 3,000 sent in the first 5 s, fast; recent speed
        // says 7,000 more take 12 s, the pacer's pace says 360.2 - 5 s.
        let paced = paced_time(10_000);
        let left = time_left(3_000, 10_000, Duration::from_secs(5), Some(600.0), paced);
        assert_eq!(left, paced - Duration::from_secs(5));
        // Slower than the quota: the speed wins.
        let left = time_left(5_000, 10_000, Duration::from_secs(100), Some(10.0), paced);
        assert_eq!(left, Duration::from_secs(500));
        // Small applies: the quota sets no floor.
        assert_eq!(time_left(0, 100, Duration::ZERO, None, paced_time(100)), Duration::ZERO);
    }

    #[test]
    fn only_long_plans_against_graph_get_a_note() {
        let graph = Target::Graph { graph_url: "https://graph.microsoft.com".into(), tenant_id: None };
        let file = Target::StateFile { path: "live.json".into() };
        let long: Vec<Change> = (0..100_000).map(|user| assign(user, "A")).collect();
        let note = note(&long, &graph).expect("a long plan says how long");
        assert!(
            note.message.starts_with(
                "Applying this plan takes about 1 h 23 min at Graph's write quota: 100,000 writes"
            ),
            "{}",
            note.message
        );
        assert!(super::note(&long, &file).is_none(), "a state file has no quota");
        assert!(super::note(&long[..3_000], &graph).is_none());
    }
}
