//! The one tenant every test of the suite works in, and the discipline
//! around it. Tests take turns (one sandbox, one tenant); each `Session`
//! first refuses a tenant whose sandbox or test principals hold anything
//! outside the pool, then brings the sandbox to rest (creating the pool the
//! very first time), remembers what the test principals held, and at
//! `finish` puts everything back and checks the sandbox is exactly the pool.
//!
//! Plans and applies go through the binary, signed in as a user's would be;
//! the raw Graph calls a test makes behind the tool's back, and the reads it
//! checks with, go through the library's client, signed in the same way,
//! whose exchanges can be recorded (`ENTRA_CSA_ACCEPTANCE_RECORD`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};

use entra_csa::emulator::{EmulatorConfig, RunningEmulator};
use entra_csa::graph::access::Claims;
use entra_csa::graph::auth::{self, AuthMethod};
use entra_csa::graph::client::Answer;
use entra_csa::graph::endpoint::{self, Cloud, GraphEndpoint};
use entra_csa::graph::recording::{Exchange, Recorder};
use entra_csa::graph::wire::TenantDocument;
use entra_csa::graph::{BearerToken, ClientOptions, GraphError, GraphTenant, TokenSource};
use entra_csa::model::PrincipalKey;
use entra_csa::model::live::{LivePrincipal, LiveState};
use entra_csa::tenant::{ReadScope, Tenant};
use reqwest::Method;
use serde_json::{Value, json};

use crate::launch;
use crate::sandbox::{self, Scene, Values};
use crate::settings::{EMULATOR_SERVICE_PRINCIPAL, EMULATOR_USERS, Settings, Target};

/// The grants the suite's writes need, and nothing more: the emulator's
/// token carries exactly these, so a write needing another would fail.
pub const NEEDED_ROLES: [&str; 2] =
    ["CustomSecAttributeDefinition.ReadWrite.All", "CustomSecAttributeAssignment.ReadWrite.All"];

/// Placeholders of the recordings.
pub const REDACTED_TENANT: &str = "00000000-0000-0000-0000-000000000000";
pub const REDACTED_ROOT: &str = "https://graph.recorded.invalid";

pub struct Suite {
    pub settings: Settings,
    pub endpoint: GraphEndpoint,
    /// The emulator's bearer token; a real tenant signs in instead.
    emulator_token: Option<String>,
    emulator: Option<Mutex<RunningEmulator>>,
    /// Keeps a fresh emulator's state file while the suite runs.
    _scratch: Option<tempfile::TempDir>,
}

static SUITE: OnceLock<Suite> = OnceLock::new();
static TURN: Mutex<()> = Mutex::new(());

pub fn suite() -> &'static Suite {
    SUITE.get_or_init(|| Suite::start(Settings::from_env()))
}

/// An unsigned JWT with these claims (the emulator holds a JWT to its claims).
pub fn jwt(claims: Value) -> String {
    use base64::Engine;
    let encode = |value: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string());
    format!("{}.{}.signature", encode(json!({ "alg": "none" })), encode(claims))
}

/// An app-only token for the emulator holding `roles`.
pub fn emulator_token(roles: &[&str]) -> String {
    jwt(json!({
        "tid": "5d0a3c1e-acce-4000-8000-00000000c0de",
        "appid": "a11ce000-0000-4000-8000-0000000000ff",
        "app_displayname": "entra-csa acceptance",
        "roles": roles,
    }))
}

/// The emulator's first tenant: Contoso's (other teams' sets and principals,
/// as a real tenant has) plus the two test users and the test service principal.
pub fn emulator_seed() -> TenantDocument {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/contoso-live.json");
    let mut document: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for (index, user) in EMULATOR_USERS.iter().enumerate() {
        document["users"].as_array_mut().unwrap().push(json!({
            "id": format!("acce0000-0000-4000-8000-00000000000{}", index + 1),
            "userPrincipalName": user,
            "displayName": format!("Acceptance test user {}", index + 1),
            "customSecurityAttributes": null,
        }));
    }
    document["servicePrincipals"].as_array_mut().unwrap().push(json!({
        "id": "acce0000-0000-4000-8000-0000000000a1",
        "appId": EMULATOR_SERVICE_PRINCIPAL,
        "displayName": "Acceptance test service principal",
        "customSecurityAttributes": null,
    }));
    serde_json::from_value(document).unwrap()
}

