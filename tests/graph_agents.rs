//! Agent identities. Graph v1.0 derives `agentIdentity` and
//! `agentIdentityBlueprintPrincipal` from `servicePrincipal` and `agentUser`
//! from `user`; they come back from `/servicePrincipals` and `/users` with
//! their own `@odata.type`. The files key them as their base kinds, and they
//! are read (batched and swept), planned, applied and exported as such.

use entra_csa::emulator::document::{PrincipalShape, StateDocument};
use entra_csa::emulator::{EmulatorConfig, RunningEmulator};
use entra_csa::graph::route::Route;
use entra_csa::model::PrincipalKind;
use entra_csa::tenant::{ReadScope, Tenant};

use crate::graph_support::*;

const FILES: &str = "tests/fixtures/agents/agents.yaml";
const AGENT: (&str, &str) = ("5f3a9c1e-2b4d-4e6f-8a0c-1d3e5f7a9b11", "a9e1c0d2-7b3f-4c1e-9a5d-0f2b8c6e4a11");
const BLUEPRINT: (&str, &str) =
    ("b7d2e4f6-8a0c-4e2b-9c4d-6e8f0a2c4e22", "c1e3a5b7-9d0f-4b2d-8e4a-6c8e0a2b4d33");
const AGENT_USER: (&str, &str) = ("d4f6a8c0-1e3b-4d5f-a7c9-2e4a6c8e0b44", "travel-agent@contoso.com");

fn principal(odata_type: &str, id: &str, app_id: Option<&str>, upn: Option<&str>) -> PrincipalShape {
    PrincipalShape {
        odata_type: Some(format!("#microsoft.graph.{odata_type}")),
        id: id.into(),
        user_principal_name: upn.map(str::to_owned),
        app_id: app_id.map(str::to_owned),
        display_name: Some(format!("Travel {odata_type}")),
        custom_security_attributes: None,
    }
}

fn seed() -> StateDocument {
    let mut seed = contoso_seed();
    seed.service_principals.push(principal("agentIdentity", AGENT.0, Some(AGENT.1), None));
    seed.service_principals.push(principal(
        "agentIdentityBlueprintPrincipal",
        BLUEPRINT.0,
        Some(BLUEPRINT.1),
        None,
    ));
    seed.users.push(principal("agentUser", AGENT_USER.0, None, Some(AGENT_USER.1)));
    seed
}

async fn cli(emulator: &RunningEmulator, args: &[&str]) -> (i32, String, String) {
    let mut args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    args.extend(["--graph-url".to_owned(), emulator.base_url()]);
    run_cli(args, "agents-token").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_are_planned_applied_and_exported_as_their_base_kinds() {
    let emulator = emulator(EmulatorConfig { seed_state: seed(), ..Default::default() }).await;
    let files = repo(FILES).display().to_string();
    let (code, stdout, stderr) = cli(&emulator, &["plan", "-f", &files, "--format", "json"]).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(plan["summary"]["assign"], 4, "{stdout}");
    assert_eq!(plan["summary"]["conflicts"], 0, "{stdout}");

    let (code, stdout, stderr) = cli(&emulator, &["apply", "-f", &files, "--auto-approve"]).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, stdout, _) = cli(&emulator, &["plan", "-f", &files, "--detailed-exitcode"]).await;
    assert_eq!(code, 0, "converged: {stdout}");

    let state = emulator.state();
    let held = |list: &[PrincipalShape], id: &str| {
        let principal = list.iter().find(|principal| principal.id == id).unwrap().clone();
        (
            principal.odata_type.clone().unwrap(),
            principal.custom_security_attributes.unwrap()["AgentGovernance"]["RiskTier"].clone(),
        )
    };
    assert_eq!(
        held(&state.service_principals, AGENT.0),
        ("#microsoft.graph.agentIdentity".into(), "High".into())
    );
    assert_eq!(
        held(&state.service_principals, BLUEPRINT.0),
        ("#microsoft.graph.agentIdentityBlueprintPrincipal".into(), "Medium".into())
    );
    assert_eq!(held(&state.users, AGENT_USER.0), ("#microsoft.graph.agentUser".into(), "Low".into()));

    let folder = tempfile::tempdir().unwrap();
    let out = folder.path().join("export.yaml").display().to_string();
    let (code, _, stderr) =
        cli(&emulator, &["export", "--assignments", "--set", "AgentGovernance", "-o", &out]).await;
    assert_eq!(code, 0, "{stderr}");
    let exported = std::fs::read_to_string(&out).unwrap();
    for key in [AGENT.1, BLUEPRINT.1, AGENT_USER.1] {
        assert!(exported.contains(key), "{key} missing from the export:\n{exported}");
    }
    let (code, stdout, stderr) = cli(&emulator, &["plan", "-f", &out, "--detailed-exitcode"]).await;
    assert_eq!(code, 0, "the export plans no changes:\n{stdout}{stderr}");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_are_read_by_batched_gets_and_by_the_sweep() {
    let emulator = emulator(EmulatorConfig { seed_state: seed(), ..Default::default() }).await;
    let desired = desired(FILES);
    let scope = ReadScope::for_desired(&desired);
    for route in [Route::Batched, Route::Sweep] {
        let options = entra_csa::graph::ClientOptions { read_route: Some(route), ..fast_options() };
        let live = tenant_with(&emulator, "agents-token", options).read(&scope).await.unwrap();
        let mut agents: Vec<(PrincipalKind, String)> = scope
            .principals
            .iter()
            .map(|key| {
                let principal = live.principal(key).unwrap_or_else(|| panic!("{route:?}: {key} not read"));
                (principal.kind, principal.odata_type.clone().unwrap_or_default())
            })
            .collect();
        agents.sort();
        assert_eq!(
            agents,
            [
                (PrincipalKind::User, "#microsoft.graph.agentUser".to_owned()),
                (PrincipalKind::ServicePrincipal, "#microsoft.graph.agentIdentity".to_owned()),
                (
                    PrincipalKind::ServicePrincipal,
                    "#microsoft.graph.agentIdentityBlueprintPrincipal".to_owned()
                ),
            ],
            "{route:?}"
        );
        assert_eq!(live.principals_complete, route == Route::Sweep);
    }
    emulator.shutdown().await;
}
