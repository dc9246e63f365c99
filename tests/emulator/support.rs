//! Shared pieces of the emulator tests: a tenant seeded to match the
//! documented examples, and a small HTTP harness over reqwest.

use entra_csa::emulator::document::StateDocument;
use entra_csa::emulator::{EmulatorConfig, RunningEmulator, start};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The user the documented assignment examples write to.
pub const USER_ID: &str = "6bac433c-48c6-4213-a316-1428de32701b";
pub const SECOND_USER_ID: &str = "c4f9ecd3-d3c1-4544-b49a-bc9bb62beb67";
pub const SERVICE_PRINCIPAL_ID: &str = "7d194b0c-bf17-40ff-9f7f-4b671de8026d";
pub const APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// Sets Engineering and Marketing, the definitions the docs use, two users
/// and a service principal.
pub fn contoso() -> StateDocument {
    serde_json::from_value(json!({
        "attributeSets": [
            { "id": "Engineering", "description": "Attributes for engineering team", "maxAttributesPerSet": 25 },
            { "id": "Marketing", "description": "Attributes for marketing team", "maxAttributesPerSet": 25 }
        ],
        "customSecurityAttributeDefinitions": [
            { "attributeSet": "Engineering", "name": "Project", "description": "Active projects for user",
              "type": "String", "isCollection": true, "isSearchable": true, "status": "Available",
              "usePreDefinedValuesOnly": true,
              "allowedValues": [ { "id": "Alpine", "isActive": true }, { "id": "Baker", "isActive": true },
                                 { "id": "Cascade", "isActive": true } ] },
            { "attributeSet": "Engineering", "name": "ProjectDate", "description": "Target completion date",
              "type": "String", "isCollection": false, "isSearchable": true, "status": "Available",
              "usePreDefinedValuesOnly": false },
            { "attributeSet": "Engineering", "name": "NumVendors", "description": "Number of vendors",
              "type": "Integer", "isCollection": false, "isSearchable": true, "status": "Available",
              "usePreDefinedValuesOnly": false },
            { "attributeSet": "Engineering", "name": "CostCenter", "description": "Cost centers",
              "type": "Integer", "isCollection": true, "isSearchable": true, "status": "Available",
              "usePreDefinedValuesOnly": false },
            { "attributeSet": "Engineering", "name": "Certification", "description": "Certified",
              "type": "Boolean", "isCollection": false, "isSearchable": true, "status": "Available",
              "usePreDefinedValuesOnly": false },
            { "attributeSet": "Marketing", "name": "AppCountry", "description": "Countries",
              "type": "String", "isCollection": true, "isSearchable": true, "status": "Available",
              "usePreDefinedValuesOnly": false },
            { "attributeSet": "Marketing", "name": "EmployeeId", "description": "Employee id",
              "type": "String", "isCollection": false, "isSearchable": true, "status": "Available",
              "usePreDefinedValuesOnly": false }
        ],
        "users": [
            { "id": USER_ID, "userPrincipalName": "jana@contoso.com", "displayName": "Jana",
              "customSecurityAttributes": null },
            { "id": SECOND_USER_ID, "userPrincipalName": "alain@contoso.com", "displayName": "Alain",
              "customSecurityAttributes": null }
        ],
        "servicePrincipals": [
            { "id": SERVICE_PRINCIPAL_ID, "appId": APP_ID, "displayName": "Contoso app",
              "customSecurityAttributes": null }
        ]
    }))
    .expect("the contoso seed is a valid tenant document")
}

/// `contoso()` with the assignments of the documented GET examples.
pub fn contoso_with_assignments() -> StateDocument {
    let mut tenant = contoso();
    tenant.users[0].custom_security_attributes = Some(
        serde_json::from_value(json!({
            "Marketing": { "@odata.type": "#microsoft.graph.customSecurityAttributeValue",
                           "AppCountry@odata.type": "#Collection(String)", "AppCountry": ["Canada", "Mexico"],
                           "EmployeeId": "GS46982" },
            "Engineering": { "@odata.type": "#microsoft.graph.customSecurityAttributeValue",
                             "Project@odata.type": "#Collection(String)", "Project": ["Baker", "Cascade"],
                             "CostCenter@odata.type": "#Collection(Int32)", "CostCenter": [1001],
                             "Certification": true, "NumVendors": 8 }
        }))
        .expect("valid assignments"),
    );
    tenant.service_principals[0].custom_security_attributes = Some(
        serde_json::from_value(json!({
            "Engineering": { "@odata.type": "#microsoft.graph.customSecurityAttributeValue",
                             "Project@odata.type": "#Collection(String)", "Project": ["Baker"] }
        }))
        .expect("valid assignments"),
    );
    tenant
}

