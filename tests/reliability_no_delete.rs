//! Exists so that "never a DELETE on the wire" holds for the whole suite,
//! not just for the tests that look: every `RunningEmulator` panics when
//! dropped after receiving a DELETE, unless its test set `expect_deletes`
//! (only the tests of the emulator's own refusal do). These tests check the
//! guard itself.

use entra_csa::emulator::EmulatorConfig;

use crate::graph_support::*;

async fn send_delete(config: EmulatorConfig) -> entra_csa::emulator::RunningEmulator {
    let emulator = emulator(config).await;
    let answer = reqwest::Client::new()
        .delete(format!("{}/v1.0/directory/attributeSets/Engineering", emulator.base_url()))
        .bearer_auth("t")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 405);
    emulator
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[should_panic(expected = "the emulator received 1 DELETE request(s)")]
async fn reliability_an_emulator_that_received_a_delete_fails_its_test() {
    let emulator = send_delete(EmulatorConfig { seed_state: contoso_seed(), ..Default::default() }).await;
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[should_panic(expected = "DELETE")]
async fn reliability_a_delete_inside_a_batch_fails_the_test_too() {
    let emulator = emulator(EmulatorConfig { seed_state: contoso_seed(), ..Default::default() }).await;
    let answer = reqwest::Client::new()
        .post(format!("{}/v1.0/$batch", emulator.base_url()))
        .bearer_auth("t")
        .json(&serde_json::json!({ "requests": [
            { "id": "1", "method": "DELETE", "url": "/directory/attributeSets/Engineering" } ] }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    drop(emulator);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reliability_only_a_test_that_expects_deletes_may_send_one() {
    let emulator = send_delete(EmulatorConfig {
        seed_state: contoso_seed(),
        expect_deletes: true,
        ..Default::default()
    })
    .await;
    assert_eq!(emulator.stats().deletes, 1);
    emulator.shutdown().await;
}
