//! `entra-csa report`: who holds what. The same generated tenant (with an
//! agent identity, an agent user, and names that need CSV quoting) is
//! reported from a state file and through the emulator (paged small, so
//! the stream crosses many pages), and the two are compared field by field;
//! the rows are then folded back into each principal's values and compared
//! with the tenant, so a dropped or doubled value fails. Filters, typos and
//! values the tool does not understand are covered too.

use std::collections::BTreeMap;

use entra_csa::emulator::EmulatorConfig;
use entra_csa::graph::wire::TenantDocument;
use entra_csa::model::live::LiveState;
use entra_csa::model::synthetic::{Shape, generate};
use entra_csa::model::{AttributeValue, PrincipalKind};
use serde_json::Value;

use crate::graph_support::*;

const TOKEN: &str = "report-sentinel-token";

/// A generated tenant of a few hundred principals; one service principal
/// is an agent identity, one user an agent user, and one display name holds
/// a comma and a quote.
fn tenant() -> LiveState {
    let shape =
        Shape { users: 300, service_principals: 40, differing_share: 0.0, seed: 21, ..Shape::default() };
    let mut live = generate(&shape).live;
    let mut users = live.principals.values_mut().filter(|principal| principal.kind == PrincipalKind::User);
    let first = users.next().unwrap();
    first.odata_type = Some("#microsoft.graph.agentUser".into());
    first.display_name = Some("Travel, \"the\" agent".into());
    let agent =
        live.principals.values_mut().find(|principal| principal.kind == PrincipalKind::ServicePrincipal);
    agent.unwrap().odata_type = Some("#microsoft.graph.agentIdentity".into());
    live
}

fn state_file(live: &LiveState) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    let text = serde_json::to_string_pretty(&TenantDocument::from_live_state(live)).unwrap();
    std::fs::write(file.path(), text).unwrap();
    file
}

fn args(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|part| (*part).to_owned()).collect()
}

/// The report's JSON rows sorted (Graph's order and a state file's differ).
fn sorted_rows(json: &Value) -> Vec<Value> {
    let mut rows = json["rows"].as_array().expect("rows").clone();
    rows.sort_by_key(|row| row.to_string());
    rows
}

/// (kind, id) → (set, attribute) → the values held, sorted.
type Holdings = BTreeMap<(String, String), BTreeMap<(String, String), Vec<Value>>>;

/// The rows folded back into principal → set → attribute → values.
fn fold(rows: &[Value]) -> Holdings {
    let mut held: BTreeMap<_, BTreeMap<_, Vec<Value>>> = BTreeMap::new();
    for row in rows {
        let principal = (row["kind"].as_str().unwrap().to_owned(), row["id"].as_str().unwrap().to_owned());
        let attribute =
            (row["set"].as_str().unwrap().to_owned(), row["attribute"].as_str().unwrap().to_owned());
        held.entry(principal).or_default().entry(attribute).or_default().push(row["value"].clone());
    }
    held
}

