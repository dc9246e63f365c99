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
            Range::UserPrefix(first) => Range::filter_for_prefix(&first.to_string()),
            Range::AppIdPrefix(digit) => format!("startsWith(appId,'{digit}')"),
        }
    }

    /// `startsWith(userPrincipalName,'prefix')`: a range of one first
    /// character, or a prefix counted to place the boundaries.
    pub fn filter_for_prefix(prefix: &str) -> String {
        format!("startsWith(userPrincipalName,{})", literal(prefix))
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

/// The count of users a prefix of `userPrincipalName` is refined at: a
/// prefix holding more than `1 / (parts × REFINE_SHARE)` of the users is
/// counted again by its next character, so a range ends within about a
/// quarter of its share of the users, whatever letters the names start with.
pub const REFINE_SHARE: u64 = 4;

/// The longest prefix counted.
pub const MAX_PREFIX: usize = 8;

/// Users Graph counts under one UPN prefix (lowercased), the histogram a
/// split of users is cut from. The counts come from the eventually
/// consistent index: they place the boundaries, and a count that lags
/// makes the ranges less even, never wrong.
pub type PrefixCount = (String, u64);

/// A histogram that knows nothing: one user for each letter and digit a
/// UPN may start with, for boundaries when Graph does not count.
pub fn even_prefixes() -> Vec<PrefixCount> {
    USER_FIRST_CHARACTERS
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|first| (first.to_string(), 1))
        .collect()
}

/// The prefixes counted first: the characters a UPN may start with.
pub fn first_prefixes() -> Vec<String> {
    USER_FIRST_CHARACTERS.chars().map(String::from).collect()
}

/// The prefixes that refine `prefix`: it followed by each character a UPN's
/// alias may hold, or by the `@` that ends it.
pub fn child_prefixes(prefix: &str) -> Vec<String> {
    USER_FIRST_CHARACTERS.chars().chain(['@']).map(|next| format!("{prefix}{next}")).collect()
}

/// The prefixes of `counts` worth refining for a split into `parts`: those
/// holding more than `total ÷ (parts × REFINE_SHARE)` users, shorter than
/// `MAX_PREFIX` and not ended by `@`.
pub fn to_refine(counts: &[PrefixCount], total: u64, parts: usize) -> Vec<String> {
    let limit = total / (parts.max(1) as u64 * REFINE_SHARE);
    counts
        .iter()
        .filter(|(prefix, count)| *count > limit && prefix.len() < MAX_PREFIX && !prefix.ends_with('@'))
        .map(|(prefix, _)| prefix.clone())
        .collect()
}

/// `counts` with `prefix` replaced by `children` (its refinement); what the
/// children do not hold stays with `prefix`.
pub fn refined(counts: &mut Vec<PrefixCount>, prefix: &str, children: Vec<PrefixCount>) {
    let Some(at) = counts.iter().position(|(held, _)| held == prefix) else { return };
    let (_, whole) = counts.remove(at);
    let held: u64 = children.iter().map(|(_, count)| count).sum();
    if whole > held {
        counts.push((prefix.to_owned(), whole - held));
    }
    counts.extend(children.into_iter().filter(|(_, count)| *count > 0));
}

/// How the character after a UPN prefix is spread, learned from the
/// prefixes that were counted by their next character: for each refined
/// prefix, the share of its users that each next character holds, averaged
/// over the refined prefixes (each weighs alike, so the fullest does not
/// drown the others). Sorted by character; empty when nothing was refined.
/// It stands for the next character of a prefix that was not refined, to
/// place a boundary inside it.
pub fn next_character_shares(counts: &[PrefixCount]) -> Vec<(char, f64)> {
    let mut by_parent: std::collections::BTreeMap<&str, Vec<(char, u64)>> = Default::default();
    for (prefix, count) in counts {
        let Some(last) = prefix.chars().last() else { continue };
        let parent = &prefix[..prefix.len() - last.len_utf8()];
        if !parent.is_empty() {
            by_parent.entry(parent).or_default().push((last, *count));
        }
    }
    let mut shares: std::collections::BTreeMap<char, f64> = Default::default();
    let parents = by_parent.len() as f64;
    for children in by_parent.values() {
        let held: u64 = children.iter().map(|(_, count)| count).sum();
        for (next, count) in children {
            *shares.entry(*next).or_default() += *count as f64 / held.max(1) as f64 / parents;
        }
    }
    shares.into_iter().collect()
}

/// Whether `prefix` may be a boundary: only `a`–`z` and `0`–`9`, which
/// every usual collation orders alike.
fn plain(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix.chars().all(|character| character.is_ascii_lowercase() || character.is_ascii_digit())
}

