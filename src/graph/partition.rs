//! Splitting a sweep of every user or service principal into ranges that
//! are read side by side, so a drift check of a million users waits for
//! about a sixteenth of the pages one after another instead of all of them.
//! Pure: the reader supplies the population, a sample of keys and the time
//! a page took.
//!
//! No range carries the advanced query parameters (`$count=true`,
//! `ConsistencyLevel: eventual`): those are answered from an index Microsoft
//! describes as eventually consistent, and a plan must see the latest writes.
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
//!   character a UPN may start with are covered. Microsoft's filter table
//!   marks `le` on `userPrincipalName` as supported by default but leaves
//!   `ge` blank, so a 400 on any of these ranges falls back to the next split.
//! - The documented split of users: `startsWith(userPrincipalName,'c')` for
//!   each character `c` a UPN may start with. Microsoft marks `startsWith`
//!   on `userPrincipalName` as supported by default, and documents that a
//!   UPN holds only `A`–`Z`, `a`–`z`, `0`–`9` and `' . - _ ! # ^ ~` before
//!   its `@` (the `user` resource's `userPrincipalName`); `startsWith` ignores
//!   case, so the 44 ranges of `USER_FIRST_CHARACTERS` cover every UPN once.
//!   It splits less evenly (one range per character), so it is the fallback.
//! - Service principals are split on the first hex digit of `appId`
//!   (`startsWith(appId,'0')` … `'f'`): every appId is a GUID, and a
//!   `startsWith` with one character is exactly one of sixteen. The
//!   `servicePrincipal` page lists `startsWith` for `appId` but the filter
//!   table leaves it blank, so a 400 falls back to the single sweep.

use std::time::Duration;

/// A range of one kind of principal, read as one paged query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Range {
    /// Users whose `userPrincipalName` lies between the bounds (inclusive;
    /// no UPN equals a bound); `None` is unbounded.
    UserPrincipalNames { from: Option<String>, to: Option<String> },
    /// Users whose `userPrincipalName` starts with this character (in
    /// either case).
    UserPrefix(char),
    /// Service principals whose `appId` starts with this hex digit.
    AppIdPrefix(char),
}

