//! How to read the assignments of the declared principals at the fewest
//! requests: batched GETs (20 per `$batch`) or a paged sweep of every user or
//! service principal (`$top=999`). Pure: the reader supplies what it knows.

use super::batch::MAX_BATCH_REQUESTS;

/// The page size asked of a sweep (Graph's maximum for users and service principals).
pub const SWEEP_PAGE_SIZE: usize = 999;

/// How one kind of principal is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// One batched GET per declared principal.
    Batched,
    /// Every principal of the kind, page by page.
    Sweep,
}

/// Requests needed to fetch `principals` principals in batches.
pub fn batched_cost(principals: usize) -> usize {
    principals.div_ceil(MAX_BATCH_REQUESTS)
}

/// Requests needed to page through `population` principals.
pub fn sweep_cost(population: usize) -> usize {
    population.div_ceil(SWEEP_PAGE_SIZE).max(1)
}

/// Whether a first sweep page is worth reading to learn the population:
/// only when batching would take more than one request, since a sweep never
/// takes fewer than one.
pub fn worth_probing(declared: usize) -> bool {
    batched_cost(declared) > 1
}

/// The route for the principals still to read after the first sweep page
/// of `page_len` principals. `unresolved`: declared principals not on that
/// page; `population`: the kind's total (`@odata.count`), when known;
/// `pages_left`: whether the page had a nextLink. An unknown population
/// means an unbounded sweep, so batching (whose cost is known) wins.
pub fn after_probe(unresolved: usize, population: Option<usize>, page_len: usize, pages_left: bool) -> Route {
    if !pages_left {
        return Route::Sweep;
    }
    match population {
        Some(population) => {
            let remaining_pages = population.saturating_sub(page_len).div_ceil(page_len.max(1));
            if remaining_pages < batched_cost(unresolved) { Route::Sweep } else { Route::Batched }
        }
        None => Route::Batched,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs() {
        assert_eq!(batched_cost(0), 0);
        assert_eq!(batched_cost(20), 1);
        assert_eq!(batched_cost(21), 2);
        assert_eq!(sweep_cost(0), 1);
        assert_eq!(sweep_cost(999), 1);
        assert_eq!(sweep_cost(1000), 2);
    }

    #[test]
    fn few_declared_principals_are_batched_without_a_probe() {
        assert!(!worth_probing(0));
        assert!(!worth_probing(20));
        assert!(worth_probing(21));
    }

    #[test]
    fn a_single_page_tenant_is_swept() {
        assert_eq!(after_probe(500, None, 600, false), Route::Sweep);
    }

    #[test]
    fn the_cheaper_remainder_wins() {
        // 100,000 users: 100 more pages against 5 batches.
        assert_eq!(after_probe(100, Some(100_000), 999, true), Route::Batched);
        // 3,000 users, 2,000 unresolved declared: 3 pages left against 100 batches.
        assert_eq!(after_probe(2_000, Some(3_000), 999, true), Route::Sweep);
        // Tie: batching, whose answers hold only what is needed.
        assert_eq!(after_probe(20, Some(1_998), 999, true), Route::Batched);
        assert_eq!(after_probe(5_000, None, 999, true), Route::Batched);
        // The service may answer smaller pages than asked: 60 users in pages of 10.
        assert_eq!(after_probe(40, Some(60), 10, true), Route::Batched);
        assert_eq!(after_probe(150, Some(210), 50, true), Route::Sweep);
    }
}