/// Serves `config` on a thread of its own, so it outlives every test's runtime.
fn start_emulator(config: EmulatorConfig) -> RunningEmulator {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("acceptance-emulator".into())
        .spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(async move {
                let _ = sender.send(entra_csa::emulator::start(config).await);
                std::future::pending::<()>().await;
            });
        })
        .unwrap();
    receiver.recv().unwrap().expect("the suite's emulator starts")
}

fn cloud_named(name: &str) -> Cloud {
    match name {
        "global" => Cloud::Global,
        "usgov" => Cloud::Usgov,
        "usgov-dod" => Cloud::UsgovDod,
        "china" => Cloud::China,
        other => panic!("ENTRA_CSA_ACCEPTANCE_CLOUD: `{other}` is none of global, usgov, usgov-dod, china"),
    }
}

fn auth_named(name: &str) -> AuthMethod {
    match name {
        "auto" => AuthMethod::Auto,
        "token" => AuthMethod::Token,
        "cli" => AuthMethod::Cli,
        "secret" => AuthMethod::Secret,
        "certificate" => AuthMethod::Certificate,
        "workload" => AuthMethod::Workload,
        "pipelines" => AuthMethod::Pipelines,
        "managed-identity" => AuthMethod::ManagedIdentity,
        other => panic!("ENTRA_CSA_ACCEPTANCE_AUTH: `{other}` is not an --auth method"),
    }
}

/// Whether the binary needs this variable of the suite's environment to
/// sign in as the command line would (a real tenant only).
fn forwarded(name: &str) -> bool {
    const PREFIXES: [&str; 7] =
        ["AZURE_", "ACTIONS_ID_TOKEN_REQUEST_", "SYSTEM_", "AZURESUBSCRIPTION_", "IDENTITY_", "MSI_", "AZD_"];
    const NAMES: [&str; 7] = [
        "PATH",
        "HOME",
        "USERPROFILE",
        "ENTRA_CSA_ACCESS_TOKEN",
        "ENTRA_CSA_GRAPH_URL",
        "TMPDIR",
        "SystemRoot",
    ];
    PREFIXES.iter().any(|prefix| name.starts_with(prefix)) || NAMES.contains(&name)
}

impl Suite {
    fn start(settings: Settings) -> Suite {
        match settings.target.clone() {
            Target::Emulator { state } => {
                let (state, scratch) = match state {
                    Some(state) => (state, None),
                    None => {
                        let scratch = tempfile::tempdir().unwrap();
                        (scratch.path().join("acceptance-tenant.json"), Some(scratch))
                    }
                };
                let mut suite = Suite::emulator_at(state, &settings.set);
                suite.settings.record = settings.record;
                suite._scratch = scratch;
                suite
            }
            Target::Tenant { cloud, graph_url, .. } => {
                let cloud = cloud.as_deref().map(cloud_named).unwrap_or(Cloud::Global);
                let endpoint = endpoint::resolve(cloud, graph_url.as_deref(), false)
                    .unwrap_or_else(|error| panic!("the real tenant's Graph: {error}"));
                Suite { settings, endpoint, emulator_token: None, emulator: None, _scratch: None }
            }
        }
    }

    /// The suite on its own emulator, serving (and persisting) the tenant
    /// in `state`, seeded with `emulator_seed` when the file does not
    /// exist, with `set` as the sandbox; it records nothing.
    pub fn emulator_at(state: PathBuf, set: &str) -> Suite {
        let settings = Settings {
            set: set.to_owned(),
            record: None,
            target: Target::Emulator { state: Some(state.clone()) },
            ..Settings::from_lookup(&|_| None)
        };
        let seed: TenantDocument = match std::fs::read_to_string(&state) {
            Ok(text) => serde_json::from_str(&text)
                .unwrap_or_else(|error| panic!("{} is not an emulator state file: {error}", state.display())),
            Err(_) => {
                let seed = emulator_seed();
                std::fs::write(&state, serde_json::to_string_pretty(&seed).unwrap()).unwrap();
                seed
            }
        };
        // The emulator reads the client's document only through its JSON.
        let seed = entra_csa::emulator::document::StateDocument::from_shape(&seed).expect("one JSON shape");
        let running = start_emulator(EmulatorConfig {
            seed_state: seed,
            persist: Some(state),
            ..EmulatorConfig::default()
        });
        let endpoint = endpoint::resolve(Cloud::Global, Some(&running.base_url()), false).unwrap();
        Suite {
            settings,
            endpoint,
            emulator_token: Some(emulator_token(&NEEDED_ROLES)),
            emulator: Some(Mutex::new(running)),
            _scratch: None,
        }
    }

