//! Recorded answers, replayed through the client's parsers: the exchanges a
//! run with `ENTRA_CSA_ACCEPTANCE_RECORD=DIR` wrote (committed under
//! `tests/fixtures/recorded/<source>/`) are decoded with the same wire types
//! and batch demultiplexer the client reads Graph with, and what they decode
//! to must say what the answer said. One maintainer's run against a real
//! tenant thus becomes fixtures everyone's `cargo test` holds the parsers to.

use std::collections::BTreeSet;
use std::path::Path;

use entra_csa::graph::batch::{self, BatchRequest};
use entra_csa::graph::recording::Exchange;
use entra_csa::graph::wire::{WireAllowedValue, WireAttributeSet, WireDefinition, WirePrincipal};
use entra_csa::model::PrincipalKind;
use entra_csa::model::live::LiveAttributeSet;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::sandbox::as_json;
use crate::session::{REDACTED_ROOT, REDACTED_TENANT, sorted};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Recording {
    /// `emulator` or `tenant`.
    source: String,
    test: String,
    exchanges: Vec<Exchange>,
}

/// What a replayed answer was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Parsed {
    AttributeSets,
    Definitions,
    AllowedValues,
    Principals,
    Batch,
    Write,
    Error,
}

fn path_of(url: &str) -> &str {
    url.split('?').next().unwrap_or(url).trim_start_matches('/')
}

/// The items of a collection answer, or the answer itself for one entity.
fn entities(body: &Value) -> Vec<Value> {
    match body.get("value") {
        Some(Value::Array(items)) => items.clone(),
        _ => vec![body.clone()],
    }
}

/// The members that are values, collections sorted: what a principal's set says.
fn values_of(set: &Map<String, Value>) -> Map<String, Value> {
    set.iter()
        .filter(|(key, _)| !key.contains('@'))
        .map(|(key, value)| (key.clone(), sorted(value)))
        .filter(|(_, value)| !value.is_null() && value != &Value::Array(vec![]))
        .collect()
}

fn replay_principal(body: &Value, kind: PrincipalKind, what: &str) {
    // `$select=customSecurityAttributes` alone answers without the id.
    let mut body = body.clone();
    if let Some(object) = body.as_object_mut() {
        object.entry("id").or_insert_with(|| Value::from("(not selected)"));
    }
    let wire: WirePrincipal = serde_json::from_value(body).unwrap_or_else(|error| panic!("{what}: {error}"));
    let recorded = wire.custom_security_attributes.clone();
    let (live, not_understood) =
        wire.into_live(kind, || what.to_owned()).unwrap_or_else(|error| panic!("{what}: {error}"));
    assert!(not_understood.is_empty(), "{what}: the client did not understand {not_understood:?}");
    let decoded: Map<String, Value> = live
        .custom_security_attributes
        .iter()
        .flat_map(|sets| sets.iter())
        .map(|(set, values)| {
            let values: Map<String, Value> =
                values.iter().map(|(name, value)| (name.clone(), sorted(&as_json(value)))).collect();
            (set.clone(), Value::Object(values))
        })
        .filter(|(_, values)| values.as_object().is_some_and(|values| !values.is_empty()))
        .collect();
    let said: Map<String, Value> = recorded
        .iter()
        .flat_map(|sets| sets.iter())
        .filter_map(|(set, values)| Some((set.clone(), Value::Object(values_of(values.as_object()?)))))
        .filter(|(_, values)| values.as_object().is_some_and(|values| !values.is_empty()))
        .collect();
    assert_eq!(decoded, said, "{what}: the values decoded are the values Graph answered");
}

fn replay_definition(body: &Value, what: &str) {
    let wire: WireDefinition =
        serde_json::from_value(body.clone()).unwrap_or_else(|error| panic!("{what}: {error}"));
    let model = wire.to_definition().unwrap_or_else(|unknown| panic!("{what}: not understood: {unknown:?}"));
    assert_eq!(Some(&Value::from(model.id())), body.get("id"), "{what}");
    assert_eq!(body["name"], model.name.as_str(), "{what}");
    assert_eq!(body["attributeSet"], model.attribute_set.as_str(), "{what}");
    assert_eq!(body["isCollection"], model.is_collection, "{what}");
    assert_eq!(body["usePreDefinedValuesOnly"], model.use_pre_defined_values_only, "{what}");
    assert_eq!(body["type"], format!("{:?}", model.data_type), "{what}");
    assert_eq!(body["status"], format!("{:?}", model.status), "{what}");
    if let Some(Value::Array(values)) = body.get("allowedValues") {
        let said: BTreeSet<(String, bool)> = values
            .iter()
            .map(|value| (value["id"].as_str().unwrap().to_owned(), value["isActive"].as_bool().unwrap()))
            .collect();
        let decoded: BTreeSet<(String, bool)> =
            model.allowed_values.iter().map(|value| (value.id.clone(), value.is_active)).collect();
        assert_eq!(decoded, said, "{what}: allowed values");
    }
}

