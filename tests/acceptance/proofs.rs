//! What the suite proves, one test per claim, each in its own turn with the
//! tenant (`Session`): it starts from the sandbox at rest, moves it through
//! scenes of the fixed pool, and leaves it at rest with the test principals
//! as it found them.

use std::collections::BTreeSet;

use entra_csa::graph::batch::BatchRequest;
use entra_csa::graph::retry::RetryPolicy;
use reqwest::Method;
use serde_json::{Value, json};

use crate::sandbox::{self, RESTING_SET_DESCRIPTION, Scene, Values};
use crate::session::{self, NEEDED_ROLES, Session};

fn values(pairs: Value) -> Values {
    pairs.as_object().unwrap().clone().into_iter().collect()
}

/// Descriptions by the run, a definition deprecated, values deactivated,
/// every type assigned.
pub fn first_scene() -> Scene {
    Scene {
        set_described_by_run: true,
        described_by_run: ["Text", "Number"].into(),
        deprecated: ["Retired"].into(),
        inactive: [("Choice", "Charlie"), ("ChoiceList", "Charlie"), ("Suggested", "Bravo")].into(),
        users: vec![
            values(json!({
                "Text": "first scene", "TextList": ["a", "b"], "Choice": "Alpha", "ChoiceList": ["Alpha", "Bravo"],
                "Suggested": "typed freely", "Number": 7, "NumberList": [1, 2], "Flag": true,
            })),
            values(json!({ "Flag": false, "Number": -3 })),
        ],
        service_principal: values(json!({ "TextList": ["sp"], "Choice": "Bravo" })),
    }
}

/// From the first scene: descriptions back, the definition and two values
/// reactivated, values updated and unassigned, one reactivated value assigned.
pub fn second_scene() -> Scene {
    Scene {
        set_described_by_run: false,
        described_by_run: ["Number"].into(),
        deprecated: BTreeSet::new(),
        inactive: [("Suggested", "Bravo")].into(),
        users: vec![
            values(json!({ "Text": "second scene", "ChoiceList": ["Charlie"], "Number": 8 })),
            Values::new(),
        ],
        service_principal: values(json!({ "Choice": "Charlie" })),
    }
}

/// Collections sorted, so values compare whatever order Graph keeps.
fn normalised(values: &Values) -> Values {
    values.iter().map(|(name, value)| (name.clone(), session::sorted(value))).collect()
}

/// What the binary applied, read back with the library: statuses, active
/// values and every principal's values are the scene's.
pub fn assert_tenant_holds(session: &Session, scene: &Scene) {
    let live = session.read();
    let set = session.set();
    for pooled in &sandbox::POOL {
        let definition = live
            .definitions
            .values()
            .find(|definition| {
                definition.attribute_set.eq_ignore_ascii_case(set) && definition.name == pooled.name
            })
            .unwrap_or_else(|| panic!("{} is in the tenant", pooled.name));
        let deprecated = definition.status == entra_csa::model::Status::Deprecated;
        assert_eq!(deprecated, scene.deprecated.contains(pooled.name), "{}", pooled.name);
        for value in &definition.allowed_values {
            let inactive = scene.inactive.iter().any(|(name, id)| *name == pooled.name && *id == value.id);
            assert_eq!(value.is_active, !inactive, "{}={}", pooled.name, value.id);
        }
    }
    for (user, wanted) in session.users.iter().zip(&scene.users) {
        let found = live.principals.get(&user.id()).unwrap();
        assert_eq!(
            normalised(&sandbox::sandbox_values(found, set)),
            normalised(wanted),
            "{:?}",
            user.user_principal_name
        );
    }
    let found = live.principals.get(&session.service_principal.id()).unwrap();
    assert_eq!(normalised(&sandbox::sandbox_values(found, set)), normalised(&scene.service_principal));
}