    /// Where plans and applies go, as `--graph-url` / `--cloud` / `--auth`.
    fn target_args(&self) -> Vec<String> {
        match &self.settings.target {
            Target::Emulator { .. } => vec!["--graph-url".into(), self.endpoint.display_root()],
            Target::Tenant { auth, cloud, graph_url } => {
                let mut args = vec!["--auth".to_owned(), auth.clone()];
                if let Some(cloud) = cloud {
                    args.extend(["--cloud".to_owned(), cloud.clone()]);
                }
                if let Some(url) = graph_url {
                    args.extend(["--graph-url".to_owned(), url.clone()]);
                }
                args
            }
        }
    }

    /// The binary, pointed at the suite's tenant, with `token` (emulator) or
    /// the sign-in variables of the suite's environment (real tenant).
    pub fn command(&self, token: Option<&str>) -> Command {
        let mut command = launch::entra_csa();
        command.env("NO_COLOR", "1");
        match (token.or(self.emulator_token.as_deref()), &self.settings.target) {
            (Some(token), Target::Emulator { .. }) => {
                command.env("ENTRA_CSA_ACCESS_TOKEN", token);
            }
            _ => {
                command.envs(std::env::vars().filter(|(name, _)| forwarded(name)));
            }
        }
        command
    }

    /// Runs `entra-csa ARGS` against the tenant.
    pub fn run(&self, args: &[&str], token: Option<&str>) -> (i32, String, String) {
        let mut command = self.command(token);
        command.args(args).args(self.target_args());
        launch::run(&mut command)
    }

    /// Where the library's client gets its tokens: as the command line would.
    fn tokens(&self) -> TokenSource {
        if let Some(token) = &self.emulator_token {
            return TokenSource::Fixed(BearerToken::new(token));
        }
        let Target::Tenant { auth, .. } = &self.settings.target else {
            unreachable!("the emulator has a token")
        };
        let env = |name: &str| std::env::var(name).ok();
        let sign_in = auth::choose(
            auth_named(auth),
            env("AZURE_TENANT_ID").as_deref(),
            env("AZURE_CLIENT_ID").as_deref(),
            &env,
        )
        .unwrap_or_else(|error| panic!("signing in to the real tenant: {error}"));
        auth::token_source(&sign_in, self.endpoint.cloud, &self.endpoint.scope, &env)
            .unwrap_or_else(|error| panic!("signing in to the real tenant: {error}"))
    }

    /// Writes the emulator received.
    pub fn writes(&self) -> u64 {
        self.emulator
            .as_ref()
            .map_or(0, |emulator| emulator.lock().unwrap_or_else(|p| p.into_inner()).stats().writes)
    }

    /// DELETEs the emulator received (always none; a real tenant is not asked).
    pub fn deletes(&self) -> u64 {
        self.emulator
            .as_ref()
            .map_or(0, |emulator| emulator.lock().unwrap_or_else(|p| p.into_inner()).stats().deletes)
    }

    pub fn keys(&self) -> Vec<PrincipalKey> {
        let mut keys: Vec<PrincipalKey> =
            self.settings.users.iter().map(|user| PrincipalKey::User(user.clone())).collect();
        keys.push(PrincipalKey::ServicePrincipal(self.settings.service_principal.clone()));
        keys
    }
}

/// One test's turn with the tenant.
pub struct Session {
    _turn: MutexGuard<'static, ()>,
    pub suite: &'static Suite,
    runtime: tokio::runtime::Runtime,
    pub tenant: GraphTenant,
    recorder: Recorder,
    pub folder: tempfile::TempDir,
    name: &'static str,
    scenes: usize,
    /// The sandbox at rest, with the principals' values as found.
    pub resting: Scene,
    /// What bringing the sandbox to rest took: (action, kind) per change;
    /// the pool's creates the first time, nothing after a clean run.
    pub created: Vec<(String, String)>,
    /// The test users, then the test service principal, as read.
    pub users: Vec<LivePrincipal>,
    pub service_principal: LivePrincipal,
}