/// `parts` ranges of users with boundaries where `counts` (users by UPN
/// prefix) put the quantiles, so that the ranges hold about as many users
/// each. A boundary is a counted prefix made only of `a`–`z` and `0`–`9`,
/// or such a prefix followed by one more of those characters, placed
/// inside the prefix as `next_character_shares` spreads its users: the
/// counts stop at a quarter of a range's share, and the estimate evens the
/// ranges out below that without another round of counts. Fewer ranges
/// when the counts offer fewer boundaries; one unbounded range at least.
/// The counts only place the boundaries: the ranges cover every UPN,
/// counted or not, once.
pub fn user_ranges(counts: &[PrefixCount], parts: usize) -> Vec<Range> {
    user_ranges_estimated(counts, parts).into_iter().map(|(range, _)| range).collect()
}

/// `user_ranges`, each with the users the counts put in it.
pub fn user_ranges_estimated(counts: &[PrefixCount], parts: usize) -> Vec<(Range, u64)> {
    let mut sorted: Vec<&PrefixCount> = counts.iter().collect();
    sorted.sort_by(|left, right| left.0.cmp(&right.0));
    let total: u64 = sorted.iter().map(|(_, count)| count).sum();
    let shares = next_character_shares(counts);
    // A prefix counted by its next character is known more finely than an estimate.
    let refined: std::collections::HashSet<&str> = counts
        .iter()
        .filter_map(|(prefix, _)| {
            let last = prefix.chars().last()?;
            Some(&prefix[..prefix.len() - last.len_utf8()])
        })
        .collect();
    // Each boundary a prefix may be, with the users counted (or estimated) below it.
    let mut candidates: Vec<(String, f64)> = Vec::new();
    let mut below = 0;
    for (prefix, count) in sorted {
        if plain(prefix) {
            if below > 0 && below < total {
                candidates.push((prefix.clone(), below as f64));
            }
            let estimated = if refined.contains(prefix.as_str()) { &[][..] } else { &shares[..] };
            let mut share_below = 0.0;
            for (next, share) in estimated {
                let estimate = below as f64 + *count as f64 * share_below;
                if (next.is_ascii_lowercase() || next.is_ascii_digit()) && estimate > 0.0 {
                    candidates.push((format!("{prefix}{next}"), estimate));
                }
                share_below += share;
            }
        }
        below += count;
    }
    // Sorted by text they rise in users below too: a prefix's estimates lie
    // between it and the next counted prefix.
    candidates.sort_by(|left, right| left.0.cmp(&right.0));
    candidates.dedup_by(|later, earlier| later.0 == earlier.0);
    let mut boundaries: Vec<(&str, f64)> = Vec::new();
    for part in 1..parts.max(1) {
        let goal = (total * part as u64 / parts as u64) as f64;
        let nearest = candidates
            .iter()
            .filter(|(_, below)| *below < total as f64)
            .min_by(|left, right| (left.1 - goal).abs().total_cmp(&(right.1 - goal).abs()));
        if let Some((prefix, below)) = nearest
            && boundaries.last().is_none_or(|(last, _)| *last < prefix.as_str())
        {
            boundaries.push((prefix, *below));
        }
    }
    let mut ranges = Vec::with_capacity(boundaries.len() + 1);
    let (mut from, mut below): (Option<String>, f64) = (None, 0.0);
    for (boundary, at) in boundaries {
        let range = Range::UserPrincipalNames { from: from.take(), to: Some(boundary.to_owned()) };
        ranges.push((range, (at - below).max(0.0).round() as u64));
        (from, below) = (Some(boundary.to_owned()), at);
    }
    ranges
        .push((Range::UserPrincipalNames { from, to: None }, (total as f64 - below).max(0.0).round() as u64));
    ranges
}

/// The page size (`$top`, at most `page`) of each of ranges holding about
/// `users` users, read side by side: each range keeps the fewest pages it
/// needs (`users ÷ page`, rounded up), and within that the sizes are spread
/// from the smallest that still fits to `page`, so the pages of even ranges
/// do not all arrive at once. A page's time grows with its size, so pages
/// of different sizes stagger, and the client decodes one while Graph still
/// answers the next instead of all sixteen together; the range's time, its
/// pages in a row, stays the same.
pub fn staggered_page_sizes(users: &[u64], page: usize) -> Vec<usize> {
    let spread = users.len().saturating_sub(1).max(1);
    users
        .iter()
        .enumerate()
        .map(|(index, held)| {
            let held = usize::try_from(*held).unwrap_or(usize::MAX).max(1);
            let pages = held.div_ceil(page);
            let smallest = held.div_ceil(pages).min(page);
            smallest + (page - smallest) * index / spread
        })
        .collect()
}