#[test]
fn plan_apply_plan_converges_for_every_change_kind() {
    let mut session = Session::begin("converges");
    let resting = session.resting.clone();
    let mut applied = BTreeSet::new();
    for scene in [first_scene(), second_scene(), resting.clone()] {
        applied.extend(session.converge(&scene));
        assert_tenant_holds(&session, &scene);
    }
    // `create` happens once in a tenant's life: when `begin` first makes the pool.
    for (action, kind) in [
        ("update", "attributeSet"),
        ("update", "definition"),
        ("deactivate", "definition"),
        ("reactivate", "definition"),
        ("deactivate", "allowedValue"),
        ("reactivate", "allowedValue"),
        ("assign", "assignment"),
        ("update", "assignment"),
        ("unassign", "assignment"),
    ] {
        assert!(
            applied.contains(&(action.to_owned(), kind.to_owned())),
            "no {action} of a {kind} in {applied:?}"
        );
    }
    session.finish();
}

#[test]
fn the_documented_annotation_shapes_read_back_as_written() {
    let mut session = Session::begin("annotations");
    let user = session.users[0].clone();
    // Microsoft's examples, one member per type (C-EX).
    session.patch_values(
        &user,
        json!({
            "Text": "2022-10-01",
            "Number@odata.type": "#Int32", "Number": 4,
            "Flag": true,
            "TextList@odata.type": "#Collection(String)", "TextList": ["Baker", "Cascade"],
            "NumberList@odata.type": "#Collection(Int32)", "NumberList": [1001, 1003],
            "ChoiceList@odata.type": "#Collection(String)", "ChoiceList": ["Alpha", "Charlie"],
        }),
    );
    let read = session
        .raw(Method::GET, &format!("{}?$select=customSecurityAttributes", Session::path_of(&user)), None)
        .unwrap();
    let set = &read.body["customSecurityAttributes"][session.set()];
    assert_eq!(set["@odata.type"], "#microsoft.graph.customSecurityAttributeValue", "{set:#}");
    assert_eq!(set["Text"], "2022-10-01");
    assert_eq!(set["Number"], 4, "single integers read back as numbers (with or without #Int32)");
    assert_eq!(set["Flag"], true);
    let sorted = |value: &Value| {
        let mut items = value.as_array().unwrap_or_else(|| panic!("a collection: {value}")).clone();
        items.sort_by_key(Value::to_string);
        items
    };
    assert_eq!(sorted(&set["TextList"]), [json!("Baker"), json!("Cascade")]);
    assert_eq!(set["TextList@odata.type"], "#Collection(String)");
    assert_eq!(sorted(&set["NumberList"]), [json!(1001), json!(1003)]);
    assert_eq!(set["NumberList@odata.type"], "#Collection(Int32)");
    assert_eq!(sorted(&set["ChoiceList"]), [json!("Alpha"), json!("Charlie")]);

    // The tool reads them back as the same values: files declaring them plan nothing.
    let mut declared = session.resting.clone();
    declared.users[0] = values(json!({
        "Text": "2022-10-01", "Number": 4, "Flag": true, "TextList": ["Baker", "Cascade"],
        "NumberList": [1001, 1003], "ChoiceList": ["Alpha", "Charlie"],
    }));
    let folder = session.write_scene(&declared);
    let plan = session.plan(&folder);
    assert_eq!(plan["changes"], json!([]), "{plan:#}");

    // Microsoft's removal shapes: `null` for single values, `[]` for collections.
    session.patch_values(
        &user,
        json!({ "Text": null, "Number": null, "Flag": null, "TextList": [], "NumberList": [], "ChoiceList": [] }),
    );
    let read = session
        .raw(Method::GET, &format!("{}?$select=customSecurityAttributes", Session::path_of(&user)), None)
        .unwrap();
    let left: Vec<&String> = read.body["customSecurityAttributes"][session.set()]
        .as_object()
        .map(|set| set.keys().filter(|key| !key.contains('@')).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "removed values are gone: {left:?}");
    session.finish();
}