fn principal_kind(path: &str) -> Option<PrincipalKind> {
    let lower = path.to_ascii_lowercase();
    if lower.starts_with("users") {
        Some(PrincipalKind::User)
    } else if lower.starts_with("serviceprincipals") {
        Some(PrincipalKind::ServicePrincipal)
    } else {
        None
    }
}

/// Replays one answer of `status` with `body` to `method url` (`request`
/// its body); notes in `seen` what it was (a batch, and each of its items).
fn replay(
    method: &str,
    url: &str,
    request: Option<&Value>,
    status: u16,
    body: &Value,
    what: &str,
    seen: &mut BTreeSet<Parsed>,
) {
    let parsed = parse(method, url, request, status, body, what, seen);
    seen.insert(parsed);
}

fn parse(
    method: &str,
    url: &str,
    request: Option<&Value>,
    status: u16,
    body: &Value,
    what: &str,
    seen: &mut BTreeSet<Parsed>,
) -> Parsed {
    let path = path_of(url);
    if !(200..300).contains(&status) {
        let code = body.pointer("/error/code").and_then(Value::as_str);
        assert!(code.is_some(), "{what}: an error answer carries Graph's error envelope: {body}");
        return Parsed::Error;
    }
    if method != "GET" && path != "$batch" {
        return Parsed::Write;
    }
    match path {
        "$batch" => {
            let sent: Vec<BatchRequest> = request.unwrap()["requests"]
                .as_array()
                .unwrap()
                .iter()
                .map(|item| BatchRequest {
                    id: item["id"].as_str().unwrap().to_owned(),
                    method: item["method"].as_str().unwrap().to_owned(),
                    url: item["url"].as_str().unwrap().to_owned(),
                    headers: serde_json::from_value(item.get("headers").cloned().unwrap_or_default())
                        .unwrap_or_default(),
                    body: item.get("body").cloned(),
                })
                .collect();
            let items =
                batch::parse_answer(body.clone(), &sent).unwrap_or_else(|error| panic!("{what}: {error}"));
            for request in &sent {
                let item = &items[&request.id];
                let raw = body["responses"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|raw| raw["id"] == request.id.as_str())
                    .unwrap();
                assert_eq!(
                    u64::from(item.status),
                    raw["status"].as_u64().unwrap(),
                    "{what}: item {}",
                    request.id
                );
                assert_eq!(item.is_success(), (200..300).contains(&item.status));
                let item_body = item.body.clone().unwrap_or(Value::Null);
                replay(
                    &request.method,
                    &request.url,
                    request.body.as_ref(),
                    item.status,
                    &item_body,
                    &format!("{what} item {}", request.id),
                    seen,
                );
            }
            Parsed::Batch
        }
        "directory/attributeSets" => {
            for set in entities(body) {
                let wire: WireAttributeSet =
                    serde_json::from_value(set.clone()).unwrap_or_else(|error| panic!("{what}: {error}"));
                let live = LiveAttributeSet::from(&wire);
                assert_eq!(set["id"], live.id.as_str(), "{what}");
                assert_eq!(
                    set.get("description").and_then(Value::as_str),
                    live.description.as_deref(),
                    "{what}"
                );
            }
            Parsed::AttributeSets
        }
        _ if path.ends_with("/allowedValues") => {
            for value in entities(body) {
                let wire: WireAllowedValue =
                    serde_json::from_value(value.clone()).unwrap_or_else(|error| panic!("{what}: {error}"));
                assert_eq!(
                    (value["id"].as_str(), value["isActive"].as_bool()),
                    (Some(wire.id.as_str()), Some(wire.is_active))
                );
            }
            Parsed::AllowedValues
        }
        _ if path.starts_with("directory/customSecurityAttributeDefinitions") => {
            for definition in entities(body) {
                replay_definition(&definition, what);
            }
            Parsed::Definitions
        }
        _ => {
            let kind =
                principal_kind(path).unwrap_or_else(|| panic!("{what}: no parser claims {method} {url}"));
            for (index, principal) in entities(body).into_iter().enumerate() {
                // A sweep's page may select only ids: nothing to decode but that.
                if principal.get("customSecurityAttributes").is_none() {
                    assert!(principal["id"].is_string(), "{what}[{index}]");
                    continue;
                }
                replay_principal(&principal, kind, &format!("{what}[{index}]"));
            }
            Parsed::Principals
        }
    }
}