impl Session {
    /// Takes the tenant, refuses it if the sandbox holds anything outside
    /// the pool, and brings the sandbox to rest.
    pub fn begin(name: &'static str) -> Session {
        Session::begin_on(suite(), name)
    }

    /// As `begin`, on another suite's tenant.
    pub fn begin_on(suite: &'static Suite, name: &'static str) -> Session {
        let turn = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let recorder = Recorder::new();
        // Graph allows one Conditional Access read a second; the suite's own
        // emulator does not limit it, so waiting there only slows the suite.
        let conditional_access_interval = match suite.emulator {
            Some(_) => std::time::Duration::ZERO,
            None => ClientOptions::default().conditional_access_interval,
        };
        let options = ClientOptions {
            recorder: Some(recorder.clone()),
            conditional_access_interval,
            ..ClientOptions::default()
        };
        let tenant = GraphTenant::new(suite.endpoint.clone(), suite.tokens(), options, None).unwrap();
        let live = runtime
            .block_on(tenant.read(&ReadScope {
                principals: suite.keys(),
                sweep: false,
                ..ReadScope::default()
            }))
            .unwrap_or_else(|error| panic!("reading the tenant: {error:#}"));
        let (users, service_principal) = test_principals(suite, &live);
        let mut principals: Vec<&LivePrincipal> = users.iter().collect();
        principals.push(&service_principal);
        let refusals = sandbox::refusals(&live, &suite.settings.set, &principals);
        assert!(
            refusals.is_empty(),
            "the acceptance suite refuses to run against this tenant (nothing was changed):\n  {}",
            refusals.join("\n  ")
        );
        let set = &suite.settings.set;
        let resting = Scene::resting(
            users.iter().map(|user| sandbox::sandbox_values(user, set)).collect(),
            sandbox::sandbox_values(&service_principal, set),
        );
        let mut session = Session {
            _turn: turn,
            suite,
            runtime,
            tenant,
            recorder,
            folder: tempfile::tempdir().unwrap(),
            name,
            scenes: 0,
            resting: resting.clone(),
            created: Vec::new(),
            users,
            service_principal,
        };
        session.created = session.converge(&resting);
        if !session.created.is_empty() {
            eprintln!("acceptance: the sandbox was brought to rest with {:?}", session.created);
        }
        session.assert_pool_size();
        // The recording holds what the test itself does.
        session.recorder.take();
        session
    }

    /// Puts the sandbox and the principals back as `begin` found them and
    /// checks the sandbox is exactly the pool; writes the recording.
    pub fn finish(mut self) {
        let exchanges = self.recorder.take();
        let resting = self.resting.clone();
        self.converge(&resting);
        let live = self.read();
        let (users, service_principal) = test_principals(self.suite, &live);
        let set = &self.suite.settings.set;
        let now: Vec<Values> = users.iter().map(|user| sandbox::sandbox_values(user, set)).collect();
        assert_eq!(now, resting.users, "the test users are left as they were found");
        assert_eq!(sandbox::sandbox_values(&service_principal, set), resting.service_principal);
        assert!(sandbox::is_resting_status(&live, set), "every pooled definition is Available again");
        self.assert_pool_size();
        assert_eq!(self.suite.deletes(), 0, "nothing may ever be deleted");
        assert!(exchanges.iter().all(|exchange| exchange.method != "DELETE"), "the client sent a DELETE");
        if let Some(folder) = self.suite.settings.record.as_ref().filter(|_| !exchanges.is_empty()) {
            self.write_recording(folder, exchanges);
        }
    }

    fn assert_pool_size(&self) {
        let live = self.read();
        let size = sandbox::sandbox_size(&live, &self.suite.settings.set);
        assert_eq!(size, sandbox::pool_size(), "the sandbox (sets, definitions, values) is exactly the pool");
        eprintln!("acceptance: {}: sandbox size (sets, definitions, values) = {size:?}", self.name);
    }

    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The sandbox's definitions and the test principals, read with the library.
    pub fn read(&self) -> LiveState {
        self.block_on(self.tenant.read(&ReadScope {
            principals: self.suite.keys(),
            sweep: false,
            ..ReadScope::default()
        }))
        .unwrap_or_else(|error| panic!("reading the tenant: {error:#}"))
    }

