//! The suite refuses a tenant it could damage: a sandbox holding anything
//! outside the pool, or test principals holding values elsewhere. Proven
//! end to end on emulators of their own, seeded that way, which must see no
//! write at all.

use serde_json::{Value, json};

use crate::session::{Session, Suite, suite};

fn refused_on(pollute: impl FnOnce(&mut Value)) -> String {
    let folder = Box::leak(Box::new(tempfile::tempdir().unwrap()));
    let state = folder.path().join("polluted.json");
    let mut seed = serde_json::to_value(crate::session::emulator_seed()).unwrap();
    pollute(&mut seed);
    std::fs::write(&state, seed.to_string()).unwrap();
    let polluted: &'static Suite = Box::leak(Box::new(Suite::emulator_at(state, &suite().settings.set)));
    let refused =
        std::panic::catch_unwind(|| Session::begin_on(polluted, "refused")).err().expect("the suite refuses");
    assert_eq!(polluted.writes(), 0, "a refused tenant is not written to");
    refused.downcast_ref::<String>().cloned().unwrap_or_default()
}

#[test]
fn the_suite_refuses_a_sandbox_or_principals_holding_anything_outside_the_pool() {
    if !suite().settings.is_emulator() {
        return; // a real tenant is never polluted on purpose
    }
    let set = suite().settings.set.clone();
    let message = refused_on(|seed| {
        seed["attributeSets"].as_array_mut().unwrap().push(json!({ "id": set, "description": "sandbox" }));
        seed["customSecurityAttributeDefinitions"].as_array_mut().unwrap().push(json!({
            "id": format!("{set}_Payroll"), "attributeSet": set, "name": "Payroll", "description": "not ours",
            "type": "String", "isCollection": false, "isSearchable": true, "status": "Available",
            "usePreDefinedValuesOnly": false, "allowedValues": []
        }));
    });
    assert!(message.contains("refuses to run") && message.contains(&format!("`{set}.Payroll`")), "{message}");

    let message = refused_on(|seed| {
        let user = seed["users"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|user| user["userPrincipalName"] == "acceptance.one@contoso.com")
            .unwrap();
        user["customSecurityAttributes"] = json!({ "Engineering": {
            "@odata.type": "#microsoft.graph.customSecurityAttributeValue",
            "Project@odata.type": "#Collection(String)", "Project": ["Baker"] } });
    });
    assert!(message.contains("holds values in the set `Engineering`, outside the sandbox"), "{message}");
}
