//! The "assigning by group" rows of BENCHMARKS.md
//! (`cargo bench --bench scale -- --groups`): one group of N users (5,000
//! and 50,000) in a tenant of 1.2 × N users, whose members the files give
//! a value of a new attribute. The plan runs against the emulator in a
//! process of its own (peak memory), and its HTTP requests are held to the
//! minimum: the tenant's fixed reads (sets, definitions, policies; measured
//! by the same plan without the group), the pages of members (999 each),
//! and the fewest requests that read the members' values (a sweep of 999
//! users a page, or batches of 20 GETs, whichever is fewer).

use std::path::Path;

use entra_csa::emulator::{RunningEmulator, Throttle};
use entra_csa::graph::{BearerToken, ClientOptions, GraphTenant, TokenSource, endpoint};
use entra_csa::model::live::{GroupMember, LiveGroup};
use entra_csa::model::synthetic::{Shape, generate};
use entra_csa::model::{AttributeSet, AttributeValue, DataType, Definition, DesiredState, GroupAssignments};
use entra_csa::plan;
use entra_csa::tenant::{ReadScope, Tenant};

/// The heading of the section.
pub const HEADING: &str = "## Assigning by group";

/// The group's object id.
const GROUP: &str = "6a1f0c2e-0000-4000-8000-00000000b001";

/// The files: a new set `Bench` with a String attribute `Team`, given to the
/// group's members; `with_group: false` is the same files without the group.
fn desired(with_group: bool) -> DesiredState {
    let definition = Definition::with_defaults("Bench", "Team", DataType::String);
    let mut desired = DesiredState::default();
    desired.attribute_sets.insert(
        "Bench".into(),
        AttributeSet {
            id: "Bench".into(),
            description: None,
            max_attributes_per_set: None,
            attributes: [("Team".to_owned(), definition)].into_iter().collect(),
        },
    );
    if with_group {
        let values = [(
            "Bench".to_owned(),
            [("Team".to_owned(), AttributeValue::String("Payments".into()))].into_iter().collect(),
        )]
        .into_iter()
        .collect();
        desired
            .group_assignments
            .insert(GROUP.into(), GroupAssignments { values, authoritative: Default::default() });
    }
    desired
}

/// Plans `desired.json` in `folder` against the Graph root `url`, renders the
/// plan as JSON, and prints the changes and the peak resident memory (kB).
pub fn measure_in_this_process(folder: &Path, url: &str) {
    let text = std::fs::read_to_string(folder.join("desired.json")).unwrap();
    let desired = plan::saved::desired_from_json(serde_json::from_str(&text).unwrap()).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let plan = runtime.block_on(async {
        let endpoint = endpoint::resolve(endpoint::Cloud::Global, Some(url), false).unwrap();
        let tenant = GraphTenant::new(
            endpoint,
            TokenSource::Fixed(BearerToken::new("benchmark")),
            ClientOptions::default(),
            None,
        )
        .unwrap();
        let live = tenant.read(&ReadScope::for_desired(&desired)).await.unwrap();
        plan::build(&desired, &live, tenant.target())
    });
    assert!(plan.conflicts.is_empty(), "{:?}", plan.conflicts);
    let mut sink = std::io::sink();
    entra_csa::render::render(&plan, entra_csa::render::Format::Json, false, &mut sink).unwrap();
    println!("{} {}", plan.changes.len(), super::peak_rss_kb());
}

/// One plan in a process of its own: (changes, peak kB, HTTP requests).
async fn plan_in_a_process(emulator: &RunningEmulator, desired: &DesiredState) -> (usize, u64, usize) {
    let folder = tempfile::tempdir().unwrap();
    let text = serde_json::to_string(&plan::saved::desired_to_json(desired)).unwrap();
    std::fs::write(folder.path().join("desired.json"), text).unwrap();
    let before = emulator.requests().iter().filter(|request| request.batch_item.is_none()).count();
    let url = emulator.base_url();
    let output = tokio::task::block_in_place(|| {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--measure-group-plan", folder.path().to_str().unwrap(), &url])
            .output()
            .expect("the benchmark re-runs itself")
    });
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed = String::from_utf8_lossy(&output.stdout);
    let mut numbers = printed.split_whitespace().map(|number| number.parse::<u64>().unwrap_or(0));
    let changes = numbers.next().unwrap_or(0) as usize;
    let peak = numbers.next().unwrap_or(0);
    let after = emulator.requests().iter().filter(|request| request.batch_item.is_none()).count();
    (changes, peak, after - before)
}