    pub fn set(&self) -> &str {
        &self.suite.settings.set
    }

    /// The desired-state folder of `scene`, written as a user would.
    pub fn write_scene(&mut self, scene: &Scene) -> PathBuf {
        self.scenes += 1;
        let folder = self.folder.path().join(format!("scene-{}", self.scenes));
        std::fs::create_dir_all(&folder).unwrap();
        let settings = &self.suite.settings;
        std::fs::write(
            folder.join("sandbox.yaml"),
            scene.yaml(&settings.set, &settings.users, &settings.service_principal),
        )
        .unwrap();
        folder
    }

    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        self.suite.run(args, None)
    }

    /// `plan --format json` of `folder`: the document (exit 0 or 2, no conflicts).
    pub fn plan(&self, folder: &Path) -> Value {
        let (code, stdout, stderr) = self.run(&[
            "plan",
            "-f",
            &folder.display().to_string(),
            "--format",
            "json",
            "--detailed-exitcode",
        ]);
        assert!(code == 0 || code == 2, "plan exited {code}:\n{stdout}\n{stderr}");
        let plan: Value = serde_json::from_str(&stdout).unwrap_or_else(|error| panic!("{error}: {stdout}"));
        assert_eq!(plan["conflicts"], json!([]), "{stdout}");
        plan
    }

    /// plan → apply → plan: the second plan must be empty. Returns the
    /// (action, kind) of every change applied.
    pub fn converge(&mut self, scene: &Scene) -> Vec<(String, String)> {
        let folder = self.write_scene(scene);
        let plan = self.plan(&folder);
        let changes: Vec<(String, String)> = plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|change| {
                (change["action"].as_str().unwrap().to_owned(), change["kind"].as_str().unwrap().to_owned())
            })
            .collect();
        if !changes.is_empty() {
            let (code, stdout, stderr) =
                self.run(&["apply", "-f", &folder.display().to_string(), "--auto-approve"]);
            assert_eq!(code, 0, "apply failed:\n{stdout}\n{stderr}");
        }
        let mut last = String::new();
        let converged = self.eventually("the applied changes", || {
            let (code, stdout, stderr) =
                self.run(&["plan", "-f", &folder.display().to_string(), "--detailed-exitcode"]);
            last = format!("{stdout}\n{stderr}");
            code == 0
        });
        assert!(converged, "not converged after the apply:\n{last}");
        changes
    }

    /// Whether `holds` holds: at once on the emulator; on a real tenant,
    /// whose directory reads are eventually consistent, within a minute
    /// (twelve looks, five seconds apart). Only waits; never measures.
    pub fn eventually(&self, what: &str, mut holds: impl FnMut() -> bool) -> bool {
        let looks = if self.suite.settings.is_emulator() { 1 } else { 12 };
        for look in 1..=looks {
            if holds() {
                return true;
            }
            if look < looks {
                eprintln!("acceptance: {}: waiting for the tenant to show {what}", self.name);
                std::thread::sleep(std::time::Duration::from_secs(5));
            }
        }
        false
    }

    /// A raw Graph call, behind the tool's back (relative to the v1.0 root).
    pub fn raw(&self, method: Method, relative: &str, body: Option<Value>) -> Result<Answer, GraphError> {
        let client = self.tenant.client();
        let writes = u32::from(method != Method::GET);
        self.block_on(client.send(method, &client.url(relative), body.as_ref(), &[], writes))
    }

    /// `users/{id}` or `servicePrincipals/{id}` of a read principal.
    pub fn path_of(principal: &LivePrincipal) -> String {
        match principal.app_id {
            Some(_) => format!("servicePrincipals/{}", principal.object_id),
            None => format!("users/{}", principal.object_id),
        }
    }

    /// PATCHes `members` into the principal's sandbox set, as Microsoft's
    /// examples write them.
    pub fn patch_values(&self, principal: &LivePrincipal, members: Value) {
        let mut set = json!({ "@odata.type": "#Microsoft.DirectoryServices.CustomSecurityAttributeValue" });
        set.as_object_mut().unwrap().extend(members.as_object().unwrap().clone());
        let body = json!({ "customSecurityAttributes": { self.set(): set } });
        let answer = self
            .raw(Method::PATCH, &Session::path_of(principal), Some(body))
            .unwrap_or_else(|error| panic!("the raw PATCH failed: {error}"));
        assert_eq!(answer.status, 204);
        let path = format!("{}?$select=customSecurityAttributes", Session::path_of(principal));
        let shows = || {
            let read =
                self.raw(Method::GET, &path, None).unwrap_or_else(|error| panic!("reading back: {error}"));
            let held = &read.body["customSecurityAttributes"][self.set()];
            members.as_object().unwrap().iter().filter(|(name, _)| !name.contains('@')).all(|(name, sent)| {
                let removed = sent.is_null() || sent == &json!([]);
                match held.get(name) {
                    None | Some(Value::Null) => removed,
                    Some(found) => !removed && sorted(found) == sorted(sent),
                }
            })
        };
        assert!(self.eventually("the raw PATCH", shows), "the raw PATCH never read back: {members}");
    }

    fn write_recording(&self, folder: &Path, exchanges: Vec<Exchange>) {
        std::fs::create_dir_all(folder).unwrap();
        let mut text = serde_json::to_string_pretty(&json!({
            "source": if self.suite.settings.is_emulator() { "emulator" } else { "tenant" },
            "test": self.name,
            "exchanges": exchanges,
        }))
        .unwrap();
        for (secret, placeholder) in self.redactions() {
            text = text.replace(&secret, &placeholder);
        }
        std::fs::write(folder.join(format!("{}.json", self.name)), text).unwrap();
    }

    /// What a recording must not carry: the Graph root it was made against
    /// (it names the tenant's cloud or the emulator's port), the tenant id,
    /// the test principals' domains. Tokens are never recorded at all.
    fn redactions(&self) -> Vec<(String, String)> {
        let mut redactions = vec![(self.suite.endpoint.display_root(), REDACTED_ROOT.to_owned())];
        let token = self.block_on(self.tenant.client().token()).ok();
        let tenant_ids = token
            .and_then(|token| Claims::from_jwt(token.expose()).ok())
            .and_then(|claims| claims.tid)
            .into_iter()
            .chain(std::env::var("AZURE_TENANT_ID").ok());
        redactions.extend(tenant_ids.filter(|id| !id.is_empty()).map(|id| (id, REDACTED_TENANT.to_owned())));
        if !self.suite.settings.is_emulator() {
            for user in &self.suite.settings.users {
                if let Some((_, domain)) = user.split_once('@') {
                    redactions.push((domain.to_owned(), "tenant.example".to_owned()));
                }
            }
        }
        redactions
    }
}