/// The documented split of users: one range per character a UPN may start
/// with (`USER_FIRST_CHARACTERS`), the fullest first (by `first`, the
/// counts of `first_prefixes`), so the reads in flight finish together as
/// nearly as one range per character allows. `None` when those counts hold
/// fewer users than `total`: some UPNs start with another character, and
/// the split would miss them.
pub fn user_prefix_ranges(first: &[PrefixCount], total: u64) -> Option<Vec<Range>> {
    let counted: u64 =
        first.iter().filter(|(prefix, _)| prefix.chars().count() == 1).map(|(_, count)| count).sum();
    if counted < total {
        return None;
    }
    let mut ranges: Vec<(u64, char)> = USER_FIRST_CHARACTERS
        .chars()
        .map(|character| {
            let count = first
                .iter()
                .find(|(prefix, _)| prefix.chars().eq([character]))
                .map_or(0, |(_, count)| *count);
            (count, character)
        })
        .collect();
    // Stable: characters without users keep the alphabet's order.
    ranges.sort_by_key(|(count, _)| std::cmp::Reverse(*count));
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

    /// What the reader does against a tenant of `upns`: counts the first
    /// characters, then refines each prefix `to_refine` names; a count is
    /// the UPNs starting with the prefix, ignoring case.
    fn counted(upns: &[&str], parts: usize) -> (Vec<PrefixCount>, Vec<PrefixCount>) {
        let count = |prefix: &String| {
            let held = upns.iter().filter(|upn| upn.to_lowercase().starts_with(prefix.as_str())).count();
            (prefix.clone(), held as u64)
        };
        let first: Vec<PrefixCount> = first_prefixes().iter().map(count).collect();
        let mut counts = first.clone();
        for _ in 0..MAX_PREFIX {
            for prefix in to_refine(&counts, upns.len() as u64, parts) {
                let children = child_prefixes(&prefix).iter().map(count).collect();
                refined(&mut counts, &prefix, children);
            }
        }
        (first, counts)
    }

    #[test]
    fn the_prefix_split_refuses_upns_outside_the_documented_characters() {
        let upns = ["$x@contoso.com", "a@contoso.com"];
        assert!(user_prefix_ranges(&counted(&upns, 16).0, 2).is_none());
        let upns = ["m@x", "M2@x", "a@x"];
        let ranges = user_prefix_ranges(&counted(&upns, 16).0, 3).unwrap();
        assert_eq!(ranges[..2], [Range::UserPrefix('m'), Range::UserPrefix('a')], "fullest first");
    }

    #[test]
    fn counted_prefixes_cut_skewed_names_into_even_ranges() {
        // 8,000 names, 70 % of them starting with `j`, `m` or `s`.
        let mut state = 7_u64;
        let mut next = move || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            state >> 33
        };
        let upns: Vec<String> = (0..8_000)
            .map(|_| {
                let others = "abcdefghiklnopqrtuvwxyz0123456789";
                let at = next() as usize % others.len();
                let first =
                    if next() % 10 < 7 { ["j", "m", "s"][next() as usize % 3] } else { &others[at..=at] };
                let rest: String = (0..6).map(|_| char::from(b'a' + (next() % 26) as u8)).collect();
                format!("{first}{rest}@contoso.com")
            })
            .collect();
        let upns: Vec<&str> = upns.iter().map(String::as_str).collect();
        let (_, counts) = counted(&upns, 16);
        let ranges = user_ranges(&counts, 16);
        assert_eq!(ranges.len(), 16);
        let sizes: Vec<usize> = ranges
            .iter()
            .map(|range| upns.iter().filter(|upn| range.holds(upn, ignoring_case)).count())
            .collect();
        assert_eq!(sizes.iter().sum::<usize>(), 8_000);
        assert!(sizes.iter().all(|size| *size <= 8_000 / 16 * 5 / 4), "{sizes:?}");
    }

    /// `users` UPNs, `skew` tenths of them starting with one of `heavy`
    /// (then a run of letters whose first letter also leans on a few), the
    /// rest with any letter or digit.
    fn skewed_upns(users: usize, skew: u64, heavy: &[char], seed: u64) -> Vec<String> {
        let mut state = seed.wrapping_mul(2) + 1;
        let mut next = move || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            state >> 33
        };
        let alphabet: Vec<char> = ('a'..='z').chain('0'..='9').collect();
        (0..users)
            .map(|index| {
                let first = if next() % 10 < skew {
                    heavy[next() as usize % heavy.len()]
                } else {
                    alphabet[next() as usize % alphabet.len()]
                };
                // Second letters lean on vowels, as names do.
                let second = if next() % 2 == 0 {
                    ['a', 'e', 'o'][next() as usize % 3]
                } else {
                    alphabet[next() as usize % 26]
                };
                let rest: String = (0..5).map(|_| alphabet[next() as usize % 26]).collect();
                format!("{first}{second}{rest}{index}@contoso.com")
            })
            .collect()
    }

    fn range_sizes(upns: &[String], ranges: &[Range]) -> Vec<usize> {
        ranges.iter().map(|range| upns.iter().filter(|upn| range.holds(upn, ignoring_case)).count()).collect()
    }

    #[test]
    fn boundaries_placed_inside_counted_prefixes_even_the_ranges_out() {
        // 40,000 names, 70 % starting with `j`, `m` or `s`: the counts stop at
        // 625 users a prefix, the estimates place the boundaries closer.
        let upns = skewed_upns(40_000, 7, &['j', 'm', 's'], 1);
        let borrowed: Vec<&str> = upns.iter().map(String::as_str).collect();
        let (_, counts) = counted(&borrowed, 16);
        let shares = next_character_shares(&counts);
        assert!((shares.iter().map(|(_, share)| share).sum::<f64>() - 1.0).abs() < 1e-9, "{shares:?}");
        let ranges = user_ranges(&counts, 16);
        assert_eq!(ranges.len(), 16);
        let sizes = range_sizes(&upns, &ranges);
        assert_eq!(sizes.iter().sum::<usize>(), 40_000);
        let (least, most) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        assert!(*most <= 2_500 * 110 / 100 && *least >= 2_500 * 90 / 100, "{sizes:?}");
        // Counted prefixes only, as before: as much as a quarter off.
        let counted_only: Vec<PrefixCount> = counts.clone();
        assert!(next_character_shares(&[]).is_empty());
        assert_eq!(user_ranges(&counted_only, 16).len(), 16);
    }

    #[test]
    fn page_sizes_stagger_without_adding_a_page() {
        let sizes = staggered_page_sizes(&[2_500; 16], 999);
        assert_eq!((sizes[0], sizes[15]), (834, 999));
        assert!(sizes.windows(2).all(|pair| pair[0] <= pair[1]), "{sizes:?}");
        for (users, size) in [2_500u64; 16].iter().zip(&sizes) {
            assert_eq!((*users as usize).div_ceil(*size), 3, "{size}: the fewest pages");
        }
        assert_eq!(staggered_page_sizes(&[62_500, 62_500], 999), [993, 999]);
        assert_eq!(staggered_page_sizes(&[0, 10], 999), [1, 999]);
        assert_eq!(staggered_page_sizes(&[5_000], 999), [834]);
        // The estimates add up to what was counted.
        let counts: Vec<PrefixCount> = [("a", 10), ("m", 20), ("o", 5), ("z", 5)]
            .iter()
            .map(|(prefix, count)| ((*prefix).to_owned(), *count))
            .collect();
        let estimated = user_ranges_estimated(&counts, 3);
        assert_eq!(estimated.iter().map(|(_, users)| users).sum::<u64>(), 40);
        assert_eq!(estimated.iter().map(|(_, users)| *users).collect::<Vec<_>>(), [10, 20, 10]);
    }

    #[test]
    fn filters_are_the_documented_operators() {
        let counts: Vec<PrefixCount> =
            ["a", "m", "o", "z"].iter().map(|prefix| ((*prefix).to_owned(), 1)).collect();
        let ranges = user_ranges(&counts, 3);
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
        assert_eq!(user_ranges(&[("a".into(), 3)], 16).len(), 1);
        assert_eq!(user_ranges(&[("a".into(), 3), ("a@".into(), 1), ("b".into(), 1)], 16).len(), 2);
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
                let ranges = user_ranges(&counted(&sample, parts).1, parts);
                prop_assert!(ranges.len() <= parts.max(1));
                for upn in &upns {
                    for compare in [ignoring_case, ordinal] {
                        let holding = ranges.iter().filter(|range| range.holds(upn, compare)).count();
                        prop_assert_eq!(holding, 1, "{} in {:?}", upn, ranges);
                    }
                }
            }

            #[test]
            fn every_upn_of_a_skewed_tenant_is_in_exactly_one_range(
                users in 1usize..3_000,
                skew in 0u64..=10,
                heavy in proptest::collection::vec(proptest::char::range('a', 'z'), 1..4),
                seed: u64,
                lagging in 0usize..200,
                extra in proptest::collection::vec(upn(), 0..40),
                parts in 2usize..=16,
            ) {
                // The counts come from the tenant as it was (the index lags:
                // some users are not counted yet), the ranges read it as it is.
                let mut upns = skewed_upns(users, skew, &heavy, seed);
                let counted_upns: Vec<&str> = upns.iter().skip(lagging.min(users)).map(String::as_str).collect();
                let ranges = user_ranges(&counted(&counted_upns, parts).1, parts);
                prop_assert!(ranges.len() <= parts);
                upns.extend(extra);
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
                let ranges = user_prefix_ranges(&counted(&sample, 16).0, sample.len() as u64)
                    .expect("documented characters only");
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