struct Row {
    members: usize,
    users: usize,
    changes: usize,
    requests: usize,
    fixed: usize,
    member_pages: usize,
    value_reads: usize,
    peak_kb: u64,
}

/// The section: a row per group size.
pub async fn section() -> String {
    let mut rows = Vec::new();
    for members in [5_000, 50_000] {
        eprintln!("group of {members} members…");
        let users = members + members / 5;
        let mut generated = generate(&Shape { users, service_principals: 100, ..Shape::default() });
        let ids: Vec<String> = generated
            .live
            .principals
            .values()
            .filter(|principal| principal.kind == entra_csa::model::PrincipalKind::User)
            .take(members)
            .map(|principal| principal.object_id.clone())
            .collect();
        assert_eq!(ids.len(), members);
        generated.live.groups = Some(vec![LiveGroup {
            id: GROUP.into(),
            display_name: Some("Bench-Members".into()),
            members: ids
                .into_iter()
                .map(|id| GroupMember {
                    odata_type: "#microsoft.graph.user".into(),
                    id,
                    other: Default::default(),
                })
                .collect(),
            other: Default::default(),
        }]);
        let emulator = super::emulator_with(&generated.live, Throttle::None).await;
        let (_, _, fixed) = plan_in_a_process(&emulator, &desired(false)).await;
        let (changes, peak_kb, requests) = plan_in_a_process(&emulator, &desired(true)).await;
        emulator.shutdown().await;
        rows.push(Row {
            members,
            users,
            changes,
            requests,
            fixed,
            member_pages: members.div_ceil(999),
            value_reads: users.div_ceil(999).min(members.div_ceil(20)),
            peak_kb,
        });
    }
    let mut text = format!("{HEADING} (`cargo bench --bench scale -- --groups`)\n\n");
    text.push_str(
        "One group of N users (keyed by object id) in a tenant of 1.2 × N users and 100 service \
         principals; the files give its members a value of a new attribute, so the plan creates the \
         set and the attribute and assigns N values. The plan runs against the emulator (20 ms \
         latency) in a process of its own. Minimum requests = the fixed reads (sets, definitions, \
         policies: the same plan without the group) + the pages of members (999 a page) + the \
         fewest requests that read the members' values (a sweep of 999 users a page, or batches of \
         20 GETs). Goal: requests ≤ 1.1 × the minimum, and memory that grows linearly with the group.\n\n",
    );
    if cfg!(debug_assertions) {
        text.push_str(
            "These figures are from a debug build (`cargo bench --profile dev --bench scale -- --groups`, \
             2 shared cores while other builds ran): requests and memory, not times.\n\n",
        );
    }
    text.push_str(
        "| members | tenant users | changes | HTTP requests | minimum (fixed + member pages + value reads) | ratio | peak RSS (MB) |\n\
         |---:|---:|---:|---:|---|---:|---:|\n",
    );
    for row in &rows {
        let minimum = row.fixed + row.member_pages + row.value_reads;
        text.push_str(&format!(
            "| {} | {} | {} | {} | {minimum} ({} + {} + {}) | {:.2} | {:.0} |\n",
            row.members,
            row.users,
            row.changes,
            row.requests,
            row.fixed,
            row.member_pages,
            row.value_reads,
            row.requests as f64 / minimum as f64,
            row.peak_kb as f64 / 1024.0,
        ));
    }
    if let [small, large] = rows.as_slice() {
        text.push_str(&format!(
            "\nFrom {} to {} members ({}×), peak memory grows {:.1}× ({:.0} → {:.0} MB).\n",
            small.members,
            large.members,
            large.members / small.members,
            large.peak_kb as f64 / small.peak_kb.max(1) as f64,
            small.peak_kb as f64 / 1024.0,
            large.peak_kb as f64 / 1024.0,
        ));
    }
    text
}
