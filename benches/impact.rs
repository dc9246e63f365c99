//! The cost of the plan's impact on Conditional Access (`plan::impact`):
//! every changed service principal evaluated against every policy's filters,
//! before and after, at 1,000, 10,000 and 100,000 changed service
//! principals and 20 policies (rules with `-eq`, `-and`, `-or`, `-in`,
//! `-contains` on a collection, exclude filters, and rules the grammar
//! refuses). Run: `cargo bench --bench impact`; it prints the section of
//! BENCHMARKS.md.

use std::time::{Duration, Instant};

use entra_csa::model::live::{LivePrincipal, LiveState, PrincipalId};
use entra_csa::model::{
    AttributeValue, DesiredState, PrincipalAssignments, PrincipalKey, PrincipalKind, SetValues,
};
use entra_csa::plan::impact::impact;
use entra_csa::plan::{Action, Address, Change, Snapshot};
use serde_json::{Value, json};

const RUNS: usize = 3;
const POLICIES: usize = 20;

/// The rule of policy `index`: one of seven shapes, with literals that
/// some principals hold.
fn rule(index: usize) -> &'static str {
    [
        r#"CustomSecurityAttribute.Sec_Tier -eq "Tier0""#,
        r#"CustomSecurityAttribute.Sec_Tier -eq "Tier1" -and CustomSecurityAttribute.Sec_Owner -startsWith "Fin""#,
        r#"CustomSecurityAttribute.Sec_Tags -contains "requireMFA" -or CustomSecurityAttribute.Sec_Tier -eq "Tier2""#,
        r#"CustomSecurityAttribute.Sec_Tier -in ["Tier0", "Tier3", "Tier5"]"#,
        r#"(CustomSecurityAttribute.Sec_Owner -ne "IT") -and (CustomSecurityAttribute.Sec_Tier -notIn ["Tier4"])"#,
        r#"CustomSecurityAttribute.Sec_Tier -match "Tier[01]""#,
        r#"CustomSecurityAttribute.Sec_Owner -endsWith "nance" -or CustomSecurityAttribute.Sec_Owner -contains "HR""#,
    ][index % 7]
}

fn tenant(principals: usize) -> (LiveState, Vec<Change>) {
    let mut live = LiveState::default();
    let mut changes = Vec::with_capacity(principals);
    for index in 0..principals {
        let object_id = format!("00000000-0000-4000-8000-{index:012}");
        let app_id = format!("11111111-0000-4000-8000-{index:012}");
        let mut values = SetValues::new();
        values.insert("Tier".into(), AttributeValue::String(format!("Tier{}", index % 6)));
        values.insert("Owner".into(), AttributeValue::String(["Finance", "IT", "HR"][index % 3].into()));
        values.insert(
            "Tags".into(),
            AttributeValue::strings(vec!["requireMFA".into(), format!("tag{}", index % 9)]),
        );
        let mut sets = PrincipalAssignments::new();
        sets.insert("Sec".into(), values);
        let id = PrincipalId { kind: PrincipalKind::ServicePrincipal, object_id: object_id.clone() };
        live.principals.insert(
            id.clone(),
            LivePrincipal {
                kind: PrincipalKind::ServicePrincipal,
                object_id,
                user_principal_name: None,
                app_id: Some(app_id.clone()),
                display_name: Some(format!("App {index}")),
                odata_type: None,
                custom_security_attributes: Some(sets),
            },
        );
        let snapshot = |tier: usize| Snapshot::Assignment {
            principal: id.clone(),
            value: AttributeValue::String(format!("Tier{tier}")),
        };
        changes.push(Change {
            seq: index + 1,
            action: Action::Update,
            address: Address::Assignment {
                principal: PrincipalKey::ServicePrincipal(app_id),
                set: "Sec".into(),
                attribute: "Tier".into(),
            },
            before: Some(snapshot(index % 6)),
            after: Some(snapshot((index + 1) % 6)),
        });
    }
    let policies = (0..POLICIES)
        .map(|index| {
            let mode = if index % 4 == 3 { "exclude" } else { "include" };
            let policy: Value = json!({
                "id": format!("policy-{index}"),
                "displayName": format!("Policy {index}"),
                "state": "enabled",
                "conditions": { "applications": {
                    "includeApplications": ["All"],
                    "applicationFilter": { "mode": mode, "rule": rule(index) }
                } }
            });
            policy.as_object().cloned().unwrap_or_default()
        })
        .collect();
    live.policies.conditional_access_policies = Some(policies);
    (live, changes)
}

fn main() {
    let desired = DesiredState::default();
    println!("## Impact on Conditional Access (`cargo bench --bench impact`)\n");
    println!(
        "`plan::impact` alone: every changed service principal (one value each) against {POLICIES} policies' \
         application filters, before and after (7 rule shapes, one of them refused by the grammar). Goal: \
         linear in the changed principals, and small beside the diff + plan of the same plan (table above). \
         Median of {RUNS} runs.\n"
    );
    println!("| changed service principals | policies | impact lines | time (ms) | per principal (µs) |");
    println!("|---:|---:|---:|---:|---:|");
    for principals in [1_000, 10_000, 100_000] {
        let (live, changes) = tenant(principals);
        let mut lines = 0;
        let mut times: Vec<Duration> = (0..RUNS)
            .map(|_| {
                let started = Instant::now();
                lines = impact(&changes, &live, &desired).0.len();
                started.elapsed()
            })
            .collect();
        times.sort();
        let median = times[RUNS / 2];
        println!(
            "| {principals} | {POLICIES} | {lines} | {:.1} | {:.2} |",
            median.as_secs_f64() * 1000.0,
            median.as_secs_f64() * 1e6 / principals as f64
        );
    }
}