/// Every committed recording, checked for what it must not carry.
fn recordings() -> Vec<Recording> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recorded");
    let mut recordings = Vec::new();
    for source in std::fs::read_dir(&root).unwrap() {
        let source = source.unwrap().path();
        if !source.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&source).unwrap() {
            let file = file.unwrap().path();
            if file.extension().is_none_or(|extension| extension != "json") {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            for secret in ["Bearer ", "eyJ0", "127.0.0.1", "localhost"] {
                assert!(!text.contains(secret), "{} carries `{secret}`: record again", file.display());
            }
            let recording: Recording =
                serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", file.display()));
            assert_eq!(
                Some(recording.source.as_str()),
                source.file_name().and_then(|name| name.to_str()),
                "{}",
                file.display()
            );
            recordings.push(recording);
        }
    }
    recordings
}

#[test]
fn recorded_answers_replay_through_the_clients_parsers() {
    let mut seen = BTreeSet::new();
    let mut sources = BTreeSet::new();
    let mut recordings = 0;
    {
        for recording in self::recordings() {
            for (index, exchange) in recording.exchanges.iter().enumerate() {
                let what = format!("{}#{index} {} {}", recording.test, exchange.method, exchange.url);
                replay(
                    &exchange.method,
                    &exchange.url,
                    exchange.request.as_ref(),
                    exchange.status,
                    &exchange.response,
                    &what,
                    &mut seen,
                );
            }
            recordings += 1;
            sources.insert(recording.source);
        }
    }
    assert!(recordings >= 6, "a recording per proof that calls Graph itself; found {recordings}");
    assert!(sources.contains("emulator"), "the emulator's recordings are committed");
    for wanted in [
        Parsed::AttributeSets,
        Parsed::Definitions,
        Parsed::AllowedValues,
        Parsed::Principals,
        Parsed::Batch,
        Parsed::Write,
        Parsed::Error,
    ] {
        assert!(seen.contains(&wanted), "no recorded answer of the kind {wanted:?}: {seen:?}");
    }
    let _ = (REDACTED_ROOT, REDACTED_TENANT);
}

#[test]
fn the_replay_can_fail() {
    use serde_json::json;
    let fails = |exchange: Value| {
        std::panic::catch_unwind(|| {
            let request = exchange.get("request").cloned();
            replay(
                exchange["method"].as_str().unwrap(),
                exchange["url"].as_str().unwrap(),
                request.as_ref(),
                exchange["status"].as_u64().unwrap() as u16,
                &exchange["response"],
                "case",
                &mut BTreeSet::new(),
            )
        })
        .is_err()
    };
    // A value the model cannot hold (a GUID collection): the parser refuses it.
    assert!(fails(json!({ "method": "GET", "url": "users/u1", "status": 200, "response": {
        "id": "u1", "customSecurityAttributes": { "Sandbox": {
            "@odata.type": "#microsoft.graph.customSecurityAttributeValue",
            "Ids@odata.type": "#Collection(Guid)", "Ids": ["x"] } } } })));
    // A definition whose flags are not booleans.
    assert!(fails(
        json!({ "method": "GET", "url": "directory/customSecurityAttributeDefinitions", "status": 200,
        "response": { "value": [ { "id": "S_A", "attributeSet": "S", "name": "A", "type": "String",
            "isCollection": "yes", "isSearchable": true, "status": "Available", "usePreDefinedValuesOnly": false } ] } })
    ));
    // A batch answer missing an item, and an error without Graph's envelope.
    assert!(fails(json!({ "method": "POST", "url": "$batch", "status": 200,
        "request": { "requests": [ { "id": "1", "method": "GET", "url": "/users/u1" } ] },
        "response": { "responses": [] } })));
    assert!(fails(json!({ "method": "GET", "url": "users/u1", "status": 404, "response": null })));
    // A collection nobody parses.
    assert!(fails(json!({ "method": "GET", "url": "groups", "status": 200, "response": { "value": [] } })));
    // And one that parses.
    assert!(!fails(json!({ "method": "GET", "url": "users/u1", "status": 200, "response": {
        "id": "u1", "customSecurityAttributes": { "Sandbox": {
            "@odata.type": "#microsoft.graph.customSecurityAttributeValue",
            "NumberList@odata.type": "#Collection(Int32)", "NumberList": [2, 1] } } } })));
}

