//! Replays Microsoft's verbatim examples (`tests/fixtures/graph-examples/`,
//! copied unchanged from Microsoft's docs; `ENTRA_CSA_GRAPH_EXAMPLES` names
//! another copy) against a store seeded to match, and checks the documented
//! status and response shape. With `tests/graph_wire.rs` (the client against
//! the same files) the examples are the only bridge between the emulator and
//! the client, which share no JSON code.
use std::path::PathBuf;

use entra_csa::emulator::document::StateDocument;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::support::*;

/// What a file's replay must answer, when not what the file documents.
enum Expectation {
    /// The documented status (or the status Graph's reference gives the
    /// method when the example shows none) and shape.
    Documented,
    /// The emulator's own answer where the example carries a doc mistake.
    EmulatorsOwn(u16, &'static str),
    /// Not replayable here.
    Skip(&'static str),
}

fn expectation(file: &str) -> Expectation {
    match file {
        "update-definition.http" => Expectation::EmulatorsOwn(400, "verbatim trailing comma is not JSON"),
        "create-allowedvalue.http" | "deactivate-allowedvalue.http" => {
            Expectation::EmulatorsOwn(400, "a Boolean sent as a string is a wrong type")
        }
        "entra-assign-serviceprincipal-collection-scalar.http" => {
            Expectation::EmulatorsOwn(400, "a scalar under #Collection(String)")
        }
        "error-csa-insufficient-privileges.http" => Expectation::Skip("the emulator has no permission model"),
        "error-unindexed-property-filter.http" => Expectation::Skip("groups are not emulated"),
        "throttling-429.http" => Expectation::Skip("placeholder request; see the quota tests"),
        _ => Expectation::Documented,
    }
}

fn examples_folder() -> Option<PathBuf> {
    let folder = match std::env::var_os("ENTRA_CSA_GRAPH_EXAMPLES") {
        Some(folder) => PathBuf::from(folder),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/graph-examples"),
    };
    folder.is_dir().then_some(folder)
}

/// One example file, parsed.
struct Example {
    method: Method,
    /// Below the service root, `/v1.0/` (or `/beta/`) removed.
    path: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
    status: Option<u16>,
    response: Option<Value>,
    /// An error code the response names in prose (E-TS style).
    error_code: Option<String>,
}

fn parse_example(text: &str) -> Option<Example> {
    let (request, response) = text.split_once("### RESPONSE")?;
    let request = request.split_once("### REQUEST")?.1.trim();
    // The body starts at the first line that opens a JSON object (some
    // examples leave out the blank line after the headers).
    let (head, body) = match request.find("\n{") {
        Some(start) => (&request[..start], Some(request[start..].trim().to_owned())),
        None => (request, None),
    };
    let mut lines = head.lines();
    let (method, url) = lines.next()?.split_once(' ')?;
    let method = Method::from_bytes(method.as_bytes()).ok()?;
    let path = url.split_once("/v1.0/").or_else(|| url.split_once("/beta/"))?.1.to_owned();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    let response = response.trim();
    let status = response.lines().next().and_then(|line| {
        let numbers: Vec<u16> = line
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok())
            .filter(|n| (100..600).contains(n))
            .collect();
        (line.starts_with("HTTP/") || line.contains(" - ")).then(|| numbers.last().copied()).flatten()
    });
    // The JSON body: from the first '{' to the matching end (the first parse that works).
    let response_json = response.find('{').and_then(|start| {
        let candidate = &response[start..];
        let mut deserializer = serde_json::Deserializer::from_str(candidate).into_iter::<Value>();
        deserializer.next().and_then(Result::ok)
    });
    let error_code = response
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("Request_") || line.starts_with("Authorization_"))
        .map(str::to_owned);
    Some(Example { method, path, headers, body, status, response: response_json, error_code })
}

/// The seed for one example: the documented assignments, minus whatever
/// the example creates.
fn seed_for(example: &Example) -> StateDocument {
    let mut tenant = contoso_with_assignments();
    let body: Value =
        example.body.as_deref().and_then(|b| serde_json::from_str(b).ok()).unwrap_or(Value::Null);
    if example.method == Method::POST {
        if example.path == "directory/attributeSets" {
            let id = body["id"].as_str().unwrap_or_default();
            tenant.attribute_sets.retain(|set| set.id != id);
            tenant.custom_security_attribute_definitions.retain(|d| d.attribute_set != id);
        } else if example.path == "directory/customSecurityAttributeDefinitions" {
            let name = body["name"].as_str().unwrap_or_default();
            tenant.custom_security_attribute_definitions.retain(|d| d.name != name);
        } else if let Some(definition) = example
            .path
            .strip_prefix("directory/customSecurityAttributeDefinitions/")
            .and_then(|p| p.strip_suffix("/allowedValues"))
        {
            let id = body["id"].as_str().unwrap_or_default().to_owned();
            for stored in &mut tenant.custom_security_attribute_definitions {
                if format!("{}_{}", stored.attribute_set, stored.name) == definition {
                    stored.allowed_values.get_or_insert_with(Vec::new).retain(|value| value.id != id);
                }
            }
        }
    }
    tenant
}