/// What the tenant holds, in the same shape as `fold`.
fn expected(live: &LiveState) -> Holdings {
    let mut held: BTreeMap<_, BTreeMap<_, Vec<Value>>> = BTreeMap::new();
    for principal in live.principals.values() {
        let Some(sets) = &principal.custom_security_attributes else { continue };
        for (set, values) in sets.iter() {
            for (attribute, value) in values.iter() {
                let members: Vec<Value> = match value {
                    AttributeValue::Boolean(value) => vec![Value::from(*value)],
                    AttributeValue::Integer(value) => vec![Value::from(*value)],
                    AttributeValue::String(value) => vec![Value::from(value.as_str())],
                    AttributeValue::Integers(values) => {
                        values.iter().map(|value| Value::from(*value)).collect()
                    }
                    AttributeValue::Strings(values) => {
                        values.iter().map(|value| Value::from(value.as_str())).collect()
                    }
                };
                let mut members = members;
                members.sort_by_key(Value::to_string);
                held.entry((principal.kind.as_str().to_owned(), principal.object_id.clone()))
                    .or_default()
                    .insert((set.clone(), attribute.clone()), members);
            }
        }
    }
    held
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_from_a_state_file_and_through_graph_agree_field_by_field_and_hold_every_value() {
    let live = tenant();
    let file = state_file(&live);
    let state = file.path().to_str().unwrap();
    let emulator = emulator(EmulatorConfig {
        seed_state: seed_of(&TenantDocument::from_live_state(&live)),
        page_size: 37,
        ..Default::default()
    })
    .await;
    let url = emulator.base_url();

    let (code, from_file, stderr) =
        run_cli(args(&["report", "--format", "json", "--state", state]), TOKEN).await;
    assert_eq!(code, 0, "{stderr}");
    let (code, from_graph, stderr) =
        run_cli(args(&["report", "--format", "json", "--graph-url", &url]), TOKEN).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(!from_graph.contains(TOKEN) && !stderr.contains(TOKEN));
    let (from_file, from_graph): (Value, Value) =
        (serde_json::from_str(&from_file).unwrap(), serde_json::from_str(&from_graph).unwrap());
    assert_eq!(from_file["formatVersion"], 1);

    let (file_rows, graph_rows) = (sorted_rows(&from_file), sorted_rows(&from_graph));
    assert_eq!(file_rows.len(), graph_rows.len());
    for (file_row, graph_row) in file_rows.iter().zip(&graph_rows) {
        let fields = file_row.as_object().unwrap();
        assert_eq!(fields.len(), 11, "{file_row}");
        for (field, value) in fields {
            assert_eq!(&graph_row[field], value, "field `{field}` of {file_row}");
        }
    }
    assert_eq!(from_file["summary"], from_graph["summary"]);

    // Every value of every principal, once; nothing else.
    let mut folded = fold(&graph_rows);
    for attributes in folded.values_mut() {
        for members in attributes.values_mut() {
            members.sort_by_key(Value::to_string);
        }
    }
    assert_eq!(folded, expected(&live));

    // The agents keep their derived types; the summary counts each kind.
    let agent_rows = |kind: &str| graph_rows.iter().filter(|row| row["objectType"] == kind).count();
    assert!(agent_rows("agentUser") > 0 && agent_rows("agentIdentity") > 0);
    for summary in from_graph["summary"].as_array().unwrap() {
        let holders = |kind: &str| {
            graph_rows
                .iter()
                .filter(|row| {
                    row["kind"] == kind
                        && row["set"] == summary["set"]
                        && row["attribute"] == summary["attribute"]
                        && row["value"] == summary["value"]
                })
                .count()
        };
        assert_eq!(summary["users"], holders("user"), "{summary}");
        assert_eq!(summary["servicePrincipals"], holders("servicePrincipal"), "{summary}");
    }

    // Through Graph the report is the sets, the definitions, and the pages
    // of users and service principals: no principal is read twice.
    let requests = emulator.requests();
    let pages = |total: usize| total.div_ceil(37);
    let users = live.principals.keys().filter(|id| id.kind == PrincipalKind::User).count();
    let service_principals = live.principals.len() - users;
    let principal_reads = requests
        .iter()
        .filter(|request| request.path.ends_with("/users") || request.path.ends_with("/servicePrincipals"))
        .count();
    assert_eq!(principal_reads, pages(users) + pages(service_principals), "{requests:#?}");
    assert!(requests.iter().all(|request| request.method == "GET"), "{requests:#?}");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csv_of_a_state_file_matches_its_json_row_for_row() {
    let live = tenant();
    let file = state_file(&live);
    let state = file.path().to_str().unwrap();
    let (code, csv, stderr) = run_cli(args(&["report", "--state", state]), TOKEN).await;
    assert_eq!(code, 0, "{stderr}");
    let (_, json, _) = run_cli(args(&["report", "--format", "json", "--state", state]), TOKEN).await;
    let json: Value = serde_json::from_str(&json).unwrap();
    let mut reader = csv_records(&csv);
    let header = reader.remove(0);
    assert_eq!(
        header.join(","),
        "kind,objectType,id,userPrincipalName,appId,displayName,set,attribute,valueType,collection,value"
    );
    let rows = json["rows"].as_array().unwrap();
    assert_eq!(reader.len(), rows.len());
    for (record, row) in reader.iter().zip(rows) {
        for (field, cell) in header.iter().zip(record) {
            let expected = match &row[field.as_str()] {
                Value::Null => String::new(),
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            assert_eq!(cell, &expected, "{field} of {row}");
        }
    }
    assert!(csv.contains("\"Travel, \"\"the\"\" agent\""), "the display name is quoted");
}

/// A small RFC 4180 reader for the test: quoted cells, doubled quotes, CRLF.
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let (mut record, mut cell, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(char) = chars.next() {
        match (quoted, char) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, other) => cell.push(other),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut cell));
                records.push(std::mem::take(&mut record));
            }
            (false, other) => cell.push(other),
        }
    }
    records
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_narrow_the_report_and_a_misspelt_name_is_an_error_with_a_suggestion() {
    let contoso = repo("examples/contoso-live.json");
    let state = contoso.to_str().unwrap();
    let (code, stdout, stderr) = run_cli(
        args(&["report", "--state", state, "--set", "Marketing", "--attribute", "Engineering.Project"]),
        TOKEN,
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    let records = csv_records(&stdout);
    assert!(records.len() > 2, "{stdout}");
    for record in &records[1..] {
        assert!(
            record[6] == "Marketing" || (record[6] == "Engineering" && record[7] == "Project"),
            "{record:?}"
        );
    }
    assert!(records.iter().any(|record| record[6] == "Marketing"));
    assert!(records.iter().any(|record| record[7] == "Project"));

    let (code, stdout, stderr) =
        run_cli(args(&["report", "--state", state, "--attribute", "Engineering.Projct"]), TOKEN).await;
    assert_eq!(code, 1);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("did you mean `Engineering.Project`?"), "{stderr}");
    let (code, _, stderr) = run_cli(args(&["report", "--state", state, "--set", "Marketting"]), TOKEN).await;
    assert_eq!(code, 1);
    assert!(stderr.contains("did you mean `Marketing`?"), "{stderr}");
    let (code, _, stderr) =
        run_cli(args(&["report", "--state", state, "--attribute", "Engineering"]), TOKEN).await;
    assert_eq!(code, 1);
    assert!(stderr.contains("expected SET.ATTRIBUTE"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_alone_counts_users_and_apps_per_value_and_can_go_to_a_file() {
    let live = tenant();
    let file = state_file(&live);
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("summary.csv");
    let (code, stdout, stderr) = run_cli(
        args(&[
            "report",
            "--summary",
            "--state",
            file.path().to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
        ]),
        TOKEN,
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("Wrote 0 row(s) for 340 principal(s)"), "{stderr}");
    let records = csv_records(&std::fs::read_to_string(&output).unwrap());
    assert_eq!(records[0].join(","), "set,attribute,valueType,value,users,servicePrincipals");
    let mut users = 0;
    let mut service_principals = 0;
    for record in &records[1..] {
        users += record[4].parse::<usize>().unwrap();
        service_principals += record[5].parse::<usize>().unwrap();
    }
    let members = |kind: PrincipalKind| -> usize {
        expected(&live)
            .iter()
            .filter(|((held_kind, _), _)| held_kind == kind.as_str())
            .flat_map(|(_, attributes)| attributes.values())
            .map(Vec::len)
            .sum()
    };
    assert_eq!(users, members(PrincipalKind::User));
    assert_eq!(service_principals, members(PrincipalKind::ServicePrincipal));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_the_tool_does_not_understand_is_named_and_left_out() {
    let mut seed = contoso_seed();
    let alice =
        seed.users.iter_mut().find(|user| user.user_principal_name.as_deref() == Some("alice@contoso.com"));
    let sets = alice.unwrap().custom_security_attributes.get_or_insert_with(Default::default);
    sets.insert(
        "Engineering".into(),
        serde_json::json!({
            "@odata.type": "#microsoft.graph.customSecurityAttributeValue",
            "Badge@odata.type": "#Int64",
            "Badge": 5_000_000_000_i64
        }),
    );
    let emulator = emulator(EmulatorConfig { seed_state: seed, ..Default::default() }).await;
    let (code, stdout, stderr) =
        run_cli(args(&["report", "--format", "json", "--graph-url", &emulator.base_url()]), TOKEN).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("does not understand") && stderr.contains("Engineering.Badge"), "{stderr}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    assert!(json["rows"].as_array().unwrap().iter().all(|row| row["attribute"] != "Badge"));
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_that_cannot_read_values_gets_a_warning_not_a_silently_empty_report() {
    let emulator = emulator(EmulatorConfig { seed_state: contoso_seed(), ..Default::default() }).await;
    let definitions_only = jwt(serde_json::json!({ "roles": ["CustomSecAttributeDefinition.Read.All"] }));
    let (code, stdout, stderr) =
        run_cli(args(&["report", "--graph-url", &emulator.base_url()]), &definitions_only).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(csv_records(&stdout).len(), 1, "only the header: {stdout}");
    assert!(stderr.contains("CustomSecAttributeAssignment.Read.All"), "{stderr}");

    let (_, _, stderr) = run_cli(args(&["report", "--graph-url", &emulator.base_url()]), TOKEN).await;
    assert!(!stderr.contains("warning"), "a sign-in that reads values gets no warning: {stderr}");
    emulator.shutdown().await;
}

/// Runs `report` with `extra` flags against an emulator paged small and
/// slow, stops the emulator once the report has read a few pages of users
/// (rows are written by then), and returns the exit code and stdout.
async fn report_cut_short(extra: &[&str]) -> (i32, String, String) {
    let seed = seed_of(&TenantDocument::from_live_state(&tenant()));
    let config = EmulatorConfig {
        seed_state: seed,
        page_size: 7,
        latency: std::time::Duration::from_millis(150),
        ..Default::default()
    };
    let emulator = emulator(config).await;
    let mut command = entra_csa();
    command
        .env("ENTRA_CSA_ACCESS_TOKEN", TOKEN)
        .env("ENTRA_CSA_RETRY_SCALE", "0.001")
        .env("ENTRA_CSA_SWEEP_PARTITIONS", "1")
        .args(["report", "--format", "json", "--graph-url", &emulator.base_url()])
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().unwrap();
    let pages_of_users = |emulator: &entra_csa::emulator::RunningEmulator| {
        emulator
            .stats()
            .by_path
            .iter()
            .filter(|(path, _)| path.ends_with("/users"))
            .map(|(_, n)| *n)
            .sum::<u64>()
    };
    while pages_of_users(&emulator) < 3 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    emulator.shutdown().await;
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()).await.unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A report that fails midway (Graph goes away after pages of rows were
/// written) leaves nothing on stdout that could be taken for a report,
/// and no file at `-o`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_that_fails_midway_leaves_no_partial_document() {
    let (code, stdout, stderr) = report_cut_short(&[]).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty(), "a failed report wrote to stdout: {}", &stdout[..stdout.len().min(300)]);

    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("report.json");
    let path_text = path.display().to_string();
    let (code, _, stderr) = report_cut_short(&["-o", &path_text]).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(!path.exists(), "a failed report left {path_text}");
    let leftovers: Vec<_> = std::fs::read_dir(folder.path()).unwrap().collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// A value whose type disagrees with its definition (`"8"` for an Integer),
/// or whose definition the read did not return, is named and left out of
/// the report, as a plan sets it aside; from Graph and from a state file alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_unlike_its_definition_or_without_one_is_named_and_left_out() {
    let mut seed = contoso_seed();
    seed.custom_security_attribute_definitions.push(
        serde_json::from_value(serde_json::json!({
            "id": "Engineering_Level", "attributeSet": "Engineering", "name": "Level", "type": "Integer",
            "isCollection": false, "isSearchable": true, "status": "Available", "usePreDefinedValuesOnly": false
        }))
        .unwrap(),
    );
    let alice =
        seed.users.iter_mut().find(|user| user.user_principal_name.as_deref() == Some("alice@contoso.com"));
    let sets = alice.unwrap().custom_security_attributes.get_or_insert_with(Default::default);
    let engineering = sets["Engineering"].as_object_mut().unwrap();
    engineering.insert("Level".into(), serde_json::json!("8"));
    engineering.insert("Unlisted".into(), serde_json::json!("kept"));
    let folder = tempfile::tempdir().unwrap();
    let state = folder.path().join("tenant.json");
    std::fs::write(&state, serde_json::to_string(&seed).unwrap()).unwrap();
    let emulator = emulator(EmulatorConfig { seed_state: seed, ..Default::default() }).await;
    let (url, state) = (emulator.base_url(), state.display().to_string());
    for target in [["--graph-url", url.as_str()], ["--state", state.as_str()]] {
        let mut parts = vec!["report", "--format", "json"];
        parts.extend(target);
        let (code, stdout, stderr) = run_cli(args(&parts), TOKEN).await;
        assert_eq!(code, 0, "{stderr}");
        assert!(
            stderr
                .contains("holds the string `\"8\"`, where the attribute is an Integer in Engineering.Level"),
            "{target:?}: {stderr}"
        );
        assert!(
            stderr.contains("whose definition the read did not return in Engineering.Unlisted"),
            "{stderr}"
        );
        let json: Value = serde_json::from_str(&stdout).unwrap();
        let rows = json["rows"].as_array().unwrap();
        assert!(rows.iter().any(|row| row["attribute"] == "Project"), "alice's other values stay");
        assert!(rows.iter().all(|row| row["attribute"] != "Level" && row["attribute"] != "Unlisted"));
    }
    emulator.shutdown().await;
}