#[test]
fn batched_writes_succeed_and_every_item_status_is_read() {
    let session = Session::begin("batch");
    let set = session.set().to_owned();
    let body = |members: Value| {
        let mut values =
            json!({ "@odata.type": "#Microsoft.DirectoryServices.CustomSecurityAttributeValue" });
        values.as_object_mut().unwrap().extend(members.as_object().unwrap().clone());
        json!({ "customSecurityAttributes": { &set: values } })
    };
    let (one, two, service) = (&session.users[0], &session.users[1], &session.service_principal);
    let requests = vec![
        BatchRequest::patch("1", format!("/{}", Session::path_of(one)), body(json!({ "Text": "batched" }))),
        BatchRequest::patch(
            "2",
            format!("/{}", Session::path_of(service)),
            body(
                json!({ "ChoiceList@odata.type": "#Collection(String)", "ChoiceList": ["Alpha", "Charlie"] }),
            ),
        ),
        // Not an allowed value of a predefined-only attribute: refused, the others stand.
        BatchRequest::patch(
            "3",
            format!("/{}", Session::path_of(two)),
            body(json!({ "Choice": "NotInThePool" })),
        ),
        BatchRequest::get("4", format!("/directory/customSecurityAttributeDefinitions/{set}_Choice")),
        BatchRequest::get("5", format!("/directory/customSecurityAttributeDefinitions/{set}_NotInThePool")),
    ];
    let client = session.tenant.client();
    let answers = session.block_on(client.batch(requests, RetryPolicy::default(), &|_, _| false));
    let status = |id: &str| {
        let (_, answer) = answers.iter().find(|(request, _)| request.id == id).unwrap();
        answer.as_ref().unwrap_or_else(|error| panic!("item {id}: {error}")).clone()
    };
    assert_eq!(status("1").status, 204);
    assert_eq!(status("2").status, 204);
    let refused = status("3");
    assert!((400..500).contains(&refused.status) && refused.status != 404, "{refused:?}");
    assert!(refused.error().0.is_some(), "a refused item carries Graph's error code: {refused:?}");
    let definition = status("4");
    assert_eq!(definition.status, 200);
    assert_eq!(definition.body.as_ref().unwrap()["name"], "Choice");
    assert_eq!(status("5").status, 404);

    let landed = session.eventually("the batched writes", || {
        let live = session.read();
        let held = |principal: &entra_csa::model::live::LivePrincipal| {
            sandbox::sandbox_values(live.principals.get(&principal.id()).unwrap(), &set)
        };
        held(one).get("Text") == Some(&json!("batched"))
            && held(service).get("ChoiceList") == Some(&json!(["Alpha", "Charlie"]))
    });
    assert!(landed, "the batched writes read back");
    let live = session.read();
    let choice = sandbox::sandbox_values(live.principals.get(&two.id()).unwrap(), &set);
    assert_eq!(choice.get("Choice"), None, "the refused item changed nothing");
    session.finish();
}

/// Pages of `relative` with `$top` small, through the client's paging;
/// (items, page lengths).
fn pages_of(session: &Session, relative: &str) -> (Vec<Value>, Vec<usize>) {
    let client = session.tenant.client();
    let mut lengths = Vec::new();
    let items =
        session.block_on(client.all_pages(client.url(relative), |length| lengths.push(length))).unwrap();
    (items, lengths)
}