/// The recorded pages of one collection read: the first page's URL and
/// every page's answer, following `@odata.nextLink` through the recording.
/// `None` when the recording stops before the last page (a walk the test
/// cut short on purpose).
fn chain_from(exchanges: &[Exchange], first: usize) -> Option<Vec<&Exchange>> {
    let mut chain = vec![&exchanges[first]];
    let mut at = first;
    while let Some(next) = chain.last().unwrap().response.get("@odata.nextLink").and_then(Value::as_str) {
        // As the client requests it: parsed, so `'` reads `%27` as on the wire.
        let next = url::Url::parse(next).ok()?;
        let relative = next.as_str().strip_prefix(&format!("{REDACTED_ROOT}/v1.0/"))?;
        at += 1 + exchanges[at + 1..]
            .iter()
            .position(|exchange| exchange.method == "GET" && exchange.url == relative)?;
        chain.push(&exchanges[at]);
    }
    Some(chain)
}

/// Every whole paged read of the recordings is served again on loopback,
/// page by page, and read with the client's own paging (`all_pages`): it
/// must follow the recorded nextLinks and return exactly the recorded items.
#[tokio::test]
async fn recorded_pages_replay_through_the_clients_paging() {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use axum::extract::{OriginalUri, State};
    use entra_csa::graph::endpoint::{self, Cloud};
    use entra_csa::graph::{BearerToken, ClientOptions, GraphClient, TokenSource};

    type Pages = Arc<Mutex<HashMap<String, String>>>;
    let pages: Pages = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let serve = |State(pages): State<Pages>, OriginalUri(uri): OriginalUri| async move {
        let asked = uri.path_and_query().map(|path| path.as_str()).unwrap_or_default();
        let relative = asked.strip_prefix("/v1.0/").unwrap_or(asked);
        match pages.lock().unwrap().get(relative) {
            Some(body) => (axum::http::StatusCode::OK, [("content-type", "application/json")], body.clone()),
            None => (
                axum::http::StatusCode::NOT_FOUND,
                [("content-type", "text/plain")],
                format!("not recorded: {relative}"),
            ),
        }
    };
    let router = axum::Router::new().fallback(serve).with_state(Arc::clone(&pages));
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let endpoint = endpoint::resolve(Cloud::Global, Some(&origin), false).unwrap();
    let client =
        GraphClient::new(endpoint, TokenSource::Fixed(BearerToken::new("replay")), ClientOptions::default())
            .unwrap();

    let (mut reads, mut followed) = (0, 0);
    for recording in recordings() {
        let exchanges = &recording.exchanges;
        for (index, exchange) in exchanges.iter().enumerate() {
            let is_first_page = exchange.method == "GET"
                && exchange.status == 200
                && exchange.response.get("value").is_some_and(Value::is_array)
                && !exchange.url.contains("skiptoken");
            let Some(chain) = is_first_page.then(|| chain_from(exchanges, index)).flatten() else { continue };
            {
                let mut served = pages.lock().unwrap();
                served.clear();
                for page in &chain {
                    served
                        .insert(page.url.clone(), page.response.to_string().replace(REDACTED_ROOT, &origin));
                }
            }
            let expected: Vec<Value> =
                chain.iter().flat_map(|page| page.response["value"].as_array().unwrap().clone()).collect();
            let mut lengths = Vec::new();
            let items = client
                .all_pages(client.url(&exchange.url), |length| lengths.push(length))
                .await
                .unwrap_or_else(|error| panic!("{} {}: {error}", recording.test, exchange.url));
            let expected = serde_json::to_string(&expected).unwrap().replace(REDACTED_ROOT, &origin);
            assert_eq!(
                serde_json::to_string(&items).unwrap(),
                expected,
                "{} {}",
                recording.test,
                exchange.url
            );
            assert_eq!(lengths.len(), chain.len(), "{}: one request per recorded page", exchange.url);
            reads += 1;
            followed += chain.len() - 1;
        }
    }
    server.abort();
    eprintln!("replayed {reads} paged reads, following {followed} nextLinks");
    assert!(reads >= 5 && followed >= 5, "paged reads replayed: {reads}, nextLinks followed: {followed}");
}