fn documented_status(example: &Example) -> u16 {
    if let Some(status) = example.status {
        return status;
    }
    if example.error_code.is_some()
        || example.response.as_ref().is_some_and(|body| body.get("error").is_some())
    {
        return 400;
    }
    match example.method {
        Method::POST if example.path != "$batch" => 201,
        Method::PATCH => 204,
        _ => 200,
    }
}

/// Checks the reply against the documented body: the error code and
/// message, or the `@odata.context` fragment and the property names.
fn check_shape(file: &str, example: &Example, reply: &Reply) {
    if let Some(code) = &example.error_code {
        assert_eq!(reply.error_code(), code, "{file}");
    }
    let Some(documented) = &example.response else { return };
    if let Some(error) = documented.get("error") {
        assert_eq!(reply.error_code(), error["code"], "{file}");
        assert_eq!(reply.error_message(), error["message"], "{file}");
        return;
    }
    if let Some(context) = documented.get("@odata.context").and_then(Value::as_str) {
        let fragment = context.split("$metadata#").nth(1).unwrap_or_default();
        assert_eq!(context_fragment(&reply.body), fragment, "{file}");
    }
    let data_dependent = ["@odata.nextLink", "@odata.count"];
    for key in documented.as_object().into_iter().flat_map(|o| o.keys()) {
        if !data_dependent.contains(&key.as_str()) {
            assert!(reply.body.get(key).is_some(), "{file}: `{key}` missing in {}", reply.text);
        }
    }
    let first_documented_item = documented["value"].get(0).and_then(Value::as_object);
    if let (Some(expected), Some(items)) = (first_documented_item, reply.body["value"].as_array()) {
        let mut expected: Vec<&String> = expected.keys().collect();
        expected.sort();
        for item in items {
            let mut keys: Vec<&String> = item.as_object().map(|o| o.keys().collect()).unwrap_or_default();
            keys.sort();
            assert_eq!(keys, expected, "{file}: item properties");
        }
    }
}

#[tokio::test]
async fn doc_every_graph_example_replays() {
    let folder = examples_folder().expect("the graph-examples folder exists");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap()
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "http"))
        .collect();
    files.sort();
    let mut replayed = 0;
    for path in files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let expectation = expectation(&file);
        if let Expectation::Skip(reason) = expectation {
            eprintln!("skip {file}: {reason}");
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let Some(mut example) = parse_example(&text) else {
            panic!("{file}: cannot parse the example");
        };
        let principal =
            if example.path.starts_with("servicePrincipals") { SERVICE_PRINCIPAL_ID } else { USER_ID };
        example.path = example.path.replace("{id}", principal);
        // The documented DELETE examples (direct or in a batch) check the refusal itself.
        let sends_delete = example.method == reqwest::Method::DELETE
            || example.body.as_deref().is_some_and(|body| body.contains("\"DELETE\""));
        let h = if sends_delete {
            seeded_expecting_deletes(seed_for(&example)).await
        } else {
            seeded(seed_for(&example)).await
        };
        let headers: Vec<(&str, &str)> = example
            .headers
            .iter()
            .filter(|(name, _)| {
                ["consistencylevel", "odata-version"].contains(&name.to_ascii_lowercase().as_str())
            })
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let reply = h.send(example.method.clone(), &example.path, &headers, example.body.as_deref()).await;
        match expectation {
            Expectation::EmulatorsOwn(status, why) => {
                assert_eq!(reply.status.as_u16(), status, "{file} ({why}): {}", reply.text);
            }
            _ => {
                assert_eq!(reply.status.as_u16(), documented_status(&example), "{file}: {}", reply.text);
                if reply.status != StatusCode::NO_CONTENT {
                    check_shape(&file, &example, &reply);
                }
            }
        }
        h.emulator.shutdown().await;
        replayed += 1;
    }
    assert!(replayed >= 50, "only {replayed} examples replayed");
}
