//! Splitting a sweep of every user or service principal into ranges that
//! are read side by side, so a drift check of a million users waits for
//! about a sixteenth of the pages one after another instead of all of them.
//! Pure: the reader supplies the population and a sample of keys.
//!
//! Why the ranges cover every principal exactly once:
//! - Users are split on `userPrincipalName` with `le`/`ge` at boundaries
//!   that hold no `@`: `upn le 'b1'`, `upn ge 'b1' and upn le 'b2'`, …,
//!   `upn ge 'bn'`. Every UPN holds an `@`, so none equals a boundary, and
//!   under any total order Graph compares with a UPN lies below or above
//!   each boundary, never both: in exactly one range, as long as the
//!   boundaries rise in Graph's order too. So boundaries hold only `a`–`z`
//!   and `0`–`9`, which every usual collation (ordinal, ignoring case,
//!   linguistic) orders alike; the reader still checks each principal
//!   against its range and falls back to the single sweep if Graph's order
//!   differs. No alphabet of UPNs is assumed, so `$`, `_`, digits or any
//!   character a UPN may start with are covered.
//! - Service principals are split on the first hex digit of `appId`
//!   (`startsWith(appId,'0')` … `'f'`): every appId is a GUID, and a
//!   `startsWith` with one character is exactly one of sixteen.

/// A range of one kind of principal, read as one paged query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Range {
    /// Users whose `userPrincipalName` lies between the bounds (inclusive;
    /// no UPN equals a bound); `None` is unbounded.
    UserPrincipalNames { from: Option<String>, to: Option<String> },
    /// Service principals whose `appId` starts with this hex digit.
    AppIdPrefix(char),
}

/// The hex digits an `appId` (a GUID) starts with.
pub const HEX_DIGITS: [char; 16] =
    ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'];

impl Range {
    /// The `$filter` expression, unencoded.
    pub fn filter(&self) -> String {
        match self {
            Range::UserPrincipalNames { from, to } => {
                let from = from.as_deref().map(|bound| format!("userPrincipalName ge {}", literal(bound)));
                let to = to.as_deref().map(|bound| format!("userPrincipalName le {}", literal(bound)));
                match (from, to) {
                    (Some(from), Some(to)) => format!("{from} and {to}"),
                    (Some(only), None) | (None, Some(only)) => only,
                    // A single range is the whole collection: no filter at all.
                    (None, None) => String::new(),
                }
            }
            Range::AppIdPrefix(digit) => format!("startsWith(appId,'{digit}')"),
        }
    }

    /// Whether Graph needs the advanced query parameters (`$count=true`
    /// and `ConsistencyLevel: eventual`) for it: `startsWith` and `eq` are
    /// documented to work without them, `ge`/`le` are not, so they get them.
    pub fn advanced(&self) -> bool {
        matches!(self, Range::UserPrincipalNames { from, to } if from.is_some() || to.is_some())
    }

    /// Whether the range holds `key` when keys compare as `compare` does:
    /// the reference the tests hold the ranges to.
    pub fn holds(&self, key: &str, compare: impl Fn(&str, &str) -> std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::{Greater, Less};
        match self {
            Range::UserPrincipalNames { from, to } => {
                from.as_deref().is_none_or(|from| compare(key, from) != Less)
                    && to.as_deref().is_none_or(|to| compare(key, to) != Greater)
            }
            Range::AppIdPrefix(digit) => {
                key.chars().next().is_some_and(|first| first.to_ascii_lowercase() == *digit)
            }
        }
    }
}

/// An OData string literal: quoted, with `'` doubled.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Most ranges read side by side.
pub const MAX_PARTITIONS: usize = 16;

/// Extra requests a partitioned sweep may cost, as a share of the single
/// sweep's pages.
pub const EXTRA_REQUEST_SHARE: f64 = 0.02;