fn ids(items: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = items.iter().map(|item| item["id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    ids
}

#[test]
fn sets_definitions_and_principals_page_with_a_small_top() {
    let session = Session::begin("paging");
    let set = session.set().to_owned();

    let (whole, _) = pages_of(&session, "directory/attributeSets");
    let (paged, lengths) = pages_of(&session, "directory/attributeSets?$top=1");
    assert_eq!(ids(&paged), ids(&whole));
    assert!(lengths.iter().all(|length| *length <= 1) && lengths.len() >= whole.len(), "{lengths:?}");
    if session.suite.settings.is_emulator() {
        assert!(whole.len() >= 4, "the emulator's tenant holds other teams' sets too");
    }

    let filter = format!("$filter=attributeSet eq '{set}'");
    let (paged, lengths) =
        pages_of(&session, &format!("directory/customSecurityAttributeDefinitions?{filter}&$top=2"));
    let pool: Vec<String> = {
        let mut pool: Vec<String> =
            sandbox::POOL.iter().map(|definition| format!("{set}_{}", definition.name)).collect();
        pool.sort();
        pool
    };
    assert_eq!(ids(&paged), pool);
    assert!(
        lengths.iter().all(|length| *length <= 2) && lengths.len() >= pool.len().div_ceil(2),
        "{lengths:?}"
    );

    // Principals: three pages of two against one page of six (a real
    // tenant may hold thousands, so the walk stops after three pages).
    let client = session.tenant.client();
    for collection in ["users", "servicePrincipals"] {
        let (one_page, _) = {
            let page = session
                .block_on(client.page(&client.url(&format!("{collection}?$top=6&$select=id")), &[]))
                .unwrap();
            (page.items, page.next)
        };
        let mut walked = Vec::new();
        let mut next = Some(client.url(&format!("{collection}?$top=2&$select=id")));
        for _ in 0..3 {
            let Some(url) = next.take() else { break };
            let page = session.block_on(client.page(&url, &[])).unwrap();
            assert!(page.items.len() <= 2, "{collection}: a page of $top=2 held {}", page.items.len());
            walked.extend(page.items);
            next = page.next;
        }
        assert_eq!(ids(&walked), ids(&one_page), "{collection}: three pages of two are the first six");
        assert!(walked.len() >= 3, "{collection}: paging needs more than one page to prove anything");
    }
    session.finish();
}

#[test]
fn expanded_allowed_values_match_each_child_collection() {
    let mut session = Session::begin("expansion");
    session.converge(&first_scene()); // some values inactive
    let set = session.set().to_owned();
    let (expanded, _) = pages_of(
        &session,
        &format!(
            "directory/customSecurityAttributeDefinitions?$filter=attributeSet eq '{set}'&$expand=allowedValues"
        ),
    );
    let normalised = |values: &Value| {
        let mut values: Vec<(String, bool)> = values
            .as_array()
            .unwrap_or_else(|| panic!("allowedValues is a list: {values}"))
            .iter()
            .map(|value| (value["id"].as_str().unwrap().to_owned(), value["isActive"].as_bool().unwrap()))
            .collect();
        values.sort();
        values
    };
    let mut inactive = 0;
    for pooled in sandbox::POOL.iter().filter(|definition| !definition.values.is_empty()) {
        let id = format!("{set}_{}", pooled.name);
        let definition = expanded.iter().find(|definition| definition["id"] == id.as_str()).unwrap();
        let from_expansion = normalised(&definition["allowedValues"]);
        // The child collection as documented: `$select` is its only option
        // (`tests/fixtures/graph-examples/`), so no `$top`; the client follows any nextLink.
        let (children, _) =
            pages_of(&session, &format!("directory/customSecurityAttributeDefinitions/{id}/allowedValues"));
        assert_eq!(from_expansion, normalised(&Value::Array(children)), "{id}");
        assert_eq!(from_expansion.len(), pooled.values.len(), "{id}");
        inactive += from_expansion.iter().filter(|(_, active)| !active).count();
    }
    assert_eq!(inactive, 3, "the first scene's deactivated values read inactive both ways");
    session.finish();
}

#[test]
fn a_stale_saved_plan_is_refused() {
    let mut session = Session::begin("stale-plan");
    let folder = session.write_scene(&first_scene());
    let saved = session.folder.path().join("plan.json");
    let (code, stdout, stderr) = session.run(&[
        "plan",
        "-f",
        &folder.display().to_string(),
        "--out",
        &saved.display().to_string(),
        "--detailed-exitcode",
    ]);
    assert_eq!(code, 2, "{stdout}\n{stderr}");

    // Behind the tool's back, then the saved plan.
    let user = session.users[1].clone();
    session.patch_values(&user, json!({ "Number@odata.type": "#Int32", "Number": 42 }));
    let (code, stdout, stderr) = session.run(&["apply", &saved.display().to_string(), "--auto-approve"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("is stale"), "{stderr}");
    let live = session.read();
    let description =
        live.attribute_sets.values().find(|set| set.id.eq_ignore_ascii_case(session.set())).unwrap();
    assert_eq!(
        description.description.as_deref(),
        Some(RESTING_SET_DESCRIPTION),
        "the stale plan changed nothing"
    );
    session.finish();
}

#[test]
fn drift_shows_a_value_changed_behind_the_tools_back() {
    let mut session = Session::begin("drift");
    let scene = first_scene();
    session.converge(&scene);
    let folder = session.write_scene(&scene);
    let user = session.users[0].clone();
    session.patch_values(&user, json!({ "Text": "changed behind the tool's back" }));

    let (code, stdout, stderr) = session.run(&[
        "plan",
        "-f",
        &folder.display().to_string(),
        "--drift",
        "--format",
        "json",
        "--detailed-exitcode",
    ]);
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    let plan: Value = serde_json::from_str(&stdout).unwrap();
    let address = format!("user:{}/{}.Text", session.suite.settings.users[0], session.set());
    let drift = plan["drift"].as_array().unwrap();
    let finding = drift
        .iter()
        .find(|finding| finding["address"] == address.as_str())
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(finding["message"].as_str().unwrap().contains("changed behind the tool's back"), "{finding}");
    assert_eq!(drift.len(), 1, "only the changed value drifted: {stdout}");
    let changes = plan["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{stdout}");
    assert_eq!(
        (changes[0]["action"].as_str(), changes[0]["address"].as_str()),
        (Some("update"), Some(address.as_str()))
    );
    session.finish();
}

#[test]
fn check_access_matches_what_the_writes_needed() {
    let mut session = Session::begin("check-access");
    let scene = first_scene();
    let folder = session.write_scene(&scene);
    let files = folder.display().to_string();
    let (code, stdout, stderr) = session.run(&["check-access", "-f", &files]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    for capability in [
        "read attribute sets, definitions and values",
        "read assigned values of users and service principals",
        "create and update attribute sets, definitions and values",
        "assign and unassign values",
    ] {
        assert!(
            stdout.lines().any(|line| line.trim_start().starts_with("ok") && line.contains(capability)),
            "{capability}:\n{stdout}"
        );
    }
    // What check-access passed is what the writes took.
    session.converge(&scene);

    if session.suite.settings.is_emulator() {
        // The emulator's token holds exactly the needed roles; one fewer,
        // and check-access and the writes agree that it is missing.
        let short = session::emulator_token(&NEEDED_ROLES[..1]);
        let (code, stdout, _) = session.suite.run(&["check-access", "-f", &files], Some(&short));
        assert_eq!(code, 1, "{stdout}");
        assert!(stdout.contains("MISSING assign and unassign values"), "{stdout}");
        let second = session.write_scene(&second_scene());
        let before = session.plan(&second);
        let (code, _, stderr) = session
            .suite
            .run(&["apply", "-f", &second.display().to_string(), "--auto-approve"], Some(&short));
        assert_eq!(code, 1, "{stderr}");
        assert!(stderr.contains("CustomSecAttributeAssignment.ReadWrite.All"), "{stderr}");
        assert_eq!(session.plan(&second)["changes"], before["changes"], "the refused apply sent nothing");
    }
    session.finish();
}

#[test]
fn export_round_trips_to_an_empty_plan_for_the_sandbox_set() {
    let mut session = Session::begin("export");
    session.converge(&first_scene()); // a deprecated definition, inactive values, every type assigned
    let exported = session.folder.path().join("exported");
    let (code, stdout, stderr) = session.run(&[
        "export",
        "--set",
        session.set(),
        "--assignments",
        "-o",
        &exported.display().to_string(),
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let (code, stdout, stderr) =
        session.run(&["plan", "-f", &exported.display().to_string(), "--detailed-exitcode"]);
    assert_eq!(code, 0, "the export plans nothing:\n{stdout}\n{stderr}");
    session.finish();
}