/// The characters Microsoft documents a UPN's alias may hold (the `user`
/// resource's `userPrincipalName`: `A`–`Z`, `a`–`z`, `0`–`9`, `' . - _ ! #
/// ^ ~`), lowercased: `startsWith` ignores case. A UPN starts with one.
pub const USER_FIRST_CHARACTERS: &str = "abcdefghijklmnopqrstuvwxyz0123456789'.-_!#^~";

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
            Range::UserPrefix(first) => {
                format!("startsWith(userPrincipalName,{})", literal(&first.to_string()))
            }
            Range::AppIdPrefix(digit) => format!("startsWith(appId,'{digit}')"),
        }
    }

    /// Whether Microsoft's filter table marks every operator of the range
    /// as supported without advanced query parameters; a range that is not
    /// may be refused (400), and the reader then falls back.
    pub fn documented(&self) -> bool {
        match self {
            Range::UserPrincipalNames { from, .. } => from.is_none(),
            Range::UserPrefix(_) => true,
            Range::AppIdPrefix(_) => false,
        }
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
            Range::UserPrefix(first) | Range::AppIdPrefix(first) => {
                key.chars().next().is_some_and(|character| character.to_ascii_lowercase() == *first)
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

/// The share of the tenant's read quota (resource units per 10 s, by its
/// size class) one partitioned sweep may use. Users and service principals
/// are swept side by side, so both together stay under 80 %, below the read
/// pacer's 90 %: what is left serves the other readers of the same quota.
pub const SWEEP_QUOTA_SHARE: f64 = 0.4;

/// What one page of a sweep costs: a `GET` of users is 2 resource units and
/// of service principals 1, `$select` takes 1 off, and no request costs
/// less than 1 (Microsoft Graph service-specific throttling limits,
/// identity and access).
pub const RESOURCE_UNITS_PER_PAGE: f64 = 1.0;

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

/// The most resource units a sweep of `pages` pages in `parts` ranges
/// spends in any 10 s: `parts` pages in flight, each taking at least
/// `page_time` (the probe page's time, a full page), and never more than
/// the whole sweep costs.
pub fn units_per_window(pages: usize, parts: usize, page_time: Duration) -> f64 {
    let window = super::read_pacing::READ_WINDOW.as_secs_f64();
    let pages_per_window = parts as f64 * (window / page_time.as_secs_f64().max(1e-3)).ceil();
    pages_per_window.min(sweep_cost(pages, parts).requests as f64) * RESOURCE_UNITS_PER_PAGE
}

/// How many ranges a sweep of `pages` pages is split into, at most `max`
/// (the reads in flight): the most for which the partitioned sweep waits
/// for fewer pages in a row than the single sweep, and spends at most
/// `SWEEP_QUOTA_SHARE` of `quota` (the tenant's resource units per 10 s) in
/// any 10 s when a page takes `page_time`; 1 (the single sweep) when none
/// does. Extra requests do not count against a split: Graph limits reads by
/// resource units per 10 s, and a split adds one part-filled page per range.
pub fn partitions_for(pages: usize, max: usize, page_time: Duration, quota: u32) -> usize {
    let single = sweep_cost(pages, 1);
    let allowed = f64::from(quota) * SWEEP_QUOTA_SHARE;
    (2..=max)
        .rev()
        .find(|parts| {
            sweep_cost(pages, *parts).pages_in_a_row < single.pages_in_a_row
                && units_per_window(pages, *parts, page_time) <= allowed
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

/// The documented split of users: one range per character a UPN may start
/// with (`USER_FIRST_CHARACTERS`), the ranges the `sample` shows fullest
/// first, so the reads in flight finish together as nearly as one range
/// per character allows. `None` when a sampled UPN starts with a character
/// outside the documented ones: the split could miss such users.
pub fn user_prefix_ranges(sample: &[&str]) -> Option<Vec<Range>> {
    let mut sampled = vec![0_usize; USER_FIRST_CHARACTERS.len()];
    for upn in sample {
        let first = upn.chars().next()?.to_ascii_lowercase();
        let at = USER_FIRST_CHARACTERS.chars().position(|character| character == first)?;
        sampled[at] += 1;
    }
    let mut ranges: Vec<(usize, char)> =
        USER_FIRST_CHARACTERS.chars().zip(sampled).map(|(first, seen)| (seen, first)).collect();
    // Stable: characters the sample does not show keep the alphabet's order.
    ranges.sort_by(|left, right| right.0.cmp(&left.0));
    Some(ranges.into_iter().map(|(_, first)| Range::UserPrefix(first)).collect())
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

    /// A page of 999 users as the benchmarks' emulator answers it, and as
    /// Graph answers it at the fastest.
    const PAGE: Duration = Duration::from_millis(220);

    #[test]
    fn a_sweep_is_split_whenever_that_saves_wall_time() {
        assert_eq!(partitions_for(1, 16, PAGE, 8_000), 1);
        assert_eq!(partitions_for(3, 16, PAGE, 8_000), 1, "a split would wait as long");
        assert_eq!(partitions_for(5, 16, PAGE, 8_000), 16);
        assert_eq!(partitions_for(41, 16, PAGE, 8_000), 16, "40,000 users");
        assert_eq!(partitions_for(1_002, 16, PAGE, 8_000), 16, "1,000,000 users");
        assert_eq!(partitions_for(1_002, 4, PAGE, 8_000), 4);
        assert_eq!(partitions_for(21, 16, PAGE, 8_000), 16, "20,000 service principals");
    }

    #[test]
    fn a_split_stays_within_its_share_of_the_read_quota() {
        // Pages answered in 20 ms: 16 in flight would spend 8,000 units in
        // 10 s, the largest quota whole.
        let fast = Duration::from_millis(20);
        let allowed = |quota: u32| f64::from(quota) * SWEEP_QUOTA_SHARE;
        for quota in [3_500, 5_000, 8_000] {
            let parts = partitions_for(100_000, 16, fast, quota);
            assert!(parts > 1 && parts < 16, "{quota}: {parts}");
            assert!(units_per_window(100_000, parts, fast) <= allowed(quota));
            assert!(units_per_window(100_000, parts + 1, fast) > allowed(quota));
        }
        assert_eq!(partitions_for(100_000, 16, fast, 8_000), 6, "3,000 units for 6 in flight");
        // A sweep that costs less than the share in all is split at any speed.
        assert_eq!(partitions_for(200, 16, fast, 3_500), 16);
    }

    #[test]
    fn a_split_is_cheaper_in_wall_time_and_within_the_quota_share() {
        for pages in 1..3_000 {
            for max in [1, 2, 4, 16] {
                for (page_time, quota) in [(PAGE, 8_000), (Duration::from_millis(20), 3_500)] {
                    let parts = partitions_for(pages, max, page_time, quota);
                    assert!((1..=max.max(1)).contains(&parts), "{pages}, {max}: {parts}");
                    let (single, split) = (sweep_cost(pages, 1), sweep_cost(pages, parts));
                    if parts > 1 {
                        assert!(split.pages_in_a_row < single.pages_in_a_row, "{pages}: {split:?}");
                        assert!(
                            units_per_window(pages, parts, page_time) <= f64::from(quota) * SWEEP_QUOTA_SHARE
                        );
                    }
                }
            }
        }
        // At a million users, sixteen ranges wait for about a sixteenth of the pages.
        assert_eq!(sweep_cost(1_002, 16), SweepCost { requests: 1_019, pages_in_a_row: 65 });
    }

    #[test]
    fn the_prefix_split_refuses_a_sample_outside_the_documented_characters() {
        assert!(user_prefix_ranges(&["$x@contoso.com", "a@contoso.com"]).is_none());
        assert!(user_prefix_ranges(&["é@contoso.com"]).is_none());
        let ranges = user_prefix_ranges(&["m@x", "M2@x", "a@x"]).unwrap();
        assert_eq!(ranges[..2], [Range::UserPrefix('m'), Range::UserPrefix('a')], "fullest first");
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
        assert!(ranges[0].documented() && !ranges[1].documented() && !ranges[2].documented());
        assert_eq!(Range::AppIdPrefix('c').filter(), "startsWith(appId,'c')");
        assert!(!Range::AppIdPrefix('c').documented());
        assert_eq!(Range::UserPrefix('m').filter(), "startsWith(userPrincipalName,'m')");
        assert_eq!(Range::UserPrefix('\'').filter(), "startsWith(userPrincipalName,'''')");
        assert!(Range::UserPrefix('m').documented());
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
            fn every_documented_upn_is_in_exactly_one_prefix_range(
                upns in proptest::collection::vec("[a-zA-Z0-9'_\\-!#^~][a-zA-Z0-9'._\\-!#^~]{0,6}@[a-z]{1,3}\\.com", 1..100),
                sample in proptest::collection::vec("[a-zA-Z0-9'_\\-!#^~][a-z]{0,4}@x\\.com", 0..60),
            ) {
                let sample: Vec<&str> = sample.iter().map(String::as_str).collect();
                let ranges = user_prefix_ranges(&sample).expect("documented characters only");
                prop_assert_eq!(ranges.len(), USER_FIRST_CHARACTERS.len());
                for upn in &upns {
                    let holding = ranges.iter().filter(|range| range.holds(upn, ordinal)).count();
                    prop_assert_eq!(holding, 1, "{}", upn);
                }
            }

            #[test]
            fn every_app_id_is_in_exactly_one_range(
    app_id in "[0-9a-fA-F]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}") {
                let holding = app_id_ranges().iter().filter(|range| range.holds(&app_id, ordinal)).count();
                prop_assert_eq!(holding, 1);
            }
        }
}