/// What a sweep of every principal of a kind costs: the requests it sends,
/// and the pages read one after another (its wall time, in pages: Graph's
/// latency per page dominates, and ranges run side by side).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepCost {
    pub requests: usize,
    pub pages_in_a_row: usize,
}

/// The cost of a sweep of `pages` full pages split into `parts` ranges,
/// counted at its worst: the probe page (read to learn the population and
/// to sample the boundaries) is read again by the ranges, and each range
/// may end on a part-filled page. One range is the single sweep, which
/// goes on from the probe.
pub fn sweep_cost(pages: usize, parts: usize) -> SweepCost {
    if parts <= 1 {
        return SweepCost { requests: pages, pages_in_a_row: pages };
    }
    SweepCost { requests: pages + 1 + parts, pages_in_a_row: 1 + pages.div_ceil(parts) + 1 }
}

/// How many ranges a sweep of `pages` pages is split into, at most `max`
/// (the reads in flight): the most for which the partitioned sweep is both
/// cheaper in wall time than the single sweep and costs at most
/// `EXTRA_REQUEST_SHARE` (2 %) more requests; 1 (the single sweep) when
/// none is. Small tenants keep the single sweep: below 150 pages (about
/// 150,000 principals) even two ranges cost more than 2 % extra.
pub fn partitions_for(pages: usize, max: usize) -> usize {
    let single = sweep_cost(pages, 1);
    let allowed = single.requests as f64 * (1.0 + EXTRA_REQUEST_SHARE);
    (2..=max)
        .rev()
        .find(|parts| {
            let split = sweep_cost(pages, *parts);
            split.requests as f64 <= allowed && split.pages_in_a_row < single.pages_in_a_row
        })
        .unwrap_or(1)
}

/// `parts` ranges of users with boundaries at the quantiles of `sample`
/// (UPNs read from the tenant), so that the ranges hold about as many users
/// each as the sample shows. A boundary is the sampled UPN cut at its first
/// character outside `a`–`z`, `0`–`9` (lowercased). Fewer ranges when the sample has fewer
/// distinct boundaries; one unbounded range at least.
pub fn user_ranges(sample: &[&str], parts: usize) -> Vec<Range> {
    let mut keys: Vec<String> = sample
        .iter()
        .map(|upn| {
            upn.chars()
                .map(|character| character.to_ascii_lowercase())
                .take_while(|character| character.is_ascii_lowercase() || character.is_ascii_digit())
                .collect::<String>()
        })
        .filter(|boundary| !boundary.is_empty())
        .collect();
    keys.sort_unstable();
    let mut boundaries: Vec<String> = Vec::new();
    if !keys.is_empty() {
        for part in 1..parts.max(1) {
            let boundary = &keys[part * keys.len() / parts];
            if boundaries.last() != Some(boundary) {
                boundaries.push(boundary.clone());
            }
        }
    }
    let mut ranges = Vec::with_capacity(boundaries.len() + 1);
    let mut from = None;
    for boundary in boundaries {
        ranges.push(Range::UserPrincipalNames { from: from.take(), to: Some(boundary.clone()) });
        from = Some(boundary);
    }
    ranges.push(Range::UserPrincipalNames { from, to: None });
    ranges
}

