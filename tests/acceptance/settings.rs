//! What the suite runs against, read once from the environment, so that the
//! same tests run against a real tenant (`ENTRA_CSA_ACCEPTANCE=1` and the
//! settings below) or, without it, against an emulator the suite starts.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `ENTRA_CSA_ACCEPTANCE` | `1`: a real tenant | the emulator |
//! | `ENTRA_CSA_ACCEPTANCE_SET` | the sandbox attribute set | `EntraCsaAcceptance` |
//! | `ENTRA_CSA_ACCEPTANCE_USERS` | two test users, UPN or object id, comma-separated | (emulator: two seeded users) |
//! | `ENTRA_CSA_ACCEPTANCE_SERVICE_PRINCIPAL` | the test service principal's appId | (emulator: a seeded one) |
//! | `ENTRA_CSA_ACCEPTANCE_AUTH` | `--auth` for the real tenant | `auto` |
//! | `ENTRA_CSA_ACCEPTANCE_CLOUD` / `ENTRA_CSA_GRAPH_URL` | `--cloud` / `--graph-url` | Graph global |
//! | `ENTRA_CSA_ACCEPTANCE_RECORD` | a folder to write the exchanges into | nothing recorded |
//! | `ENTRA_CSA_ACCEPTANCE_EMULATOR_STATE` | the emulator's tenant, persisted between runs | a fresh one per run |
//!
//! Signing in to the real tenant takes the command line's own variables
//! (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, the OIDC ones, `az login`): the
//! suite forwards them to the binary and signs in with them itself.

use std::path::PathBuf;

/// The emulator's test principals (a real tenant names its own).
pub const EMULATOR_USERS: [&str; 2] = ["acceptance.one@contoso.com", "acceptance.two@contoso.com"];
pub const EMULATOR_SERVICE_PRINCIPAL: &str = "a11ce000-0000-4000-8000-0000000000a1";

#[derive(Debug, Clone)]
pub struct Settings {
    pub set: String,
    pub users: Vec<String>,
    /// The service principal's appId.
    pub service_principal: String,
    pub record: Option<PathBuf>,
    pub target: Target,
}

#[derive(Debug, Clone)]
pub enum Target {
    /// The suite's own emulator, from this state file if given (and kept there).
    Emulator { state: Option<PathBuf> },
    /// A real tenant, signed in to as the command line does.
    Tenant { auth: String, cloud: Option<String>, graph_url: Option<String> },
}

impl Settings {
    pub fn from_env() -> Settings {
        Settings::from_lookup(&|name| std::env::var(name).ok().filter(|value| !value.trim().is_empty()))
    }

    /// From `lookup`; a real tenant without its principals is refused with
    /// the list of what is missing.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Settings {
        let set = lookup("ENTRA_CSA_ACCEPTANCE_SET").unwrap_or_else(|| "EntraCsaAcceptance".to_owned());
        let record = lookup("ENTRA_CSA_ACCEPTANCE_RECORD").map(PathBuf::from);
        let real = lookup("ENTRA_CSA_ACCEPTANCE").is_some_and(|value| value.trim() == "1");
        if !real {
            return Settings {
                set,
                users: EMULATOR_USERS.iter().map(|user| (*user).to_owned()).collect(),
                service_principal: EMULATOR_SERVICE_PRINCIPAL.to_owned(),
                record,
                target: Target::Emulator {
                    state: lookup("ENTRA_CSA_ACCEPTANCE_EMULATOR_STATE").map(PathBuf::from),
                },
            };
        }
        let users: Vec<String> = lookup("ENTRA_CSA_ACCEPTANCE_USERS")
            .unwrap_or_default()
            .split(',')
            .map(|user| user.trim().to_owned())
            .filter(|user| !user.is_empty())
            .collect();
        let service_principal = lookup("ENTRA_CSA_ACCEPTANCE_SERVICE_PRINCIPAL").unwrap_or_default();
        let mut missing = Vec::new();
        if users.len() != 2 {
            missing.push(format!(
                "ENTRA_CSA_ACCEPTANCE_USERS must name exactly two test users (UPN or object id, comma-separated); it names {}",
                users.len()
            ));
        }
        if service_principal.trim().is_empty() {
            missing.push(
                "ENTRA_CSA_ACCEPTANCE_SERVICE_PRINCIPAL must give the test service principal's appId".into(),
            );
        }
        assert!(
            missing.is_empty(),
            "ENTRA_CSA_ACCEPTANCE=1 runs against a real tenant, but:\n  {}\n(see docs/src/how-to/acceptance-suite.md)",
            missing.join("\n  ")
        );
        Settings {
            set,
            users,
            service_principal: service_principal.trim().to_owned(),
            record,
            target: Target::Tenant {
                auth: lookup("ENTRA_CSA_ACCEPTANCE_AUTH").unwrap_or_else(|| "auto".to_owned()),
                cloud: lookup("ENTRA_CSA_ACCEPTANCE_CLOUD"),
                graph_url: lookup("ENTRA_CSA_GRAPH_URL"),
            },
        }
    }

    pub fn is_emulator(&self) -> bool {
        matches!(self.target, Target::Emulator { .. })
    }
}

#[test]
fn a_real_tenant_needs_its_principals_and_the_emulator_needs_nothing() {
    let none = Settings::from_lookup(&|_| None);
    assert!(none.is_emulator());
    assert_eq!(none.set, "EntraCsaAcceptance");
    assert_eq!(none.users.len(), 2);

    let refused = std::panic::catch_unwind(|| {
        Settings::from_lookup(&|name| (name == "ENTRA_CSA_ACCEPTANCE").then(|| "1".to_owned()))
    })
    .unwrap_err();
    let message = refused.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("ENTRA_CSA_ACCEPTANCE_USERS") && message.contains("SERVICE_PRINCIPAL"),
        "{message}"
    );

    let real = Settings::from_lookup(&|name| match name {
        "ENTRA_CSA_ACCEPTANCE" => Some("1".into()),
        "ENTRA_CSA_ACCEPTANCE_USERS" => Some("a@t.example, b@t.example".into()),
        "ENTRA_CSA_ACCEPTANCE_SERVICE_PRINCIPAL" => Some("00000000-0000-4000-8000-000000000001".into()),
        "ENTRA_CSA_ACCEPTANCE_SET" => Some("Sandbox".into()),
        _ => None,
    });
    assert!(!real.is_emulator());
    assert_eq!(real.users, ["a@t.example", "b@t.example"]);
    assert_eq!(real.set, "Sandbox");
}
