//! `plan --drift --explain` through the real binary against the emulator on
//! loopback: a change made by someone else (an administrator through the
//! emulator's control endpoint, or another app with its own token) is named
//! with its initiator and time in text, Markdown and JSON; the tool's own
//! apply is told apart; `--since` bounds the window on the server; the read
//! is paged and its cost follows the entries in the window; and a refused
//! or absent audit log leaves the plan working, with a note.

use entra_csa::emulator::{EmulatorConfig, RunningEmulator};
use serde_json::{Value, json};

use crate::graph_support::*;

/// The tool's own token: not a JWT, so the emulator logs its writes as the app
/// `entra-csa emulator client` (and lets it read everything).
const TOOL: &str = "tool-token";
const ALICE_PROJECT: &str = "user:alice@contoso.com/Engineering.Project";
const PAYROLL: &str = "7c2f3c3e-1111-4a4a-9b9b-0123456789ab";

fn args(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|part| (*part).to_owned()).collect()
}

/// Contoso's tenant with `contoso.yaml` applied by the tool itself.
async fn applied() -> RunningEmulator {
    let emulator = emulator(EmulatorConfig { seed_state: contoso_seed(), ..Default::default() }).await;
    let example = repo("examples/contoso.yaml").display().to_string();
    let (code, stdout, stderr) = run_cli(
        args(&["apply", "-f", &example, "--graph-url", &emulator.base_url(), "--auto-approve"]),
        TOOL,
    )
    .await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    emulator
}

/// Alice's project set to `value` through `POST /_emulator/write`, over HTTP,
/// as `initiated_by`, at `at` (now when `None`).
async fn change_alice(emulator: &RunningEmulator, value: &str, initiated_by: Value, at: Option<&str>) {
    let mut request = json!({
        "method": "PATCH",
        "path": "/v1.0/users/alice@contoso.com",
        "body": { "customSecurityAttributes": { "Engineering": {
            "@odata.type": "#microsoft.graph.customSecurityAttributeValue",
            "Project@odata.type": "#Collection(String)",
            "Project": [value]
        } } },
        "initiatedBy": initiated_by,
    });
    if let Some(at) = at {
        request["activityDateTime"] = json!(at);
    }
    let answer = reqwest::Client::new()
        .post(format!("{}/_emulator/write", emulator.base_url()))
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 204, "{}", answer.text().await.unwrap());
}

fn mallory() -> Value {
    json!({ "user": { "userPrincipalName": "mallory@contoso.com", "id": "dddddddd-0000-0000-0000-00000000000d" } })
}