/// The sixteen ranges of service principals, one per first hex digit of `appId`.
pub fn app_id_ranges() -> Vec<Range> {
    HEX_DIGITS.iter().map(|digit| Range::AppIdPrefix(*digit)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ignoring_case(left: &str, right: &str) -> std::cmp::Ordering {
        left.to_lowercase().cmp(&right.to_lowercase())
    }

    fn ordinal(left: &str, right: &str) -> std::cmp::Ordering {
        left.cmp(right)
    }

    #[test]
    fn small_tenants_keep_the_single_sweep() {
        assert_eq!(partitions_for(1, 16), 1);
        assert_eq!(partitions_for(101, 16), 1, "100,000 users");
        assert_eq!(partitions_for(149, 16), 1);
        assert_eq!(partitions_for(150, 16), 2);
        assert_eq!(partitions_for(500, 16), 9);
        assert_eq!(partitions_for(1_002, 16), 16, "1,000,000 users");
        assert_eq!(partitions_for(1_002, 4), 4);
        assert_eq!(partitions_for(21, 16), 1, "20,000 service principals");
    }

    #[test]
    fn a_split_is_cheaper_in_wall_time_and_costs_at_most_two_percent_more_requests() {
        for pages in 1..5_000 {
            for max in [1, 2, 4, 16] {
                let parts = partitions_for(pages, max);
                assert!((1..=max.max(1)).contains(&parts), "{pages}, {max}: {parts}");
                let (single, split) = (sweep_cost(pages, 1), sweep_cost(pages, parts));
                if parts > 1 {
                    assert!(split.requests as f64 <= single.requests as f64 * 1.02, "{pages}: {split:?}");
                    assert!(split.pages_in_a_row < single.pages_in_a_row, "{pages}: {split:?}");
                    // And no larger split (within `max`) would still be within 2 %.
                    if parts < max {
                        assert!(sweep_cost(pages, parts + 1).requests as f64 > single.requests as f64 * 1.02);
                    }
                } else if max > 1 {
                    assert!(sweep_cost(pages, 2).requests as f64 > single.requests as f64 * 1.02);
                }
            }
        }
        // At a million users, sixteen ranges wait for about a sixteenth of the pages.
        assert_eq!(sweep_cost(1_002, 16), SweepCost { requests: 1_019, pages_in_a_row: 65 });
    }

    #[test]
    fn filters_are_the_documented_operators() {
        let ranges = user_ranges(&["a@x.com", "m@x.com", "o'neil@x.com", "z@x.com"], 3);
        let filters: Vec<String> = ranges.iter().map(Range::filter).collect();
        assert_eq!(
            filters,
            [
                "userPrincipalName le 'm'",
                "userPrincipalName ge 'm' and userPrincipalName le 'o'",
                "userPrincipalName ge 'o'",
            ]
        );
        assert!(ranges.iter().all(Range::advanced));
        assert_eq!(Range::AppIdPrefix('c').filter(), "startsWith(appId,'c')");
        assert!(!Range::AppIdPrefix('c').advanced());
        assert_eq!(user_ranges(&[], 16), [Range::UserPrincipalNames { from: None, to: None }]);
        assert_eq!(user_ranges(&["a@x", "a@y", "a@z"], 16).len(), 2);
        assert_eq!(literal("o'neil"), "'o''neil'");
    }

    /// UPNs: a first character from every class a UPN may start with
    /// (letters of both cases, digits, `$`, `_`, `'`, `-`, `!`, `#`, `^`,
    /// `~`, and a non-ASCII letter), then any of them, then a domain.
    fn upn() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9$_'\\-!#^~é][a-zA-Z0-9$_'.\\-!#^~é]{0,6}@[a-z]{1,3}\\.com"
    }

    proptest! {
        #[test]
        fn every_upn_is_in_exactly_one_range(
            upns in proptest::collection::vec(upn(), 1..200),
            sample in proptest::collection::vec(upn(), 0..60),
            parts in 1usize..=16,
        ) {
            let sample: Vec<&str> = sample.iter().map(String::as_str).collect();
            let ranges = user_ranges(&sample, parts);
            prop_assert!(ranges.len() <= parts.max(1));
            for upn in &upns {
                for compare in [ignoring_case, ordinal] {
                    let holding = ranges.iter().filter(|range| range.holds(upn, compare)).count();
                    prop_assert_eq!(holding, 1, "{} in {:?}", upn, ranges);
                }
            }
        }

        #[test]
        fn every_app_id_is_in_exactly_one_range(app_id in "[0-9a-fA-F]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}") {
            let holding = app_id_ranges().iter().filter(|range| range.holds(&app_id, ordinal)).count();
            prop_assert_eq!(holding, 1);
        }
    }
}