/// A reply, its body parsed as JSON when it is JSON (else `Value::Null`).
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// `error.code` of a Graph error body.
    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }

    pub fn error_message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or_default()
    }
}

/// A running emulator and a client with a bearer token.
pub struct Harness {
    pub emulator: RunningEmulator,
    pub client: reqwest::Client,
    pub token: String,
}

pub async fn harness(config: EmulatorConfig) -> Harness {
    let emulator = start(config).await.expect("the emulator starts");
    Harness { emulator, client: reqwest::Client::new(), token: "test-token".into() }
}

pub async fn seeded(seed: StateDocument) -> Harness {
    harness(EmulatorConfig { seed_state: seed, ..EmulatorConfig::default() }).await
}

/// For the tests of the DELETE refusal itself: any other emulator that
/// receives a DELETE fails its test when dropped.
pub async fn seeded_expecting_deletes(seed: StateDocument) -> Harness {
    harness(EmulatorConfig { seed_state: seed, expect_deletes: true, ..EmulatorConfig::default() }).await
}

impl Harness {
    /// `path` below `/v1.0/`, with its query; or a full URL (a nextLink).
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}/v1.0/{path}", self.emulator.base_url())
        }
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Reply {
        let mut request = self.client.request(method, self.url(path)).bearer_auth(&self.token);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.header("Content-Type", "application/json").body(body.to_owned());
        }
        let response = request.send().await.expect("the request is answered");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("the body is read");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, headers, body, text }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, &[], None).await
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.send(Method::GET, path, headers, None).await
    }

    pub async fn post(&self, path: &str, body: &str) -> Reply {
        self.send(Method::POST, path, &[], Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &str) -> Reply {
        self.send(Method::PATCH, path, &[], Some(body)).await
    }

    /// `customSecurityAttributes` of a user, as `GET ?$select=` answers it.
    pub async fn user_attributes(&self, id: &str) -> Value {
        let reply = self.get(&format!("users/{id}?$select=customSecurityAttributes")).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.body["customSecurityAttributes"].clone()
    }
}

/// The part of `@odata.context` after `$metadata#`.
pub fn context_fragment(body: &Value) -> &str {
    body["@odata.context"].as_str().and_then(|context| context.split("$metadata#").nth(1)).unwrap_or_default()
}

pub const REQUEST_SET_TYPE: &str = "#Microsoft.DirectoryServices.CustomSecurityAttributeValue";

pub fn assignment(set: &str, members: Value) -> String {
    let mut object = json!({ "@odata.type": REQUEST_SET_TYPE });
    for (key, value) in members.as_object().unwrap() {
        object[key] = value.clone();
    }
    json!({ "customSecurityAttributes": { set: object } }).to_string()
}

pub fn ids(reply: &Reply) -> Vec<String> {
    let mut ids: Vec<String> = reply.body["value"]
        .as_array()
        .map(|items| items.iter().filter_map(|item| item["id"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    ids.sort();
    ids
}

pub fn many_users(count: usize) -> entra_csa::emulator::document::StateDocument {
    let mut tenant = contoso();
    tenant.users = (0..count)
        .map(|index| {
            serde_json::from_value(json!({
                "id": format!("00000000-0000-0000-0000-{index:012}"),
                "userPrincipalName": format!("user{index}@contoso.com"),
                "displayName": format!("User {index}")
            }))
            .unwrap()
        })
        .collect();
    tenant
}

pub fn definition_body(name: &str, data_type: &str, collection: bool, predefined: bool) -> String {
    json!({
        "attributeSet": "Engineering", "name": name, "description": "d", "type": data_type,
        "isCollection": collection, "isSearchable": true, "status": "Available",
        "usePreDefinedValuesOnly": predefined
    })
    .to_string()
}

/// `contoso()` as the emulator reports it (definition ids filled in).
pub fn contoso_normalised() -> entra_csa::emulator::document::StateDocument {
    let mut tenant = contoso();
    for definition in &mut tenant.custom_security_attribute_definitions {
        definition.id = Some(format!("{}_{}", definition.attribute_set, definition.name));
        definition.allowed_values.get_or_insert_with(Vec::new);
    }
    tenant
}

pub async fn batch(h: &Harness, requests: Value) -> Reply {
    h.post("$batch", &json!({ "requests": requests }).to_string()).await
}

pub fn item<'a>(reply: &'a Reply, id: &str) -> &'a Value {
    reply.body["responses"]
        .as_array()
        .and_then(|items| items.iter().find(|item| item["id"] == id))
        .unwrap_or_else(|| panic!("no response for item {id}: {}", reply.text))
}