/// A test that fails says which request and which answer: the last
/// exchanges of the suite's own client (never a token: none is recorded).
impl Drop for Session {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let exchanges = self.recorder.take();
        let shown = |value: &Value| {
            let text = value.to_string();
            match text.char_indices().nth(2_000) {
                Some((cut, _)) => format!("{}… ({} bytes)", &text[..cut], text.len()),
                None => text,
            }
        };
        eprintln!("acceptance: {}: the last Graph exchanges of the suite's client, oldest first:", self.name);
        for exchange in &exchanges[exchanges.len().saturating_sub(5)..] {
            eprintln!("  {} {} -> {}", exchange.method, exchange.url, exchange.status);
            if let Some(request) = &exchange.request {
                eprintln!("    sent:   {}", shown(request));
            }
            eprintln!("    answer: {}", shown(&exchange.response));
        }
    }
}

/// A value with its collection members in one order, to compare whatever order Graph keeps.
pub fn sorted(value: &Value) -> Value {
    match value {
        Value::Array(items) => {
            let mut items = items.clone();
            items.sort_by_key(Value::to_string);
            Value::Array(items)
        }
        other => other.clone(),
    }
}

/// The configured test principals in `live`; a missing one is an error
/// that names it (the maintainer creates them once).
fn test_principals(suite: &Suite, live: &LiveState) -> (Vec<LivePrincipal>, LivePrincipal) {
    let index = live.principal_index();
    let find = |key: PrincipalKey| {
        index.find(&key).cloned().unwrap_or_else(|| {
            panic!(
                "the test principal {key} is not in the tenant: create it once (docs/src/how-to/acceptance-suite.md)"
            )
        })
    };
    let users = suite.settings.users.iter().map(|user| find(PrincipalKey::User(user.clone()))).collect();
    (users, find(PrincipalKey::ServicePrincipal(suite.settings.service_principal.clone())))
}