async fn drift_plan(
    emulator: &RunningEmulator,
    format: &str,
    more: &[&str],
    token: &str,
) -> (i32, String, String) {
    let example = repo("examples/contoso.yaml").display().to_string();
    let url = emulator.base_url();
    let mut parts = vec!["plan", "-f", &example, "--graph-url", &url, "--drift", "--detailed-exitcode"];
    parts.extend(["--format", format]);
    parts.extend(more);
    run_cli(args(&parts), token).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_by_another_user_names_them_and_when_in_text_markdown_and_json() {
    let emulator = applied().await;
    change_alice(&emulator, "Alpine", mallory(), None).await;

    let (code, text, stderr) = drift_plan(&emulator, "text", &["--explain"], TOOL).await;
    assert_eq!(code, 2, "{text}{stderr}");
    let finding = text
        .lines()
        .position(|line| line.contains(&format!("? assignment {ALICE_PROJECT}")))
        .expect("the finding");
    let explanation = text.lines().nth(finding + 1).unwrap();
    assert!(explanation.contains("by user mallory@contoso.com"), "{text}");
    assert!(explanation.contains("(Update attribute values assigned to a user)"), "{explanation}");
    assert!(
        explanation.contains(r#"Engineering.Project ["Baker","Cascade"] → ["Alpine"]"#),
        "old and new values: {explanation}"
    );
    let today = time::OffsetDateTime::now_utc().date().to_string();
    assert!(explanation.contains(&format!("changed {today}T")), "when: {explanation}");
    assert!(text.contains("plan --explain: 1 of 1 drift finding(s) explained"), "{text}");

    let (code, markdown, _) = drift_plan(&emulator, "markdown", &["--explain"], TOOL).await;
    assert_eq!(code, 2);
    assert!(
        markdown.contains("by user `mallory@contoso.com` (Update attribute values assigned to a user)"),
        "{markdown}"
    );
    assert!(markdown.contains(&format!("  - **{today}T")), "{markdown}");

    let (code, json, _) = drift_plan(&emulator, "json", &["--explain"], TOOL).await;
    assert_eq!(code, 2);
    let plan: Value = serde_json::from_str(&json).unwrap();
    let drift =
        plan["drift"].as_array().unwrap().iter().find(|drift| drift["address"] == ALICE_PROJECT).unwrap();
    let entry = &drift["explanation"]["entries"][0];
    assert_eq!(entry["initiatedBy"]["kind"], "user");
    assert_eq!(entry["initiatedBy"]["userPrincipalName"], "mallory@contoso.com");
    assert!(entry["activityDateTime"].as_str().unwrap().starts_with(&today), "{entry}");
    assert_eq!(entry["changes"][0]["newValue"], r#"["Alpine"]"#);
    // The explanation is an optional addition within format version 2.
    crate::json_contract::check(&json, "plan --drift --explain", &crate::json_contract::schema());
    // Two entries on it: Mallory's, then the tool's own apply.
    assert_eq!(drift["explanation"]["entries"].as_array().unwrap().len(), 2);
    assert_eq!(drift["explanation"]["entries"][1]["initiatedBy"]["displayName"], "entra-csa emulator client");

    // Without --explain nothing is read and nothing is added.
    let (_, plain, _) = drift_plan(&emulator, "json", &[], TOOL).await;
    assert!(!plain.contains("explanation"), "{plain}");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_apps_token_is_named_with_its_app_id_and_the_tools_own_apply_as_the_tool() {
    let emulator = applied().await;
    // Another app, with its own token, changes the payroll app's clearance.
    let other_app = jwt(json!({
        "appid": "22222222-0000-0000-0000-000000000002",
        "app_displayname": "HR sync",
        "roles": ["CustomSecAttributeAssignment.ReadWrite.All"]
    }));
    let answer = reqwest::Client::new()
        .patch(format!("{}/v1.0/servicePrincipals(appId='{PAYROLL}')", emulator.base_url()))
        .bearer_auth(&other_app)
        .json(&json!({ "customSecurityAttributes": { "Security": {
            "@odata.type": "#microsoft.graph.customSecurityAttributeValue",
            "Clearance": "Public"
        } } }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 204, "{}", answer.text().await.unwrap());

    let (code, json, stderr) = drift_plan(&emulator, "json", &["--explain"], TOOL).await;
    assert_eq!(code, 2, "{json}{stderr}");
    let plan: Value = serde_json::from_str(&json).unwrap();
    let address = format!("servicePrincipal:{PAYROLL}/Security.Clearance");
    let drift = plan["drift"].as_array().unwrap().iter().find(|drift| drift["address"] == address).unwrap();
    let entries = drift["explanation"]["entries"].as_array().unwrap();
    assert_eq!(entries[0]["initiatedBy"]["kind"], "app");
    assert_eq!(entries[0]["initiatedBy"]["displayName"], "HR sync");
    assert_eq!(entries[0]["initiatedBy"]["appId"], "22222222-0000-0000-0000-000000000002");
    assert_eq!(entries[0]["activity"], "Update attribute values assigned to a servicePrincipal");
    // Before it, the tool's own apply assigned the value the files give.
    assert_eq!(entries[1]["initiatedBy"]["displayName"], "entra-csa emulator client");
    assert_eq!(entries[1]["changes"][0]["newValue"], r#"["Restricted"]"#);

    let (_, text, _) = drift_plan(&emulator, "text", &["--explain"], TOOL).await;
    assert!(text.contains("by app HR sync (appId 22222222-0000-0000-0000-000000000002)"), "{text}");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn since_bounds_the_window_on_the_server() {
    let emulator = applied().await;
    let long_ago = (time::OffsetDateTime::now_utc() - time::Duration::days(30))
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    change_alice(&emulator, "Alpine", mallory(), Some(&long_ago)).await;

    let (code, text, _) = drift_plan(&emulator, "text", &["--explain"], TOOL).await;
    assert_eq!(code, 2);
    let finding =
        text.lines().position(|line| line.contains(&format!("? assignment {ALICE_PROJECT}"))).unwrap();
    // 30 days ago is outside the default 7 days: only the tool's own apply shows.
    let explanation = text.lines().nth(finding + 1).unwrap();
    assert!(explanation.contains("by app entra-csa emulator client"), "{text}");
    assert!(!text.contains("mallory"), "{text}");
    let reads: Vec<String> = emulator
        .requests()
        .into_iter()
        .filter(|request| request.path == "/beta/auditLogs/customSecurityAttributeAudits")
        .filter_map(|request| request.query)
        .collect();
    assert_eq!(reads.len(), 1, "one read of the window: {reads:?}");
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(reads[0].as_bytes()).into_owned().collect();
    assert!(
        query.iter().any(|(key, value)| key == "$filter" && value.starts_with("activityDateTime ge ")),
        "filtered on the server: {query:?}"
    );

    let (_, text, _) = drift_plan(&emulator, "text", &["--explain", "--since", "60d"], TOOL).await;
    // Within 60 days: Mallory's change too, after the tool's own (newer) apply.
    let finding =
        text.lines().position(|line| line.contains(&format!("? assignment {ALICE_PROJECT}"))).unwrap();
    assert!(
        text.lines()
            .nth(finding + 2)
            .unwrap()
            .contains(&format!("changed {long_ago} by user mallory@contoso.com")),
        "{text}"
    );
    emulator.shutdown().await;
}

/// Hundreds of changes in the window: the read pages at 100 and costs one
/// request per page of entries, whatever the number of findings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_costs_a_request_per_hundred_entries_in_the_window() {
    let emulator = applied().await;
    let changes = 250;
    for round in 0..changes {
        let value = if round % 2 == 0 { "Alpine" } else { "Baker" };
        change_alice(&emulator, value, mallory(), None).await;
    }
    let entries = emulator_audit_count(&emulator).await;
    assert!(entries > changes, "the apply's entries and the {changes} changes: {entries}");
    let before = audit_reads(&emulator);
    let (code, text, _) = drift_plan(&emulator, "text", &["--explain"], TOOL).await;
    assert_eq!(code, 2, "{text}");
    let pages = audit_reads(&emulator) - before;
    assert_eq!(pages, entries.div_ceil(100), "{entries} entries");
    assert!(text.contains(&format!("({entries} entries read in {pages} request(s))")), "{text}");
    // The apply's entry and the changes, of which the newest three are shown.
    assert!(text.contains(&format!("and {} earlier change(s) in the audit log", changes + 1 - 3)), "{text}");
    emulator.shutdown().await;
}

fn audit_reads(emulator: &RunningEmulator) -> usize {
    emulator.requests().iter().filter(|request| request.path.starts_with("/beta/auditLogs/")).count()
}

/// How many entries the log holds, read page by page over HTTP.
async fn emulator_audit_count(emulator: &RunningEmulator) -> usize {
    let client = reqwest::Client::new();
    let mut next = Some(format!("{}/beta/auditLogs/customSecurityAttributeAudits", emulator.base_url()));
    let mut count = 0;
    while let Some(url) = next.take() {
        let page: Value = client.get(url).bearer_auth("reader").send().await.unwrap().json().await.unwrap();
        count += page["value"].as_array().unwrap().len();
        next = page["@odata.nextLink"].as_str().map(str::to_owned);
    }
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_audit_log_leaves_the_plan_working_with_a_note() {
    let emulator = applied().await;
    change_alice(&emulator, "Alpine", mallory(), None).await;
    // A reader that may read everything the plan needs, but not the log.
    let reader = jwt(json!({
        "appid": "33333333-0000-0000-0000-000000000003",
        "roles": [
            "CustomSecAttributeDefinition.Read.All", "CustomSecAttributeAssignment.Read.All",
            "Policy.Read.All", "LifecycleWorkflows.Read.All"
        ]
    }));
    for format in ["text", "markdown", "json"] {
        let (code, out, stderr) = drift_plan(&emulator, format, &["--explain"], &reader).await;
        assert_eq!(code, 2, "the drift still counts: {out}{stderr}");
        assert!(out.contains(ALICE_PROJECT), "{out}");
        assert!(
            out.contains("refused to read the custom security attribute audit log (403)"),
            "{format}: {out}"
        );
        assert!(out.contains("CustomSecAttributeAuditLogs.Read.All"), "{out}");
        assert!(!out.contains("mallory"), "{format}: nothing is explained: {out}");
    }
    let refused = emulator
        .requests()
        .iter()
        .filter(|request| request.path.starts_with("/beta/auditLogs/") && request.status == 403)
        .count();
    assert_eq!(refused, 3, "one refused read per plan");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_beta_that_refuses_everything_or_a_state_file_is_a_note_too() {
    let emulator =
        emulator(EmulatorConfig { seed_state: contoso_seed(), refuse_beta: true, ..Default::default() })
            .await;
    let (code, text, stderr) = drift_plan(&emulator, "text", &["--explain"], TOOL).await;
    assert_eq!(code, 2, "{text}{stderr}");
    assert!(
        text.contains(
            "plan --explain: Microsoft Graph refused to read the custom security attribute audit log"
        ),
        "{text}"
    );
    emulator.shutdown().await;

    let folder = tempfile::tempdir().unwrap();
    std::fs::copy(repo("examples/contoso-live.json"), folder.path().join("tenant.json")).unwrap();
    let output = entra_csa()
        .current_dir(folder.path())
        .arg("plan")
        .arg("-f")
        .arg(repo("examples/contoso.yaml"))
        .args(["--state", "tenant.json", "--drift", "--explain", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let plan: Value = serde_json::from_slice(&output.stdout).unwrap();
    let notes = plan["notes"].to_string();
    assert!(notes.contains("plan --explain: a state file keeps no audit log"), "{notes}");
}

/// A plain plan (no `--drift`) that reports drift explains it too: an
/// attribute someone added in the portal is named with who added it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_plan_explains_an_attribute_added_behind_the_files_back() {
    let emulator = applied().await;
    let status = emulator
        .write_as(
            Some(mallory()),
            "POST",
            "/v1.0/directory/customSecurityAttributeDefinitions",
            json!({
                "attributeSet": "Engineering", "name": "Shadow", "description": "made in the portal",
                "type": "String", "isCollection": false, "isSearchable": true, "status": "Available",
                "usePreDefinedValuesOnly": false
            }),
        )
        .unwrap();
    assert_eq!(status, 201);
    let example = repo("examples/contoso.yaml").display().to_string();
    let url = emulator.base_url();
    let (code, text, stderr) = run_cli(
        args(&["plan", "-f", &example, "--graph-url", &url, "--explain", "--detailed-exitcode"]),
        TOOL,
    )
    .await;
    assert_eq!(code, 2, "{text}{stderr}");
    let finding = text
        .lines()
        .position(|line| {
            line.contains("? attribute Engineering.Shadow: exists in the tenant but is not declared")
        })
        .unwrap_or_else(|| panic!("{text}"));
    let explanation = text.lines().nth(finding + 1).unwrap();
    assert!(
        explanation.contains(
            "by user mallory@contoso.com (Add custom security attribute definition in an attribute set)"
        ),
        "{text}"
    );
    assert!(explanation.contains("Description (none) → [\"made in the portal\"]"), "{explanation}");
    emulator.shutdown().await;
}

/// More entries in the window than the read's 50 pages: it stops there and
/// says so, and the plan still explains what it read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_past_fifty_pages_is_read_up_to_the_cap_with_a_note() {
    // Pages of 2, so that 50 pages are 100 entries.
    let emulator =
        emulator(EmulatorConfig { seed_state: contoso_seed(), page_size: 2, ..Default::default() }).await;
    let example = repo("examples/contoso.yaml").display().to_string();
    let url = emulator.base_url();
    let (code, stdout, stderr) =
        run_cli(args(&["apply", "-f", &example, "--graph-url", &url, "--auto-approve"]), TOOL).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    for round in 0..101 {
        let value = if round % 2 == 0 { "Alpine" } else { "Baker" };
        let body = json!({ "customSecurityAttributes": { "Engineering": {
            "@odata.type": "#microsoft.graph.customSecurityAttributeValue",
            "Project@odata.type": "#Collection(String)",
            "Project": [value]
        } } });
        assert_eq!(
            emulator.write_as(Some(mallory()), "PATCH", "/v1.0/users/alice@contoso.com", body),
            Ok(204)
        );
    }
    let before = audit_reads(&emulator);
    let (code, text, stderr) = drift_plan(&emulator, "text", &["--explain"], TOOL).await;
    assert_eq!(code, 2, "{text}{stderr}");
    assert_eq!(audit_reads(&emulator) - before, 50, "the cap");
    assert!(text.contains("than the 50 pages read (100 entries)"), "{text}");
    assert!(text.contains("by user mallory@contoso.com"), "the newest were read: {text}");
    emulator.shutdown().await;
}
